<?php
/**
 * The least-privilege role and the API user.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Options;
use BPM_Bridge\Role;

/**
 * Role.
 */
class RoleTest extends BPM_Test_Case {

	public function test_role_has_exactly_three_capabilities(): void {
		$role = get_role( 'bpm_api' );
		$this->assertNotNull( $role );
		$this->assertSame(
			array(
				'bpm_bridge_api'           => true,
				'read'                     => true,
				'read_private_shop_orders' => true,
			),
			( static function ( $caps ) {
				ksort( $caps );
				return $caps;
			} )( $role->capabilities )
		);
	}

	public function test_api_user_can_read_orders_and_nothing_broad(): void {
		$this->as_api_user();
		$this->assertTrue( current_user_can( 'bpm_bridge_api' ) );
		$this->assertTrue( current_user_can( 'read_private_shop_orders' ) );
		foreach ( array( 'manage_woocommerce', 'edit_shop_orders', 'edit_others_shop_orders', 'publish_shop_orders', 'list_users', 'edit_posts', 'edit_others_posts', 'manage_options', 'edit_products' ) as $cap ) {
			$this->assertFalse( current_user_can( $cap ), $cap );
		}
	}

	public function test_administrators_do_not_get_the_api_capability(): void {
		wp_set_current_user( $this->make_user( 'administrator' ) );
		$this->assertTrue( current_user_can( 'manage_woocommerce' ) );
		$this->assertFalse( current_user_can( 'bpm_bridge_api' ) );
	}

	public function test_ensure_resets_a_widened_role(): void {
		get_role( 'bpm_api' )->add_cap( 'edit_others_shop_orders' );
		Role::ensure();
		$this->assertArrayNotHasKey( 'edit_others_shop_orders', get_role( 'bpm_api' )->capabilities );
		$this->assertCount( 3, get_role( 'bpm_api' )->capabilities );
	}

	public function test_ensure_api_user_creates_the_user_and_a_working_application_password(): void {
		$saved = get_option( Options::API_USER_ID );
		delete_option( Options::API_USER_ID );
		$first = Role::ensure_api_user();
		$this->assertIsArray( $first );
		try {
			$user = get_userdata( $first['user_id'] );
			$this->assertSame( array( 'bpm_api' ), array_values( $user->roles ) );
			$this->assertSame( 24, strlen( $first['password'] ) );
			$items = WP_Application_Passwords::get_user_application_passwords( $first['user_id'] );
			$this->assertCount( 1, $items );
			$this->assertTrue( wp_check_password( $first['password'], $items[0]['password'] ) );

			// A second call reuses the user; with revocation the earlier password stops existing.
			$second = Role::ensure_api_user( true );
			$this->assertSame( $first['user_id'], $second['user_id'] );
			$items = WP_Application_Passwords::get_user_application_passwords( $first['user_id'] );
			$this->assertCount( 1, $items );
			$this->assertSame( $second['uuid'], $items[0]['uuid'] );
		} finally {
			require_once ABSPATH . 'wp-admin/includes/user.php';
			wp_delete_user( $first['user_id'] );
			update_option( Options::API_USER_ID, $saved );
		}
	}
}
