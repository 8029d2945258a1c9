<?php
/**
 * The CRM settings section (config.crm) and "Load stages" through the sidecar.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Crm\Pipelines;
use BPM_Bridge\Options;
use BPM_Bridge\Settings\Schema;
use BPM_Bridge\Settings\Sections\Crm as Section;
use BPM_Bridge\Signer;

/**
 * CRM settings.
 */
class CrmSettingsTest extends BPM_Test_Case {

	protected function tearDown(): void {
		delete_transient( Section::PIPELINES_TRANSIENT );
		parent::tearDown();
	}

	public function test_the_sidecar_gets_exactly_the_agreed_keys_with_their_defaults(): void {
		delete_option( Schema::OPTIONS['crm'] );
		$crm = json_decode( wp_json_encode( Options::config_payload() ), true )['crm'];
		$this->assertSame( array( 'provider', 'line_items', 'pipeline', 'stages', 'hubspot', 'pipedrive', 'webhook' ), array_keys( $crm ) );
		$this->assertSame( array( 'access_token', 'portal_id', 'base_url' ), array_keys( $crm['hubspot'] ) );
		$this->assertSame( array( 'company_domain', 'api_token', 'base_url' ), array_keys( $crm['pipedrive'] ) );
		$this->assertSame( array( 'url', 'secret' ), array_keys( $crm['webhook'] ) );
		$this->assertSame( 'none', $crm['provider'] );
		$this->assertTrue( $crm['line_items'] );
		$this->assertSame( 'default', $crm['pipeline'] );
		$this->assertSame( 'closedwon', $crm['stages']['completed'] );
		$this->assertSame( 'contractsent', $crm['stages']['processing'] );
		$this->assertSame( 'closedlost', $crm['stages']['refunded'] );
		// The map's keys are WooCommerce's own statuses without "wc-".
		$this->assertArrayHasKey( 'on-hold', Section::status_keys() );
		$this->assertArrayNotHasKey( 'wc-on-hold', Section::status_keys() );
	}

	public function test_credentials_are_encrypted_at_rest_and_never_in_the_form(): void {
		$this->assertTrue(
			Options::set(
				'crm',
				array(
					'provider'  => 'hubspot',
					'hubspot'   => array(
						'access_token' => 'pat-eu1-0123456789abcdef',
						'portal_id'    => '4455',
					),
					'webhook'   => array( 'secret' => 'whsec_' . str_repeat( 'A', 43 ) . '=' ),
					'pipedrive' => array( 'company_domain' => 'https://MojaFirma.pipedrive.com/pipeline' ),
				)
			)
		);
		$raw = wp_json_encode( get_option( Schema::OPTIONS['crm'] ) );
		$this->assertStringNotContainsString( '0123456789abcdef', $raw );
		$this->assertStringNotContainsString( str_repeat( 'A', 43 ), $raw );
		$form = Options::form_values( 'crm' );
		$this->assertTrue( $form['hubspot']['access_token'] );
		$this->assertFalse( $form['pipedrive']['api_token'] );
		$crm = Options::config_payload()['crm'];
		$this->assertSame( 'pat-eu1-0123456789abcdef', $crm['hubspot']['access_token'] );
		$this->assertSame( 4455, $crm['hubspot']['portal_id'] );
		$this->assertSame( 'mojafirma', $crm['pipedrive']['company_domain'] );
		// An empty credential keeps the saved one (write-only form).
		$this->assertTrue( Options::set( 'crm', array( 'hubspot' => array( 'access_token' => '' ) ) ) );
		$this->assertSame( 'pat-eu1-0123456789abcdef', Options::get( 'crm' )['hubspot']['access_token'] );
	}

	public function test_invalid_values_are_refused(): void {
		$refused = array(
			array( 'provider' => 'salesforce' ),
			array( 'stages' => array( 'wc-completed' => 'closedwon' ) ),
			array( 'pipedrive' => array( 'company_domain' => 'moja firma!' ) ),
			array( 'webhook' => array( 'url' => 'ftp://n8n.example.com/hook' ) ),
			array( 'hubspot' => array( 'access_token' => 'has a space' ) ),
			array( 'hubspot' => array( 'portal_id' => '12ab' ) ),
		);
		foreach ( $refused as $input ) {
			$this->assertInstanceOf( WP_Error::class, Options::set( 'crm', $input ), wp_json_encode( $input ) );
		}
		$this->assertTrue( Options::set( 'crm', array( 'stages' => array( 'completed' => 'shipped', 'failed' => '' ) ) ) );
		$stages = Options::get( 'crm' )['stages'];
		$this->assertSame( 'shipped', $stages['completed'] );
		$this->assertArrayNotHasKey( 'failed', $stages, 'an emptied status is not mapped' );
	}

