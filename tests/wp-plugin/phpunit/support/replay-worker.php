<?php
/**
 * One copy of a captured sidecar request for RestTest: every worker sends the same signed POST /orders/{id}/notes
 * (same webhook-id, timestamp and signature), released together with the others by a barrier; prints the HTTP status.
 * Usage: php replay-worker.php WP_DIR BARRIER_DIR ORDER_ID USER_ID BODY MSG_ID TIMESTAMP SIGNATURE
 *
 * @package BPM_Bridge_Tests
 */

list( , $wp_dir, $barrier, $order_id, $user_id, $body, $msg_id, $timestamp, $signature ) = $argv;
$_SERVER['HTTP_HOST']      = 'localhost';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require $wp_dir . '/wp-load.php';

wp_set_current_user( (int) $user_id );
$request = new WP_REST_Request( 'POST', '/bpm-bridge/v1/orders/' . (int) $order_id . '/notes' );
$request->set_header( 'content-type', 'application/json' );
$request->set_body( $body );
$request->set_header( 'webhook-id', $msg_id );
$request->set_header( 'webhook-timestamp', $timestamp );
$request->set_header( 'webhook-signature', $signature );
rest_get_server();

touch( $barrier . '/ready-' . getmypid() );
$deadline = microtime( true ) + 30;
while ( ! file_exists( $barrier . '/go' ) && microtime( true ) < $deadline ) {
	usleep( 200 );
}
echo rest_do_request( $request )->get_status();
