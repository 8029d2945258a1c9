<?php
/**
 * What a customer may return from an order, and until when.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Windows and quantities. A withdrawal runs withdrawal_days from delivery (the carrier's `_bpm_delivered_at`,
 * else the completed date), to the end of the last day in the shop's time zone; a complaint complaint_days from
 * the same day. Per item: bought − refunded − already
 * in a return that was not rejected.
 */
final class Eligibility {

	/**
	 * Order statuses (without "wc-") whose orders may be returned: delivered orders only (a processing order also
	 * when a carrier reported its delivery in `_bpm_delivered_at`).
	 *
	 * @return string[]
	 */
	public static function statuses(): array {
		/**
		 * Order statuses (without "wc-") a return may be requested for.
		 *
		 * @param string[] $statuses Statuses.
		 */
		return (array) apply_filters( 'bpm_bridge_returnable_statuses', array( 'completed', 'return-requested' ) );
	}

	/**
	 * The moment the windows start (Unix seconds), or 0 when the order was not delivered: the carrier's
	 * `_bpm_delivered_at` (a time without a zone is UTC, whatever PHP's default zone is), else the completed date,
	 * else — for an order whose status says completed but that has no completed date (set by an import or a
	 * status changed in the database) — the date it was last modified.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function start( \WC_Order $order ): int {
		$delivered = trim( (string) $order->get_meta( '_bpm_delivered_at' ) );
		if ( '' !== $delivered ) {
			try {
				$ts = ctype_digit( $delivered ) ? (int) $delivered : ( new \DateTimeImmutable( $delivered, new \DateTimeZone( 'UTC' ) ) )->getTimestamp();
			} catch ( \Exception $e ) {
				$ts = 0;
			}
			if ( $ts > 0 ) {
				return $ts;
			}
		}
		$completed = $order->get_date_completed();
		if ( $completed ) {
			return $completed->getTimestamp();
		}
		$modified = $order->get_date_modified();
		if ( $modified && in_array( $order->get_status(), self::statuses(), true ) ) {
			return $modified->getTimestamp();
		}
		return 0;
	}

	/**
	 * The end of a window: the end (23:59:59) of the N-th day after the start, in the shop's time zone — the
	 * customer counts days on the calendar, not in 24-hour blocks from the minute of delivery.
	 *
	 * @param int $start Unix seconds.
	 * @param int $days  Days.
	 */
	public static function until( int $start, int $days ): int {
		$day = ( new \DateTimeImmutable( '@' . $start ) )->setTimezone( wp_timezone() );
		return $day->modify( '+' . max( 0, $days ) . ' days' )->setTime( 23, 59, 59 )->getTimestamp();
	}

	/**
	 * The order's return possibilities.
	 *
	 * @param \WC_Order $order Order.
	 * @param int|null  $now   Unix seconds (tests).
	 * @return array{returnable: bool, why: string, withdrawal_until: int, complaint_until: int, withdrawal_open: bool, complaint_open: bool, items: array<int, array{name: string, product_id: int, bought: int, returnable: int}>}
	 */
	public static function for_order( \WC_Order $order, ?int $now = null ): array {
		$now    = $now ?? time();
		$start  = self::start( $order );
		$result = array(
			'returnable'       => false,
			'why'              => '',
			'withdrawal_until' => 0,
			'complaint_until'  => 0,
			'withdrawal_open'  => false,
			'complaint_open'   => false,
			'items'            => array(),
		);
		if ( ! Rules::enabled() ) {
			$result['why'] = __( 'This shop does not take return requests online.', 'bpm-bridge' );
			return $result;
		}
		// A processing order the carrier reported delivered is returnable too: the customer has the goods.
		$delivered = 'processing' === $order->get_status() && '' !== (string) $order->get_meta( '_bpm_delivered_at' );
		if ( ( ! $delivered && ! in_array( $order->get_status(), self::statuses(), true ) ) || 0 === $start ) {
			$result['why'] = __( 'A return can be requested once the order has been delivered.', 'bpm-bridge' );
			return $result;
		}
		$result['withdrawal_until'] = self::until( $start, (int) Rules::get( 'withdrawal_days' ) );
		$result['complaint_until']  = self::until( $start, (int) Rules::get( 'complaint_days' ) );
		$result['withdrawal_open']  = $now <= $result['withdrawal_until'];
		$result['complaint_open']   = $now <= $result['complaint_until'];
		if ( ! $result['withdrawal_open'] && ! $result['complaint_open'] ) {
			$result['why'] = sprintf(
				/* translators: %s: date */
				__( 'The time for returns and complaints for this order ended on %s.', 'bpm-bridge' ),
				wp_date( get_option( 'date_format' ), $result['complaint_until'] )
			);
			return $result;
		}
		$returned = Rma::returned_quantities( $order->get_id() );
		foreach ( $order->get_items() as $item_id => $item ) {
			$bought   = (int) $item->get_quantity();
			$refunded = absint( $order->get_qty_refunded_for_item( $item_id ) );
			$left     = max( 0, $bought - $refunded - ( $returned[ $item_id ] ?? 0 ) );
			$result['items'][ (int) $item_id ] = array(
				'name'       => $item->get_name(),
				'product_id' => (int) $item->get_product_id(),
				'bought'     => $bought,
				'returnable' => $left,
			);
		}
		if ( 0 === array_sum( array_column( $result['items'], 'returnable' ) ) ) {
			$result['why'] = __( 'Every item of this order has already been returned or refunded.', 'bpm-bridge' );
			return $result;
		}
		$result['returnable'] = true;
		return $result;
	}

