<?php
/**
 * Every option the plugin stores: names, defaults, validation, and the GET /config payload.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Settings access. The admin screens and the REST routes go through these methods only.
 */
final class Options {

	const SIDECAR_URL     = 'bpm_bridge_sidecar_url';
	const SECRET          = 'bpm_bridge_secret';
	const SECRET_PREVIOUS = 'bpm_bridge_secret_previous';
	const INVOICING       = 'bpm_bridge_invoicing';
	const CRM             = 'bpm_bridge_crm';
	const CARRIER         = 'bpm_bridge_carrier';
	const RMA             = 'bpm_bridge_rma';
	const CONFIG_VERSION  = 'bpm_bridge_config_version';
	const DB_VERSION      = 'bpm_bridge_db_version';
	const API_USER_ID     = 'bpm_bridge_api_user_id';

	/**
	 * Invoicing keys whose values are encrypted at rest and never sent back to a browser.
	 */
	const CREDENTIAL_KEYS = array( 'fakturownia_api_token', 'infakt_api_key' );

	const PROVIDERS     = array( 'none', 'fakturownia', 'infakt' );
	const TRIGGERS      = array( 'paid', 'completed' );
	const B2C_DOCUMENTS = array( 'receipt', 'invoice' );

	/**
	 * Options whose change the sidecar must learn about (config.updated).
	 */
	const CONFIG_OPTIONS = array( self::INVOICING, self::CRM, self::CARRIER, self::RMA );

	/**
	 * Every option name, for uninstall.
	 *
	 * @return string[]
	 */
	public static function all_names(): array {
		return array(
			self::SIDECAR_URL,
			self::SECRET,
			self::SECRET_PREVIOUS,
			self::INVOICING,
			self::CRM,
			self::CARRIER,
			self::RMA,
			self::CONFIG_VERSION,
			self::DB_VERSION,
			self::API_USER_ID,
		);
	}

	/**
	 * Hooks: a change of any configuration option queues config.updated.
	 */
	public static function register(): void {
		foreach ( self::CONFIG_OPTIONS as $name ) {
			add_action( "add_option_{$name}", array( self::class, 'config_changed' ), 10, 0 );
			add_action( "update_option_{$name}", array( self::class, 'config_changed' ), 10, 0 );
		}
	}

	/**
	 * Invoicing defaults (flat keys, one per settings field).
	 *
	 * @return array<string,mixed>
	 */
	public static function invoicing_defaults(): array {
		return array(
			'provider'                  => 'none',
			'trigger_default'           => 'paid',
			'trigger_by_payment_method' => array( 'cod' => 'completed' ),
			'b2c_document'              => 'receipt',
			'send_email'                => true,
			'exemption_reason'          => '',
			'fakturownia_domain'        => '',
			'fakturownia_api_token'     => '',
			'fakturownia_department_id' => null,
			'fakturownia_base_url'      => '',
			'infakt_api_key'            => '',
			'infakt_base_url'           => '',
		);
	}

	/*
	 * ---------------------------------------------------------------- sidecar URL
	 */

	/**
	 * The sidecar base URL ('' when not configured).
	 */
	public static function get_sidecar_url(): string {
		return (string) get_option( self::SIDECAR_URL, '' );
	}

	/**
	 * Sets the sidecar base URL; '' clears it.
	 *
	 * @param string $url Absolute http(s) URL.
	 * @return true|\WP_Error
	 */
	public static function set_sidecar_url( string $url ) {
		$url = trim( $url );
		if ( '' !== $url ) {
			$scheme = wp_parse_url( $url, PHP_URL_SCHEME );
			$host   = wp_parse_url( $url, PHP_URL_HOST );
			if ( ! in_array( $scheme, array( 'http', 'https' ), true ) || empty( $host ) ) {
				return new \WP_Error( 'bpm_bridge_invalid_url', __( 'The sidecar URL must be an absolute http:// or https:// address.', 'bpm-bridge' ) );
			}
			$url = untrailingslashit( esc_url_raw( $url, array( 'http', 'https' ) ) );
		}
		update_option( self::SIDECAR_URL, $url, true );
		return true;
	}

	/*
	 * ---------------------------------------------------------------- signing secrets
	 */

	/**
	 * The secrets to sign with and to accept, current first; unreadable values are skipped.
	 *
	 * @return string[]
	 */
	public static function get_secrets(): array {
		$secrets = array();
		foreach ( array( self::SECRET, self::SECRET_PREVIOUS ) as $name ) {
			$plain = Crypto::decrypt( (string) get_option( $name, '' ) );
			if ( null !== $plain && '' !== $plain && Signer::is_valid_secret( $plain ) ) {
				$secrets[] = $plain;
			}
		}
		return $secrets;
	}

