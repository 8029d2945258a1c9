<?php
/**
 * One competing guest look-up counter for RmaCustomerTest: increments a counter 20 times at once with the others.
 * Usage: php guest-count-worker.php WP_DIR BARRIER_DIR KEY
 *
 * @package BPM_Bridge_Tests
 */

$_SERVER['HTTP_HOST']      = 'localhost';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require $argv[1] . '/wp-load.php';

touch( $argv[2] . '/ready-' . getmypid() );
$deadline = microtime( true ) + 30;
while ( ! file_exists( $argv[2] . '/go' ) && microtime( true ) < $deadline ) {
	usleep( 1000 );
}
for ( $i = 0; $i < 20; $i++ ) {
	\BPM_Bridge\Returns\Guest::count( 'order', $argv[3], DAY_IN_SECONDS, true );
}
echo 'done';
