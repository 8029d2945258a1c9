<?php
/**
 * Shared fixtures: clean plugin tables, saved options, the API user, orders, signed REST requests.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Installer;
use BPM_Bridge\Options;
use BPM_Bridge\Outbox;
use BPM_Bridge\Role;
use BPM_Bridge\Signer;
use PHPUnit\Framework\TestCase;

/**
 * Base class. Every test starts with empty plugin tables and a known secret, and leaves the site's options
 * as it found them (the site may be shared with other test suites).
 */
abstract class BPM_Test_Case extends TestCase {

	/**
	 * The signing secret configured for the test.
	 *
	 * @var string
	 */
	protected $secret;

	/**
	 * Option values before the test.
	 *
	 * @var array<string,mixed>
	 */
	private $saved_options = array();

	/**
	 * Scratch directories to delete after the test, whatever its result.
	 *
	 * @var string[]
	 */
	protected $cleanup = array();

	/**
	 * Users created by the test.
	 *
	 * @var int[]
	 */
	private $users = array();

	/**
	 * Fresh state.
	 */
	protected function setUp(): void {
		global $wpdb;
		parent::setUp();
		foreach ( Options::all_names() as $name ) {
			$this->saved_options[ $name ] = get_option( $name, null );
		}
		$wpdb->query( 'DELETE FROM ' . Installer::outbox_table() );
		$wpdb->query( 'DELETE FROM ' . Installer::rma_table() );
		// Every test is a request of its own for the once-per-request scheduling of the async drain.
		\BPM_Bridge\Dispatcher::forget_scheduled_drain();
		$this->secret = Signer::new_secret();
		Options::set_secrets( $this->secret );
		wp_set_current_user( 0 );
	}

	/**
	 * Restore options, remove users and filters added by the test.
	 */
	protected function tearDown(): void {
		wp_set_current_user( 0 );
		foreach ( $this->saved_options as $name => $value ) {
			if ( null === $value ) {
				delete_option( $name );
			} else {
				update_option( $name, $value, false );
			}
		}
		require_once ABSPATH . 'wp-admin/includes/user.php';
		foreach ( $this->users as $user_id ) {
			wp_delete_user( $user_id );
		}
		foreach ( $this->cleanup as $dir ) {
			array_map( 'unlink', (array) glob( $dir . '/*' ) );
			rmdir( $dir );
		}
		remove_all_filters( 'pre_http_request' );
		remove_all_filters( 'bpm_bridge_http_timeout' );
		parent::tearDown();
	}

	/**
	 * Runs $workers PHP processes of support/$worker at the same moment and returns their outputs in start order.
	 *
	 * Each worker gets ABSPATH, a barrier directory and its own arguments; it writes ready-N there once WordPress is
	 * loaded and waits for a "go" file, so every process is released together. A worker that exits non-zero fails
	 * the test with its stderr.
	 *
	 * @param string   $worker  Script in tests/wp-plugin/phpunit/support/.
	 * @param int      $workers How many processes.
	 * @param callable $args    fn( int $i ): array — the worker's further arguments.
	 * @return string[]
	 */
	protected function race( string $worker, int $workers, callable $args ): array {
		$barrier = sys_get_temp_dir() . '/bpm-race-' . getmypid() . '-' . basename( $worker, '.php' );
		wp_mkdir_p( $barrier );
		$this->cleanup[] = $barrier;
		$procs           = array();
		$pipes           = array();
		for ( $i = 0; $i < $workers; $i++ ) {
			$procs[] = proc_open(
				array_merge( array( PHP_BINARY, __DIR__ . '/support/' . $worker, ABSPATH, $barrier ), array_map( 'strval', $args( $i ) ) ),
				array(
					1 => array( 'pipe', 'w' ),
					2 => array( 'pipe', 'w' ),
				),
				$pipes[ $i ]
			);
		}
		for ( $wait = 0; $wait < 3000 && count( glob( $barrier . '/ready-*' ) ) < $workers; $wait++ ) {
			usleep( 10000 );
		}
		touch( $barrier . '/go' );
		$outputs = array();
		foreach ( $procs as $i => $proc ) {
			$out = (string) stream_get_contents( $pipes[ $i ][1] );
			$err = (string) stream_get_contents( $pipes[ $i ][2] );
			$this->assertSame( 0, proc_close( $proc ), $err );
			$outputs[] = $out;
		}
		return $outputs;
	}

