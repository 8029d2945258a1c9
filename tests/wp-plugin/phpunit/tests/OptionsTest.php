<?php
/**
 * Settings storage, encryption of credentials, the GET /config payload and config.updated.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Crypto;
use BPM_Bridge\Options;
use BPM_Bridge\Signer;

/**
 * Options.
 */
class OptionsTest extends BPM_Test_Case {

	public function test_credentials_are_encrypted_at_rest_and_write_only(): void {
		$this->assertTrue( Options::set_invoicing( array( 'fakturownia_api_token' => 'tok-SECRET-1', 'provider' => 'fakturownia' ) ) );
		$raw = get_option( Options::INVOICING );
		$this->assertTrue( Crypto::is_encrypted( $raw['fakturownia_api_token'] ) );
		$this->assertStringNotContainsString( 'tok-SECRET-1', maybe_serialize( $raw ) );
		$this->assertSame( 'tok-SECRET-1', Options::get_invoicing()['fakturownia_api_token'] );
		$this->assertTrue( Options::has_credential( 'fakturownia_api_token' ) );

		// An empty submission keeps the stored credential; clear_credential removes it.
		Options::set_invoicing( array( 'fakturownia_api_token' => '' ) );
		$this->assertSame( 'tok-SECRET-1', Options::get_invoicing()['fakturownia_api_token'] );
		Options::clear_credential( 'fakturownia_api_token' );
		$this->assertFalse( Options::has_credential( 'fakturownia_api_token' ) );

		// Not autoloaded: ciphertext is not needed on every request.
		global $wpdb;
		$this->assertSame( 'no', $wpdb->get_var( $wpdb->prepare( "SELECT autoload FROM {$wpdb->options} WHERE option_name = %s", Options::INVOICING ) ) );
	}

	public function test_invalid_settings_are_refused_without_partial_writes(): void {
		Options::set_invoicing( array( 'provider' => 'infakt' ) );
		$error = Options::set_invoicing( array( 'provider' => 'sap', 'b2c_document' => 'receipt' ) );
		$this->assertInstanceOf( WP_Error::class, $error );
		$this->assertSame( 'infakt', Options::get_invoicing()['provider'] );
		$this->assertInstanceOf( WP_Error::class, Options::set_invoicing( array( 'trigger_by_payment_method' => array( 'cod' => 'never' ) ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set_invoicing( array( 'fakturownia_domain' => 'bad domain!' ) ) );
		$this->assertTrue( Options::set_invoicing( array( 'fakturownia_domain' => 'https://MojaFirma.fakturownia.pl' ) ) );
		$this->assertSame( 'mojafirma', Options::get_invoicing()['fakturownia_domain'] );
		$this->assertInstanceOf( WP_Error::class, Options::set_crm( array( 'provider' => 'hubspot' ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set_sidecar_url( 'ftp://sidecar' ) );
		$this->assertInstanceOf( WP_Error::class, Options::set_sidecar_url( 'sidecar:8000' ) );
		$this->assertTrue( Options::set_sidecar_url( 'http://10.0.0.5:8000/' ) );
		$this->assertSame( 'http://10.0.0.5:8000', Options::get_sidecar_url() );
	}

	public function test_config_payload_has_the_contract_shape(): void {
		Options::set_invoicing(
			array(
				'provider'                  => 'fakturownia',
				'trigger_default'           => 'paid',
				'trigger_by_payment_method' => array( 'cod' => 'completed' ),
				'b2c_document'              => 'invoice',
				'send_email'                => false,
				'exemption_reason'          => 'art. 43 ust. 1 pkt 2 ustawy o VAT',
				'fakturownia_domain'        => 'mojafirma',
				'fakturownia_api_token'     => 'tok',
				'fakturownia_base_url'      => 'http://127.0.0.1:9999',
				'infakt_api_key'            => 'key',
			)
		);
		$config = json_decode( wp_json_encode( Options::config_payload() ), true );
		$this->assertSame( array( 'version', 'store', 'invoicing', 'crm', 'carrier', 'rma' ), array_keys( $config ) );
		$this->assertIsInt( $config['version'] );
		$this->assertSame( home_url(), $config['store']['url'] );
		$this->assertSame( 'Europe/Warsaw', $config['store']['timezone'] );
		$this->assertMatchesRegularExpression( '/^[A-Z]{3}$/', $config['store']['currency'] );
		$this->assertSame(
			array(
				'provider'         => 'fakturownia',
				'trigger'          => array(
					'default'           => 'paid',
					'by_payment_method' => array( 'cod' => 'completed' ),
				),
				'b2c_document'     => 'invoice',
				'send_email'       => false,
				'exemption_reason' => 'art. 43 ust. 1 pkt 2 ustawy o VAT',
				'fakturownia'      => array(
					'domain'        => 'mojafirma',
					'api_token'     => 'tok',
					'department_id' => null,
					'base_url'      => 'http://127.0.0.1:9999',
				),
				'infakt'           => array(
					'api_key'  => 'key',
					'base_url' => null,
				),
			),
			$config['invoicing']
		);
		$this->assertSame( array( 'provider' => 'none' ), $config['crm'] );
		$this->assertSame( array( 'provider' => 'none' ), $config['carrier'] );
		$this->assertSame( array( 'enabled' => false ), $config['rma'] );
		// An empty map must still be a JSON object.
		Options::set_invoicing( array( 'trigger_by_payment_method' => array() ) );
		$this->assertStringContainsString( '"by_payment_method":{}', wp_json_encode( Options::config_payload() ) );
	}

	public function test_a_configuration_change_queues_one_config_updated_and_bumps_the_version(): void {
		$version = Options::get_config_version();
		Options::set_invoicing( array( 'provider' => 'infakt' ) );
		Options::set_rma( array( 'enabled' => true ) );
		$this->assertGreaterThanOrEqual( $version + 2, Options::get_config_version() );
		$events = $this->events( 'config.updated' );
		$this->assertCount( 1, $events, 'one pending config.updated is enough' );
		$payload = json_decode( $events[0]['payload'], true );
		$this->assertSame( 'config.updated', $payload['type'] );
		$this->assertIsInt( $payload['data']['version'] );
		// Secrets and the sidecar URL are not part of the sidecar's configuration.
		Options::set_secrets( Signer::new_secret() );
		Options::set_sidecar_url( 'http://127.0.0.1:1' );
		$this->assertCount( 1, $this->events( 'config.updated' ) );
	}

	public function test_secrets_rotate_and_are_stored_encrypted(): void {
		$first = Signer::new_secret();
		Options::set_secrets( $first );
		$this->assertSame( array( $first ), Options::get_secrets() );
		$this->assertFalse( Options::has_previous_secret() );
		$second = Options::rotate_secret();
		$this->assertSame( array( $second, $first ), Options::get_secrets() );
		$this->assertTrue( Options::has_previous_secret() );
		$this->assertStringNotContainsString( substr( $second, 6 ), (string) get_option( Options::SECRET ) );
		Options::clear_previous_secret();
		$this->assertSame( array( $second ), Options::get_secrets() );
		$this->assertInstanceOf( WP_Error::class, Options::set_secrets( 'whsec_short' ) );
		$this->assertSame( array( $second ), Options::get_secrets() );
	}
}
