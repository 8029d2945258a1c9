<?php
/**
 * WooCommerce double: WooCommerce → Settings (admin.php?page=wc-settings&tab=...).
 *
 * WC_Settings_Page (constructor hooks, get_settings_for_section, output, save, sections) and WC_Admin_Settings
 * (get_settings_pages via 'woocommerce_get_settings_pages', output, save, output_fields, save_fields, get_option,
 * messages) with WooCommerce's hook names and argument lists; output_fields renders the common field types with
 * WooCommerce's markup (name/id = option id) and hands unknown types to 'woocommerce_admin_field_{type}'.
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

/**
 * A settings tab (WC_Settings_Page).
 */
abstract class WC_Settings_Page {
	/**
	 * Tab id.
	 *
	 * @var string
	 */
	protected $id = '';

	/**
	 * Tab label.
	 *
	 * @var string
	 */
	protected $label = '';

	/**
	 * Hook the tab in (same hooks and priorities as WooCommerce).
	 */
	public function __construct() {
		add_filter( 'woocommerce_settings_tabs_array', array( $this, 'add_settings_page' ), 20 );
		add_action( 'woocommerce_sections_' . $this->id, array( $this, 'output_sections' ) );
		add_action( 'woocommerce_settings_' . $this->id, array( $this, 'output' ) );
		add_action( 'woocommerce_settings_save_' . $this->id, array( $this, 'save' ) );
	}

	/**
	 * Tab id.
	 *
	 * @return string
	 */
	public function get_id() {
		return $this->id;
	}

	/**
	 * Tab label.
	 *
	 * @return string
	 */
	public function get_label() {
		return $this->label;
	}

	/**
	 * Add this tab to the tabs array.
	 *
	 * @param array $pages Tabs.
	 * @return array
	 */
	public function add_settings_page( $pages ) {
		$pages[ $this->id ] = $this->label;
		return $pages;
	}

	/**
	 * Deprecated: settings of the default section.
	 *
	 * @return array
	 */
	public function get_settings() {
		$section_id = 0 === func_num_args() ? '' : func_get_arg( 0 );
		return $this->get_settings_for_section( $section_id );
	}

	/**
	 * Settings of a section: get_settings_for_{section}_section() if defined, else get_settings_for_section_core(),
	 * then the 'woocommerce_get_settings_{id}' filter.
	 *
	 * @param string $section_id Section ('' = default).
	 * @return array
	 */
	final public function get_settings_for_section( $section_id ) {
		$method = 'get_settings_for_' . ( '' === $section_id ? 'default' : $section_id ) . '_section';
		if ( method_exists( $this, $method ) ) {
			$settings = $this->$method();
		} else {
			$settings = $this->get_settings_for_section_core( $section_id );
		}
		return apply_filters( 'woocommerce_get_settings_' . $this->id, $settings, $section_id );
	}

	/**
	 * Settings when no section method exists.
	 *
	 * @param string $section_id Section.
	 * @return array
	 */
	protected function get_settings_for_section_core( $section_id ) {
		return array();
	}

	/**
	 * All sections (own + filtered).
	 *
	 * @return array
	 */
	public function get_sections() {
		return (array) apply_filters( 'woocommerce_get_sections_' . $this->id, $this->get_own_sections() );
	}

	/**
	 * Own sections: '' => label.
	 *
	 * @return array
	 */
	protected function get_own_sections() {
		return array( '' => __( 'General', 'woocommerce' ) );
	}

	/**
	 * Section links.
	 */
	public function output_sections() {
		global $current_section;
		$sections = $this->get_sections();
		if ( empty( $sections ) || 1 === count( $sections ) ) {
			return;
		}
		echo '<ul class="subsubsub">';
		$links = array();
		foreach ( $sections as $id => $label ) {
			$url     = admin_url( 'admin.php?page=wc-settings&tab=' . $this->id . '&section=' . sanitize_title( $id ) );
			$class   = $current_section === $id ? 'current' : '';
			$links[] = '<li><a href="' . esc_url( $url ) . '" class="' . esc_attr( $class ) . '">' . esc_html( $label ) . '</a></li>';
		}
		echo wp_kses_post( implode( ' | ', $links ) );
		echo '</ul><br class="clear" />';
	}

	/**
	 * Render the current section's fields.
	 */
	public function output() {
		global $current_section;
		WC_Admin_Settings::output_fields( $this->get_settings_for_section( (string) $current_section ) );
	}

