<?php
/**
 * A contract-faithful stand-in for the sidecar's POST /v1/events (docs/contract.md §2), served by `php -S`.
 *
 * It checks what the real intake checks (method, path, Content-Type, size, Standard Webhooks signature with
 * the configured secrets and 300 s tolerance, envelope fields and required data keys per type) and answers
 * with the documented shapes: 202 {id, duplicate:false, actions}, 200 {duplicate:true} for a seen id, and
 * problem+json errors. A test steers failures through the state file: {"secrets": [...], "fail": 503,
 * "retry_after": "120", "sleep": 2}. Every request is appended to the log file as one JSON line.
 *
 * Environment: BPM_RECEIVER_STATE (state file), BPM_RECEIVER_LOG (log file), BPM_PLUGIN_DIR (the plugin, for
 * its Signer class).
 *
 * @package BPM_Bridge_Tests
 */

define( 'ABSPATH', __DIR__ . '/' );
require_once getenv( 'BPM_PLUGIN_DIR' ) . '/includes/class-signer.php';

/**
 * Minimal WP_Error so the plugin's Signer runs outside WordPress.
 */
class WP_Error {
	/**
	 * Message.
	 *
	 * @var string
	 */
	public $message;

	/**
	 * Constructor.
	 *
	 * @param string $code    Code.
	 * @param string $message Message.
	 */
	public function __construct( $code = '', $message = '' ) {
		$this->message = $message;
	}
}

$state   = json_decode( (string) file_get_contents( getenv( 'BPM_RECEIVER_STATE' ) ), true );
$body    = (string) file_get_contents( 'php://input' );
$headers = array_change_key_case( getallheaders(), CASE_LOWER );

/**
 * Answer, log, exit.
 *
 * @param int    $status  HTTP status.
 * @param array  $payload Body.
 * @param array  $extra   Extra headers.
 */
function bpm_receiver_answer( $status, $payload, $extra = array() ) {
	global $headers, $body;
	http_response_code( $status );
	header( 'Content-Type: ' . ( $status >= 400 ? 'application/problem+json' : 'application/json' ) );
	foreach ( $extra as $name => $value ) {
		header( "$name: $value" );
	}
	file_put_contents(
		getenv( 'BPM_RECEIVER_LOG' ),
		json_encode(
			array(
				'status'  => $status,
				'headers' => $headers,
				'body'    => $body,
				'answer'  => $payload,
			)
		) . "\n",
		FILE_APPEND | LOCK_EX
	);
	echo json_encode( $payload );
	exit;
}

/**
 * A problem+json answer.
 *
 * @param int    $status Status.
 * @param string $title  Title.
 * @param string $detail Detail.
 * @param array  $errors Field errors.
 */
function bpm_receiver_problem( $status, $title, $detail, $errors = array() ) {
	$problem = array(
		'type'   => 'urn:bpm-bridge:problem:' . strtolower( str_replace( ' ', '-', $title ) ),
		'title'  => $title,
		'status' => $status,
		'detail' => $detail,
	);
	if ( $errors ) {
		$problem['errors'] = $errors;
	}
	bpm_receiver_answer( $status, $problem );
}

