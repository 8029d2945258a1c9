<?php
/**
 * Admin notices that survive the redirect after an admin-post action.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

defined( 'ABSPATH' ) || exit;

/**
 * Per-user, short-lived notices and "shown once" values.
 *
 * Admin actions follow post/redirect/get, so their result has to cross one redirect. A per-user transient
 * does that without putting messages (or secrets) into the URL.
 */
final class Notices {

	/**
	 * Seconds a notice waits for the next page view before it is dropped.
	 */
	const TTL = 600;

	/**
	 * Queues a notice for the current user.
	 *
	 * @param string $type    One of success, error, warning, info.
	 * @param string $message Plain text; escaped when shown.
	 */
	public static function add( string $type, string $message ): void {
		$key      = self::key( 'notices' );
		$notices  = get_transient( $key );
		$notices  = is_array( $notices ) ? $notices : array();
		$notices[] = array(
			'type'    => in_array( $type, array( 'success', 'error', 'warning', 'info' ), true ) ? $type : 'info',
			'message' => $message,
		);
		set_transient( $key, $notices, self::TTL );
	}

	/**
	 * Stores a value that must be shown exactly once (a new secret, an Application Password).
	 *
	 * The value is kept encrypted with the plugin's key when the runtime offers one, so a database dump taken
	 * during those few minutes does not contain it in clear text.
	 *
	 * @param string               $kind Which panel shows it: "secret" or "api_user".
	 * @param array<string, mixed> $data Values for the panel.
	 */
	public static function reveal( string $kind, array $data ): void {
		$payload = wp_json_encode(
			array(
				'kind' => $kind,
				'data' => $data,
			)
		);
		set_transient( self::key( 'reveal' ), Runtime::encrypt( (string) $payload ), self::TTL );
	}

	/**
	 * Returns and forgets the current user's notices.
	 *
	 * @return array<int, array{type: string, message: string}>
	 */
	public static function take(): array {
		$key     = self::key( 'notices' );
		$notices = get_transient( $key );
		delete_transient( $key );
		return is_array( $notices ) ? $notices : array();
	}

	/**
	 * Returns and forgets the value to show once, if any.
	 *
	 * @return array{kind: string, data: array<string, mixed>}|null
	 */
	public static function take_reveal(): ?array {
		$key    = self::key( 'reveal' );
		$stored = get_transient( $key );
		delete_transient( $key );
		if ( ! is_string( $stored ) || '' === $stored ) {
			return null;
		}
		$decoded = json_decode( Runtime::decrypt( $stored ), true );
		if ( ! is_array( $decoded ) || ! isset( $decoded['kind'], $decoded['data'] ) || ! is_array( $decoded['data'] ) ) {
			return null;
		}
		return array(
			'kind' => (string) $decoded['kind'],
			'data' => $decoded['data'],
		);
	}

	/**
	 * Prints the queued notices in WordPress' notice markup.
	 */
	public static function render(): void {
		foreach ( self::take() as $notice ) {
			printf(
				'<div class="notice notice-%1$s bpm-bridge-notice"><p>%2$s</p></div>',
				esc_attr( $notice['type'] ),
				esc_html( $notice['message'] )
			);
		}
	}

	/**
	 * Transient name for this user.
	 *
	 * @param string $what Which store.
	 */
	private static function key( string $what ): string {
		return 'bpm_bridge_' . $what . '_' . get_current_user_id();
	}
}