	/**
	 * Save the current section and fire 'woocommerce_update_options_{id}_{section}' for a named section.
	 */
	public function save() {
		$this->save_settings_for_current_section();
		$this->do_update_options_action();
	}

	/**
	 * Save the current section's fields.
	 */
	protected function save_settings_for_current_section() {
		global $current_section;
		WC_Admin_Settings::save_fields( $this->get_settings_for_section( (string) $current_section ) );
	}

	/**
	 * Section update action.
	 *
	 * @param string|null $section_id Section, null for the current one.
	 */
	protected function do_update_options_action( $section_id = null ) {
		global $current_section;
		if ( is_null( $section_id ) ) {
			$section_id = $current_section;
		}
		if ( $section_id ) {
			do_action( 'woocommerce_update_options_' . $this->id . '_' . $section_id );
		}
	}
}

/**
 * The double's "General" tab, so the settings screen has WooCommerce's default tab.
 */
class BPM_WC_Double_Settings_General extends WC_Settings_Page {
	/**
	 * Constructor.
	 */
	public function __construct() {
		$this->id    = 'general';
		$this->label = __( 'General', 'woocommerce' );
		parent::__construct();
	}

	/**
	 * Fields.
	 *
	 * @return array
	 */
	protected function get_settings_for_default_section() {
		return array(
			array(
				'title' => __( 'Currency options', 'woocommerce' ),
				'type'  => 'title',
				'id'    => 'pricing_options',
			),
			array(
				'title'   => __( 'Currency', 'woocommerce' ),
				'id'      => 'woocommerce_currency',
				'default' => 'PLN',
				'type'    => 'select',
				'options' => array(
					'PLN' => 'Polish złoty (zł)',
					'EUR' => 'Euro (€)',
					'USD' => 'United States (US) dollar ($)',
				),
			),
			array(
				'type' => 'sectionend',
				'id'   => 'pricing_options',
			),
		);
	}
}

/**
 * The settings screen (WC_Admin_Settings).
 */
class WC_Admin_Settings {
	/**
	 * Pages.
	 *
	 * @var WC_Settings_Page[]
	 */
	private static $settings = array();

	/**
	 * Errors.
	 *
	 * @var string[]
	 */
	private static $errors = array();

	/**
	 * Messages.
	 *
	 * @var string[]
	 */
	private static $messages = array();

	/**
	 * Settings pages (core + 'woocommerce_get_settings_pages'); built once per request.
	 *
	 * @return WC_Settings_Page[]
	 */
	public static function get_settings_pages() {
		if ( empty( self::$settings ) ) {
			$settings       = array( new BPM_WC_Double_Settings_General() );
			self::$settings = apply_filters( 'woocommerce_get_settings_pages', $settings );
		}
		return self::$settings;
	}

	/**
	 * Save the current tab (nonce 'woocommerce-settings'), like WC_Admin_Settings::save().
	 */
	public static function save() {
		global $current_tab;
		check_admin_referer( 'woocommerce-settings' );
		do_action( 'woocommerce_settings_save_' . $current_tab );
		do_action( 'woocommerce_update_options_' . $current_tab );
		do_action( 'woocommerce_update_options' );
		self::add_message( __( 'Your settings have been saved.', 'woocommerce' ) );
		do_action( 'woocommerce_settings_saved' );
	}

	/**
	 * Add a message.
	 *
	 * @param string $text Message.
	 */
	public static function add_message( $text ) {
		self::$messages[] = $text;
	}

	/**
	 * Add an error.
	 *
	 * @param string $text Error.
	 */
	public static function add_error( $text ) {
		self::$errors[] = $text;
	}

	/**
	 * Print messages and errors.
	 */
	public static function show_messages() {
		foreach ( self::$errors as $error ) {
			echo '<div id="message" class="error inline"><p><strong>' . esc_html( $error ) . '</strong></p></div>';
		}
		foreach ( self::$messages as $message ) {
			echo '<div id="message" class="updated inline"><p><strong>' . esc_html( $message ) . '</strong></p></div>';
		}
	}

