<?php
/**
 * Who may do what in the admin, per role (docs/security.md): administrators configure, Shop Managers operate.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Admin\Actions;
use BPM_Bridge\Admin\Admin;
use BPM_Bridge\Admin\Events_View;
use BPM_Bridge\Admin\Order_Box;
use BPM_Bridge\Admin\Runtime;
use BPM_Bridge\Capabilities;
use BPM_Bridge\Options;
use BPM_Bridge\Role;

/**
 * Thrown instead of the redirect + exit that ends an admin-post handler.
 */
class BPM_Test_Redirect extends Exception {}

/**
 * Thrown instead of wp_die().
 */
class BPM_Test_Die extends Exception {}

/**
 * Admin roles.
 */
class AdminRolesTest extends BPM_Test_Case {

	/**
	 * Handlers end with a redirect and exit, or wp_die(): both become exceptions here.
	 */
	protected function setUp(): void {
		parent::setUp();
		Capabilities::grant();
		add_filter( 'wp_redirect', array( $this, 'throw_redirect' ), 1 );
		add_filter( 'wp_die_handler', array( $this, 'die_handler' ) );
		$_POST    = array();
		$_REQUEST = array();
	}

	/**
	 * Removes the exception hooks.
	 */
	protected function tearDown(): void {
		remove_filter( 'wp_redirect', array( $this, 'throw_redirect' ), 1 );
		remove_filter( 'wp_die_handler', array( $this, 'die_handler' ) );
		$_POST    = array();
		$_REQUEST = array();
		parent::tearDown();
	}

	/**
	 * Turns the handler's redirect into an exception.
	 *
	 * @param string $location Where to.
	 * @throws BPM_Test_Redirect Always.
	 */
	public function throw_redirect( $location ) {
		throw new BPM_Test_Redirect( (string) $location );
	}

	/**
	 * A wp_die() handler that throws.
	 *
	 * @return callable
	 */
	public function die_handler() {
		return static function ( $message ) {
			throw new BPM_Test_Die( is_string( $message ) ? $message : 'died' );
		};
	}

	/**
	 * Runs an admin-post handler as the current user with a valid nonce; returns "redirect" or "die: …".
	 *
	 * @param string               $name Handler name.
	 * @param array<string, mixed> $post Extra posted fields.
	 */
	private function run_action( string $name, array $post = array() ): string {
		$_POST    = array_merge( array( 'bpm_bridge_nonce' => wp_create_nonce( 'bpm_bridge_' . $name ) ), $post );
		$_REQUEST = $_POST;
		try {
			call_user_func( array( Actions::class, 'handle_' . $name ) );
		} catch ( BPM_Test_Redirect $e ) {
			return 'redirect';
		} catch ( BPM_Test_Die $e ) {
			return 'die: ' . $e->getMessage();
		}
		return 'returned';
	}

	public function test_administrators_have_the_manage_capability_and_shop_managers_do_not(): void {
		$admin = $this->make_user( 'administrator' );
		$shop  = $this->make_user( 'shop_manager' );
		$this->assertTrue( user_can( $admin, Capabilities::MANAGE ) );
		$this->assertFalse( user_can( $shop, Capabilities::MANAGE ) );
		$this->assertTrue( user_can( $shop, Capabilities::OPERATE ) );
		$this->assertFalse( user_can( $this->make_user( Role::ROLE ), Capabilities::MANAGE ) );
	}

	public function test_a_shop_manager_cannot_use_the_configuration_actions(): void {
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		$secret_before = get_option( Options::SECRET );
		Options::set_sidecar_url( 'http://127.0.0.1:9' );
		foreach ( array( 'secret', 'drop_previous_secret', 'test_connection', 'create_api_user' ) as $name ) {
			$result = $this->run_action( $name, array( 'mode' => 'rotate' ) );
			$this->assertStringStartsWith( 'die: ', $result, $name );
			$this->assertStringContainsString( 'not allowed to manage BPM Bridge', $result, $name );
		}
		$this->assertSame( $secret_before, get_option( Options::SECRET ) );
		$this->assertSame( array(), $this->events( 'ping' ), 'Test connection sent nothing' );
		$this->assertSame( array( 'retry_event', 'retry_failed' ), Actions::allowed() );
	}

	public function test_a_shop_manager_may_retry_events(): void {
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		$id = BPM_Bridge\Outbox::add( 'ping' );
		global $wpdb;
		$wpdb->update( BPM_Bridge\Installer::outbox_table(), array( 'status' => 'failed' ), array( 'id' => $id ) );
		$this->assertSame( 'redirect', $this->run_action( 'retry_event', array( 'event_id' => $id ) ) );
		$this->assertSame( 'pending', BPM_Bridge\Outbox::get( $id )['status'] );
		$this->assertSame( 'redirect', $this->run_action( 'retry_failed' ) );
	}

