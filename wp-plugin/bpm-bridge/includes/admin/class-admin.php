<?php
/**
 * Admin side of BPM Bridge: wires the settings tab, the admin-post actions and the order box.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Capabilities;

defined( 'ABSPATH' ) || exit;

/**
 * Registers the admin hooks (where things are: Screens).
 */
final class Admin {

	/**
	 * Hooks everything in; safe to call more than once.
	 */
	public static function register(): void {
		if ( has_filter( 'woocommerce_get_settings_pages', array( __CLASS__, 'add_settings_page' ) ) ) {
			return;
		}
		add_filter( 'woocommerce_get_settings_pages', array( __CLASS__, 'add_settings_page' ) );
		// After WooCommerce has added its own menu (priority 9) and its submenus.
		add_action( 'admin_menu', array( __CLASS__, 'add_events_page' ), 60 );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
		add_action( 'admin_footer', array( __CLASS__, 'action_forms' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( Runtime::plugin_file() ), array( __CLASS__, 'plugin_links' ) );
		add_action( 'admin_notices', array( __CLASS__, 'woocommerce_missing_notice' ) );
		Actions::register();
		Order_Box::register();
	}

	/**
	 * Adds the BPM Bridge tab to WooCommerce → Settings, for users with Capabilities::MANAGE only: WooCommerce
	 * shows its settings screen to every manage_woocommerce user (Shop Managers), and a tab that is not added
	 * is neither rendered nor saved for them.
	 *
	 * @param array<int, object> $pages Settings pages.
	 * @return array<int, object>
	 */
	public static function add_settings_page( $pages ) {
		if ( ! class_exists( '\WC_Settings_Page' ) || ! current_user_can( Capabilities::MANAGE ) ) {
			return $pages;
		}
		$pages   = is_array( $pages ) ? $pages : array();
		$pages[] = new Settings\Settings_Page();
		return $pages;
	}

	/**
	 * The Events screen under the WooCommerce menu.
	 */
	public static function add_events_page(): void {
		add_submenu_page(
			'woocommerce',
			__( 'BPM Bridge events', 'bpm-bridge' ),
			__( 'BPM Bridge events', 'bpm-bridge' ),
			Capabilities::OPERATE,
			Screens::EVENTS_PAGE,
			array( Events_View::class, 'render_page' )
		);
	}

	/**
	 * Loads the small stylesheet and script on the tab and on order screens.
	 *
	 * @param string $hook_suffix Current admin page.
	 */
	public static function enqueue( $hook_suffix ): void {
		$screen   = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		$is_order = $screen && in_array( $screen->id, Order_Box::screen_ids(), true );
		if ( ! Screens::on_own_screen() && ! $is_order ) {
			return;
		}
		$base = plugins_url( 'assets/', Runtime::plugin_file() );
		wp_enqueue_style( 'bpm-bridge-admin', $base . 'admin.css', array(), Runtime::version() );
		wp_enqueue_script( 'bpm-bridge-admin', $base . 'admin.js', array(), Runtime::version(), true );
	}

	/**
	 * Prints the admin-post forms the screens' buttons submit: only those the user's capabilities allow.
	 */
	public static function action_forms(): void {
		if ( ! Screens::on_own_screen() || ! current_user_can( Capabilities::OPERATE ) ) {
			return;
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- carried into the redirect only.
		$section = isset( $_GET['section'] ) ? sanitize_key( wp_unslash( $_GET['section'] ) ) : '';
		Views::template(
			'admin/action-forms.php',
			array(
				'actions' => Actions::allowed(),
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
		if ( ! current_user_can( Capabilities::MANAGE ) ) {
			return $links;
		}
		array_unshift( $links, '<a href="' . esc_url( Screens::url() ) . '">' . esc_html__( 'Settings', 'bpm-bridge' ) . '</a>' );
		return $links;
	}
}

// The plugin's bootstrap (includes/class-plugin.php) loads this folder in wp-admin and then fires this action.
add_action( 'bpm_bridge_admin_loaded', array( Admin::class, 'register' ) );
