<?php
/**
 * WooCommerce and WordPress hooks → outbox events (docs/contract.md §2).
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Every handler does at most one outbox INSERT (plus a cheap de-duplication read): no network, no order
 * data beyond ids and facts, so checkout is never slowed or broken by the sidecar.
 */
final class Order_Events {

	/**
	 * Where version 1 remembered an order's paid event; still read, never written (see order_paid()).
	 */
	const PAID_META = '_bpm_paid_event';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_action( 'woocommerce_new_order', array( self::class, 'on_new_order' ), 20, 2 );
		add_action( 'woocommerce_checkout_order_processed', array( self::class, 'on_checkout_processed' ), 20, 3 );
		add_action( 'woocommerce_store_api_checkout_order_processed', array( self::class, 'on_store_api_checkout' ), 20, 1 );
		add_action( 'woocommerce_order_status_changed', array( self::class, 'on_status_changed' ), 20, 4 );
		add_action( 'woocommerce_payment_complete', array( self::class, 'on_payment_complete' ), 20, 2 );
		add_action( 'woocommerce_order_refunded', array( self::class, 'on_refunded' ), 20, 2 );
		add_filter( 'wp_privacy_personal_data_erasers', array( self::class, 'register_eraser' ) );
	}

	/**
	 * `woocommerce_new_order( $order_id, $order )`. Fires inside the data store before items are saved,
	 * which is fine: the event carries the id only and the worker reads the order later.
	 *
	 * @param int        $order_id Order id.
	 * @param mixed|null $order    Order object.
	 */
	public static function on_new_order( $order_id, $order = null ): void {
		self::order_created( (int) $order_id, is_object( $order ) && is_callable( array( $order, 'get_status' ) ) ? (string) $order->get_status() : '' );
	}

	/**
	 * `woocommerce_checkout_order_processed( $order_id, $posted_data, $order )` (classic checkout).
	 *
	 * @param int        $order_id    Order id.
	 * @param array      $posted_data Checkout data (unused: no personal data in events).
	 * @param mixed|null $order       Order.
	 */
	public static function on_checkout_processed( $order_id, $posted_data = array(), $order = null ): void {
		self::on_new_order( $order_id, $order );
	}

	/**
	 * `woocommerce_store_api_checkout_order_processed( $order )` (block checkout).
	 *
	 * @param mixed $order Order.
	 */
	public static function on_store_api_checkout( $order ): void {
		if ( is_object( $order ) && is_callable( array( $order, 'get_id' ) ) ) {
			self::on_new_order( $order->get_id(), $order );
		}
	}

	/**
	 * Several hooks announce the same new order; one event per order.
	 *
	 * @param int    $order_id Order id.
	 * @param string $status   Status slug.
	 */
	private static function order_created( int $order_id, string $status ): void {
		if ( $order_id <= 0 || Outbox::has_event( 'order.created', $order_id ) ) {
			return;
		}
		$data = array( 'order_id' => $order_id );
		if ( '' !== $status ) {
			$data['status'] = self::slug( $status );
		}
		Outbox::add( 'order.created', $data );
	}

	/**
	 * `woocommerce_order_status_changed( $order_id, $from, $to, $order )`.
	 *
	 * @param int        $order_id Order id.
	 * @param string     $from     Old status.
	 * @param string     $to       New status.
	 * @param mixed|null $order    Order.
	 */
	public static function on_status_changed( $order_id, $from, $to, $order = null ): void {
		$order_id = (int) $order_id;
		$from     = self::slug( (string) $from );
		$to       = self::slug( (string) $to );
		if ( $order_id <= 0 || $from === $to ) {
			return;
		}
		Outbox::add(
			'order.status_changed',
			array(
				'order_id' => $order_id,
				'from'     => $from,
				'to'       => $to,
			)
		);
		if ( 'cancelled' === $to ) {
			Outbox::add(
				'order.cancelled',
				array(
					'order_id' => $order_id,
					'from'     => $from,
				)
			);
		}
		$paid = function_exists( 'wc_get_is_paid_statuses' ) ? wc_get_is_paid_statuses() : array( 'processing', 'completed' );
		if ( in_array( $to, $paid, true ) && ! in_array( $from, $paid, true ) ) {
			self::order_paid( $order_id, $order, $from, $to );
		}
	}

	/**
	 * `woocommerce_payment_complete( $order_id, $transaction_id )`: fires after the status hooks, so it
	 * only adds an event for gateways that complete payment without a paid status change.
	 *
	 * @param int    $order_id       Order id.
	 * @param string $transaction_id Transaction id (unused).
	 */
	public static function on_payment_complete( $order_id, $transaction_id = '' ): void {
		self::order_paid( (int) $order_id, null, '', '' );
	}

	/**
	 * One order.paid per order. The outbox row itself is the memory: writing a marker into order meta cost a
	 * second full order save inside WooCommerce's own (4–18 ms of the paying request, measured in
	 * bench/bench_overhead.py). Version 1's meta marker is still honoured for orders paid before.
	 *
	 * @param int        $order_id Order id.
	 * @param mixed|null $order    Order, when the hook passed it.
	 * @param string     $from     Old status or ''.
	 * @param string     $to       New status or ''.
	 */
	private static function order_paid( int $order_id, $order, string $from, string $to ): void {
		if ( ! is_object( $order ) && function_exists( 'wc_get_order' ) ) {
			$order = wc_get_order( $order_id );
		}
		if ( ! is_object( $order ) || '' !== (string) $order->get_meta( self::PAID_META ) || Outbox::has_event( 'order.paid', $order_id ) ) {
			return;
		}
		$data = array( 'order_id' => $order_id );
		if ( '' !== $from ) {
			$data['from'] = $from;
		}
		if ( '' !== $to ) {
			$data['to'] = $to;
		}
		$method = is_callable( array( $order, 'get_payment_method' ) ) ? (string) $order->get_payment_method() : '';
		if ( '' !== $method ) {
			$data['payment_method'] = $method;
		}
		Outbox::add( 'order.paid', $data );
	}

	/**
	 * `woocommerce_order_refunded( $order_id, $refund_id )`. The event carries the refund's amount as
	 * WooCommerce CRUD knows it (`WC_Order_Refund::get_amount()`, the shop's price decimals, as the plugin's
	 * order read route gives it): the sidecar cross-checks the two and never relies on the wc/v3 refund
	 * alone, which WooCommerce 7.8 with HPOS answers as 0.00.
	 *
	 * @param int $order_id  Order id.
	 * @param int $refund_id Refund id.
	 */
	public static function on_refunded( $order_id, $refund_id ): void {
		$data   = array(
			'order_id'  => (int) $order_id,
			'refund_id' => (int) $refund_id,
		);
		$amount = self::refund_amount( (int) $order_id, (int) $refund_id );
		if ( null !== $amount ) {
			// Without it the sidecar refuses the event (a required key): the Events screen then shows why.
			$data['amount'] = $amount;
		}
		Outbox::add( 'order.refunded', $data );
	}

	/**
	 * A refund's amount through CRUD, as a decimal string, or null when WooCommerce cannot load it.
	 *
	 * @param int $order_id  Order id.
	 * @param int $refund_id Refund id.
	 */
	private static function refund_amount( int $order_id, int $refund_id ): ?string {
		if ( ! function_exists( 'wc_get_order' ) ) {
			return null;
		}
		$refund = wc_get_order( $refund_id );
		if ( ! is_object( $refund ) || ! is_callable( array( $refund, 'get_amount' ) ) ) {
			// Some stores cannot load a refund on its own id; its order lists it.
			$order  = wc_get_order( $order_id );
			$refund = null;
			foreach ( ( is_object( $order ) && is_callable( array( $order, 'get_refunds' ) ) ) ? (array) $order->get_refunds() : array() as $candidate ) {
				if ( is_object( $candidate ) && (int) $candidate->get_id() === $refund_id ) {
					$refund = $candidate;
				}
			}
			if ( null === $refund ) {
				return null;
			}
		}
		return (string) wc_format_decimal( $refund->get_amount(), wc_get_price_decimals() );
	}

	/**
	 * Registers the eraser that forwards a WordPress privacy erasure to the sidecar (Crm\Eraser).
	 *
	 * @param array<string,array> $erasers Registered erasers.
	 * @return array<string,array>
	 */
	public static function register_eraser( $erasers ) {
		return Crm\Eraser::erasers( $erasers );
	}

	/**
	 * Eraser callback (Crm\Eraser::erase(); the event is queued once per request by Crm\Eraser).
	 *
	 * @param string $email_address E-mail address.
	 * @param int    $page          Page.
	 * @return array{items_removed:bool,items_retained:bool,messages:string[],done:bool}
	 */
	public static function erase( $email_address, $page = 1 ): array {
		return Crm\Eraser::erase( $email_address, $page );
	}

	/**
	 * A status slug without the "wc-" prefix.
	 *
	 * @param string $status Status.
	 */
	private static function slug( string $status ): string {
		return 0 === strpos( $status, 'wc-' ) ? substr( $status, 3 ) : $status;
	}
}
