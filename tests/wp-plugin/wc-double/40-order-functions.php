<?php
/**
 * WooCommerce double: order functions (wc-order-functions.php, wc-order-note-functions.php in WooCommerce).
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

/**
 * An order or refund object, or false (wc_get_order).
 *
 * @param mixed $the_order Post id, WP_Post, order object, or false for the global post.
 * @return WC_Order|WC_Order_Refund|false
 */
function wc_get_order( $the_order = false ) {
	if ( false === $the_order ) {
		global $post;
		$the_order = $post;
	}
	if ( $the_order instanceof WC_Abstract_Order ) {
		$the_order = $the_order->get_id();
	} elseif ( $the_order instanceof WP_Post ) {
		$the_order = $the_order->ID;
	}
	if ( ! is_numeric( $the_order ) || (int) $the_order <= 0 ) {
		return false;
	}
	$type = get_post_type( (int) $the_order );
	try {
		if ( 'shop_order' === $type ) {
			return new WC_Order( (int) $the_order );
		}
		if ( 'shop_order_refund' === $type ) {
			return new WC_Order_Refund( (int) $the_order );
		}
	} catch ( Exception $e ) {
		return false;
	}
	return false;
}

/**
 * Query orders (wc_get_orders, the subset of WC_Order_Query arguments the plugin uses).
 *
 * Supported: status (slug(s), with or without 'wc-'), type, limit (-1 = all), page, offset, orderby, order,
 * return ('objects'|'ids'), parent, customer_id, billing_email, payment_method, meta_key/meta_value/meta_compare,
 * meta_query, date_created ('>TIMESTAMP'/'<TIMESTAMP'), paginate. Anything else is reported as doing it wrong,
 * so a test notices a query the double does not honour.
 *
 * @param array $args Query arguments.
 * @return array|object
 */
function wc_get_orders( $args ) {
	$known = array( 'status', 'type', 'limit', 'page', 'offset', 'orderby', 'order', 'return', 'parent', 'customer_id', 'customer', 'billing_email', 'payment_method', 'meta_key', 'meta_value', 'meta_compare', 'meta_query', 'date_created', 'paginate', 'include', 'exclude' );
	foreach ( array_keys( $args ) as $key ) {
		if ( ! in_array( $key, $known, true ) ) {
			wc_doing_it_wrong( __FUNCTION__, "wc_get_orders() argument '$key' is not supported by the WooCommerce double.", '8.2' );
		}
	}
	$args  = wp_parse_args(
		$args,
		array(
			'status'   => array_keys( wc_get_order_statuses() ),
			'type'     => 'shop_order',
			'limit'    => get_option( 'posts_per_page' ),
			'page'     => 1,
			'orderby'  => 'date',
			'order'    => 'DESC',
			'return'   => 'objects',
			'paginate' => false,
		)
	);
	$query = array(
		'post_type'      => $args['type'],
		'post_status'    => array_map(
			static function ( $s ) {
				return ( 'wc-' === substr( $s, 0, 3 ) || ! wc_is_order_status( 'wc-' . $s ) ) ? $s : 'wc-' . $s;
			},
			(array) $args['status']
		),
		'posts_per_page' => (int) $args['limit'],
		'paged'          => (int) $args['page'],
		'orderby'        => 'id' === $args['orderby'] ? 'ID' : $args['orderby'],
		'order'          => $args['order'],
		'fields'         => 'ids',
		'meta_query'     => isset( $args['meta_query'] ) ? $args['meta_query'] : array(), // phpcs:ignore WordPress.DB.SlowDBQuery
		'no_found_rows'  => ! $args['paginate'],
	);
	if ( isset( $args['offset'] ) ) {
		$query['offset'] = (int) $args['offset'];
	}
	if ( isset( $args['parent'] ) ) {
		$query['post_parent'] = (int) $args['parent'];
	}
	if ( isset( $args['include'] ) ) {
		$query['post__in'] = array_map( 'intval', (array) $args['include'] );
	}
	if ( isset( $args['exclude'] ) ) {
		$query['post__not_in'] = array_map( 'intval', (array) $args['exclude'] );
	}
	foreach ( array( 'customer_id' => '_customer_user', 'billing_email' => '_billing_email', 'payment_method' => '_payment_method' ) as $arg => $key ) {
		if ( isset( $args[ $arg ] ) ) {
			$query['meta_query'][] = array(
				'key'   => $key,
				'value' => $args[ $arg ],
			);
		}
	}
	if ( isset( $args['customer'] ) ) {
		$query['meta_query'][] = array(
			'key'   => is_numeric( $args['customer'] ) ? '_customer_user' : '_billing_email',
			'value' => $args['customer'],
		);
	}
	if ( isset( $args['meta_key'] ) ) {
		$clause = array( 'key' => $args['meta_key'] );
		if ( isset( $args['meta_value'] ) ) {
			$clause['value'] = $args['meta_value'];
		}
		if ( isset( $args['meta_compare'] ) ) {
			$clause['compare'] = $args['meta_compare'];
		}
		$query['meta_query'][] = $clause;
	}
	if ( isset( $args['date_created'] ) && preg_match( '/^([<>]=?)(\d+)$/', (string) $args['date_created'], $m ) ) {
		$query['date_query'] = array(
			array(
				'column'                                   => 'post_date_gmt',
				( '>' === $m[1][0] ? 'after' : 'before' ) => gmdate( 'Y-m-d H:i:s', (int) $m[2] ),
				'inclusive'                                => strlen( $m[1] ) > 1,
			),
		);
	}
	$wp_query = new WP_Query( $query );
	$ids      = array_map( 'intval', $wp_query->posts );
	$results  = 'ids' === $args['return'] ? $ids : array_values( array_filter( array_map( 'wc_get_order', $ids ) ) );
	if ( $args['paginate'] ) {
		return (object) array(
			'orders'        => $results,
			'total'         => (int) $wp_query->found_posts,
			'max_num_pages' => (int) $wp_query->max_num_pages,
		);
	}
	return $results;
}

