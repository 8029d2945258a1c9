<?php
/**
 * WooCommerce → Settings → BPM Bridge.
 *
 * Lives in its own folder and is loaded only from the woocommerce_get_settings_pages filter: WC_Settings_Page
 * exists only while WooCommerce builds its settings screen.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin\Settings;

use BPM_Bridge\Admin\Screens;
use BPM_Bridge\Admin\Notices;
use BPM_Bridge\Admin\Runtime;
use BPM_Bridge\Admin\Settings_Fields;
use BPM_Bridge\Admin\Views;
use BPM_Bridge\Capabilities;

defined( 'ABSPATH' ) || exit;

/**
 * The BPM Bridge settings tab: General, Invoicing, CRM/carriers/returns, and a link to the Events screen
 * (its own page, so Shop Managers reach it without this tab). Only users with Capabilities::MANAGE get the tab
 * (Admin::add_settings_page()); output() and save() check again.
 */
class Settings_Page extends \WC_Settings_Page {

	/**
	 * Sets the tab id and label, then lets WooCommerce hook the tab in.
	 */
	public function __construct() {
		$this->id    = Screens::TAB;
		$this->label = __( 'BPM Bridge', 'bpm-bridge' );
		parent::__construct();
	}

	/**
	 * Sections of the tab ('' is the first one, as in WooCommerce's own tabs); WooCommerce's
	 * get_sections() passes them through the woocommerce_get_sections_{tab} filter.
	 *
	 * @return array<string, string>
	 */
	protected function get_own_sections() {
		return array(
			''          => __( 'General', 'bpm-bridge' ),
			'invoicing' => __( 'Invoicing', 'bpm-bridge' ),
			'crm'       => __( 'CRM', 'bpm-bridge' ),
			'returns'   => __( 'Returns', 'bpm-bridge' ),
			'events'    => __( 'Events', 'bpm-bridge' ),
		);
	}

	/**
	 * Section links under the tabs; "Events" leads to the Events screen.
	 *
	 * Written here rather than inherited because the inherited markup changed between WooCommerce versions
	 * and this tab's links must keep the Events screen's filters out of the other sections.
	 */
	public function output_sections() {
		$current  = self::current_section();
		$sections = $this->get_sections();
		echo '<ul class="subsubsub">';
		$last = array_key_last( $sections );
		foreach ( $sections as $id => $label ) {
			printf(
				'<li><a href="%1$s" class="%2$s">%3$s</a>%4$s</li>',
				esc_url( Screens::url( (string) $id ) ),
				( $current === $id ? 'current' : '' ),
				esc_html( $label ),
				( $last === $id ? '' : ' | ' )
			);
		}
		echo '</ul><br class="clear" />';
	}

	/**
	 * The section's content, inside WooCommerce's settings form.
	 */
	public function output() {
		$section = self::current_section();
		if ( ! current_user_can( Capabilities::MANAGE ) ) {
			return;
		}

		Notices::render();
		$reveal = Notices::take_reveal();
		if ( null !== $reveal ) {
			Views::template( 'admin/reveal.php', $reveal );
		}

		$context = array( 'values' => Runtime::settings_values() );
		if ( '' === $section ) {
			$context['secret']   = Runtime::secret_status();
			$context['api_user'] = Runtime::api_user_status();
		}
		wp_nonce_field( 'bpm_bridge_save_settings', 'bpm_bridge_settings_nonce' );
		Settings_Fields::render( Settings_Fields::for_section( $section ), $context );
	}

	/**
	 * Saves the posted section.
	 *
	 * WooCommerce has already checked its own nonce and manage_woocommerce before calling this; the checks are
	 * repeated because this method writes credentials and must not depend on the caller.
	 */
	public function save() {
		if ( ! current_user_can( Capabilities::MANAGE ) ) {
			wp_die( esc_html__( 'You are not allowed to change BPM Bridge settings.', 'bpm-bridge' ), 403 );
		}
		$fields = Settings_Fields::for_section( self::current_section() );
		if ( empty( $fields ) ) {
			return;
		}
		check_admin_referer( 'bpm_bridge_save_settings', 'bpm_bridge_settings_nonce' );
		// phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- every value is validated per schema field type in Options::set().
		$input  = isset( $_POST[ Settings_Fields::INPUT ] ) && is_array( $_POST[ Settings_Fields::INPUT ] ) ? wp_unslash( $_POST[ Settings_Fields::INPUT ] ) : array();
		foreach ( Runtime::save_settings( Settings_Fields::input( $fields, $input ) ) as $error ) {
			Notices::add( 'error', $error );
		}
	}

	/**
	 * The section being shown or saved.
	 */
	public static function current_section(): string {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- navigation only; nothing is changed on GET.
		$section  = isset( $_GET['section'] ) ? sanitize_title( wp_unslash( $_GET['section'] ) ) : '';
		return array_key_exists( $section, Settings_Fields::screens() ) ? $section : '';
	}
}
