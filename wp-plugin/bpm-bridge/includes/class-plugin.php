<?php
/**
 * Bootstrap: wires every part of the plugin to WordPress.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Entry point called from bpm-bridge.php, and the one place where the parts are wired to each other.
 */
final class Plugin {

	/**
	 * Outbox actions after which a row is due for delivery now.
	 */
	const DUE_ACTIONS = array( 'bpm_bridge_event_added', 'bpm_bridge_event_retried' );

	/**
	 * Features wired by their own register(): one class per capability, each in its own directory.
	 */
	const FEATURES = array(
		Returns\Customer::class,
		Returns\Shop::class,
		Crm\Crm::class,
	);

	/**
	 * The kick of this request.
	 *
	 * @var Kick|null
	 */
	private static $kick = null;

	/**
	 * Registers hooks. Called once when the plugin file loads.
	 */
	public static function boot(): void {
		add_action( 'plugins_loaded', array( self::class, 'on_plugins_loaded' ), 5 );
		add_action( 'init', array( self::class, 'load_textdomain' ), 0 );
		Options::register();
		Dispatcher::register();
		self::wire_delivery();
		Order_Events::register();
		Nip::register();
		Rest::register();
		Role::register();
		foreach ( self::FEATURES as $feature ) {
			if ( class_exists( $feature ) ) {
				$feature::register();
			}
		}
		if ( is_admin() ) {
			// WooCommerce is loaded by then, so admin classes may extend its classes (WC_Settings_Page).
			add_action( 'plugins_loaded', array( self::class, 'load_admin' ), 20 );
		}
	}

	/**
	 * Recording and delivery meet here only: the outbox announces due rows and the immediate kick listens.
	 * Action Scheduler's async drain is the kick's fallback only (a paused or failed loopback): scheduling
	 * it for every row cost the paying request ~2 ms for a runner that starts on wp-admin requests only.
	 * The one-minute cron is the safety net under both. The outbox knows neither them nor the installer.
	 */
	private static function wire_delivery(): void {
		self::$kick = new Kick(
			array( Dispatcher::class, 'drain' ),
			array( Dispatcher::class, 'has_sidecar' ),
			array( Dispatcher::class, 'schedule_drain' )
		);
		self::$kick->register();
		foreach ( self::DUE_ACTIONS as $due ) {
			add_action( $due, array( self::$kick, 'request' ), 10, 0 );
		}
		// The outbox stores rows; the installer owns its table.
		add_action( 'bpm_bridge_outbox_table_missing', array( Installer::class, 'install_schema' ), 10, 0 );
	}

	/**
	 * The kick wired to the outbox (tests).
	 */
	public static function kick(): ?Kick {
		return self::$kick;
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
