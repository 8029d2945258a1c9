<?php
/**
 * uninstall.php removes what the plugin owns (options, tables, role, capability, the API user's passwords) and
 * keeps business data. Runs last; restores the plugin after.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Capabilities;
use BPM_Bridge\Dispatcher;
use BPM_Bridge\Installer;
use BPM_Bridge\Options;
use BPM_Bridge\Role;

/**
 * Uninstall.
 */
class UninstallTest extends BPM_Test_Case {

	/**
	 * Puts the plugin back for whatever runs next on this site.
	 */
	protected function tearDown(): void {
		Installer::activate();
		parent::tearDown();
	}

	public function test_uninstall_removes_plugin_data_and_keeps_order_meta(): void {
		global $wpdb;
		$saved_user = get_option( Options::API_USER_ID );
		delete_option( Options::API_USER_ID );
		$api = Role::ensure_api_user();
		$this->assertIsArray( $api );
		Options::set_sidecar_url( 'http://127.0.0.1:9' );
		Options::set_invoicing( array( 'provider' => 'infakt' ) );
		set_transient( 'bpm_bridge_msg_test', 1, 60 );
		$order = $this->make_order();
		$order->update_meta_data( '_bpm_invoice_number', 'FV 9/2026' );
		$order->save();
		BPM_Bridge\Outbox::add( 'ping' );
		Dispatcher::schedule_drain();
		$this->assertTrue( as_has_scheduled_action( Dispatcher::HOOK, array(), Dispatcher::GROUP ) );

		WP_Application_Passwords::create_new_application_password( $api['user_id'], array( 'name' => Role::APP_PASSWORD . ' (2026-11-23 14:00)' ) );
		// Also one not named by the plugin: the account exists only for the sidecar, so it goes too.
		WP_Application_Passwords::create_new_application_password( $api['user_id'], array( 'name' => 'made on the profile screen' ) );
		$this->assertTrue( get_role( 'administrator' )->has_cap( Capabilities::MANAGE ) );

		if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
			define( 'WP_UNINSTALL_PLUGIN', 'bpm-bridge/bpm-bridge.php' );
		}
		include BPM_BRIDGE_DIR . '/uninstall.php';
		// Uninstall deletes rows with SQL; this process still holds them in its in-memory cache.
		wp_cache_flush();

		try {
			foreach ( array( Installer::outbox_table(), Installer::rma_table() ) as $table ) {
				$this->assertNull( $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $table ) ), $table );
			}
			foreach ( Options::all_names() as $name ) {
				$this->assertFalse( get_option( $name ), $name );
			}
			$this->assertFalse( get_transient( 'bpm_bridge_msg_test' ) );
			$this->assertNull( get_role( Role::ROLE ) );
			foreach ( array_keys( wp_roles()->roles ) as $role ) {
				$this->assertFalse( get_role( $role )->has_cap( Capabilities::MANAGE ), $role );
			}
			$this->assertFalse( wp_next_scheduled( Dispatcher::CRON_HOOK ) );
			$this->assertFalse( wp_next_scheduled( Dispatcher::PURGE_HOOK ) );
			$this->assertFalse( as_has_scheduled_action( Dispatcher::HOOK, array(), Dispatcher::GROUP ) );
			$this->assertSame( array(), WP_Application_Passwords::get_user_application_passwords( $api['user_id'] ) );
			$this->assertSame( 'FV 9/2026', wc_get_order( $order->get_id() )->get_meta( '_bpm_invoice_number' ), 'order meta is business data' );
		} finally {
			require_once ABSPATH . 'wp-admin/includes/user.php';
			wp_delete_user( $api['user_id'] );
			update_option( Options::API_USER_ID, $saved_user );
		}
	}
}