	/**
	 * Whether a current signing secret is configured.
	 */
	public static function has_secret(): bool {
		$plain = Crypto::decrypt( (string) get_option( self::SECRET, '' ) );
		return null !== $plain && '' !== $plain;
	}

	/**
	 * Whether a previous (rotating-out) secret is still accepted and signed with.
	 */
	public static function has_previous_secret(): bool {
		return '' !== (string) get_option( self::SECRET_PREVIOUS, '' );
	}

	/**
	 * Stores the secrets (encrypted, not autoloaded).
	 *
	 * @param string $current  Current secret.
	 * @param string $previous Previous secret or ''.
	 * @return true|\WP_Error
	 */
	public static function set_secrets( string $current, string $previous = '' ) {
		foreach ( array_filter( array( $current, $previous ) ) as $secret ) {
			if ( ! Signer::is_valid_secret( $secret ) ) {
				return new \WP_Error( 'bpm_bridge_invalid_secret', __( 'A signing secret must be "whsec_" followed by base64 of 24 to 64 random bytes.', 'bpm-bridge' ) );
			}
		}
		update_option( self::SECRET, Crypto::encrypt( $current ), false );
		update_option( self::SECRET_PREVIOUS, Crypto::encrypt( $previous ), false );
		return true;
	}

	/**
	 * Replaces the current secret with a new one; the old one is kept as "previous" so the sidecar keeps
	 * verifying while its environment is updated. Returns the new secret (shown to the admin once).
	 */
	public static function rotate_secret(): string {
		$current = Crypto::decrypt( (string) get_option( self::SECRET, '' ) );
		$new     = Signer::new_secret();
		self::set_secrets( $new, ( null === $current ) ? '' : $current );
		return $new;
	}

	/**
	 * Ends a rotation: only the current secret stays valid.
	 */
	public static function clear_previous_secret(): void {
		update_option( self::SECRET_PREVIOUS, '', false );
	}

	/*
	 * ---------------------------------------------------------------- invoicing
	 */

	/**
	 * Invoicing settings with credentials decrypted (unreadable credentials come back as '').
	 * Never print the credential keys into a page: use has_credential().
	 *
	 * @return array<string,mixed>
	 */
	public static function get_invoicing(): array {
		$stored = get_option( self::INVOICING, array() );
		$values = array_merge( self::invoicing_defaults(), is_array( $stored ) ? $stored : array() );
		foreach ( self::CREDENTIAL_KEYS as $key ) {
			$plain          = Crypto::decrypt( (string) $values[ $key ] );
			$values[ $key ] = ( null === $plain ) ? '' : $plain;
		}
		return $values;
	}

	/**
	 * Whether a credential is stored and readable.
	 *
	 * @param string $key One of CREDENTIAL_KEYS.
	 */
	public static function has_credential( string $key ): bool {
		$values = self::get_invoicing();
		return in_array( $key, self::CREDENTIAL_KEYS, true ) && '' !== $values[ $key ];
	}

