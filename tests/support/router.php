<?php
/**
 * Router for PHP's built-in web server serving a WordPress test site (tests/support/wordpress.py).
 *
 * Why: `php -S` knows nothing about WordPress' pretty permalinks (Apache's rewrite rules), so every path
 * that is not a real file goes to index.php, and PHP files are run with SCRIPT_NAME/PHP_SELF set the way
 * Apache would set them (wp-admin derives $pagenow from PHP_SELF).
 *
 * @package BPM_Bridge_Tests
 */

// phpcs:disable Generic.PHP.ForbiddenFunctions -- runs before WordPress is loaded: no wp_parse_url().

$bpm_root = $_SERVER['DOCUMENT_ROOT'];
$bpm_path = urldecode( (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );
if ( false !== strpos( $bpm_path, '..' ) ) {
	http_response_code( 400 );
	return true;
}
$bpm_file = $bpm_root . $bpm_path;
if ( is_dir( $bpm_file ) ) {
	if ( '/' !== substr( $bpm_path, -1 ) ) {
		// wp-admin → wp-admin/ like Apache's DirectorySlash, so relative links resolve.
		header( 'Location: ' . $bpm_path . '/', true, 301 );
		return true;
	}
	$bpm_path .= 'index.php';
	$bpm_file .= 'index.php';
}
if ( is_file( $bpm_file ) ) {
	if ( '.php' !== substr( $bpm_file, -4 ) ) {
		return false; // Static asset: the built-in server sends it.
	}
} else {
	$bpm_path = '/index.php';
	$bpm_file = $bpm_root . '/index.php';
}
$_SERVER['SCRIPT_NAME']     = $bpm_path;
$_SERVER['PHP_SELF']        = $bpm_path;
$_SERVER['SCRIPT_FILENAME'] = $bpm_file;
chdir( dirname( $bpm_file ) );
require $bpm_file;
