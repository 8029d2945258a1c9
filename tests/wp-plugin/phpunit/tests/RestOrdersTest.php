<?php
/**
 * The order routes of contract §3 that replace several requests: GET /orders/{id} (order, BPM meta and refunds
 * with their CRUD amounts), POST /orders/{id}/apply (meta, note and outcome in one checked step) and
 * POST /orders/search (reconciliation without wc/v3 listings).
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Outbox;

/**
 * Order routes.
 */
class RestOrdersTest extends BPM_Test_Case {

	/**
	 * Makes wc/v3's refund answers lie the way WooCommerce 7.8 with HPOS does ("0.00", empty reason).
	 *
	 * @param mixed            $response Response.
	 * @param array            $handler  Handler.
	 * @param \WP_REST_Request $request  Request.
	 * @return mixed
	 */
	public static function zero_refunds( $response, $handler, $request ) {
		if ( $response instanceof WP_REST_Response && preg_match( '#^/wc/v3/orders/\d+/refunds/\d+$#', $request->get_route() ) ) {
			$data           = $response->get_data();
			$data['amount'] = '0.00';
			$data['reason'] = '';
			$response->set_data( $data );
		}
		return $response;
	}

	protected function tearDown(): void {
		remove_filter( 'rest_request_after_callbacks', array( self::class, 'zero_refunds' ) );
		parent::tearDown();
	}

	/**
	 * A processing order with one line of 2 × 50.00.
	 *
	 * @return array{0:WC_Order,1:int} Order and its line item id.
	 */
	private function order_with_line(): array {
		$order = $this->make_order( 'processing' );
		$item  = new WC_Order_Item_Product();
		$item->set_name( 'Koszulka' );
		$item->set_quantity( 2 );
		$item->set_subtotal( '100.00' );
		$item->set_total( '100.00' );
		$order->add_item( $item );
		$order->set_total( '100.00' );
		$order->save();
		return array( wc_get_order( $order->get_id() ), (int) $item->get_id() );
	}

	/**
	 * What apply may change, to compare before and after.
	 *
	 * @param int    $order_id Order id.
	 * @param string $event_id Event id.
	 */
	private function state( int $order_id, string $event_id ): array {
		wp_cache_flush();
		$order = wc_get_order( $order_id );
		return array(
			'meta'     => array_map( 'strval', array( $order->get_meta( '_bpm_invoice_id' ), $order->get_meta( '_bpm_invoice_number' ) ) ),
			'notes'    => count( wc_get_order_notes( array( 'order_id' => $order_id ) ) ),
			'outcomes' => Outbox::get( $event_id )['outcomes'],
			'status'   => Outbox::get( $event_id )['status'],
		);
	}

	/**
	 * A sent outbox event for the order.
	 *
	 * @param int $order_id Order id.
	 */
	private function sent_event( int $order_id ): string {
		$id = Outbox::add( 'order.paid', array( 'order_id' => $order_id ) );
		Outbox::mark_sent( Outbox::claim_one( $id ), array( 'invoice.issue' ) );
		return $id;
	}

	public function test_get_order_returns_the_wc_order_the_bpm_meta_and_crud_refund_amounts(): void {
		$this->as_api_user();
		list( $order, $item_id ) = $this->order_with_line();
		$order->update_meta_data( '_bpm_invoice_id', '77' );
		$order->save();
		$refund = wc_create_refund(
			array(
				'order_id'   => $order->get_id(),
				'amount'     => '50.00',
				'reason'     => 'Za mały rozmiar',
				'line_items' => array(
					$item_id => array(
						'qty'          => 1,
						'refund_total' => '50.00',
					),
				),
			)
		);
		$this->assertInstanceOf( WC_Order_Refund::class, $refund );
		add_filter( 'rest_request_after_callbacks', array( self::class, 'zero_refunds' ), 10, 3 );

		$response = $this->signed( 'GET', '/orders/' . $order->get_id() );
		$this->assertSame( 200, $response->get_status(), wp_json_encode( $response->get_data() ) );
		$data = json_decode( wp_json_encode( $response->get_data() ), true );
		$this->assertSame( array( 'order', 'meta', 'refunds', 'consent' ), array_keys( $data ) );
		$this->assertSame( $order->get_id(), $data['order']['id'] );
		$this->assertSame( 'processing', $data['order']['status'] );
		$this->assertSame( 'Koszulka', $data['order']['line_items'][0]['name'] );
		$this->assertCount( count( \BPM_Bridge\Contract::meta_keys() ), $data['meta'] );
		$this->assertSame( '77', $data['meta']['_bpm_invoice_id'] );
		$this->assertSame( '', $data['meta']['_bpm_invoice_number'] );
		$this->assertCount( 1, $data['refunds'] );
		// Decision 15: every refunded line (shipping and fees are lines too).
		$this->assertSame( array( 'id', 'amount', 'reason', 'line_items', 'shipping_lines', 'fee_lines' ), array_keys( $data['refunds'][0] ) );
		$this->assertSame( array(), $data['refunds'][0]['shipping_lines'] );
		$this->assertSame( $refund->get_id(), $data['refunds'][0]['id'] );
		// From CRUD, although the REST refund said 0.00 and "".
		$this->assertSame( '50.00', $data['refunds'][0]['amount'] );
		$this->assertSame( 'Za mały rozmiar', $data['refunds'][0]['reason'] );
		$this->assertCount( 1, $data['refunds'][0]['line_items'] );
		$this->assertEquals( -1, $data['refunds'][0]['line_items'][0]['quantity'] );

		$this->assertRestError( 404, 'bpm_bridge_order_not_found', $this->signed( 'GET', '/orders/999999' ) );
		$this->assertRestError( 404, 'bpm_bridge_order_not_found', $this->signed( 'GET', '/orders/' . $refund->get_id() ) );
	}

