<?php
/**
 * The shop's side of returns: the Returns screen, the refund, the e-mails, the order status and the deadlines.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

defined( 'ABSPATH' ) || exit;

/**
 * Wires the shop-side return features (called from Plugin::FEATURES).
 */
final class Shop {

	/**
	 * Hooks everything in.
	 */
	public static function register(): void {
		Order_Status::register();
		Refund::register();
		\BPM_Bridge\Settings\Sections\Rma::register();
		Emails::register();
		Deadlines::register();
		// The admin classes extend WordPress' admin classes: wire them once the admin files are loaded.
		add_action( 'bpm_bridge_admin_loaded', array( \BPM_Bridge\Admin\Returns_Page::class, 'register' ) );
	}
}
