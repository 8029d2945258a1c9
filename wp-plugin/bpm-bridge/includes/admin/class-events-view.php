<?php
/**
 * The Events screen: the outbox, with status filters and Retry buttons.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Capabilities;
use BPM_Bridge\Contract;

defined( 'ABSPATH' ) || exit;

/**
 * Reads the filter and page from the query string and renders templates/admin/events.php.
 */
final class Events_View {

	/**
	 * Rows per page.
	 */
	const PER_PAGE = 25;

	/**
	 * Outbox statuses the filter offers, in lifecycle order (the contract's list).
	 *
	 * @return string[]
	 */
	public static function statuses(): array {
		return Contract::outbox_statuses();
	}

	/**
	 * The status filter from the query string ('' for all).
	 */
	public static function current_status(): string {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a read-only filter.
		$status = isset( $_GET['status'] ) ? sanitize_key( wp_unslash( $_GET['status'] ) ) : '';
		return in_array( $status, self::statuses(), true ) ? $status : '';
	}

	/**
	 * Prints the Events admin page (WooCommerce → BPM Bridge events).
	 */
	public static function render_page(): void {
		if ( ! current_user_can( Capabilities::OPERATE ) ) {
			wp_die( esc_html__( 'You are not allowed to manage BPM Bridge.', 'bpm-bridge' ), '', array( 'response' => 403 ) );
		}
		echo '<div class="wrap woocommerce bpm-bridge-events-page"><h1>' . esc_html__( 'BPM Bridge events', 'bpm-bridge' ) . '</h1>';
		Notices::render();
		self::render();
		echo '</div>';
	}

	/**
	 * Prints the screen's content.
	 */
	public static function render(): void {
		$status = self::current_status();
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a read-only page number.
		$page   = isset( $_GET['paged'] ) ? max( 1, absint( wp_unslash( $_GET['paged'] ) ) ) : 1;
		$result = Runtime::events( $status, $page, self::PER_PAGE );
		Views::template(
			'admin/events.php',
			array(
				'status'   => $status,
				'counts'   => Runtime::event_counts(),
				'items'    => $result['items'],
				'total'    => (int) $result['total'],
				'page'     => (int) $result['page'],
				'pages'    => (int) $result['pages'],
				'statuses' => self::statuses(),
				'hours'    => Contract::retry_window_hours(),
			)
		);
	}

	/**
	 * Short description of what an event is about, from its payload ("order #12 pending → processing").
	 *
	 * @param array<string, mixed> $row Outbox row.
	 */
	public static function summary( array $row ): string {
		$payload = json_decode( (string) ( $row['payload'] ?? '' ), true );
		$data    = is_array( $payload ) && isset( $payload['data'] ) && is_array( $payload['data'] ) ? $payload['data'] : array();
		$parts   = array();
		if ( isset( $data['from'], $data['to'] ) && is_scalar( $data['from'] ) && is_scalar( $data['to'] ) ) {
			$parts[] = $data['from'] . ' → ' . $data['to'];
		} elseif ( isset( $data['to'] ) && is_scalar( $data['to'] ) ) {
			$parts[] = '→ ' . $data['to'];
		}
		if ( isset( $data['refund_id'] ) && is_scalar( $data['refund_id'] ) ) {
			/* translators: %s: refund id. */
			$parts[] = sprintf( __( 'refund #%s', 'bpm-bridge' ), $data['refund_id'] );
		}
		if ( isset( $data['rma_id'] ) && is_scalar( $data['rma_id'] ) ) {
			/* translators: %s: return (RMA) id. */
			$parts[] = sprintf( __( 'return #%s', 'bpm-bridge' ), $data['rma_id'] );
		}
		if ( isset( $data['version'] ) && is_scalar( $data['version'] ) ) {
			/* translators: %s: configuration version number. */
			$parts[] = sprintf( __( 'version %s', 'bpm-bridge' ), $data['version'] );
		}
		return implode( ', ', $parts );
	}

	/**
	 * The per-action outcomes of a row, including actions the sidecar queued but has not reported on yet.
	 *
	 * @param array<string, mixed> $row Outbox row.
	 * @return array<string, array{status: string, message: string, at: string}>
	 */
	public static function outcomes( array $row ): array {
		$outcomes = array();
		foreach ( (array) ( $row['actions'] ?? array() ) as $action ) {
			if ( is_string( $action ) ) {
				$outcomes[ $action ] = array(
					'status'  => '',
					'message' => '',
					'at'      => '',
				);
			}
		}
		foreach ( (array) ( $row['outcomes'] ?? array() ) as $action => $outcome ) {
			if ( ! is_array( $outcome ) ) {
				continue;
			}
			$outcomes[ (string) $action ] = array(
				'status'  => (string) ( $outcome['status'] ?? '' ),
				'message' => (string) ( $outcome['message'] ?? '' ),
				'at'      => (string) ( $outcome['at'] ?? '' ),
			);
		}
		return $outcomes;
	}
}
