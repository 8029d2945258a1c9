<?php
/**
 * The admin screens' only door into the plugin runtime (Options, Outbox, Dispatcher, Role, Crypto).
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Crypto;
use BPM_Bridge\Dispatcher;
use BPM_Bridge\Options;
use BPM_Bridge\Outbox;
use BPM_Bridge\Role;
use BPM_Bridge\Signer;

defined( 'ABSPATH' ) || exit;

/**
 * Translates between the form's dotted keys (the GET /config paths) and the runtime's option API.
 */
final class Runtime {

	/**
	 * Form key => key of Options::get_invoicing() / set_invoicing().
	 */
	const INVOICING_KEYS = array(
		'invoicing.provider'                  => 'provider',
		'invoicing.b2c_document'              => 'b2c_document',
		'invoicing.send_email'                => 'send_email',
		'invoicing.exemption_reason'          => 'exemption_reason',
		'invoicing.fakturownia.domain'        => 'fakturownia_domain',
		'invoicing.fakturownia.api_token'     => 'fakturownia_api_token',
		'invoicing.fakturownia.department_id' => 'fakturownia_department_id',
		'invoicing.fakturownia.base_url'      => 'fakturownia_base_url',
		'invoicing.infakt.api_key'            => 'infakt_api_key',
		'invoicing.infakt.base_url'           => 'infakt_base_url',
	);

	/**
	 * The main plugin file.
	 */
	public static function plugin_file(): string {
		return defined( 'BPM_BRIDGE_FILE' ) ? BPM_BRIDGE_FILE : dirname( __DIR__, 2 ) . '/bpm-bridge.php';
	}

	/**
	 * Plugin version, for asset cache busting.
	 */
	public static function version(): string {
		return defined( 'BPM_BRIDGE_VERSION' ) ? BPM_BRIDGE_VERSION : '0';
	}

	/**
	 * A setting's value for the form. Credentials come back as a bool (saved or not), never as the value.
	 *
	 * @param string $key Dotted form key.
	 * @return mixed
	 */
	public static function get_setting( string $key ) {
		if ( 'sidecar_url' === $key ) {
			return Options::get_sidecar_url();
		}
		if ( 'invoicing.trigger' === $key ) {
			$invoicing = Options::get_invoicing();
			return array(
				'default'           => $invoicing['trigger_default'],
				'by_payment_method' => (array) $invoicing['trigger_by_payment_method'],
			);
		}
		if ( isset( self::INVOICING_KEYS[ $key ] ) ) {
			$flat = self::INVOICING_KEYS[ $key ];
			if ( in_array( $flat, Options::CREDENTIAL_KEYS, true ) ) {
				return Options::has_credential( $flat );
			}
			$invoicing = Options::get_invoicing();
			return $invoicing[ $flat ] ?? null;
		}
		switch ( $key ) {
			case 'crm.provider':
				return Options::get_crm()['provider'] ?? 'none';
			case 'carrier.provider':
				return Options::get_carrier()['provider'] ?? 'none';
			case 'rma.enabled':
				return (bool) ( Options::get_rma()['enabled'] ?? false );
		}
		return null;
	}

	/**
	 * Stores cleaned form values. Options fires config.updated itself when a configuration option changes.
	 *
	 * @param array<string, mixed> $values Dotted key => cleaned value.
	 */
	public static function save_settings( array $values ): void {
		$invoicing = array();
		$forget    = array();
		foreach ( $values as $key => $value ) {
			if ( 'sidecar_url' === $key ) {
				self::report( Options::set_sidecar_url( (string) $value ) );
			} elseif ( 'invoicing.trigger' === $key ) {
				$invoicing['trigger_default']           = $value['default'];
				$invoicing['trigger_by_payment_method'] = $value['by_payment_method'];
			} elseif ( isset( self::INVOICING_KEYS[ $key ] ) ) {
				$flat = self::INVOICING_KEYS[ $key ];
				if ( in_array( $flat, Options::CREDENTIAL_KEYS, true ) && '' === $value ) {
					$forget[] = $flat;
					continue;
				}
				$invoicing[ $flat ] = $value;
			} elseif ( 'crm.provider' === $key ) {
				self::report( Options::set_crm( array( 'provider' => $value ) ) );
			} elseif ( 'carrier.provider' === $key ) {
				self::report( Options::set_carrier( array( 'provider' => $value ) ) );
			} elseif ( 'rma.enabled' === $key ) {
				self::report( Options::set_rma( array( 'enabled' => (bool) $value ) ) );
			}
		}
		if ( array() !== $invoicing ) {
			self::report( Options::set_invoicing( $invoicing ) );
		}
		foreach ( $forget as $flat ) {
			Options::clear_credential( $flat );
		}
	}