	/**
	 * Updates invoicing settings. Unknown keys are ignored; an empty credential keeps the stored one
	 * (write-only fields); use clear_credential() to remove one.
	 *
	 * @param array<string,mixed> $input Partial settings.
	 * @return true|\WP_Error
	 */
	public static function set_invoicing( array $input ) {
		$values = self::get_invoicing();
		$errors = new \WP_Error();
		foreach ( $input as $key => $value ) {
			switch ( $key ) {
				case 'provider':
					self::set_enum( $values, $errors, $key, $value, self::PROVIDERS );
					break;
				case 'trigger_default':
					self::set_enum( $values, $errors, $key, $value, self::TRIGGERS );
					break;
				case 'b2c_document':
					self::set_enum( $values, $errors, $key, $value, self::B2C_DOCUMENTS );
					break;
				case 'trigger_by_payment_method':
					$map = array();
					foreach ( (array) $value as $gateway => $trigger ) {
						$gateway = sanitize_key( (string) $gateway );
						if ( '' === $gateway || ! in_array( $trigger, self::TRIGGERS, true ) ) {
							$errors->add( 'bpm_bridge_invalid_trigger', __( 'Each payment method needs the trigger "paid" or "completed".', 'bpm-bridge' ) );
							continue;
						}
						$map[ $gateway ] = $trigger;
					}
					$values[ $key ] = $map;
					break;
				case 'send_email':
					$values[ $key ] = (bool) rest_sanitize_boolean( $value );
					break;
				case 'exemption_reason':
					$values[ $key ] = sanitize_text_field( (string) $value );
					break;
				case 'fakturownia_domain':
					// The account's sub-domain: "mojafirma" from mojafirma.fakturownia.pl.
					$domain = strtolower( trim( (string) $value ) );
					$domain = (string) preg_replace( '/\.fakturownia\.pl$/', '', preg_replace( '#^https?://#', '', $domain ) );
					if ( '' !== $domain && ! preg_match( '/^[a-z0-9][a-z0-9-]{0,62}$/', $domain ) ) {
						$errors->add( 'bpm_bridge_invalid_domain', __( 'The Fakturownia account name may hold only letters, digits and hyphens.', 'bpm-bridge' ) );
						break;
					}
					$values[ $key ] = $domain;
					break;
				case 'fakturownia_department_id':
					$values[ $key ] = ( '' === $value || null === $value || 0 === absint( $value ) ) ? null : absint( $value );
					break;
				case 'fakturownia_base_url':
				case 'infakt_base_url':
					$url = trim( (string) $value );
					if ( '' !== $url && ! wp_http_validate_url( $url ) && ! preg_match( '#^https?://[^/\s]+#', $url ) ) {
						$errors->add( 'bpm_bridge_invalid_url', __( 'A base URL must be an absolute http:// or https:// address.', 'bpm-bridge' ) );
						break;
					}
					$values[ $key ] = ( '' === $url ) ? '' : untrailingslashit( esc_url_raw( $url, array( 'http', 'https' ) ) );
					break;
				case 'fakturownia_api_token':
				case 'infakt_api_key':
					$secret = trim( (string) $value );
					if ( '' !== $secret ) {
						$values[ $key ] = $secret;
					}
					break;
			}
		}
		if ( $errors->has_errors() ) {
			return $errors;
		}
		self::store_invoicing( $values );
		return true;
	}

	/**
	 * Removes a stored credential.
	 *
	 * @param string $key One of CREDENTIAL_KEYS.
	 */
	public static function clear_credential( string $key ): void {
		if ( ! in_array( $key, self::CREDENTIAL_KEYS, true ) ) {
			return;
		}
		$values         = self::get_invoicing();
		$values[ $key ] = '';
		self::store_invoicing( $values );
	}

	/**
	 * Encrypts credentials and writes the option (not autoloaded: it holds ciphertext nobody needs per request).
	 *
	 * @param array<string,mixed> $values Plain values.
	 */
	private static function store_invoicing( array $values ): void {
		foreach ( self::CREDENTIAL_KEYS as $key ) {
			$values[ $key ] = Crypto::encrypt( (string) $values[ $key ] );
		}
		update_option( self::INVOICING, $values, false );
	}

	/**
	 * Validates one enum value into $values.
	 *
	 * @param array<string,mixed> $values  Target.
	 * @param \WP_Error           $errors  Error sink.
	 * @param string              $key     Key.
	 * @param mixed               $value   Candidate.
	 * @param string[]            $allowed Allowed values.
	 */
	private static function set_enum( array &$values, \WP_Error $errors, string $key, $value, array $allowed ): void {
		if ( ! in_array( $value, $allowed, true ) ) {
			/* translators: 1: setting name, 2: allowed values */
			$errors->add( 'bpm_bridge_invalid_' . $key, sprintf( __( '%1$s must be one of: %2$s.', 'bpm-bridge' ), $key, implode( ', ', $allowed ) ) );
			return;
		}
		$values[ $key ] = $value;
	}

	/*
	 * ---------------------------------------------------------------- CRM, carrier, RMA (grow with their features)
	 */

	/**
	 * CRM settings.
	 *
	 * @return array<string,mixed>
	 */
	public static function get_crm(): array {
		return self::get_section( self::CRM, array( 'provider' => 'none' ) );
	}

	/**
	 * Carrier settings.
	 *
	 * @return array<string,mixed>
	 */
	public static function get_carrier(): array {
		return self::get_section( self::CARRIER, array( 'provider' => 'none' ) );
	}

	/**
	 * RMA settings.
	 *
	 * @return array<string,mixed>
	 */
	public static function get_rma(): array {
		$rma            = self::get_section( self::RMA, array( 'enabled' => false ) );
		$rma['enabled'] = (bool) $rma['enabled'];
		return $rma;
	}

	/**
	 * Sets the CRM provider (only "none" exists until the CRM feature lands).
	 *
	 * @param array<string,mixed> $input Settings.
	 * @return true|\WP_Error
	 */
	public static function set_crm( array $input ) {
		$allowed = (array) apply_filters( 'bpm_bridge_crm_providers', array( 'none' ) );
		return self::set_provider_section( self::CRM, self::get_crm(), $input, $allowed );
	}

