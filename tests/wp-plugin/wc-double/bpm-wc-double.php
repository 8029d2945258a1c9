<?php
/**
 * Plugin Name: BPM WooCommerce double (tests only)
 * Description: A double of exactly the WooCommerce surface BPM Bridge touches (docs/woocommerce-surface.md).
 *
 * Loaded as a must-use plugin by tests/support/wordpress.py. Includes every other *.php file in this folder in
 * name order, so tests can add behaviour with an `extra-*.php` file without touching the double.
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

$bpm_wc_double_files = glob( __DIR__ . '/*.php' );
sort( $bpm_wc_double_files );
foreach ( $bpm_wc_double_files as $bpm_wc_double_file ) {
	if ( __FILE__ !== $bpm_wc_double_file ) {
		require_once $bpm_wc_double_file;
	}
}
unset( $bpm_wc_double_files, $bpm_wc_double_file );
