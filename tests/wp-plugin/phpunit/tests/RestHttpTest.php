<?php
/**
 * bpm-bridge/v1 over real HTTP (WordPress' REST server, not rest_do_request): what only the HTTP path does —
 * WordPress' own nocache headers, `_method` / X-HTTP-Method-Override / `_envelope`, plain-permalink routing,
 * Content-Length — with an Application Password, as the sidecar calls it.
 *
 * Uses the site at BPM_WP_URL when it answers; otherwise serves the site with `php -S` for this class.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Contract;
use BPM_Bridge\Signer;

/**
 * HTTP.
 */
class RestHttpTest extends BPM_Test_Case {

	/**
	 * The server this class started, if any.
	 *
	 * @var resource|null
	 */
	private static $server = null;

	/**
	 * Site URL without a trailing slash.
	 *
	 * @var string
	 */
	private static $url = '';

	/**
	 * Whether the site answered once the class started.
	 *
	 * @var bool
	 */
	private static $serving = false;

	/**
	 * Basic auth of the API user.
	 *
	 * @var string
	 */
	private $auth = '';

	public static function setUpBeforeClass(): void {
		parent::setUpBeforeClass();
		$url = untrailingslashit( getenv( 'BPM_WP_URL' ) ? getenv( 'BPM_WP_URL' ) : home_url() );
		if ( ! self::answers( $url ) ) {
			$parts        = wp_parse_url( $url );
			self::$server = proc_open(
				array( PHP_BINARY, '-S', $parts['host'] . ':' . $parts['port'], '-t', untrailingslashit( ABSPATH ), dirname( __DIR__, 3 ) . '/support/router.php' ),
				array(
					1 => array( 'file', '/dev/null', 'w' ),
					2 => array( 'file', '/dev/null', 'w' ),
				),
				$pipes
			);
			for ( $i = 0; $i < 100 && ! self::answers( $url ); $i++ ) {
				usleep( 100000 );
			}
		}
		self::$url     = $url;
		self::$serving = self::answers( $url );
	}

	public static function tearDownAfterClass(): void {
		if ( is_resource( self::$server ) ) {
			proc_terminate( self::$server );
			proc_close( self::$server );
			self::$server = null;
		}
		parent::tearDownAfterClass();
	}

	/**
	 * Whether the site's REST index answers with JSON.
	 *
	 * @param string $url Site URL.
	 */
	private static function answers( string $url ): bool {
		// The namespace index, not the site's: WooCommerce's full route list is slow to build on a busy machine.
		$response = wp_remote_get( $url . '/?rest_route=/bpm-bridge/v1', array( 'timeout' => 15 ) );
		return ! is_wp_error( $response ) && 200 === wp_remote_retrieve_response_code( $response ) && is_array( json_decode( wp_remote_retrieve_body( $response ), true ) );
	}

	protected function setUp(): void {
		parent::setUp();
		$this->assertTrue( self::$serving, 'the site does not answer over HTTP at ' . self::$url );
		$user_id = $this->make_user( BPM_Bridge\Role::ROLE );
		list( $password ) = WP_Application_Passwords::create_new_application_password( $user_id, array( 'name' => 'http-test' ) );
		$this->auth = 'Basic ' . base64_encode( get_userdata( $user_id )->user_login . ':' . $password );
	}

	/**
	 * One HTTP request to a bpm-bridge/v1 route.
	 *
	 * @param string $method  Method.
	 * @param string $route   Full REST route.
	 * @param string $body    Raw body.
	 * @param array  $query   Query parameters sent.
	 * @param array  $options plain (bool: ?rest_route= form), headers (extra), sign (method/route/query overrides).
	 * @return array{status:int,headers:\WpOrg\Requests\Utility\CaseInsensitiveDictionary|array,data:mixed}
	 */
	private function http( string $method, string $route, string $body = '', array $query = array(), array $options = array() ): array {
		$sign    = $options['sign'] ?? array();
		$headers = array(
			'Authorization' => $this->auth,
			'Accept'        => 'application/json',
		) + ( $options['headers'] ?? array() );
		if ( '' !== $body ) {
			$headers['Content-Type'] = 'application/json';
		}
		$headers += Signer::request_headers( array( $this->secret ), $sign['method'] ?? $method, $sign['route'] ?? $route, $sign['query'] ?? $query, $body );
		$encode   = static function ( array $pairs ): string {
			$out = array();
			foreach ( $pairs as $key => $value ) {
				$out[] = rawurlencode( (string) $key ) . '=' . rawurlencode( (string) $value );
			}
			return implode( '&', $out );
		};
		$url      = empty( $options['plain'] )
			? self::$url . '/wp-json' . $route . ( $query ? '?' . $encode( $query ) : '' )
			: self::$url . '/?' . $encode( array( 'rest_route' => $route ) + $query );
		$response = wp_remote_request(
			$url,
			array(
				'method'      => $method,
				'headers'     => $headers,
				'body'        => '' === $body ? null : $body,
				'timeout'     => 60,
				'redirection' => 0,
			)
		);
		$this->assertNotWPError( $response );
		return array(
			'status'  => (int) wp_remote_retrieve_response_code( $response ),
			'headers' => wp_remote_retrieve_headers( $response ),
			'data'    => json_decode( wp_remote_retrieve_body( $response ), true ),
		);
	}

	/**
	 * Asserts an error answer.
	 *
	 * @param int    $status   HTTP status.
	 * @param string $code     Error code.
	 * @param array  $response From http().
	 */
	private function assertHttpError( int $status, string $code, array $response ): void {
		$this->assertSame( $status, $response['status'], wp_json_encode( $response['data'] ) );
		$this->assertSame( $code, $response['data']['code'] ?? null, wp_json_encode( $response['data'] ) );
	}

