<?php
/**
 * One sidecar report for PrivacyTest: POST /erasures/{id}/outcome for one destination through WordPress' REST
 * server, released together with the others by a barrier; prints the HTTP status.
 * Usage: php erasure-outcome-worker.php WP_DIR BARRIER_DIR REQUEST_ID USER_ID SECRET DESTINATION
 *
 * @package BPM_Bridge_Tests
 */

list( , $wp_dir, $barrier, $request_id, $user_id, $secret, $destination ) = $argv;
$_SERVER['HTTP_HOST']      = 'localhost';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require $wp_dir . '/wp-load.php';

wp_set_current_user( (int) $user_id );
$body    = wp_json_encode(
	array(
		'destination' => $destination,
		'status'      => 'done',
		'message'     => 'Erased in ' . $destination,
	)
);
$request = new WP_REST_Request( 'POST', '/bpm-bridge/v1/erasures/' . (int) $request_id . '/outcome' );
$request->set_header( 'content-type', 'application/json' );
$request->set_body( $body );
foreach ( \BPM_Bridge\Signer::request_headers( array( $secret ), 'POST', $request->get_route(), array(), $body ) as $name => $header ) {
	$request->set_header( $name, $header );
}
rest_get_server();
// Read the request (and its outcomes so far) before the barrier, as a report that read first would.
\BPM_Bridge\Crm\Eraser::outcomes( (int) $request_id );

touch( $barrier . '/ready-' . getmypid() );
$deadline = microtime( true ) + 30;
while ( ! file_exists( $barrier . '/go' ) && microtime( true ) < $deadline ) {
	usleep( 1000 );
}
echo rest_do_request( $request )->get_status();
