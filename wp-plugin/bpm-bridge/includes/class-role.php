<?php
/**
 * The least-privilege "BPM API" role and the sidecar's user.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * The sidecar's WordPress identity can read orders and use the plugin's own narrow routes, nothing else:
 * no edit_* (under HPOS the WooCommerce REST edit checks need broad post caps), no publish_shop_orders
 * (adding a note through /wc/v3 needs it, and it also allows creating orders), no manage_woocommerce,
 * no list_users. Administrators do not get bpm_bridge_api: they use manage_woocommerce for the UI, and
 * the capability stays a marker of the API identity only.
 */
final class Role {

	const ROLE            = 'bpm_api';
	const CAP             = 'bpm_bridge_api';
	const APP_PASSWORD    = 'BPM Bridge sidecar';
	const DEFAULT_LOGIN   = 'bpm-api';
	const DISPLAY_NAME    = 'BPM API';
	const OWN_USER_OPTION = Options::API_USER_ID;

	/**
	 * The role's exact capabilities.
	 *
	 * @return array<string,bool>
	 */
	public static function capabilities(): array {
		return array(
			'read'                     => true,
			'read_private_shop_orders' => true,
			self::CAP                  => true,
		);
	}

	/**
	 * Creates the role, or resets it to exactly capabilities() if someone widened it.
	 */
	public static function ensure(): void {
		$role = get_role( self::ROLE );
		if ( null === $role ) {
			add_role( self::ROLE, self::DISPLAY_NAME, self::capabilities() );
			return;
		}
		$wanted = self::capabilities();
		foreach ( array_keys( $role->capabilities ) as $cap ) {
			if ( ! isset( $wanted[ $cap ] ) ) {
				$role->remove_cap( $cap );
			}
		}
		foreach ( $wanted as $cap => $grant ) {
			if ( empty( $role->capabilities[ $cap ] ) ) {
				$role->add_cap( $cap, $grant );
			}
		}
	}

	/**
	 * Removes the role (uninstall).
	 */
	public static function remove(): void {
		remove_role( self::ROLE );
	}

	/**
	 * The sidecar's user id, or 0 when it does not exist.
	 */
	public static function api_user_id(): int {
		$user_id = (int) get_option( self::OWN_USER_OPTION, 0 );
		return ( $user_id && get_userdata( $user_id ) ) ? $user_id : 0;
	}

	/**
	 * Creates (or finds) the sidecar's user in the BPM API role and gives it a new Application Password.
	 * The password is returned once and never stored in plain text by WordPress.
	 *
	 * @param bool $revoke_existing Also revoke earlier "BPM Bridge sidecar" passwords of that user.
	 * @return array{user_id:int,login:string,password:string,uuid:string}|\WP_Error
	 */
	public static function ensure_api_user( bool $revoke_existing = false ) {
		self::ensure();
		$user_id = self::api_user_id();
		if ( 0 === $user_id ) {
			$login  = self::DEFAULT_LOGIN;
			$suffix = 1;
			while ( username_exists( $login ) ) {
				++$suffix;
				$login = self::DEFAULT_LOGIN . '-' . $suffix;
			}
			$user_id = wp_insert_user(
				array(
					'user_login'   => $login,
					'user_pass'    => wp_generate_password( 64, true, true ),
					'display_name' => self::DISPLAY_NAME,
					'role'         => self::ROLE,
				)
			);
			if ( is_wp_error( $user_id ) ) {
				return $user_id;
			}
			update_option( self::OWN_USER_OPTION, $user_id, false );
		}
		$user = get_userdata( $user_id );
		// The identity must hold this role only, whatever someone did to it meanwhile.
		$user->set_role( self::ROLE );

		if ( $revoke_existing ) {
			foreach ( \WP_Application_Passwords::get_user_application_passwords( $user_id ) as $item ) {
				if ( self::APP_PASSWORD === $item['name'] ) {
					\WP_Application_Passwords::delete_application_password( $user_id, $item['uuid'] );
				}
			}
		}
		$created = \WP_Application_Passwords::create_new_application_password( $user_id, array( 'name' => self::APP_PASSWORD ) );
		if ( is_wp_error( $created ) ) {
			return $created;
		}
		return array(
			'user_id'  => (int) $user_id,
			'login'    => $user->user_login,
			'password' => $created[0],
			'uuid'     => $created[1]['uuid'],
		);
	}
}
