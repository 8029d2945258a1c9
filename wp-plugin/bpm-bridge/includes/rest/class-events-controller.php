<?php
/**
 * POST /events/{id}/outcome: the sidecar reports what became of one action of an outbox event (§3.5).
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Contract;
use BPM_Bridge\Outbox;

defined( 'ABSPATH' ) || exit;

/**
 * Outcomes. The same outcome shape is part of POST /orders/{id}/apply (outcome_schema(), prepare(), record()).
 */
final class Events_Controller extends Controller {

	const EVENT_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

	/**
	 * How deeply `details` may nest (it is stored and shown, never interpreted).
	 */
	const MAX_DETAILS_DEPTH = 32;

	/**
	 * Routes.
	 */
	public function register_routes(): void {
		$args            = self::outcome_properties();
		$args['message'] = $args['message'] + array(
			'validate_callback' => 'rest_validate_request_arg',
			// Truncated, not refused: losing an outcome over a long message would be worse.
			'sanitize_callback' => array( self::class, 'sanitize_message' ),
		);
		$args['order_id'] = array(
			'type'    => array( 'integer', 'null' ),
			'minimum' => 1,
		);
		$this->route(
			'/events/(?P<event_id>[A-Za-z0-9_-]{1,64})/outcome',
			array( $this->endpoint( \WP_REST_Server::CREATABLE, array( $this, 'create_item' ), $args ) ),
			$this->get_item_schema()
		);
	}

	/**
	 * The fields of an outcome (route arguments, and the properties of apply's `outcome` object).
	 *
	 * @return array<string,array<string,mixed>>
	 */
	public static function outcome_properties(): array {
		return array(
			'action'          => array(
				'type'     => 'string',
				'required' => true,
				'pattern'  => '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$',
			),
			'status'          => array(
				'type'     => 'string',
				'required' => true,
				'enum'     => Contract::outcome_statuses(),
			),
			'message'         => array(
				'type'    => 'string',
				'default' => '',
			),
			'details'         => array(
				'type'    => array( 'object', 'null' ),
				'default' => array(),
			),
			'next_attempt_at' => array(
				'type'   => array( 'string', 'null' ),
				'format' => 'date-time',
			),
		);
	}

	/**
	 * The `outcome` object of POST /orders/{id}/apply: an outcome with its event id, nothing else.
	 */
	public static function outcome_schema(): array {
		return array(
			'type'                 => array( 'object', 'null' ),
			'default'              => null,
			'properties'           => array(
				'event_id' => array(
					'type'     => 'string',
					'required' => true,
					'pattern'  => self::EVENT_ID_PATTERN,
				),
			) + self::outcome_properties(),
			'additionalProperties' => false,
		);
	}

	/**
	 * Response schema.
	 */
	public function get_item_schema() {
		return array(
			'title'      => 'bpm-bridge-event-outcome',
			'type'       => 'object',
			'properties' => array(
				'event_id' => array( 'type' => 'string' ),
				'status'   => array(
					'type' => 'string',
					'enum' => Contract::outbox_statuses(),
				),
			),
		);
	}

	/**
	 * An outcome message: plain text, at most max_outcome_message_chars characters.
	 *
	 * @param mixed $message Message.
	 */
	public static function sanitize_message( $message ): string {
		return mb_substr( sanitize_textarea_field( (string) $message ), 0, Contract::limit( 'max_outcome_message_chars' ) );
	}

	/**
	 * A validated outcome ready to record: message cleaned, details within size and depth.
	 *
	 * @param array $outcome Fields event_id, action, status, message, details, next_attempt_at (schema-valid).
	 * @return array{event_id:string,action:string,status:string,message:string,details:array,next_attempt_at:?string}|\WP_Error
	 */
	public static function prepare( array $outcome ) {
		$details = (array) ( $outcome['details'] ?? array() );
		$encoded = wp_json_encode( $details, 0, self::MAX_DETAILS_DEPTH );
		if ( false === $encoded ) {
			return self::error( 'rest_invalid_param', __( 'details is nested too deeply.', 'bpm-bridge' ), 400, array( 'params' => array( 'details' => 'too deep' ) ) );
		}
		if ( strlen( $encoded ) > Contract::limit( 'max_outcome_details_bytes' ) ) {
			return self::error( 'rest_invalid_param', __( 'details is larger than 16 KiB.', 'bpm-bridge' ), 400, array( 'params' => array( 'details' => 'too large' ) ) );
		}
		$next_at = $outcome['next_attempt_at'] ?? null;
		return array(
			'event_id'        => (string) $outcome['event_id'],
			'action'          => (string) $outcome['action'],
			'status'          => (string) $outcome['status'],
			'message'         => self::sanitize_message( $outcome['message'] ?? '' ),
			'details'         => $details,
			'next_attempt_at' => ( is_string( $next_at ) && '' !== $next_at ) ? $next_at : null,
		);
	}

	/**
	 * Records a prepared outcome on its outbox row.
	 *
	 * @param array $prepared From prepare().
	 * @return array{event_id:string,status:string}|\WP_Error The row's status after it.
	 */
	public static function record( array $prepared ) {
		$status = Outbox::record_outcome( $prepared['event_id'], $prepared['action'], $prepared['status'], $prepared['message'], $prepared['details'], $prepared['next_attempt_at'] );
		if ( null === $status ) {
			return self::not_found();
		}
		return array(
			'event_id' => $prepared['event_id'],
			'status'   => $status,
		);
	}

	/**
	 * Unknown event.
	 */
	public static function not_found(): \WP_Error {
		return self::error( 'bpm_bridge_event_not_found', __( 'No outbox event with this id.', 'bpm-bridge' ), 404 );
	}

	/**
	 * POST /events/{id}/outcome.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function create_item( $request ) {
		$prepared = self::prepare(
			array(
				'event_id'        => $request['event_id'],
				'action'          => $request['action'],
				'status'          => $request['status'],
				'message'         => $request['message'],
				'details'         => $request['details'],
				'next_attempt_at' => $request['next_attempt_at'],
			)
		);
		if ( is_wp_error( $prepared ) ) {
			return $prepared;
		}
		$recorded = self::record( $prepared );
		return is_wp_error( $recorded ) ? $recorded : new \WP_REST_Response( $recorded, 200 );
	}
}
