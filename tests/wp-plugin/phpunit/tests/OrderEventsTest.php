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
		// WooCommerce completes an order that needs no processing (no shippable items) at once.
		$to = wc_get_order( $id )->get_status();
		$this->assertContains( $to, array( 'processing', 'completed' ) );
		$this->assertSame( array( array( 'order_id' => $id, 'from' => 'pending', 'to' => $to ) ), $this->data( 'order.status_changed', $id ) );
		$this->assertSame( array( array( 'order_id' => $id, 'from' => 'pending', 'to' => $to, 'payment_method' => 'bacs' ) ), $this->data( 'order.paid', $id ) );
		$this->assertSame( '', wc_get_order( $id )->get_meta( Order_Events::PAID_META ), 'the outbox row is the memory: no second order save' );

		// Later paid statuses and a repeated payment_complete do not pay twice.
		wc_get_order( $id )->update_status( 'completed' === $to ? 'processing' : 'completed' );
		do_action( 'woocommerce_payment_complete', $id, 'txn-1' );
		$this->assertCount( 1, $this->data( 'order.paid', $id ) );
		$this->assertCount( 2, $this->data( 'order.status_changed', $id ) );
		$this->assertSame( 0, $this->http );
	}

	public function test_a_gateway_that_only_completes_payment_still_gives_order_paid(): void {
		$order = $this->make_order( 'on-hold' );
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

	public function test_a_refund_amount_is_the_crud_amount_in_price_decimals_on_either_order_store(): void {
		$hpos  = class_exists( \Automattic\WooCommerce\Utilities\OrderUtil::class ) && \Automattic\WooCommerce\Utilities\OrderUtil::custom_orders_table_usage_is_enabled();
		$store = $hpos ? 'HPOS' : 'posts';
		$order = $this->make_order( 'processing' );
		$first = wc_create_refund(
			array(
				'order_id' => $order->get_id(),
				'amount'   => '10.5',
				'reason'   => 'one cup broken',
			)
		);
		$second = wc_create_refund(
			array(
				'order_id' => $order->get_id(),
				'amount'   => 7,
			)
		);
		$this->assertInstanceOf( WC_Order_Refund::class, $second );
		$refunds = $this->data( 'order.refunded', $order->get_id() );
		// Rows written in the same second have no order among themselves.
		usort(
			$refunds,
			static function ( $a, $b ) {
				return $a['refund_id'] <=> $b['refund_id'];
			}
		);
		$this->assertCount( 2, $refunds, $store );
		$this->assertSame( array( $first->get_id(), '10.50' ), array( $refunds[0]['refund_id'], $refunds[0]['amount'] ), $store );
		$this->assertSame( array( $second->get_id(), '7.00' ), array( $refunds[1]['refund_id'], $refunds[1]['amount'] ), $store );
		foreach ( $refunds as $refund ) {
			// The same number the plugin's GET orders/{id} gives the sidecar for the cross-check.
			$this->assertSame( wc_format_decimal( wc_get_order( $refund['refund_id'] )->get_amount(), wc_get_price_decimals() ), $refund['amount'], $store );
		}
	}

	public function test_privacy_erasure_sends_only_the_email_hash(): void {
		$erasers = apply_filters( 'wp_privacy_personal_data_erasers', array() );
		$this->assertArrayHasKey( 'bpm-bridge', $erasers );
		$email   = 'jan.kowalski+' . strtolower( wp_generate_password( 6, false ) ) . '@example.com';
		$request = wp_create_user_request( $email, 'remove_personal_data', array(), 'confirmed' );
		$this->assertIsInt( $request );
		// As the Tools screen runs it: the callback, then the page filter that names the request.
		foreach ( array( 1, 2 ) as $page ) {
			$result = call_user_func( $erasers['bpm-bridge']['callback'], 1 === $page ? strtoupper( $email ) : $email, $page );
			$this->assertTrue( $result['done'] );
			\BPM_Bridge\Crm\Eraser::after_page( $result, 1, $email, $page, $request, 'bpm-bridge' );
		}
		$events = $this->events( 'customer.erasure_requested' );
		wp_delete_post( $request, true );
		delete_option( \BPM_Bridge\Crm\Suppression::OPTION );
		$this->assertCount( 1, $events, 'one event per request, not per page' );
		$this->assertSame(
			array(
				'email_hash' => hash( 'sha256', $email ),
				'request_id' => $request,
			),
			json_decode( $events[0]['payload'], true )['data']
		);
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
