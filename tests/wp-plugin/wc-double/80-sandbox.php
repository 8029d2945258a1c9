<?php
/**
 * WooCommerce double: test helpers. PHP functions always; REST routes `wc-double/v1` only when the site defines
 * BPM_WC_DOUBLE_SANDBOX (tests/support/wordpress.py does), never on a real shop.
 *
 *   bpm_wc_double_create_product( $name, $price, $sku ) → product id
 *   bpm_wc_double_create_order( $args ) → WC_Order, args: status, billing (array), items ([{name, quantity,
 *       total (net), rate ('23'|'8'|'5'|'0'|'zw', default '23'; VAT added per line, rounded half up), product_id,
 *       sku}]), payment_method, payment_method_title, currency, meta (key => value), customer_note,
 *       paid (bool: payment_complete() after creation, as a gateway does), created_via
 *
 *   POST /wc-double/v1/checkout        anonymous, a shopper's classic checkout (bpm_wc_double_checkout in
 *                                       45-checkout.php): JSON {billing: {...}, billing_<extra>: ..., items,
 *                                       payment_method (bacs|cheque|cod|przelewy24), order_comments, paid,
 *                                       checkout: classic (default) | block (the Store API's hooks)}
 *                                       → 201 {order_id, status} | 400 {code: checkout_invalid, data.errors}
 *   POST /wc-double/v1/orders/{id}/pay      manage_woocommerce: payment_complete( transaction_id )
 *   POST /wc-double/v1/orders/{id}/status   manage_woocommerce: update_status( status, note, true )
 *   POST /wc-double/v1/orders/{id}/refund   manage_woocommerce: wc_create_refund( amount, reason, line_items )
 *   POST /wc-double/v1/run-queue       anonymous (like wp-cron.php): run due Action Scheduler actions → {ran}
 *   GET  /wc-double/v1/actions?hook=   anonymous: Action Scheduler rows of a hook (status, args, attempts)
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

/**
 * Create a simple product.
 *
 * @param string $name  Name.
 * @param string $price Price.
 * @param string $sku   SKU.
 * @return int
 */
function bpm_wc_double_create_product( $name, $price, $sku = '' ) {
	$id = wp_insert_post(
		array(
			'post_type'   => 'product',
			'post_status' => 'publish',
			'post_title'  => $name,
			'post_author' => 1,
		)
	);
	update_post_meta( $id, '_price', wc_format_decimal( $price ) );
	update_post_meta( $id, '_regular_price', wc_format_decimal( $price ) );
	update_post_meta( $id, '_sku', $sku );
	return (int) $id;
}

/**
 * The default test buyer's billing address.
 *
 * @return array<string, string>
 */
function bpm_wc_double_default_buyer() {
	return array(
		'first_name' => 'Jan',
		'last_name'  => 'Kowalski',
		'email'      => 'jan.kowalski@example.test',
		'address_1'  => 'ul. Długa 1',
		'city'       => 'Warszawa',
		'postcode'   => '00-001',
		'country'    => 'PL',
		'phone'      => '+48500100200',
	);
}

/**
 * Create an order the way checkout does (items and addresses set, one save, then optionally paid).
 *
 * @param array $args See the file header.
 * @return WC_Order
 */
function bpm_wc_double_create_order( array $args = array() ) {
	$args  = array_filter(
		$args,
		static function ( $value ) {
			return null !== $value;
		}
	);
	$args  = wp_parse_args(
		$args,
		array(
			'status'               => 'pending',
			'billing'              => bpm_wc_double_default_buyer(),
			'items'                => array(
				array(
					'name'     => 'Kubek',
					'quantity' => 2,
					'total'    => '50.00',
					'rate'     => '23',
				),
			),
			'payment_method'       => 'bacs',
			'payment_method_title' => 'Direct bank transfer',
			'currency'             => 'PLN',
			'meta'                 => array(),
			'customer_note'        => '',
			'paid'                 => false,
			'created_via'          => 'checkout',
		)
	);
	$order = new WC_Order();
	$order->set_order_key( 'wc_order_' . wp_generate_password( 13, false ) );
	$order->set_created_via( $args['created_via'] );
	$order->set_currency( $args['currency'] );
	$order->set_payment_method( $args['payment_method'] );
	$order->set_payment_method_title( $args['payment_method_title'] );
	$order->set_customer_note( $args['customer_note'] );
	foreach ( (array) $args['billing'] as $field => $value ) {
		$order->{"set_billing_$field"}( $value );
	}
	$total    = 0.0;
	$cart_tax = 0.0;
	$rate_ids = array_flip( array_map( 'strval', BPM_WC_DOUBLE_TAX_RATES ) );
	foreach ( (array) $args['items'] as $line ) {
		$item = new WC_Order_Item_Product();
		$item->set_name( $line['name'] ?? 'Item' );
		$item->set_product_id( (int) ( $line['product_id'] ?? 0 ) );
		$item->set_quantity( (int) ( $line['quantity'] ?? 1 ) );
		$net = (float) ( $line['total'] ?? 0 );
		$item->set_subtotal( $line['subtotal'] ?? $net );
		$item->set_total( $net );
		$rate = (string) ( $line['rate'] ?? '23' );
		$tax  = 0.0;
		if ( 'zw' !== $rate && isset( $rate_ids[ $rate ] ) ) {
			$tax = round( $net * (float) $rate / 100, 2 );
			$item->set_taxes( array( 'total' => array( $rate_ids[ $rate ] => $tax ) ) );
		}
		$order->add_item( $item );
		$total    += $net + $tax;
		$cart_tax += $tax;
	}
	$order->set_cart_tax( wc_format_decimal( $cart_tax, 2 ) );
	$order->set_total( $total );
	foreach ( (array) $args['meta'] as $key => $value ) {
		$order->update_meta_data( $key, $value );
	}
	if ( 'pending' !== $args['status'] ) {
		$order->set_status( $args['status'] );
	}
	do_action( 'bpm_wc_double_before_first_save', $order );
	$order->save();
	if ( $args['paid'] ) {
		$order->payment_complete( 'txn-' . $order->get_id() );
	}
	return wc_get_order( $order->get_id() );
}

