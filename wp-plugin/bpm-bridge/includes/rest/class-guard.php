<?php
/**
 * The one guard of every bpm-bridge/v1 route: request shape, capability, signature, replay, per-order lock.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Contract;
use BPM_Bridge\Options;
use BPM_Bridge\Role;
use BPM_Bridge\Signer;

defined( 'ABSPATH' ) || exit;

/**
 * Two stages. Before WordPress parses anything (rest_pre_dispatch): no query parameter but rest_route, no
 * method override, a body within the contract's limit. Then, as every route's permission_callback: the
 * bpm_bridge_api capability, a contract revision 2 signature over method, route, query and body, and a
 * message id never used before.
 */
final class Guard {

	/**
	 * The only query parameter a request may carry (plain permalinks route with it; it is not signed).
	 */
	const ALLOWED_QUERY = array( 'rest_route' );

	/**
	 * Whether this PHP request answered a bpm-bridge/v1 route (its answer must not be cached).
	 *
	 * @var boolean
	 */
	private static $answered = false;

	/**
	 * Hooks the stages that are not permission callbacks.
	 */
	public static function register(): void {
		add_filter( 'rest_pre_dispatch', array( self::class, 'pre_dispatch' ), 10, 3 );
		add_filter( 'rest_post_dispatch', array( self::class, 'post_dispatch' ), 10, 3 );
		// WordPress sends its nocache headers after the route's own, so its Cache-Control would win.
		add_filter( 'nocache_headers', array( self::class, 'nocache_headers' ) );
		add_filter( 'rest_envelope_response', array( self::class, 'no_envelope' ), 10, 2 );
	}

	/**
	 * Whether a request is for one of the plugin's routes.
	 *
	 * @param \WP_REST_Request $request Request.
	 */
	public static function is_ours( \WP_REST_Request $request ): bool {
		// WordPress matches routes case-insensitively: /BPM-Bridge/v1/… reaches our handlers too.
		$route = strtolower( $request->get_route() );
		$base  = '/' . \BPM_Bridge\Rest::NAMESPACE;
		return $route === $base || 0 === strpos( $route, $base . '/' );
	}

	/**
	 * Refuses, before the body is parsed or any argument read, what a signed request never carries: other query
	 * parameters (they would override the signed body's arguments), method overrides (`_method`,
	 * X-HTTP-Method-Override) and `_envelope`, bodies over the contract's limit, and bodies that are not a JSON
	 * object.
	 *
	 * @param mixed            $result  A response already chosen by an earlier filter, or null.
	 * @param \WP_REST_Server  $server  Server.
	 * @param \WP_REST_Request $request Request.
	 * @return mixed
	 */
	public static function pre_dispatch( $result, $server, $request ) {
		if ( null !== $result || ! $request instanceof \WP_REST_Request || ! self::is_ours( $request ) ) {
			return $result;
		}
		$extra = array_values( array_diff( array_map( 'strval', array_keys( (array) $request->get_query_params() ) ), self::ALLOWED_QUERY ) );
		if ( $request->get_header( 'x_http_method_override' ) !== null ) {
			$extra[] = 'X-HTTP-Method-Override';
		}
		if ( $extra ) {
			// A response, not a WP_Error: rest_do_request() hands rest_pre_dispatch results back unconverted.
			return self::refusal(
				'bpm_bridge_query_not_allowed',
				/* translators: %s: parameter names */
				sprintf( __( 'bpm-bridge/v1 takes its arguments from the signed body only; remove: %s.', 'bpm-bridge' ), implode( ', ', array_map( 'sanitize_key', $extra ) ) ),
				400,
				array( 'params' => array_map( 'sanitize_text_field', $extra ) )
			);
		}
		$limit    = Contract::limit( 'max_route_body_bytes' );
		$declared = (int) $request->get_header( 'content_length' );
		if ( strlen( (string) $request->get_body() ) > $limit || $declared > $limit ) {
			return self::refusal(
				'bpm_bridge_body_too_large',
				/* translators: %d: bytes */
				sprintf( __( 'The request body is larger than %d bytes.', 'bpm-bridge' ), $limit ),
				413
			);
		}
		// Form fields and uploads become arguments too, and a multipart body is not in php://input, so not signed.
		if ( $request->get_body_params() || $request->get_file_params() ) {
			return self::refusal( 'bpm_bridge_not_json', __( 'bpm-bridge/v1 takes a JSON body only (Content-Type: application/json).', 'bpm-bridge' ), 415 );
		}
		// Every route takes a JSON object (an empty one may come as []); WordPress' own parameter handling trips
		// over a scalar body ("x", 1).
		$body = ltrim( (string) $request->get_body() );
		if ( '' !== $body && '{' !== $body[0] && '[' !== $body[0] ) {
			return self::refusal( 'rest_invalid_json', __( 'The request body must be a JSON object.', 'bpm-bridge' ), 400 );
		}
		return $result;
	}

