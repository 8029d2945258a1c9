<?php
/**
 * The bpm-bridge/v1 routes (docs/contract.md §3), dispatched through WordPress' REST server with signed headers.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Outbox;
use BPM_Bridge\Signer;

/**
 * REST routes.
 */
class RestTest extends BPM_Test_Case {

	public function test_every_route_is_registered_with_a_permission_check(): void {
		$routes = rest_get_server()->get_routes( 'bpm-bridge/v1' );
		foreach ( array( '/bpm-bridge/v1/config', '/bpm-bridge/v1/orders/(?P<order_id>\d+)/notes', '/bpm-bridge/v1/orders/(?P<order_id>\d+)/meta', '/bpm-bridge/v1/orders/(?P<order_id>\d+)/status', '/bpm-bridge/v1/events/(?P<event_id>[A-Za-z0-9_-]{1,64})/outcome', '/bpm-bridge/v1/rmas/(?P<rma_id>\d+)', '/bpm-bridge/v1/rmas/(?P<rma_id>\d+)/label', '/bpm-bridge/v1/rmas/(?P<rma_id>\d+)/status' ) as $route ) {
			$this->assertArrayHasKey( $route, $routes );
			foreach ( $routes[ $route ] as $handler ) {
				$this->assertIsCallable( $handler['permission_callback'], $route );
			}
		}
	}

	public function test_unauthenticated_is_401_and_without_the_capability_403(): void {
		$this->assertRestError( 401, 'rest_forbidden', $this->signed( 'GET', '/config' ) );
		wp_set_current_user( $this->make_user( 'administrator' ) );
		$this->assertRestError( 403, 'rest_forbidden', $this->signed( 'GET', '/config' ) );
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		$this->assertRestError( 403, 'rest_forbidden', $this->signed( 'POST', '/orders/1/notes', array( 'note' => 'x' ) ) );
	}

