<?php
/**
 * Returns and the customer's privacy rights: Tools → Export / Erase Personal Data, and the refund account kept no
 * longer than needed.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Dispatcher;
use BPM_Bridge\Installer;
use BPM_Bridge\Outbox;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * The exporter lists a person's returns with everything they told the shop; the eraser blanks the e-mail, the
 * refund account and the comment and deletes the photos, but keeps the return itself (items, quantities,
 * reasons, amounts, dates): the shop needs them for warranty claims and its tax records, as it keeps the order.
 * The refund account is forgotten once the money is back: at once when the payment method sent it, else
 * IBAN_KEEP_DAYS after the refund (the shop transfers it by hand and may need the number until then).
 */
final class Privacy {

	const KEY            = 'bpm-bridge-returns';
	const PER_PAGE       = 20;
	const IBAN_KEEP_DAYS = 30;

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_filter( 'wp_privacy_personal_data_exporters', array( self::class, 'exporters' ) );
		add_filter( 'wp_privacy_personal_data_erasers', array( self::class, 'erasers' ) );
		add_action( 'bpm_bridge_rma_status_changed', array( self::class, 'status_changed' ), 10, 3 );
		add_action( Dispatcher::PURGE_HOOK, array( self::class, 'forget_refund_accounts' ), 20, 0 );
	}

	/**
	 * Registers the exporter.
	 *
	 * @param array $exporters Exporters.
	 * @return array
	 */
	public static function exporters( $exporters ) {
		$exporters                = (array) $exporters;
		$exporters[ self::KEY ] = array(
			'exporter_friendly_name' => __( 'Returns', 'bpm-bridge' ),
			'callback'               => array( self::class, 'export' ),
		);
		return $exporters;
	}

	/**
	 * Registers the eraser.
	 *
	 * @param array $erasers Erasers.
	 * @return array
	 */
	public static function erasers( $erasers ) {
		$erasers                = (array) $erasers;
		$erasers[ self::KEY ] = array(
			'eraser_friendly_name' => __( 'Returns', 'bpm-bridge' ),
			'callback'             => array( self::class, 'erase' ),
		);
		return $erasers;
	}

	/**
	 * The returns of an e-mail address: given on the return, or the account's with that address.
	 *
	 * @param string $email  E-mail address.
	 * @param string $extra  More SQL conditions (trusted, no values).
	 * @param int    $offset Rows to skip.
	 * @return array<int, array<string,mixed>> Rows: id, order_id, status, items, customer_note, method, point, email, photos, created_at.
	 */
	private static function rows( string $email, string $extra, int $offset ): array {
		global $wpdb;
		$table = Installer::rma_table();
		$user  = get_user_by( 'email', $email );
		$sql   = "SELECT id, order_id, status, items, customer_note, method, point, email, iban IS NOT NULL AS has_iban, photos, created_at FROM {$table} WHERE ( email = %s OR ( customer_id > 0 AND customer_id = %d ) ) {$extra} ORDER BY id ASC LIMIT %d OFFSET %d";
		return (array) $wpdb->get_results( $wpdb->prepare( $sql, $email, $user ? (int) $user->ID : 0, self::PER_PAGE, $offset ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.NotPrepared
	}

	/**
	 * The exporter: one item per return.
	 *
	 * @param string $email E-mail address.
	 * @param int    $page  Page, from 1.
	 * @return array{data: array, done: bool}
	 */
	public static function export( $email, $page = 1 ): array {
		$email = (string) $email;
		$rows  = '' === $email ? array() : self::rows( $email, '', ( max( 1, (int) $page ) - 1 ) * self::PER_PAGE );
		$data  = array();
		foreach ( $rows as $row ) {
			$order  = function_exists( 'wc_get_order' ) ? wc_get_order( (int) $row['order_id'] ) : null;
			$names  = array();
			$items  = array();
			$photos = json_decode( (string) $row['photos'], true );
			if ( $order instanceof \WC_Order ) {
				foreach ( $order->get_items() as $item_id => $item ) {
					$names[ (int) $item_id ] = $item->get_name();
				}
			}
			foreach ( (array) json_decode( (string) $row['items'], true ) as $item ) {
				$id      = absint( $item['order_item_id'] ?? 0 );
				$items[] = ( $names[ $id ] ?? '#' . $id ) . ' × ' . absint( $item['quantity'] ?? 0 ) . ' — ' . Rules::reason_label( (string) ( $item['reason'] ?? '' ) );
			}
			$fields = array(
				__( 'Return', 'bpm-bridge' )              => Rma::number( (int) $row['id'] ),
				__( 'Order', 'bpm-bridge' )               => $order instanceof \WC_Order ? (string) $order->get_order_number() : (string) $row['order_id'],
				__( 'Requested', 'bpm-bridge' )           => gmdate( 'Y-m-d H:i', Outbox::ts( (string) $row['created_at'] ) ) . ' UTC',
				__( 'Status', 'bpm-bridge' )              => Rma::status_label( (string) $row['status'] ),
				__( 'Items', 'bpm-bridge' )               => implode( '; ', $items ),
				__( 'Comment', 'bpm-bridge' )             => (string) $row['customer_note'],
				__( 'Return method', 'bpm-bridge' )       => (string) $row['method'],
				__( 'Parcel locker code', 'bpm-bridge' )  => (string) $row['point'],
				__( 'E-mail', 'bpm-bridge' )              => (string) $row['email'],
				__( 'Bank account for the refund', 'bpm-bridge' ) => $row['has_iban'] ? (string) Rma::iban( (int) $row['id'] ) : '',
				__( 'Photos', 'bpm-bridge' )              => (string) ( is_array( $photos ) ? count( $photos ) : 0 ),
			);
			$item   = array();
			foreach ( $fields as $name => $value ) {
				if ( '' !== $value ) {
					$item[] = array(
						'name'  => $name,
						'value' => $value,
					);
				}
			}
			$data[] = array(
				'group_id'    => self::KEY,
				'group_label' => __( 'Returns', 'bpm-bridge' ),
				'item_id'     => 'bpm-bridge-return-' . (int) $row['id'],
				'data'        => $item,
			);
		}
		return array(
			'data' => $data,
			'done' => count( $rows ) < self::PER_PAGE,
		);
	}

	/**
	 * The eraser. Always the first page of what is left to erase: an erased return no longer matches.
	 *
	 * @param string $email E-mail address.
	 * @param int    $page  Page (unused: see above).
	 * @return array{items_removed: bool, items_retained: bool, messages: string[], done: bool}
	 */
	public static function erase( $email, $page = 1 ): array {
		global $wpdb;
		unset( $page );
		$email   = (string) $email;
		$rows    = '' === $email ? array() : self::rows( $email, "AND ( email <> '' OR iban IS NOT NULL OR ( customer_note IS NOT NULL AND customer_note <> '' ) OR photos IS NOT NULL )", 0 );
		$table   = Installer::rma_table();
		$events  = Installer::rma_events_table();
		$removed = false;
		foreach ( $rows as $row ) {
			Photos::delete( array_map( 'strval', (array) json_decode( (string) $row['photos'], true ) ) );
			$wpdb->query( $wpdb->prepare( "UPDATE {$table} SET email = '', iban = NULL, customer_note = '', photos = NULL, updated_at = %s WHERE id = %d", Outbox::dt( time() ), (int) $row['id'] ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			// Steps that named the address (e.g. "E-mail … sent to …") keep their words without it.
			foreach ( array_unique( array_filter( array( (string) $row['email'], $email ) ) ) as $address ) {
				$wpdb->query( $wpdb->prepare( "UPDATE {$events} SET message = REPLACE( message, %s, %s ) WHERE rma_id = %d", $address, '[…]', (int) $row['id'] ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			}
			Rma::log( (int) $row['id'], 'privacy', __( 'Personal data erased on request: e-mail, refund account, comment and photos. Items and amounts are kept.', 'bpm-bridge' ), 'system', false );
			$removed = true;
		}
		return array(
			'items_removed'  => $removed,
			'items_retained' => $removed,
			'messages'       => $removed ? array( __( 'Returns: the returned items, quantities and amounts are kept for warranty and tax records.', 'bpm-bridge' ) ) : array(),
			'done'           => count( $rows ) < self::PER_PAGE,
		);
	}

	/**
	 * A refunded return: the account number goes at once when the payment method sent the money back.
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $from   Previous status.
	 * @param string $to     New status.
	 */
	public static function status_changed( $rma_id, $from, $to ): void {
		unset( $from );
		if ( 'refunded' !== $to ) {
			return;
		}
		$rma    = Rma::get( (int) $rma_id );
		$refund = $rma && $rma['refund_id'] && function_exists( 'wc_get_order' ) ? wc_get_order( (int) $rma['refund_id'] ) : null;
		if ( $refund instanceof \WC_Order_Refund && $refund->get_refunded_payment() ) {
			self::forget_iban( (int) $rma_id );
		}
	}

	/**
	 * Forgets the refund accounts of returns refunded more than IBAN_KEEP_DAYS ago (the daily purge).
	 *
	 * @param int|null $now Unix seconds (tests).
	 * @return int How many were forgotten.
	 */
	public static function forget_refund_accounts( ?int $now = null ): int {
		global $wpdb;
		$table  = Installer::rma_table();
		$events = Installer::rma_events_table();
		$cutoff = Outbox::dt( ( $now ?? time() ) - self::IBAN_KEEP_DAYS * DAY_IN_SECONDS );
		return (int) $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET iban = NULL WHERE status = %s AND iban IS NOT NULL AND id IN ( SELECT rma_id FROM {$events} WHERE event = %s AND created_at < %s )", 'refunded', 'refunded', $cutoff ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Forgets one return's refund account.
	 *
	 * @param int $rma_id RMA id.
	 */
	private static function forget_iban( int $rma_id ): void {
		global $wpdb;
		$table = Installer::rma_table();
		$wpdb->query( $wpdb->prepare( "UPDATE {$table} SET iban = NULL WHERE id = %d", $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}
}