	/**
	 * Sets the carrier provider (only "none" exists until the carrier feature lands).
	 *
	 * @param array<string,mixed> $input Settings.
	 * @return true|\WP_Error
	 */
	public static function set_carrier( array $input ) {
		$allowed = (array) apply_filters( 'bpm_bridge_carrier_providers', array( 'none' ) );
		return self::set_provider_section( self::CARRIER, self::get_carrier(), $input, $allowed );
	}

	/**
	 * Switches returns handling on or off.
	 *
	 * @param array<string,mixed> $input Settings.
	 * @return true
	 */
	public static function set_rma( array $input ) {
		$rma = self::get_rma();
		if ( array_key_exists( 'enabled', $input ) ) {
			$rma['enabled'] = (bool) rest_sanitize_boolean( $input['enabled'] );
		}
		update_option( self::RMA, $rma, false );
		return true;
	}

	/**
	 * A stored array option merged over its defaults.
	 *
	 * @param string              $name     Option.
	 * @param array<string,mixed> $defaults Defaults.
	 * @return array<string,mixed>
	 */
	private static function get_section( string $name, array $defaults ): array {
		$stored = get_option( $name, array() );
		return array_merge( $defaults, is_array( $stored ) ? $stored : array() );
	}

	/**
	 * Validates and stores {"provider": …}.
	 *
	 * @param string              $name    Option.
	 * @param array<string,mixed> $current Current values.
	 * @param array<string,mixed> $input   Input.
	 * @param string[]            $allowed Allowed providers.
	 * @return true|\WP_Error
	 */
	private static function set_provider_section( string $name, array $current, array $input, array $allowed ) {
		if ( array_key_exists( 'provider', $input ) ) {
			if ( ! in_array( $input['provider'], $allowed, true ) ) {
				/* translators: %s: allowed values */
				return new \WP_Error( 'bpm_bridge_invalid_provider', sprintf( __( 'provider must be one of: %s.', 'bpm-bridge' ), implode( ', ', $allowed ) ) );
			}
			$current['provider'] = $input['provider'];
		}
		update_option( $name, $current, false );
		return true;
	}

	/*
	 * ---------------------------------------------------------------- configuration version and payload
	 */

	/**
	 * The configuration version (bumped on every change).
	 */
	public static function get_config_version(): int {
		return (int) get_option( self::CONFIG_VERSION, 1 );
	}

	/**
	 * Bumps the version and queues config.updated. While one config.updated is still pending, no second
	 * one is queued: the sidecar reads the whole configuration when it gets the first.
	 */
	public static function config_changed(): void {
		$version = self::get_config_version() + 1;
		update_option( self::CONFIG_VERSION, $version, true );
		if ( ! Outbox::has_pending( 'config.updated' ) ) {
			Outbox::add( 'config.updated', array( 'version' => $version ) );
		}
	}

	/**
	 * The body of GET bpm-bridge/v1/config (docs/contract.md §3.1), credentials decrypted.
	 *
	 * @return array<string,mixed>
	 */
	public static function config_payload(): array {
		$inv      = self::get_invoicing();
		$currency = function_exists( 'get_woocommerce_currency' ) ? get_woocommerce_currency() : 'PLN';
		return array(
			'version'   => self::get_config_version(),
			'store'     => array(
				'url'      => home_url(),
				'currency' => $currency,
				'timezone' => wp_timezone_string(),
			),
			'invoicing' => array(
				'provider'         => $inv['provider'],
				'trigger'          => array(
					'default'           => $inv['trigger_default'],
					'by_payment_method' => (object) $inv['trigger_by_payment_method'],
				),
				'b2c_document'     => $inv['b2c_document'],
				'send_email'       => (bool) $inv['send_email'],
				'exemption_reason' => $inv['exemption_reason'],
				'fakturownia'      => array(
					'domain'        => $inv['fakturownia_domain'],
					'api_token'     => $inv['fakturownia_api_token'],
					'department_id' => $inv['fakturownia_department_id'],
					'base_url'      => '' === $inv['fakturownia_base_url'] ? null : $inv['fakturownia_base_url'],
				),
				'infakt'           => array(
					'api_key'  => $inv['infakt_api_key'],
					'base_url' => '' === $inv['infakt_base_url'] ? null : $inv['infakt_base_url'],
				),
			),
			'crm'       => self::get_crm(),
			'carrier'   => self::get_carrier(),
			'rma'       => self::get_rma(),
		);
	}
}
