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
 * Exactly once: the refund is claimed first with a conditional UPDATE (refund_id NULL → 0 while the status is
 * the one shown), so a double click or two staff members cannot create two refunds, and a reject cannot slip in
 * (it takes the same claim). Our refunds carry the return's id (META, set in woocommerce_create_refund, i.e.
 * saved with the refund); only when a stale claim is taken over (a request died between the refund and storing
 * its id) is a refund carrying this return's id adopted instead of made again — never a refund someone made by
 * hand, whatever its reason text.
 */
final class Refund {

	/**
	 * A claim older than this (a request that died mid-way) may be taken over.
	 */
	const CLAIM_TTL = 600;

	/**
	 * Refund meta: the id of the return a refund was made for (only our own refunds carry it).
	 */
	const META = '_bpm_rma_id';

	/**
	 * RMA id => the last four characters of its bank account, read before the refund (see iban_tail()).
	 *
	 * @var array<int, string>
	 */
	private static $iban_tails = array();

	/**
	 * The refund's lines for the returned items, plus the order's shipping (and fee) lines when asked.
	 *
	 * Products: each line's share proportional to the returned quantity; with prices including tax the gross
	 * share is rounded first, then each tax share, and the net is what is left (the customer paid gross prices,
	 * so that is what must come back to the cent); the last units of a line get what is left of it (no drift
	 * over several partial refunds). The same order line listed twice in a return is one refund line.
	 *
	 * Shipping: art. 32 ust. 1 u.p.k. — a withdrawal of everything still not refunded gets the delivery cost
	 * back, so `shipping` defaults to true for such a "full withdrawal" and to false otherwise; fees (gift
	 * wrapping, cash-on-delivery fee...) are never refunded unless asked (`fees`). Shipping and fee lines are
	 * refunded whole: what is left of each, per tax rate.
	 *
	 * @param \WC_Order            $order   Order.
	 * @param array<string, mixed> $rma     Rma::get().
	 * @param array<string, mixed> $options Shipping (bool|null: null = the default), fees (bool|null).
	 * @return array{amount: string, products: string, shipping: string, fees: string, full: bool, with_shipping: bool, with_fees: bool, line_items: array<int, array{qty: int, refund_total: string, refund_tax: array<int, string>}>}|\WP_Error
	 */
	public static function plan( \WC_Order $order, array $rma, array $options = array() ) {
		$decimals = wc_get_price_decimals();
		$gross    = (bool) $order->get_prices_include_tax();
		$wanted   = array();
		foreach ( (array) $rma['items'] as $returned ) {
			$item_id            = absint( $returned['order_item_id'] ?? 0 );
			$wanted[ $item_id ] = ( $wanted[ $item_id ] ?? 0 ) + absint( $returned['quantity'] ?? 0 );
		}
		$lines    = array();
		$products = 0.0;
		foreach ( $wanted as $item_id => $qty ) {
			$item = $order->get_item( $item_id );
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
			$line               = self::share( $order, $item, $qty === $left ? 1.0 : $qty / $bought, $qty === $left, $gross, $decimals );
			$line['qty']        = $qty;
			$lines[ $item_id ]  = $line;
			$products          += $line['sum'];
		}
		if ( ! $lines ) {
			return new \WP_Error( 'bpm_bridge_refund_empty', __( 'This return has no items to refund.', 'bpm-bridge' ) );
		}
		$full = 'withdrawal' === ( $rma['kind'] ?? 'withdrawal' ) && self::returns_everything( $order, $wanted );
		$with = array(
			'shipping' => isset( $options['shipping'] ) ? (bool) $options['shipping'] : $full,
			'fee'      => ! empty( $options['fees'] ),
		);
		$sums = array(
			'shipping' => 0.0,
			'fee'      => 0.0,
		);
		foreach ( array_keys( $sums ) as $type ) {
			foreach ( $order->get_items( $type ) as $item_id => $item ) {
				$line = self::share( $order, $item, 1.0, true, $gross, $decimals, $type );
				if ( abs( $line['sum'] ) < 0.005 ) {
					continue;
				}
				$sums[ $type ] += $line['sum'];
				if ( $with[ $type ] ) {
					$line['qty']       = 0;
					$lines[ $item_id ] = $line;
				}
			}
		}
		$amount = $products + ( $with['shipping'] ? $sums['shipping'] : 0.0 ) + ( $with['fee'] ? $sums['fee'] : 0.0 );
		foreach ( $lines as $item_id => $line ) {
			unset( $lines[ $item_id ]['sum'] );
		}
		return array(
			'amount'        => wc_format_decimal( $amount, $decimals ),
			'products'      => wc_format_decimal( $products, $decimals ),
			'shipping'      => wc_format_decimal( $sums['shipping'], $decimals ),
			'fees'          => wc_format_decimal( $sums['fee'], $decimals ),
			'full'          => $full,
			'with_shipping' => $with['shipping'] && $sums['shipping'] > 0,
			'with_fees'     => $with['fee'] && abs( $sums['fee'] ) >= 0.005,
			'line_items'    => $lines,
		);
	}

