<?php
/**
 * The "BPM Bridge" box on the order screen.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Capabilities;
use BPM_Bridge\Contract;

defined( 'ABSPATH' ) || exit;

/**
 * Shows what BPM Bridge did for an order: invoice, KSeF, CRM, return state and the order's events.
 */
final class Order_Box {

	/**
	 * Hooks the box in.
	 */
	public static function register(): void {
		add_action( 'add_meta_boxes', array( __CLASS__, 'add' ) );
	}

	/**
	 * Screen ids of the order edit screen: 'shop_order' with posts storage, and WooCommerce's own page
	 * (woocommerce_page_wc-orders) with HPOS; wc_get_page_screen_id() names the one in use.
	 *
	 * @return string[]
	 */
	public static function screen_ids(): array {
		$ids = array( 'shop_order' );
		if ( function_exists( 'wc_get_page_screen_id' ) ) {
			$ids[] = (string) wc_get_page_screen_id( 'shop-order' );
		}
		return array_values( array_unique( array_filter( $ids ) ) );
	}

	/**
	 * Registers the box on both order screens; users who manage WooCommerce (Shop Managers too) see it.
	 */
	public static function add(): void {
		if ( ! current_user_can( Capabilities::OPERATE ) ) {
			return;
		}
		foreach ( self::screen_ids() as $screen ) {
			add_meta_box( 'bpm-bridge-order', __( 'BPM Bridge', 'bpm-bridge' ), array( __CLASS__, 'render' ), $screen, 'side', 'default' );
		}
	}

	/**
	 * Prints the box.
	 *
	 * @param \WP_Post|\WC_Order|object $post_or_order The post (posts storage) or the order (HPOS).
	 */
	public static function render( $post_or_order ): void {
		$order = null;
		if ( is_object( $post_or_order ) && method_exists( $post_or_order, 'get_meta' ) ) {
			$order = $post_or_order;
		} elseif ( $post_or_order instanceof \WP_Post && function_exists( 'wc_get_order' ) ) {
			$order = wc_get_order( $post_or_order->ID );
		}
		if ( ! $order ) {
			echo '<p>' . esc_html__( 'This order could not be loaded.', 'bpm-bridge' ) . '</p>';
			return;
		}
		$meta = array();
		foreach ( Contract::meta_keys() as $key ) {
			$meta[ $key ] = (string) $order->get_meta( $key, true );
		}
		$corrections = json_decode( $meta['_bpm_corrections'], true );
		Views::template(
			'admin/order-box.php',
			array(
				'meta'        => $meta,
				'corrections' => is_array( $corrections ) ? $corrections : array(),
				'events'      => Runtime::order_events( (int) $order->get_id() ),
				'returns'     => class_exists( '\\BPM_Bridge\\Rma' ) ? \BPM_Bridge\Rma::query( array( 'order_id' => (int) $order->get_id() ) )['items'] : array(),
				// The consent in force for the buyer (the CRM gets marketing data only with it).
				'consent'     => class_exists( \BPM_Bridge\Crm\Consent::class ) ? \BPM_Bridge\Crm\Consent::for_rest( $order ) : null,
				'withdraw'    => class_exists( \BPM_Bridge\Crm\Withdrawal::class ) ? \BPM_Bridge\Crm\Withdrawal::admin_url( $order ) : '',
			)
		);
	}
}
