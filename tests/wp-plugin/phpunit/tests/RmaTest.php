<?php
/**
 * Returns storage and the RMA routes.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Rma;

/**
 * RMA.
 */
class RmaTest extends BPM_Test_Case {

	/**
	 * A requested return for a new order.
	 */
	private function make_rma(): int {
		$order = $this->make_order( 'completed' );
		$id    = Rma::create(
			$order->get_id(),
			array(
				array(
					'order_item_id' => 11,
					'product_id'    => 22,
					'quantity'      => 1,
					'reason'        => 'Za mały rozmiar',
				),
			),
			array( 'customer_note' => 'Proszę o zwrot.' )
		);
		$this->assertIsInt( $id );
		return $id;
	}

	public function test_create_queues_rma_created(): void {
		$id     = $this->make_rma();
		$events = $this->events( 'rma.created' );
		$this->assertCount( 1, $events );
		$data = json_decode( $events[0]['payload'], true )['data'];
		$this->assertSame( $id, $data['rma_id'] );
		$this->assertSame( 'requested', $data['status'] );
		$this->assertInstanceOf( WP_Error::class, Rma::create( 1, array() ) );
		$this->assertInstanceOf( WP_Error::class, Rma::create( 1, array( array( 'quantity' => 0 ) ) ) );
	}