/**
 * Create an order (wc_create_order).
 *
 * @param array $args Arguments: status, customer_id, customer_note, parent, created_via, cart_hash, order_id.
 * @return WC_Order|WP_Error
 */
function wc_create_order( $args = array() ) {
	$args  = wp_parse_args(
		$args,
		array(
			'status'        => null,
			'customer_id'   => null,
			'customer_note' => null,
			'parent'        => null,
			'created_via'   => null,
			'cart_hash'     => null,
			'order_id'      => 0,
		)
	);
	$order = new WC_Order( $args['order_id'] );
	if ( ! $args['order_id'] ) {
		$order->set_order_key( 'wc_order_' . wp_generate_password( 13, false ) );
	}
	foreach ( array( 'customer_id', 'customer_note', 'created_via', 'cart_hash' ) as $field ) {
		if ( null !== $args[ $field ] ) {
			$order->{"set_$field"}( $args[ $field ] );
		}
	}
	if ( null !== $args['parent'] ) {
		$order->set_parent_id( absint( $args['parent'] ) );
	}
	if ( null !== $args['status'] ) {
		$order->set_status( $args['status'] );
	}
	$order->save();
	return $order;
}

/**
 * Create a refund (wc_create_refund; the payment gateway is never called by the double).
 *
 * @param array $args Arguments: amount, reason, order_id, refund_id, line_items, refund_payment, restock_items.
 * @return WC_Order_Refund|WP_Error
 */
