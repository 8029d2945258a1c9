<?php
/**
 * The bpm-bridge/v1 REST API (docs/contract.md §3): the sidecar's only way to read and write the store.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Registers the guard and one controller per resource (includes/rest/): config, orders, events, returns.
 */
final class Rest {

	const NAMESPACE = 'bpm-bridge/v1';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		Rest\Guard::register();
		add_action( 'rest_api_init', array( self::class, 'register_routes' ) );
	}

	/**
	 * The controllers, one per resource.
	 *
	 * @return Rest\Controller[]
	 */
	public static function controllers(): array {
		return array(
			new Rest\Config_Controller(),
			new Rest\Orders_Controller(),
			new Rest\Events_Controller(),
			new Rest\Returns_Controller(),
			new Rest\Privacy_Controller(),
		);
	}

	/**
	 * Route table.
	 */
	public static function register_routes(): void {
		foreach ( self::controllers() as $controller ) {
			$controller->register_routes();
		}
	}
}