	public function test_get_rma_route_shape(): void {
		$this->as_api_user();
		$id       = $this->make_rma();
		$response = $this->signed( 'GET', '/rmas/' . $id );
		$this->assertSame( 200, $response->get_status() );
		$data = $response->get_data();
		foreach ( array( 'id', 'order_id', 'status', 'items', 'customer_note', 'label', 'created_at' ) as $key ) {
			$this->assertArrayHasKey( $key, $data );
		}
		$this->assertArrayNotHasKey( 'iban', $data );
		$this->assertArrayNotHasKey( 'label_pdf', $data );
		$this->assertSame( 'requested', $data['status'] );
		$this->assertNull( $data['label'] );
		$item = array( 'order_item_id' => 11, 'product_id' => 22, 'quantity' => 1, 'reason' => 'Za mały rozmiar' );
		$this->assertSame( $item, array_intersect_key( $data['items'][0], $item ) );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $data['created_at'] );
		$this->assertRestError( 404, 'bpm_bridge_rma_not_found', $this->signed( 'GET', '/rmas/999999' ) );
	}

	public function test_label_is_attached_once(): void {
		$this->as_api_user();
		$id    = $this->make_rma();
		$label = array(
			'carrier'         => 'inpost',
			'tracking_number' => '620000000000000000000001',
			'url'             => 'https://labels.example/1.pdf',
			'pdf_base64'      => base64_encode( "%PDF-1.4\n%%EOF" ),
		);
		$ok = $this->signed( 'POST', '/rmas/' . $id . '/label', $label );
		$this->assertSame( 200, $ok->get_status(), wp_json_encode( $ok->get_data() ) );
		$this->assertSame( array( 'carrier' => 'inpost', 'tracking_number' => '620000000000000000000001', 'url' => 'https://labels.example/1.pdf' ), $ok->get_data()['label'] );
		$second = $this->signed( 'POST', '/rmas/' . $id . '/label', array( 'tracking_number' => 'OTHER' ) + $label );
		$this->assertRestError( 409, 'bpm_bridge_label_exists', $second );
		$this->assertSame( '620000000000000000000001', Rma::get( $id )['label']['tracking_number'] );

		$other = $this->make_rma();
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/rmas/' . $other . '/label', array( 'pdf_base64' => base64_encode( 'not a pdf' ) ) + $label ) );
		$this->assertRestError( 400, 'rest_missing_callback_param', $this->signed( 'POST', '/rmas/' . $other . '/label', array( 'carrier' => 'inpost' ) ) );
		$this->assertRestError( 404, 'bpm_bridge_rma_not_found', $this->signed( 'POST', '/rmas/999999/label', $label ) );
	}

	public function test_label_urls_must_be_https(): void {
		foreach ( array( 'javascript:alert(1)', 'ftp://labels.example/1.pdf', '', 'https://', 'data:text/html,x', 'https://labels.example/a b.pdf', '//labels.example/1.pdf', 'http://labels.example/1.pdf' ) as $bad ) {
			$this->assertFalse( Rma::is_valid_label_url( $bad, 'production' ), $bad );
		}
		$this->assertTrue( Rma::is_valid_label_url( 'https://labels.example/1.pdf?t=1', 'production' ) );
		// http only where the whole site is local (a test or development machine).
		$this->assertTrue( Rma::is_valid_label_url( 'http://127.0.0.1:8080/1.pdf', 'local' ) );
		$this->assertFalse( Rma::is_valid_label_url( 'http://127.0.0.1:8080/1.pdf', 'staging' ) );

		$this->as_api_user();
		$id    = $this->make_rma();
		$label = array(
			'carrier'         => 'inpost',
			'tracking_number' => '1',
		);
		foreach ( array( 'javascript:alert(1)', 'ftp://labels.example/1.pdf', '' ) as $bad ) {
			$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', '/rmas/' . $id . '/label', $label + array( 'url' => $bad ) ) );
		}
		$this->assertNull( Rma::get( $id )['label'], 'nothing stored' );
	}

	public function test_a_stored_bad_label_does_not_block_the_real_one(): void {
		global $wpdb;
		$this->as_api_user();
		$id = $this->make_rma();
		// What the unchecked route stored for a javascript: URL before.
		$wpdb->update( BPM_Bridge\Installer::rma_table(), array( 'label' => '{"carrier":"inpost","tracking_number":"1","url":""}' ), array( 'id' => $id ) );
		$label = array(
			'carrier'         => 'inpost',
			'tracking_number' => '620000000000000000000002',
			'url'             => 'https://labels.example/2.pdf',
		);
		$ok    = $this->signed( 'POST', '/rmas/' . $id . '/label', $label );
		$this->assertSame( 200, $ok->get_status(), wp_json_encode( $ok->get_data() ) );
		$this->assertSame( $label, Rma::get( $id )['label'] );
		// The real label is kept like any other.
		$this->assertRestError( 409, 'bpm_bridge_label_exists', $this->signed( 'POST', '/rmas/' . $id . '/label', array( 'tracking_number' => 'OTHER' ) + $label ) );
	}

	public function test_a_return_slip_is_not_replaced_by_a_later_label(): void {
		$this->as_api_user();
		$id   = $this->make_rma();
		$pdf  = base64_encode( "%PDF-1.4\n%%EOF" );
		$slip = $this->signed( 'POST', '/rmas/' . $id . '/label', array( 'carrier' => 'return_slip', 'tracking_number' => Rma::number( $id ), 'pdf_base64' => $pdf ) );
		$this->assertSame( 200, $slip->get_status(), wp_json_encode( $slip->get_data() ) );
		// InPost's label arriving late (a worker that raced the slip) must not overwrite what the customer may have printed.
		$late = Rma::set_label( $id, array( 'carrier' => 'inpost', 'tracking_number' => '620000000000000000000003', 'url' => 'https://inpost.pl/sledzenie-przesylek?number=620000000000000000000003' ), $pdf );
		$this->assertInstanceOf( WP_Error::class, $late );
		$this->assertSame( array( 'bpm_bridge_label_exists', 409 ), array( $late->get_error_code(), $late->get_error_data()['status'] ) );
		$this->assertSame( 'return_slip', Rma::get( $id )['label']['carrier'] );
		$this->assertSame( "%PDF-1.4\n%%EOF", Rma::label_pdf( $id ) );
	}

	public function test_status_machine(): void {
		$this->as_api_user();
		$id    = $this->make_rma();
		$route = '/rmas/' . $id . '/status';
		$this->assertRestError( 400, 'bpm_bridge_transition_not_allowed', $this->signed( 'POST', $route, array( 'from' => 'requested', 'to' => 'refunded' ) ) );
		$this->assertRestError( 409, 'bpm_bridge_status_conflict', $this->signed( 'POST', $route, array( 'from' => 'approved', 'to' => 'label_ready' ) ) );
		$ok = $this->signed( 'POST', $route, array( 'from' => 'requested', 'to' => 'approved', 'note' => 'Approved automatically.' ) );
		$this->assertSame( 200, $ok->get_status(), wp_json_encode( $ok->get_data() ) );
		$this->assertSame( 'approved', $ok->get_data()['status'] );
		$this->assertSame( 200, $this->signed( 'POST', $route, array( 'from' => 'requested', 'to' => 'approved' ) )->get_status(), 'idempotent' );
		foreach ( array( array( 'approved', 'label_ready' ), array( 'label_ready', 'received' ), array( 'received', 'refunded' ) ) as $step ) {
			$this->assertSame( 200, $this->signed( 'POST', $route, array( 'from' => $step[0], 'to' => $step[1] ) )->get_status() );
		}
		$this->assertSame( 'refunded', Rma::get( $id )['status'] );
		$this->assertCount( 4, $this->events( 'rma.updated' ) );
		$this->assertRestError( 400, 'rest_invalid_param', $this->signed( 'POST', $route, array( 'from' => 'received', 'to' => 'lost' ) ) );
		$this->assertRestError( 404, 'bpm_bridge_rma_not_found', $this->signed( 'POST', '/rmas/999999/status', array( 'from' => 'requested', 'to' => 'approved' ) ) );
	}

	public function test_create_stores_the_fields_logs_and_announces(): void {
		$order = $this->make_order( 'completed' );
		$fired = array();
		$hook  = static function ( $rma_id ) use ( &$fired ) {
			$fired[] = $rma_id;
		};
		add_action( 'bpm_bridge_rma_created', $hook );
		$id = Rma::create(
			$order->get_id(),
			array(
				array(
					'order_item_id' => 5,
					'product_id'    => 6,
					'quantity'      => 2,
					'reason'        => 'Defect',
				),
			),
			array(
				'kind'        => 'complaint',
				'method'      => 'locker',
				'point'       => 'waw 123m',
				'customer_id' => 7,
				'email'       => 'jan@example.com',
				'iban'        => 'PL61109010140000071219812874',
				'photos'      => array( 'a1b2.jpg' ),
			)
		);
		remove_action( 'bpm_bridge_rma_created', $hook );
		$this->assertSame( array( $id ), $fired );
		$rma = Rma::get( $id, true );
		$this->assertSame( Rma::number( $id ), $rma['number'] );
		$this->assertSame( array( 'complaint', 'locker', 'WAW123M', 7, 'jan@example.com', array( 'a1b2.jpg' ) ), array( $rma['kind'], $rma['method'], $rma['point'], $rma['customer_id'], $rma['email'], $rma['photos'] ) );
		$this->assertArrayNotHasKey( 'iban', $rma );
		$this->assertSame( 'PL61109010140000071219812874', Rma::iban( $id ) );
		$this->assertEqualsWithDelta( time() + 14 * DAY_IN_SECONDS, strtotime( $rma['due_at'] ), 5 );
		$this->assertEquals( new stdClass(), $rma['meta'] );
		$this->assertSame( 'requested', $rma['timeline'][0]['event'] );
		$this->assertSame( 'customer', $rma['timeline'][0]['actor'] );
		$this->assertSame( Rma::number( $id ) . ': requested', wc_get_order( $order->get_id() )->get_meta( '_bpm_rma_state' ) );
		global $wpdb;
		$stored = $wpdb->get_var( $wpdb->prepare( 'SELECT iban FROM ' . BPM_Bridge\Installer::rma_table() . ' WHERE id = %d', $id ) );
		$this->assertStringNotContainsString( '1090101400', (string) $stored, 'the IBAN is stored encrypted' );
	}

	public function test_set_status_logs_keeps_the_decision_and_fires(): void {
		$id    = $this->make_rma();
		$seen  = array();
		$hook  = static function ( ...$args ) use ( &$seen ) {
			$seen[] = $args;
		};
		add_action( 'bpm_bridge_rma_status_changed', $hook, 10, 4 );
		$this->assertIsArray( Rma::set_status( $id, 'requested', 'rejected', 'Used item.', 'staff' ) );
		$this->assertIsArray( Rma::set_status( $id, 'requested', 'rejected', 'Again.', 'staff' ), 'idempotent' );
		remove_action( 'bpm_bridge_rma_status_changed', $hook, 10 );
		$this->assertSame( array( array( $id, 'requested', 'rejected', 'Used item.' ) ), $seen );
		$rma = Rma::get( $id );
		$this->assertSame( 'Used item.', $rma['decision_note'] );
		$steps = Rma::timeline( $id, true );
		$steps = array_values( array_filter( $steps, static function ( $step ) {
			return in_array( $step['event'], array( 'requested', 'rejected' ), true );
		} ) );
		$this->assertSame( array( 'requested', 'rejected' ), array_column( $steps, 'event' ) );
		$this->assertSame( 'staff', $steps[1]['actor'] );
		$this->assertStringContainsString( 'Used item.', $steps[1]['message'] );
		$this->assertSame( Rma::number( $id ) . ': rejected', wc_get_order( $rma['order_id'] )->get_meta( '_bpm_rma_state' ) );
	}

	public function test_query_and_returned_quantities(): void {
		$order = $this->make_order( 'completed' );
		$item  = static function ( int $item_id, int $qty ): array {
			return array(
				'order_item_id' => $item_id,
				'quantity'      => $qty,
			);
		};
		$first  = Rma::create( $order->get_id(), array( $item( 1, 1 ), $item( 2, 1 ) ), array( 'email' => 'a@example.com' ) );
		$second = Rma::create( $order->get_id(), array( $item( 1, 2 ) ), array( 'email' => 'a@example.com' ) );
		$third  = Rma::create( $order->get_id(), array( $item( 2, 5 ) ), array( 'email' => 'b@example.com' ) );
		Rma::set_status( $third, 'requested', 'rejected' );
		$this->assertSame( array( 1 => 3, 2 => 1 ), Rma::returned_quantities( $order->get_id() ), 'rejected returns do not count' );

		$this->assertSame( 3, Rma::query( array( 'order_id' => $order->get_id() ) )['total'] );
		$this->assertSame( array( $third ), array_column( Rma::query( array( 'status' => 'rejected' ) )['items'], 'id' ) );
		$this->assertSame( array( $second, $first ), array_column( Rma::query( array( 'status' => array( 'requested', 'approved' ) ) )['items'], 'id' ) );
		$this->assertSame( array( $second ), array_column( Rma::query( array( 'search' => Rma::number( $second ) ) )['items'], 'id' ) );
		$this->assertSame( array( $third ), array_column( Rma::query( array( 'search' => 'b@example' ) )['items'], 'id' ) );
		$this->assertSame( 3, Rma::query( array( 'search' => (string) $order->get_order_number() ) )['total'] );
		$page = Rma::query( array( 'per_page' => 2, 'page' => 2 ) );
		$this->assertSame( array( 3, array( $first ) ), array( $page['total'], array_column( $page['items'], 'id' ) ) );
		$this->assertSame( 3, Rma::query( array( 'due_before' => gmdate( 'c', time() + 15 * DAY_IN_SECONDS ) ) )['total'] );
		$this->assertSame( 0, Rma::query( array( 'due_before' => gmdate( 'c', time() + 13 * DAY_IN_SECONDS ) ) )['total'] );
		$this->assertSame( 0, Rma::query( array( 'search' => "' OR 1=1 -- " ) )['total'] );
	}
}
