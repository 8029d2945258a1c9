<?php
/**
 * What every bpm-bridge/v1 controller shares: the namespace, the guard, errors, orders through CRUD.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

defined( 'ABSPATH' ) || exit;

/**
 * Base controller. A subclass declares its routes with endpoint() (every endpoint is guarded by
 * Guard::permission) and its response shapes as JSON Schema (the routes' `schema`, shown by OPTIONS).
 */
abstract class Controller extends \WP_REST_Controller {

	/**
	 * Sets the namespace.
	 */
	public function __construct() {
		$this->namespace = \BPM_Bridge\Rest::NAMESPACE;
	}

	/**
	 * One endpoint of a route, guarded.
	 *
	 * @param string   $methods  WP_REST_Server::READABLE or ::CREATABLE.
	 * @param callable $callback Handler.
	 * @param array    $args     Argument schema.
	 */
	protected function endpoint( string $methods, callable $callback, array $args = array() ): array {
		return array(
			'methods'             => $methods,
			'callback'            => $callback,
			'permission_callback' => array( Guard::class, 'permission' ),
			'args'                => $args,
		);
	}

	/**
	 * Registers a route with its endpoints and its response schema.
	 *
	 * @param string $path      Route below the namespace.
	 * @param array  $endpoints Endpoints from endpoint().
	 * @param array  $schema    Response schema: title and properties.
	 */
	protected function route( string $path, array $endpoints, array $schema ): void {
		$endpoints['schema'] = static function () use ( $schema ) {
			return array( '$schema' => 'http://json-schema.org/draft-04/schema#' ) + $schema + array( 'type' => 'object' );
		};
		register_rest_route( $this->namespace, $path, $endpoints );
	}

	/**
	 * A positive integer path argument.
	 *
	 * @param string $name Argument name.
	 */
	protected static function id_arg( string $name ): array {
		return array(
			$name => array(
				'type'     => 'integer',
				'minimum'  => 1,
				'required' => true,
			),
		);
	}

	/**
	 * An error in WordPress' REST shape.
	 *
	 * @param string $code    Code.
	 * @param string $message Message.
	 * @param int    $status  HTTP status.
	 * @param array  $data    Extra data.
	 */
	public static function error( string $code, string $message, int $status, array $data = array() ): \WP_Error {
		return new \WP_Error( $code, $message, array( 'status' => $status ) + $data );
	}

	/**
	 * A real order (not a refund) through WooCommerce CRUD, or a 404.
	 *
	 * @param int $order_id Order id.
	 * @return \WC_Order|\WP_Error
	 */
	public static function order( int $order_id ) {
		if ( ! function_exists( 'wc_get_order' ) ) {
			return self::error( 'bpm_bridge_woocommerce_missing', __( 'WooCommerce is not active.', 'bpm-bridge' ), 503 );
		}
		$order = wc_get_order( $order_id );
		if ( ! $order || ( method_exists( $order, 'get_type' ) && 'shop_order' !== $order->get_type() ) ) {
			return self::error( 'bpm_bridge_order_not_found', __( 'No order with this id.', 'bpm-bridge' ), 404 );
		}
		return $order;
	}

	/**
	 * The order as the database holds it now, for a check made under the per-order lock: this process may hold
	 * copies read before another process wrote (WooCommerce's order cache, the post and meta caches).
	 *
	 * @param int $order_id Order id.
	 * @return \WC_Order|\WP_Error
	 */
	public static function fresh_order( int $order_id ) {
		if ( function_exists( 'wc_get_container' ) && class_exists( \Automattic\WooCommerce\Caches\OrderCache::class ) ) {
			wc_get_container()->get( \Automattic\WooCommerce\Caches\OrderCache::class )->remove( $order_id );
		}
		clean_post_cache( $order_id );
		$order = self::order( $order_id );
		// Meta has a cache of its own ("orders" group); a forced read refreshes it (the test double caches nothing).
		if ( ! is_wp_error( $order ) && method_exists( $order, 'read_meta_data' ) ) {
			$order->read_meta_data( true );
		}
		return $order;
	}
}