if ( ! empty( $state['sleep'] ) ) {
	sleep( (int) $state['sleep'] );
}
if ( 'POST' !== $_SERVER['REQUEST_METHOD'] || '/v1/events' !== parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) ) {
	bpm_receiver_problem( 404, 'Not Found', 'only POST /v1/events exists here' );
}
if ( ! empty( $state['fail'] ) ) {
	http_response_code( (int) $state['fail'] );
	$extra = empty( $state['retry_after'] ) ? array() : array( 'Retry-After' => $state['retry_after'] );
	bpm_receiver_answer( (int) $state['fail'], array( 'title' => 'Service Unavailable', 'detail' => 'simulated failure', 'status' => (int) $state['fail'] ), $extra );
}
if ( 0 !== strpos( strtolower( $headers['content-type'] ?? '' ), 'application/json' ) ) {
	bpm_receiver_problem( 415, 'Unsupported Media Type', 'Content-Type must be application/json' );
}
if ( strlen( $body ) > 65536 ) {
	bpm_receiver_problem( 413, 'Payload Too Large', 'body exceeds 65536 bytes' );
}
$verified = \BPM_Bridge\Signer::verify( (array) $state['secrets'], $headers, $body );
if ( ! is_string( $verified ) ) {
	bpm_receiver_problem( 401, 'Invalid signature', $verified->message );
}
$event = json_decode( $body, true );
if ( ! is_array( $event ) || array_is_list( $event ) ) {
	bpm_receiver_problem( 400, 'Bad Request', 'body is not a JSON object' );
}
$required = array(
	'order.created'              => array( 'order_id' ),
	'order.paid'                 => array( 'order_id' ),
	'order.status_changed'       => array( 'order_id', 'from', 'to' ),
	'order.refunded'             => array( 'order_id', 'refund_id' ),
	'order.cancelled'            => array( 'order_id' ),
	'rma.created'                => array( 'rma_id', 'order_id' ),
	'rma.updated'                => array( 'rma_id', 'order_id' ),
	'customer.erasure_requested' => array( 'email_hash' ),
	'config.updated'             => array(),
	'ping'                       => array(),
);
$actions = array(
	'order.paid'           => array( 'invoice.issue' ),
	'order.status_changed' => array( 'invoice.issue' ),
	'order.refunded'       => array( 'invoice.correct' ),
);
$errors = array();
if ( ! is_string( $event['id'] ?? null ) || ! preg_match( '/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i', $event['id'] ) ) {
	$errors['id'][] = 'Not a valid UUID.';
} elseif ( $event['id'] !== $verified ) {
	$errors['id'][] = 'Must equal the webhook-id header.';
}
if ( ! isset( $required[ $event['type'] ?? '' ] ) ) {
	$errors['type'][] = 'Unknown event type.';
}
if ( ! is_string( $event['occurred_at'] ?? null ) || ! preg_match( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$/', $event['occurred_at'] ) ) {
	$errors['occurred_at'][] = 'Not an RFC 3339 UTC date-time.';
}
if ( ! is_string( $event['store'] ?? null ) || ! preg_match( '#^https?://#', $event['store'] ) ) {
	$errors['store'][] = 'Not an absolute http(s) URL.';
}
if ( ! is_array( $event['data'] ?? null ) || ( $event['data'] && array_is_list( $event['data'] ) ) ) {
	$errors['data'][] = 'Not an object.';
} elseif ( isset( $required[ $event['type'] ] ) ) {
	foreach ( $required[ $event['type'] ] as $key ) {
		if ( ! array_key_exists( $key, $event['data'] ) ) {
			$errors[ "data.$key" ][] = 'Missing data for required field.';
		} elseif ( str_ends_with( $key, '_id' ) && ( ! is_int( $event['data'][ $key ] ) || $event['data'][ $key ] < 1 ) ) {
			$errors[ "data.$key" ][] = 'Not a positive integer.';
		}
	}
}
if ( $errors ) {
	$first = array_key_first( $errors );
	bpm_receiver_problem( 422, 'Invalid event envelope', $first . ': ' . $errors[ $first ][0], $errors );
}
$seen_file = getenv( 'BPM_RECEIVER_STATE' ) . '.seen';
$seen      = is_file( $seen_file ) ? (array) json_decode( (string) file_get_contents( $seen_file ), true ) : array();
if ( isset( $seen[ $event['id'] ] ) ) {
	bpm_receiver_answer(
		200,
		array(
			'id'        => $event['id'],
			'duplicate' => true,
			'actions'   => $seen[ $event['id'] ],
		)
	);
}
$queued              = $actions[ $event['type'] ] ?? array();
$seen[ $event['id'] ] = $queued;
file_put_contents( $seen_file, json_encode( $seen ), LOCK_EX );
bpm_receiver_answer(
	202,
	array(
		'id'        => $event['id'],
		'duplicate' => false,
		'actions'   => $queued,
	)
);
