<?php
/**
 * The CRM feature on the shop's side: consent, erasure, the settings screen's CRM tools.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

defined( 'ABSPATH' ) || exit;

/**
 * Wires the CRM parts (called from Plugin::FEATURES). The sync itself runs in the sidecar (sidecar/jobs/crm.py):
 * the plugin records consent, forwards erasure requests and shows what the sidecar wrote back.
 */
final class Crm {

	/**
	 * Hooks.
	 */
	public static function register(): void {
		Consent::register();
		Eraser::register();
		Withdrawal::register();
		if ( is_admin() ) {
			Settings_Screen::register();
			Erasure_Notes::register();
		}
	}

	/**
	 * Prints a template from templates/ (front end and admin alike).
	 *
	 * @param string               $name Template path below templates/, e.g. "crm/consent-account.php".
	 * @param array<string, mixed> $args Values the template reads as $args.
	 */
	public static function template( string $name, array $args = array() ): void {
		$file = BPM_BRIDGE_DIR . '/templates/' . $name;
		if ( ! preg_match( '#^[a-z0-9/_-]+\.php$#', $name ) || ! is_file( $file ) ) {
			return;
		}
		include $file;
	}
}
