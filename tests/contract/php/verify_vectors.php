<?php
/**
 * PHP side of the signature contract (docs/contract.md §1), run by tests/contract/php/test_php_signatures.py.
 * Uses the plugin's own signer (wp-plugin/bpm-bridge/includes/class-signer.php; BPM_SIGNER_FILE overrides).
 *
 *   php verify_vectors.php vectors FILE.json   check every vector: sign() reproduces it, verify() accepts it at its
 *                                              timestamp, and refuses it tampered, stale, early or with another key;
 *                                              prints one JSON object per vector, exits 1 if any check failed
 *   php verify_vectors.php sign                stdin {"secrets": [...], "body": "...", "msg_id": null|"...",
 *                                              "now": null|int} → stdout the headers of Signer::headers()
 *   php verify_vectors.php verify              stdin {"secrets": [...], "headers": {...}, "body": "...",
 *                                              "now": null|int} → stdout {"ok": bool, "id"|"error": "..."}
 *   php verify_vectors.php requests FILE.json  the request vectors (contract revision 2, §1.2): canonical_query()
 *                                              and sign_request() reproduce them, verify_request() accepts each at
 *                                              its timestamp and refuses it re-aimed (method, route, query, body)
 *                                              or signed the revision-1 way; one JSON object per vector, exit 1
 *                                              if any check failed
 *   php verify_vectors.php verify-request      stdin {"secrets", "headers", "method", "route", "query": [[k, v]…],
 *                                              "body", "now": null|int} → stdout {"ok": bool, "id"|"error"}
 *
 * Bodies travel as JSON strings: UTF-8 text, compared byte for byte.
 *
 * @package BPM_Bridge_Tests
 */

// phpcs:disable Generic.PHP.ForbiddenFunctions -- runs without WordPress: no wp_json_encode().

// The signer is a WordPress plugin file: give it the two things it needs without loading WordPress.
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
if ( ! class_exists( 'WP_Error' ) ) {
	/**
	 * The part of WordPress' WP_Error the signer uses.
	 */
	class WP_Error { // phpcs:ignore Generic.Files.OneObjectStructurePerFile.MultipleFound
		/**
		 * Code.
		 *
		 * @var string
		 */
		public $code;

		/**
		 * Message.
		 *
		 * @var string
		 */
		public $message;

		/**
		 * Error.
		 *
		 * @param string $code    Code.
		 * @param string $message Message.
		 * @param mixed  $data    Data.
		 */
		public function __construct( $code = '', $message = '', $data = '' ) {
			$this->code    = $code;
			$this->message = $message;
		}

		/**
		 * Message.
		 *
		 * @return string
		 */
		public function get_error_message() {
			return $this->message;
		}
	}
}
if ( ! function_exists( 'array_is_list' ) ) {
	/**
	 * PHP 8.1's array_is_list() for older CLIs.
	 *
	 * @param array $value Array.
	 */
	function array_is_list( array $value ): bool {
		return array_keys( $value ) === range( 0, count( $value ) - 1 );
	}
}

$bpm_signer_file = getenv( 'BPM_SIGNER_FILE' ) ? getenv( 'BPM_SIGNER_FILE' ) : dirname( __DIR__, 3 ) . '/wp-plugin/bpm-bridge/includes/class-signer.php';
require $bpm_signer_file;

use BPM_Bridge\Signer;

/**
 * Read a JSON object from stdin.
 *
 * @return array
 */
function bpm_stdin_json() {
	return json_decode( (string) stream_get_contents( STDIN ), true );
}

/**
 * Run the checks of one vector; returns the names of failed checks.
 *
 * @param array $v Vector.
 * @return string[]
 */
function bpm_check_vector( array $v ) {
	$failed  = array();
	$headers = array(
		'webhook-id'        => $v['msg_id'],
		'webhook-timestamp' => (string) $v['timestamp'],
		'webhook-signature' => $v['signature'],
	);
	if ( Signer::sign( $v['secret'], $v['msg_id'], (int) $v['timestamp'], $v['body'] ) !== $v['signature'] ) {
		$failed[] = 'sign';
	}
	if ( Signer::verify( array( $v['secret'] ), $headers, $v['body'], (int) $v['timestamp'] ) !== $v['msg_id'] ) {
		$failed[] = 'verify';
	}
	$other = Signer::new_secret();
	if ( Signer::verify( array( $other, $v['secret'] ), $headers, $v['body'], (int) $v['timestamp'] ) !== $v['msg_id'] ) {
		$failed[] = 'verify-any-of-several-secrets';
	}
	if ( ! Signer::verify( array( $other ), $headers, $v['body'], (int) $v['timestamp'] ) instanceof WP_Error ) {
		$failed[] = 'refuse-other-secret';
	}
	if ( ! Signer::verify( array( $v['secret'] ), $headers, $v['body'] . ' ', (int) $v['timestamp'] ) instanceof WP_Error ) {
		$failed[] = 'refuse-tampered-body';
	}
	if ( ! Signer::verify( array( $v['secret'] ), $headers, $v['body'], (int) $v['timestamp'] + 301 ) instanceof WP_Error ) {
		$failed[] = 'refuse-stale';
	}
	if ( ! Signer::verify( array( $v['secret'] ), $headers, $v['body'], (int) $v['timestamp'] - 301 ) instanceof WP_Error ) {
		$failed[] = 'refuse-early';
	}
	if ( Signer::verify( array( $v['secret'] ), $headers, $v['body'], (int) $v['timestamp'] + 300 ) !== $v['msg_id'] ) {
		$failed[] = 'accept-at-tolerance-edge';
	}
	return $failed;
}

