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
use BPM_Bridge\Settings\Schema;
use BPM_Bridge\Signer;

defined( 'ABSPATH' ) || exit;

/**
 * The admin classes call the runtime through here, and the runtime never calls back into the admin classes
 * (results and errors are returned, the screens turn them into notices).
 */
final class Runtime {

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
	 * What the form shows: each schema section's values (credentials only as saved or not) and the sidecar URL.
	 *
	 * @return array<string, mixed> Section id => values, plus "sidecar_url".
	 */
	public static function settings_values(): array {
		$values = array( 'sidecar_url' => Options::get_sidecar_url() );
		foreach ( array_keys( Schema::sections() ) as $section ) {
			$values[ $section ] = Options::form_values( (string) $section );
		}
		return $values;
	}

	/**
	 * Stores one screen's input (from Settings_Fields::input()). Options validates each value once; valid
	 * values are stored even when another one is refused. Options fires config.updated itself.
	 *
	 * @param array<string, array<string, mixed>> $input Section id ('' for the sidecar URL) => nested input.
	 * @return string[] Error messages, one per refused value.
	 */
	public static function save_settings( array $input ): array {
		$errors = array();
		foreach ( $input as $section => $values ) {
			if ( '' === $section ) {
				$result = Options::set_sidecar_url( (string) ( $values['sidecar_url'] ?? '' ) );
			} else {
				$result = Options::set( (string) $section, $values, true );
			}
			if ( is_wp_error( $result ) ) {
				$errors = array_merge( $errors, $result->get_error_messages() );
			}
		}
		return $errors;
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
	 * password) is created here with the date and time appended. With $revoke_previous every other password
	 * of that user is revoked once the new one exists, so a lost or leaked one stops working.
	 *
	 * @param bool $revoke_previous Revoke the user's earlier Application Passwords.
	 * @return array{login: string, password: string, user_id: int, revoked: int}|\WP_Error
	 */
	public static function create_api_user( bool $revoke_previous = false ) {
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
			$login    = (string) $created['login'];
			$password = (string) $created['password'];
			$user_id  = (int) $created['user_id'];
			$uuid     = (string) $created['uuid'];
		} else {
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
			$login    = (string) $user->user_login;
			$password = (string) $created[0];
			$uuid     = (string) $created[1]['uuid'];
		}
		$revoked = 0;
		if ( $revoke_previous ) {
			foreach ( \WP_Application_Passwords::get_user_application_passwords( $user_id ) as $item ) {
				if ( $uuid !== $item['uuid'] && true === \WP_Application_Passwords::delete_application_password( $user_id, $item['uuid'] ) ) {
					++$revoked;
				}
			}
		}
		return array(
			'login'    => $login,
			'password' => $password,
			'user_id'  => $user_id,
			'revoked'  => $revoked,
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
}
