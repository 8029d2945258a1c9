<?php
/**
 * PHPUnit bootstrap: loads the harness WordPress site named by BPM_WP_DIR (plugin active, WooCommerce double
 * as a must-use plugin) and the shared test case.
 *
 * @package BPM_Bridge_Tests
 */

$bpm_wp_dir = getenv( 'BPM_WP_DIR' );
if ( ! $bpm_wp_dir || ! is_file( $bpm_wp_dir . '/wp-load.php' ) ) {
	fwrite( STDERR, "BPM_WP_DIR must point at a WordPress test site (scripts/wp-test-site.sh create …)\n" );
	exit( 1 );
}

// WordPress reads the host from the request; a CLI run has none (the URL itself is fixed in wp-config.php).
$bpm_url                   = (string) getenv( 'BPM_WP_URL' );
$_SERVER['HTTP_HOST']      = (string) parse_url( $bpm_url, PHP_URL_HOST ) . ( parse_url( $bpm_url, PHP_URL_PORT ) ? ':' . parse_url( $bpm_url, PHP_URL_PORT ) : '' );
$_SERVER['SERVER_NAME']    = (string) parse_url( $bpm_url, PHP_URL_HOST );
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['REMOTE_ADDR']    = '127.0.0.1';

require $bpm_wp_dir . '/wp-load.php';

if ( ! class_exists( \BPM_Bridge\Plugin::class ) ) {
	fwrite( STDERR, "the BPM Bridge plugin is not active on the site in BPM_WP_DIR\n" );
	exit( 1 );
}

require __DIR__ . '/class-bpm-test-case.php';
