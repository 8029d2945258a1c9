<?php
/**
 * WooCommerce double: payment gateways and the classic checkout's sequence of hooks.
 *
 * bpm_wc_double_checkout() follows WC_Checkout::process_checkout(): posted data is read for the fields of
 * 'woocommerce_billing_fields' (so a field a plugin adds there is posted), required fields are checked and
 * 'woocommerce_after_checkout_validation' ( $data, $errors ) runs; then the order is built,
 * 'woocommerce_checkout_create_order' ( $order, $data ) fires before the first save,
 * 'woocommerce_checkout_update_order_meta' ( $order_id, $data ) and 'woocommerce_checkout_order_processed'
 * ( $order_id, $posted_data, $order ) after it, and finally the gateway takes the payment: BACS → on-hold,
 * COD → processing, an online gateway → payment_complete() when the payment succeeded.
 *
 * With 'checkout' => 'block' in the posted data it follows the Store API instead (StoreApi Checkout route):
 * the order exists first as a 'checkout-draft' (no woocommerce_new_order yet), then
 * 'woocommerce_store_api_checkout_update_order_from_request' ( $order, $request ), the move to 'pending'
 * (now woocommerce_new_order fires) and 'woocommerce_store_api_checkout_order_processed' ( $order ); no
 * classic checkout hooks and no 'woocommerce_billing_fields' validation run.
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

/**
 * A payment gateway (WC_Payment_Gateway, the part plugins read).
 */
class WC_Payment_Gateway {
	/**
	 * Id.
	 *
	 * @var string
	 */
	public $id = '';

	/**
	 * Title shown to shoppers.
	 *
	 * @var string
	 */
	public $title = '';

	/**
	 * Title shown to admins.
	 *
	 * @var string
	 */
	public $method_title = '';

	/**
	 * 'yes' or 'no'.
	 *
	 * @var string
	 */
	public $enabled = 'yes';

	/**
	 * Gateway.
	 *
	 * @param string $id           Id.
	 * @param string $method_title Admin title.
	 * @param string $title        Shopper title.
	 */
	public function __construct( $id = '', $method_title = '', $title = '' ) {
		$this->id           = $id;
		$this->method_title = $method_title;
		$this->title        = $title ? $title : $method_title;
	}

	/**
	 * Admin title.
	 *
	 * @return string
	 */
	public function get_method_title() {
		return apply_filters( 'woocommerce_gateway_method_title', $this->method_title, $this );
	}

	/**
	 * Shopper title.
	 *
	 * @return string
	 */
	public function get_title() {
		return apply_filters( 'woocommerce_gateway_title', $this->title, $this->id );
	}

	/**
	 * Whether enabled.
	 *
	 * @return bool
	 */
	public function is_available() {
		return 'yes' === $this->enabled;
	}
}

/**
 * The gateway registry (WC_Payment_Gateways).
 */
class WC_Payment_Gateways {
	/**
	 * Gateways by id.
	 *
	 * @var WC_Payment_Gateway[]
	 */
	public $payment_gateways = array();

	/**
	 * BACS, cheque, COD (WooCommerce's offline gateways) and one online gateway, like a Polish shop's.
	 */
	public function __construct() {
		$gateways = array(
			new WC_Payment_Gateway( 'bacs', 'Direct bank transfer' ),
			new WC_Payment_Gateway( 'cheque', 'Check payments' ),
			new WC_Payment_Gateway( 'cod', 'Cash on delivery' ),
			new WC_Payment_Gateway( 'przelewy24', 'Przelewy24' ),
		);
		foreach ( apply_filters( 'woocommerce_payment_gateways', $gateways ) as $gateway ) {
			if ( $gateway instanceof WC_Payment_Gateway ) {
				$this->payment_gateways[ $gateway->id ] = $gateway;
			}
		}
	}