	/**
	 * A user with the given role, remembered for deletion.
	 *
	 * @param string $role Role.
	 */
	protected function make_user( string $role ): int {
		$user_id = wp_insert_user(
			array(
				'user_login' => 'bpmtest_' . $role . '_' . wp_generate_password( 6, false ),
				'user_pass'  => wp_generate_password( 24 ),
				'role'       => $role,
			)
		);
		$this->assertIsInt( $user_id );
		$this->users[] = $user_id;
		return $user_id;
	}

	/**
	 * Logs in a fresh BPM API user.
	 */
	protected function as_api_user(): int {
		$user_id = $this->make_user( Role::ROLE );
		wp_set_current_user( $user_id );
		return $user_id;
	}

	/**
	 * A saved order in a status, created through WooCommerce CRUD.
	 *
	 * @param string $status Status.
	 */
	protected function make_order( string $status = 'pending' ): WC_Order {
		$order = wc_create_order( array( 'status' => $status ) );
		$order->set_payment_method( 'bacs' );
		$order->set_total( '123.00' );
		$order->save();
		return wc_get_order( $order->get_id() );
	}

	/**
	 * Whether the site runs real WooCommerce (not the test double).
	 */
	protected static function real_woocommerce(): bool {
		return ! function_exists( 'bpm_wc_double_create_order' );
	}

	/**
	 * The test product a real-WooCommerce site was built with (tests/support/wc-setup.php), or null.
	 * An order needs a line with a product to go to processing on payment: real WooCommerce completes an
	 * order whose items need no processing (make_order() adds none).
	 */
	protected static function test_product(): ?WC_Product {
		if ( ! self::real_woocommerce() ) {
			return null;
		}
		$product = wc_get_product( wc_get_product_id_by_sku( 'KUB-1' ) );
		return $product ? $product : null;
	}

	/**
	 * Events in the outbox, oldest first.
	 *
	 * @param string $type Only this type ('' = all).
	 * @return array<int,array<string,mixed>>
	 */
	protected function events( string $type = '' ): array {
		$rows = array_reverse( Outbox::list( '', 1, 200 )['items'] );
		return array_values(
			array_filter(
				$rows,
				static function ( $row ) use ( $type ) {
					return '' === $type || $row['event_type'] === $type;
				}
			)
		);
	}

	/**
	 * A bpm-bridge/v1 request, signed like the sidecar signs it (contract revision 2: method, route, body).
	 *
	 * @param string        $method  Method.
	 * @param string        $route   Route below the namespace, e.g. '/config'.
	 * @param array|null    $body    JSON body.
	 * @param string[]|null $secrets Secrets to sign with (null = the configured one, [] = unsigned).
	 * @param int|null      $now     Signature timestamp.
	 */
	protected function signed( string $method, string $route, ?array $body = null, ?array $secrets = null, ?int $now = null ): WP_REST_Response {
		$request = new WP_REST_Request( $method, '/bpm-bridge/v1' . $route );
		$raw     = null === $body ? '' : wp_json_encode( $body );
		if ( null !== $body ) {
			$request->set_header( 'content-type', 'application/json' );
			$request->set_body( $raw );
		}
		$secrets = $secrets ?? array( $this->secret );
		if ( $secrets ) {
			foreach ( Signer::request_headers( $secrets, $method, $request->get_route(), array(), $raw, null, $now ) as $name => $value ) {
				$request->set_header( $name, $value );
			}
		}
		return rest_do_request( $request );
	}

	/**
	 * Asserts a REST error response.
	 *
	 * @param int              $status   Expected HTTP status.
	 * @param string           $code     Expected error code.
	 * @param WP_REST_Response $response Response.
	 */
	protected function assertRestError( int $status, string $code, WP_REST_Response $response ): void {
		$data = $response->get_data();
		$this->assertSame( $status, $response->get_status(), wp_json_encode( $data ) );
		$this->assertSame( $code, $data['code'] ?? null, wp_json_encode( $data ) );
		$this->assertNotEmpty( $data['message'] );
		$this->assertSame( $status, $data['data']['status'] ?? null );
	}
}
