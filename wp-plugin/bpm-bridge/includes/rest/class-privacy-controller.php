<?php
/**
 * The erasure routes (docs/contract.md §3.7): the sidecar reads an erasure request and reports each CRM's outcome.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Crm\Eraser;

defined( 'ABSPATH' ) || exit;

/**
 * Erasure requests (WordPress' user_request posts of action remove_personal_data) that our eraser ran on. A
 * request is readable while it is open and for 30 days after it was completed, so the e-mail address does not
 * stay readable forever.
 */
final class Privacy_Controller extends Controller {

	/**
	 * How long after completion a request is still answered.
	 */
	const AFTER_COMPLETION = 30 * DAY_IN_SECONDS;

	/**
	 * Outcome statuses the sidecar may report.
	 */
	const OUTCOMES = array( 'done', 'failed', 'skipped' );

	/**
	 * Routes.
	 */
	public function register_routes(): void {
		$request_id = self::id_arg( 'request_id' );
		$this->route(
			'/erasures/(?P<request_id>\d+)',
			array( $this->endpoint( \WP_REST_Server::READABLE, array( $this, 'get_item' ), $request_id ) ),
			array(
				'title'      => 'bpm-bridge-erasure',
				'properties' => array(
					'request_id' => array( 'type' => 'integer' ),
					'email'      => array(
						'type'   => 'string',
						'format' => 'email',
					),
					'status'     => array(
						'type' => 'string',
						'enum' => array( 'pending', 'confirmed', 'failed', 'completed', 'deleted' ),
					),
					'outcomes'   => array( 'type' => 'object' ),
				),
			)
		);
		$this->route(
			'/erasures/(?P<request_id>\d+)/outcome',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'record_outcome' ),
					$request_id + array(
						'destination' => array(
							'type'     => 'string',
							'required' => true,
							'pattern'  => '^[a-z0-9_-]{1,40}\\z', // \z: $ would let a trailing newline through.
						),
						'status'      => array(
							'type'     => 'string',
							'required' => true,
							'enum'     => self::OUTCOMES,
						),
						'message'     => array(
							'type'              => 'string',
							'default'           => '',
							'maxLength'         => 1000,
							'validate_callback' => 'rest_validate_request_arg',
							'sanitize_callback' => 'sanitize_text_field',
						),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-erasure-outcomes',
				'properties' => array(
					'request_id' => array( 'type' => 'integer' ),
					'outcomes'   => array( 'type' => 'object' ),
				),
			)
		);
	}

	/**
	 * The request as {request_id, email, status, outcomes, kept}, or the 404 every unknown, foreign or
	 * long-completed request gets. A request deleted before its CRM erasure finished is answered from what
	 * Eraser::keep_deleted() kept (status "deleted"), for 30 days.
	 *
	 * @param int $request_id Request id.
	 * @return array|\WP_Error
	 */
	private static function find( int $request_id ) {
		$request = Eraser::request( $request_id );
		// Only requests our eraser ran on: the address of any other request is none of the sidecar's business.
		if ( null !== $request && '' !== (string) get_post_meta( $request_id, Eraser::EVENT_META, true ) ) {
			$expired = 'request-completed' === $request->status && time() - (int) $request->completed_timestamp > self::AFTER_COMPLETION;
			if ( ! $expired ) {
				return array(
					'request_id' => (int) $request->ID,
					'email'      => strtolower( (string) $request->email ),
					'status'     => (string) preg_replace( '/^request-/', '', (string) $request->status ),
					'outcomes'   => Eraser::outcomes( (int) $request->ID ),
					'kept'       => false,
				);
			}
		} elseif ( null === get_post( $request_id ) ) {
			$kept = Eraser::kept( $request_id );
			if ( null !== $kept ) {
				return array(
					'request_id' => $request_id,
					'email'      => (string) $kept['email'],
					'status'     => 'deleted',
					'outcomes'   => (array) $kept['outcomes'],
					'kept'       => true,
				);
			}
		}
		return self::error( 'bpm_bridge_erasure_not_found', __( 'No open erasure request with this id.', 'bpm-bridge' ), 404 );
	}

	/**
	 * GET /erasures/{id}: {request_id, email, status, outcomes}.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function get_item( $request ) {
		$erasure = self::find( (int) $request['request_id'] );
		if ( is_wp_error( $erasure ) ) {
			return $erasure;
		}
		return new \WP_REST_Response(
			array(
				'request_id' => $erasure['request_id'],
				'email'      => $erasure['email'],
				'status'     => $erasure['status'],
				// What was reported so far: a retried erasure skips the destinations already done.
				'outcomes'   => (object) $erasure['outcomes'],
			),
			200
		);
	}

	/**
	 * POST /erasures/{id}/outcome {destination, status, message}: {request_id, outcomes}.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function record_outcome( $request ) {
		$erasure = self::find( (int) $request['request_id'] );
		if ( is_wp_error( $erasure ) ) {
			return $erasure;
		}
		$args     = array( $erasure['request_id'], (string) $request['destination'], (string) $request['status'], (string) $request['message'] );
		$outcomes = $erasure['kept'] ? Eraser::record_kept_outcome( ...$args ) : Eraser::record_outcome( ...$args );
		if ( null === $outcomes ) {
			return self::error( 'bpm_bridge_busy', __( 'Another report for this erasure request is being written; try again in a moment.', 'bpm-bridge' ), 503 );
		}
		return new \WP_REST_Response(
			array(
				'request_id' => $erasure['request_id'],
				'outcomes'   => (object) $outcomes,
			),
			200
		);
	}
}