	/**
	 * Payment methods to offer per-method triggers for: WooCommerce's gateways, else its built-in ones.
	 *
	 * @return array<string, string> Gateway id => title.
	 */
	public static function payment_gateways(): array {
		$gateways = array();
		if ( function_exists( 'WC' ) ) {
			$wc = WC();
			if ( is_object( $wc ) && method_exists( $wc, 'payment_gateways' ) ) {
				$registry = $wc->payment_gateways();
				if ( is_object( $registry ) && method_exists( $registry, 'payment_gateways' ) ) {
					foreach ( (array) $registry->payment_gateways() as $id => $gateway ) {
						$title           = is_object( $gateway ) && method_exists( $gateway, 'get_method_title' ) ? $gateway->get_method_title() : '';
						$gateways[ $id ] = '' !== (string) $title ? wp_strip_all_tags( (string) $title ) : (string) $id;
					}
				}
			}
		}
		if ( array() === $gateways ) {
			// The gateways WooCommerce ships with; other ids can be added in the extra row.
			$gateways = array(
				'bacs'   => __( 'Direct bank transfer', 'bpm-bridge' ),
				'cheque' => __( 'Check payments', 'bpm-bridge' ),
				'cod'    => __( 'Cash on delivery', 'bpm-bridge' ),
			);
		}
		return $gateways;
	}

	/**
	 * Whether secrets exist, with short fingerprints an admin can compare against the sidecar's.
	 *
	 * @return array{current: bool, previous: bool, fingerprint: string, previous_fingerprint: string}
	 */
	public static function secret_status(): array {
		$secrets  = Options::get_secrets();
		$current  = Options::has_secret() && isset( $secrets[0] );
		$previous = $current && Options::has_previous_secret() && isset( $secrets[1] );
		return array(
			'current'              => $current,
			'previous'             => $previous,
			'fingerprint'          => $current ? self::fingerprint( $secrets[0] ) : '',
			'previous_fingerprint' => $previous ? self::fingerprint( $secrets[1] ) : '',
		);
	}

	/**
	 * First 8 hex digits of the secret's SHA-256: identifies it without revealing it (32 random bytes stay
	 * unguessable from 32 bits of their hash). On the sidecar: printf %s "$SECRET" | sha256sum | cut -c1-8.
	 *
	 * @param string $secret Secret.
	 */
	public static function fingerprint( string $secret ): string {
		return substr( hash( 'sha256', $secret ), 0, 8 );
	}

	/**
	 * Creates the first secret, or rotates (new current, old kept as previous). Returns the new secret.
	 *
	 * @param bool $rotate Whether the admin asked for a rotation (a first secret is created either way).
	 */
	public static function new_secret( bool $rotate ): string {
		if ( $rotate || Options::has_secret() ) {
			// A second "Generate" (double click, two tabs) must not throw away a secret the sidecar may use.
			return Options::rotate_secret();
		}
		$secret = Signer::new_secret();
		Options::set_secrets( $secret );
		return $secret;
	}

	/**
	 * Ends a rotation.
	 */
	public static function drop_previous_secret(): void {
		Options::clear_previous_secret();
	}

	/**
	 * What keeps a connection test from being meaningful, or ''.
	 */
	public static function connection_problem(): string {
		if ( '' === Options::get_sidecar_url() ) {
			return __( 'Enter and save the sidecar URL first.', 'bpm-bridge' );
		}
		if ( ! Options::has_secret() ) {
			return __( 'Generate a signing secret first (or create the API user, which creates one).', 'bpm-bridge' );
		}
		return '';
	}

	/**
	 * Sends a signed ping now.
	 *
	 * @return array{ok: bool, status: int, message: string}
	 */
	public static function ping(): array {
		$result  = Dispatcher::send_ping();
		$status  = (int) ( $result['status'] ?? 0 );
		$message = (string) ( $result['message'] ?? '' );
		// The dispatcher's message repeats the status ("HTTP 401: …", "Delivered (HTTP 202)."); the notice
		// states the status itself, so keep only the sidecar's words.
		$message = (string) preg_replace( '/^HTTP ' . $status . ':\s*/', '', $message );
		if ( ! empty( $result['ok'] ) && preg_match( '/\(HTTP ' . $status . '\)\.?$/', $message ) ) {
			$message = '';
		}
		return array(
			'ok'      => ! empty( $result['ok'] ),
			'status'  => $status,
			'message' => $message,
		);
	}

