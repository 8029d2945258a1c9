<?php
/**
 * The settings screen's buttons: admin-post handlers.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Capabilities;

defined( 'ABSPATH' ) || exit;

/**
 * Each handler checks its capability (CAPS) and its own nonce, does one thing, queues a notice and redirects back
 * (post/redirect/get, so a reload never repeats the action).
 */
final class Actions {

	/**
	 * Handler name => the capability it needs (docs/security.md). Each answers admin-post action
	 * "bpm_bridge_{name}" and checks nonce "bpm_bridge_{name}".
	 */
	const CAPS = array(
		'secret'               => Capabilities::MANAGE,
		'drop_previous_secret' => Capabilities::MANAGE,
		'test_connection'      => Capabilities::MANAGE,
		'create_api_user'      => Capabilities::MANAGE,
		'retry_event'          => Capabilities::OPERATE,
		'retry_failed'         => Capabilities::OPERATE,
	);

	/**
	 * The handlers the current user may use (their forms are printed, the others' are not).
	 *
	 * @return string[]
	 */
	public static function allowed(): array {
		return array_keys( array_filter( self::CAPS, 'current_user_can' ) );
	}

	/**
	 * Hooks the handlers.
	 */
	public static function register(): void {
		foreach ( array_keys( self::CAPS ) as $name ) {
			add_action( 'admin_post_bpm_bridge_' . $name, array( __CLASS__, 'handle_' . $name ) );
		}
	}

	/**
	 * Generate the first signing secret, or rotate: the new one signs, the old one keeps signing too.
	 */
	public static function handle_secret(): void {
		self::guard( 'secret' );
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- guard() verified the nonce.
		$rotate = isset( $_POST['mode'] ) && 'rotate' === sanitize_key( wp_unslash( $_POST['mode'] ) );
		$secret = Runtime::new_secret( $rotate );
		// The plugin signs with the new and the previous secret during a rotation, so the sidecar can switch
		// to the new one alone whenever it is restarted.
		Notices::reveal(
			'secret',
			array(
				'secret' => $secret,
				'env'    => 'BPM_WEBHOOK_SECRETS="' . $secret . '"',
			)
		);
		Notices::add(
			'success',
			$rotate
				? __( 'A new signing secret was created. Events are signed with the new and the previous secret until you stop using the previous one.', 'bpm-bridge' )
				: __( 'A signing secret was created.', 'bpm-bridge' )
		);
		self::back( '' );
	}

	/**
	 * End a rotation: sign with the current secret only.
	 */
	public static function handle_drop_previous_secret(): void {
		self::guard( 'drop_previous_secret' );
		Runtime::drop_previous_secret();
		Notices::add( 'success', __( 'Events are now signed with the current secret only.', 'bpm-bridge' ) );
		self::back( '' );
	}

	/**
	 * Sends a signed ping and reports the sidecar's answer.
	 */
	public static function handle_test_connection(): void {
		self::guard( 'test_connection' );
		$missing = Runtime::connection_problem();
		if ( '' !== $missing ) {
			// Nothing to test yet: say what is missing instead of queueing a ping that cannot be sent.
			Notices::add( 'error', $missing );
			self::back( '' );
		}
		$result = Runtime::ping();
		if ( $result['ok'] ) {
			/* translators: %d: HTTP status code. */
			Notices::add( 'success', trim( sprintf( __( 'Connection works: the sidecar accepted the signed ping (HTTP %d).', 'bpm-bridge' ), $result['status'] ) . ' ' . $result['message'] ) );
		} elseif ( $result['status'] > 0 ) {
			/* translators: 1: HTTP status code, 2: the sidecar's answer. */
			Notices::add( 'error', sprintf( __( 'The sidecar answered HTTP %1$d: %2$s', 'bpm-bridge' ), $result['status'], $result['message'] ) );
		} else {
			/* translators: %s: why the request failed. */
			Notices::add( 'error', sprintf( __( 'The sidecar could not be reached: %s', 'bpm-bridge' ), $result['message'] ) );
		}
		self::back( '' );
	}

