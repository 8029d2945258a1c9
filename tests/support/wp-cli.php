<?php
/**
 * Minimal command line for a WordPress test site (Debian has no wp-cli package).
 *
 *   php wp-cli.php install DIR ADMIN_PASSWORD    fresh install (tables, admin user, permalinks)
 *   php wp-cli.php activate DIR [PLUGIN_FILE...] set the test theme, activate plugins (e.g. bpm-bridge/bpm-bridge.php)
 *   php wp-cli.php eval DIR < code.php           run PHP from stdin (no opening tag) with WordPress loaded,
 *                                                as the admin user (user 1) unless the code switches user
 *   php wp-cli.php run DIR FILE [ARG...]         the same for a PHP file; it sees its arguments in $bpm_args
 *
 * Exit status 0 on success, 1 with a message on stderr otherwise. Called by tests/support/wordpress.py.
 *
 * @package BPM_Bridge_Tests
 */

// phpcs:disable Generic.PHP.ForbiddenFunctions -- a test tool that runs before WordPress loads and evals test snippets.

if ( 'cli' !== PHP_SAPI ) {
	exit( 1 );
}

$bpm_cmd = $argv[1] ?? '';
$bpm_dir = rtrim( $argv[2] ?? '', '/' );
if ( ! is_file( $bpm_dir . '/wp-load.php' ) ) {
	fwrite( STDERR, "not a WordPress directory: $bpm_dir\n" );
	exit( 1 );
}

// WordPress reads the host from the request; a CLI run has none. The site URL is fixed in wp-config.php.
$bpm_host                  = (string) parse_url( (string) getenv( 'BPM_WP_URL' ), PHP_URL_HOST );
$bpm_port                  = (string) parse_url( (string) getenv( 'BPM_WP_URL' ), PHP_URL_PORT );
$_SERVER['HTTP_HOST']      = $bpm_host . ( $bpm_port ? ':' . $bpm_port : '' );
$_SERVER['SERVER_NAME']    = $bpm_host;
$_SERVER['SERVER_PORT']    = $bpm_port ? $bpm_port : '80';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['REMOTE_ADDR']    = '127.0.0.1';

if ( 'install' === $bpm_cmd ) {
	define( 'WP_INSTALLING', true );
	require $bpm_dir . '/wp-load.php';
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	$bpm_result = wp_install( 'BPM Test Shop', 'admin', 'admin@example.test', false, '', wp_slash( $argv[3] ), 'en_US' );
	if ( empty( $bpm_result['user_id'] ) ) {
		fwrite( STDERR, "wp_install failed\n" );
		exit( 1 );
	}
	update_option( 'permalink_structure', '/%postname%/' );
	update_option( 'timezone_string', 'Europe/Warsaw' );
	echo wp_json_encode( array( 'user_id' => $bpm_result['user_id'] ) ), "\n";
	exit( 0 );
}

require $bpm_dir . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
wp_set_current_user( 1 );

if ( 'activate' === $bpm_cmd ) {
	switch_theme( 'bpm-test-theme' );
	flush_rewrite_rules( true );
	foreach ( array_slice( $argv, 3 ) as $bpm_plugin ) {
		$bpm_result = activate_plugin( $bpm_plugin );
		if ( is_wp_error( $bpm_result ) ) {
			fwrite( STDERR, "activating $bpm_plugin failed: " . $bpm_result->get_error_message() . "\n" );
			exit( 1 );
		}
	}
	flush_rewrite_rules( true );
	echo "activated\n";
	exit( 0 );
}

if ( 'eval' === $bpm_cmd ) {
	$bpm_code = (string) stream_get_contents( STDIN );
	eval( $bpm_code ); // phpcs:ignore Squiz.PHP.Eval.Discouraged -- test tool: runs the test's own snippet.
	exit( 0 );
}

if ( 'run' === $bpm_cmd ) {
	$bpm_args = array_slice( $argv, 4 );
	require $argv[3];
	exit( 0 );
}

fwrite( STDERR, "unknown command: $bpm_cmd\n" );
exit( 1 );
