<?php
/**
 * An upgrade from a site saved by plugin version 1 (DB_VERSION '1', flat invoicing keys) to the schema shape.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Capabilities;
use BPM_Bridge\Crypto;
use BPM_Bridge\Installer;
use BPM_Bridge\Options;
use BPM_Bridge\Settings\Migration;
use BPM_Bridge\Settings\Schema;

/**
 * Migration.
 */
class MigrationTest extends BPM_Test_Case {

	/**
	 * Saves the options exactly as version 1's Options::store_invoicing() and set_crm/set_carrier/set_rma did
	 * (git show 4b8f31a:wp-plugin/bpm-bridge/includes/class-options.php): one flat, non-autoloaded array with
	 * the credentials encrypted, every key present (array_merge over the defaults).
	 *
	 * @return array<string,mixed> The stored invoicing array.
	 */
	private function save_as_version_1(): array {
		$v1 = array(
			'provider'                  => 'fakturownia',
			'trigger_default'           => 'paid',
			'trigger_by_payment_method' => array(
				'cod'        => 'completed',
				'przelewy24' => 'completed',
			),
			'b2c_document'              => 'invoice',
			'send_email'                => false,
			'exemption_reason'          => 'art. 43 ust. 1 pkt 2 ustawy o VAT',
			'fakturownia_domain'        => 'mojafirma',
			'fakturownia_api_token'     => Crypto::encrypt( 'fkt-Token-v1-0123456789' ),
			'fakturownia_department_id' => 42,
			'fakturownia_base_url'      => '',
			'infakt_api_key'            => Crypto::encrypt( 'infakt-Key-v1-987654' ),
			'infakt_base_url'           => 'http://127.0.0.1:9100',
		);
		update_option( 'bpm_bridge_invoicing', $v1, false );
		update_option( 'bpm_bridge_crm', array( 'provider' => 'none' ), false );
		update_option( 'bpm_bridge_carrier', array( 'provider' => 'none' ), false );
		update_option( 'bpm_bridge_rma', array( 'enabled' => true ), false );
		update_option( 'bpm_bridge_db_version', '1', true );
		return $v1;
	}

	public function test_a_version_1_site_is_migrated_on_upgrade(): void {
		$v1 = $this->save_as_version_1();
		get_role( 'administrator' )->remove_cap( Capabilities::MANAGE );
		global $wpdb;
		$wpdb->query( 'DELETE FROM ' . Installer::outbox_table() );

		// What plugins_loaded runs after an update.
		Installer::maybe_upgrade();

		$this->assertSame( Installer::DB_VERSION, get_option( Options::DB_VERSION ) );
		$stored = get_option( Schema::OPTIONS['invoicing'] );
		$this->assertFalse( Migration::is_v1_invoicing( $stored ), 'no flat keys remain' );
		// Credentials were moved as ciphertext, not decrypted and re-encrypted.
		$this->assertSame( $v1['fakturownia_api_token'], $stored['fakturownia']['api_token'] );
		$this->assertSame( $v1['infakt_api_key'], $stored['infakt']['api_key'] );

		$payload = json_decode( wp_json_encode( Options::config_payload() ), true );
		$this->assertSame(
			array(
				'provider'         => 'fakturownia',
				'trigger'          => array(
					'default'           => 'paid',
					'by_payment_method' => array(
						'cod'        => 'completed',
						'przelewy24' => 'completed',
					),
				),
				'b2c_document'     => 'invoice',
				'send_email'       => false,
				'exemption_reason' => 'art. 43 ust. 1 pkt 2 ustawy o VAT',
				'fakturownia'      => array(
					'domain'        => 'mojafirma',
					'api_token'     => 'fkt-Token-v1-0123456789',
					'department_id' => 42,
					'base_url'      => null,
				),
				'infakt'           => array(
					'api_key'  => 'infakt-Key-v1-987654',
					'base_url' => 'http://127.0.0.1:9100',
				),
			),
			$payload['invoicing']
		);
		$this->assertSame( 'none', $payload['crm']['provider'] );
		$this->assertTrue( $payload['rma']['enabled'] );

		// The upgrade granted the capability, and announced no configuration change (none happened).
		$this->assertTrue( get_role( 'administrator' )->has_cap( Capabilities::MANAGE ) );
		$this->assertSame( array(), $this->events( 'config.updated' ) );

		// A second run finds nothing to do; the settings still work through the form's API.
		$this->assertFalse( Migration::run( '1' ) );
		$this->assertTrue( Options::set( 'invoicing', array( 'fakturownia' => array( 'domain' => 'inna' ) ) ) );
		$this->assertSame( 'fkt-Token-v1-0123456789', Options::get( 'invoicing' )['fakturownia']['api_token'] );
	}

	public function test_reactivating_a_version_1_site_migrates_too(): void {
		$this->save_as_version_1();
		Installer::activate();
		$this->assertSame( 'mojafirma', Options::get( 'invoicing' )['fakturownia']['domain'] );
		$this->assertSame( Installer::DB_VERSION, get_option( Options::DB_VERSION ) );
	}

	public function test_the_manage_capability_goes_to_the_filtered_roles(): void {
		$roles = static function () {
			return array( 'administrator', 'editor', 'no_such_role' );
		};
		add_filter( 'bpm_bridge_manage_roles', $roles );
		try {
			Capabilities::grant();
			$this->assertTrue( get_role( 'editor' )->has_cap( Capabilities::MANAGE ) );
			$this->assertTrue( get_role( 'administrator' )->has_cap( Capabilities::MANAGE ) );
			$this->assertFalse( get_role( 'shop_manager' )->has_cap( Capabilities::MANAGE ), 'only the listed roles' );
		} finally {
			remove_filter( 'bpm_bridge_manage_roles', $roles );
			get_role( 'editor' )->remove_cap( Capabilities::MANAGE );
		}
	}
}