	/**
	 * The settings screen.
	 */
	public static function output() {
		global $current_section, $current_tab;
		do_action( 'woocommerce_settings_start' );
		$tabs = apply_filters( 'woocommerce_settings_tabs_array', array() );
		echo '<div class="wrap woocommerce"><form method="' . esc_attr( apply_filters( 'woocommerce_settings_form_method_tab_' . $current_tab, 'post' ) ) . '" id="mainform" action="" enctype="multipart/form-data">';
		echo '<nav class="nav-tab-wrapper woo-nav-tab-wrapper">';
		foreach ( $tabs as $slug => $label ) {
			echo '<a href="' . esc_url( admin_url( 'admin.php?page=wc-settings&tab=' . esc_attr( $slug ) ) ) . '" class="nav-tab ' . ( $current_tab === $slug ? 'nav-tab-active' : '' ) . '">' . esc_html( $label ) . '</a>';
		}
		do_action( 'woocommerce_settings_tabs' );
		echo '</nav><h1 class="screen-reader-text">' . esc_html( $tabs[ $current_tab ] ?? '' ) . '</h1>';
		do_action( 'woocommerce_sections_' . $current_tab );
		self::show_messages();
		do_action( 'woocommerce_settings_' . $current_tab );
		do_action( 'woocommerce_settings_tabs_' . $current_tab );
		echo '<p class="submit">';
		if ( empty( $GLOBALS['hide_save_button'] ) ) {
			echo '<button name="save" class="button-primary woocommerce-save-button" type="submit" value="' . esc_attr__( 'Save changes', 'woocommerce' ) . '">' . esc_html__( 'Save changes', 'woocommerce' ) . '</button>';
		}
		wp_nonce_field( 'woocommerce-settings' );
		echo '</p></form></div>';
	}

	/**
	 * A stored option, supporting 'name[key]' ids.
	 *
	 * @param string $option_name Option.
	 * @param mixed  $default     Default.
	 * @return mixed
	 */
	public static function get_option( $option_name, $default = '' ) {
		if ( ! $option_name ) {
			return $default;
		}
		if ( strstr( $option_name, '[' ) ) {
			parse_str( $option_name, $option_array );
			$option_name  = current( array_keys( $option_array ) );
			$option_value = get_option( $option_name, null );
			$key          = key( $option_array[ $option_name ] );
			$option_value = isset( $option_value[ $key ] ) ? $option_value[ $key ] : null;
		} else {
			$option_value = get_option( $option_name, null );
		}
		if ( is_array( $option_value ) ) {
			$option_value = wp_unslash( $option_value );
		} elseif ( ! is_null( $option_value ) ) {
			$option_value = stripslashes( $option_value );
		}
		return ( null === $option_value ) ? $default : $option_value;
	}

