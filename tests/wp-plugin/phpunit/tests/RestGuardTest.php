<?php
/**
 * The guard of bpm-bridge/v1 (issue 8): what a signature binds (contract revision 2), refused query parameters
 * and overrides, the body cap, the replay guard's own table, notes that sanitise to nothing, deep JSON.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Contract;
use BPM_Bridge\Outbox;
use BPM_Bridge\Rest\Replay_Guard;
use BPM_Bridge\Signer;

/**
 * Guard.
 */
class RestGuardTest extends BPM_Test_Case {

	/**
	 * A request with a raw body, signed over the given method/route/query/body (defaults: the request's own).
	 *
	 * @param string      $method Method.
	 * @param string      $route  Full REST route.
	 * @param string      $body   Raw body.
	 * @param array       $query  Query parameters of the request.
	 * @param array       $sign   Overrides of what is signed: method, route, query, body, scheme ('r1' = body only).
	 */
	private function send( string $method, string $route, string $body = '', array $query = array(), array $sign = array() ): WP_REST_Response {
		$request = new WP_REST_Request( $method, $route );
		if ( '' !== $body ) {
			$request->set_header( 'content-type', 'application/json' );
			$request->set_body( $body );
		}
		$request->set_query_params( $query );
		$signed_body = $sign['body'] ?? $body;
		$headers     = 'r1' === ( $sign['scheme'] ?? '' )
			? Signer::headers( array( $this->secret ), $signed_body )
			: Signer::request_headers( array( $this->secret ), $sign['method'] ?? $method, $sign['route'] ?? $route, $sign['query'] ?? $query, $signed_body );
		foreach ( $headers as $name => $value ) {
			$request->set_header( $name, $value );
		}
		return rest_do_request( $request );
	}

	/**
	 * Notes on an order.
	 *
	 * @param int $order_id Order id.
	 * @return string[]
	 */
	private function notes( int $order_id ): array {
		return wp_list_pluck( wc_get_order_notes( array( 'order_id' => $order_id ) ), 'content' );
	}

