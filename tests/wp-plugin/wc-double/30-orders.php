<?php
/**
 * WooCommerce double: orders, refunds, order items and products with WooCommerce's CRUD method names and hooks.
 *
 * Storage is WooCommerce's posts storage (WC_Order_Data_Store_CPT): an order is a `shop_order` post with status
 * `wc-<slug>`, its properties in the same internal meta keys (_billing_email, _order_total, ...), items in
 * woocommerce_order_items/itemmeta, notes as `order_note` comments. Meta changes are buffered until save(), and
 * save() fires the hooks in WooCommerce's order: data store create/update (woocommerce_new_order /
 * woocommerce_update_order), items, then the status transition hooks.
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

/**
 * WooCommerce's DateTime (WC_DateTime): __toString is ISO 8601.
 */
class WC_DateTime extends DateTime {
	/**
	 * ISO 8601 string.
	 *
	 * @return string
	 */
	public function __toString() {
		return $this->format( DATE_ATOM );
	}

	/**
	 * Timestamp with the site offset added (WooCommerce semantics).
	 *
	 * @return int
	 */
	public function getOffsetTimestamp() {
		return $this->getTimestamp() + $this->getOffset();
	}

	/**
	 * Format in the site's locale.
	 *
	 * @param string $format Format.
	 * @return string
	 */
	public function date_i18n( $format = 'Y-m-d' ) {
		return date_i18n( $format, $this->getOffsetTimestamp() );
	}

	/**
	 * Format with the site offset.
	 *
	 * @param string $format Format.
	 * @return string
	 */
	public function date( $format ) {
		return gmdate( $format, $this->getOffsetTimestamp() );
	}
}

/**
 * A timestamp as WC_DateTime in the site's timezone, or null.
 *
 * @param int|string|null $timestamp Unix time.
 * @return WC_DateTime|null
 */
function bpm_wc_double_datetime( $timestamp ) {
	if ( null === $timestamp || '' === $timestamp || ! is_numeric( $timestamp ) ) {
		return null;
	}
	$dt = new WC_DateTime( '@' . (int) $timestamp );
	$dt->setTimezone( wp_timezone() );
	return $dt;
}

/**
 * Base of orders and refunds (WC_Abstract_Order / WC_Data, reduced to what BPM Bridge uses).
 */
abstract class WC_Abstract_Order {
	/**
	 * Id (0 until saved).
	 *
	 * @var integer
	 */
	protected $id = 0;

	/**
	 * Saved properties.
	 *
	 * @var array<string, mixed>
	 */
	protected $data = array();

	/**
	 * Unsaved property changes.
	 *
	 * @var array<string, mixed>
	 */
	protected $changes = array();

	/**
	 * Meta data: list of objects {id, key, value}, as WC_Meta_Data exposes them.
	 *
	 * @var array<int, object>
	 */
	protected $meta_data = array();

	/**
	 * Keys whose meta changed since the last save: key => true.
	 *
	 * @var array<string, bool>
	 */
	protected $meta_changed = array();

	/**
	 * Set once the object is read (setters then record changes and status transitions).
	 *
	 * @var boolean
	 */
	protected $object_read = false;

	/**
	 * Items added but not saved.
	 *
	 * @var WC_Order_Item_Product[]
	 */
	protected $new_items = array();

	/**
	 * Loaded items cache.
	 *
	 * @var WC_Order_Item_Product[]|null
	 */
	protected $items = null;

	/**
	 * Post type of this object.
	 *
	 * @var string
	 */
	protected $post_type = 'shop_order';

	/**
	 * Property => internal meta key (WC_Order_Data_Store_CPT::$internal_meta_keys and its prop map).
	 *
	 * @return array<string, string>
	 */
	abstract protected function meta_props();

	/**
	 * Default properties.
	 *
	 * @return array<string, mixed>
	 */
	abstract protected function default_data();

	/**
	 * Load an order by id, post or object; a new one for 0.
	 *
	 * @param int|WP_Post|WC_Abstract_Order $order Order.
	 */
	public function __construct( $order = 0 ) {
		$this->data = $this->default_data();
		if ( $order instanceof WP_Post ) {
			$order = $order->ID;
		} elseif ( $order instanceof WC_Abstract_Order ) {
			$order = $order->get_id();
		}
		if ( is_numeric( $order ) && $order > 0 ) {
			$this->id = (int) $order;
			$this->read();
		}
		$this->object_read = true;
	}

	/**
	 * Read from the posts tables.
	 *
	 * @throws Exception When the post is not of this type.
	 */
	protected function read() {
		$post = get_post( $this->id );
		if ( ! $post || $post->post_type !== $this->post_type ) {
			throw new Exception( 'Invalid order.' );
		}
		$this->data['status']            = 'wc-' === substr( $post->post_status, 0, 3 ) ? substr( $post->post_status, 3 ) : $post->post_status;
		$this->data['parent_id']         = (int) $post->post_parent;
		$this->data['date_created']      = '0000-00-00 00:00:00' !== $post->post_date_gmt ? strtotime( $post->post_date_gmt . ' UTC' ) : null;
		$this->data['date_modified']     = strtotime( $post->post_modified_gmt . ' UTC' );
		$this->data['customer_note']     = $post->post_excerpt;
		$internal                        = array_flip( $this->meta_props() );
		$all                             = get_post_meta( $this->id );
		foreach ( $this->meta_props() as $prop => $key ) {
			if ( isset( $all[ $key ][0] ) ) {
				$this->data[ $prop ] = maybe_unserialize( $all[ $key ][0] );
			}
		}
		global $wpdb;
		$rows = $wpdb->get_results( $wpdb->prepare( "SELECT meta_id, meta_key, meta_value FROM {$wpdb->postmeta} WHERE post_id = %d ORDER BY meta_id", $this->id ) );
		foreach ( $rows as $row ) {
			if ( isset( $internal[ $row->meta_key ] ) || in_array( $row->meta_key, array( '_edit_lock', '_edit_last' ), true ) ) {
				continue;
			}
			$this->meta_data[] = (object) array(
				'id'    => (int) $row->meta_id,
				'key'   => $row->meta_key,
				'value' => maybe_unserialize( $row->meta_value ),
			);
		}
	}

