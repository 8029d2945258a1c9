<?php
/**
 * The WooCommerce refund of a return.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Installer;
use BPM_Bridge\Outbox;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Creates the WooCommerce refund for exactly the returned items, so the existing order.refunded path issues the
 * matching correction invoice, and moves the return received → refunded.
 *
 * Exactly once: the refund is claimed first with a conditional UPDATE (refund_id NULL → 0 while status is
 * received), so a double click or two staff members cannot create two refunds; a refund WooCommerce already
 * holds for this return (reason = the RMA number, e.g. after a crash before the id was stored) is adopted
 * instead of made again.
 */
final class Refund {

	/**
	 * A claim older than this (a request that died mid-way) may be taken over.
	 */
	const CLAIM_TTL = 600;

	/**
	 * The refund's lines for the returned items: each line's share of its total and of each of its taxes,
	 * proportional to the returned quantity; the last units of a line get what is left of it (no rounding
	 * drift over several partial refunds).
	 *
	 * @param \WC_Order            $order Order.
	 * @param array<string, mixed> $rma   Rma::get().
	 * @return array{amount: string, line_items: array<int, array{qty: int, refund_total: string, refund_tax: array<int, string>}>}|\WP_Error
	 */
	public static function plan( \WC_Order $order, array $rma ) {
		$decimals = wc_get_price_decimals();
		$lines    = array();
		$amount   = 0.0;
		foreach ( (array) $rma['items'] as $returned ) {
			$item_id = absint( $returned['order_item_id'] ?? 0 );
			$qty     = absint( $returned['quantity'] ?? 0 );
			$item    = $order->get_item( $item_id );
			if ( ! $item instanceof \WC_Order_Item_Product || $qty < 1 ) {
				/* translators: %d: order item id. */
				return new \WP_Error( 'bpm_bridge_refund_item', sprintf( __( 'Order item %d of this return is no longer in the order.', 'bpm-bridge' ), $item_id ) );
			}
			$bought   = (int) $item->get_quantity();
			$refunded = absint( $order->get_qty_refunded_for_item( $item_id ) );
			$left     = $bought - $refunded;
			if ( $qty > $left ) {
				/* translators: 1: product name, 2: quantity returned, 3: quantity still refundable. */
				return new \WP_Error( 'bpm_bridge_refund_qty', sprintf( __( '%1$s: %2$d returned but only %3$d not refunded yet.', 'bpm-bridge' ), $item->get_name(), $qty, $left ) );
			}
			$last  = $qty === $left;
			$total = $last
				? (float) $item->get_total() - (float) $order->get_total_refunded_for_item( $item_id )
				: (float) $item->get_total() * $qty / $bought;
			$taxes = array();
			$data  = $item->get_taxes();
			foreach ( (array) ( $data['total'] ?? array() ) as $rate_id => $tax ) {
				if ( '' === $tax || null === $tax ) {
					continue;
				}
				$share = $last
					? (float) $tax - (float) $order->get_tax_refunded_for_item( $item_id, (int) $rate_id )
					: (float) $tax * $qty / $bought;
				$share                    = round( $share, $decimals );
				$taxes[ (int) $rate_id ] = wc_format_decimal( $share, $decimals );
				$amount                  += $share;
			}
			$total              = round( $total, $decimals );
			$amount            += $total;
			$lines[ $item_id ] = array(
				'qty'          => $qty,
				'refund_total' => wc_format_decimal( $total, $decimals ),
				'refund_tax'   => $taxes,
			);
		}
		if ( ! $lines ) {
			return new \WP_Error( 'bpm_bridge_refund_empty', __( 'This return has no items to refund.', 'bpm-bridge' ) );
		}
		return array(
			'amount'     => wc_format_decimal( $amount, $decimals ),
			'line_items' => $lines,
		);
	}

