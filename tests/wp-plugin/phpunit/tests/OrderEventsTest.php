<?php
/**
 * WooCommerce hooks → outbox events, with WooCommerce's real argument lists (fired by the double's CRUD).
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Order_Events;

/**
 * Order events.
 */
class OrderEventsTest extends BPM_Test_Case {

	/**
	 * HTTP requests attempted during the test.
	 *
	 * @var int
	 */
	private $http = 0;

	/**
	 * Counts HTTP attempts: hooks must never make one.
	 */
	protected function setUp(): void {
		parent::setUp();
		add_filter(
			'pre_http_request',
			function ( $pre ) {
				++$this->http;
				return $pre;
			}
		);
	}

	/**
	 * Data of the events of a type for an order.
	 *
	 * @param string $type     Type.
	 * @param int    $order_id Order id.
	 * @return array<int,array>
	 */
	private function data( string $type, int $order_id ): array {
		$out = array();
		foreach ( $this->events( $type ) as $row ) {
			$payload = json_decode( $row['payload'], true );
			if ( ( $payload['data']['order_id'] ?? null ) === $order_id ) {
				$out[] = $payload['data'];
			}
		}
		return $out;
	}

	public function test_a_new_order_gives_one_order_created(): void {
		$order = $this->make_order( 'pending' );
		// Classic checkout announces the same order again.
		do_action( 'woocommerce_checkout_order_processed', $order->get_id(), array( 'billing_email' => 'x@example.com' ), $order );
		do_action( 'woocommerce_store_api_checkout_order_processed', $order );
		$this->assertSame( array( array( 'order_id' => $order->get_id(), 'status' => 'pending' ) ), $this->data( 'order.created', $order->get_id() ) );
		$this->assertSame( 0, $this->http );
	}

	public function test_payment_gives_status_changed_and_one_order_paid(): void {
		$order = $this->make_order( 'pending' );
		$order->payment_complete( 'txn-1' );
		$id = $order->get_id();
		$this->assertSame( array( array( 'order_id' => $id, 'from' => 'pending', 'to' => 'processing' ) ), $this->data( 'order.status_changed', $id ) );
		$this->assertSame( array( array( 'order_id' => $id, 'from' => 'pending', 'to' => 'processing', 'payment_method' => 'bacs' ) ), $this->data( 'order.paid', $id ) );
		$paid_event = $this->events( 'order.paid' )[0]['id'];
		$this->assertSame( $paid_event, wc_get_order( $id )->get_meta( Order_Events::PAID_META ), 'remembered in order meta' );

		// Later paid statuses and a repeated payment_complete do not pay twice.
		wc_get_order( $id )->update_status( 'completed' );
		do_action( 'woocommerce_payment_complete', $id, 'txn-1' );
		$this->assertCount( 1, $this->data( 'order.paid', $id ) );
		$this->assertCount( 2, $this->data( 'order.status_changed', $id ) );
		$this->assertSame( 0, $this->http );
	}

	public function test_a_gateway_that_only_completes_payment_still_gives_order_paid(): void {
		$order = $this->make_order( 'processing' );
		$this->assertSame( array(), $this->data( 'order.paid', $order->get_id() ) );
		do_action( 'woocommerce_payment_complete', $order->get_id(), '' );
		$this->assertSame( array( array( 'order_id' => $order->get_id(), 'payment_method' => 'bacs' ) ), $this->data( 'order.paid', $order->get_id() ) );
	}

	public function test_on_hold_to_processing_is_paid_and_cancel_gives_order_cancelled(): void {
		$a = $this->make_order( 'on-hold' );
		$a->update_status( 'processing' );
		$this->assertCount( 1, $this->data( 'order.paid', $a->get_id() ) );

		$b = $this->make_order( 'pending' );
		$b->update_status( 'cancelled' );
		$this->assertSame( array( array( 'order_id' => $b->get_id(), 'from' => 'pending' ) ), $this->data( 'order.cancelled', $b->get_id() ) );
		$this->assertSame( array(), $this->data( 'order.paid', $b->get_id() ) );
	}

	public function test_a_refund_carries_its_id_and_amount(): void {
		$order  = $this->make_order( 'processing' );
		$refund = wc_create_refund(
			array(
				'order_id' => $order->get_id(),
				'amount'   => '23.00',
			)
		);
		$this->assertInstanceOf( WC_Order_Refund::class, $refund );
		$this->assertSame(
			array(
				array(
					'order_id'  => $order->get_id(),
					'refund_id' => $refund->get_id(),
					'amount'    => '23.00',
				),
			),
			$this->data( 'order.refunded', $order->get_id() )
		);
	}

	public function test_privacy_erasure_sends_only_the_email_hash(): void {
		$erasers = apply_filters( 'wp_privacy_personal_data_erasers', array() );
		$this->assertArrayHasKey( 'bpm-bridge', $erasers );
		$result = call_user_func( $erasers['bpm-bridge']['callback'], 'Jan.Kowalski@Example.com', 1 );
		$this->assertTrue( $result['done'] );
		call_user_func( $erasers['bpm-bridge']['callback'], 'jan.kowalski@example.com', 2 );
		$events = $this->events( 'customer.erasure_requested' );
		$this->assertCount( 1, $events, 'one event per request, not per page' );
		$this->assertSame( array( 'email_hash' => hash( 'sha256', 'jan.kowalski@example.com' ) ), json_decode( $events[0]['payload'], true )['data'] );
		$this->assertStringNotContainsString( 'kowalski', strtolower( $events[0]['payload'] ) );
	}

	public function test_events_carry_no_personal_data(): void {
		$order = $this->make_order( 'pending' );
		$order->set_billing_email( 'anna@example.com' );
		$order->save();
		$order->payment_complete();
		$this->assertGreaterThanOrEqual( 3, count( $this->events() ) );
		foreach ( $this->events() as $row ) {
			$this->assertStringNotContainsString( 'anna', $row['payload'] );
		}
	}
}
