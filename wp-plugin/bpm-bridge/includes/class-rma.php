<?php
/**
 * Minimal return (RMA) storage so the RMA routes work; the customer form comes later.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Returns: requested → approved → label_ready → received → refunded | rejected.
 */
final class Rma {

	/**
	 * Allowed status transitions (contract.json, filterable with `bpm_bridge_rma_transitions`).
	 *
	 * @return array<string,string[]> from => list of to.
	 */
	public static function transitions(): array {
		return Contract::rma_transitions();
	}

	/**
	 * Creates a return request and queues rma.created.
	 *
	 * @param int    $order_id      Order id.
	 * @param array  $items         List of {order_item_id, product_id, quantity, reason}.
	 * @param string $customer_note Customer's note.
	 * @return int|\WP_Error RMA id.
	 */
	public static function create( int $order_id, array $items, string $customer_note = '' ) {
		global $wpdb;
		$clean = array();
		foreach ( $items as $item ) {
			$quantity = absint( $item['quantity'] ?? 0 );
			if ( $quantity < 1 ) {
				return new \WP_Error( 'bpm_bridge_rma_invalid_item', __( 'Each returned item needs a quantity of at least 1.', 'bpm-bridge' ) );
			}
			$clean[] = array(
				'order_item_id' => absint( $item['order_item_id'] ?? 0 ),
				'product_id'    => absint( $item['product_id'] ?? 0 ),
				'quantity'      => $quantity,
				'reason'        => sanitize_text_field( (string) ( $item['reason'] ?? '' ) ),
			);
		}
		if ( ! $clean ) {
			return new \WP_Error( 'bpm_bridge_rma_no_items', __( 'A return needs at least one item.', 'bpm-bridge' ) );
		}
		$now = Outbox::dt( time() );
		$ok  = $wpdb->insert( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			Installer::rma_table(),
			array(
				'order_id'      => $order_id,
				'status'        => 'requested',
				'items'         => wp_json_encode( $clean ),
				'customer_note' => sanitize_textarea_field( $customer_note ),
				'created_at'    => $now,
				'updated_at'    => $now,
			),
			array( '%d', '%s', '%s', '%s', '%s', '%s' )
		);
		if ( ! $ok ) {
			return new \WP_Error( 'bpm_bridge_rma_not_saved', __( 'The return could not be saved.', 'bpm-bridge' ) );
		}
		$rma_id = (int) $wpdb->insert_id;
		Outbox::add(
			'rma.created',
			array(
				'rma_id'   => $rma_id,
				'order_id' => $order_id,
				'status'   => 'requested',
			)
		);
		return $rma_id;
	}

