<?php
/**
 * WooCommerce double: the wc/v3 REST routes the sidecar reads and the least-privilege tests probe.
 *
 * Each route has WooCommerce's permission check (wc_rest_check_post_permissions / wc_rest_check_manager_permissions
 * with the same contexts), WooCommerce's error codes and messages, rest_authorization_required_code() (401 when
 * logged out, 403 when logged in), and serialises orders, refunds and notes in the REST v3 shape
 * (WC_REST_Orders_V2_Controller::get_formatted_item_data and friends, reduced to the fields listed in
 * docs/woocommerce-surface.md).
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

/**
 * WooCommerce REST date: 'Y-m-d\TH:i:s' in site time or UTC, or null (wc_rest_prepare_date_response).
 *
 * @param WC_DateTime|null $date Date.
 * @param bool             $utc  UTC.
 * @return string|null
 */
function wc_rest_prepare_date_response( $date, $utc = true ) {
	if ( ! $date instanceof WC_DateTime ) {
		return null;
	}
	$dt = clone $date;
	$dt->setTimezone( $utc ? new DateTimeZone( 'UTC' ) : wp_timezone() );
	return $dt->format( 'Y-m-d\TH:i:s' );
}

/**
 * WooCommerce REST error.
 *
 * @param string $code    Code.
 * @param string $message Message.
 * @param int    $status  HTTP status (default: 401 logged out / 403 logged in).
 * @return WP_Error
 */
function bpm_wc_double_rest_error( $code, $message, $status = 0 ) {
	return new WP_Error( $code, $message, array( 'status' => $status ? $status : rest_authorization_required_code() ) );
}

/**
 * Money string with the request's decimals.
 *
 * @param mixed $value Value.
 * @return string
 */
function bpm_wc_double_money( $value ) {
	return wc_format_decimal( $value, wc_get_price_decimals() );
}

/**
 * Meta data as the REST API lists it.
 *
 * @param WC_Abstract_Order $object Order or refund.
 * @return array[]
 */
function bpm_wc_double_rest_meta( $object ) {
	return array_map(
		static function ( $meta ) {
			return array(
				'id'    => (int) $meta->id,
				'key'   => $meta->key,
				'value' => $meta->value,
			);
		},
		$object->get_meta_data()
	);
}

/**
 * An item's taxes as REST lists them: [{id: rate id, total, subtotal}].
 *
 * @param WC_Order_Item_Product $item Item.
 * @return array[]
 */
function bpm_wc_double_rest_item_taxes( $item ) {
	$taxes = $item->get_taxes();
	$out   = array();
	foreach ( (array) ( $taxes['total'] ?? array() ) as $rate_id => $amount ) {
		$out[] = array(
			'id'       => (int) $rate_id,
			'total'    => bpm_wc_double_money( $amount ),
			'subtotal' => bpm_wc_double_money( $taxes['subtotal'][ $rate_id ] ?? $amount ),
		);
	}
	return $out;
}

/**
 * The order's tax lines (WooCommerce stores them as 'tax' order items; the double derives them from the
 * line taxes and its fixed rate table, with WooCommerce's fields including rate_percent).
 *
 * @param WC_Abstract_Order $order Order.
 * @return array[]
 */
function bpm_wc_double_rest_tax_lines( $order ) {
	$totals = array();
	foreach ( $order->get_items() as $item ) {
		foreach ( (array) ( $item->get_taxes()['total'] ?? array() ) as $rate_id => $amount ) {
			$totals[ (int) $rate_id ] = ( $totals[ (int) $rate_id ] ?? 0 ) + (float) $amount;
		}
	}
	$lines = array();
	foreach ( $totals as $rate_id => $amount ) {
		$percent = BPM_WC_DOUBLE_TAX_RATES[ $rate_id ] ?? null;
		$lines[] = array(
			'id'                 => 900000 + $rate_id,
			'rate_code'          => 'PL-VAT ' . $percent . '%-1',
			'rate_id'            => $rate_id,
			'label'              => 'VAT ' . $percent . '%',
			'compound'           => false,
			'tax_total'          => bpm_wc_double_money( $amount ),
			'shipping_tax_total' => bpm_wc_double_money( 0 ),
			'rate_percent'       => null === $percent ? null : (float) $percent,
			'meta_data'          => array(),
		);
	}
	return $lines;
}

