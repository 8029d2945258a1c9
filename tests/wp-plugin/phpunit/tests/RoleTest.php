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
			// WordPress 6.8+ hashes Application Passwords its own way and checks them with check_password().
			$matches = method_exists( 'WP_Application_Passwords', 'check_password' )
				? WP_Application_Passwords::check_password( $first['password'], $items[0]['password'] )
				: wp_check_password( $first['password'], $items[0]['password'] );
			$this->assertTrue( $matches );

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

	/**
	 * A REST request dispatched in-process as the current user.
	 *
	 * @param string $method Method.
	 * @param string $route  Route.
	 * @param array  $query  Query parameters.
	 * @param array  $body   Body parameters.
	 */
	private function rest( string $method, string $route, array $query = array(), array $body = array() ): WP_REST_Response {
		$request = new WP_REST_Request( $method, $route );
		$request->set_query_params( $query );
		if ( $body ) {
			$request->set_body_params( $body );
		}
		return rest_do_request( $request );
	}

	public function test_api_user_cannot_manage_application_passwords_but_an_administrator_can_for_it(): void {
		$api_id = $this->as_api_user();
		foreach ( array( 'create_app_password', 'list_app_passwords', 'read_app_password', 'edit_app_password', 'delete_app_passwords', 'delete_app_password' ) as $cap ) {
			$this->assertFalse( current_user_can( $cap, $api_id ), $cap );
		}
		$minted = $this->rest( 'POST', "/wp/v2/users/{$api_id}/application-passwords", array(), array( 'name' => 'mine' ) );
		$this->assertSame( 403, $minted->get_status() );
		$this->assertSame( array(), WP_Application_Passwords::get_user_application_passwords( $api_id ) );

		wp_set_current_user( $this->make_user( 'administrator' ) );
		$this->assertTrue( current_user_can( 'create_app_password', $api_id ) );
		$created = $this->rest( 'POST', "/wp/v2/users/{$api_id}/application-passwords", array(), array( 'name' => 'for the sidecar' ) );
		$this->assertSame( 201, $created->get_status(), wp_json_encode( $created->get_data() ) );
		$this->assertCount( 1, WP_Application_Passwords::get_user_application_passwords( $api_id ) );
	}

	public function test_api_user_cannot_edit_its_own_profile_email_or_password(): void {
		$api_id = $this->as_api_user();
		$before = get_userdata( $api_id );
		$this->assertFalse( current_user_can( 'edit_user', $api_id ) );
		$changed = $this->rest( 'POST', '/wp/v2/users/me', array(), array( 'email' => 'evil@example.test', 'password' => 'known-password-1' ) );
		$this->assertSame( 403, $changed->get_status() );
		clean_user_cache( $api_id );
		$after = get_userdata( $api_id );
		$this->assertSame( $before->user_email, $after->user_email );
		$this->assertSame( $before->user_pass, $after->user_pass );
		// An administrator still manages the user.
		wp_set_current_user( $this->make_user( 'administrator' ) );
		$this->assertTrue( current_user_can( 'edit_user', $api_id ) );
	}

	public function test_api_user_gets_no_password_reset_and_no_password_login(): void {
		$api_id = $this->make_user( Role::ROLE );
		$user   = get_userdata( $api_id );
		$this->assertTrue( is_wp_error( get_password_reset_key( $user ) ) );
		$this->assertFalse( apply_filters( 'allow_password_reset', true, $api_id ) );
		wp_set_password( 'known-password-1', $api_id );
		$this->assertTrue( is_wp_error( wp_authenticate( $user->user_login, 'known-password-1' ) ) );
		// Other users keep both.
		$other = $this->make_user( 'customer' );
		$this->assertTrue( apply_filters( 'allow_password_reset', true, $other ) );
		wp_set_password( 'known-password-2', $other );
		$this->assertInstanceOf( WP_User::class, wp_authenticate( get_userdata( $other )->user_login, 'known-password-2' ) );
	}

	public function test_api_user_is_kept_out_of_wp_admin(): void {
		$this->as_api_user();
		$died = null;
		$handler = static function () use ( &$died ) {
			return static function ( $message, $title, $args ) use ( &$died ) {
				$died = $args['response'] ?? 500;
				throw new RuntimeException( 'wp_die' );
			};
		};
		add_filter( 'wp_die_handler', $handler );
		try {
			Role::keep_out_of_admin();
		} catch ( RuntimeException $e ) {
			$this->assertSame( 'wp_die', $e->getMessage() );
		} finally {
			remove_filter( 'wp_die_handler', $handler );
		}
		$this->assertSame( 403, $died );
		$this->assertFalse( apply_filters( 'show_admin_bar', true ) );
		$this->assertNotFalse( has_action( 'admin_init', array( Role::class, 'keep_out_of_admin' ) ) );
	}

	public function test_api_user_reads_single_orders_but_cannot_list_or_search_them(): void {
		$order  = $this->make_order( 'processing' );
		$refund = wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '1.00', 'reason' => 'test' ) );
		$this->assertFalse( is_wp_error( $refund ) );
		$this->as_api_user();
		$single = $this->rest( 'GET', '/wc/v3/orders/' . $order->get_id() );
		$this->assertSame( 200, $single->get_status(), wp_json_encode( $single->get_data() ) );
		$one_refund = $this->rest( 'GET', '/wc/v3/orders/' . $order->get_id() . '/refunds/' . $refund->get_id() );
		$this->assertSame( 200, $one_refund->get_status(), wp_json_encode( $one_refund->get_data() ) );
		foreach ( array( array(), array( 'search' => 'Kowalski' ), array( 'customer' => 1 ), array( 'per_page' => 100 ) ) as $query ) {
			$this->assertRestError( 403, 'bpm_bridge_api_user_refused', $this->rest( 'GET', '/wc/v3/orders', $query ) );
		}
		$this->assertFalse( Role::rest_allowed( 'GET', '/wc/v3/orders/' . $order->get_id() . '/refunds' ) );
		$this->assertFalse( Role::rest_allowed( 'GET', '/wc/v3/orders/' . $order->get_id() . '/notes' ) );
		$this->assertFalse( Role::rest_allowed( 'GET', '/wc/v3/customers' ) );
		$this->assertFalse( Role::rest_allowed( 'GET', '/wc/v2/orders' ) );
		$this->assertFalse( Role::rest_allowed( 'POST', '/wc/v3/orders/' . $order->get_id() ) );
		$this->assertTrue( Role::rest_allowed( 'POST', '/bpm-bridge/v1/orders/search' ) );
		$this->assertTrue( Role::rest_allowed( 'GET', '/' ) );
	}

	public function test_other_users_are_not_restricted_by_the_api_guard(): void {
		$this->make_order( 'processing' );
		wp_set_current_user( $this->make_user( 'administrator' ) );
		$listed = $this->rest( 'GET', '/wc/v3/orders', array( 'search' => 'x' ) );
		$this->assertSame( 200, $listed->get_status() );
	}
}