	/**
	 * All gateways.
	 *
	 * @return WC_Payment_Gateway[]
	 */
	public function payment_gateways() {
		return $this->payment_gateways;
	}

	/**
	 * Enabled gateways.
	 *
	 * @return WC_Payment_Gateway[]
	 */
	public function get_available_payment_gateways() {
		return apply_filters( 'woocommerce_available_payment_gateways', array_filter( $this->payment_gateways, static fn( $g ) => $g->is_available() ) );
	}
}

/**
 * The default billing fields (WC_Countries::get_address_fields( $country, 'billing_' ), reduced).
 *
 * @return array<string, array>
 */
function bpm_wc_double_default_billing_fields() {
	$fields = array(
		'first_name' => array( __( 'First name', 'woocommerce' ), true, 10 ),
		'last_name'  => array( __( 'Last name', 'woocommerce' ), true, 20 ),
		'company'    => array( __( 'Company name', 'woocommerce' ), false, 30 ),
		'country'    => array( __( 'Country / Region', 'woocommerce' ), true, 40 ),
		'address_1'  => array( __( 'Street address', 'woocommerce' ), true, 50 ),
		'address_2'  => array( __( 'Apartment, suite, unit, etc.', 'woocommerce' ), false, 60 ),
		'city'       => array( __( 'Town / City', 'woocommerce' ), true, 70 ),
		'state'      => array( __( 'State / County', 'woocommerce' ), false, 80 ),
		'postcode'   => array( __( 'Postcode / ZIP', 'woocommerce' ), true, 90 ),
		'phone'      => array( __( 'Phone', 'woocommerce' ), true, 100 ),
		'email'      => array( __( 'Email address', 'woocommerce' ), true, 110 ),
	);
	$out    = array();
	foreach ( $fields as $key => list( $label, $required, $priority ) ) {
		$out[ 'billing_' . $key ] = array(
			'label'    => $label,
			'required' => $required,
			'class'    => array( 'form-row-wide' ),
			'priority' => $priority,
		);
	}
	return $out;
}

/**
 * Run a classic checkout for posted data. Returns the order, or a WP_Error with the validation messages.
 *
 * @param array $posted  Posted billing_* fields, payment_method, and 'items' (as bpm_wc_double_create_order).
 * @param bool  $paid    Whether an online payment succeeds (payment_complete); offline gateways ignore it.
 * @return WC_Order|WP_Error
 */