/**
 * Line items in REST shape.
 *
 * @param WC_Abstract_Order $object Order or refund.
 * @return array[]
 */
function bpm_wc_double_rest_line_items( $object ) {
	$items = array();
	foreach ( $object->get_items() as $item_id => $item ) {
		$product = $item->get_product();
		$qty     = $item->get_quantity();
		$items[] = array(
			'id'           => (int) $item_id,
			'name'         => $item->get_name(),
			'product_id'   => $item->get_product_id(),
			'variation_id' => $item->get_variation_id(),
			'quantity'     => $qty,
			'tax_class'    => $item->get_tax_class(),
			'subtotal'     => bpm_wc_double_money( $item->get_subtotal() ),
			'subtotal_tax' => bpm_wc_double_money( $item->get_subtotal_tax() ),
			'total'        => bpm_wc_double_money( $item->get_total() ),
			'total_tax'    => bpm_wc_double_money( $item->get_total_tax() ),
			'taxes'        => bpm_wc_double_rest_item_taxes( $item ),
			'meta_data'    => array_map(
				static function ( $m ) {
					return array(
						'id'            => 0,
						'key'           => $m->key,
						'value'         => $m->value,
						'display_key'   => $m->display_key,
						'display_value' => $m->display_value,
					);
				},
				$item->get_formatted_meta_data( '', true )
			),
			'sku'          => $product ? $product->get_sku() : null,
			'price'        => $qty ? (float) $item->get_total() / $qty : 0,
			'image'        => array(
				'id'  => '',
				'src' => '',
			),
			'parent_name'  => null,
		);
	}
	return $items;
}

/**
 * An order in WooCommerce REST v3 shape.
 *
 * @param WC_Order $order Order.
 * @return array
 */
function bpm_wc_double_rest_order( WC_Order $order ) {
	$address = static function ( $type ) use ( $order ) {
		$out = array();
		foreach ( WC_Order::ADDRESS_FIELDS as $field ) {
			$out[ $field ] = (string) $order->{"get_{$type}_{$field}"}();
		}
		if ( 'billing' === $type ) {
			$out['email'] = (string) $order->get_billing_email();
		}
		return $out;
	};
	$refunds = array();
	foreach ( $order->get_refunds() as $refund ) {
		$refunds[] = array(
			'id'     => $refund->get_id(),
			'reason' => $refund->get_reason() ? $refund->get_reason() : '',
			'total'  => '-' . bpm_wc_double_money( $refund->get_amount() ),
		);
	}
	return array(
		'id'                   => $order->get_id(),
		'parent_id'            => $order->get_parent_id(),
		'status'               => $order->get_status(),
		'currency'             => $order->get_currency(),
		'version'              => (string) $order->get_version(),
		'prices_include_tax'   => wc_string_to_bool( $order->get_prices_include_tax() ),
		'date_created'         => wc_rest_prepare_date_response( $order->get_date_created(), false ),
		'date_created_gmt'     => wc_rest_prepare_date_response( $order->get_date_created() ),
		'date_modified'        => wc_rest_prepare_date_response( $order->get_date_modified(), false ),
		'date_modified_gmt'    => wc_rest_prepare_date_response( $order->get_date_modified() ),
		'discount_total'       => bpm_wc_double_money( $order->get_discount_total() ),
		'discount_tax'         => bpm_wc_double_money( $order->get_discount_tax() ),
		'shipping_total'       => bpm_wc_double_money( $order->get_shipping_total() ),
		'shipping_tax'         => bpm_wc_double_money( $order->get_shipping_tax() ),
		'cart_tax'             => bpm_wc_double_money( $order->get_cart_tax() ),
		'total'                => bpm_wc_double_money( $order->get_total() ),
		'total_tax'            => bpm_wc_double_money( $order->get_total_tax() ),
		'customer_id'          => $order->get_customer_id(),
		'order_key'            => (string) $order->get_order_key(),
		'billing'              => $address( 'billing' ),
		'shipping'             => $address( 'shipping' ),
		'payment_method'       => (string) $order->get_payment_method(),
		'payment_method_title' => (string) $order->get_payment_method_title(),
		'transaction_id'       => (string) $order->get_transaction_id(),
		'customer_ip_address'  => (string) $order->get_customer_ip_address(),
		'customer_user_agent'  => (string) $order->get_customer_user_agent(),
		'created_via'          => (string) $order->get_created_via(),
		'customer_note'        => (string) $order->get_customer_note(),
		'date_completed'       => wc_rest_prepare_date_response( $order->get_date_completed(), false ),
		'date_paid'            => wc_rest_prepare_date_response( $order->get_date_paid(), false ),
		'cart_hash'            => (string) $order->get_cart_hash(),
		'number'               => $order->get_order_number(),
		'meta_data'            => bpm_wc_double_rest_meta( $order ),
		'line_items'           => bpm_wc_double_rest_line_items( $order ),
		'tax_lines'            => bpm_wc_double_rest_tax_lines( $order ),
		'shipping_lines'       => array(),
		'fee_lines'            => array(),
		'coupon_lines'         => array(),
		'refunds'              => $refunds,
		'payment_url'          => home_url( '/checkout/order-pay/' . $order->get_id() . '/?pay_for_order=true&key=' . $order->get_order_key() ),
		'is_editable'          => $order->has_status( array( 'pending', 'on-hold', 'auto-draft' ) ),
		'needs_payment'        => $order->needs_payment(),
		'needs_processing'     => true,
		'date_paid_gmt'        => wc_rest_prepare_date_response( $order->get_date_paid() ),
		'date_completed_gmt'   => wc_rest_prepare_date_response( $order->get_date_completed() ),
		'currency_symbol'      => 'PLN' === $order->get_currency() ? 'zł' : $order->get_currency(),
	);
}

