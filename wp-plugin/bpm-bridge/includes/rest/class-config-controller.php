<?php
/**
 * GET /config: the sidecar's runtime configuration (docs/contract.md §3.1).
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Options;

defined( 'ABSPATH' ) || exit;

/**
 * Configuration. The body carries provider credentials: Guard::post_dispatch makes it `no-store`.
 */
final class Config_Controller extends Controller {

	/**
	 * Routes.
	 */
	public function register_routes(): void {
		$this->route(
			'/config',
			array( $this->endpoint( \WP_REST_Server::READABLE, array( $this, 'get_item' ) ) ),
			$this->get_item_schema()
		);
	}

	/**
	 * Response schema (the sections are described in docs/configuration.md; the settings schema owns them).
	 */
	public function get_item_schema() {
		return array(
			'title'      => 'bpm-bridge-config',
			'type'       => 'object',
			'properties' => array(
				'version'   => array( 'type' => array( 'integer', 'string' ) ),
				'store'     => array(
					'type'       => 'object',
					'properties' => array(
						'url'      => array( 'type' => 'string' ),
						'currency' => array( 'type' => 'string' ),
						'timezone' => array( 'type' => 'string' ),
					),
				),
				'invoicing' => array( 'type' => 'object' ),
				'crm'       => array( 'type' => 'object' ),
			),
		);
	}

	/**
	 * GET /config.
	 *
	 * @param \WP_REST_Request $request Request.
	 */
	public function get_item( $request ): \WP_REST_Response {
		$response = new \WP_REST_Response( Options::config_payload(), 200 );
		// Credentials are in this body. Guard::post_dispatch repeats this for every route and keeps WordPress'
		// own nocache headers from replacing it over HTTP; this covers in-process dispatch too.
		$response->header( 'Cache-Control', 'no-store' );
		return $response;
	}
}