	/**
	 * The sidecar's user, if it exists.
	 *
	 * @return array{login: string, user_id: int, passwords: int}|null
	 */
	public static function api_user_status(): ?array {
		$user_id = Role::api_user_id();
		if ( 0 === $user_id ) {
			return null;
		}
		$user = get_userdata( $user_id );
		if ( ! $user ) {
			return null;
		}
		$passwords = class_exists( '\WP_Application_Passwords' ) ? \WP_Application_Passwords::get_user_application_passwords( $user_id ) : array();
		return array(
			'login'     => (string) $user->user_login,
			'user_id'   => $user_id,
			'passwords' => count( (array) $passwords ),
		);
	}

	/**
	 * Creates the sidecar user if needed and a new Application Password for it.
	 *
	 * The first password comes from Role::ensure_api_user() (which also creates the user). WordPress refuses a
	 * second password with the same name for a user, so a further one (a second sidecar host, a lost
	 * password) is created here with the date and time appended; earlier passwords keep working until the
	 * admin revokes them on the user's profile.
	 *
	 * @return array{login: string, password: string, user_id: int}|\WP_Error
	 */
	public static function create_api_user() {
		if ( function_exists( 'wp_is_application_passwords_available' ) && ! wp_is_application_passwords_available() ) {
			return new \WP_Error(
				'bpm_bridge_app_passwords_unavailable',
				__( 'WordPress Application Passwords are not available on this site. They need HTTPS (or the "local" environment type) and must not be disabled by another plugin.', 'bpm-bridge' )
			);
		}
		$user_id = Role::api_user_id();
		if ( 0 === $user_id || ! \WP_Application_Passwords::application_name_exists_for_user( $user_id, Role::APP_PASSWORD ) ) {
			$created = Role::ensure_api_user();
			if ( is_wp_error( $created ) ) {
				return $created;
			}
			return array(
				'login'    => (string) $created['login'],
				'password' => (string) $created['password'],
				'user_id'  => (int) $created['user_id'],
			);
		}

		Role::ensure();
		$user = get_userdata( $user_id );
		if ( ! $user ) {
			return new \WP_Error( 'bpm_bridge_api_user_missing', __( 'The sidecar user could not be created.', 'bpm-bridge' ) );
		}
		// The identity holds this role only, whatever happened to the account meanwhile.
		$user->set_role( Role::ROLE );
		$name = Role::APP_PASSWORD;
		for ( $i = 1; \WP_Application_Passwords::application_name_exists_for_user( $user_id, $name ); $i++ ) {
			$name = Role::APP_PASSWORD . ' (' . wp_date( 'Y-m-d H:i:s' ) . ( $i > 1 ? ' #' . $i : '' ) . ')';
		}
		$created = \WP_Application_Passwords::create_new_application_password( $user_id, array( 'name' => $name ) );
		if ( is_wp_error( $created ) ) {
			return $created;
		}
		return array(
			'login'    => (string) $user->user_login,
			'password' => (string) $created[0],
			'user_id'  => $user_id,
		);
	}

	/**
	 * A page of outbox rows.
	 *
	 * @param string $status   Outbox status, or '' for all.
	 * @param int    $page     Page number, from 1.
	 * @param int    $per_page Rows per page.
	 * @return array{items: array<int, array<string, mixed>>, total: int, page: int, pages: int}
	 */
	public static function events( string $status, int $page, int $per_page ): array {
		return Outbox::list( $status, $page, $per_page );
	}

	/**
	 * Row counts per outbox status.
	 *
	 * @return array<string, int>
	 */
	public static function event_counts(): array {
		return Outbox::counts();
	}

	/**
	 * An order's outbox rows, oldest first.
	 *
	 * @param int $order_id Order id.
	 * @return array<int, array<string, mixed>>
	 */
	public static function order_events( int $order_id ): array {
		return Outbox::for_order( $order_id );
	}

	/**
	 * Queues one row again.
	 *
	 * @param string $id Event id.
	 */
	public static function retry( string $id ): bool {
		return Outbox::retry( $id );
	}

	/**
	 * Queues every failed row again; returns how many.
	 */
	public static function retry_all_failed(): int {
		return (int) Outbox::retry_all_failed();
	}

	/**
	 * Encrypts a short-lived value with the plugin key.
	 *
	 * @param string $plain Value.
	 */
	public static function encrypt( string $plain ): string {
		return Crypto::encrypt( $plain );
	}

	/**
	 * Decrypts a value from encrypt(); '' when it cannot be read.
	 *
	 * @param string $stored Value.
	 */
	public static function decrypt( string $stored ): string {
		return (string) Crypto::decrypt( $stored );
	}

	/**
	 * Turns a runtime validation error into notices.
	 *
	 * @param true|\WP_Error $result Setter result.
	 */
	private static function report( $result ): void {
		if ( is_wp_error( $result ) ) {
			foreach ( $result->get_error_messages() as $message ) {
				Notices::add( 'error', $message );
			}
		}
	}
}
