<?php
/**
 * One competing sidecar worker for RestTest: sends POST /orders/{id}/meta with expect {"_bpm_invoice_id": ""}
 * through WordPress' REST server, released together with the others by a barrier; prints the HTTP status.
 * Usage: php meta-cas-worker.php WP_DIR BARRIER_DIR ORDER_ID USER_ID SECRET VALUE
 *
 * @package BPM_Bridge_Tests
 */

list( , $wp_dir, $barrier, $order_id, $user_id, $secret, $value ) = $argv;
$_SERVER['HTTP_HOST']      = 'localhost';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require $wp_dir . '/wp-load.php';

wp_set_current_user( (int) $user_id );
$body    = wp_json_encode(
	array(
		'meta'   => array( '_bpm_invoice_id' => $value ),
		'expect' => array( '_bpm_invoice_id' => '' ),
	)
);
$request = new WP_REST_Request( 'POST', '/bpm-bridge/v1/orders/' . (int) $order_id . '/meta' );
$request->set_header( 'content-type', 'application/json' );
$request->set_body( $body );
foreach ( \BPM_Bridge\Signer::request_headers( array( $secret ), 'POST', $request->get_route(), array(), $body ) as $name => $header ) {
	$request->set_header( $name, $header );
}
rest_get_server();

touch( $barrier . '/ready-' . getmypid() );
$deadline = microtime( true ) + 30;
while ( ! file_exists( $barrier . '/go' ) && microtime( true ) < $deadline ) {
	usleep( 1000 );
}
echo rest_do_request( $request )->get_status();