	public function test_loaded_stages_become_the_only_choices_and_a_new_crm_forgets_them(): void {
		Pipelines::register();
		Options::set( 'crm', array( 'provider' => 'pipedrive' ) );
		set_transient(
			Section::PIPELINES_TRANSIENT,
			array(
				'provider'  => 'pipedrive',
				'pipelines' => array(
					array(
						'id'     => '1',
						'label'  => 'Sklep',
						'stages' => array(
							array(
								'id'    => '11',
								'label' => 'Paid',
							),
						),
					),
				),
			)
		);
		$choices = Section::stage_choices();
		$this->assertSame( 'Sklep: Paid', $choices['11'] );
		$this->assertArrayHasKey( 'closedwon', $choices, 'a stored stage stays selectable' );
		$this->assertTrue( Options::set( 'crm', array( 'stages' => array( 'processing' => '11' ) ) ) );
		$this->assertInstanceOf( WP_Error::class, Options::set( 'crm', array( 'stages' => array( 'processing' => '99' ) ) ) );
		Options::set( 'crm', array( 'provider' => 'hubspot' ) );
		$this->assertFalse( get_transient( Section::PIPELINES_TRANSIENT ) );
		$this->assertSame( array(), Section::stage_choices() );
	}

	public function test_load_stages_posts_a_signed_empty_body_and_keeps_the_answer(): void {
		Options::set_sidecar_url( 'http://sidecar.test:8000' );
		Options::set( 'crm', array( 'provider' => 'hubspot' ) );
		$seen = array();
		add_filter(
			'pre_http_request',
			function ( $pre, $args, $url ) use ( &$seen ) {
				$seen[] = array( $url, $args );
				return array(
					'response' => array(
						'code'    => 200,
						'message' => 'OK',
					),
					'headers'  => array(),
					'body'     => wp_json_encode(
						array(
							'provider'  => 'hubspot',
							'pipelines' => array(
								array(
									'id'     => 'default',
									'label'  => 'Sales Pipeline',
									'stages' => array(
										array(
											'id'    => 'appointmentscheduled',
											'label' => 'Appointment scheduled',
										),
										array(
											'id'    => 'closedwon',
											'label' => 'Closed won',
										),
									),
								),
							),
						)
					),
				);
			},
			10,
			3
		);
		$result = Pipelines::load();
		$this->assertTrue( $result['ok'], $result['message'] );
		$this->assertSame( 'Connected to HubSpot: 1 pipeline.', $result['message'] );
		$this->assertCount( 1, $seen );
		$this->assertSame( 'http://sidecar.test:8000/v1/crm/pipelines', $seen[0][0] );
		$this->assertSame( '{}', $seen[0][1]['body'] );
		$headers = array_change_key_case( $seen[0][1]['headers'], CASE_LOWER );
		$this->assertIsString( Signer::verify( Options::get_secrets(), $headers, '{}' ), 'signed like an event delivery' );
		$this->assertSame( 'Sales Pipeline: Closed won', Section::stage_choices()['closedwon'] );
		global $wpdb;
		$autoload = $wpdb->get_var( $wpdb->prepare( "SELECT autoload FROM {$wpdb->options} WHERE option_name = %s", '_transient_' . Section::PIPELINES_TRANSIENT ) );
		if ( null !== $autoload ) { // null: an object cache holds transients, not the options table.
			$this->assertContains( $autoload, array( 'no', 'off' ), 'kept with an expiry, so not autoloaded' );
			$this->assertNotFalse( get_option( '_transient_timeout_' . Section::PIPELINES_TRANSIENT ) );
		}
	}

	public function test_load_stages_shows_the_sidecars_plain_words_error(): void {
		Options::set_sidecar_url( 'http://sidecar.test:8000' );
		add_filter(
			'pre_http_request',
			static function () {
				return array(
					'response' => array(
						'code'    => 502,
						'message' => 'Bad Gateway',
					),
					'headers'  => array( 'content-type' => 'application/problem+json' ),
					'body'     => '{"type":"about:blank","title":"CRM refused","status":502,"detail":"HubSpot refused the access token"}',
				);
			}
		);
		$result = Pipelines::load();
		$this->assertFalse( $result['ok'] );
		$this->assertSame( 'The sidecar answered HTTP 502: HubSpot refused the access token', $result['message'] );
		$this->assertNull( Pipelines::loaded() );
		delete_option( \BPM_Bridge\Options::SIDECAR_URL );
		$this->assertStringContainsString( 'sidecar URL', Pipelines::load()['message'] );
	}