	/**
	 * Render fields (WooCommerce markup, reduced).
	 *
	 * @param array[] $options Fields.
	 */
	public static function output_fields( $options ) {
		foreach ( $options as $value ) {
			if ( ! isset( $value['type'] ) ) {
				continue;
			}
			$value = wp_parse_args(
				$value,
				array(
					'id'                => '',
					'title'             => isset( $value['name'] ) ? $value['name'] : '',
					'class'             => '',
					'css'               => '',
					'default'           => '',
					'desc'              => '',
					'desc_tip'          => false,
					'placeholder'       => '',
					'suffix'            => '',
					'custom_attributes' => array(),
				)
			);
			$attrs = '';
			foreach ( (array) $value['custom_attributes'] as $attribute => $attribute_value ) {
				$attrs .= ' ' . esc_attr( $attribute ) . '="' . esc_attr( $attribute_value ) . '"';
			}
			$description  = $value['desc'] && true !== $value['desc_tip'] ? '<p class="description">' . wp_kses_post( $value['desc'] ) . '</p>' : '';
			$option_value = isset( $value['value'] ) ? $value['value'] : self::get_option( $value['id'], $value['default'] );
			$id           = esc_attr( $value['id'] );
			$row_start    = '<tr valign="top"><th scope="row" class="titledesc"><label for="' . $id . '">' . esc_html( $value['title'] ) . '</label></th><td class="forminp forminp-' . esc_attr( sanitize_title( $value['type'] ) ) . '">';
			switch ( $value['type'] ) {
				case 'title':
					if ( $value['title'] ) {
						echo '<h2>' . esc_html( $value['title'] ) . '</h2>';
					}
					if ( $value['desc'] ) {
						echo '<div id="' . $id . '-description">' . wp_kses_post( wpautop( wptexturize( $value['desc'] ) ) ) . '</div>'; // phpcs:ignore WordPress.Security.EscapeOutput
					}
					echo '<table class="form-table">';
					if ( $value['id'] ) {
						do_action( 'woocommerce_settings_' . sanitize_title( $value['id'] ) );
					}
					break;
				case 'sectionend':
					if ( $value['id'] ) {
						do_action( 'woocommerce_settings_' . sanitize_title( $value['id'] ) . '_end' );
					}
					echo '</table>';
					if ( $value['id'] ) {
						do_action( 'woocommerce_settings_' . sanitize_title( $value['id'] ) . '_after' );
					}
					break;
				case 'text':
				case 'password':
				case 'datetime':
				case 'datetime-local':
				case 'date':
				case 'month':
				case 'time':
				case 'week':
				case 'number':
				case 'email':
				case 'url':
				case 'tel':
					echo $row_start . '<input name="' . $id . '" id="' . $id . '" type="' . esc_attr( $value['type'] ) . '" style="' . esc_attr( $value['css'] ) . '" value="' . esc_attr( $option_value ) . '" class="' . esc_attr( $value['class'] ) . '" placeholder="' . esc_attr( $value['placeholder'] ) . '"' . $attrs . ' /> ' . esc_html( $value['suffix'] ) . $description . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput
					break;
				case 'textarea':
					echo $row_start . $description . '<textarea name="' . $id . '" id="' . $id . '" style="' . esc_attr( $value['css'] ) . '" class="' . esc_attr( $value['class'] ) . '" placeholder="' . esc_attr( $value['placeholder'] ) . '"' . $attrs . '>' . esc_textarea( $option_value ) . '</textarea></td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput
					break;
				case 'select':
				case 'multiselect':
					$multi = 'multiselect' === $value['type'];
					echo $row_start . '<select name="' . $id . ( $multi ? '[]' : '' ) . '" id="' . $id . '" style="' . esc_attr( $value['css'] ) . '" class="' . esc_attr( $value['class'] ) . '"' . $attrs . ( $multi ? ' multiple="multiple"' : '' ) . '>'; // phpcs:ignore WordPress.Security.EscapeOutput
					foreach ( (array) ( $value['options'] ?? array() ) as $key => $label ) {
						$selected = is_array( $option_value ) ? in_array( (string) $key, array_map( 'strval', $option_value ), true ) : (string) $key === (string) $option_value;
						echo '<option value="' . esc_attr( $key ) . '"' . ( $selected ? ' selected="selected"' : '' ) . '>' . esc_html( $label ) . '</option>';
					}
					echo '</select>' . $description . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput
					break;
				case 'radio':
					echo $row_start . '<fieldset>' . $description . '<ul>'; // phpcs:ignore WordPress.Security.EscapeOutput
					foreach ( (array) ( $value['options'] ?? array() ) as $key => $label ) {
						echo '<li><label><input name="' . $id . '" value="' . esc_attr( $key ) . '" type="radio" class="' . esc_attr( $value['class'] ) . '"' . $attrs . ( (string) $key === (string) $option_value ? ' checked="checked"' : '' ) . ' /> ' . esc_html( $label ) . '</label></li>'; // phpcs:ignore WordPress.Security.EscapeOutput
					}
					echo '</ul></fieldset></td></tr>';
					break;
				case 'checkbox':
					echo '<tr valign="top"><th scope="row" class="titledesc">' . esc_html( $value['title'] ) . '</th><td class="forminp forminp-checkbox"><fieldset><label for="' . $id . '"><input name="' . $id . '" id="' . $id . '" type="checkbox" class="' . esc_attr( $value['class'] ) . '" value="1"' . ( 'yes' === $option_value ? ' checked="checked"' : '' ) . $attrs . ' /> ' . wp_kses_post( $value['desc'] ) . '</label></fieldset></td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput
					break;
				case 'info':
					echo '<tr><th scope="row" class="titledesc"></th><td style="' . esc_attr( $value['css'] ) . '">' . wp_kses_post( wpautop( wptexturize( $value['text'] ?? '' ) ) ) . '</td></tr>';
					break;
				default:
					do_action( 'woocommerce_admin_field_' . $value['type'], $value );
					break;
			}
		}
	}

