<?php
/**
 * WooCommerce → Settings → BPM Bridge → CRM: the "Load stages" and webhook secret "Generate" buttons.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

use BPM_Bridge\Capabilities;
use BPM_Bridge\Options;
use BPM_Bridge\Signer;

defined( 'ABSPATH' ) || exit;

/**
 * The CRM screen's form fields come from the settings schema (Settings\Sections\Crm); this adds the two tools
 * the schema cannot describe, as admin-ajax handlers (Capabilities::MANAGE and a nonce each) and a small script.
 */
final class Settings_Screen {

	/**
	 * Handler name => the admin-ajax action "bpm_bridge_{name}" and its nonce action.
	 */
	const HANDLERS = array( 'crm_pipelines', 'crm_webhook_secret' );

	/**
	 * The settings tab and section this belongs to (Admin\Screens::TAB).
	 */
	const TAB     = 'bpm_bridge';
	const SECTION = 'crm';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		Pipelines::register();
		foreach ( self::HANDLERS as $name ) {
			add_action( 'wp_ajax_bpm_bridge_' . $name, array( self::class, 'handle_' . $name ) );
		}
		add_action( 'admin_enqueue_scripts', array( self::class, 'enqueue' ) );
		// After the tab's own output (priority 10), inside WooCommerce's settings form.
		add_action( 'woocommerce_settings_' . self::TAB, array( self::class, 'panel' ), 20 );
	}

	/**
	 * Whether this request shows the CRM section of the tab.
	 */
	private static function on_screen(): bool {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- only decides what to print.
		$page    = isset( $_GET['page'] ) ? sanitize_key( wp_unslash( $_GET['page'] ) ) : '';
		$tab     = isset( $_GET['tab'] ) ? sanitize_key( wp_unslash( $_GET['tab'] ) ) : '';
		$section = isset( $_GET['section'] ) ? sanitize_key( wp_unslash( $_GET['section'] ) ) : '';
		// phpcs:enable WordPress.Security.NonceVerification.Recommended
		return 'wc-settings' === $page && self::TAB === $tab && self::SECTION === $section && current_user_can( Capabilities::MANAGE );
	}

	/**
	 * The script, with its nonces and strings.
	 */
	public static function enqueue(): void {
		if ( ! self::on_screen() ) {
			return;
		}
		wp_enqueue_script( 'bpm-bridge-crm', plugins_url( 'assets/crm.js', BPM_BRIDGE_FILE ), array(), BPM_BRIDGE_VERSION, true );
		$nonces = array();
		foreach ( self::HANDLERS as $name ) {
			$nonces[ $name ] = wp_create_nonce( 'bpm_bridge_' . $name );
		}
		wp_localize_script(
			'bpm-bridge-crm',
			'bpmBridgeCrm',
			array(
				'ajaxUrl' => admin_url( 'admin-ajax.php' ),
				'nonces'  => $nonces,
				'strings' => array(
					'loading'    => __( 'Asking the CRM…', 'bpm-bridge' ),
					'none'       => '—',
					'notLoaded'  => __( '(not in the loaded pipelines)', 'bpm-bridge' ),
					'replace'    => __( 'Replace the saved webhook secret? Flows that check the old one stop accepting requests until you give them the new one.', 'bpm-bridge' ),
					'failed'     => __( 'The request failed. Reload the page and try again.', 'bpm-bridge' ),
					'pipelineId' => __( 'ID', 'bpm-bridge' ),
				),
			)
		);
	}

	/**
	 * The tools panel under the CRM form (the script moves each tool next to the field it belongs to).
	 */
	public static function panel(): void {
		if ( ! self::on_screen() ) {
			return;
		}
		Crm::template(
			'crm/settings-panel.php',
			array(
				'loaded'     => Pipelines::loaded(),
				'has_secret' => Options::has_credential( 'crm', 'webhook.secret' ),
			)
		);
	}

	/**
	 * Admin-ajax: load the pipelines through the sidecar.
	 */
	public static function handle_crm_pipelines(): void {
		self::guard( 'crm_pipelines' );
		$result = Pipelines::load();
		$result['choices'] = \BPM_Bridge\Settings\Sections\Crm::stage_choices();
		if ( $result['ok'] ) {
			wp_send_json_success( $result );
		}
		wp_send_json_error( $result, 200 );
	}

	/**
	 * Admin-ajax: a new webhook signing secret, stored (encrypted) and answered this once.
	 */
	public static function handle_crm_webhook_secret(): void {
		self::guard( 'crm_webhook_secret' );
		$secret = Signer::new_secret();
		$stored = Options::set( 'crm', array( 'webhook' => array( 'secret' => $secret ) ) );
		if ( is_wp_error( $stored ) ) {
			wp_send_json_error( array( 'message' => $stored->get_error_message() ), 200 );
		}
		wp_send_json_success(
			array(
				'secret'  => $secret,
				'message' => __( 'A new webhook signing secret was saved. Copy it into your flow now: it is not shown again.', 'bpm-bridge' ),
			)
		);
	}

	/**
	 * Capability and nonce, or a 403.
	 *
	 * @param string $name Handler name.
	 */
	private static function guard( string $name ): void {
		if ( ! current_user_can( Capabilities::MANAGE ) ) {
			wp_send_json_error( array( 'message' => __( 'You are not allowed to manage BPM Bridge.', 'bpm-bridge' ) ), 403 );
		}
		check_ajax_referer( 'bpm_bridge_' . $name, 'nonce' );
	}
}