	/**
	 * A refusal as a REST response.
	 *
	 * @param string $code    Code.
	 * @param string $message Message.
	 * @param int    $status  HTTP status.
	 * @param array  $data    Extra data.
	 */
	private static function refusal( string $code, string $message, int $status, array $data = array() ): \WP_REST_Response {
		return rest_convert_error_to_response( Controller::error( $code, $message, $status, $data ) );
	}

	/**
	 * Every route's permission callback. The capability first (WordPress' own 401/403 rest_forbidden), then the
	 * signature (401 bpm_bridge_bad_signature), then the replay guard: each message id is accepted once, reads
	 * included, so a captured request cannot be sent again inside the signature's tolerance.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return true|\WP_Error
	 */
	public static function permission( \WP_REST_Request $request ) {
		if ( ! current_user_can( Role::CAP ) ) {
			return new \WP_Error(
				'rest_forbidden',
				__( 'Sorry, you are not allowed to do that.', 'bpm-bridge' ),
				array( 'status' => rest_authorization_required_code() )
			);
		}
		$secrets = Options::get_secrets();
		if ( ! $secrets ) {
			return Controller::error( 'bpm_bridge_bad_signature', __( 'No signing secret is configured in the BPM Bridge settings.', 'bpm-bridge' ), 401 );
		}
		$verified = Signer::verify_request(
			$secrets,
			array(
				'webhook-id'        => $request->get_header( 'webhook-id' ),
				'webhook-timestamp' => $request->get_header( 'webhook-timestamp' ),
				'webhook-signature' => $request->get_header( 'webhook-signature' ),
			),
			$request->get_method(),
			$request->get_route(),
			(array) $request->get_query_params(),
			(string) $request->get_body(),
			null,
			Contract::signature_tolerance()
		);
		if ( is_wp_error( $verified ) ) {
			return $verified;
		}
		return Replay_Guard::use_id( $verified );
	}

	/**
	 * Marks the plugin's answers `Cache-Control: no-store` (GET /config carries credentials; the rest carries
	 * order state).
	 *
	 * @param \WP_HTTP_Response $response Response.
	 * @param \WP_REST_Server   $server   Server.
	 * @param \WP_REST_Request  $request  Request.
	 * @return \WP_HTTP_Response
	 */
	public static function post_dispatch( $response, $server, $request ) {
		if ( $response instanceof \WP_HTTP_Response && $request instanceof \WP_REST_Request && self::is_ours( $request ) ) {
			$response->header( 'Cache-Control', 'no-store' );
			self::$answered = true;
		}
		return $response;
	}

	/**
	 * WordPress' nocache headers for a logged-in REST request, with no-store once a plugin route answered.
	 *
	 * @param array<string,string> $headers Headers.
	 * @return array<string,string>
	 */
	public static function nocache_headers( $headers ) {
		if ( self::$answered ) {
			$headers['Cache-Control'] = 'no-store';
		}
		return $headers;
	}

	/**
	 * Keeps `_envelope` from wrapping the plugin's refusal of it in a 200: the answer goes out as it is.
	 *
	 * @param array             $envelope Envelope.
	 * @param \WP_HTTP_Response $response The response it wraps.
	 * @return array|\WP_HTTP_Response
	 */
	public static function no_envelope( $envelope, $response ) {
		return self::$answered && $response instanceof \WP_HTTP_Response ? $response : $envelope;
	}

	/**
	 * Runs $work on the order under a per-order database lock (MySQL GET_LOCK, which works across PHP
	 * processes without extra tables), so a check and the write after it are one step for concurrent requests.
	 * A missing order is a 404 before any waiting; the order is read again from the database once the lock is held.
	 *
	 * @param int      $order_id Order id.
	 * @param callable $work     Receives the freshly read order; returns the route's response.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function with_order_lock( int $order_id, callable $work ) {
		global $wpdb;
		$order = Controller::order( $order_id );
		if ( is_wp_error( $order ) ) {
			return $order;
		}
		$name = substr( $wpdb->prefix . 'bpm_bridge_order_' . $order_id, 0, 64 );
		$got  = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 10)', $name ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		if ( '1' !== (string) $got ) {
			return Controller::error( 'bpm_bridge_busy', __( 'The order is being changed by another request; try again.', 'bpm-bridge' ), 503 );
		}
		try {
			return $work( Controller::fresh_order( $order_id ) );
		} finally {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $name ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		}
	}
}