function bpm_wc_double_checkout( array $posted, $paid = false ) {
	$country = isset( $posted['billing_country'] ) ? wc_clean( $posted['billing_country'] ) : 'PL';
	$fields  = apply_filters( 'woocommerce_billing_fields', bpm_wc_double_default_billing_fields(), $country );
	$data    = array(
		'payment_method' => isset( $posted['payment_method'] ) ? wc_clean( $posted['payment_method'] ) : 'bacs',
		'order_comments' => isset( $posted['order_comments'] ) ? sanitize_textarea_field( $posted['order_comments'] ) : '',
	);
	foreach ( $fields as $key => $field ) {
		$data[ $key ] = isset( $posted[ $key ] ) ? wc_clean( wp_unslash( $posted[ $key ] ) ) : '';
	}
	$errors = new WP_Error();
	foreach ( $fields as $key => $field ) {
		if ( ! empty( $field['required'] ) && '' === $data[ $key ] ) {
			/* translators: %s: field name */
			$errors->add( 'required-field', sprintf( __( '%s is a required field.', 'woocommerce' ), '<strong>' . esc_html( $field['label'] ?? $key ) . '</strong>' ), array( 'id' => $key ) );
		}
	}
	if ( '' !== $data['billing_email'] && ! is_email( $data['billing_email'] ) ) {
		$errors->add( 'validation', __( 'Invalid billing email address', 'woocommerce' ) );
	}
	do_action( 'woocommerce_after_checkout_validation', $data, $errors );
	if ( $errors->has_errors() ) {
		return $errors;
	}

	$gateways = WC()->payment_gateways()->payment_gateways();
	$gateway  = $gateways[ $data['payment_method'] ] ?? null;
	if ( ! $gateway ) {
		return new WP_Error( 'invalid_payment_method', __( 'Invalid payment method.', 'woocommerce' ) );
	}
	$billing = array();
	foreach ( array_merge( WC_Order::ADDRESS_FIELDS, array( 'email' ) ) as $field ) {
		$billing[ $field ] = $data[ 'billing_' . $field ] ?? '';
	}
	if ( 'block' === ( $posted['checkout'] ?? 'classic' ) ) {
		return bpm_wc_double_block_checkout( $posted, $billing, $gateway, $paid );
	}
	// Built unsaved so that woocommerce_checkout_create_order sees it before its first save, as in WooCommerce.
	add_action(
		'bpm_wc_double_before_first_save',
		$create_hook = static function ( $order ) use ( $data ) {
			do_action( 'woocommerce_checkout_create_order', $order, $data );
		}
	);
	$order = bpm_wc_double_create_order(
		array(
			'billing'              => $billing,
			'items'                => $posted['items'] ?? null,
			'payment_method'       => $gateway->id,
			'payment_method_title' => $gateway->get_title(),
			'customer_note'        => $data['order_comments'],
			'created_via'          => 'checkout',
		)
	);
	remove_action( 'bpm_wc_double_before_first_save', $create_hook );
	do_action( 'woocommerce_checkout_update_order_meta', $order->get_id(), $data );
	do_action( 'woocommerce_checkout_order_processed', $order->get_id(), $data, $order );

	if ( 'bacs' === $gateway->id || 'cheque' === $gateway->id ) {
		$order->update_status( apply_filters( "woocommerce_{$gateway->id}_process_payment_order_status", 'on-hold', $order ), __( 'Awaiting payment', 'woocommerce' ) );
	} elseif ( 'cod' === $gateway->id ) {
		$order->update_status( apply_filters( 'woocommerce_cod_process_payment_order_status', 'processing', $order ), __( 'Payment to be made upon delivery.', 'woocommerce' ) );
	} elseif ( $paid ) {
		$order->payment_complete( 'txn-' . $order->get_id() );
	}
	return wc_get_order( $order->get_id() );
}

/**
 * The Store API (block) checkout after validation; see bpm_wc_double_checkout().
 *
 * @param array              $posted  Posted data.
 * @param array              $billing Billing address.
 * @param WC_Payment_Gateway $gateway Gateway.
 * @param bool               $paid    Whether an online payment succeeds.
 * @return WC_Order
 */
function bpm_wc_double_block_checkout( array $posted, array $billing, $gateway, $paid ) {
	$order = bpm_wc_double_create_order(
		array(
			'status'               => 'checkout-draft',
			'billing'              => $billing,
			'items'                => $posted['items'] ?? null,
			'payment_method'       => $gateway->id,
			'payment_method_title' => $gateway->get_title(),
			'created_via'          => 'store-api',
		)
	);
	$request = new WP_REST_Request( 'POST', '/wc/store/v1/checkout' );
	$request->set_body_params( $posted );
	do_action( 'woocommerce_store_api_checkout_update_order_from_request', $order, $request );
	$order->set_status( 'pending' );
	$order->save();
	do_action( 'woocommerce_store_api_checkout_order_processed', $order );
	if ( 'bacs' === $gateway->id || 'cheque' === $gateway->id ) {
		$order->update_status( 'on-hold', __( 'Awaiting payment', 'woocommerce' ) );
	} elseif ( 'cod' === $gateway->id ) {
		$order->update_status( 'processing', __( 'Payment to be made upon delivery.', 'woocommerce' ) );
	} elseif ( $paid ) {
		$order->payment_complete( 'txn-' . $order->get_id() );
	}
	return wc_get_order( $order->get_id() );
}