	/**
	 * Property getter honouring unsaved changes.
	 *
	 * @param string $prop Property.
	 * @return mixed
	 */
	protected function get_prop( $prop ) {
		return array_key_exists( $prop, $this->changes ) ? $this->changes[ $prop ] : ( $this->data[ $prop ] ?? null );
	}

	/**
	 * Property setter (records a change once the object is read).
	 *
	 * @param string $prop  Property.
	 * @param mixed  $value Value.
	 */
	protected function set_prop( $prop, $value ) {
		if ( $this->object_read ) {
			if ( ( $this->data[ $prop ] ?? null ) !== $value || array_key_exists( $prop, $this->changes ) ) {
				$this->changes[ $prop ] = $value;
			}
		} else {
			$this->data[ $prop ] = $value;
		}
	}

	/**
	 * Magic getters/setters for the plain properties: get_billing_email(), set_total(), ...
	 *
	 * @param string $name Method.
	 * @param array  $args Arguments.
	 * @return mixed
	 * @throws BadMethodCallException Unknown method.
	 */
	public function __call( $name, $args ) {
		$prefix = substr( $name, 0, 4 );
		$prop   = substr( $name, 4 );
		if ( ( 'get_' === $prefix || 'set_' === $prefix ) && array_key_exists( $prop, $this->default_data() ) ) {
			if ( 'get_' === $prefix ) {
				$value = $this->get_prop( $prop );
				return null === $value ? '' : $value;
			}
			$this->set_prop( $prop, is_string( $args[0] ?? '' ) ? (string) ( $args[0] ?? '' ) : $args[0] );
			return null;
		}
		throw new BadMethodCallException( esc_html( static::class . '::' . $name . '() is not part of the WooCommerce double (docs/woocommerce-surface.md).' ) );
	}

	/**
	 * Id.
	 *
	 * @return int
	 */
	public function get_id() {
		return $this->id;
	}

	/**
	 * Parent id.
	 *
	 * @return int
	 */
	public function get_parent_id() {
		return (int) $this->get_prop( 'parent_id' );
	}

	/**
	 * Set the parent id.
	 *
	 * @param int $value Parent.
	 */
	public function set_parent_id( $value ) {
		$this->set_prop( 'parent_id', absint( $value ) );
	}

	/**
	 * Type.
	 *
	 * @return string
	 */
	public function get_type() {
		return $this->post_type;
	}

	/**
	 * Currency.
	 *
	 * @param string $context View or edit context.
	 * @return string
	 */
	public function get_currency( $context = 'view' ) {
		return (string) $this->get_prop( 'currency' );
	}

	/**
	 * Total as stored (string with decimals).
	 *
	 * @param string $context View or edit context.
	 * @return string
	 */
	public function get_total( $context = 'view' ) {
		return wc_format_decimal( $this->get_prop( 'total' ), wc_get_price_decimals() );
	}

	/**
	 * Set the total.
	 *
	 * @param string|float $value Total.
	 */
	public function set_total( $value ) {
		$this->set_prop( 'total', wc_format_decimal( $value, wc_get_price_decimals() ) );
	}

	/**
	 * Date created.
	 *
	 * @param string $context View or edit context.
	 * @return WC_DateTime|null
	 */
	public function get_date_created( $context = 'view' ) {
		return bpm_wc_double_datetime( $this->get_prop( 'date_created' ) );
	}

	/**
	 * Date modified.
	 *
	 * @param string $context View or edit context.
	 * @return WC_DateTime|null
	 */
	public function get_date_modified( $context = 'view' ) {
		return bpm_wc_double_datetime( $this->get_prop( 'date_modified' ) );
	}

	/**
	 * Status without 'wc-'.
	 *
	 * @param string $context View or edit context.
	 * @return string
	 */
	public function get_status( $context = 'view' ) {
		$status = (string) $this->get_prop( 'status' );
		if ( '' === $status && 'view' === $context ) {
			$status = apply_filters( 'woocommerce_default_order_status', 'pending' );
		}
		return $status;
	}

	/**
	 * Whether the order has a status.
	 *
	 * @param string|array $status Status(es).
	 * @return bool
	 */
	public function has_status( $status ) {
		return apply_filters( 'woocommerce_order_has_status', ( is_array( $status ) && in_array( $this->get_status(), $status, true ) ) || $this->get_status() === $status, $this, $status );
	}

	// ---- meta (WC_Data) ----

	/**
	 * Whether a key is an internal property key; warns like WC_Data when used with the generic meta methods.
	 *
	 * @param string $key Key.
	 * @return bool
	 */
	protected function is_internal_meta_key( $key ) {
		if ( in_array( $key, $this->meta_props(), true ) ) {
			wc_doing_it_wrong( __FUNCTION__, sprintf( 'Generic add/update/get meta methods should not be used for internal meta data, including "%s". Use getters and setters.', $key ), '3.2.0' );
			return true;
		}
		return false;
	}

	/**
	 * Meta value(s).
	 *
	 * @param string $key     Key ('' for all).
	 * @param bool   $single  One value or an array.
	 * @param string $context View or edit context.
	 * @return mixed
	 */
	public function get_meta( $key = '', $single = true, $context = 'view' ) {
		if ( $this->is_internal_meta_key( $key ) ) {
			$prop = array_search( $key, $this->meta_props(), true );
			return $this->get_prop( $prop );
		}
		$values = array();
		foreach ( $this->meta_data as $meta ) {
			if ( '' === $key || $meta->key === $key ) {
				$values[] = $meta;
			}
		}
		if ( $single ) {
			return $values ? $values[0]->value : '';
		}
		return $values;
	}

