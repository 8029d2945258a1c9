<?php
/**
 * Template loader for the admin screens.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

defined( 'ABSPATH' ) || exit;

/**
 * Renders files from the plugin's templates/ folder with a small set of variables.
 */
final class Views {

	/**
	 * Includes templates/{$name} with $vars available as $args.
	 *
	 * Templates get one array instead of extract()ed variables so every value they print is traceable.
	 *
	 * @param string               $name Path below templates/, e.g. "admin/events.php".
	 * @param array<string, mixed> $args Values for the template.
	 */
	public static function template( string $name, array $args = array() ): void {
		$file = dirname( __DIR__, 2 ) . '/templates/' . $name;
		if ( ! preg_match( '#^[a-z0-9/_-]+\.php$#', $name ) || ! is_file( $file ) ) {
			return;
		}
		include $file;
	}

	/**
	 * A status pill.
	 *
	 * @param string $status Outbox or outcome status.
	 */
	public static function status( string $status ): string {
		$labels = self::status_labels();
		$label  = $labels[ $status ] ?? $status;
		return sprintf(
			'<span class="bpm-bridge-status bpm-bridge-status--%1$s">%2$s</span>',
			esc_attr( sanitize_html_class( $status ) ),
			esc_html( $label )
		);
	}

	/**
	 * Translated names of outbox and outcome statuses.
	 *
	 * @return array<string, string>
	 */
	public static function status_labels(): array {
		return array(
			'pending'  => __( 'Pending', 'bpm-bridge' ),
			'sent'     => __( 'Sent', 'bpm-bridge' ),
			'done'     => __( 'Done', 'bpm-bridge' ),
			'failed'   => __( 'Failed', 'bpm-bridge' ),
			'skipped'  => __( 'Skipped', 'bpm-bridge' ),
			'retrying' => __( 'Retrying', 'bpm-bridge' ),
		);
	}

	/**
	 * A stored UTC time in the site's time zone and format, or a dash.
	 *
	 * @param string|null $utc Time in UTC as the outbox stores it ("Y-m-d H:i:s").
	 */
	public static function time( ?string $utc ): string {
		if ( null === $utc || '' === $utc || '0000-00-00 00:00:00' === $utc ) {
			return '—';
		}
		$timestamp = strtotime( $utc . ' UTC' );
		if ( false === $timestamp ) {
			return '—';
		}
		return wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $timestamp );
	}

	/**
	 * Whether a stored link may be shown as a link: an absolute http(s) URL. (wp_http_validate_url() would
	 * also resolve the host, which is a network lookup in an admin page and fails for hosts it cannot reach.)
	 *
	 * @param string $url Candidate.
	 */
	public static function is_web_url( string $url ): bool {
		$parts = wp_parse_url( $url );
		return is_array( $parts ) && isset( $parts['scheme'], $parts['host'] ) && in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true );
	}

	/**
	 * Link to an order's edit screen (HPOS or posts), or an empty string.
	 *
	 * @param int $order_id Order id.
	 */
	public static function order_url( int $order_id ): string {
		if ( $order_id <= 0 ) {
			return '';
		}
		if ( class_exists( '\Automattic\WooCommerce\Utilities\OrderUtil' ) && method_exists( '\Automattic\WooCommerce\Utilities\OrderUtil', 'get_order_admin_edit_url' ) ) {
			return (string) \Automattic\WooCommerce\Utilities\OrderUtil::get_order_admin_edit_url( $order_id );
		}
		return admin_url( 'post.php?post=' . $order_id . '&action=edit' );
	}
}