/**
 * A refund in REST v3 shape.
 *
 * @param WC_Order_Refund $refund Refund.
 * @return array
 */
function bpm_wc_double_rest_refund( WC_Order_Refund $refund ) {
	return array(
		'id'               => $refund->get_id(),
		'date_created'     => wc_rest_prepare_date_response( $refund->get_date_created(), false ),
		'date_created_gmt' => wc_rest_prepare_date_response( $refund->get_date_created() ),
		'amount'           => bpm_wc_double_money( $refund->get_amount() ),
		'reason'           => $refund->get_reason(),
		'refunded_by'      => $refund->get_refunded_by(),
		'refunded_payment' => $refund->get_refunded_payment(),
		'meta_data'        => bpm_wc_double_rest_meta( $refund ),
		'line_items'       => bpm_wc_double_rest_line_items( $refund ),
		'shipping_lines'   => array(),
		'tax_lines'        => bpm_wc_double_rest_tax_lines( $refund ),
		'fee_lines'        => array(),
	);
}

/**
 * A note in REST v3 shape.
 *
 * @param object $note Note from wc_get_order_notes().
 * @return array
 */
function bpm_wc_double_rest_note( $note ) {
	return array(
		'id'               => $note->id,
		'author'           => 'system' === $note->added_by ? __( 'WooCommerce', 'woocommerce' ) : $note->added_by,
		'date_created'     => wc_rest_prepare_date_response( $note->date_created, false ),
		'date_created_gmt' => wc_rest_prepare_date_response( $note->date_created ),
		'note'             => $note->content,
		'customer_note'    => $note->customer_note,
	);
}

/**
 * Apply the writable REST fields of an order (status, billing, shipping, meta_data, payment, note, set_paid).
 *
 * @param WC_Order $order   Order.
 * @param array    $params  Request JSON.
 */
