<?php
/**
 * Bootstrap: wires every part of the plugin to WordPress.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Entry point called from bpm-bridge.php.
 */
final class Plugin {

	/**
	 * Registers hooks. Called once when the plugin file loads.
	 */
	public static function boot(): void {
		add_action( 'plugins_loaded', array( self::class, 'on_plugins_loaded' ), 5 );
		add_action( 'init', array( self::class, 'load_textdomain' ), 0 );
		Options::register();
		Dispatcher::register();
		Order_Events::register();
		Nip::register();
		Rest::register();
		Role::register();
		if ( is_admin() ) {
			// WooCommerce is loaded by then, so admin classes may extend its classes (WC_Settings_Page).
			add_action( 'plugins_loaded', array( self::class, 'load_admin' ), 20 );
		}
	}

	/**
	 * Schema upgrades after a plugin update (activation hooks do not run on updates).
	 */
	public static function on_plugins_loaded(): void {
		Installer::maybe_upgrade();
	}

	/**
	 * Translations.
	 */
	public static function load_textdomain(): void {
		load_plugin_textdomain( 'bpm-bridge', false, dirname( plugin_basename( BPM_BRIDGE_FILE ) ) . '/languages' );
	}

	/**
	 * Loads includes/admin/*.php (the admin UI), when present.
	 */
	public static function load_admin(): void {
		$files = glob( BPM_BRIDGE_DIR . '/includes/admin/*.php' );
		foreach ( (array) $files as $file ) {
			require_once $file;
		}
		/**
		 * Fires after the admin files are loaded; admin code hooks its screens here.
		 */
		do_action( 'bpm_bridge_admin_loaded' );
	}
}
