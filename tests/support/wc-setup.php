<?php
/**
 * Sets up real WooCommerce on a fresh test site, run by tests/support/wordpress.py through
 * `wp-cli.php run DIR wc-setup.php HPOS` (HPOS = yes|no) after WooCommerce was activated.
 *
 * Runs WooCommerce's own installer (tables, roles shop_manager/customer, pages), skips the onboarding wizard,
 * makes the store a Polish one (PLN, PL, prices with VAT, 23 % / 8 % / 5 % rates), enables the offline
 * gateways a test checkout uses (cod, bacs), chooses the order storage (HPOS tables always exist; "yes" makes
 * them authoritative, with no compatibility sync so posts hold nothing of an HPOS order), and creates the test
 * products. Prints a JSON line: {"woocommerce": version, "hpos": bool, "products": {sku: id}}.
 *
 * @package BPM_Bridge_Tests
 */

// phpcs:disable Generic.PHP.ForbiddenFunctions -- a test tool run from the command line.

use Automattic\WooCommerce\Internal\DataStores\Orders\DataSynchronizer;
use Automattic\WooCommerce\Utilities\OrderUtil;

if ( ! class_exists( 'WC_Install' ) ) {
	fwrite( STDERR, "WooCommerce is not active\n" );
	exit( 1 );
}
$bpm_hpos = 'yes' === ( $bpm_args[0] ?? 'no' );

WC_Install::install();

$bpm_options = array(
	'woocommerce_currency'                       => 'PLN',
	'woocommerce_default_country'                => 'PL',
	'woocommerce_store_address'                  => 'ul. Testowa 1',
	'woocommerce_store_city'                     => 'Warszawa',
	'woocommerce_store_postcode'                 => '00-001',
	'woocommerce_allowed_countries'              => 'all',
	'woocommerce_calc_taxes'                     => 'yes',
	'woocommerce_prices_include_tax'             => 'yes',
	'woocommerce_tax_based_on'                   => 'base',
	'woocommerce_tax_display_shop'               => 'incl',
	'woocommerce_tax_display_cart'               => 'incl',
	'woocommerce_tax_classes'                    => "Reduced rate\nSuper reduced rate",
	'woocommerce_enable_guest_checkout'          => 'yes',
	'woocommerce_ship_to_countries'              => 'disabled',
	'woocommerce_onboarding_profile'             => array( 'skipped' => true ),
	'woocommerce_task_list_hidden'               => 'yes',
	'woocommerce_extended_task_list_hidden'      => 'yes',
	'woocommerce_task_list_complete'             => 'yes',
	'woocommerce_show_marketplace_suggestions'   => 'no',
	'woocommerce_allow_tracking'                 => 'no',
	'woocommerce_analytics_enabled'              => 'no',
	'woocommerce_coming_soon'                    => 'no',
	'woocommerce_store_pages_only'               => 'no',
	'woocommerce_admin_install_timestamp'        => time() - 86400,
	'woocommerce_cod_settings'                   => array(
		'enabled'            => 'yes',
		'title'              => 'Za pobraniem',
		'enable_for_virtual' => 'yes',
	),
	'woocommerce_bacs_settings'                  => array(
		'enabled' => 'yes',
		'title'   => 'Przelew',
	),
	// Order storage: HPOS tables are authoritative or not; never both kept in sync (see the file comment).
	'woocommerce_feature_custom_order_tables_enabled' => 'yes', // The 7.x feature flag; 9.x ignores it.
	'woocommerce_custom_orders_table_data_sync_enabled' => 'no',
);
foreach ( $bpm_options as $bpm_name => $bpm_value ) {
	update_option( $bpm_name, $bpm_value );
}
if ( class_exists( 'WC_Admin_Notices' ) ) {
	WC_Admin_Notices::remove_all_notices();
}
// The installer asks for a redirect to the setup wizard on the next wp-admin page (for 30 s): no wizard here.
delete_transient( '_wc_activation_redirect' );

$bpm_sync = wc_get_container()->get( DataSynchronizer::class );
$bpm_sync->create_database_tables();
update_option( 'woocommerce_custom_orders_table_enabled', $bpm_hpos ? 'yes' : 'no' );

// Polish VAT: standard 23 %, reduced 8 %, super reduced 5 %.
if ( ! WC_Tax::find_rates( array( 'country' => 'PL' ) ) ) {
	foreach ( array( '' => '23.0000', 'reduced-rate' => '8.0000', 'super-reduced-rate' => '5.0000' ) as $bpm_class => $bpm_rate ) {
		WC_Tax::_insert_tax_rate(
			array(
				'tax_rate_country'  => 'PL',
				'tax_rate'          => $bpm_rate,
				'tax_rate_name'     => 'VAT',
				'tax_rate_priority' => 1,
				'tax_rate_shipping' => '' === $bpm_class ? 1 : 0,
				'tax_rate_class'    => $bpm_class,
			)
		);
	}
}

// Test products (virtual: a checkout needs no shipping method). SKU => [name, gross price, tax class].
$bpm_products = array(
	'KUB-1' => array( 'Kubek ceramiczny', '30.75', '' ),
	'KSI-1' => array( 'Książka: Pan Tadeusz', '39.90', 'super-reduced-rate' ),
	'HER-1' => array( 'Herbata zielona', '24.50', 'reduced-rate' ),
);
$bpm_ids = array();
foreach ( $bpm_products as $bpm_sku => list( $bpm_name, $bpm_price, $bpm_class ) ) {
	$bpm_id = wc_get_product_id_by_sku( $bpm_sku );
	if ( ! $bpm_id ) {
		$bpm_product = new WC_Product_Simple();
		$bpm_product->set_name( $bpm_name );
		$bpm_product->set_sku( $bpm_sku );
		$bpm_product->set_regular_price( $bpm_price );
		$bpm_product->set_tax_class( $bpm_class );
		$bpm_product->set_virtual( true );
		$bpm_product->set_status( 'publish' );
		$bpm_id = $bpm_product->save();
	}
	$bpm_ids[ $bpm_sku ] = $bpm_id;
}

echo wp_json_encode(
	array(
		'woocommerce' => WC()->version,
		'hpos'        => OrderUtil::custom_orders_table_usage_is_enabled(),
		'products'    => $bpm_ids,
	)
), "\n";