function bpm_wc_double_rest_apply_order( WC_Order $order, array $params ) {
	foreach ( array( 'billing', 'shipping' ) as $type ) {
		foreach ( (array) ( $params[ $type ] ?? array() ) as $field => $value ) {
			if ( in_array( $field, WC_Order::ADDRESS_FIELDS, true ) || ( 'billing' === $type && 'email' === $field ) ) {
				$order->{"set_{$type}_{$field}"}( wc_clean( $value ) );
			}
		}
	}
	foreach ( array( 'payment_method', 'payment_method_title', 'transaction_id', 'customer_note', 'currency' ) as $field ) {
		if ( isset( $params[ $field ] ) ) {
			$order->{"set_$field"}( wc_clean( $params[ $field ] ) );
		}
	}
	if ( isset( $params['customer_id'] ) ) {
		$order->set_customer_id( absint( $params['customer_id'] ) );
	}
	foreach ( (array) ( $params['meta_data'] ?? array() ) as $meta ) {
		if ( isset( $meta['key'] ) ) {
			$order->update_meta_data( $meta['key'], $meta['value'] ?? '' );
		}
	}
	foreach ( (array) ( $params['line_items'] ?? array() ) as $line ) {
		$item = new WC_Order_Item_Product();
		$item->set_product_id( absint( $line['product_id'] ?? 0 ) );
		$product = wc_get_product( $item->get_product_id() );
		$qty     = max( 1, (int) ( $line['quantity'] ?? 1 ) );
		$total   = isset( $line['total'] ) ? (float) $line['total'] : ( $product ? (float) $product->get_price() * $qty : 0 );
		$item->set_name( $line['name'] ?? ( $product ? $product->get_name() : 'Item' ) );
		$item->set_quantity( $qty );
		$item->set_subtotal( $line['subtotal'] ?? $total );
		$item->set_total( $total );
		$order->add_item( $item );
		$order->set_total( (float) $order->get_total() + $total );
	}
	if ( isset( $params['status'] ) ) {
		$order->set_status( $params['status'], '', true );
	}
}

