<?php
/**
 * One competing drain for OutboxTest: claims batches until none are left, prints the claimed ids as JSON.
 * Usage: php claim-worker.php WP_DIR BARRIER_DIR
 * The worker loads WordPress, writes BARRIER_DIR/ready-<pid>, and starts claiming when BARRIER_DIR/go
 * appears, so that all workers claim at the same moment.
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
$ids = array();
do {
	$rows = \BPM_Bridge\Outbox::claim( 5 );
	foreach ( $rows as $row ) {
		$ids[] = $row['id'];
	}
} while ( $rows );
echo json_encode( $ids );
