<?php
/**
 * The RMA routes (docs/contract.md §3.6): read a return, attach its label, move its status.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Contract;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Returns.
 */
final class Returns_Controller extends Controller {

	const MAX_PDF_BYTES = 5242880;

	/**
	 * Routes.
	 */
	public function register_routes(): void {
		$rma_id = self::id_arg( 'rma_id' );
		$status = array(
			'type'     => 'string',
			'required' => true,
			'enum'     => Contract::rma_statuses(),
		);
		$this->route(
			'/rmas/(?P<rma_id>\d+)',
			array( $this->endpoint( \WP_REST_Server::READABLE, array( $this, 'get_item' ), $rma_id ) ),
			$this->get_item_schema()
		);
		$this->route(
			'/rmas/(?P<rma_id>\d+)/label',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'set_label' ),
					$rma_id + array(
						'carrier'         => array(
							'type'     => 'string',
							'required' => true,
							'pattern'  => '^[a-z0-9_-]{1,40}$',
						),
						'tracking_number' => array(
							'type'              => 'string',
							'required'          => true,
							'minLength'         => 1,
							'maxLength'         => 100,
							'validate_callback' => 'rest_validate_request_arg',
							'sanitize_callback' => 'sanitize_text_field',
						),
						'url'             => array(
							'type'              => 'string',
							'required'          => true,
							'maxLength'         => 2000,
							'validate_callback' => array( self::class, 'validate_label_url' ),
						),
						'pdf_base64'      => array(
							'type'              => 'string',
							'validate_callback' => array( self::class, 'validate_pdf' ),
						),
					)
				),
			),
			$this->get_item_schema()
		);
		$this->route(
			'/rmas/(?P<rma_id>\d+)/status',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'set_status' ),
					$rma_id + array(
						'from' => $status,
						'to'   => $status,
						'note' => Order_Input::optional_note_arg(),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-rma-status',
				'properties' => array(
					'rma_id'   => array( 'type' => 'integer' ),
					'order_id' => array( 'type' => 'integer' ),
					'status'   => array(
						'type' => 'string',
						'enum' => Contract::rma_statuses(),
					),
				),
			)
		);
	}

	/**
	 * Response schema of a return (GET /rmas/{id}, POST /rmas/{id}/label).
	 */
	public function get_item_schema() {
		return array(
			'title'      => 'bpm-bridge-rma',
			'type'       => 'object',
			'properties' => array(
				'id'            => array( 'type' => 'integer' ),
				'order_id'      => array( 'type' => 'integer' ),
				'status'        => array(
					'type' => 'string',
					'enum' => Contract::rma_statuses(),
				),
				'items'         => array( 'type' => 'array' ),
				'customer_note' => array( 'type' => 'string' ),
				'label'         => array(
					'type'       => array( 'object', 'null' ),
					'properties' => array(
						'carrier'         => array( 'type' => 'string' ),
						'tracking_number' => array( 'type' => 'string' ),
						'url'             => array(
							'type'   => 'string',
							'format' => 'uri',
						),
					),
				),
				'created_at'    => array(
					'type'   => 'string',
					'format' => 'date-time',
				),
			),
		);
	}

	/**
	 * A label URL: https (http only on a 'local' site), see Rma::is_valid_label_url().
	 *
	 * @param mixed $value Value.
	 * @return true|\WP_Error
	 */
	public static function validate_label_url( $value ) {
		if ( ! is_string( $value ) || ! Rma::is_valid_label_url( $value ) ) {
			return new \WP_Error( 'rest_invalid_param', __( 'url must be an https URL of the label.', 'bpm-bridge' ) );
		}
		return true;
	}

	/**
	 * A label PDF must be strict base64 of a PDF of at most 5 MiB.
	 *
	 * @param mixed $value Value.
	 * @return true|\WP_Error
	 */
	public static function validate_pdf( $value ) {
		$raw = is_string( $value ) ? base64_decode( $value, true ) : false; // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
		if ( false === $raw || strlen( $raw ) > self::MAX_PDF_BYTES || 0 !== strpos( $raw, '%PDF-' ) ) {
			return new \WP_Error( 'rest_invalid_param', __( 'pdf_base64 must be a base64-encoded PDF of at most 5 MiB.', 'bpm-bridge' ) );
		}
		return true;
	}

	/**
	 * GET /rmas/{id}.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function get_item( $request ) {
		$rma = Rma::get( (int) $request['rma_id'] );
		if ( null === $rma ) {
			return self::error( 'bpm_bridge_rma_not_found', __( 'No return with this id.', 'bpm-bridge' ), 404 );
		}
		return new \WP_REST_Response( $rma, 200 );
	}

	/**
	 * POST /rmas/{id}/label.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function set_label( $request ) {
		$rma_id = (int) $request['rma_id'];
		$result = Rma::set_label(
			$rma_id,
			array(
				'carrier'         => (string) $request['carrier'],
				'tracking_number' => (string) $request['tracking_number'],
				'url'             => (string) $request['url'],
			),
			isset( $request['pdf_base64'] ) ? (string) $request['pdf_base64'] : null
		);
		if ( is_wp_error( $result ) ) {
			return $result;
		}
		return new \WP_REST_Response( Rma::get( $rma_id ), 200 );
	}

	/**
	 * POST /rmas/{id}/status.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function set_status( $request ) {
		$result = Rma::set_status( (int) $request['rma_id'], (string) $request['from'], (string) $request['to'], (string) $request['note'] );
		return is_wp_error( $result ) ? $result : new \WP_REST_Response( $result, 200 );
	}
}
