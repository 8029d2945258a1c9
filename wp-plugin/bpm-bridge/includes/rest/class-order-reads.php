<?php
/**
 * The reads behind GET /orders/{id} and POST /orders/search, made through WooCommerce's own API and CRUD.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

defined( 'ABSPATH' ) || exit;

/**
 * Builds the order bundle (the REST v3 order, the BPM meta, the refunds with CRUD amounts) and runs the
 * reconciliation search on either order storage (HPOS or posts).
 */
final class Order_Reads {

	/**
	 * The order bundle of GET /orders/{id}.
	 *
	 * @param \WC_Order $order Order.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function bundle( $order ) {
		$base = '/wc/v3/orders/' . $order->get_id();
		$wc   = self::wc_read( $base );
		if ( is_wp_error( $wc ) ) {
			return $wc;
		}
		$refunds = array();
		foreach ( $order->get_refunds() as $refund ) {
			$rest = self::wc_read( $base . '/refunds/' . $refund->get_id() );
			if ( is_wp_error( $rest ) ) {
				return $rest;
			}
			// Amount and reason from CRUD: WooCommerce 7.8 with HPOS answers "0.00" and "" in REST.
			$refunds[] = array(
				'id'             => (int) $refund->get_id(),
				'amount'         => wc_format_decimal( $refund->get_amount(), wc_get_price_decimals() ),
				'reason'         => (string) $refund->get_reason(),
				'line_items'     => array_values( (array) ( $rest['line_items'] ?? array() ) ),
				// A refund of shipping or a fee is a line too: the correction needs every refunded line.
				'shipping_lines' => array_values( (array) ( $rest['shipping_lines'] ?? array() ) ),
				'fee_lines'      => array_values( (array) ( $rest['fee_lines'] ?? array() ) ),
			);
		}
		return new \WP_REST_Response(
			array(
				'order'   => $wc,
				'meta'    => Order_Input::meta_values( $order ),
				'refunds' => $refunds,
				// The buyer's marketing consent in force now (the customer's record over the order's).
				'consent' => \BPM_Bridge\Crm\Consent::for_rest( $order ),
			),
			200
		);
	}

	/**
	 * A wc/v3 read made in-process as the current user (WooCommerce's own permission checks apply).
	 *
	 * @param string $route The wc/v3 route.
	 * @return array|\WP_Error Response data.
	 */
	private static function wc_read( string $route ) {
		$response = rest_do_request( new \WP_REST_Request( 'GET', $route ) );
		if ( $response->is_error() ) {
			$error = $response->as_error();
			return Controller::error(
				'bpm_bridge_order_unreadable',
				/* translators: 1: route, 2: WooCommerce's message */
				sprintf( __( 'WooCommerce refused %1$s: %2$s', 'bpm-bridge' ), $route, $error->get_error_message() ),
				$response->get_status() >= 500 ? 502 : $response->get_status(),
				array( 'woocommerce_code' => $error->get_error_code() )
			);
		}
		return (array) rest_get_server()->response_to_data( $response, false );
	}

	/**
	 * One page of POST /orders/search: ids and BPM state of the orders in some statuses modified in a window,
	 * oldest id first (stable pages while orders change). No personal data.
	 *
	 * @param \WP_REST_Request $request Validated search arguments.
	 * @return array{orders:array,total:int,pages:int}
	 */
	public static function search( $request ): array {
		$query = array(
			'type'     => 'shop_order',
			'status'   => array_values( array_unique( array_map( array( Orders_Controller::class, 'sanitize_status' ), (array) $request['statuses'] ) ) ),
			'limit'    => (int) $request['per_page'],
			'page'     => (int) $request['page'],
			'paginate' => true,
			'orderby'  => 'ID',
			'order'    => 'ASC',
		);
		$after  = is_string( $request['modified_after'] ) ? rest_parse_date( $request['modified_after'] ) : false;
		$before = is_string( $request['modified_before'] ) ? rest_parse_date( $request['modified_before'] ) : false;
		// After is exclusive, before inclusive (WooCommerce's "a...b" range includes both ends).
		if ( $after && $before ) {
			$query['date_modified'] = ( $after + 1 ) . '...' . $before;
		} elseif ( $after ) {
			$query['date_modified'] = '>' . $after;
		} elseif ( $before ) {
			$query['date_modified'] = '<' . ( $before + 1 );
		}
		$missing = is_string( $request['missing_meta'] ) ? array(
			'key'     => $request['missing_meta'],
			'compare' => 'NOT EXISTS',
		) : null;
		// HPOS takes meta_query; the posts data store drops it (9.x also warns), so it gets it through its filter.
		$hpos = class_exists( \Automattic\WooCommerce\Utilities\OrderUtil::class ) && \Automattic\WooCommerce\Utilities\OrderUtil::custom_orders_table_usage_is_enabled();
		if ( $missing && $hpos ) {
			$query['meta_query'] = array( $missing ); // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_query
		}
		$posts_meta = static function ( $wp_query_args ) use ( $missing, $hpos ) {
			if ( $missing && ! $hpos ) {
				$wp_query_args['meta_query']   = (array) ( $wp_query_args['meta_query'] ?? array() ); // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_query
				$wp_query_args['meta_query'][] = $missing;
			}
			return $wp_query_args;
		};
		add_filter( 'woocommerce_order_data_store_cpt_get_orders_query', $posts_meta );
		try {
			$result = wc_get_orders( $query );
		} finally {
			remove_filter( 'woocommerce_order_data_store_cpt_get_orders_query', $posts_meta, 10 );
		}
		$orders = array();
		foreach ( $result->orders as $order ) {
			$modified = $order->get_date_modified();
			$orders[] = array(
				'id'                => (int) $order->get_id(),
				'status'            => (string) $order->get_status(),
				'date_modified_gmt' => $modified ? gmdate( 'Y-m-d\TH:i:s', $modified->getTimestamp() ) : null,
				'meta'              => Order_Input::meta_values( $order ),
			);
		}
		return array(
			'orders' => $orders,
			'total'  => (int) $result->total,
			'pages'  => (int) $result->max_num_pages,
		);
	}
}