	public function test_a_note_signed_for_one_order_is_refused_on_another(): void {
		$this->as_api_user();
		$eleven   = $this->make_order();
		$fourteen = $this->make_order();
		$body     = '{"note":"Faktura wystawiona.","customer_note":false}';
		$response = $this->send( 'POST', '/bpm-bridge/v1/orders/' . $fourteen->get_id() . '/notes', $body, array(), array( 'route' => '/bpm-bridge/v1/orders/' . $eleven->get_id() . '/notes' ) );
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $response );
		$this->assertSame( array(), preg_grep( '/Faktura/', $this->notes( $fourteen->get_id() ) ) );
		$this->assertSame( 201, $this->send( 'POST', '/bpm-bridge/v1/orders/' . $eleven->get_id() . '/notes', $body )->get_status() );
	}

	public function test_the_method_is_signed(): void {
		$this->as_api_user();
		$order = $this->make_order();
		$route = '/bpm-bridge/v1/orders/' . $order->get_id() . '/meta';
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $this->send( 'POST', $route, '{"meta":{"_bpm_crm_id":"1"}}', array(), array( 'method' => 'GET' ) ) );
		$this->assertSame( '', wc_get_order( $order->get_id() )->get_meta( '_bpm_crm_id' ) );
	}

	public function test_a_revision_1_signature_is_refused_and_says_why(): void {
		$this->as_api_user();
		$response = $this->send( 'GET', '/bpm-bridge/v1/config', '', array(), array( 'scheme' => 'r1' ) );
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $response );
		$this->assertStringContainsString( 'revision 2 signs method, route and query', $response->get_data()['message'] );
	}

	public function test_query_parameters_and_overrides_are_refused_before_anything_runs(): void {
		$this->as_api_user();
		$order = $this->make_order();
		$notes = '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes';
		// The probe of issue 8: a signed empty body, the arguments in the query. Refused even when signed.
		foreach ( array( array( '_method' => 'POST' ), array( 'note' => 'x', 'customer_note' => '1' ), array( '_envelope' => '1' ), array( '_fields' => 'id' ), array( '_jsonp' => 'f' ) ) as $query ) {
			$response = $this->send( 'POST', $notes, '', $query );
			$this->assertRestError( 400, 'bpm_bridge_query_not_allowed', $response );
			$this->assertSame( array_keys( $query ), $response->get_data()['data']['params'] );
		}
		$this->assertSame( array(), preg_grep( '/^x$/', $this->notes( $order->get_id() ) ) );
		// Unauthenticated too: nothing about the request is looked at.
		wp_set_current_user( 0 );
		$this->assertRestError( 400, 'bpm_bridge_query_not_allowed', $this->send( 'GET', '/bpm-bridge/v1/config', '', array( 'a' => '1' ) ) );
		// WordPress routes /BPM-Bridge/v1/… to the same handlers: the guard must see it as ours too.
		$this->assertRestError( 400, 'bpm_bridge_query_not_allowed', $this->send( 'GET', '/BPM-Bridge/v1/config', '', array( 'a' => '1' ) ) );
	}

	public function test_form_fields_and_uploads_are_refused(): void {
		// A multipart body is not in php://input: its fields would be arguments that no signature covers.
		$this->as_api_user();
		$order = $this->make_order();
		$route = '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes';
		foreach ( array( 'set_body_params' => array( 'note' => 'x' ), 'set_file_params' => array( 'f' => array( 'name' => 'a' ) ) ) as $setter => $params ) {
			$request = new WP_REST_Request( 'POST', $route );
			$request->$setter( $params );
			foreach ( Signer::request_headers( array( $this->secret ), 'POST', $route, array(), '' ) as $name => $value ) {
				$request->set_header( $name, $value );
			}
			$this->assertRestError( 415, 'bpm_bridge_not_json', rest_do_request( $request ) );
		}
		$this->assertSame( array(), preg_grep( '/^x$/', $this->notes( $order->get_id() ) ) );
	}

	public function test_a_method_override_header_is_refused(): void {
		$this->as_api_user();
		$request = new WP_REST_Request( 'GET', '/bpm-bridge/v1/config' );
		$request->set_header( 'X-HTTP-Method-Override', 'POST' );
		foreach ( Signer::request_headers( array( $this->secret ), 'GET', '/bpm-bridge/v1/config', array(), '' ) as $name => $value ) {
			$request->set_header( $name, $value );
		}
		$this->assertRestError( 400, 'bpm_bridge_query_not_allowed', rest_do_request( $request ) );
	}

	public function test_rest_route_is_allowed_and_not_signed(): void {
		// Plain permalinks: the route travels as ?rest_route=…; the signature is the same as under pretty ones.
		$this->as_api_user();
		$response = $this->send( 'GET', '/bpm-bridge/v1/config', '', array( 'rest_route' => '/bpm-bridge/v1/config' ), array( 'query' => array() ) );
		$this->assertSame( 200, $response->get_status(), wp_json_encode( $response->get_data() ) );
	}

	public function test_other_namespaces_are_not_touched(): void {
		$this->as_api_user();
		$request = new WP_REST_Request( 'GET', '/' );
		$request->set_query_params( array( 'context' => 'help' ) );
		$this->assertSame( 200, rest_do_request( $request )->get_status() );
	}

	public function test_a_body_over_the_contract_limit_is_413_before_parsing(): void {
		$this->as_api_user();
		$order = $this->make_order();
		$limit = Contract::limit( 'max_route_body_bytes' );
		// Not JSON at all: a parse would answer 400 rest_invalid_json, the cap answers first.
		$body     = str_repeat( '[', $limit + 1 );
		$response = $this->send( 'POST', '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes', $body );
		$this->assertRestError( 413, 'bpm_bridge_body_too_large', $response );
		$request = new WP_REST_Request( 'POST', '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes' );
		$request->set_header( 'content-length', (string) ( $limit + 1 ) );
		$this->assertRestError( 413, 'bpm_bridge_body_too_large', rest_do_request( $request ) );
	}

	public function test_deeply_nested_json_is_400_not_500(): void {
		$this->as_api_user();
		$id   = Outbox::add( 'order.paid', array( 'order_id' => 5 ) );
		$deep = str_repeat( '{"a":', 30000 ) . '1' . str_repeat( '}', 30000 );
		$this->assertRestError( 400, 'rest_invalid_json', $this->send( 'POST', '/bpm-bridge/v1/events/' . $id . '/outcome', $deep ) );
		// A scalar body makes WordPress' parameter code iterate over a string (a PHP warning): refused first.
		foreach ( array( '"x"', '1', 'null', ' true' ) as $scalar ) {
			$this->assertRestError( 400, 'rest_invalid_json', $this->send( 'POST', '/bpm-bridge/v1/events/' . $id . '/outcome', $scalar ) );
		}
		// Deep but parseable: details is stored and shown, so it is kept shallow.
		$details = str_repeat( '{"a":', 100 ) . '1' . str_repeat( '}', 100 );
		$body    = '{"action":"invoice.issue","status":"done","details":' . $details . '}';
		$this->assertRestError( 400, 'rest_invalid_param', $this->send( 'POST', '/bpm-bridge/v1/events/' . $id . '/outcome', $body ) );
		$this->assertSame( array(), Outbox::get( $id )['outcomes'] );
	}

	public function test_a_note_that_is_empty_once_sanitised_is_refused(): void {
		$this->as_api_user();
		$order = $this->make_order();
		$count = count( $this->notes( $order->get_id() ) );
		foreach ( array( '<script></script>', '<b></b>', " \n\t " ) as $note ) {
			$response = $this->signed( 'POST', '/orders/' . $order->get_id() . '/notes', array( 'note' => $note, 'customer_note' => true ) );
			$this->assertRestError( 400, 'rest_invalid_param', $response );
		}
		$this->assertCount( $count, $this->notes( $order->get_id() ) );
		$ok = $this->signed( 'POST', '/orders/' . $order->get_id() . '/notes', array( 'note' => '<b>Gotowe</b>' ) );
		$this->assertSame( 'Gotowe', get_comment( $ok->get_data()['note_id'] )->comment_content );
	}

	public function test_the_replay_guard_keeps_used_ids_out_of_wp_options(): void {
		global $wpdb;
		$this->as_api_user();
		$like    = $wpdb->esc_like( '_transient_bpm_bridge_msg_' ) . '%';
		$options = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->options} WHERE option_name LIKE %s", $like ) );
		$rows    = (int) $wpdb->get_var( 'SELECT COUNT(*) FROM ' . Replay_Guard::table() );
		for ( $i = 0; $i < 3; $i++ ) {
			$this->assertSame( 200, $this->signed( 'GET', '/config' )->get_status() );
		}
		$this->assertSame( $options, (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->options} WHERE option_name LIKE %s", $like ) ) );
		$this->assertSame( $rows + 3, (int) $wpdb->get_var( 'SELECT COUNT(*) FROM ' . Replay_Guard::table() ) );
	}

	public function test_the_replay_guard_refuses_a_used_id_and_forgets_it_after_the_window(): void {
		global $wpdb;
		$now = time();
		$id  = 'msg_window_' . wp_generate_password( 12, false );
		$this->assertTrue( Replay_Guard::use_id( $id, $now ) );
		$this->assertSame( $now + Contract::replay_window(), (int) $wpdb->get_var( $wpdb->prepare( 'SELECT expires_at FROM ' . Replay_Guard::table() . ' WHERE msg_hash = %s', hash( 'sha256', $id ) ) ) );
		$this->assertInstanceOf( WP_Error::class, Replay_Guard::use_id( $id, $now + 1 ) );
		$this->assertSame( 'bpm_bridge_bad_signature', Replay_Guard::use_id( $id, $now + Contract::replay_window() )->get_error_code() );
		// Later requests clean up: the expired row is gone (and the id, long outside the signature tolerance, usable).
		$this->assertTrue( Replay_Guard::use_id( $id . '_other', $now + Contract::replay_window() + 1 ) );
		$this->assertNull( $wpdb->get_var( $wpdb->prepare( 'SELECT msg_hash FROM ' . Replay_Guard::table() . ' WHERE msg_hash = %s', hash( 'sha256', $id ) ) ) );
	}

	public function test_the_replay_guard_fails_closed_without_its_table(): void {
		global $wpdb;
		$table = Replay_Guard::table();
		$wpdb->query( "RENAME TABLE {$table} TO {$table}_away" );
		$suppress = $wpdb->suppress_errors( true );
		try {
			$this->assertSame( 'bpm_bridge_busy', Replay_Guard::use_id( 'msg_no_table' )->get_error_code() );
		} finally {
			$wpdb->suppress_errors( $suppress );
			$wpdb->query( "RENAME TABLE {$table}_away TO {$table}" );
		}
	}

	public function test_every_answer_is_no_store(): void {
		$this->as_api_user();
		$order    = $this->make_order();
		$response = rest_get_server()->dispatch( $this->request( 'GET', '/bpm-bridge/v1/orders/' . $order->get_id() . '/meta' ) );
		$response = apply_filters( 'rest_post_dispatch', $response, rest_get_server(), $this->request( 'GET', '/bpm-bridge/v1/orders/' . $order->get_id() . '/meta' ) );
		$this->assertSame( 'no-store', $response->get_headers()['Cache-Control'] );
		$this->assertSame( 'no-store', wp_get_nocache_headers()['Cache-Control'] );
	}

	/**
	 * A signed request object.
	 *
	 * @param string $method Method.
	 * @param string $route  Route.
	 */
	private function request( string $method, string $route ): WP_REST_Request {
		$request = new WP_REST_Request( $method, $route );
		foreach ( Signer::request_headers( array( $this->secret ), $method, $route, array(), '' ) as $name => $value ) {
			$request->set_header( $name, $value );
		}
		return $request;
	}
}
