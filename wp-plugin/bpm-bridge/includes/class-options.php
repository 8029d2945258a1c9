<?php
/**
 * Every option the plugin stores: the connection (sidecar URL, secrets) and the schema's sections.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

use BPM_Bridge\Settings\Fields;
use BPM_Bridge\Settings\Migration;
use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * Settings access. The admin screens and the REST routes go through these methods only; what the sections
 * hold, their defaults and their validation come from Settings\Schema and Settings\Fields.
 */
final class Options {

	const SIDECAR_URL     = 'bpm_bridge_sidecar_url';
	const SECRET          = 'bpm_bridge_secret';
	const SECRET_PREVIOUS = 'bpm_bridge_secret_previous';
	const CONFIG_VERSION  = 'bpm_bridge_config_version';
	const DB_VERSION      = 'bpm_bridge_db_version';
	const API_USER_ID     = 'bpm_bridge_api_user_id';

	/**
	 * Every option name, for uninstall: the connection options and each schema section's option.
	 *
	 * @return string[]
	 */
	public static function all_names(): array {
		return array_merge(
			array(
				self::SIDECAR_URL,
				self::SECRET,
				self::SECRET_PREVIOUS,
				self::CONFIG_VERSION,
				self::DB_VERSION,
				self::API_USER_ID,
			),
			self::config_options()
		);
	}

	/**
	 * Options whose change the sidecar must learn about (config.updated): one per schema section.
	 *
	 * @return string[]
	 */
	public static function config_options(): array {
		return array_values( Schema::OPTIONS );
	}

