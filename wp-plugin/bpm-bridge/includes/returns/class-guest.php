<?php
/**
 * Guests: finding an order by number + billing e-mail, without an oracle and without flooding, and the signed
 * links that stand in for a login.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Limits: 5 look-ups per IP address per 15 minutes and 10 per order number per day, counted whether they
 * match or not (so the limit says nothing about an order's existence). A match is carried by a signed token
 * (order id + expiry, HMAC with the site's salt) valid for an hour; a return's status page and files by a
 * signature of the return (id, e-mail, creation time) valid for 90 days.
 */
final class Guest {

	const IP_LIMIT     = 5;
	const IP_WINDOW    = 15 * MINUTE_IN_SECONDS;
	const ORDER_LIMIT  = 10;
	const ORDER_WINDOW = DAY_IN_SECONDS;
	const TOKEN_TTL    = HOUR_IN_SECONDS;
	const LINK_TTL     = 90 * DAY_IN_SECONDS;

	/**
	 * The client's address: REMOTE_ADDR (proxies' headers can be forged; a site behind a proxy filters this).
	 */
	public static function ip(): string {
		$ip = isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : '';
		/**
		 * The client IP the guest look-up limit counts.
		 *
		 * @param string $ip REMOTE_ADDR.
		 */
		return (string) apply_filters( 'bpm_bridge_client_ip', $ip );
	}

	/**
	 * Finds the order for a number + billing e-mail. One answer for every miss.
	 *
	 * @param string $number Order number as typed.
	 * @param string $email  Billing e-mail as typed.
	 * @return \WC_Order|\WP_Error
	 */
	public static function find( string $number, string $email ) {
		$number = ltrim( trim( $number ), '#' );
		if ( ! self::take( 'ip', self::ip(), self::IP_LIMIT, self::IP_WINDOW ) || ! self::take( 'order', strtolower( $number ), self::ORDER_LIMIT, self::ORDER_WINDOW ) ) {
			return new \WP_Error( 'bpm_bridge_rate_limited', __( 'Too many attempts. Please try again later.', 'bpm-bridge' ) );
		}
		$order_id = Rma::order_id_for_number( $number );
		$order    = $order_id ? wc_get_order( $order_id ) : null;
		$email    = strtolower( trim( $email ) );
		if ( ! $order instanceof \WC_Order || $order instanceof \WC_Order_Refund || '' === $email || ! hash_equals( strtolower( (string) $order->get_billing_email() ), $email ) ) {
			return new \WP_Error( 'bpm_bridge_order_not_found', __( 'We could not find an order with this number and e-mail address. Please check both.', 'bpm-bridge' ) );
		}
		return $order;
	}

	/**
	 * Counts one attempt against a limit; false when the limit is used up.
	 *
	 * @param string $kind   Limit: 'ip' or 'order'.
	 * @param string $key    IP or order number.
	 * @param int    $limit  Attempts.
	 * @param int    $window Seconds.
	 */
	private static function take( string $kind, string $key, int $limit, int $window ): bool {
		$name  = 'bpm_bridge_rl_' . $kind . '_' . md5( $key );
		$now   = time();
		$state = get_transient( $name );
		if ( ! is_array( $state ) || (int) ( $state['until'] ?? 0 ) <= $now ) {
			$state = array(
				'count' => 0,
				'until' => $now + $window,
			);
		}
		if ( $state['count'] >= $limit ) {
			return false;
		}
		++$state['count'];
		set_transient( $name, $state, max( 1, $state['until'] - $now ) );
		return true;
	}

	/**
	 * A token proving this visitor matched the order (number + e-mail) within the last hour. It binds the order's
	 * creation time too, so it names that order and no other that later gets the same id.
	 *
	 * @param int      $order_id Order id.
	 * @param int|null $now      Unix seconds (tests).
	 */
	public static function token( int $order_id, ?int $now = null ): string {
		$expires = ( $now ?? time() ) + self::TOKEN_TTL;
		return $order_id . '.' . $expires . '.' . self::mac( 'guest-order|' . $order_id . '|' . $expires . '|' . self::order_created( $order_id ) );
	}