	/**
	 * The reasons offered now: all while the withdrawal window is open, only complaint reasons after it.
	 *
	 * @param array $eligibility The answer of for_order().
	 * @return string[]
	 */
	public static function reasons( array $eligibility ): array {
		$reasons = Rules::reasons();
		if ( ! $eligibility['withdrawal_open'] ) {
			$reasons = array_values( array_filter( $reasons, array( Rules::class, 'is_complaint_reason' ) ) );
		}
		return $eligibility['complaint_open'] || $eligibility['withdrawal_open'] ? $reasons : array();
	}

	/**
	 * Checks the requested lines against the order: known items, quantity ≤ returnable, a reason offered now.
	 *
	 * @param \WC_Order                                      $order Order.
	 * @param array<int, array{quantity: int, reason: string}> $lines Lines: order_item_id => line.
	 * @param int|null                                       $now   Unix seconds (tests).
	 * @return array{items: array, kind: string, errors: array<string,string>}
	 */
	public static function check( \WC_Order $order, array $lines, ?int $now = null ): array {
		$eligibility = self::for_order( $order, $now );
		$errors      = array();
		$items       = array();
		$complaint   = false;
		if ( ! $eligibility['returnable'] ) {
			return array(
				'items'  => array(),
				'kind'   => '',
				'errors' => array( 'items' => $eligibility['why'] ),
			);
		}
		$offered = self::reasons( $eligibility );
		foreach ( $lines as $item_id => $line ) {
			$quantity = (int) ( $line['quantity'] ?? 0 );
			if ( 0 === $quantity ) {
				continue;
			}
			$field = 'item_' . (int) $item_id;
			$known = $eligibility['items'][ (int) $item_id ] ?? null;
			if ( null === $known || $quantity < 0 ) {
				$errors[ $field ] = __( 'This item is not part of the order.', 'bpm-bridge' );
				continue;
			}
			if ( $quantity > $known['returnable'] ) {
				$errors[ $field ] = sprintf(
					/* translators: %d: quantity */
					_n( 'At most %d piece of this item can be returned.', 'At most %d pieces of this item can be returned.', $known['returnable'], 'bpm-bridge' ),
					$known['returnable']
				);
				continue;
			}
			$reason = (string) ( $line['reason'] ?? '' );
			if ( ! in_array( $reason, $offered, true ) ) {
				$errors[ $field ] = __( 'Please choose a reason for this item.', 'bpm-bridge' );
				continue;
			}
			$complaint = $complaint || Rules::is_complaint_reason( $reason );
			$items[]   = array(
				'order_item_id' => (int) $item_id,
				'product_id'    => $known['product_id'],
				'quantity'      => $quantity,
				'reason'        => $reason,
			);
		}
		if ( ! $items && ! $errors ) {
			$errors['items'] = __( 'Choose at least one item to return.', 'bpm-bridge' );
		}
		return array(
			'items'  => $items,
			'kind'   => $complaint ? 'complaint' : 'withdrawal',
			'errors' => $errors,
		);
	}
}
