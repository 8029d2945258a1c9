<?php
/**
 * Who may do what in BPM Bridge's admin: the plugin's own capability and the roles that get it.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Two levels. MANAGE (bpm_bridge_manage, granted to administrators) guards everything that reveals or
 * redirects credentials: settings, provider credentials, the signing secret, the API user and its
 * Application Passwords, the sidecar URL and Test connection. OPERATE (WooCommerce's manage_woocommerce,
 * which Shop Managers have) is enough for the Events screen, Retry and the order box.
 */
final class Capabilities {

	/**
	 * The plugin's own administrator-level capability.
	 */
	const MANAGE = 'bpm_bridge_manage';

	/**
	 * Day-to-day operation of the shop's events (WooCommerce's own capability).
	 */
	const OPERATE = 'manage_woocommerce';

	/**
	 * Roles that get MANAGE (filter bpm_bridge_manage_roles).
	 *
	 * @return string[]
	 */
	public static function manage_roles(): array {
		/**
		 * Filters the roles granted bpm_bridge_manage on activation and on every plugin upgrade.
		 *
		 * @param string[] $roles Role names; default array( 'administrator' ).
		 */
		return array_values( array_filter( array_map( 'strval', (array) apply_filters( 'bpm_bridge_manage_roles', array( 'administrator' ) ) ) ) );
	}

	/**
	 * Grants MANAGE to the filtered roles (activation and upgrade). Roles that do not exist are skipped.
	 */
	public static function grant(): void {
		foreach ( self::manage_roles() as $name ) {
			$role = get_role( $name );
			if ( $role && ! $role->has_cap( self::MANAGE ) ) {
				$role->add_cap( self::MANAGE );
			}
		}
	}

	/**
	 * Removes MANAGE from every role (uninstall).
	 */
	public static function revoke_all(): void {
		foreach ( array_keys( wp_roles()->roles ) as $name ) {
			$role = get_role( $name );
			if ( $role && $role->has_cap( self::MANAGE ) ) {
				$role->remove_cap( self::MANAGE );
			}
		}
	}
}
