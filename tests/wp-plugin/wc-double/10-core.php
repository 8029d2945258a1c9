<?php
/**
 * WooCommerce double: bootstrap, version, load hooks, FeaturesUtil/OrderUtil and the small helper functions.
 *
 * Signatures follow WooCommerce 8.x (plugins/woocommerce/includes/wc-core-functions.php, wc-formatting-functions.php,
 * wc-rest-functions.php, src/Utilities/FeaturesUtil.php, src/Utilities/OrderUtil.php). Storage is the classic
 * posts storage (HPOS off), which is what the plugin must also work with.
 *
 * @package BPM_WC_Double
 */

namespace Automattic\WooCommerce\Utilities {

	/**
	 * Feature compatibility declarations (FeaturesUtil::declare_compatibility in WooCommerce).
	 */
	class FeaturesUtil {
		/**
		 * Declarations made so far: feature id => plugin file => bool.
		 *
		 * @var array<string, array<string, bool>>
		 */
		public static $declared = array();

		/**
		 * Declare (in)compatibility of a plugin with a feature. Like WooCommerce, only valid inside a
		 * 'before_woocommerce_init' handler: elsewhere it reports "doing it wrong" and returns false.
		 *
		 * @param string $feature_id             Feature id, e.g. 'custom_order_tables'.
		 * @param string $plugin_file            Main plugin file (__FILE__) or 'dir/file.php'.
		 * @param bool   $positive_compatibility True if compatible.
		 * @return bool
		 */
		public static function declare_compatibility( string $feature_id, string $plugin_file, bool $positive_compatibility = true ): bool {
			if ( ! doing_action( 'before_woocommerce_init' ) ) {
				wc_doing_it_wrong( __METHOD__, 'FeaturesUtil::declare_compatibility should be called inside the before_woocommerce_init action.', '7.0' );
				return false;
			}
			if ( ! in_array( $feature_id, array( 'custom_order_tables', 'cart_checkout_blocks', 'product_block_editor', 'analytics', 'new_navigation' ), true ) ) {
				wc_doing_it_wrong( __METHOD__, sprintf( 'The WooCommerce feature %s does not exist.', esc_html( $feature_id ) ), '7.0' );
				return false;
			}
			$plugin_file = plugin_basename( $plugin_file );
			self::$declared[ $feature_id ][ $plugin_file ] = $positive_compatibility;
			return true;
		}
	}

	/**
	 * Order storage helpers (OrderUtil in WooCommerce). The double stores orders as posts (HPOS off).
	 */
	class OrderUtil {
		/**
		 * Whether HPOS is in use.
		 *
		 * @return bool
		 */
		public static function custom_orders_table_usage_is_enabled(): bool {
			return false;
		}

		/**
		 * Admin screen id of the order editor.
		 *
		 * @return string
		 */
		public static function get_order_admin_screen(): string {
			return 'shop_order';
		}

		/**
		 * Edit URL of an order.
		 *
		 * @param int $order_id Order id.
		 * @return string
		 */
		public static function get_order_admin_edit_url( int $order_id ): string {
			return admin_url( 'post.php?post=' . absint( $order_id ) ) . '&action=edit';
		}

		/**
		 * Order type of an id, or null.
		 *
		 * @param int|\WP_Post|\WC_Order $order_id Order.
		 * @return string|null
		 */
		public static function get_order_type( $order_id ) {
			$id   = is_object( $order_id ) ? ( $order_id instanceof \WP_Post ? $order_id->ID : $order_id->get_id() ) : (int) $order_id;
			$type = get_post_type( $id );
			return in_array( $type, array( 'shop_order', 'shop_order_refund' ), true ) ? $type : null;
		}

		/**
		 * Whether an id is of the given order type(s).
		 *
		 * @param int          $order_id Order id.
		 * @param string|array $types    Types.
		 * @return bool
		 */
		public static function is_order( $order_id, $types = array( 'shop_order' ) ): bool {
			return in_array( self::get_order_type( $order_id ), (array) $types, true );
		}
	}
}

namespace {

	defined( 'ABSPATH' ) || exit;

	if ( ! defined( 'WC_VERSION' ) ) {
		define( 'WC_VERSION', '8.2.0' );
	}
	if ( ! defined( 'WC_PLUGIN_FILE' ) ) {
		define( 'WC_PLUGIN_FILE', WP_PLUGIN_DIR . '/woocommerce/woocommerce.php' );
	}

	/**
	 * The main WooCommerce object, as far as plugins look at it.
	 */
	final class WooCommerce {
		/**
		 * Version.
		 *
		 * @var string
		 */
		public $version = WC_VERSION;