	public function test_the_webhook_address_must_be_https_except_on_this_computer(): void {
		$this->assertNull( Section::webhook_url( 'http://n8n.example.com/webhook/x', 'production' ) );
		$this->assertSame( 'http://n8n.example.com/webhook/x', Section::webhook_url( 'http://n8n.example.com/webhook/x', 'local' ), 'a developer\'s site' );
		$this->assertSame( 'http://127.0.0.1:5678/webhook/x', Section::webhook_url( 'http://127.0.0.1:5678/webhook/x', 'production' ) );
		$this->assertNull( Section::webhook_url( 'ftp://n8n.example.com/x', 'local' ) );
		if ( 'local' !== wp_get_environment_type() ) {
			$this->assertInstanceOf( WP_Error::class, Options::set( 'crm', array( 'webhook' => array( 'url' => 'http://n8n.example.com/webhook/x' ) ) ) );
		}
		$this->assertTrue( Options::set( 'crm', array( 'webhook' => array( 'url' => 'https://n8n.example.com/webhook/x' ) ) ) );
		$this->assertSame( 'https://n8n.example.com/webhook/x', Options::get( 'crm' )['webhook']['url'] );
		$this->assertTrue( Options::set( 'crm', array( 'webhook' => array( 'url' => 'http://127.0.0.1:5678/webhook/x' ) ) ) );
		$this->assertTrue( Options::set( 'crm', array( 'webhook' => array( 'url' => '' ) ) ) );
	}

	/**
	 * Runs an admin-ajax handler; answers [the status wp_die() was given (200 after wp_send_json), decoded JSON
	 * or the raw output].
	 *
	 * @param string $name  Handler (crm_pipelines, crm_webhook_secret).
	 * @param string $nonce Nonce sent ('' = none).
	 * @return array{0: int, 1: mixed}
	 */
	private function ajax( string $name, string $nonce ): array {
		add_filter( 'wp_doing_ajax', '__return_true' );
		$die = static function () {
			return static function ( $message = '', $title = '', $args = array() ) {
				throw new RuntimeException( (string) ( is_array( $args ) && isset( $args['response'] ) ? $args['response'] : 200 ) . '|' . ( is_scalar( $message ) ? $message : '' ) );
			};
		};
		add_filter( 'wp_die_ajax_handler', $die );
		$_REQUEST = '' === $nonce ? array() : array( 'nonce' => $nonce );
		$status   = 200;
		ob_start();
		try {
			call_user_func( array( \BPM_Bridge\Crm\Settings_Screen::class, 'handle_' . $name ) );
		} catch ( RuntimeException $e ) {
			$status = (int) strtok( $e->getMessage(), '|' );
		} finally {
			$out = (string) ob_get_clean();
			remove_filter( 'wp_doing_ajax', '__return_true' );
			remove_filter( 'wp_die_ajax_handler', $die );
			$_REQUEST = array();
		}
		$json = json_decode( $out, true );
		return array( $status, null === $json ? $out : $json );
	}

	public function test_the_ajax_tools_need_the_manage_capability_and_their_nonce(): void {
		foreach ( array( 'subscriber', 'shop_manager' ) as $role ) {
			wp_set_current_user( $this->make_user( $role ) );
			foreach ( array( 'crm_pipelines', 'crm_webhook_secret' ) as $name ) {
				list( , $body ) = $this->ajax( $name, wp_create_nonce( 'bpm_bridge_' . $name ) );
				$this->assertFalse( $body['success'], $role . ' ' . $name );
				$this->assertStringContainsString( 'not allowed', $body['data']['message'] );
			}
		}
		$this->assertFalse( Options::has_credential( 'crm', 'webhook.secret' ) );
		wp_set_current_user( $this->make_user( 'administrator' ) );
		\BPM_Bridge\Capabilities::grant();
		list( $status, $body ) = $this->ajax( 'crm_webhook_secret', '' );
		$this->assertSame( 403, $status, 'no nonce' );
		$this->assertFalse( Options::has_credential( 'crm', 'webhook.secret' ) );

		list( , $body ) = $this->ajax( 'crm_webhook_secret', wp_create_nonce( 'bpm_bridge_crm_webhook_secret' ) );
		$this->assertTrue( $body['success'] );
		$secret = $body['data']['secret'];
		$this->assertStringStartsWith( 'whsec_', $secret );
		$this->assertTrue( Options::has_credential( 'crm', 'webhook.secret' ) );
		$raw = wp_json_encode( get_option( Schema::OPTIONS['crm'] ) );
		$this->assertStringNotContainsString( substr( $secret, 6 ), (string) $raw, 'stored encrypted' );
		$this->assertSame( $secret, Options::config_payload()['crm']['webhook']['secret'], 'and decrypted for the sidecar' );
	}
}