	/**
	 * Asserts a value is not a WP_Error.
	 *
	 * @param mixed $value Value.
	 */
	private function assertNotWPError( $value ): void {
		$this->assertNotInstanceOf( WP_Error::class, $value, is_wp_error( $value ) ? $value->get_error_message() : '' );
	}

	public function test_config_is_no_store_over_http(): void {
		BPM_Bridge\Options::set_invoicing( array( 'provider' => 'fakturownia', 'fakturownia_api_token' => 'tok-http' ) );
		$ok = $this->http( 'GET', '/bpm-bridge/v1/config' );
		$this->assertSame( 200, $ok['status'], wp_json_encode( $ok['data'] ) );
		$this->assertSame( 'tok-http', $ok['data']['invoicing']['fakturownia']['api_token'] );
		// WordPress sends "no-cache, must-revalidate, max-age=0" to logged-in REST clients after the route's headers.
		$this->assertSame( 'no-store', $ok['headers']['cache-control'] );
		$refused = $this->http( 'GET', '/bpm-bridge/v1/config', '', array(), array( 'sign' => array( 'route' => '/bpm-bridge/v1/other' ) ) );
		$this->assertSame( 401, $refused['status'] );
		$this->assertSame( 'no-store', $refused['headers']['cache-control'] );
	}

	public function test_plain_permalink_form_verifies_with_the_same_signature(): void {
		$ok = $this->http( 'GET', '/bpm-bridge/v1/config', '', array(), array( 'plain' => true ) );
		$this->assertSame( 200, $ok['status'], wp_json_encode( $ok['data'] ) );
		$this->assertArrayHasKey( 'invoicing', $ok['data'] );
	}

	public function test_a_get_turned_into_a_customer_note_by_the_query_is_refused(): void {
		// The probe of issue 8: ?_method=POST&note=…&customer_note=1 on a GET wrote a customer note.
		$order    = $this->make_order();
		$route    = '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes';
		$query    = array(
			'_method'       => 'POST',
			'note'          => 'Kliknij tutaj',
			'customer_note' => '1',
		);
		$response = $this->http( 'GET', $route, '', $query, array( 'sign' => array( 'method' => 'POST' ) ) );
		$this->assertHttpError( 400, 'bpm_bridge_query_not_allowed', $response );
		$this->assertSame( array( '_method', 'note', 'customer_note' ), $response['data']['data']['params'] );
		$this->assertSame( array(), preg_grep( '/Kliknij/', wp_list_pluck( wc_get_order_notes( array( 'order_id' => $order->get_id() ) ), 'content' ) ) );
	}

	public function test_method_override_header_and_envelope_are_refused(): void {
		$order = $this->make_order();
		$route = '/bpm-bridge/v1/orders/' . $order->get_id() . '/meta';
		$this->assertHttpError( 400, 'bpm_bridge_query_not_allowed', $this->http( 'POST', $route, '', array(), array( 'headers' => array( 'X-HTTP-Method-Override' => 'GET' ) ) ) );
		$this->assertHttpError( 400, 'bpm_bridge_query_not_allowed', $this->http( 'GET', $route, '', array( '_envelope' => '1' ) ) );
		$this->assertSame( 200, $this->http( 'GET', $route )['status'] );
	}

	public function test_a_multipart_form_is_refused_over_http(): void {
		$order    = $this->make_order();
		$route    = '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes';
		$boundary = 'bpmboundary';
		$body     = "--{$boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nKliknij\r\n--{$boundary}--\r\n";
		$headers  = array(
			'Authorization' => $this->auth,
			'Content-Type'  => 'multipart/form-data; boundary=' . $boundary,
		) + Signer::request_headers( array( $this->secret ), 'POST', $route, array(), '' );
		$response = wp_remote_post(
			self::$url . '/wp-json' . $route,
			array(
				'headers' => $headers,
				'body'    => $body,
				'timeout' => 60,
			)
		);
		$this->assertNotWPError( $response );
		$this->assertSame( 415, wp_remote_retrieve_response_code( $response ), wp_remote_retrieve_body( $response ) );
		$this->assertSame( array(), preg_grep( '/Kliknij/', wp_list_pluck( wc_get_order_notes( array( 'order_id' => $order->get_id() ) ), 'content' ) ) );
	}

	public function test_a_note_signed_for_one_order_is_refused_on_another_over_http(): void {
		$eleven   = $this->make_order();
		$fourteen = $this->make_order();
		$body     = '{"note":"Faktura wystawiona.","customer_note":false}';
		$moved    = $this->http( 'POST', '/bpm-bridge/v1/orders/' . $fourteen->get_id() . '/notes', $body, array(), array( 'sign' => array( 'route' => '/bpm-bridge/v1/orders/' . $eleven->get_id() . '/notes' ) ) );
		$this->assertHttpError( 401, 'bpm_bridge_bad_signature', $moved );
		$this->assertSame( 201, $this->http( 'POST', '/bpm-bridge/v1/orders/' . $eleven->get_id() . '/notes', $body, array(), array( 'plain' => true ) )['status'] );
	}

	public function test_a_body_over_the_cap_is_413_and_deep_json_is_400(): void {
		$order = $this->make_order();
		$route = '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes';
		$this->assertHttpError( 413, 'bpm_bridge_body_too_large', $this->http( 'POST', $route, str_repeat( ' ', Contract::limit( 'max_route_body_bytes' ) + 1 ) ) );
		$deep = str_repeat( '{"a":', 30000 ) . '1' . str_repeat( '}', 30000 );
		$this->assertHttpError( 400, 'rest_invalid_json', $this->http( 'POST', $route, $deep ) );
	}
}