add_action(
	'rest_api_init',
	static function () {
		$id_arg = array(
			'id' => array(
				'description' => __( 'Unique identifier for the resource.', 'woocommerce' ),
				'type'        => 'integer',
			),
		);
		$order  = static function ( WP_REST_Request $request ) {
			$order = wc_get_order( (int) $request['id'] );
			return $order instanceof WC_Order ? $order : null;
		};

		register_rest_route(
			'wc/v3',
			'/orders',
			array(
				array(
					'methods'             => WP_REST_Server::READABLE,
					'permission_callback' => static function () {
						return wc_rest_check_post_permissions( 'shop_order', 'read' ) ? true : bpm_wc_double_rest_error( 'woocommerce_rest_cannot_view', __( 'Sorry, you cannot list resources.', 'woocommerce' ) );
					},
					'callback'            => static function ( WP_REST_Request $request ) {
						$args = array(
							'limit' => max( 1, min( 100, (int) ( $request['per_page'] ? $request['per_page'] : 10 ) ) ),
							'page'  => max( 1, (int) ( $request['page'] ? $request['page'] : 1 ) ),
						);
						if ( $request['status'] && 'any' !== $request['status'] ) {
							$args['status'] = (array) $request['status'];
						}
						return rest_ensure_response( array_map( 'bpm_wc_double_rest_order', wc_get_orders( $args ) ) );
					},
				),
				array(
					'methods'             => WP_REST_Server::CREATABLE,
					'permission_callback' => static function () {
						return wc_rest_check_post_permissions( 'shop_order', 'create' ) ? true : bpm_wc_double_rest_error( 'woocommerce_rest_cannot_create', __( 'Sorry, you are not allowed to create resources.', 'woocommerce' ) );
					},
					'callback'            => static function ( WP_REST_Request $request ) {
						$params = (array) $request->get_json_params();
						$order  = wc_create_order( array( 'created_via' => 'rest-api' ) );
						bpm_wc_double_rest_apply_order( $order, $params );
						$order->save();
						if ( ! empty( $params['set_paid'] ) ) {
							$order->payment_complete( $order->get_transaction_id() );
						}
						$response = rest_ensure_response( bpm_wc_double_rest_order( wc_get_order( $order->get_id() ) ) );
						$response->set_status( 201 );
						return $response;
					},
				),
			)
		);

		register_rest_route(
			'wc/v3',
			'/orders/(?P<id>[\d]+)',
			array(
				'args' => $id_arg,
				array(
					'methods'             => WP_REST_Server::READABLE,
					'permission_callback' => static function ( WP_REST_Request $request ) use ( $order ) {
						$object = $order( $request );
						if ( ! wc_rest_check_post_permissions( 'shop_order', 'read', $object ? $object->get_id() : 0 ) ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_cannot_view', __( 'Sorry, you cannot view this resource.', 'woocommerce' ) );
						}
						return true;
					},
					'callback'            => static function ( WP_REST_Request $request ) use ( $order ) {
						$object = $order( $request );
						if ( ! $object ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_shop_order_invalid_id', __( 'Invalid ID.', 'woocommerce' ), 404 );
						}
						return rest_ensure_response( bpm_wc_double_rest_order( $object ) );
					},
				),
				array(
					'methods'             => WP_REST_Server::EDITABLE,
					'permission_callback' => static function ( WP_REST_Request $request ) use ( $order ) {
						$object = $order( $request );
						if ( ( ! $object && ! wc_rest_check_post_permissions( 'shop_order', 'read' ) ) || ( $object && ! wc_rest_check_post_permissions( 'shop_order', 'edit', $object->get_id() ) ) ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_cannot_edit', __( 'Sorry, you are not allowed to edit this resource.', 'woocommerce' ) );
						}
						return true;
					},
					'callback'            => static function ( WP_REST_Request $request ) use ( $order ) {
						$object = $order( $request );
						if ( ! $object ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_shop_order_invalid_id', __( 'Invalid ID.', 'woocommerce' ), 400 );
						}
						$params = (array) $request->get_json_params();
						bpm_wc_double_rest_apply_order( $object, $params );
						$object->save();
						if ( ! empty( $params['set_paid'] ) ) {
							$object->payment_complete( $object->get_transaction_id() );
						}
						return rest_ensure_response( bpm_wc_double_rest_order( wc_get_order( $object->get_id() ) ) );
					},
				),
				array(
					'methods'             => WP_REST_Server::DELETABLE,
					'permission_callback' => static function ( WP_REST_Request $request ) use ( $order ) {
						$object = $order( $request );
						if ( $object && ! wc_rest_check_post_permissions( 'shop_order', 'delete', $object->get_id() ) ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_cannot_delete', __( 'Sorry, you are not allowed to delete this resource.', 'woocommerce' ) );
						}
						return true;
					},
					'callback'            => static function ( WP_REST_Request $request ) use ( $order ) {
						$object = $order( $request );
						if ( ! $object ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_shop_order_invalid_id', __( 'Invalid ID.', 'woocommerce' ), 404 );
						}
						$data = bpm_wc_double_rest_order( $object );
						$object->delete( (bool) $request['force'] );
						return rest_ensure_response( $data );
					},
				),
			)
		);

		register_rest_route(
			'wc/v3',
			'/orders/(?P<order_id>[\d]+)/notes',
			array(
				array(
					'methods'             => WP_REST_Server::READABLE,
					'permission_callback' => static function () {
						return wc_rest_check_post_permissions( 'shop_order', 'read' ) ? true : bpm_wc_double_rest_error( 'woocommerce_rest_cannot_view', __( 'Sorry, you cannot list resources.', 'woocommerce' ) );
					},
					'callback'            => static function ( WP_REST_Request $request ) {
						$object = wc_get_order( (int) $request['order_id'] );
						if ( ! $object instanceof WC_Order ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_order_invalid_id', __( 'Invalid order ID.', 'woocommerce' ), 404 );
						}
						return rest_ensure_response( array_map( 'bpm_wc_double_rest_note', wc_get_order_notes( array( 'order_id' => $object->get_id() ) ) ) );
					},
				),
				array(
					'methods'             => WP_REST_Server::CREATABLE,
					'permission_callback' => static function () {
						return wc_rest_check_post_permissions( 'shop_order', 'create' ) ? true : bpm_wc_double_rest_error( 'woocommerce_rest_cannot_create', __( 'Sorry, you are not allowed to create resources.', 'woocommerce' ) );
					},
					'callback'            => static function ( WP_REST_Request $request ) {
						$object = wc_get_order( (int) $request['order_id'] );
						if ( ! $object instanceof WC_Order ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_order_invalid_id', __( 'Invalid order ID.', 'woocommerce' ), 404 );
						}
						if ( empty( $request['note'] ) ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_shop_order_invalid_id', __( 'Cannot create order note, please try again.', 'woocommerce' ), 500 );
						}
						$note_id  = $object->add_order_note( $request['note'], ! empty( $request['customer_note'] ), (bool) $request['added_by_user'] );
						$notes    = wc_get_order_notes( array( 'order_id' => $object->get_id() ) );
						$note     = current(
							array_filter(
								$notes,
								static function ( $n ) use ( $note_id ) {
									return $n->id === $note_id;
								}
							)
						);
						$response = rest_ensure_response( bpm_wc_double_rest_note( $note ) );
						$response->set_status( 201 );
						return $response;
					},
				),
			)
		);

		register_rest_route(
			'wc/v3',
			'/orders/(?P<order_id>[\d]+)/refunds/(?P<id>[\d]+)',
			array(
				array(
					'methods'             => WP_REST_Server::READABLE,
					'permission_callback' => static function ( WP_REST_Request $request ) {
						if ( ! wc_rest_check_post_permissions( 'shop_order_refund', 'read', (int) $request['id'] ) ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_cannot_view', __( 'Sorry, you cannot view this resource.', 'woocommerce' ) );
						}
						return true;
					},
					'callback'            => static function ( WP_REST_Request $request ) {
						$refund = wc_get_order( (int) $request['id'] );
						if ( ! $refund instanceof WC_Order_Refund || $refund->get_parent_id() !== (int) $request['order_id'] ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_shop_order_refund_invalid_id', __( 'Invalid ID.', 'woocommerce' ), 404 );
						}
						return rest_ensure_response( bpm_wc_double_rest_refund( $refund ) );
					},
				),
			)
		);

		$product = static function ( WP_REST_Request $request ) {
			return wc_get_product( (int) $request['id'] );
		};
		$product_data = static function ( WC_Product $p ) {
			return array(
				'id'            => $p->get_id(),
				'name'          => $p->get_name(),
				'sku'           => $p->get_sku(),
				'price'         => $p->get_price(),
				'regular_price' => $p->get_regular_price(),
				'status'        => $p->get_status(),
			);
		};
		register_rest_route(
			'wc/v3',
			'/products/(?P<id>[\d]+)',
			array(
				'args' => $id_arg,
				array(
					'methods'             => WP_REST_Server::READABLE,
					'permission_callback' => static function ( WP_REST_Request $request ) use ( $product ) {
						$object = $product( $request );
						if ( $object && ! wc_rest_check_post_permissions( 'product', 'read', $object->get_id() ) ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_cannot_view', __( 'Sorry, you cannot view this resource.', 'woocommerce' ) );
						}
						return true;
					},
					'callback'            => static function ( WP_REST_Request $request ) use ( $product, $product_data ) {
						$object = $product( $request );
						return $object ? rest_ensure_response( $product_data( $object ) ) : bpm_wc_double_rest_error( 'woocommerce_rest_product_invalid_id', __( 'Invalid ID.', 'woocommerce' ), 404 );
					},
				),
				array(
					'methods'             => WP_REST_Server::EDITABLE,
					'permission_callback' => static function ( WP_REST_Request $request ) use ( $product ) {
						$object = $product( $request );
						if ( $object && ! wc_rest_check_post_permissions( 'product', 'edit', $object->get_id() ) ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_cannot_edit', __( 'Sorry, you are not allowed to edit this resource.', 'woocommerce' ) );
						}
						return true;
					},
					'callback'            => static function ( WP_REST_Request $request ) use ( $product, $product_data ) {
						$object = $product( $request );
						if ( ! $object ) {
							return bpm_wc_double_rest_error( 'woocommerce_rest_product_invalid_id', __( 'Invalid ID.', 'woocommerce' ), 400 );
						}
						if ( isset( $request['name'] ) ) {
							wp_update_post(
								array(
									'ID'         => $object->get_id(),
									'post_title' => sanitize_text_field( $request['name'] ),
								)
							);
						}
						if ( isset( $request['regular_price'] ) ) {
							update_post_meta( $object->get_id(), '_regular_price', wc_format_decimal( $request['regular_price'] ) );
							update_post_meta( $object->get_id(), '_price', wc_format_decimal( $request['regular_price'] ) );
						}
						if ( isset( $request['sku'] ) ) {
							update_post_meta( $object->get_id(), '_sku', wc_clean( $request['sku'] ) );
						}
						return rest_ensure_response( $product_data( $object ) );
					},
				),
			)
		);

		// Settings: one group ('general') holding the options of the double's General tab.
		$settings_group = static function () {
			$page = new BPM_WC_Double_Settings_General();
			$out  = array();
			foreach ( $page->get_settings_for_section( '' ) as $field ) {
				if ( in_array( $field['type'], array( 'title', 'sectionend' ), true ) ) {
					continue;
				}
				$out[ $field['id'] ] = array(
					'id'          => $field['id'],
					'label'       => $field['title'],
					'description' => $field['desc'] ?? '',
					'type'        => $field['type'],
					'default'     => $field['default'] ?? '',
					'options'     => $field['options'] ?? array(),
					'tip'         => '',
					'value'       => WC_Admin_Settings::get_option( $field['id'], $field['default'] ?? '' ),
				);
			}
			return $out;
		};
		$can_read     = static function () {
			return wc_rest_check_manager_permissions( 'settings', 'read' ) ? true : bpm_wc_double_rest_error( 'woocommerce_rest_cannot_view', __( 'Sorry, you cannot list resources.', 'woocommerce' ) );
		};
		$can_edit     = static function () {
			return wc_rest_check_manager_permissions( 'settings', 'edit' ) ? true : bpm_wc_double_rest_error( 'woocommerce_rest_cannot_edit', __( 'Sorry, you cannot edit this resource.', 'woocommerce' ) );
		};
		register_rest_route(
			'wc/v3',
			'/settings',
			array(
				'methods'             => WP_REST_Server::READABLE,
				'permission_callback' => $can_read,
				'callback'            => static function () {
					return rest_ensure_response(
						array(
							array(
								'id'          => 'general',
								'label'       => __( 'General', 'woocommerce' ),
								'description' => '',
								'parent_id'   => '',
								'sub_groups'  => array(),
							),
						)
					);
				},
			)
		);
		register_rest_route(
			'wc/v3',
			'/settings/(?P<group_id>[\w-]+)',
			array(
				'methods'             => WP_REST_Server::READABLE,
				'permission_callback' => $can_read,
				'callback'            => static function ( WP_REST_Request $request ) use ( $settings_group ) {
					if ( 'general' !== $request['group_id'] ) {
						return bpm_wc_double_rest_error( 'rest_setting_setting_group_invalid', __( 'Invalid setting group.', 'woocommerce' ), 404 );
					}
					return rest_ensure_response( array_values( $settings_group() ) );
				},
			)
		);
		register_rest_route(
			'wc/v3',
			'/settings/(?P<group_id>[\w-]+)/(?P<id>[\w-]+)',
			array(
				array(
					'methods'             => WP_REST_Server::READABLE,
					'permission_callback' => $can_read,
					'callback'            => static function ( WP_REST_Request $request ) use ( $settings_group ) {
						$all = $settings_group();
						return isset( $all[ $request['id'] ] ) ? rest_ensure_response( $all[ $request['id'] ] ) : bpm_wc_double_rest_error( 'rest_setting_setting_invalid', __( 'Invalid setting.', 'woocommerce' ), 404 );
					},
				),
				array(
					'methods'             => WP_REST_Server::EDITABLE,
					'permission_callback' => $can_edit,
					'callback'            => static function ( WP_REST_Request $request ) use ( $settings_group ) {
						$all = $settings_group();
						if ( ! isset( $all[ $request['id'] ] ) ) {
							return bpm_wc_double_rest_error( 'rest_setting_setting_invalid', __( 'Invalid setting.', 'woocommerce' ), 404 );
						}
						$setting = $all[ $request['id'] ];
						if ( 'select' === $setting['type'] && ! array_key_exists( (string) $request['value'], $setting['options'] ) ) {
							return bpm_wc_double_rest_error( 'rest_setting_value_invalid', __( 'An invalid setting value was passed.', 'woocommerce' ), 400 );
						}
						update_option( $setting['id'], wc_clean( $request['value'] ) );
						$all = $settings_group();
						return rest_ensure_response( $all[ $request['id'] ] );
					},
				),
			)
		);
	}
);