	/**
	 * One refund line: a share of an order line's total and of each of its taxes.
	 *
	 * @param \WC_Order      $order    Order.
	 * @param \WC_Order_Item $item     Line (product, shipping or fee).
	 * @param float          $ratio    Share of the line (1.0 with $last).
	 * @param bool           $last     The rest of the line: what it holds minus what was refunded of it.
	 * @param bool           $gross    Prices include tax: round the gross share first, net = gross − tax.
	 * @param int            $decimals Price decimals.
	 * @param string         $type     Line_item, shipping or fee.
	 * @return array{refund_total: string, refund_tax: array<int, string>, sum: float}
	 */
	private static function share( \WC_Order $order, \WC_Order_Item $item, float $ratio, bool $last, bool $gross, int $decimals, string $type = 'line_item' ): array {
		$item_id = (int) $item->get_id();
		$data    = $item->get_taxes();
		$taxes   = array();
		$tax_sum = 0.0;
		$raw_tax = 0.0;
		foreach ( (array) ( $data['total'] ?? array() ) as $rate_id => $tax ) {
			if ( '' === $tax || null === $tax ) {
				continue;
			}
			$share                   = $last
				? (float) $tax - (float) $order->get_tax_refunded_for_item( $item_id, (int) $rate_id, $type )
				: (float) $tax * $ratio;
			$raw_tax                += $share;
			$share                   = round( $share, $decimals );
			$taxes[ (int) $rate_id ] = wc_format_decimal( $share, $decimals );
			$tax_sum                += $share;
		}
		$net = $last
			? (float) $item->get_total() - (float) $order->get_total_refunded_for_item( $item_id, $type )
			: (float) $item->get_total() * $ratio;
		if ( $gross ) {
			$sum = round( $net + $raw_tax, $decimals );
			$net = $sum - $tax_sum;
		} else {
			$net = round( $net, $decimals );
			$sum = $net + $tax_sum;
		}
		return array(
			'refund_total' => wc_format_decimal( $net, $decimals ),
			'refund_tax'   => $taxes,
			'sum'          => round( $sum, $decimals ),
		);
	}

