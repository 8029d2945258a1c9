<?php
/**
 * Admin side of BPM Bridge: wires the settings tab, the admin-post actions and the order box.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

defined( 'ABSPATH' ) || exit;

/**
 * Registers the admin hooks.
 */
final class Admin {

	/**
	 * Capability for every admin screen and action: the one WooCommerce uses for its own settings.
	 */
	const CAP = 'manage_woocommerce';

	/**
	 * Id of the WooCommerce settings tab.
	 */
	const TAB = 'bpm_bridge';

	/**
	 * Hooks everything in; safe to call more than once.
	 */
	public static function register(): void {
		if ( has_filter( 'woocommerce_get_settings_pages', array( __CLASS__, 'add_settings_page' ) ) ) {
			return;
		}
		add_filter( 'woocommerce_get_settings_pages', array( __CLASS__, 'add_settings_page' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
		add_action( 'admin_footer', array( __CLASS__, 'action_forms' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( Runtime::plugin_file() ), array( __CLASS__, 'plugin_links' ) );
		add_action( 'admin_notices', array( __CLASS__, 'woocommerce_missing_notice' ) );
		Actions::register();
		Order_Box::register();
	}

	/**
	 * Adds the BPM Bridge tab to WooCommerce → Settings.
	 *
	 * @param array<int, object> $pages Settings pages.
	 * @return array<int, object>
	 */
	public static function add_settings_page( $pages ) {
		if ( ! class_exists( '\WC_Settings_Page' ) ) {
			return $pages;
		}
		$pages   = is_array( $pages ) ? $pages : array();
		$pages[] = new Settings\Settings_Page();
		return $pages;
	}

	/**
	 * URL of a section of the tab.
	 *
	 * @param string               $section Section id.
	 * @param array<string, mixed> $query   Extra query arguments.
	 */
	public static function url( string $section = '', array $query = array() ): string {
		$args = array(
			'page' => 'wc-settings',
			'tab'  => self::TAB,
		);
		if ( '' !== $section ) {
			$args['section'] = $section;
		}
		return add_query_arg( array_merge( $args, $query ), admin_url( 'admin.php' ) );
	}

	/**
	 * Whether the current request shows the BPM Bridge tab.
	 */
	public static function on_settings_tab(): bool {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only decides whether to load assets.
		$page = isset( $_GET['page'] ) ? sanitize_key( wp_unslash( $_GET['page'] ) ) : '';
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only decides whether to load assets.
		$tab = isset( $_GET['tab'] ) ? sanitize_key( wp_unslash( $_GET['tab'] ) ) : '';
		return 'wc-settings' === $page && self::TAB === $tab;
	}

	/**
	 * Loads the small stylesheet and script on the tab and on order screens.
	 *
	 * @param string $hook_suffix Current admin page.
	 */
	public static function enqueue( $hook_suffix ): void {
		$screen   = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		$is_order = $screen && in_array( $screen->id, Order_Box::screen_ids(), true );
		if ( ! self::on_settings_tab() && ! $is_order ) {
			return;
		}
		$base = plugins_url( 'assets/', Runtime::plugin_file() );
		wp_enqueue_style( 'bpm-bridge-admin', $base . 'admin.css', array(), Runtime::version() );
		wp_enqueue_script( 'bpm-bridge-admin', $base . 'admin.js', array(), Runtime::version(), true );
	}

	/**
	 * Prints the admin-post forms the settings screen's buttons submit.
	 */
	public static function action_forms(): void {
		if ( ! self::on_settings_tab() || ! current_user_can( self::CAP ) ) {
			return;
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- carried into the redirect only.
		$section = isset( $_GET['section'] ) ? sanitize_key( wp_unslash( $_GET['section'] ) ) : '';
		Views::template(
			'admin/action-forms.php',
			array(
				'actions' => Actions::NAMES,
				'section' => $section,
				'status'  => Events_View::current_status(),
			)
		);
	}

	/**
	 * Without WooCommerce there is no settings tab and no order event: say so instead of failing silently.
	 */
	public static function woocommerce_missing_notice(): void {
		if ( class_exists( '\WooCommerce' ) || ! current_user_can( 'activate_plugins' ) ) {
			return;
		}
		echo '<div class="notice notice-warning"><p>' . esc_html__( 'BPM Bridge needs WooCommerce 7.8 or newer. Install and activate WooCommerce to configure it.', 'bpm-bridge' ) . '</p></div>';
	}

	/**
	 * "Settings" link on the Plugins screen.
	 *
	 * @param array<string, string> $links Existing links.
	 * @return array<string, string>
	 */
	public static function plugin_links( $links ) {
		$links = is_array( $links ) ? $links : array();
		array_unshift( $links, '<a href="' . esc_url( self::url() ) . '">' . esc_html__( 'Settings', 'bpm-bridge' ) . '</a>' );
		return $links;
	}
}

// The plugin's bootstrap (includes/class-plugin.php) loads this folder in wp-admin and then fires this action.
add_action( 'bpm_bridge_admin_loaded', array( Admin::class, 'register' ) );