function wc_create_refund( $args = array() ) {
	$args  = wp_parse_args(
		$args,
		array(
			'amount'         => 0,
			'reason'         => null,
			'order_id'       => 0,
			'refund_id'      => 0,
			'line_items'     => array(),
			'refund_payment' => false,
			'restock_items'  => false,
		)
	);
	$order = wc_get_order( $args['order_id'] );
	if ( ! $order instanceof WC_Order ) {
		return new WP_Error( 'error', __( 'Invalid order ID.', 'woocommerce' ) );
	}
	$remaining = (float) $order->get_remaining_refund_amount();
	if ( 0 > $args['amount'] || (float) $args['amount'] > $remaining + 0.00001 ) {
		return new WP_Error( 'error', __( 'Invalid refund amount.', 'woocommerce' ) );
	}
	$refund = new WC_Order_Refund( $args['refund_id'] );
	$refund->set_currency( $order->get_currency() );
	$refund->set_amount( wc_format_decimal( $args['amount'], wc_get_price_decimals() ) );
	$refund->set_parent_id( absint( $args['order_id'] ) );
	$refund->set_refunded_by( get_current_user_id() ? get_current_user_id() : 1 );
	$refund->set_total( -1 * (float) $args['amount'] );
	if ( null !== $args['reason'] ) {
		$refund->set_reason( $args['reason'] );
	}
	foreach ( $args['line_items'] as $refunded_item_id => $item ) {
		$original = new WC_Order_Item_Product( (int) $refunded_item_id );
		if ( ! $original->get_id() || $original->get_order_id() !== $order->get_id() ) {
			continue;
		}
		$line = new WC_Order_Item_Product();
		$line->set_name( $original->get_name() );
		$line->set_product_id( $original->get_product_id() );
		$line->set_variation_id( $original->get_variation_id() );
		$line->set_quantity( -1 * absint( $item['qty'] ?? 0 ) );
		$line->set_total( -1 * (float) ( $item['refund_total'] ?? 0 ) );
		$line->set_subtotal( -1 * (float) ( $item['refund_total'] ?? 0 ) );
		$line->set_taxes(
			array(
				'total' => array_map(
					static function ( $tax ) {
						return -1 * (float) $tax;
					},
					(array) ( $item['refund_tax'] ?? array() )
				),
			)
		);
		$line->update_meta_data( '_refunded_item_id', $original->get_id() );
		$refund->add_item( $line );
	}
	$refund->set_refunded_payment( false );
	do_action( 'woocommerce_create_refund', $refund, $args );
	$refund->save();
	if ( $remaining - (float) $args['amount'] > 0 ) {
		do_action( 'woocommerce_order_partially_refunded', $order->get_id(), $refund->get_id() );
	} else {
		do_action( 'woocommerce_order_fully_refunded', $order->get_id(), $refund->get_id() );
		$parent_status = apply_filters( 'woocommerce_order_fully_refunded_status', 'refunded', $order->get_id(), $refund->get_id() );
		if ( $parent_status ) {
			$order->update_status( $parent_status );
		}
	}
	do_action( 'woocommerce_refund_created', $refund->get_id(), $args );
	do_action( 'woocommerce_order_refunded', $order->get_id(), $refund->get_id() );
	return $refund;
}

/**
 * Order notes (wc_get_order_notes; args order_id, type 'customer'|'internal', orderby, order).
 *
 * @param array $args Arguments.
 * @return object[] Notes {id, content, customer_note, added_by, date_created}.
 */
function wc_get_order_notes( $args ) {
	$query = array(
		'post_id' => absint( $args['order_id'] ?? 0 ),
		'type'    => 'order_note',
		'orderby' => 'comment_ID',
		'order'   => $args['order'] ?? 'DESC',
		'status'  => 'approve',
	);
	$notes = array();
	foreach ( get_comments( $query ) as $comment ) {
		$customer = (bool) get_comment_meta( $comment->comment_ID, 'is_customer_note', true );
		if ( isset( $args['type'] ) && ( ( 'customer' === $args['type'] ) !== $customer ) ) {
			continue;
		}
		$notes[] = (object) array(
			'id'            => (int) $comment->comment_ID,
			'date_created'  => bpm_wc_double_datetime( strtotime( $comment->comment_date_gmt . ' UTC' ) ),
			'content'       => $comment->comment_content,
			'customer_note' => $customer,
			'added_by'      => __( 'WooCommerce', 'woocommerce' ) === $comment->comment_author ? 'system' : $comment->comment_author,
			'order_id'      => (int) $comment->comment_post_ID,
		);
	}
	return $notes;
}
