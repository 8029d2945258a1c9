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
			'Proszę o zwrot.'
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
		$this->assertSame( array( 'id', 'order_id', 'status', 'items', 'customer_note', 'label', 'created_at' ), array_keys( $data ) );
		$this->assertSame( 'requested', $data['status'] );
		$this->assertNull( $data['label'] );
		$this->assertSame( array( 'order_item_id' => 11, 'product_id' => 22, 'quantity' => 1, 'reason' => 'Za mały rozmiar' ), $data['items'][0] );
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
}