	public function test_apply_writes_meta_note_and_outcome_together(): void {
		$this->as_api_user();
		$order = $this->make_order( 'processing' );
		$event = $this->sent_event( $order->get_id() );
		$response = $this->signed(
			'POST',
			'/orders/' . $order->get_id() . '/apply',
			array(
				'meta'    => array(
					'_bpm_invoice_id'     => '123',
					'_bpm_invoice_number' => 'FV 1/12/2026',
				),
				'expect'  => array( '_bpm_invoice_id' => '' ),
				'note'    => array(
					'note'          => 'Faktura FV 1/12/2026 wystawiona.',
					'customer_note' => true,
				),
				'outcome' => array(
					'event_id' => $event,
					'action'   => 'invoice.issue',
					'status'   => 'done',
					'message'  => 'Invoice FV 1/12/2026 issued.',
					'details'  => array( 'invoice_number' => 'FV 1/12/2026' ),
				),
			)
		);
		$this->assertSame( 200, $response->get_status(), wp_json_encode( $response->get_data() ) );
		$data = $response->get_data();
		$this->assertSame( array( 'order_id', 'meta', 'note_id', 'outcome' ), array_keys( $data ) );
		$this->assertSame( $order->get_id(), $data['order_id'] );
		$this->assertCount( count( \BPM_Bridge\Contract::meta_keys() ), $data['meta'] );
		$this->assertSame( 'FV 1/12/2026', $data['meta']['_bpm_invoice_number'] );
		$this->assertIsInt( $data['note_id'] );
		$this->assertSame( 'Faktura FV 1/12/2026 wystawiona.', get_comment( $data['note_id'] )->comment_content );
		$this->assertSame( '1', (string) get_comment_meta( $data['note_id'], 'is_customer_note', true ) );
		$this->assertSame(
			array(
				'event_id' => $event,
				'status'   => 'done',
			),
			$data['outcome']
		);
		$this->assertSame( 'FV 1/12/2026', Outbox::get( $event )['outcomes']['invoice.issue']['details']['invoice_number'] );
		wp_cache_flush();
		$this->assertSame( '123', wc_get_order( $order->get_id() )->get_meta( '_bpm_invoice_id' ) );

		// Parts are optional: only a note, then only meta.
		$note_only = $this->signed( 'POST', '/orders/' . $order->get_id() . '/apply', array( 'note' => array( 'note' => 'Tylko notatka.' ) ) )->get_data();
		$this->assertNull( $note_only['outcome'] );
		$this->assertSame( '', (string) get_comment_meta( $note_only['note_id'], 'is_customer_note', true ) );
		$meta_only = $this->signed( 'POST', '/orders/' . $order->get_id() . '/apply', array( 'meta' => array( '_bpm_ksef_status' => 'sent' ) ) )->get_data();
		$this->assertNull( $meta_only['note_id'] );
		$this->assertSame( 'sent', $meta_only['meta']['_bpm_ksef_status'] );
	}