if ( defined( 'BPM_WC_DOUBLE_SANDBOX' ) && BPM_WC_DOUBLE_SANDBOX ) {
	add_action(
		'rest_api_init',
		static function () {
			$manager = static function () {
				return current_user_can( 'manage_woocommerce' );
			};
			$order   = static function ( WP_REST_Request $request ) {
				$order = wc_get_order( (int) $request['id'] );
				return $order instanceof WC_Order ? $order : new WP_Error( 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.', array( 'status' => 404 ) );
			};
			register_rest_route(
				'wc-double/v1',
				'/checkout',
				array(
					'methods'             => 'POST',
					'permission_callback' => '__return_true',
					'callback'            => static function ( WP_REST_Request $request ) {
						$params = (array) $request->get_json_params();
						$posted = array();
						foreach ( (array) ( $params['billing'] ?? array() ) as $field => $value ) {
							$posted[ 'billing_' . $field ] = $value;
						}
						foreach ( bpm_wc_double_default_billing_fields() as $key => $unused ) {
							if ( ! isset( $posted[ $key ] ) ) {
								// A shopper who typed nothing unusual: the default test buyer.
								$posted[ $key ] = bpm_wc_double_default_buyer()[ substr( $key, 8 ) ] ?? '';
							}
						}
						$posted = array_merge( $posted, array_intersect_key( $params, array_flip( array( 'payment_method', 'items', 'order_comments', 'checkout' ) ) ) );
						foreach ( $params as $key => $value ) {
							if ( 0 === strpos( $key, 'billing_' ) ) {
								$posted[ $key ] = $value; // Extra checkout fields, e.g. one added by a plugin.
							}
						}
						$order = bpm_wc_double_checkout( $posted, ! empty( $params['paid'] ) );
						if ( is_wp_error( $order ) ) {
							return new WP_Error( 'checkout_invalid', implode( ' ', $order->get_error_messages() ), array( 'status' => 400, 'errors' => $order->get_error_messages() ) );
						}
						return new WP_REST_Response(
							array(
								'order_id' => $order->get_id(),
								'status'   => $order->get_status(),
							),
							201
						);
					},
				)
			);
			register_rest_route(
				'wc-double/v1',
				'/orders/(?P<id>\d+)/pay',
				array(
					'methods'             => 'POST',
					'permission_callback' => $manager,
					'callback'            => static function ( WP_REST_Request $request ) use ( $order ) {
						$o = $order( $request );
						if ( is_wp_error( $o ) ) {
							return $o;
						}
						$o->payment_complete( (string) $request['transaction_id'] );
						return array(
							'order_id' => $o->get_id(),
							'status'   => wc_get_order( $o->get_id() )->get_status(),
						);
					},
				)
			);
			register_rest_route(
				'wc-double/v1',
				'/orders/(?P<id>\d+)/status',
				array(
					'methods'             => 'POST',
					'permission_callback' => $manager,
					'callback'            => static function ( WP_REST_Request $request ) use ( $order ) {
						$o = $order( $request );
						if ( is_wp_error( $o ) ) {
							return $o;
						}
						$o->update_status( (string) $request['status'], (string) $request['note'], true );
						return array(
							'order_id' => $o->get_id(),
							'status'   => wc_get_order( $o->get_id() )->get_status(),
						);
					},
				)
			);
			register_rest_route(
				'wc-double/v1',
				'/orders/(?P<id>\d+)/refund',
				array(
					'methods'             => 'POST',
					'permission_callback' => $manager,
					'callback'            => static function ( WP_REST_Request $request ) {
						$refund = wc_create_refund(
							array(
								'order_id'   => (int) $request['id'],
								'amount'     => (string) $request['amount'],
								'reason'     => (string) $request['reason'],
								'line_items' => (array) $request['line_items'],
							)
						);
						if ( is_wp_error( $refund ) ) {
							$refund->add_data( array( 'status' => 400 ) );
							return $refund;
						}
						return new WP_REST_Response( array( 'refund_id' => $refund->get_id() ), 201 );
					},
				)
			);
			register_rest_route(
				'wc-double/v1',
				'/run-queue',
				array(
					'methods'             => 'POST',
					'permission_callback' => '__return_true',
					'callback'            => static function () {
						return array( 'ran' => bpm_wc_double_as_run_due( 100 ) );
					},
				)
			);
			register_rest_route(
				'wc-double/v1',
				'/actions',
				array(
					'methods'             => 'GET',
					'permission_callback' => '__return_true',
					'callback'            => static function ( WP_REST_Request $request ) {
						$rows = as_get_scheduled_actions(
							array(
								'hook'     => (string) $request['hook'],
								'per_page' => 0,
							)
						);
						return array_values(
							array_map(
								static function ( $row ) {
									return array(
										'id'           => (int) $row->action_id,
										'hook'         => $row->hook,
										'status'       => $row->status,
										'args'         => json_decode( $row->args, true ),
										'group'        => $row->group_slug,
										'scheduled_at' => $row->scheduled_date_gmt,
										'attempts'     => (int) $row->attempts,
										'last_error'   => $row->last_error,
									);
								},
								$rows
							)
						);
					},
				)
			);
		}
	);
}
