<?php
/**
 * Settings storage, encryption of credentials, the GET /config payload and config.updated.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Crypto;
use BPM_Bridge\Options;
use BPM_Bridge\Settings\Schema;
use BPM_Bridge\Signer;

/**
 * Options.
 */
class OptionsTest extends BPM_Test_Case {

	public function test_credentials_are_encrypted_at_rest_and_write_only(): void {
		$this->assertTrue( Options::set( 'invoicing', array( 'fakturownia' => array( 'api_token' => 'tok-SECRET-1' ), 'provider' => 'fakturownia' ) ) );
		$raw = get_option( Schema::OPTIONS['invoicing'] );
		$this->assertTrue( Crypto::is_encrypted( $raw['fakturownia']['api_token'] ) );
		$this->assertStringNotContainsString( 'tok-SECRET-1', maybe_serialize( $raw ) );
		$this->assertSame( 'tok-SECRET-1', Options::get( 'invoicing' )['fakturownia']['api_token'] );
		$this->assertTrue( Options::has_credential( 'invoicing', 'fakturownia.api_token' ) );
		// The form never gets the value, only whether one is saved.
		$this->assertTrue( Options::form_values( 'invoicing' )['fakturownia']['api_token'] );
		$this->assertFalse( Options::form_values( 'invoicing' )['infakt']['api_key'] );

		// An empty submission keeps the stored credential; null (or clear_credential) removes it.
		Options::set( 'invoicing', array( 'fakturownia' => array( 'api_token' => '' ) ) );
		$this->assertSame( 'tok-SECRET-1', Options::get( 'invoicing' )['fakturownia']['api_token'] );
		Options::clear_credential( 'invoicing', 'fakturownia.api_token' );
		$this->assertFalse( Options::has_credential( 'invoicing', 'fakturownia.api_token' ) );
		Options::set( 'invoicing', array( 'infakt' => array( 'api_key' => 'key-SECRET-2' ) ) );
		Options::set( 'invoicing', array( 'infakt' => array( 'api_key' => null ) ) );
		$this->assertSame( '', Options::get( 'invoicing' )['infakt']['api_key'] );

		// Every credential the schema names is encrypted: a new provider's too.
		$this->assertSame( array( 'fakturownia.api_token', 'infakt.api_key' ), Schema::credential_paths( Schema::section( 'invoicing' ) ) );

		// Not autoloaded: ciphertext is not needed on every request. WordPress 6.6+ writes 'off' where 6.1 wrote 'no'.
		global $wpdb;
		$this->assertContains( $wpdb->get_var( $wpdb->prepare( "SELECT autoload FROM {$wpdb->options} WHERE option_name = %s", Schema::OPTIONS['invoicing'] ) ), array( 'no', 'off' ) );
	}