	/**
	 * Whether a meta key exists.
	 *
	 * @param string $key Key.
	 * @return bool
	 */
	public function meta_exists( $key = '' ) {
		foreach ( $this->meta_data as $meta ) {
			if ( $meta->key === $key ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * All meta objects.
	 *
	 * @return object[]
	 */
	public function get_meta_data() {
		return array_values( $this->meta_data );
	}

	/**
	 * Add meta (saved by save()).
	 *
	 * @param string $key    Key.
	 * @param mixed  $value  Value.
	 * @param bool   $unique Replace an existing key.
	 */
	public function add_meta_data( $key, $value, $unique = false ) {
		if ( $this->is_internal_meta_key( $key ) ) {
			$this->set_prop( array_search( $key, $this->meta_props(), true ), $value );
			return;
		}
		if ( $unique ) {
			$this->delete_meta_data( $key );
		}
		$this->meta_data[]          = (object) array(
			'id'    => null,
			'key'   => $key,
			'value' => $value,
		);
		$this->meta_changed[ $key ] = true;
	}

	/**
	 * Update meta (saved by save()).
	 *
	 * @param string $key     Key.
	 * @param mixed  $value   Value.
	 * @param int    $meta_id Meta id.
	 */
	public function update_meta_data( $key, $value, $meta_id = 0 ) {
		if ( $this->is_internal_meta_key( $key ) ) {
			$this->set_prop( array_search( $key, $this->meta_props(), true ), $value );
			return;
		}
		$found = false;
		foreach ( $this->meta_data as $i => $meta ) {
			if ( $meta->key === $key && ( ! $meta_id || (int) $meta->id === (int) $meta_id ) ) {
				if ( $found ) {
					unset( $this->meta_data[ $i ] );
					continue;
				}
				$meta->value = $value;
				$found       = true;
			}
		}
		if ( ! $found ) {
			$this->meta_data[] = (object) array(
				'id'    => null,
				'key'   => $key,
				'value' => $value,
			);
		}
		$this->meta_changed[ $key ] = true;
	}

	/**
	 * Delete meta by key (saved by save()).
	 *
	 * @param string $key Key.
	 */
	public function delete_meta_data( $key ) {
		foreach ( $this->meta_data as $i => $meta ) {
			if ( $meta->key === $key ) {
				unset( $this->meta_data[ $i ] );
				$this->meta_changed[ $key ] = true;
			}
		}
	}

	// ---- items ----

	/**
	 * Items of a type, keyed by item id.
	 *
	 * @param string|array $types Item types ('line_item').
	 * @return WC_Order_Item_Product[]
	 */
	public function get_items( $types = 'line_item' ) {
		if ( null === $this->items ) {
			$this->items = array();
			if ( $this->id ) {
				global $wpdb;
				$ids = $wpdb->get_col( $wpdb->prepare( "SELECT order_item_id FROM {$wpdb->prefix}woocommerce_order_items WHERE order_id = %d AND order_item_type = 'line_item' ORDER BY order_item_id", $this->id ) );
				foreach ( $ids as $item_id ) {
					$this->items[ (int) $item_id ] = new WC_Order_Item_Product( (int) $item_id );
				}
			}
		}
		if ( ! in_array( 'line_item', (array) $types, true ) ) {
			return array();
		}
		return apply_filters( 'woocommerce_order_get_items', $this->items + $this->new_items, $this, (array) $types );
	}

	/**
	 * Add an item (saved with the order).
	 *
	 * @param WC_Order_Item_Product $item Item.
	 */
	public function add_item( $item ) {
		$this->get_items();
		$this->new_items[ 'new:' . count( $this->new_items ) ] = $item;
	}

	/**
	 * Item count.
	 *
	 * @return int
	 */
	public function get_item_count() {
		$count = 0;
		foreach ( $this->get_items() as $item ) {
			$count += $item->get_quantity();
		}
		return $count;
	}

	// ---- persistence ----

	/**
	 * Post status stored for the current status.
	 *
	 * @return string
	 */
	protected function post_status() {
		$status = $this->get_status( 'edit' );
		if ( ! $status ) {
			$status = apply_filters( 'woocommerce_default_order_status', 'pending' );
		}
		return wc_is_order_status( 'wc-' . $status ) ? 'wc-' . $status : $status;
	}

	/**
	 * Save to the database and fire WooCommerce's hooks. Returns the id.
	 *
	 * @return int
	 */
	public function save() {
		do_action( 'woocommerce_before_' . $this->object_type() . '_object_save', $this, null );
		$is_new     = ! $this->id;
		$was_status = (string) ( $this->data['status'] ?? '' );
		if ( ! $this->get_status( 'edit' ) ) {
			// The data store stores a new order with the default status without recording a transition.
			$this->data['status'] = apply_filters( 'woocommerce_default_order_status', 'pending' );
		}
		$changes = $this->changes;
		$now     = time();
		if ( $is_new ) {
			if ( ! $this->get_prop( 'date_created' ) ) {
				$this->set_prop( 'date_created', $now );
			}
			$created  = (int) $this->get_prop( 'date_created' );
			$this->id = wp_insert_post(
				array(
					'post_date'     => get_date_from_gmt( gmdate( 'Y-m-d H:i:s', $created ) ),
					'post_date_gmt' => gmdate( 'Y-m-d H:i:s', $created ),
					'post_type'     => $this->post_type,
					'post_status'   => $this->post_status(),
					'ping_status'   => 'closed',
					'post_author'   => 1,
					'post_title'    => $this->post_title(),
					'post_password' => $this->get_prop( 'order_key' ) ? (string) $this->get_prop( 'order_key' ) : '',
					'post_parent'   => $this->get_parent_id(),
					'post_excerpt'  => (string) $this->get_prop( 'customer_note' ),
				),
				true
			);
			if ( is_wp_error( $this->id ) ) {
				$this->id = 0;
				return 0;
			}
		} else {
			wp_update_post(
				array(
					'ID'           => $this->id,
					'post_status'  => $this->post_status(),
					'post_parent'  => $this->get_parent_id(),
					'post_excerpt' => (string) $this->get_prop( 'customer_note' ),
				)
			);
		}
		$this->data    = array_merge( $this->data, $this->changes );
		$this->changes = array();
		foreach ( $this->meta_props() as $prop => $key ) {
			if ( $is_new || array_key_exists( $prop, $changes ) ) {
				$value = $this->data[ $prop ] ?? null;
				if ( null === $value || '' === $value ) {
					delete_post_meta( $this->id, $key );
				} else {
					update_post_meta( $this->id, $key, is_bool( $value ) ? wc_bool_to_string( $value ) : $value );
				}
			}
		}
		$this->save_meta_data();
		$this->fire_data_store_hook( $is_new, $was_status );
		$this->save_items();
		$this->data['date_modified'] = $now;
		$this->after_save();
		do_action( 'woocommerce_after_' . $this->object_type() . '_object_save', $this, null );
		return $this->id;
	}

	/**
	 * Object type used in the woocommerce_{before,after}_*_object_save hooks.
	 *
	 * @return string
	 */
	protected function object_type() {
		return 'order';
	}

	/**
	 * Title of the post.
	 *
	 * @return string
	 */
	protected function post_title() {
		return 'Order &ndash; ' . gmdate( 'F j, Y @ h:i A' );
	}

	/**
	 * Hook fired by the data store after create/update.
	 *
	 * @param bool   $is_new     Created.
	 * @param string $was_status Status before this save.
	 */
	protected function fire_data_store_hook( $is_new, $was_status = '' ) {
	}

	/**
	 * After save (status transition for orders).
	 */
	protected function after_save() {
	}

	/**
	 * Write buffered meta changes.
	 */
	public function save_meta_data() {
		foreach ( array_keys( $this->meta_changed ) as $key ) {
			delete_post_meta( $this->id, $key );
			foreach ( $this->meta_data as $meta ) {
				if ( $meta->key === $key ) {
					$meta->id = add_post_meta( $this->id, $key, wp_slash( $meta->value ) );
				}
			}
		}
		$this->meta_changed = array();
	}

	/**
	 * Write new items.
	 */
	protected function save_items() {
		foreach ( $this->new_items as $item ) {
			$item->set_order_id( $this->id );
			$item_id                 = $item->save();
			$this->items[ $item_id ] = $item;
		}
		$this->new_items = array();
	}

	/**
	 * Delete (trash or force).
	 *
	 * @param bool $force_delete Delete permanently.
	 * @return bool
	 */
	public function delete( $force_delete = false ) {
		if ( ! $this->id ) {
			return false;
		}
		if ( $force_delete ) {
			wp_delete_post( $this->id, true );
			do_action( 'woocommerce_delete_order', $this->id );
		} else {
			wp_trash_post( $this->id );
			$this->data['status'] = 'trash';
			do_action( 'woocommerce_trash_order', $this->id );
		}
		return true;
	}
}

/**
 * An order (WC_Order).
 */
class WC_Order extends WC_Abstract_Order {
	/**
	 * Pending status transition: from, to, note, manual.
	 *
	 * @var array|false
	 */
	protected $status_transition = false;

	/**
	 * Address fields (billing has email, both have phone in WooCommerce 5.6+).
	 */
	const ADDRESS_FIELDS = array( 'first_name', 'last_name', 'company', 'address_1', 'address_2', 'city', 'state', 'postcode', 'country', 'phone' );

	/**
	 * {@inheritDoc}
	 */
	protected function default_data() {
		$data = array(
			'parent_id'            => 0,
			'status'               => '',
			'currency'             => get_option( 'woocommerce_currency', 'PLN' ),
			'version'              => WC_VERSION,
			'prices_include_tax'   => false,
			'date_created'         => null,
			'date_modified'        => null,
			'discount_total'       => '0',
			'discount_tax'         => '0',
			'shipping_total'       => '0',
			'shipping_tax'         => '0',
			'cart_tax'             => '0',
			'total'                => '0',
			'total_tax'            => '0',
			'customer_id'          => 0,
			'order_key'            => '',
			'payment_method'       => '',
			'payment_method_title' => '',
			'transaction_id'       => '',
			'customer_ip_address'  => '',
			'customer_user_agent'  => '',
			'created_via'          => '',
			'customer_note'        => '',
			'date_completed'       => null,
			'date_paid'            => null,
			'cart_hash'            => '',
		);
		foreach ( self::ADDRESS_FIELDS as $field ) {
			$data[ 'billing_' . $field ]  = '';
			$data[ 'shipping_' . $field ] = '';
		}
		$data['billing_email'] = '';
		return $data;
	}

	/**
	 * {@inheritDoc}
	 */
	protected function meta_props() {
		$map = array(
			'currency'             => '_order_currency',
			'version'              => '_order_version',
			'prices_include_tax'   => '_prices_include_tax',
			'discount_total'       => '_cart_discount',
			'discount_tax'         => '_cart_discount_tax',
			'shipping_total'       => '_order_shipping',
			'shipping_tax'         => '_order_shipping_tax',
			'cart_tax'             => '_order_tax',
			'total'                => '_order_total',
			'customer_id'          => '_customer_user',
			'order_key'            => '_order_key',
			'payment_method'       => '_payment_method',
			'payment_method_title' => '_payment_method_title',
			'transaction_id'       => '_transaction_id',
			'customer_ip_address'  => '_customer_ip_address',
			'customer_user_agent'  => '_customer_user_agent',
			'created_via'          => '_created_via',
			'date_completed'       => '_date_completed',
			'date_paid'            => '_date_paid',
			'cart_hash'            => '_cart_hash',
			'billing_email'        => '_billing_email',
		);
		foreach ( self::ADDRESS_FIELDS as $field ) {
			$map[ 'billing_' . $field ]  = '_billing_' . $field;
			$map[ 'shipping_' . $field ] = '_shipping_' . $field;
		}
		return $map;
	}

	/**
	 * Total tax (cart + shipping).
	 *
	 * @param string $context View or edit context.
	 * @return string
	 */
	public function get_total_tax( $context = 'view' ) {
		return wc_format_decimal( (float) $this->get_prop( 'cart_tax' ) + (float) $this->get_prop( 'shipping_tax' ), wc_get_price_decimals() );
	}

	/**
	 * Customer user id.
	 *
	 * @param string $context View or edit context.
	 * @return int
	 */
	public function get_customer_id( $context = 'view' ) {
		return (int) $this->get_prop( 'customer_id' );
	}

	/**
	 * Order number (filterable, like WooCommerce's sequential-number plugins do).
	 *
	 * @return string
	 */
	public function get_order_number() {
		return (string) apply_filters( 'woocommerce_order_number', $this->get_id(), $this );
	}

	/**
	 * Paid date.
	 *
	 * @param string $context View or edit context.
	 * @return WC_DateTime|null
	 */
	public function get_date_paid( $context = 'view' ) {
		return bpm_wc_double_datetime( $this->get_prop( 'date_paid' ) );
	}

	/**
	 * Completed date.
	 *
	 * @param string $context View or edit context.
	 * @return WC_DateTime|null
	 */
	public function get_date_completed( $context = 'view' ) {
		return bpm_wc_double_datetime( $this->get_prop( 'date_completed' ) );
	}

	/**
	 * Set the paid date (timestamp or date string).
	 *
	 * @param int|string|null $date Date.
	 */
	public function set_date_paid( $date = null ) {
		$this->set_prop( 'date_paid', null === $date ? null : ( is_numeric( $date ) ? (int) $date : strtotime( (string) $date ) ) );
	}

	/**
	 * Set the completed date.
	 *
	 * @param int|string|null $date Date.
	 */
	public function set_date_completed( $date = null ) {
		$this->set_prop( 'date_completed', null === $date ? null : ( is_numeric( $date ) ? (int) $date : strtotime( (string) $date ) ) );
	}

	/**
	 * Billing full name.
	 *
	 * @return string
	 */
	public function get_formatted_billing_full_name() {
		return trim( $this->get_prop( 'billing_first_name' ) . ' ' . $this->get_prop( 'billing_last_name' ) );
	}

	/**
	 * Set the status; records a transition for save() (WC_Order::set_status).
	 *
	 * @param string $new_status    Status, with or without 'wc-'.
	 * @param string $note          Note added with the change.
	 * @param bool   $manual_update Changed by a person.
	 * @return array{from: string, to: string}
	 */
	public function set_status( $new_status, $note = '', $manual_update = false ) {
		$old_status = $this->get_status( 'edit' );
		$new_status = 'wc-' === substr( $new_status, 0, 3 ) ? substr( $new_status, 3 ) : $new_status;
		if ( $this->object_read && ! wc_is_order_status( 'wc-' . $new_status ) && 'trash' !== $new_status ) {
			$new_status = 'pending';
		}
		$this->set_prop( 'status', $new_status );
		$result = array(
			'from' => $old_status,
			'to'   => $new_status,
		);
		if ( $this->object_read && ! empty( $result['from'] ) && $result['from'] !== $result['to'] ) {
			$this->status_transition = array(
				'from'   => ! empty( $this->status_transition['from'] ) ? $this->status_transition['from'] : $result['from'],
				'to'     => $result['to'],
				'note'   => $note,
				'manual' => (bool) $manual_update,
			);
			if ( $manual_update ) {
				do_action( 'woocommerce_order_edit_status', $this->get_id(), $result['to'] );
			}
			$this->maybe_set_dates( $result['to'] );
		}
		return $result;
	}

	/**
	 * Paid/completed dates follow the status (WC_Order::maybe_set_date_paid / maybe_set_date_completed).
	 *
	 * @param string $to New status.
	 */
	protected function maybe_set_dates( $to ) {
		if ( ! $this->get_prop( 'date_paid' ) && in_array( $to, wc_get_is_paid_statuses(), true ) ) {
			$this->set_date_paid( time() );
		}
		if ( 'completed' === $to && ! $this->get_prop( 'date_completed' ) ) {
			$this->set_date_completed( time() );
		}
	}

	/**
	 * Set the status and save (WC_Order::update_status).
	 *
	 * @param string $new_status    Status.
	 * @param string $note          Note.
	 * @param bool   $manual        Manual change.
	 * @return bool
	 */
	public function update_status( $new_status, $note = '', $manual = false ) {
		if ( ! $this->get_id() ) {
			return false;
		}
		$this->set_status( $new_status, $note, $manual );
		$this->save();
		return true;
	}

	/**
	 * Whether the order is paid.
	 *
	 * @return bool
	 */
	public function is_paid() {
		return apply_filters( 'woocommerce_order_is_paid', $this->has_status( wc_get_is_paid_statuses() ), $this );
	}

	/**
	 * Whether the order still needs payment.
	 *
	 * @return bool
	 */
	public function needs_payment() {
		$valid = apply_filters( 'woocommerce_valid_order_statuses_for_payment', array( 'pending', 'failed' ), $this );
		return apply_filters( 'woocommerce_order_needs_payment', ( $this->has_status( $valid ) && (float) $this->get_total() > 0 ), $this, $valid );
	}

	/**
	 * Mark paid (WC_Order::payment_complete).
	 *
	 * @param string $transaction_id Transaction id.
	 * @return bool
	 */
	public function payment_complete( $transaction_id = '' ) {
		if ( ! $this->get_id() ) {
			return false;
		}
		do_action( 'woocommerce_pre_payment_complete', $this->get_id(), $transaction_id );
		$valid = apply_filters( 'woocommerce_valid_order_statuses_for_payment_complete', array( 'on-hold', 'pending', 'failed', 'cancelled' ), $this );
		if ( $this->has_status( $valid ) ) {
			if ( ! empty( $transaction_id ) ) {
				$this->set_transaction_id( $transaction_id );
			}
			if ( ! $this->get_date_paid( 'edit' ) ) {
				$this->set_date_paid( time() );
			}
			$this->set_status( apply_filters( 'woocommerce_payment_complete_order_status', 'processing', $this->get_id(), $this ) );
			$this->save();
			do_action( 'woocommerce_payment_complete', $this->get_id(), $transaction_id );
		} else {
			do_action( 'woocommerce_payment_complete_order_status_' . $this->get_status(), $this->get_id(), $transaction_id );
		}
		return true;
	}

	/**
	 * {@inheritDoc}
	 */
	protected function post_title() {
		return sprintf( 'Order &ndash; %s', gmdate( 'F j, Y @ h:i A' ) );
	}

	/**
	 * {@inheritDoc}
	 *
	 * A draft (the block checkout's 'checkout-draft') is announced by woocommerce_new_order only when it
	 * leaves the draft status, as WooCommerce's data stores do.
	 *
	 * @param bool   $is_new     Created.
	 * @param string $was_status Status before this save.
	 */
	protected function fire_data_store_hook( $is_new, $was_status = '' ) {
		$drafts = array( 'auto-draft', 'draft', 'checkout-draft', 'new' );
		if ( $is_new ) {
			if ( ! in_array( $this->get_status(), $drafts, true ) ) {
				do_action( 'woocommerce_new_order', $this->get_id(), $this );
			}
			return;
		}
		if ( in_array( $was_status, $drafts, true ) && ! in_array( $this->get_status(), $drafts, true ) ) {
			do_action( 'woocommerce_new_order', $this->get_id(), $this );
		}
		do_action( 'woocommerce_update_order', $this->get_id(), $this );
	}

	/**
	 * {@inheritDoc}
	 */
	protected function after_save() {
		$this->status_transition();
	}

	/**
	 * Fire the status hooks recorded by set_status (WC_Order::status_transition).
	 */
	protected function status_transition() {
		$transition = $this->status_transition;
		// Reset first: a hook that saves the order again must not re-fire this transition.
		$this->status_transition = false;
		if ( ! $transition ) {
			return;
		}
		do_action( 'woocommerce_order_status_' . $transition['to'], $this->get_id(), $this, $transition );
		if ( ! empty( $transition['from'] ) ) {
			/* translators: 1: old status 2: new status */
			$note = sprintf( __( 'Order status changed from %1$s to %2$s.', 'woocommerce' ), wc_get_order_status_name( $transition['from'] ), wc_get_order_status_name( $transition['to'] ) );
			$this->add_order_note( trim( $transition['note'] . ' ' . $note ), 0, $transition['manual'] );
			do_action( 'woocommerce_order_status_' . $transition['from'] . '_to_' . $transition['to'], $this->get_id(), $this );
			do_action( 'woocommerce_order_status_changed', $this->get_id(), $transition['from'], $transition['to'], $this );
			$payment_statuses = apply_filters( 'woocommerce_valid_order_statuses_for_payment', array( 'pending', 'failed' ), $this );
			if ( in_array( $transition['from'], $payment_statuses, true ) && in_array( $transition['to'], wc_get_is_paid_statuses(), true ) ) {
				do_action( 'woocommerce_order_payment_status_changed', $this->get_id(), $this );
			}
		} else {
			/* translators: %s: new status */
			$this->add_order_note( trim( $transition['note'] . ' ' . sprintf( __( 'Order status set to %s.', 'woocommerce' ), wc_get_order_status_name( $transition['to'] ) ) ), 0, $transition['manual'] );
		}
	}

	/**
	 * Add a note as an order_note comment (WC_Order::add_order_note). Returns the comment id.
	 *
	 * @param string $note             Note.
	 * @param int    $is_customer_note Customer-facing (e-mails the customer).
	 * @param bool   $added_by_user    Added by the current user.
	 * @return int
	 */
	public function add_order_note( $note, $is_customer_note = 0, $added_by_user = false ) {
		if ( ! $this->get_id() ) {
			return 0;
		}
		$user = wp_get_current_user();
		if ( is_user_logged_in() && current_user_can( 'edit_shop_order', $this->get_id() ) && $added_by_user ) {
			$author       = $user->display_name;
			$author_email = $user->user_email;
		} else {
			$author       = __( 'WooCommerce', 'woocommerce' );
			$author_email = 'woocommerce@' . ( wp_parse_url( home_url(), PHP_URL_HOST ) ?? 'localhost' );
		}
		$data       = apply_filters(
			'woocommerce_new_order_note_data',
			array(
				'comment_post_ID'      => $this->get_id(),
				'comment_author'       => $author,
				'comment_author_email' => $author_email,
				'comment_author_url'   => '',
				'comment_content'      => $note,
				'comment_agent'        => 'WooCommerce',
				'comment_type'         => 'order_note',
				'comment_parent'       => 0,
				'comment_approved'     => 1,
			),
			array(
				'order_id'         => $this->get_id(),
				'is_customer_note' => $is_customer_note,
			)
		);
		$comment_id = wp_insert_comment( $data );
		if ( $is_customer_note ) {
			add_comment_meta( $comment_id, 'is_customer_note', 1 );
			do_action(
				'woocommerce_new_customer_note',
				array(
					'order_id'      => $this->get_id(),
					'customer_note' => $data['comment_content'],
				)
			);
		}
		do_action( 'woocommerce_order_note_added', $comment_id, $this );
		return (int) $comment_id;
	}

	/**
	 * Refunds of this order, newest first.
	 *
	 * @return WC_Order_Refund[]
	 */
	public function get_refunds() {
		if ( ! $this->get_id() ) {
			return array();
		}
		$ids = get_posts(
			array(
				'post_type'      => 'shop_order_refund',
				'post_parent'    => $this->get_id(),
				'post_status'    => 'any',
				'posts_per_page' => -1,
				'fields'         => 'ids',
				'orderby'        => 'ID',
				'order'          => 'DESC',
			)
		);
		return array_map(
			static function ( $id ) {
				return new WC_Order_Refund( $id );
			},
			$ids
		);
	}

	/**
	 * Total refunded.
	 *
	 * @return float
	 */
	public function get_total_refunded() {
		$total = 0.0;
		foreach ( $this->get_refunds() as $refund ) {
			$total += (float) $refund->get_amount();
		}
		return $total;
	}

	/**
	 * Amount that may still be refunded.
	 *
	 * @return string
	 */
	public function get_remaining_refund_amount() {
		return wc_format_decimal( (float) $this->get_total() - $this->get_total_refunded(), wc_get_price_decimals() );
	}

	/**
	 * Admin edit URL.
	 *
	 * @return string
	 */
	public function get_edit_order_url() {
		return apply_filters( 'woocommerce_get_edit_order_url', admin_url( 'post.php?post=' . $this->get_id() . '&action=edit' ), $this );
	}
}

/**
 * A refund (WC_Order_Refund): a shop_order_refund post whose parent is the order.
 */
class WC_Order_Refund extends WC_Abstract_Order {
	/**
	 * Post type.
	 *
	 * @var string
	 */
	protected $post_type = 'shop_order_refund';

	/**
	 * {@inheritDoc}
	 */
	protected function default_data() {
		return array(
			'parent_id'        => 0,
			'status'           => 'completed',
			'currency'         => get_option( 'woocommerce_currency', 'PLN' ),
			'date_created'     => null,
			'date_modified'    => null,
			'total'            => '0',
			'amount'           => '',
			'reason'           => '',
			'refunded_by'      => 0,
			'refunded_payment' => false,
			'customer_note'    => '',
		);
	}

	/**
	 * {@inheritDoc}
	 */
	protected function meta_props() {
		return array(
			'currency'         => '_order_currency',
			'total'            => '_order_total',
			'amount'           => '_refund_amount',
			'reason'           => '_refund_reason',
			'refunded_by'      => '_refunded_by',
			'refunded_payment' => '_refunded_payment',
		);
	}

	/**
	 * {@inheritDoc}
	 */
	protected function object_type() {
		return 'order_refund';
	}

	/**
	 * {@inheritDoc}
	 */
	protected function post_status() {
		return 'wc-completed';
	}

	/**
	 * Refund amount (positive).
	 *
	 * @param string $context View or edit context.
	 * @return string
	 */
	public function get_amount( $context = 'view' ) {
		return wc_format_decimal( $this->get_prop( 'amount' ), wc_get_price_decimals() );
	}

	/**
	 * Refund reason.
	 *
	 * @param string $context View or edit context.
	 * @return string
	 */
	public function get_reason( $context = 'view' ) {
		return (string) $this->get_prop( 'reason' );
	}

	/**
	 * Who refunded.
	 *
	 * @param string $context View or edit context.
	 * @return int
	 */
	public function get_refunded_by( $context = 'view' ) {
		return (int) $this->get_prop( 'refunded_by' );
	}

	/**
	 * Whether the payment was refunded through the gateway.
	 *
	 * @param string $context View or edit context.
	 * @return bool
	 */
	public function get_refunded_payment( $context = 'view' ) {
		return wc_string_to_bool( $this->get_prop( 'refunded_payment' ) );
	}

	/**
	 * {@inheritDoc}
	 */
	protected function post_title() {
		return sprintf( 'Refund &ndash; %s', gmdate( 'F j, Y @ h:i A' ) );
	}
}

/**
 * A product line of an order (WC_Order_Item_Product), stored in woocommerce_order_items/itemmeta.
 */
class WC_Order_Item_Product {
	/**
	 * Item id.
	 *
	 * @var integer
	 */
	protected $id = 0;

	/**
	 * Data.
	 *
	 * @var array<string, mixed>
	 */
	protected $data = array(
		'order_id'     => 0,
		'name'         => '',
		'product_id'   => 0,
		'variation_id' => 0,
		'quantity'     => 1,
		'tax_class'    => '',
		'subtotal'     => '0',
		'subtotal_tax' => '0',
		'total'        => '0',
		'total_tax'    => '0',
		'taxes'        => array(
			'subtotal' => array(),
			'total'    => array(),
		),
	);

	/**
	 * Extra (non-internal) item meta: key => value.
	 *
	 * @var array<string, mixed>
	 */
	protected $meta = array();

	/**
	 * Prop => itemmeta key.
	 */
	const META_KEYS = array(
		'product_id'   => '_product_id',
		'variation_id' => '_variation_id',
		'quantity'     => '_qty',
		'tax_class'    => '_tax_class',
		'subtotal'     => '_line_subtotal',
		'subtotal_tax' => '_line_subtotal_tax',
		'total'        => '_line_total',
		'total_tax'    => '_line_tax',
		'taxes'        => '_line_tax_data',
	);

	/**
	 * Load an item by id, or a new one.
	 *
	 * @param int $item Item id.
	 */
	public function __construct( $item = 0 ) {
		if ( is_numeric( $item ) && $item > 0 ) {
			global $wpdb;
			$row = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$wpdb->prefix}woocommerce_order_items WHERE order_item_id = %d", $item ) );
			if ( $row ) {
				$this->id               = (int) $row->order_item_id;
				$this->data['order_id'] = (int) $row->order_id;
				$this->data['name']     = $row->order_item_name;
				$meta                   = $wpdb->get_results( $wpdb->prepare( "SELECT meta_key, meta_value FROM {$wpdb->prefix}woocommerce_order_itemmeta WHERE order_item_id = %d", $item ) );
				$keys                   = array_flip( self::META_KEYS );
				foreach ( $meta as $m ) {
					if ( isset( $keys[ $m->meta_key ] ) ) {
						$this->data[ $keys[ $m->meta_key ] ] = maybe_unserialize( $m->meta_value );
					} else {
						$this->meta[ $m->meta_key ] = maybe_unserialize( $m->meta_value );
					}
				}
			}
		}
	}

	// phpcs:disable Squiz.Commenting.FunctionComment.Missing -- plain getters/setters named as in WooCommerce.
	public function get_id() {
		return $this->id;
	}
	public function get_type() {
		return 'line_item';
	}
	public function get_order_id() {
		return (int) $this->data['order_id'];
	}
	public function set_order_id( $value ) {
		$this->data['order_id'] = absint( $value );
	}
	public function get_order() {
		return wc_get_order( $this->get_order_id() );
	}
	public function get_name( $context = 'view' ) {
		return (string) $this->data['name'];
	}
	public function set_name( $value ) {
		$this->data['name'] = wp_check_invalid_utf8( (string) $value );
	}
	public function get_product_id( $context = 'view' ) {
		return (int) $this->data['product_id'];
	}
	public function set_product_id( $value ) {
		$this->data['product_id'] = absint( $value );
	}
	public function get_variation_id( $context = 'view' ) {
		return (int) $this->data['variation_id'];
	}
	public function set_variation_id( $value ) {
		$this->data['variation_id'] = absint( $value );
	}
	public function get_quantity( $context = 'view' ) {
		return (int) $this->data['quantity'];
	}
	public function set_quantity( $value ) {
		$this->data['quantity'] = (int) $value;
	}
	public function get_tax_class( $context = 'view' ) {
		return (string) $this->data['tax_class'];
	}
	public function set_tax_class( $value ) {
		$this->data['tax_class'] = (string) $value;
	}
	public function get_subtotal( $context = 'view' ) {
		return wc_format_decimal( $this->data['subtotal'] );
	}
	public function set_subtotal( $value ) {
		$this->data['subtotal'] = wc_format_decimal( $value );
	}
	public function get_subtotal_tax( $context = 'view' ) {
		return wc_format_decimal( $this->data['subtotal_tax'] );
	}
	public function set_subtotal_tax( $value ) {
		$this->data['subtotal_tax'] = wc_format_decimal( $value );
	}
	public function get_total( $context = 'view' ) {
		return wc_format_decimal( $this->data['total'] );
	}
	public function set_total( $value ) {
		$this->data['total'] = wc_format_decimal( $value );
	}
	public function get_total_tax( $context = 'view' ) {
		return wc_format_decimal( $this->data['total_tax'] );
	}
	public function set_total_tax( $value ) {
		$this->data['total_tax'] = wc_format_decimal( $value );
	}
	public function get_taxes( $context = 'view' ) {
		return $this->data['taxes'];
	}
	public function set_taxes( $raw_tax_data ) {
		$raw_tax_data = (array) $raw_tax_data;
		$this->data['taxes'] = array(
			'total'    => array_map( 'wc_format_decimal', (array) ( $raw_tax_data['total'] ?? array() ) ),
			'subtotal' => array_map( 'wc_format_decimal', (array) ( $raw_tax_data['subtotal'] ?? $raw_tax_data['total'] ?? array() ) ),
		);
		$this->data['total_tax']    = wc_format_decimal( array_sum( $this->data['taxes']['total'] ) );
		$this->data['subtotal_tax'] = wc_format_decimal( array_sum( $this->data['taxes']['subtotal'] ) );
	}
	public function get_product() {
		return $this->get_product_id() ? wc_get_product( $this->get_variation_id() ? $this->get_variation_id() : $this->get_product_id() ) : false;
	}
	public function get_meta( $key = '', $single = true, $context = 'view' ) {
		return $this->meta[ $key ] ?? '';
	}
	public function update_meta_data( $key, $value, $meta_id = 0 ) {
		$this->meta[ $key ] = $value;
	}
	public function get_formatted_meta_data( $hideprefix = '_', $include_all = false ) {
		$out = array();
		foreach ( $this->meta as $key => $value ) {
			if ( $include_all || 0 !== strpos( $key, $hideprefix ) ) {
				$out[] = (object) array(
					'key'           => $key,
					'value'         => $value,
					'display_key'   => $key,
					'display_value' => $value,
				);
			}
		}
		return $out;
	}
	// phpcs:enable

	/**
	 * Save to the item tables; returns the item id.
	 *
	 * @return int
	 */
	public function save() {
		global $wpdb;
		$table = $wpdb->prefix . 'woocommerce_order_items';
		if ( ! $this->id ) {
			$wpdb->insert(
				$table,
				array(
					'order_item_name' => $this->get_name(),
					'order_item_type' => 'line_item',
					'order_id'        => $this->get_order_id(),
				)
			);
			$this->id = (int) $wpdb->insert_id;
		} else {
			$wpdb->update( $table, array( 'order_item_name' => $this->get_name() ), array( 'order_item_id' => $this->id ) );
		}
		$meta_table = $wpdb->prefix . 'woocommerce_order_itemmeta';
		$wpdb->delete( $meta_table, array( 'order_item_id' => $this->id ) );
		$rows = array();
		foreach ( self::META_KEYS as $prop => $key ) {
			$rows[ $key ] = $this->data[ $prop ];
		}
		foreach ( $rows + $this->meta as $key => $value ) {
			$wpdb->insert(
				$meta_table,
				array(
					'order_item_id' => $this->id,
					'meta_key'      => $key, // phpcs:ignore WordPress.DB.SlowDBQuery
					'meta_value'    => maybe_serialize( $value ), // phpcs:ignore WordPress.DB.SlowDBQuery
				)
			);
		}
		return $this->id;
	}
}

/**
 * A product (WC_Product, reduced): a `product` post with _sku, _price, _regular_price meta.
 */
class WC_Product {
	/**
	 * Id.
	 *
	 * @var integer
	 */
	protected $id = 0;

	/**
	 * Load by id.
	 *
	 * @param int|WP_Post $product Product.
	 */
	public function __construct( $product = 0 ) {
		$this->id = $product instanceof WP_Post ? $product->ID : (int) $product;
	}

	// phpcs:disable Squiz.Commenting.FunctionComment.Missing -- getters named as in WooCommerce.
	public function get_id() {
		return $this->id;
	}
	public function get_name( $context = 'view' ) {
		return get_the_title( $this->id );
	}
	public function get_sku( $context = 'view' ) {
		return (string) get_post_meta( $this->id, '_sku', true );
	}
	public function get_price( $context = 'view' ) {
		return (string) get_post_meta( $this->id, '_price', true );
	}
	public function get_regular_price( $context = 'view' ) {
		return (string) get_post_meta( $this->id, '_regular_price', true );
	}
	public function get_status( $context = 'view' ) {
		return get_post_status( $this->id );
	}
	// phpcs:enable
}

/**
 * A product by id, or false (wc_get_product).
 *
 * @param int|WP_Post|false $the_product Product.
 * @return WC_Product|false
 */
function wc_get_product( $the_product = false ) {
	$id = $the_product instanceof WP_Post ? $the_product->ID : (int) $the_product;
	return $id && 'product' === get_post_type( $id ) ? new WC_Product( $id ) : false;
}

/**
 * 'yes'/'no' for a bool (wc_bool_to_string).
 *
 * @param bool|string $bool Value.
 * @return string
 */
function wc_bool_to_string( $bool ) {
	if ( ! is_bool( $bool ) ) {
		$bool = wc_string_to_bool( $bool );
	}
	return true === $bool ? 'yes' : 'no';
}

/**
 * Bool of 'yes'/'true'/'1' (wc_string_to_bool).
 *
 * @param string|bool $string Value.
 * @return bool
 */
function wc_string_to_bool( $string ) {
	return is_bool( $string ) ? $string : ( 'yes' === strtolower( (string) $string ) || 1 === $string || 'true' === strtolower( (string) $string ) || '1' === $string );
}