	public function test_an_administrator_may_use_every_action(): void {
		wp_set_current_user( $this->make_user( 'administrator' ) );
		$this->assertSame( array_keys( Actions::CAPS ), Actions::allowed() );
		$before = Options::get_secrets();
		$this->assertSame( 'redirect', $this->run_action( 'secret', array( 'mode' => 'rotate' ) ) );
		$this->assertNotSame( $before, Options::get_secrets() );
	}

	public function test_the_settings_tab_exists_for_administrators_only(): void {
		if ( ! class_exists( 'WC_Settings_Page' ) ) {
			require_once WC()->plugin_path() . '/includes/admin/settings/class-wc-settings-page.php';
		}
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		$this->assertSame( array(), Admin::add_settings_page( array() ), 'not rendered, not saved for a Shop Manager' );
		wp_set_current_user( $this->make_user( 'administrator' ) );
		$pages = Admin::add_settings_page( array() );
		$this->assertCount( 1, $pages );
		$this->assertSame( BPM_Bridge\Admin\Screens::TAB, $pages[0]->get_id() );
	}

	public function test_the_settings_form_refuses_a_shop_manager_even_if_called(): void {
		if ( ! class_exists( 'WC_Settings_Page' ) ) {
			require_once WC()->plugin_path() . '/includes/admin/settings/class-wc-settings-page.php';
		}
		wp_set_current_user( $this->make_user( 'administrator' ) );
		$page = new BPM_Bridge\Admin\Settings\Settings_Page();
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		Options::set_sidecar_url( 'http://127.0.0.1:9' );
		$_POST = array(
			'bpm_bridge'                => array( 'sidecar_url' => 'http://attacker.example' ),
			'bpm_bridge_settings_nonce' => wp_create_nonce( 'bpm_bridge_save_settings' ),
		);
		$_REQUEST = $_POST;
		try {
			$page->save();
			$this->fail( 'save() returned for a Shop Manager' );
		} catch ( BPM_Test_Die $e ) {
			$this->assertStringContainsString( 'not allowed', $e->getMessage() );
		}
		$this->assertSame( 'http://127.0.0.1:9', Options::get_sidecar_url() );
		ob_start();
		$page->output();
		$this->assertSame( '', ob_get_clean(), 'nothing rendered' );
	}

	public function test_a_shop_manager_sees_the_events_screen_and_the_order_box(): void {
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		BPM_Bridge\Outbox::add( 'ping' );
		ob_start();
		Events_View::render_page();
		$html = ob_get_clean();
		$this->assertStringContainsString( 'bpm-bridge-events', $html );
		$this->assertStringContainsString( (string) BPM_Bridge\Contract::retry_window_hours() . ' hours', $html );

		require_once ABSPATH . 'wp-admin/includes/template.php';
		require_once ABSPATH . 'wp-admin/includes/class-wp-screen.php';
		require_once ABSPATH . 'wp-admin/includes/screen.php';
		global $wp_meta_boxes;
		$wp_meta_boxes = array(); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited
		Order_Box::add();
		$this->assertNotEmpty( $wp_meta_boxes['shop_order']['side']['default']['bpm-bridge-order'] ?? null );

		// A subscriber gets neither.
		wp_set_current_user( $this->make_user( 'subscriber' ) );
		$wp_meta_boxes = array(); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited
		Order_Box::add();
		$this->assertEmpty( $wp_meta_boxes );
		try {
			Events_View::render_page();
			$this->fail( 'the Events screen rendered for a subscriber' );
		} catch ( BPM_Test_Die $e ) {
			$this->assertStringContainsString( 'not allowed', $e->getMessage() );
		}
	}

	public function test_create_api_user_revokes_the_previous_passwords_when_asked(): void {
		$saved = get_option( Options::API_USER_ID );
		delete_option( Options::API_USER_ID );
		wp_set_current_user( $this->make_user( 'administrator' ) );
		try {
			$first = Runtime::create_api_user();
			$this->assertIsArray( $first );
			$user_id = $first['user_id'];
			$second  = Runtime::create_api_user( false );
			$this->assertSame( 0, $second['revoked'] );
			$this->assertCount( 2, WP_Application_Passwords::get_user_application_passwords( $user_id ) );

			// The handler reads the form's checkbox (ticked by default): only the new password stays.
			$this->assertSame( 'redirect', $this->run_action( 'create_api_user', array( 'revoke_previous' => '1' ) ) );
			$left = WP_Application_Passwords::get_user_application_passwords( $user_id );
			$this->assertCount( 1, $left );
			$left = array_values( $left );
			foreach ( array( $first, $second ) as $old ) {
				$this->assertFalse( wp_check_password( $old['password'], $left[0]['password'], $user_id ), 'an old password was kept' );
			}
		} finally {
			require_once ABSPATH . 'wp-admin/includes/user.php';
			if ( isset( $user_id ) ) {
				wp_delete_user( $user_id );
			}
			update_option( Options::API_USER_ID, $saved );
		}
	}
}
