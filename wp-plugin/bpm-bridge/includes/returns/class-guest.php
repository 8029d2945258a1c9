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
 * Limits: 5 look-ups per IP address (IPv6: per /64, what one subscriber gets) per 15 minutes, matching or not;
 * 10 misses per order number per day. A match does not count against its order, so a customer who looks the
 * order up again is not locked out by their own visits; a full order bucket refuses every look-up, right ones
 * too — letting a right one through would leave the order no limit at all against guesses from many addresses.
 * A match is carried by a signed token (order id + expiry + the order's creation time, HMAC with the site's salt)
 * valid for an hour; a return's status page and files by a signature of the return (id, e-mail, creation time)
 * valid for 90 days.
 */
final class Guest {

	const IP_LIMIT     = 5;
	const IP_WINDOW    = 15 * MINUTE_IN_SECONDS;
	const ORDER_LIMIT  = 10;
	const ORDER_WINDOW = DAY_IN_SECONDS;
	const TOKEN_TTL    = HOUR_IN_SECONDS;
	const LINK_TTL     = 90 * DAY_IN_SECONDS;

	/**
	 * Counter rows in the options table (no external object cache): prefix, then kind_hash_windowend.
	 */
	const COUNTER_PREFIX = '_transient_bpm_bridge_rl_';

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
	 * The bucket an address counts in: an IPv4 address itself, an IPv6 address's /64 (one subscriber's network:
	 * counting single IPv6 addresses would give every visitor billions of buckets), an IPv4-mapped IPv6 address
	 * as its IPv4 address.
	 *
	 * @param string $ip Address.
	 */
	public static function ip_bucket( string $ip ): string {
		if ( filter_var( $ip, FILTER_VALIDATE_IP, FILTER_FLAG_IPV6 ) ) {
			$packed = (string) inet_pton( $ip );
			if ( 0 === strpos( $packed, str_repeat( "\0", 10 ) . "\xff\xff" ) ) {
				return (string) inet_ntop( substr( $packed, 12 ) );
			}
			return (string) inet_ntop( substr( $packed, 0, 8 ) . str_repeat( "\0", 8 ) ) . '/64';
		}
		return $ip;
	}

	/**
	 * Finds the order for a number + billing e-mail. One answer for every miss.
	 *
	 * @param string $number Order number as typed.
	 * @param string $email  Billing e-mail as typed.
	 * @return \WC_Order|\WP_Error
	 */
	public static function find( string $number, string $email ) {
		$number  = ltrim( trim( $number ), '#' );
		$limited = new \WP_Error( 'bpm_bridge_rate_limited', __( 'Too many attempts. Please try again later.', 'bpm-bridge' ) );
		$by_ip   = self::count( 'ip', self::ip_bucket( self::ip() ), self::IP_WINDOW, true );
		if ( $by_ip > self::IP_LIMIT || self::count( 'order', strtolower( $number ), self::ORDER_WINDOW, false ) >= self::ORDER_LIMIT ) {
			return $limited;
		}
		$order_id = Rma::order_id_for_number( $number );
		$order    = $order_id ? wc_get_order( $order_id ) : null;
		$email    = strtolower( trim( $email ) );
		if ( ! $order instanceof \WC_Order || $order instanceof \WC_Order_Refund || '' === $email || ! hash_equals( strtolower( (string) $order->get_billing_email() ), $email ) ) {
			self::count( 'order', strtolower( $number ), self::ORDER_WINDOW, true );
			return new \WP_Error( 'bpm_bridge_order_not_found', __( 'We could not find an order with this number and e-mail address. Please check both.', 'bpm-bridge' ) );
		}
		return $order;
	}

	/**
	 * A counter of the current fixed window: read, or increased by one and read in the same step.
	 *
	 * Atomic without a table of our own: with an external object cache (Redis, Memcached) wp_cache_add() creates
	 * the key once and wp_cache_incr() increases it in the cache server; otherwise one
	 * INSERT … ON DUPLICATE KEY UPDATE on the options table, which MySQL runs under the row lock of option_name's
	 * unique key, so two simultaneous look-ups always count two (get/set_transient() would lose one). Fixed
	 * windows (the window's end is part of the name) keep that a single statement; expired rows are deleted as
	 * new ones are written. The rows carry the `_transient_` prefix so the plugin's uninstall removes them.
	 *
	 * @param string $kind      Counter: 'ip' or 'order'.
	 * @param string $key       Address bucket or order number.
	 * @param int    $window    Seconds.
	 * @param bool   $increment Add one first.
	 * @return int The count in this window (after the increment).
	 */
	public static function count( string $kind, string $key, int $window, bool $increment ): int {
		global $wpdb;
		$now   = time();
		$ends  = ( intdiv( $now, $window ) + 1 ) * $window;
		$name  = sanitize_key( $kind ) . '_' . md5( $key ) . '_' . $ends;
		$group = 'bpm_bridge_rl';
		if ( wp_using_ext_object_cache() ) {
			if ( ! $increment ) {
				return (int) wp_cache_get( $name, $group );
			}
			wp_cache_add( $name, 0, $group, $ends - $now + 1 );
			return (int) wp_cache_incr( $name, 1, $group );
		}
		$option = self::COUNTER_PREFIX . $name;
		if ( $increment ) {
			$wpdb->query( $wpdb->prepare( "INSERT INTO {$wpdb->options} (option_name, option_value, autoload) VALUES (%s, '1', 'no') ON DUPLICATE KEY UPDATE option_value = option_value + 1", $option ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s AND CAST( SUBSTRING_INDEX( option_name, '_', -1 ) AS UNSIGNED ) < %d", $wpdb->esc_like( self::COUNTER_PREFIX ) . '%', $now ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		}
		return (int) $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
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
		// The expiry must be written as signed ("0" + a signed expiry is another string for the same number).
		if ( $rma_id < 1 || 2 !== count( $parts ) || ! ctype_digit( $parts[0] ) || (string) (int) $parts[0] !== $parts[0] || (int) $parts[0] < ( $now ?? time() ) ) {
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