	/**
	 * Save fields from $data (default $_POST) with WooCommerce's per-type sanitising and filters.
	 *
	 * @param array[]    $options Fields.
	 * @param array|null $data    Posted data.
	 * @return bool
	 */
	public static function save_fields( $options, $data = null ) {
		if ( is_null( $data ) ) {
			$data = $_POST; // phpcs:ignore WordPress.Security.NonceVerification -- verified by save().
		}
		if ( empty( $data ) ) {
			return false;
		}
		$update_options   = array();
		$autoload_options = array();
		foreach ( $options as $option ) {
			if ( ! isset( $option['id'] ) || ! isset( $option['type'] ) || ( isset( $option['is_option'] ) && false === $option['is_option'] ) ) {
				continue;
			}
			if ( strstr( $option['id'], '[' ) ) {
				parse_str( $option['id'], $option_name_array );
				$option_name  = current( array_keys( $option_name_array ) );
				$setting_name = key( $option_name_array[ $option_name ] );
				$raw_value    = isset( $data[ $option_name ][ $setting_name ] ) ? wp_unslash( $data[ $option_name ][ $setting_name ] ) : null;
			} else {
				$option_name  = $option['id'];
				$setting_name = '';
				$raw_value    = isset( $data[ $option['id'] ] ) ? wp_unslash( $data[ $option['id'] ] ) : null;
			}
			switch ( $option['type'] ) {
				case 'checkbox':
					$value = '1' === $raw_value || 'yes' === $raw_value ? 'yes' : 'no';
					break;
				case 'textarea':
					$value = wp_kses_post( trim( (string) $raw_value ) );
					break;
				case 'multiselect':
					$value = array_filter( array_map( 'wc_clean', (array) $raw_value ) );
					break;
				case 'select':
					$allowed_values = empty( $option['options'] ) ? array() : array_map( 'strval', array_keys( $option['options'] ) );
					if ( empty( $option['default'] ) && empty( $allowed_values ) ) {
						$value = null;
						break;
					}
					$default = ( empty( $option['default'] ) ? $allowed_values[0] : $option['default'] );
					$value   = in_array( $raw_value, $allowed_values, true ) ? $raw_value : $default;
					break;
				default:
					$value = wc_clean( $raw_value );
					break;
			}
			$value = apply_filters( 'woocommerce_admin_settings_sanitize_option', $value, $option, $raw_value );
			$value = apply_filters( "woocommerce_admin_settings_sanitize_option_$option_name", $value, $option, $raw_value );
			if ( is_null( $value ) ) {
				continue;
			}
			if ( $option_name && $setting_name ) {
				if ( ! isset( $update_options[ $option_name ] ) ) {
					$update_options[ $option_name ] = get_option( $option_name, array() );
				}
				if ( ! is_array( $update_options[ $option_name ] ) ) {
					$update_options[ $option_name ] = array();
				}
				$update_options[ $option_name ][ $setting_name ] = $value;
			} else {
				$update_options[ $option_name ] = $value;
			}
			$autoload_options[ $option_name ] = isset( $option['autoload'] ) ? (bool) $option['autoload'] : true;
			do_action( 'woocommerce_update_option', $option );
		}
		foreach ( $update_options as $name => $value ) {
			update_option( $name, $value, $autoload_options[ $name ] ? 'yes' : 'no' );
		}
		return true;
	}
}

add_action(
	'admin_menu',
	static function () {
		add_menu_page( __( 'WooCommerce', 'woocommerce' ), __( 'WooCommerce', 'woocommerce' ), 'edit_others_shop_orders', 'woocommerce', null, 'dashicons-cart', '55.5' );
		add_submenu_page( 'woocommerce', __( 'WooCommerce settings', 'woocommerce' ), __( 'Settings', 'woocommerce' ), 'manage_woocommerce', 'wc-settings', array( 'WC_Admin_Settings', 'output' ) );
	},
	9
);

add_action(
	'wp_loaded',
	static function () {
		// WC_Admin_Menus::save_settings: pages are built, then a posted form is saved, before any output.
		if ( ! is_admin() || ! isset( $_GET['page'] ) || 'wc-settings' !== $_GET['page'] ) { // phpcs:ignore WordPress.Security.NonceVerification
			return;
		}
		global $current_tab, $current_section;
		$current_tab     = empty( $_GET['tab'] ) ? 'general' : sanitize_title( wp_unslash( $_GET['tab'] ) ); // phpcs:ignore WordPress.Security.NonceVerification
		$current_section = empty( $_REQUEST['section'] ) ? '' : sanitize_title( wp_unslash( $_REQUEST['section'] ) ); // phpcs:ignore WordPress.Security.NonceVerification
		WC_Admin_Settings::get_settings_pages();
		if ( ! empty( $_POST['save'] ) && current_user_can( 'manage_woocommerce' ) ) { // phpcs:ignore WordPress.Security.NonceVerification
			WC_Admin_Settings::save();
		}
	}
);