	public function test_apply_writes_nothing_when_expect_conflicts(): void {
		$this->as_api_user();
		$order = $this->make_order( 'processing' );
		$order->update_meta_data( '_bpm_invoice_id', '1' );
		$order->save();
		$event  = $this->sent_event( $order->get_id() );
		$before = $this->state( $order->get_id(), $event );
		$response = $this->signed(
			'POST',
			'/orders/' . $order->get_id() . '/apply',
			array(
				'meta'    => array( '_bpm_invoice_id' => '2', '_bpm_invoice_number' => 'FV 2' ),
				'expect'  => array( '_bpm_invoice_id' => '' ),
				'note'    => array( 'note' => 'Second invoice?' ),
				'outcome' => array(
					'event_id' => $event,
					'action'   => 'invoice.issue',
					'status'   => 'done',
				),
			)
		);
		$this->assertRestError( 409, 'bpm_bridge_meta_conflict', $response );
		$this->assertSame( array( '_bpm_invoice_id' => '1' ), $response->get_data()['data']['current'] );
		$this->assertSame( $before, $this->state( $order->get_id(), $event ) );
	}

	public function test_apply_writes_nothing_when_any_part_is_invalid(): void {
		$this->as_api_user();
		$order   = $this->make_order( 'processing' );
		$other   = $this->make_order( 'processing' );
		$event   = $this->sent_event( $order->get_id() );
		$foreign = $this->sent_event( $other->get_id() );
		$good    = array(
			'meta'    => array( '_bpm_invoice_id' => '5' ),
			'expect'  => array( '_bpm_invoice_id' => '' ),
			'note'    => array( 'note' => 'Faktura.' ),
			'outcome' => array(
				'event_id' => $event,
				'action'   => 'invoice.issue',
				'status'   => 'done',
			),
		);
		$cases   = array(
			'meta key outside the allow-list' => array( 400, 'bpm_bridge_meta_not_allowed', array( 'meta' => array( '_billing_email' => 'x@example.com' ) + $good['meta'] ) ),
			'expect key outside the list'     => array( 400, 'bpm_bridge_meta_not_allowed', array( 'expect' => array( '_order_total' => '1' ) ) ),
			'bad meta value'                  => array( 400, 'rest_invalid_param', array( 'meta' => array( '_bpm_invoice_url' => 'javascript:alert(1)' ) + $good['meta'] ) ),
			'meta value too long'             => array( 400, 'rest_invalid_param', array( 'meta' => array( '_bpm_last_error' => str_repeat( 'x', 4001 ) ) + $good['meta'] ) ),
			'tag-only note'                   => array( 400, 'rest_invalid_param', array( 'note' => array( 'note' => '<script></script>' ) ) ),
			'note too long'                   => array( 400, 'rest_invalid_param', array( 'note' => array( 'note' => str_repeat( 'n', 2001 ) ) ) ),
			'note with unknown key'           => array( 400, 'rest_invalid_param', array( 'note' => array( 'note' => 'x', 'to' => 'all' ) ) ),
			'outcome status'                  => array( 400, 'rest_invalid_param', array( 'outcome' => array( 'status' => 'finished' ) + $good['outcome'] ) ),
			'outcome without action'          => array( 400, 'rest_invalid_param', array( 'outcome' => array( 'event_id' => $event, 'status' => 'done' ) ) ),
			'outcome with unknown key'        => array( 400, 'rest_invalid_param', array( 'outcome' => array( 'order_id' => 1 ) + $good['outcome'] ) ),
			'outcome details too large'       => array( 400, 'rest_invalid_param', array( 'outcome' => array( 'details' => array( 'x' => str_repeat( 'd', 17000 ) ) ) + $good['outcome'] ) ),
			'unknown event'                   => array( 404, 'bpm_bridge_event_not_found', array( 'outcome' => array( 'event_id' => '00000000-0000-4000-8000-000000000000' ) + $good['outcome'] ) ),
			'event of another order'          => array( 400, 'bpm_bridge_event_order_mismatch', array( 'outcome' => array( 'event_id' => $foreign ) + $good['outcome'] ) ),
		);
		$before  = $this->state( $order->get_id(), $event );
		foreach ( $cases as $what => list( $status, $code, $change ) ) {
			$this->assertRestError( $status, $code, $this->signed( 'POST', '/orders/' . $order->get_id() . '/apply', array_merge( $good, $change ) ) );
			$this->assertSame( $before, $this->state( $order->get_id(), $event ), $what );
		}
		$this->assertRestError( 400, 'bpm_bridge_nothing_to_apply', $this->signed( 'POST', '/orders/' . $order->get_id() . '/apply', array( 'expect' => array( '_bpm_invoice_id' => '' ) ) ) );
		$this->assertRestError( 404, 'bpm_bridge_order_not_found', $this->signed( 'POST', '/orders/999999/apply', $good ) );
		// The same body, valid, goes through.
		$this->assertSame( 200, $this->signed( 'POST', '/orders/' . $order->get_id() . '/apply', $good )->get_status() );
	}