	/**
	 * The order id a token grants, or 0.
	 *
	 * @param string   $token Token.
	 * @param int|null $now   Unix seconds (tests).
	 */
	public static function order_from_token( string $token, ?int $now = null ): int {
		$parts = explode( '.', $token );
		if ( 3 !== count( $parts ) || ! ctype_digit( $parts[0] ) || ! ctype_digit( $parts[1] ) || (int) $parts[1] < ( $now ?? time() ) ) {
			return 0;
		}
		$expected = self::mac( 'guest-order|' . $parts[0] . '|' . $parts[1] . '|' . self::order_created( (int) $parts[0] ) );
		return hash_equals( $expected, $parts[2] ) ? (int) $parts[0] : 0;
	}

	/**
	 * Whether a token was valid but has run out (the page then says to find the order again).
	 *
	 * @param string   $token Token.
	 * @param int|null $now   Unix seconds (tests).
	 */
	public static function token_expired( string $token, ?int $now = null ): bool {
		$parts = explode( '.', $token );
		if ( 3 !== count( $parts ) || ! ctype_digit( $parts[0] ) || ! ctype_digit( $parts[1] ) || (int) $parts[1] >= ( $now ?? time() ) ) {
			return false;
		}
		return hash_equals( self::mac( 'guest-order|' . $parts[0] . '|' . $parts[1] . '|' . self::order_created( (int) $parts[0] ) ), $parts[2] );
	}

	/**
	 * The order's creation time (Unix seconds), 0 when there is no such order.
	 *
	 * @param int $order_id Order id.
	 */
	private static function order_created( int $order_id ): int {
		$order   = $order_id ? wc_get_order( $order_id ) : null;
		$created = $order instanceof \WC_Order ? $order->get_date_created() : null;
		return $created ? $created->getTimestamp() : 0;
	}

	/**
	 * The signature of a return for a guest's links (status page, label, photos): "<expiry>.<HMAC>" over the
	 * return's id, its e-mail (lower case) and its creation time, valid LINK_TTL. Binding the e-mail and the
	 * creation time means a link stops working when the return's row is not the one it was made for (a
	 * restored or re-used id); the expiry bounds a link that was forwarded or leaked.
	 *
	 * @param int                      $rma_id RMA id.
	 * @param int|null                 $now    Unix seconds (tests).
	 * @param array<string,mixed>|null $rma    Rma::get() when the caller has it.
	 */
	public static function signature( int $rma_id, ?int $now = null, ?array $rma = null ): string {
		$rma     = $rma ?? Rma::get( $rma_id );
		$expires = ( $now ?? time() ) + self::LINK_TTL;
		return null === $rma ? '' : $expires . '.' . self::rma_mac( $rma, $expires );
	}

	/**
	 * Whether a signature is the return's and has not expired (the expiry is checked first: no HMAC work for
	 * an expired link).
	 *
	 * @param int      $rma_id    RMA id.
	 * @param string   $signature Signature.
	 * @param int|null $now       Unix seconds (tests).
	 */
	public static function verify( int $rma_id, string $signature, ?int $now = null ): bool {
		$parts = explode( '.', $signature );
		if ( $rma_id < 1 || 2 !== count( $parts ) || ! ctype_digit( $parts[0] ) || (int) $parts[0] < ( $now ?? time() ) ) {
			return false;
		}
		$rma = Rma::get( $rma_id );
		return null !== $rma && hash_equals( self::rma_mac( $rma, (int) $parts[0] ), $parts[1] );
	}

	/**
	 * The HMAC of a return's guest link.
	 *
	 * @param array<string,mixed> $rma     Rma::get().
	 * @param int                 $expires Unix seconds.
	 */
	private static function rma_mac( array $rma, int $expires ): string {
		return self::mac( 'guest-rma|' . (int) $rma['id'] . '|' . strtolower( (string) $rma['email'] ) . '|' . (string) $rma['created_at'] . '|' . $expires );
	}

	/**
	 * HMAC-SHA256 with a key from the site's salts.
	 *
	 * @param string $data Data.
	 */
	private static function mac( string $data ): string {
		return hash_hmac( 'sha256', 'bpm-bridge-returns|' . $data, wp_salt( 'auth' ) );
	}
}