		/**
		 * Singleton.
		 *
		 * @var WooCommerce|null
		 */
		protected static $instance = null;

		/**
		 * The instance.
		 *
		 * @return WooCommerce
		 */
		public static function instance() {
			if ( null === self::$instance ) {
				self::$instance = new self();
			}
			return self::$instance;
		}

		/**
		 * Payment gateway registry (built on first use, like WooCommerce's).
		 *
		 * @return WC_Payment_Gateways
		 */
		public function payment_gateways() {
			static $gateways = null;
			if ( null === $gateways ) {
				$gateways = new WC_Payment_Gateways();
			}
			return $gateways;
		}

		/**
		 * WooCommerce's own init (hooked on 'init' priority 0, like WooCommerce::init).
		 */
		public function init() {
			do_action( 'before_woocommerce_init' );
			bpm_wc_double_register_post_types();
			do_action( 'woocommerce_init' );
		}
	}

	/**
	 * The WooCommerce instance.
	 *
	 * @return WooCommerce
	 */
	function WC() { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName.FunctionNameInvalid -- WooCommerce's name.
		return WooCommerce::instance();
	}

	add_action(
		'plugins_loaded',
		static function () {
			do_action( 'woocommerce_loaded' );
		},
		-1
	);
	add_action( 'init', array( WC(), 'init' ), 0 );

	/**
	 * Report wrong use (wc_doing_it_wrong in WooCommerce).
	 *
	 * @param string $function Function used.
	 * @param string $message  Message.
	 * @param string $version  Version.
	 */
	function wc_doing_it_wrong( $function, $message, $version ) {
		_doing_it_wrong( esc_html( $function ), esc_html( $message ), esc_html( $version ) );
	}

	/**
	 * Clean variables using sanitize_text_field; arrays recursively.
	 *
	 * @param string|array $var Data.
	 * @return string|array
	 */
	function wc_clean( $var ) {
		if ( is_array( $var ) ) {
			return array_map( 'wc_clean', $var );
		}
		return is_scalar( $var ) ? sanitize_text_field( $var ) : $var;
	}

	/**
	 * Number of decimals of prices.
	 *
	 * @return int
	 */
	function wc_get_price_decimals() {
		return absint( apply_filters( 'wc_get_price_decimals', get_option( 'woocommerce_price_num_decimals', 2 ) ) );
	}

	/**
	 * Format a decimal for storage/REST (reduced wc_format_decimal: '.' separator only).
	 *
	 * @param float|string $number     Number.
	 * @param int|bool     $dp         Decimals, or false to leave as is.
	 * @param bool         $trim_zeros Trim trailing zeros.
	 * @return string
	 */
	function wc_format_decimal( $number, $dp = false, $trim_zeros = false ) {
		$number = is_numeric( $number ) ? (string) $number : '0';
		if ( false !== $dp ) {
			$dp     = intval( '' === $dp ? wc_get_price_decimals() : $dp );
			$number = number_format( (float) $number, $dp, '.', '' );
		}
		if ( $trim_zeros && false !== strpos( $number, '.' ) ) {
			$number = rtrim( rtrim( $number, '0' ), '.' );
		}
		return $number;
	}

	/**
	 * Order statuses with the 'wc-' prefix (wc_get_order_statuses).
	 *
	 * @return array<string, string>
	 */
	function wc_get_order_statuses() {
		return apply_filters(
			'wc_order_statuses',
			array(
				'wc-pending'        => _x( 'Pending payment', 'Order status', 'woocommerce' ),
				'wc-processing'     => _x( 'Processing', 'Order status', 'woocommerce' ),
				'wc-on-hold'        => _x( 'On hold', 'Order status', 'woocommerce' ),
				'wc-completed'      => _x( 'Completed', 'Order status', 'woocommerce' ),
				'wc-cancelled'      => _x( 'Cancelled', 'Order status', 'woocommerce' ),
				'wc-refunded'       => _x( 'Refunded', 'Order status', 'woocommerce' ),
				'wc-failed'         => _x( 'Failed', 'Order status', 'woocommerce' ),
				'wc-checkout-draft' => _x( 'Draft', 'Order status', 'woocommerce' ),
			)
		);
	}

	/**
	 * Whether a slug (with or without 'wc-') is an order status.
	 *
	 * @param string $maybe_status Status.
	 * @return bool
	 */
	function wc_is_order_status( $maybe_status ) {
		return isset( wc_get_order_statuses()[ $maybe_status ] );
	}