	public function test_signature_is_required_and_checked(): void {
		$this->as_api_user();
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $this->signed( 'GET', '/config', null, array() ) );
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $this->signed( 'GET', '/config', null, array( Signer::new_secret() ) ) );
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $this->signed( 'GET', '/config', null, null, time() - 301 ) );
		$this->assertSame( 200, $this->signed( 'GET', '/config', null, null, time() - 299 )->get_status() );

		// The signature covers the exact body.
		$order   = $this->make_order();
		$request = new WP_REST_Request( 'POST', '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes' );
		$request->set_header( 'content-type', 'application/json' );
		foreach ( Signer::request_headers( array( $this->secret ), 'POST', $request->get_route(), array(), '{"note":"hello"}' ) as $name => $value ) {
			$request->set_header( $name, $value );
		}
		$request->set_body( '{"note":"HELLO"}' );
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', rest_do_request( $request ) );
	}

	public function test_a_write_cannot_be_replayed(): void {
		$this->as_api_user();
		$order   = $this->make_order();
		$body    = '{"note":"once"}';
		$headers = Signer::request_headers( array( $this->secret ), 'POST', '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes', array(), $body );
		$send    = function () use ( $order, $body, $headers ) {
			$request = new WP_REST_Request( 'POST', '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes' );
			$request->set_header( 'content-type', 'application/json' );
			$request->set_body( $body );
			foreach ( $headers as $name => $value ) {
				$request->set_header( $name, $value );
			}
			return rest_do_request( $request );
		};
		$this->assertSame( 201, $send()->get_status() );
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $send() );
	}

	public function test_a_read_signature_cannot_be_replayed_on_another_route(): void {
		$this->as_api_user();
		$order   = $this->make_order();
		$headers = Signer::request_headers( array( $this->secret ), 'GET', '/bpm-bridge/v1/orders/' . $order->get_id() . '/meta', array(), '' );
		$get     = function ( string $route ) use ( $headers ) {
			$request = new WP_REST_Request( 'GET', $route );
			foreach ( $headers as $name => $value ) {
				$request->set_header( $name, $value );
			}
			return rest_do_request( $request );
		};
		$this->assertSame( 200, $get( '/bpm-bridge/v1/orders/' . $order->get_id() . '/meta' )->get_status() );
		// The same signed empty body would otherwise open GET /config, which carries the credentials.
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $get( '/bpm-bridge/v1/config' ) );
	}

	public function test_a_write_cannot_be_replayed_by_concurrent_copies(): void {
		// Copies of one captured request sent at the same moment: the check and the marking of the message id
		// must be one step, or each copy finds the id unused and all of them are accepted.
		$order   = $this->make_order();
		$user_id = $this->make_user( 'bpm_api' );
		$body    = '{"note":"replayed"}';
		$headers = Signer::request_headers( array( $this->secret ), 'POST', '/bpm-bridge/v1/orders/' . $order->get_id() . '/notes', array(), $body );
		$statuses = array();
		$outputs  = $this->race(
			'replay-worker.php',
			8,
			fn() => array( $order->get_id(), $user_id, $body, $headers['webhook-id'], $headers['webhook-timestamp'], $headers['webhook-signature'] )
		);
		foreach ( $outputs as $out ) {
			$statuses[] = (int) substr( trim( $out ), -3 );
		}
		sort( $statuses );
		$this->assertSame( array_merge( array( 201 ), array_fill( 0, 7, 401 ) ), $statuses, 'exactly one copy is accepted' );
	}

	public function test_rotation_accepts_the_previous_secret(): void {
		$this->as_api_user();
		$old = $this->secret;
		BPM_Bridge\Options::rotate_secret();
		$this->assertSame( 200, $this->signed( 'GET', '/config', null, array( $old ) )->get_status() );
	}

	public function test_get_config(): void {
		$this->as_api_user();
		BPM_Bridge\Options::set_invoicing( array( 'provider' => 'fakturownia', 'fakturownia_api_token' => 'tok-1-secret' ) );
		$response = $this->signed( 'GET', '/config' );
		$this->assertSame( 200, $response->get_status() );
		$this->assertSame( 'no-store', $response->get_headers()['Cache-Control'] );
		$data = json_decode( wp_json_encode( $response->get_data() ), true );
		$this->assertSame( 'tok-1-secret', $data['invoicing']['fakturownia']['api_token'] );
		$this->assertSame( home_url(), $data['store']['url'] );
	}

	public function test_notes(): void {
		$this->as_api_user();
		$order    = $this->make_order();
		$response = $this->signed( 'POST', '/orders/' . $order->get_id() . '/notes', array( 'note' => 'Invoice FV 1/11/2026 issued.', 'customer_note' => false ) );
		$this->assertSame( 201, $response->get_status() );
		$data = $response->get_data();
		$this->assertSame( $order->get_id(), $data['order_id'] );
		$this->assertGreaterThan( 0, $data['note_id'] );
		$this->assertSame( 'Invoice FV 1/11/2026 issued.', get_comment( $data['note_id'] )->comment_content );
		$this->assertSame( '', (string) get_comment_meta( $data['note_id'], 'is_customer_note', true ) );

		$customer = $this->signed( 'POST', '/orders/' . $order->get_id() . '/notes', array( 'note' => 'Your label is ready.', 'customer_note' => true ) )->get_data();
		$this->assertSame( '1', (string) get_comment_meta( $customer['note_id'], 'is_customer_note', true ) );

		$this->assertRestError( 404, 'bpm_bridge_order_not_found', $this->signed( 'POST', '/orders/999999/notes', array( 'note' => 'x' ) ) );
		$this->assertRestError( 400, 'rest_missing_callback_param', $this->signed( 'POST', '/orders/' . $order->get_id() . '/notes', array() ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/orders/' . $order->get_id() . '/notes', array( 'note' => str_repeat( 'a', 2001 ) ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/orders/' . $order->get_id() . '/notes', array( 'note' => '' ) ) );
	}

	public function test_meta_allow_list_and_compare_and_set(): void {
		$this->as_api_user();
		$order = $this->make_order();
		$route = '/orders/' . $order->get_id() . '/meta';

		$get = $this->signed( 'GET', $route );
		$this->assertSame( 200, $get->get_status() );
		$this->assertCount( count( \BPM_Bridge\Contract::meta_keys() ), $get->get_data()['meta'] );
		$this->assertSame( '', $get->get_data()['meta']['_bpm_invoice_id'] );

		$ok = $this->signed(
			'POST',
			$route,
			array(
				'meta'   => array(
					'_bpm_invoice_id'     => '123',
					'_bpm_invoice_number' => 'FV 1/11/2026',
				),
				'expect' => array( '_bpm_invoice_id' => '' ),
			)
		);
		$this->assertSame( 200, $ok->get_status(), wp_json_encode( $ok->get_data() ) );
		$this->assertSame( $order->get_id(), $ok->get_data()['order_id'] );
		$this->assertSame( 'FV 1/11/2026', $ok->get_data()['meta']['_bpm_invoice_number'] );
		$this->assertSame( '123', wc_get_order( $order->get_id() )->get_meta( '_bpm_invoice_id' ) );

		// A second worker expecting "no invoice yet" loses and writes nothing.
		$conflict = $this->signed(
			'POST',
			$route,
			array(
				'meta'   => array( '_bpm_invoice_id' => '999' ),
				'expect' => array( '_bpm_invoice_id' => '' ),
			)
		);
		$this->assertRestError( 409, 'bpm_bridge_meta_conflict', $conflict );
		$this->assertSame( array( '_bpm_invoice_id' => '123' ), $conflict->get_data()['data']['current'] );
		$this->assertSame( '123', wc_get_order( $order->get_id() )->get_meta( '_bpm_invoice_id' ) );

		// Keys outside the allow-list: nothing written.
		$bad = $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_ksef_status' => 'sent', '_billing_email' => 'evil@example.com' ) ) );
		$this->assertRestError( 400, 'bpm_bridge_meta_not_allowed', $bad );
		$this->assertSame( '', wc_get_order( $order->get_id() )->get_meta( '_bpm_ksef_status' ) );
		$this->assertRestError( 400, 'bpm_bridge_meta_not_allowed', $this->signed( 'POST', $route, array( 'meta' => array( '_edit_lock' => '1' ) ) ) );
		$this->assertRestError( 400, 'bpm_bridge_meta_not_allowed', $this->signed( 'POST', $route, array( 'meta' => array(), 'expect' => array( '_order_total' => '1' ) ) ) );

		// Values: strings up to 4000 characters; "" deletes; typed keys are checked.
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_last_error' => str_repeat( 'x', 4001 ) ) ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_last_error' => array( 'x' ) ) ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_invoice_url' => 'javascript:alert(1)' ) ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_corrections' => 'not json' ) ) ) );
		$this->assertSame( 200, $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_corrections' => '{"55":{"id":"9","number":"KOR 1","url":"https://x.example/k.pdf"}}' ) ) )->get_status() );
		$this->assertSame( 200, $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_invoice_id' => '' ), 'expect' => array( '_bpm_invoice_id' => '123' ) ) )->get_status() );
		$this->assertFalse( wc_get_order( $order->get_id() )->meta_exists( '_bpm_invoice_id' ) );

		$this->assertRestError( 404, 'bpm_bridge_order_not_found', $this->signed( 'GET', '/orders/999999/meta' ) );
		$this->assertRestError( 400, 'rest_missing_callback_param', $this->signed( 'POST', $route, array( 'expect' => array() ) ) );
	}

	public function test_corrections_must_map_refund_ids_to_objects(): void {
		// The sidecar reads _bpm_corrections as {refund id: {id, number, url}} (docs/contract.md §3.3); a JSON
		// list or scalar entries would pass a bare "is it JSON" check and break every later correction.
		$this->as_api_user();
		$order = $this->make_order();
		$route = '/orders/' . $order->get_id() . '/meta';
		foreach ( array( '[]', '["x"]', '[{"id":"9"}]', '"text"', '42', '{"55":"KOR 1"}', '{"55":[1]}' ) as $bad ) {
			$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_corrections' => $bad ) ) ) );
			$this->assertSame( '', (string) wc_get_order( $order->get_id() )->get_meta( '_bpm_corrections' ), $bad );
		}
		foreach ( array( '{}', '{"55":{}}', '{"55":{"id":"9","number":"KOR 1","url":"https://x.example/k.pdf"},"56":{"pending":"p"}}' ) as $good ) {
			$this->assertSame( 200, $this->signed( 'POST', $route, array( 'meta' => array( '_bpm_corrections' => $good ) ) )->get_status(), $good );
		}
	}

	public function test_compare_and_set_holds_under_concurrent_writers(): void {
		$order   = $this->make_order();
		$user_id = $this->make_user( 'bpm_api' );
		$statuses = array();
		$secret   = $this->secret;
		foreach ( $this->race( 'meta-cas-worker.php', 6, fn( $i ) => array( $order->get_id(), $user_id, $secret, 'inv-' . $i ) ) as $out ) {
			$statuses[] = (int) substr( trim( $out ), -3 );
		}
		sort( $statuses );
		$this->assertSame( array( 200, 409, 409, 409, 409, 409 ), $statuses, 'exactly one writer wins' );
		// The workers wrote in other processes: WooCommerce's in-memory cache of this one holds the old order.
		wp_cache_flush();
		$this->assertMatchesRegularExpression( '/^inv-\d$/', wc_get_order( $order->get_id() )->get_meta( '_bpm_invoice_id' ) );
	}

	public function test_meta_on_a_refund_id_is_not_found(): void {
		$this->as_api_user();
		$order  = $this->make_order( 'processing' );
		$refund = wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '1.00' ) );
		$this->assertRestError( 404, 'bpm_bridge_order_not_found', $this->signed( 'GET', '/orders/' . $refund->get_id() . '/meta' ) );
	}

	public function test_status_transitions(): void {
		$this->as_api_user();
		$order = $this->make_order( 'processing' );
		$route = '/orders/' . $order->get_id() . '/status';

		$this->assertRestError( 400, 'bpm_bridge_transition_not_allowed', $this->signed( 'POST', $route, array( 'from' => 'completed', 'to' => 'refunded' ) ) );
		$this->assertRestError( 400, 'bpm_bridge_transition_not_allowed', $this->signed( 'POST', $route, array( 'from' => 'processing', 'to' => 'cancelled' ) ) );
		$pending  = $this->make_order( 'pending' );
		$conflict = $this->signed( 'POST', '/orders/' . $pending->get_id() . '/status', array( 'from' => 'on-hold', 'to' => 'processing' ) );
		$this->assertRestError( 409, 'bpm_bridge_status_conflict', $conflict );
		$this->assertSame( 'pending', $conflict->get_data()['data']['current'] );
		$this->assertSame( 'pending', wc_get_order( $pending->get_id() )->get_status() );

		$ok = $this->signed( 'POST', $route, array( 'from' => 'wc-processing', 'to' => 'completed', 'note' => 'Shipped by the warehouse.' ) );
		$this->assertSame( 200, $ok->get_status(), wp_json_encode( $ok->get_data() ) );
		$this->assertSame( array( 'order_id' => $order->get_id(), 'status' => 'completed' ), $ok->get_data() );
		$this->assertSame( 'completed', wc_get_order( $order->get_id() )->get_status() );
		$notes = wp_list_pluck( wc_get_order_notes( array( 'order_id' => $order->get_id() ) ), 'content' );
		$this->assertNotEmpty( preg_grep( '/^Shipped by the warehouse\./', $notes ) );

		// Already there: 200 and nothing changes.
		$events = count( $this->events( 'order.status_changed' ) );
		$this->assertSame( 200, $this->signed( 'POST', $route, array( 'from' => 'processing', 'to' => 'completed' ) )->get_status() );
		$this->assertCount( $events, $this->events( 'order.status_changed' ) );

		$this->assertRestError( 404, 'bpm_bridge_order_not_found', $this->signed( 'POST', '/orders/999999/status', array( 'from' => 'processing', 'to' => 'completed' ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'from' => 'Processing!', 'to' => 'completed' ) ) );

		// The list is filterable.
		$filter = static function ( $allowed ) {
			$allowed['completed'] = array( 'refunded' );
			return $allowed;
		};
		add_filter( 'bpm_bridge_allowed_transitions', $filter );
		try {
			$this->assertSame( 200, $this->signed( 'POST', $route, array( 'from' => 'completed', 'to' => 'refunded' ) )->get_status() );
		} finally {
			remove_filter( 'bpm_bridge_allowed_transitions', $filter );
		}
	}

	public function test_event_outcome(): void {
		$this->as_api_user();
		$id = Outbox::add( 'order.paid', array( 'order_id' => 5 ) );
		Outbox::mark_sent( Outbox::claim_one( $id ), array( 'invoice.issue' ) );
		$route = '/events/' . $id . '/outcome';

		$retrying = $this->signed( 'POST', $route, array( 'action' => 'invoice.issue', 'status' => 'retrying', 'message' => 'Fakturownia 503', 'order_id' => 5, 'details' => array(), 'next_attempt_at' => gmdate( 'Y-m-d\TH:i:s\Z', time() + 600 ) ) );
		$this->assertSame( 200, $retrying->get_status(), wp_json_encode( $retrying->get_data() ) );
		$this->assertSame( array( 'event_id' => $id, 'status' => 'sent' ), $retrying->get_data() );

		$done = $this->signed( 'POST', $route, array( 'action' => 'invoice.issue', 'status' => 'done', 'message' => 'Invoice FV 1/11/2026 issued in Fakturownia.', 'order_id' => 5, 'details' => array( 'invoice_number' => 'FV 1/11/2026' ), 'next_attempt_at' => null ) );
		$this->assertSame( array( 'event_id' => $id, 'status' => 'done' ), $done->get_data() );
		$this->assertSame( 'FV 1/11/2026', Outbox::get( $id )['outcomes']['invoice.issue']['details']['invoice_number'] );

		$long = $this->signed( 'POST', $route, array( 'action' => 'crm.sync_order', 'status' => 'skipped', 'message' => str_repeat( 'm', 5000 ) ) );
		$this->assertSame( 200, $long->get_status() );
		$this->assertSame( 2000, strlen( Outbox::get( $id )['outcomes']['crm.sync_order']['message'] ), 'long messages are truncated, not refused' );

		$this->assertRestError( 404, 'bpm_bridge_event_not_found', $this->signed( 'POST', '/events/00000000-0000-4000-8000-000000000000/outcome', array( 'action' => 'invoice.issue', 'status' => 'done' ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'action' => 'invoice.issue', 'status' => 'finished' ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'action' => 'Invoice Issue', 'status' => 'done' ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'action' => 'invoice.issue', 'status' => 'retrying', 'next_attempt_at' => 'tomorrow' ) ) );
		$this->assertRestError( 400, 'rest_missing_callback_param', $this->signed( 'POST', $route, array( 'status' => 'done' ) ) );
	}
}