/**
 * Run the checks of one request vector; returns the names of failed checks.
 *
 * @param array $v Vector.
 * @return string[]
 */
function bpm_check_request_vector( array $v ) {
	$failed  = array();
	$headers = array(
		'webhook-id'        => $v['msg_id'],
		'webhook-timestamp' => (string) $v['timestamp'],
		'webhook-signature' => $v['signature'],
	);
	$ts      = (int) $v['timestamp'];
	$verify  = static function ( $method, $route, $query, $body, $hdrs = null ) use ( $v, $headers, $ts ) {
		return Signer::verify_request( array( $v['secret'] ), $hdrs ?? $headers, $method, $route, $query, $body, $ts );
	};
	if ( Signer::canonical_query( $v['query'] ) !== $v['canonical_query'] ) {
		$failed[] = 'canonical-query';
	}
	if ( Signer::request_content( $v['method'], $v['route'], $v['query'], $v['body'] ) !== substr( $v['signed_content'], strlen( $v['msg_id'] . '.' . $v['timestamp'] . '.' ) ) ) {
		$failed[] = 'signed-content';
	}
	if ( Signer::sign_request( $v['secret'], $v['msg_id'], $ts, $v['method'], $v['route'], $v['query'], $v['body'] ) !== $v['signature'] ) {
		$failed[] = 'sign';
	}
	if ( $verify( $v['method'], $v['route'], $v['query'], $v['body'] ) !== $v['msg_id'] ) {
		$failed[] = 'verify';
	}
	if ( ! $verify( 'GET' === $v['method'] ? 'POST' : 'GET', $v['route'], $v['query'], $v['body'] ) instanceof WP_Error ) {
		$failed[] = 'refuse-other-method';
	}
	if ( ! $verify( $v['method'], $v['route'] . '0', $v['query'], $v['body'] ) instanceof WP_Error ) {
		$failed[] = 'refuse-other-route';
	}
	if ( ! $verify( $v['method'], $v['route'], array_merge( $v['query'], array( array( '_method', 'POST' ) ) ), $v['body'] ) instanceof WP_Error ) {
		$failed[] = 'refuse-added-query';
	}
	if ( ! $verify( $v['method'], $v['route'], $v['query'], $v['body'] . ' ' ) instanceof WP_Error ) {
		$failed[] = 'refuse-tampered-body';
	}
	// rest_route is not signed: the same request under plain permalinks verifies.
	if ( $verify( $v['method'], $v['route'], array_merge( array( array( 'rest_route', $v['route'] ) ), $v['query'] ), $v['body'] ) !== $v['msg_id'] ) {
		$failed[] = 'ignore-rest-route';
	}
	$old   = Signer::headers( array( $v['secret'] ), $v['body'], $v['msg_id'], $ts );
	$error = $verify( $v['method'], $v['route'], $v['query'], $v['body'], $old );
	if ( ! $error instanceof WP_Error || false === strpos( $error->get_error_message(), 'revision 2 signs method, route and query' ) ) {
		$failed[] = 'refuse-revision-1-with-reason';
	}
	return $failed;
}

$bpm_mode = $argv[1] ?? '';
/**
 * Checks every vector of a file with $check, prints one JSON line per vector; the exit status.
 *
 * @param string   $file  Vectors file.
 * @param callable $check Returns the failed check names of one vector.
 */
function bpm_run_vectors( $file, callable $check ) {
	$status = 0;
	foreach ( json_decode( (string) file_get_contents( $file ), true )['vectors'] as $vector ) {
		$failed = $check( $vector );
		$status = $failed ? 1 : $status;
		echo json_encode( // phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode
			array(
				'description' => $vector['description'],
				'failed'      => $failed,
			)
		), "\n";
	}
	return $status;
}

if ( 'vectors' === $bpm_mode ) {
	exit( bpm_run_vectors( $argv[2], 'bpm_check_vector' ) );
}
if ( 'requests' === $bpm_mode ) {
	exit( bpm_run_vectors( $argv[2], 'bpm_check_request_vector' ) );
}
if ( 'verify-request' === $bpm_mode ) {
	$bpm_in     = bpm_stdin_json();
	$bpm_result = Signer::verify_request( $bpm_in['secrets'], $bpm_in['headers'], $bpm_in['method'], $bpm_in['route'], $bpm_in['query'], $bpm_in['body'], $bpm_in['now'] ?? null );
	echo json_encode( $bpm_result instanceof WP_Error ? array( 'ok' => false, 'error' => $bpm_result->get_error_message() ) : array( 'ok' => true, 'id' => $bpm_result ) ), "\n"; // phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode
	exit( 0 );
}
if ( 'sign' === $bpm_mode ) {
	$bpm_in = bpm_stdin_json();
	echo json_encode( Signer::headers( $bpm_in['secrets'], $bpm_in['body'], $bpm_in['msg_id'] ?? null, $bpm_in['now'] ?? null ) ), "\n"; // phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode
	exit( 0 );
}
if ( 'verify' === $bpm_mode ) {
	$bpm_in     = bpm_stdin_json();
	$bpm_result = Signer::verify( $bpm_in['secrets'], $bpm_in['headers'], $bpm_in['body'], $bpm_in['now'] ?? null );
	echo json_encode( $bpm_result instanceof WP_Error ? array( 'ok' => false, 'error' => $bpm_result->get_error_message() ) : array( 'ok' => true, 'id' => $bpm_result ) ), "\n"; // phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode
	exit( 0 );
}
fwrite( STDERR, "usage: verify_vectors.php vectors FILE | requests FILE | sign | verify | verify-request\n" );
exit( 2 );