	/**
	 * Human name of a status.
	 *
	 * @param string $status Status with or without 'wc-'.
	 * @return string
	 */
	function wc_get_order_status_name( $status ) {
		$statuses = wc_get_order_statuses();
		$status   = 'wc-' === substr( $status, 0, 3 ) ? substr( $status, 3 ) : $status;
		return $statuses[ 'wc-' . $status ] ?? $status;
	}

	/**
	 * Statuses that count as paid.
	 *
	 * @return string[]
	 */
	function wc_get_is_paid_statuses() {
		return apply_filters( 'woocommerce_order_is_paid_statuses', array( 'processing', 'completed' ) );
	}

	/**
	 * Screen id of a WooCommerce admin page ('shop-order' → 'shop_order' under posts storage).
	 *
	 * @param string $for Page.
	 * @return string
	 */
	function wc_get_page_screen_id( $for ) {
		return str_replace( '-', '_', sanitize_key( $for ) );
	}

	/**
	 * Post-type permission check of the WooCommerce REST API (wc_rest_check_post_permissions).
	 *
	 * @param string $post_type Post type.
	 * @param string $context   Context: read, create, edit, delete or batch.
	 * @param int    $object_id Object id.
	 * @return bool
	 */
	function wc_rest_check_post_permissions( $post_type, $context = 'read', $object_id = 0 ) {
		$contexts = array(
			'read'   => 'read_private_posts',
			'create' => 'publish_posts',
			'edit'   => 'edit_post',
			'delete' => 'delete_post',
			'batch'  => 'edit_others_posts',
		);
		if ( 'revision' === $post_type ) {
			$permission = false;
		} else {
			$cap              = $contexts[ $context ];
			$post_type_object = get_post_type_object( $post_type );
			$permission       = $post_type_object ? current_user_can( $post_type_object->cap->$cap, $object_id ) : false;
		}
		return apply_filters( 'woocommerce_rest_check_permissions', $permission, $context, $object_id, $post_type );
	}

	/**
	 * Manager permission check of the WooCommerce REST API (wc_rest_check_manager_permissions).
	 *
	 * @param string $object  Object (settings, system_status, ...).
	 * @param string $context Context: read, create, edit, delete or batch.
	 * @return bool
	 */
	function wc_rest_check_manager_permissions( $object, $context = 'read' ) {
		$objects    = array(
			'reports'          => 'view_woocommerce_reports',
			'settings'         => 'manage_woocommerce',
			'system_status'    => 'manage_woocommerce',
			'attributes'       => 'manage_product_terms',
			'shipping_methods' => 'manage_woocommerce',
			'payment_gateways' => 'manage_woocommerce',
			'webhooks'         => 'manage_woocommerce',
		);
		$permission = current_user_can( $objects[ $object ] );
		return apply_filters( 'woocommerce_rest_check_permissions', $permission, $context, 0, $object );
	}

	/**
	 * Minimal WC_Logger: writes to PHP's error log (the site's debug.log), with a source context.
	 */
	class WC_Logger {
		/**
		 * Log.
		 *
		 * @param string $level   Level.
		 * @param string $message Message.
		 * @param array  $context Context ('source').
		 */
		public function log( $level, $message, $context = array() ) {
			error_log( sprintf( '[wc-%s] %s %s', $level, $context['source'] ?? '', $message ) ); // phpcs:ignore Generic.PHP.ForbiddenFunctions.Found, Squiz.PHP.DiscouragedFunctions.Discouraged -- the test site's debug.log is the log.
		}

		// phpcs:disable Squiz.Commenting.FunctionComment.Missing -- one-line level shortcuts like WC_Logger.
		public function emergency( $message, $context = array() ) {
			$this->log( 'emergency', $message, $context );
		}
		public function alert( $message, $context = array() ) {
			$this->log( 'alert', $message, $context );
		}
		public function critical( $message, $context = array() ) {
			$this->log( 'critical', $message, $context );
		}
		public function error( $message, $context = array() ) {
			$this->log( 'error', $message, $context );
		}
		public function warning( $message, $context = array() ) {
			$this->log( 'warning', $message, $context );
		}
		public function notice( $message, $context = array() ) {
			$this->log( 'notice', $message, $context );
		}
		public function info( $message, $context = array() ) {
			$this->log( 'info', $message, $context );
		}
		public function debug( $message, $context = array() ) {
			$this->log( 'debug', $message, $context );
		}
		// phpcs:enable
	}

	/**
	 * The shared logger.
	 *
	 * @return WC_Logger
	 */
	function wc_get_logger() {
		static $logger = null;
		if ( null === $logger ) {
			$logger = new WC_Logger();
		}
		return $logger;
	}
}
