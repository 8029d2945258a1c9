<?php
/**
 * People erased on request: never sent to the CRM again.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

defined( 'ABSPATH' ) || exit;

/**
 * The eraser deletes the person in the CRM; without this list, the next event of one of their orders (a
 * refund, a status change, the sweep, a backfill) would create them again. Two marks, because WooCommerce's
 * own eraser may anonymise the orders' addresses: each order of the address gets `_bpm_crm_erased` (its
 * consent record withdrawn, the IP removed), and sha256(lower(e-mail)) goes on a private list (a
 * non-autoloaded option: only a hash, read only when an order is read for the sidecar), so a later order of the
 * same address stays out of the CRM too — until the buyer gives marketing consent again, which is a new, explicit
 * wish to hear from the shop.
 */
final class Suppression {

	/**
	 * Option: {sha256 of the lower-case address: erased at (Unix seconds)}.
	 */
	const OPTION = 'bpm_bridge_crm_erased';

	/**
	 * Order meta: when the order's buyer was erased (ISO-8601 UTC).
	 */
	const ORDER_META = '_bpm_crm_erased';

	/**
	 * The hash of an address, as stored.
	 *
	 * @param string $email E-mail address.
	 */
	public static function hash( string $email ): string {
		return hash( 'sha256', strtolower( trim( $email ) ) );
	}

	/**
	 * The list.
	 *
	 * @return array<string, int>
	 */
	private static function listed(): array {
		$stored = get_option( self::OPTION, array() );
		return is_array( $stored ) ? $stored : array();
	}

	/**
	 * Whether an address is on the list.
	 *
	 * @param string $email E-mail address.
	 */
	public static function has( string $email ): bool {
		return '' !== trim( $email ) && isset( self::listed()[ self::hash( $email ) ] );
	}

	/**
	 * Whether an order's buyer must not reach the CRM.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function of_order( $order ): bool {
		return '' !== (string) $order->get_meta( self::ORDER_META, true ) || self::has( (string) $order->get_billing_email() );
	}

	/**
	 * The eraser ran for an address: list it, mark its orders, withdraw and strip its consent records.
	 *
	 * @param string $email E-mail address.
	 * @return int How many orders were marked.
	 */
	public static function erase( string $email ): int {
		$email = strtolower( trim( $email ) );
		if ( '' === $email ) {
			return 0;
		}
		$listed                        = self::listed();
		$listed[ self::hash( $email ) ] = time();
		update_option( self::OPTION, $listed, false );
		$user = get_user_by( 'email', $email );
		if ( $user ) {
			$record = Consent::of_user( (int) $user->ID );
			if ( null !== $record ) {
				update_user_meta( (int) $user->ID, Consent::META, wp_slash( (string) wp_json_encode( Consent::withdrawn( $record ) ) ) );
			}
		}
		if ( ! function_exists( 'wc_get_orders' ) ) {
			return 0;
		}
		$orders = wc_get_orders(
			array(
				'billing_email' => $email,
				'type'          => 'shop_order',
				'limit'         => -1,
				'return'        => 'objects',
			)
		);
		$marked = 0;
		foreach ( is_array( $orders ) ? $orders : array() as $order ) {
			$order->update_meta_data( self::ORDER_META, gmdate( 'c' ) );
			$record = Consent::of_order( $order );
			if ( null !== $record ) {
				$order->update_meta_data( Consent::META, wp_json_encode( Consent::withdrawn( $record ) ) );
			}
			$order->save();
			++$marked;
		}
		return $marked;
	}

	/**
	 * The buyer gave marketing consent again after the erasure: the address may reach the CRM again (orders
	 * marked at the erasure stay out).
	 *
	 * @param string $email E-mail address.
	 */
	public static function lift( string $email ): void {
		$listed = self::listed();
		$hash   = self::hash( $email );
		if ( '' !== trim( $email ) && isset( $listed[ $hash ] ) ) {
			unset( $listed[ $hash ] );
			update_option( self::OPTION, $listed, false );
		}
	}
}