	/**
	 * An RMA in the shape of GET /rmas/{id}, or null.
	 *
	 * @param int $rma_id RMA id.
	 * @return array<string,mixed>|null
	 */
	public static function get( int $rma_id ): ?array {
		global $wpdb;
		$table = Installer::rma_table();
		$row   = $wpdb->get_row( $wpdb->prepare( "SELECT id, order_id, status, items, label, customer_note, created_at FROM {$table} WHERE id = %d", $rma_id ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( ! $row ) {
			return null;
		}
		$items = json_decode( (string) $row['items'], true );
		$label = null === $row['label'] ? null : json_decode( (string) $row['label'], true );
		return array(
			'id'            => (int) $row['id'],
			'order_id'      => (int) $row['order_id'],
			'status'        => $row['status'],
			'items'         => is_array( $items ) ? $items : array(),
			'customer_note' => (string) $row['customer_note'],
			'label'         => is_array( $label ) ? $label : null,
			'created_at'    => gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( $row['created_at'] ) ),
		);
	}

	/**
	 * Whether a URL may be a label's: https with a host (http too on a site whose environment type is
	 * 'local'), no whitespace or control characters. Shoppers open it, so javascript:, data:, ftp: and "" are not.
	 *
	 * @param string      $url         URL.
	 * @param string|null $environment Environment type; wp_get_environment_type() when null.
	 */
	public static function is_valid_label_url( string $url, ?string $environment = null ): bool {
		if ( '' === $url || strlen( $url ) > 2000 || preg_match( '/[\s\x00-\x1f\x7f]/', $url ) ) {
			return false;
		}
		$schemes = 'local' === ( $environment ?? wp_get_environment_type() ) ? array( 'https', 'http' ) : array( 'https' );
		$parts   = wp_parse_url( $url );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) || ! in_array( strtolower( (string) ( $parts['scheme'] ?? '' ) ), $schemes, true ) ) {
			return false;
		}
		return '' !== esc_url_raw( $url, $schemes );
	}

	/**
	 * Attaches the return label once. A single conditional UPDATE makes a second label impossible even
	 * when two workers race. A stored label whose URL is not a valid label URL (saved before URLs were checked,
	 * e.g. "" from a javascript: URL) is no label: the first real one replaces it, with the same compare-and-set.
	 *
	 * @param int         $rma_id RMA id.
	 * @param array       $label  Label: carrier, tracking_number, url (is_valid_label_url()).
	 * @param string|null $pdf    Label PDF, base64 (kept for the customer form; not in GET).
	 * @return true|\WP_Error
	 */
	public static function set_label( int $rma_id, array $label, ?string $pdf = null ) {
		global $wpdb;
		$table = Installer::rma_table();
		if ( ! self::is_valid_label_url( (string) ( $label['url'] ?? '' ) ) ) {
			return new \WP_Error( 'rest_invalid_param', __( 'url must be an https URL of the label.', 'bpm-bridge' ), array( 'status' => 400 ) );
		}
		$label['url'] = esc_url_raw( (string) $label['url'], array( 'https', 'http' ) );
		$values       = array( wp_json_encode( $label, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ), (string) $pdf, Outbox::dt( time() ), $rma_id );
		$updated      = $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET label = %s, label_pdf = %s, updated_at = %s WHERE id = %d AND label IS NULL", $values ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( 1 === $updated ) {
			return true;
		}
		$current = self::get( $rma_id );
		if ( null === $current ) {
			return self::not_found();
		}
		if ( ! self::is_valid_label_url( (string) ( $current['label']['url'] ?? '' ) ) ) {
			$stored  = $wpdb->get_var( $wpdb->prepare( "SELECT label FROM {$table} WHERE id = %d", $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			$updated = null === $stored ? 0 : $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET label = %s, label_pdf = %s, updated_at = %s WHERE id = %d AND label = %s", array_merge( $values, array( $stored ) ) ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			if ( 1 === $updated ) {
				return true;
			}
			$current = self::get( $rma_id );
		}
		return new \WP_Error(
			'bpm_bridge_label_exists',
			__( 'This return already has a label.', 'bpm-bridge' ),
			array(
				'status' => 409,
				'label'  => $current['label'] ?? null,
			)
		);
	}

	/**
	 * Moves an RMA along an allowed transition (compare-and-set on the current status) and queues rma.updated.
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $from   Expected current status.
	 * @param string $to     New status.
	 * @param string $note   Optional note, added to the order.
	 * @return array{rma_id:int,order_id:int,status:string}|\WP_Error
	 */
	public static function set_status( int $rma_id, string $from, string $to, string $note = '' ) {
		global $wpdb;
		$allowed = self::transitions();
		if ( ! in_array( $to, $allowed[ $from ] ?? array(), true ) ) {
			return new \WP_Error(
				'bpm_bridge_transition_not_allowed',
				/* translators: 1: from status, 2: to status */
				sprintf( __( 'A return cannot move from "%1$s" to "%2$s".', 'bpm-bridge' ), $from, $to ),
				array( 'status' => 400 )
			);
		}
		$current = self::get( $rma_id );
		if ( null === $current ) {
			return self::not_found();
		}
		$result = array(
			'rma_id'   => $rma_id,
			'order_id' => $current['order_id'],
			'status'   => $to,
		);
		if ( $current['status'] === $to ) {
			return $result;
		}
		$table   = Installer::rma_table();
		$updated = $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET status = %s, updated_at = %s WHERE id = %d AND status = %s", $to, Outbox::dt( time() ), $rma_id, $from ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( 1 !== $updated ) {
			$now = self::get( $rma_id );
			if ( $now && $now['status'] === $to ) {
				return $result;
			}
			return new \WP_Error(
				'bpm_bridge_status_conflict',
				__( 'The return is not in the expected status.', 'bpm-bridge' ),
				array(
					'status'  => 409,
					'current' => $now ? $now['status'] : null,
				)
			);
		}
		if ( '' !== $note && function_exists( 'wc_get_order' ) ) {
			$order = wc_get_order( $current['order_id'] );
			if ( $order ) {
				/* translators: 1: return id, 2: note */
				$order->add_order_note( sprintf( __( 'Return #%1$d: %2$s', 'bpm-bridge' ), $rma_id, $note ) );
			}
		}
		Outbox::add( 'rma.updated', $result );
		return $result;
	}

	/**
	 * The number a customer and the shop quote: RMA-000042.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function number( int $rma_id ): string {
		return 'RMA-' . str_pad( (string) $rma_id, 6, '0', STR_PAD_LEFT );
	}

	/**
	 * Adds a step to the return's timeline.
	 *
	 * @param int    $rma_id  RMA id.
	 * @param string $event   Step: requested, approved, rejected, label_ready, arrived, received, refunded, note, email, error, ...
	 * @param string $message What happened, in words (translated; the customer reads public steps).
	 * @param string $actor   Who: customer, staff, system or carrier.
	 * @param bool   $public  Whether the customer sees it in My Account.
	 */
	public static function log( int $rma_id, string $event, string $message, string $actor = 'system', bool $public = true ): void {
		global $wpdb;
		$wpdb->insert( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			Installer::rma_events_table(),
			array(
				'rma_id'     => $rma_id,
				'created_at' => Outbox::dt( time() ),
				'actor'      => sanitize_key( $actor ),
				'event'      => sanitize_key( $event ),
				'message'    => sanitize_textarea_field( $message ),
				'public'     => $public ? 1 : 0,
			),
			array( '%d', '%s', '%s', '%s', '%s', '%d' )
		);
	}

	/**
	 * The return's timeline, oldest first.
	 *
	 * @param int  $rma_id      RMA id.
	 * @param bool $public_only Only the steps the customer sees.
	 * @return array<int, array{at: string, actor: string, event: string, message: string, public: bool}>
	 */
	public static function timeline( int $rma_id, bool $public_only = false ): array {
		global $wpdb;
		$table = Installer::rma_events_table();
		$rows  = (array) $wpdb->get_results( $wpdb->prepare( "SELECT created_at, actor, event, message, public FROM {$table} WHERE rma_id = %d AND public >= %d ORDER BY id ASC", $rma_id, $public_only ? 1 : 0 ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array_map(
			static function ( $row ) {
				return array(
					'at'      => gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( $row['created_at'] ) ),
					'actor'   => (string) $row['actor'],
					'event'   => (string) $row['event'],
					'message' => (string) $row['message'],
					'public'  => (bool) $row['public'],
				);
			},
			$rows
		);
	}

	/**
	 * Not-found error.
	 */
	private static function not_found(): \WP_Error {
		return new \WP_Error( 'bpm_bridge_rma_not_found', __( 'No return with this id.', 'bpm-bridge' ), array( 'status' => 404 ) );
	}
}