	public function test_search_lists_ids_and_bpm_state_for_reconciliation(): void {
		if ( function_exists( 'bpm_wc_double_rest_order' ) ) {
			$this->markTestSkipped( 'the WooCommerce double has no date_modified queries; this runs on real WooCommerce' );
		}
		$this->as_api_user();
		$since     = gmdate( 'Y-m-d\TH:i:s\Z', time() - 1 );
		$invoiced  = $this->make_order( 'processing' );
		$invoiced->update_meta_data( '_bpm_invoice_id', '9' );
		$invoiced->save();
		$missing   = $this->make_order( 'processing' );
		$completed = $this->make_order( 'completed' );
		$pending   = $this->make_order( 'pending' );
		$search    = function ( array $body ) {
			$response = $this->signed( 'POST', '/orders/search', $body );
			$this->assertSame( 200, $response->get_status(), wp_json_encode( $response->get_data() ) );
			return $response->get_data();
		};

		$all = $search( array( 'modified_after' => $since ) );
		$ids = wp_list_pluck( $all['orders'], 'id' );
		$this->assertContains( $invoiced->get_id(), $ids );
		$this->assertContains( $missing->get_id(), $ids );
		$this->assertContains( $completed->get_id(), $ids );
		$this->assertNotContains( $pending->get_id(), $ids, 'default statuses: processing and completed' );
		$this->assertSame( $ids, array_values( array_unique( $ids ) ) );
		$sorted = $ids;
		sort( $sorted );
		$this->assertSame( $sorted, $ids, 'oldest id first' );
		$row = $all['orders'][ array_search( $invoiced->get_id(), $ids, true ) ];
		$this->assertSame( array( 'id', 'status', 'date_modified_gmt', 'meta' ), array_keys( $row ) );
		$this->assertSame( 'processing', $row['status'] );
		$this->assertSame( '9', $row['meta']['_bpm_invoice_id'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/', $row['date_modified_gmt'] );

		$unbilled = wp_list_pluck( $search( array( 'modified_after' => $since, 'missing_meta' => '_bpm_invoice_id' ) )['orders'], 'id' );
		$this->assertNotContains( $invoiced->get_id(), $unbilled );
		$this->assertContains( $missing->get_id(), $unbilled );

		$pending_only = wp_list_pluck( $search( array( 'modified_after' => $since, 'statuses' => array( 'pending' ) ) )['orders'], 'id' );
		$this->assertContains( $pending->get_id(), $pending_only );
		$this->assertNotContains( $missing->get_id(), $pending_only );

		$page = $search( array( 'modified_after' => $since, 'per_page' => 1, 'page' => 2 ) );
		$this->assertCount( 1, $page['orders'] );
		$this->assertSame( $ids[1], $page['orders'][0]['id'] );
		$this->assertSame( count( $ids ), $page['total'] );
		$this->assertSame( count( $ids ), $page['pages'] );

		$window = wp_list_pluck( $search( array( 'modified_after' => $since, 'modified_before' => gmdate( 'Y-m-d\TH:i:s\Z', time() + 60 ) ) )['orders'], 'id' );
		$this->assertSame( $ids, $window );
		$before = wp_list_pluck( $search( array( 'modified_before' => $since, 'per_page' => 100 ) )['orders'], 'id' );
		$this->assertNotContains( $missing->get_id(), $before );

		$future = $search( array( 'modified_after' => gmdate( 'Y-m-d\TH:i:s\Z', time() + 3600 ) ) );
		$this->assertSame( array( array(), 0 ), array( $future['orders'], $future['total'] ) );

		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/orders/search', array( 'missing_meta' => '_billing_email' ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/orders/search', array( 'per_page' => 101 ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/orders/search', array( 'statuses' => array() ) ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/orders/search', array( 'modified_after' => 'yesterday' ) ) );
	}

	public function test_every_route_declares_its_response_schema(): void {
		foreach ( rest_get_server()->get_routes( 'bpm-bridge/v1' ) as $route => $handlers ) {
			if ( '/bpm-bridge/v1' === $route ) {
				continue;
			}
			$options = rest_do_request( new WP_REST_Request( 'OPTIONS', str_replace( array( '(?P<order_id>\d+)', '(?P<rma_id>\d+)', '(?P<event_id>[A-Za-z0-9_-]{1,64})', '(?P<request_id>\d+)' ), array( '1', '1', 'e1', '1' ), $route ) ) );
			$schema  = $options->get_data()['schema'] ?? null;
			$this->assertIsArray( $schema, $route );
			$this->assertStringStartsWith( 'bpm-bridge-', $schema['title'], $route );
			$this->assertNotEmpty( $schema['properties'], $route );
		}
	}
}