	/**
	 * Whether the returned quantities are everything of the order's products not refunded yet.
	 *
	 * @param \WC_Order       $order  Order.
	 * @param array<int, int> $wanted Order item id => quantity returned.
	 */
	private static function returns_everything( \WC_Order $order, array $wanted ): bool {
		foreach ( $order->get_items() as $item_id => $item ) {
			if ( ! $item instanceof \WC_Order_Item_Product ) {
				continue;
			}
			$left = (int) $item->get_quantity() - absint( $order->get_qty_refunded_for_item( $item_id ) );
			if ( $left > 0 && ( $wanted[ (int) $item_id ] ?? 0 ) < $left ) {
				return false;
			}
		}
		return true;
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
	 * The statuses a return of this kind may be refunded from: a received one, and a withdrawal whose parcel is
	 * on its way or arrived (art. 32 ust. 4 u.p.k.: the shop may wait for the goods or the proof they were sent,
	 * not for its own inspection).
	 *
	 * @param string $kind Withdrawal or complaint.
	 * @return string[]
	 */
	public static function statuses_for( string $kind ): array {
		return 'withdrawal' === $kind ? array( 'label_ready', 'arrived', 'received' ) : array( 'received' );
	}

	/**
	 * Hooks in: our refunds carry the return's id.
	 */
	public static function register(): void {
		add_action( 'woocommerce_create_refund', array( self::class, 'mark' ), 10, 2 );
	}

	/**
	 * Marks a refund we create with the return's id before WooCommerce saves it (so the mark is in the same
	 * save as the refund itself: a crash right after cannot leave an unmarked refund of ours).
	 *
	 * @param \WC_Order_Refund     $refund Refund being created.
	 * @param array<string, mixed> $args   Arguments of wc_create_refund().
	 */
	public static function mark( $refund, $args ): void {
		$rma_id = is_array( $args ) ? absint( $args['bpm_rma_id'] ?? 0 ) : 0;
		if ( $rma_id > 0 && $refund instanceof \WC_Order_Refund ) {
			$refund->update_meta_data( self::META, (string) $rma_id );
		}
	}

	/**
	 * Refunds a return.
	 *
	 * @param int                  $rma_id       RMA id.
	 * @param bool                 $refund_money Send the money back through the payment method (when it can).
	 * @param string               $actor        Timeline actor.
	 * @param array<string, mixed> $options      Shipping, fees (see plan()), restock (bool; default: yes for a
	 *                                           withdrawal, no for a complaint — a faulty item is no stock).
	 * @return array{refund_id: int, amount: string, currency: string, money: bool, adopted: bool, check_provider: bool}|\WP_Error
	 */
	public static function issue( int $rma_id, bool $refund_money, string $actor = 'staff', array $options = array() ) {
		$rma = Rma::get( $rma_id );
		if ( null === $rma ) {
			return new \WP_Error( 'bpm_bridge_rma_not_found', __( 'No return with this id.', 'bpm-bridge' ) );
		}
		if ( 'refunded' !== $rma['status'] && null !== $rma['refund_id'] && $rma['refund_id'] > 0 && in_array( (string) $rma['status'], self::statuses_for( (string) $rma['kind'] ), true ) ) {
			// The refund was made and stored, but the request died before the status moved: finish that step.
			Rma::set_status( $rma_id, (string) $rma['status'], 'refunded', '', $actor );
		}
		if ( 'refunded' === $rma['status'] || ( null !== $rma['refund_id'] && $rma['refund_id'] > 0 ) ) {
			/* translators: 1: RMA number, 2: refund id. */
			return new \WP_Error( 'bpm_bridge_already_refunded', sprintf( __( '%1$s was already refunded (refund #%2$d); nothing was done.', 'bpm-bridge' ), $rma['number'], (int) $rma['refund_id'] ) );
		}
		$from = (string) $rma['status'];
		if ( ! in_array( $from, self::statuses_for( (string) $rma['kind'] ), true ) ) {
			/* translators: 1: RMA number, 2: status. */
			return new \WP_Error( 'bpm_bridge_refund_status', sprintf( __( '%1$s is "%2$s": it cannot be refunded in this status.', 'bpm-bridge' ), $rma['number'], Rma::status_label( $from ) ) );
		}
		$order = wc_get_order( (int) $rma['order_id'] );
		if ( ! $order instanceof \WC_Order ) {
			return new \WP_Error( 'bpm_bridge_refund_order', __( 'The order of this return could not be loaded.', 'bpm-bridge' ) );
		}
		$claim = self::claim( $rma_id, $from );
		if ( '' === $claim ) {
			/* translators: %s: RMA number. */
			return new \WP_Error( 'bpm_bridge_refund_busy', sprintf( __( '%s is being refunded or decided right now (another click or another person); nothing was done.', 'bpm-bridge' ), $rma['number'] ) );
		}
		// Only a claim taken over from a request that died may find a refund of ours it made: adopt it.
		$adopted = 'stale' === $claim ? self::existing_refund( $order, $rma_id ) : null;
		$money   = false;
		$check   = false;
		if ( $adopted ) {
			$refund = $adopted;
			$money  = (bool) $refund->get_refunded_payment();
			$check  = ! $money && self::gateway_refunds( $order );
		} else {
			$plan = self::plan( $order, $rma, $options );
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
					'restock_items'  => isset( $options['restock'] ) ? (bool) $options['restock'] : 'complaint' !== $rma['kind'],
					'bpm_rma_id'     => $rma_id,
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
				html_entity_decode( wp_strip_all_tags( wc_price( $amount, array( 'currency' => $order->get_currency() ) ) ), ENT_QUOTES, 'UTF-8' ),
				$money ? __( 'money sent back through the payment method', 'bpm-bridge' ) : __( 'money to be paid back by the shop', 'bpm-bridge' )
			) . ( $check ? ' ' . self::check_provider_text() : '' ),
			$actor,
			false
		);
		self::iban_tail( $rma_id );
		$moved = Rma::set_status( $rma_id, $from, 'refunded', '', $actor );
		if ( is_wp_error( $moved ) ) {
			return $moved;
		}
		return array(
			'refund_id'      => $refund_id,
			'amount'         => (string) $amount,
			'currency'       => (string) $order->get_currency(),
			'money'          => $money,
			'adopted'        => (bool) $adopted,
			'check_provider' => $check,
		);
	}