	/**
	 * Creates the sidecar's user (role "BPM API") if needed and a new Application Password for it.
	 */
	public static function handle_create_api_user(): void {
		self::guard( 'create_api_user' );
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- guard() verified the nonce.
		$revoke  = ! empty( $_POST['revoke_previous'] );
		$created = Runtime::create_api_user( $revoke );
		if ( is_wp_error( $created ) ) {
			Notices::add( 'error', $created->get_error_message() );
			self::back( '' );
		}
		$fresh = '';
		if ( empty( Runtime::secret_status()['current'] ) ) {
			// The snippet is the moment the admin configures the sidecar: give it a secret too, shown this once.
			$fresh = Runtime::new_secret( false );
		}
		Notices::reveal(
			'api_user',
			array(
				'login'           => $created['login'],
				'env'             => self::sidecar_env( $created['login'], $created['password'], $fresh ),
				'secret_included' => '' !== $fresh,
			)
		);
		Notices::add(
			'success',
			'' !== $fresh
				? __( 'The sidecar user, its Application Password and a signing secret were created.', 'bpm-bridge' )
				: __( 'A new Application Password was created for the sidecar user.', 'bpm-bridge' )
		);
		if ( $created['revoked'] > 0 ) {
			/* translators: %d: number of revoked Application Passwords. */
			Notices::add( 'success', sprintf( _n( '%d previous Application Password of the sidecar user was revoked.', '%d previous Application Passwords of the sidecar user were revoked.', $created['revoked'], 'bpm-bridge' ), $created['revoked'] ) );
		}
		self::back( '' );
	}

	/**
	 * Queues one outbox row for delivery again.
	 */
	public static function handle_retry_event(): void {
		self::guard( 'retry_event' );
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- guard() verified the nonce.
		$id = isset( $_POST['event_id'] ) ? strtolower( sanitize_text_field( wp_unslash( $_POST['event_id'] ) ) ) : '';
		if ( ! preg_match( '/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/', $id ) ) {
			Notices::add( 'error', __( 'That event id is not valid.', 'bpm-bridge' ) );
		} elseif ( Runtime::retry( $id ) ) {
			/* translators: %s: event id. */
			Notices::add( 'success', sprintf( __( 'Event %s will be sent again shortly.', 'bpm-bridge' ), $id ) );
		} else {
			/* translators: %s: event id. */
			Notices::add( 'error', sprintf( __( 'Event %s was not found or is already done.', 'bpm-bridge' ), $id ) );
		}
		self::back( 'events' );
	}

	/**
	 * Queues every failed outbox row again.
	 */
	public static function handle_retry_failed(): void {
		self::guard( 'retry_failed' );
		$count = Runtime::retry_all_failed();
		/* translators: %d: number of events. */
		Notices::add( $count > 0 ? 'success' : 'info', sprintf( _n( '%d failed event will be sent again shortly.', '%d failed events will be sent again shortly.', $count, 'bpm-bridge' ), $count ) );
		self::back( 'events' );
	}

	/**
	 * The environment variables the sidecar boots from (sidecar/config.py).
	 *
	 * @param string $login    User login.
	 * @param string $password Application Password.
	 * @param string $secret   A secret to show now, or '' to leave a placeholder.
	 */
	public static function sidecar_env( string $login, string $password, string $secret ): string {
		$store = untrailingslashit( home_url() );
		$lines = array(
			'BPM_STORE_URL=' . $store,
			'BPM_STORE_USER=' . $login,
			'BPM_STORE_APP_PASSWORD="' . $password . '"',
			'BPM_WEBHOOK_SECRETS="' . ( '' !== $secret ? $secret : '<your signing secret>' ) . '"',
		);
		if ( 0 === strpos( $store, 'http://' ) ) {
			// The sidecar refuses to send the Application Password over plain http unless told it is a sandbox.
			$lines[] = 'BPM_ALLOW_INSECURE_STORE=true';
		}
		return implode( "\n", $lines );
	}

	/**
	 * Stops the request unless the user has the handler's capability and the action's nonce is valid.
	 *
	 * @param string $name Handler name.
	 */
	private static function guard( string $name ): void {
		if ( ! current_user_can( self::CAPS[ $name ] ) ) {
			wp_die( esc_html__( 'You are not allowed to manage BPM Bridge.', 'bpm-bridge' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( 'bpm_bridge_' . $name, 'bpm_bridge_nonce' );
	}

	/**
	 * Redirects to a section of the tab and ends the request.
	 *
	 * @param string $section Section id.
	 */
	private static function back( string $section ): void {
		$query = array();
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- guard() verified the nonce.
		$status = isset( $_POST['status'] ) ? sanitize_key( wp_unslash( $_POST['status'] ) ) : '';
		if ( 'events' === $section && in_array( $status, Events_View::statuses(), true ) ) {
			$query['status'] = $status;
		}
		wp_safe_redirect( Screens::url( $section, $query ) );
		exit;
	}
}