	public function test_invalid_settings_are_refused_without_partial_writes(): void {
		Options::set_invoicing( array( 'provider' => 'infakt' ) );
		$error = Options::set_invoicing( array( 'provider' => 'sap', 'b2c_document' => 'receipt' ) );
		$this->assertInstanceOf( WP_Error::class, $error );
		$this->assertSame( 'infakt', Options::get_invoicing()['provider'] );
		$this->assertInstanceOf( WP_Error::class, Options::set( 'invoicing', array( 'trigger' => array( 'by_payment_method' => array( 'cod' => 'never' ) ) ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set( 'invoicing', array( 'fakturownia' => array( 'domain' => 'bad domain!' ) ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set( 'invoicing', array( 'fakturownia' => array( 'department_id' => '12abc' ) ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set( 'invoicing', array( 'infakt' => array( 'api_key' => 'has space' ) ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set( 'invoicing', array( 'infakt' => array( 'base_url' => 'http://x.test/?q=1' ) ) ) );
		$this->assertTrue( Options::set( 'invoicing', array( 'fakturownia' => array( 'domain' => 'https://MojaFirma.fakturownia.pl/invoices' ) ) ) );
		$this->assertSame( 'mojafirma', Options::get_invoicing()['fakturownia']['domain'] );
		$this->assertInstanceOf( WP_Error::class, Options::set_crm( array( 'provider' => 'salesforce' ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set_carrier( array( 'provider' => 'dhl' ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set_sidecar_url( 'ftp://sidecar' ) );
		$this->assertInstanceOf( WP_Error::class, Options::set_sidecar_url( 'sidecar:8000' ) );
		$this->assertTrue( Options::set_sidecar_url( 'http://10.0.0.5:8000/' ) );
		$this->assertSame( 'http://10.0.0.5:8000', Options::get_sidecar_url() );
	}

	public function test_the_form_keeps_valid_values_and_reports_each_refused_one(): void {
		Options::set( 'invoicing', array( 'provider' => 'none', 'exemption_reason' => '' ) );
		$error = Options::set(
			'invoicing',
			array(
				'provider'         => 'infakt',
				'exemption_reason' => '<b>art. 43</b>',
				'fakturownia'      => array( 'domain' => 'moja firma!' ),
				'b2c_document'     => 'fax',
			),
			true
		);
		$this->assertInstanceOf( WP_Error::class, $error );
		$this->assertCount( 2, $error->get_error_messages() );
		$this->assertStringContainsString( 'may only contain letters, digits and hyphens', implode( ' ', $error->get_error_messages() ) );
		$values = Options::get( 'invoicing' );
		$this->assertSame( 'infakt', $values['provider'] );
		$this->assertSame( 'art. 43', $values['exemption_reason'] );
		$this->assertSame( 'receipt', $values['b2c_document'] );
	}

	public function test_a_provider_is_one_schema_entry(): void {
		// A provider added through the schema filter is offered, validated, stored, encrypted and sent.
		$add = static function ( $sections ) {
			$sections['invoicing']['providers']['wfirma'] = array(
				'label'  => 'wFirma',
				'fields' => array(
					'company_id' => array( 'type' => 'id', 'label' => 'wFirma company' ),
					'secret_key' => array( 'type' => 'credential', 'label' => 'wFirma secret key' ),
				),
			);
			return $sections;
		};
		add_filter( 'bpm_bridge_settings_schema', $add );
		try {
			$this->assertTrue( Options::set( 'invoicing', array( 'provider' => 'wfirma', 'wfirma' => array( 'company_id' => '77', 'secret_key' => 'wf-SECRET-123' ) ) ) );
			$this->assertStringNotContainsString( 'wf-SECRET-123', maybe_serialize( get_option( Schema::OPTIONS['invoicing'] ) ) );
			$payload = Options::config_payload()['invoicing'];
			$this->assertSame( 'wfirma', $payload['provider'] );
			$this->assertSame( array( 'company_id' => 77, 'secret_key' => 'wf-SECRET-123' ), $payload['wfirma'] );
			$this->assertInstanceOf( WP_Error::class, Options::set( 'invoicing', array( 'wfirma' => array( 'company_id' => 'x' ) ) ) );
		} finally {
			remove_filter( 'bpm_bridge_settings_schema', $add );
		}
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
				'fakturownia_api_token'     => 'tok-12345',
				'fakturownia_base_url'      => 'http://127.0.0.1:9999',
				'infakt_api_key'            => 'key-12345',
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
					'api_token'     => 'tok-12345',
					'department_id' => null,
					'base_url'      => 'http://127.0.0.1:9999',
				),
				'infakt'           => array(
					'api_key'  => 'key-12345',
					'base_url' => null,
				),
			),
			$config['invoicing']
		);
		$this->assertSame( 'none', $config['crm']['provider'] );
		$this->assertSame( 'none', $config['carrier']['provider'] );
		$this->assertSame( 'small', $config['carrier']['inpost']['parcel_template'] );
		$this->assertFalse( $config['rma']['enabled'] );
		$this->assertSame( 14, $config['rma']['withdrawal_days'] );
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
		// Saving the same values again is no change: no new version (credentials keep their ciphertext).
		Options::set( 'invoicing', array( 'fakturownia' => array( 'api_token' => 'tok-unchanged-1' ) ) );
		$version = Options::get_config_version();
		Options::set( 'invoicing', array( 'provider' => 'infakt', 'fakturownia' => array( 'api_token' => 'tok-unchanged-1' ) ) );
		$this->assertSame( $version, Options::get_config_version() );
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