	/**
	 * Hooks: a change of any configuration option queues config.updated.
	 */
	public static function register(): void {
		foreach ( self::config_options() as $name ) {
			add_action( "add_option_{$name}", array( self::class, 'config_changed' ), 10, 0 );
			add_action( "update_option_{$name}", array( self::class, 'config_changed' ), 10, 0 );
		}
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
		$clean = Fields::url( $url );
		if ( null === $clean ) {
			/* translators: 1: field name, 2: the value the admin entered. */
			return new \WP_Error( 'bpm_bridge_invalid_url', sprintf( __( '%1$s: "%2$s" is not an http(s) address; the previous value was kept.', 'bpm-bridge' ), __( 'Sidecar URL', 'bpm-bridge' ), trim( $url ) ) );
		}
		update_option( self::SIDECAR_URL, $clean, true );
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
	 * ---------------------------------------------------------------- schema sections (invoicing, crm, carrier, rma)
	 */

	/**
	 * A section's settings in the GET /config shape, defaults filled in, credentials decrypted (unreadable
	 * ones come back as ''). Never print credentials into a page: use form_values().
	 *
	 * @param string $section Section id (Schema::sections()).
	 * @return array<string,mixed>
	 */
	public static function get( string $section ): array {
		$schema = self::schema( $section );
		$stored = get_option( (string) $schema['option'], array() );
		$stored = is_array( $stored ) ? $stored : array();
		$values = array();
		foreach ( Schema::fields( $schema ) as $path => $field ) {
			$value = Fields::get( $stored, $path, $found );
			$value = $found ? $value : $field['default'];
			if ( 'credential' === $field['type'] ) {
				$plain = Crypto::decrypt( is_string( $value ) ? $value : '' );
				$value = ( null === $plain ) ? '' : $plain;
			}
			Fields::set( $values, $path, $value );
		}
		return $values;
	}

	/**
	 * A section's settings for the form: credentials replaced by whether one is saved (true/false).
	 *
	 * @param string $section Section id.
	 * @return array<string,mixed>
	 */
	public static function form_values( string $section ): array {
		$values = self::get( $section );
		foreach ( Schema::credential_paths( self::schema( $section ) ) as $path ) {
			Fields::set( $values, $path, '' !== Fields::get( $values, $path ) );
		}
		return $values;
	}

	/**
	 * Validates a partial update of a section without storing it. Paths absent from $input stay as stored;
	 * a credential given as '' stays, given as null is removed.
	 *
	 * @param string              $section Section id.
	 * @param array<string,mixed> $input   Nested values (the GET /config shape), any subset.
	 * @return array{values: array<string,mixed>, errors: string[]} Valid values merged over the stored ones.
	 */
	public static function validate( string $section, array $input ): array {
		$values = self::get( $section );
		$errors = array();
		foreach ( Schema::fields( self::schema( $section ) ) as $path => $field ) {
			$raw = Fields::get( $input, $path, $found );
			if ( ! $found ) {
				continue;
			}
			$clean = Fields::clean( $field, $raw, Fields::get( $values, $path ) );
			if ( is_wp_error( $clean ) ) {
				$errors[] = $clean->get_error_message();
				continue;
			}
			Fields::set( $values, $path, $clean['value'] );
		}
		return array(
			'values' => $values,
			'errors' => $errors,
		);
	}

	/**
	 * Validates and stores a partial update of a section (see validate()).
	 *
	 * @param string              $section    Section id.
	 * @param array<string,mixed> $input      Nested values, any subset.
	 * @param bool                $keep_valid On an error, store the valid values anyway (the settings form);
	 *                                        otherwise nothing is stored.
	 * @return true|\WP_Error The errors, one message each.
	 */
	public static function set( string $section, array $input, bool $keep_valid = false ) {
		$result = self::validate( $section, $input );
		if ( array() === $result['errors'] || $keep_valid ) {
			self::store( $section, $result['values'] );
		}
		if ( array() === $result['errors'] ) {
			return true;
		}
		$error = new \WP_Error();
		foreach ( $result['errors'] as $message ) {
			$error->add( 'bpm_bridge_invalid_setting', $message );
		}
		return $error;
	}

	/**
	 * Whether a credential is stored and readable.
	 *
	 * @param string $section Section id.
	 * @param string $path    Credential path, e.g. "fakturownia.api_token".
	 */
	public static function has_credential( string $section, string $path ): bool {
		return in_array( $path, Schema::credential_paths( self::schema( $section ) ), true ) && '' !== Fields::get( self::get( $section ), $path );
	}

	/**
	 * Removes a stored credential.
	 *
	 * @param string $section Section id.
	 * @param string $path    Credential path.
	 */
	public static function clear_credential( string $section, string $path ): void {
		if ( in_array( $path, Schema::credential_paths( self::schema( $section ) ), true ) ) {
			$values = array();
			Fields::set( $values, $path, null );
			self::set( $section, $values );
		}
	}

	/**
	 * Invoicing settings (get( 'invoicing' )).
	 *
	 * @return array<string,mixed>
	 */
	public static function get_invoicing(): array {
		return self::get( 'invoicing' );
	}

	/**
	 * Updates invoicing settings. Also takes version 1's flat keys (fakturownia_api_token, trigger_default, …),
	 * which scripts written for version 1 still send.
	 *
	 * @param array<string,mixed> $input Partial settings.
	 * @return true|\WP_Error
	 */
	public static function set_invoicing( array $input ) {
		return self::set( 'invoicing', Migration::nest_v1_invoicing( $input ) );
	}

	/**
	 * CRM settings.
	 *
	 * @return array<string,mixed>
	 */
	public static function get_crm(): array {
		return self::get( 'crm' );
	}

	/**
	 * Carrier settings.
	 *
	 * @return array<string,mixed>
	 */
	public static function get_carrier(): array {
		return self::get( 'carrier' );
	}

	/**
	 * Returns (RMA) settings.
	 *
	 * @return array<string,mixed>
	 */
	public static function get_rma(): array {
		return self::get( 'rma' );
	}

	/**
	 * Updates CRM settings.
	 *
	 * @param array<string,mixed> $input Settings.
	 * @return true|\WP_Error
	 */
	public static function set_crm( array $input ) {
		return self::set( 'crm', $input );
	}

	/**
	 * Updates carrier settings.
	 *
	 * @param array<string,mixed> $input Settings.
	 * @return true|\WP_Error
	 */
	public static function set_carrier( array $input ) {
		return self::set( 'carrier', $input );
	}

	/**
	 * Updates returns settings.
	 *
	 * @param array<string,mixed> $input Settings.
	 * @return true|\WP_Error
	 */
	public static function set_rma( array $input ) {
		return self::set( 'rma', $input );
	}

	/**
	 * Writes stored values as they are, without config.updated (upgrades that do not change the configuration).
	 *
	 * @param string              $section Section id.
	 * @param array<string,mixed> $stored  Values as stored (credentials already encrypted).
	 */
	public static function write_unannounced( string $section, array $stored ): void {
		$name = Schema::OPTIONS[ $section ];
		remove_action( "update_option_{$name}", array( self::class, 'config_changed' ), 10 );
		update_option( $name, $stored, false );
		add_action( "update_option_{$name}", array( self::class, 'config_changed' ), 10, 0 );
	}

	/**
	 * Encrypts credentials and writes the option (not autoloaded: it holds ciphertext nobody needs per request).
	 *
	 * @param string              $section Section id.
	 * @param array<string,mixed> $values  Plain values.
	 */
	private static function store( string $section, array $values ): void {
		$schema = self::schema( $section );
		$stored = get_option( (string) $schema['option'], array() );
		$stored = is_array( $stored ) ? $stored : array();
		foreach ( Schema::credential_paths( $schema ) as $path ) {
			$plain = (string) Fields::get( $values, $path );
			$old   = Fields::get( $stored, $path );
			// An unchanged credential keeps its ciphertext: a fresh nonce would make every save a change
			// (and a config.updated) even when nothing changed.
			$keep = is_string( $old ) && '' !== $plain && Crypto::decrypt( $old ) === $plain;
			Fields::set( $values, $path, $keep ? $old : Crypto::encrypt( $plain ) );
		}
		update_option( (string) $schema['option'], $values, false );
	}

	/**
	 * A section of the schema.
	 *
	 * @param string $section Section id.
	 * @return array<string,mixed>
	 * @throws \InvalidArgumentException For a section the schema does not have (a typo must not store nothing silently).
	 */
	private static function schema( string $section ): array {
		$schema = Schema::section( $section );
		if ( null === $schema ) {
			throw new \InvalidArgumentException( 'BPM Bridge: no settings section named ' . esc_html( $section ) );
		}
		return $schema;
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
	 * The body of GET bpm-bridge/v1/config (docs/contract.md §3.1), credentials decrypted: the store, then
	 * every schema section in its stored shape.
	 *
	 * @return array<string,mixed>
	 */
	public static function config_payload(): array {
		$payload = array(
			'version' => self::get_config_version(),
			'store'   => array(
				'url'      => home_url(),
				'currency' => function_exists( 'get_woocommerce_currency' ) ? get_woocommerce_currency() : 'PLN',
				'timezone' => wp_timezone_string(),
			),
		);
		foreach ( Schema::sections() as $id => $schema ) {
			$values = self::get( (string) $id );
			foreach ( Schema::fields( $schema ) as $path => $field ) {
				Fields::set( $values, $path, Fields::to_payload( $field, Fields::get( $values, $path ) ) );
			}
			$payload[ $id ] = $values;
		}
		return $payload;
	}
}