	/**
	 * Whether the order's payment method can send the money back by itself.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function gateway_refunds( \WC_Order $order ): bool {
		$gateway = function_exists( 'wc_get_payment_gateway_by_order' ) ? wc_get_payment_gateway_by_order( $order ) : false;
		return is_object( $gateway ) && $gateway->supports( 'refunds' );
	}

	/**
	 * Refunds a received return.
	 *
	 * @param int    $rma_id       RMA id.
	 * @param bool   $refund_money Send the money back through the payment method (when it can).
	 * @param string $actor        Timeline actor.
	 * @return array{refund_id: int, amount: string, money: bool, adopted: bool}|\WP_Error
	 */
	public static function issue( int $rma_id, bool $refund_money, string $actor = 'staff' ) {
		$rma = Rma::get( $rma_id );
		if ( null === $rma ) {
			return new \WP_Error( 'bpm_bridge_rma_not_found', __( 'No return with this id.', 'bpm-bridge' ) );
		}
		if ( 'refunded' === $rma['status'] || ( null !== $rma['refund_id'] && $rma['refund_id'] > 0 ) ) {
			/* translators: 1: RMA number, 2: refund id. */
			return new \WP_Error( 'bpm_bridge_already_refunded', sprintf( __( '%1$s was already refunded (refund #%2$d); nothing was done.', 'bpm-bridge' ), $rma['number'], (int) $rma['refund_id'] ) );
		}
		if ( 'received' !== $rma['status'] ) {
			/* translators: 1: RMA number, 2: status. */
			return new \WP_Error( 'bpm_bridge_refund_status', sprintf( __( '%1$s is "%2$s": only a received return can be refunded.', 'bpm-bridge' ), $rma['number'], Rma::status_label( $rma['status'] ) ) );
		}
		$order = wc_get_order( (int) $rma['order_id'] );
		if ( ! $order instanceof \WC_Order ) {
			return new \WP_Error( 'bpm_bridge_refund_order', __( 'The order of this return could not be loaded.', 'bpm-bridge' ) );
		}
		if ( ! self::claim( $rma_id ) ) {
			/* translators: %s: RMA number. */
			return new \WP_Error( 'bpm_bridge_refund_busy', sprintf( __( '%s is being refunded right now (another click or another person); nothing was done.', 'bpm-bridge' ), $rma['number'] ) );
		}
		$adopted = self::existing_refund( $order, $rma['number'] );
		$money   = false;
		if ( $adopted ) {
			$refund = $adopted;
		} else {
			$plan = self::plan( $order, $rma );
			if ( is_wp_error( $plan ) ) {
				self::release( $rma_id );
				return $plan;
			}
			$money  = $refund_money && self::gateway_refunds( $order );
			$refund = wc_create_refund(
				array(
					'order_id'       => $order->get_id(),
					'amount'         => $plan['amount'],
					'reason'         => $rma['number'],
					'line_items'     => $plan['line_items'],
					'refund_payment' => $money,
					'restock_items'  => true,
				)
			);
			if ( is_wp_error( $refund ) ) {
				self::release( $rma_id );
				Rma::log(
					$rma_id,
					'refund_failed',
					/* translators: %s: the error WooCommerce or the payment method gave. */
					sprintf( __( 'Refund failed: %s', 'bpm-bridge' ), $refund->get_error_message() ),
					$actor,
					false
				);
				/* translators: %s: the error WooCommerce or the payment method gave. */
				return new \WP_Error( 'bpm_bridge_refund_failed', sprintf( __( 'The refund was not made: %s', 'bpm-bridge' ), $refund->get_error_message() ) );
			}
		}
		$refund_id = (int) $refund->get_id();
		self::store( $rma_id, $refund_id );
		$amount = wc_format_decimal( $refund->get_amount(), wc_get_price_decimals() );
		Rma::log(
			$rma_id,
			'refund',
			sprintf(
				/* translators: 1: refund id, 2: amount with currency, 3: how the money goes back. */
				__( 'WooCommerce refund #%1$d of %2$s created (%3$s).', 'bpm-bridge' ),
				$refund_id,
				wp_strip_all_tags( wc_price( $amount, array( 'currency' => $order->get_currency() ) ) ),
				$money ? __( 'money sent back through the payment method', 'bpm-bridge' ) : __( 'money to be paid back by the shop', 'bpm-bridge' )
			),
			$actor,
			false
		);
		$moved = Rma::set_status( $rma_id, 'received', 'refunded', '', $actor );
		if ( is_wp_error( $moved ) ) {
			return $moved;
		}
		return array(
			'refund_id' => $refund_id,
			'amount'    => (string) $amount,
			'money'     => $money,
			'adopted'   => (bool) $adopted,
		);
	}

	/**
	 * A refund of the order made for this return before (its reason is the RMA number).
	 *
	 * @param \WC_Order $order  Order.
	 * @param string    $number RMA number.
	 * @return \WC_Order_Refund|null
	 */
	private static function existing_refund( \WC_Order $order, string $number ) {
		foreach ( $order->get_refunds() as $refund ) {
			if ( $refund instanceof \WC_Order_Refund && $number === (string) $refund->get_reason() ) {
				return $refund;
			}
		}
		return null;
	}

	/**
	 * Claims the refund of a received return: refund_id NULL → 0 (or a stale claim taken over).
	 *
	 * @param int $rma_id RMA id.
	 */
	private static function claim( int $rma_id ): bool {
		global $wpdb;
		$table = Installer::rma_table();
		$now   = time();
		return 1 === $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET refund_id = 0, updated_at = %s WHERE id = %d AND status = %s AND ( refund_id IS NULL OR ( refund_id = 0 AND updated_at < %s ) )", Outbox::dt( $now ), $rma_id, 'received', Outbox::dt( $now - self::CLAIM_TTL ) ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Gives a claim up (the refund was not made).
	 *
	 * @param int $rma_id RMA id.
	 */
	private static function release( int $rma_id ): void {
		global $wpdb;
		$table = Installer::rma_table();
		$wpdb->query( $wpdb->prepare( "UPDATE {$table} SET refund_id = NULL WHERE id = %d AND refund_id = 0", $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Stores the refund's id on the return.
	 *
	 * @param int $rma_id    RMA id.
	 * @param int $refund_id Refund id.
	 */
	private static function store( int $rma_id, int $refund_id ): void {
		global $wpdb;
		$table = Installer::rma_table();
		$wpdb->query( $wpdb->prepare( "UPDATE {$table} SET refund_id = %d, updated_at = %s WHERE id = %d", $refund_id, Outbox::dt( time() ), $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}
}
