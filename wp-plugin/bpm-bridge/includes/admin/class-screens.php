<?php
/**
 * Where BPM Bridge's admin screens are: the settings tab and the Events page.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

defined( 'ABSPATH' ) || exit;

/**
 * Addresses of the screens, for every admin class and template (so none of them depends on Admin, which wires
 * the hooks).
 */
final class Screens {

	/**
	 * Id of the WooCommerce settings tab (Capabilities::MANAGE only).
	 */
	const TAB = 'bpm_bridge';

	/**
	 * Slug of the Events screen (WooCommerce → BPM Bridge events; Capabilities::OPERATE, so Shop Managers
	 * reach it without the settings tab).
	 */
	const EVENTS_PAGE = 'bpm-bridge-events';

	/**
	 * URL of a section of the tab, or of the Events screen for "events".
	 *
	 * @param string               $section Section id.
	 * @param array<string, mixed> $query   Extra query arguments.
	 */
	public static function url( string $section = '', array $query = array() ): string {
		if ( 'events' === $section ) {
			return add_query_arg( array_merge( array( 'page' => self::EVENTS_PAGE ), $query ), admin_url( 'admin.php' ) );
		}
		$args = array(
			'page' => 'wc-settings',
			'tab'  => self::TAB,
		);
		if ( '' !== $section ) {
			$args['section'] = $section;
		}
		return add_query_arg( array_merge( $args, $query ), admin_url( 'admin.php' ) );
	}

	/**
	 * Whether the current request shows the BPM Bridge tab or the Events screen.
	 */
	public static function on_own_screen(): bool {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only decides whether to load assets.
		$page = isset( $_GET['page'] ) ? sanitize_key( wp_unslash( $_GET['page'] ) ) : '';
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only decides whether to load assets.
		$tab = isset( $_GET['tab'] ) ? sanitize_key( wp_unslash( $_GET['tab'] ) ) : '';
		return ( 'wc-settings' === $page && self::TAB === $tab ) || self::EVENTS_PAGE === $page;
	}
}