	/**
	 * The last four characters of the return's bank account ('' without one), remembered from before the
	 * refund (the customer side forgets the IBAN once the return is refunded; the refund e-mail still names it).
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function iban_tail( int $rma_id ): string {
		if ( ! isset( self::$iban_tails[ $rma_id ] ) ) {
			$iban                       = strtoupper( (string) preg_replace( '/\s+/', '', (string) Rma::iban( $rma_id ) ) );
			self::$iban_tails[ $rma_id ] = strlen( $iban ) >= 8 ? substr( $iban, -4 ) : '';
		}
		return self::$iban_tails[ $rma_id ];
	}

	/**
	 * The warning for an adopted refund whose money WooCommerce does not know to have gone back.
	 */
	public static function check_provider_text(): string {
		return __( 'The refund was recorded before an interruption and WooCommerce does not know whether the payment method sent the money: check the payment provider before paying by hand.', 'bpm-bridge' );
	}

	/**
	 * Rejects a return, holding the same claim a refund takes so that a reject and a refund cannot both
	 * succeed (a refund in progress holds refund_id = 0; a reject waits for nobody and is refused then).
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $from   The status the screen showed.
	 * @param string $note   The reason the customer reads.
	 * @param string $actor  Timeline actor.
	 * @return array<string, mixed>|\WP_Error Rma::set_status()'s answer.
	 */
	public static function reject( int $rma_id, string $from, string $note, string $actor = 'staff' ) {
		if ( '' === self::claim( $rma_id, $from, false ) ) {
			$rma = Rma::get( $rma_id );
			if ( $rma && $rma['status'] === $from ) {
				/* translators: %s: RMA number. */
				return new \WP_Error( 'bpm_bridge_refund_busy', sprintf( __( '%s is being refunded right now; it was not rejected.', 'bpm-bridge' ), Rma::number( $rma_id ) ) );
			}
			return new \WP_Error( 'bpm_bridge_status_conflict', __( 'The return is not in the expected status.', 'bpm-bridge' ), array( 'current' => $rma ? $rma['status'] : null ) );
		}
		$moved = Rma::set_status( $rma_id, $from, 'rejected', $note, $actor );
		self::release( $rma_id );
		return $moved;
	}

	/**
	 * A refund of the order our code made for this return (marked with its id).
	 *
	 * @param \WC_Order $order  Order.
	 * @param int       $rma_id RMA id.
	 * @return \WC_Order_Refund|null
	 */
	private static function existing_refund( \WC_Order $order, int $rma_id ) {
		foreach ( $order->get_refunds() as $refund ) {
			if ( $refund instanceof \WC_Order_Refund && (string) $rma_id === (string) $refund->get_meta( self::META ) ) {
				return $refund;
			}
		}
		return null;
	}

	/**
	 * Claims a return for a refund (or a reject): refund_id NULL → 0 while it is in $status, or a stale claim
	 * taken over.
	 *
	 * @param int    $rma_id   RMA id.
	 * @param string $status   The status it must be in.
	 * @param bool   $takeover Take over a stale claim (a refund does; a reject never touches one).
	 * @return string "fresh", "stale" (a dead request's claim taken over) or "" (not claimed).
	 */
	private static function claim( int $rma_id, string $status, bool $takeover = true ): string {
		global $wpdb;
		$table = Installer::rma_table();
		$now   = time();
		if ( 1 === $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET refund_id = 0, updated_at = %s WHERE id = %d AND status = %s AND refund_id IS NULL", Outbox::dt( $now ), $rma_id, $status ) ) ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			return 'fresh';
		}
		if ( $takeover && 1 === $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET updated_at = %s WHERE id = %d AND status = %s AND refund_id = 0 AND updated_at < %s", Outbox::dt( $now ), $rma_id, $status, Outbox::dt( $now - self::CLAIM_TTL ) ) ) ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			return 'stale';
		}
		return '';
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
