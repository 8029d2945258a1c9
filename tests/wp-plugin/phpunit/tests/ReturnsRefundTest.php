<?php
/**
 * The refund of a return on real WooCommerce: exactly the returned items, taxes to the cent, exactly once.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Returns\Refund;
use BPM_Bridge\Rma;

/**
 * Refund.
 */
class ReturnsRefundTest extends BPM_Test_Case {

	/**
	 * Real WooCommerce only: the double has no refunds or taxes.
	 */
	protected function setUp(): void {
		parent::setUp();
		if ( ! self::real_woocommerce() ) {
			$this->markTestSkipped( 'refunds need real WooCommerce' );
		}
		remove_all_filters( 'woocommerce_payment_gateways' );
	}

	/**
	 * A completed order with the given products (SKU => quantity), priced and taxed by WooCommerce (PL rates).
	 *
	 * @param array<string, int> $lines SKU => quantity.
	 * @param string             $gateway Payment method.
	 */
	private function order_with( array $lines, string $gateway = 'bacs' ): WC_Order {
		$order = wc_create_order();
		foreach ( $lines as $sku => $qty ) {
			$order->add_product( wc_get_product( wc_get_product_id_by_sku( $sku ) ), $qty );
		}
		$order->set_billing_country( 'PL' );
		$order->set_billing_email( 'kupujacy@example.com' );
		$order->set_payment_method( $gateway );
		$order->calculate_totals( true );
		$order->set_status( 'completed' );
		$order->save();
		return wc_get_order( $order->get_id() );
	}

	/**
	 * The order item id of a SKU's line.
	 *
	 * @param WC_Order $order Order.
	 * @param string   $sku   SKU.
	 */
	private function item_id( WC_Order $order, string $sku ): int {
		foreach ( $order->get_items() as $item_id => $item ) {
			if ( $item->get_product() && $sku === $item->get_product()->get_sku() ) {
				return (int) $item_id;
			}
		}
		$this->fail( "no line for $sku" );
	}

	/**
	 * A received return of $qty of the SKU's line.
	 *
	 * @param WC_Order $order Order.
	 * @param string   $sku   SKU.
	 * @param int      $qty   Quantity.
	 */
	private function received_return( WC_Order $order, string $sku, int $qty ): int {
		$id = Rma::create(
			$order->get_id(),
			array(
				array(
					'order_item_id' => $this->item_id( $order, $sku ),
					'product_id'    => wc_get_product_id_by_sku( $sku ),
					'quantity'      => $qty,
					'reason'        => 'Wrong item',
				),
			),
			array( 'email' => 'kupujacy@example.com' )
		);
		$this->assertIsInt( $id );
		$this->assertIsArray( Rma::set_status( $id, 'requested', 'approved', '', 'staff' ) );
		$this->assertIsArray( Rma::set_status( $id, 'approved', 'received', '', 'staff' ) );
		return $id;
	}

	/**
	 * Tax rate id of a tax class in PL.
	 *
	 * @param string $tax_class Tax class slug ('' = standard).
	 */
	private function rate_id( string $tax_class ): int {
		$rates = WC_Tax::find_rates(
			array(
				'country'   => 'PL',
				'tax_class' => $tax_class,
			)
		);
		return (int) array_key_first( $rates );
	}

	public function test_one_of_two_items_is_refunded_to_the_cent_with_its_own_vat_rate(): void {
		// Kubek 30.75 gross at 23 % (25.00 + 5.75) × 2 and Herbata 24.50 at 8 % × 1.
		$order = $this->order_with( array( 'KUB-1' => 2, 'HER-1' => 1 ) );
		$this->assertSame( '86.00', wc_format_decimal( $order->get_total(), 2 ) );
		$rma = $this->received_return( $order, 'KUB-1', 1 );

		$done = Refund::issue( $rma, false );
		$this->assertIsArray( $done, is_wp_error( $done ) ? $done->get_error_message() : '' );
		$this->assertSame( '30.75', $done['amount'] );
		$this->assertFalse( $done['money'], 'bacs cannot send money back' );

		$order   = wc_get_order( $order->get_id() );
		$refunds = $order->get_refunds();
		$this->assertCount( 1, $refunds );
		$refund = $refunds[0];
		$this->assertSame( $done['refund_id'], $refund->get_id() );
		$this->assertSame( 'RMA-' . str_pad( (string) $rma, 6, '0', STR_PAD_LEFT ), $refund->get_reason() );
		$lines = array_values( $refund->get_items() );
		$this->assertCount( 1, $lines, 'only the returned line' );
		$this->assertSame( $this->item_id( $order, 'KUB-1' ), (int) $lines[0]->get_meta( '_refunded_item_id' ) );
		$this->assertSame( -1, (int) $lines[0]->get_quantity() );
		$this->assertSame( '-25.00', wc_format_decimal( $lines[0]->get_total(), 2 ) );
		$taxes = $lines[0]->get_taxes()['total'];
		$this->assertSame( array( $this->rate_id( '' ) ), array_map( 'intval', array_keys( array_filter( $taxes ) ) ), 'the 23 % rate only' );
		$this->assertSame( '-5.75', wc_format_decimal( $taxes[ $this->rate_id( '' ) ], 2 ) );
		$this->assertSame( '30.75', wc_format_decimal( $order->get_total_refunded(), 2 ) );
		$this->assertSame( 1, absint( $order->get_qty_refunded_for_item( $this->item_id( $order, 'KUB-1' ) ) ) );
		$this->assertSame( 0, absint( $order->get_qty_refunded_for_item( $this->item_id( $order, 'HER-1' ) ) ) );
		$this->assertFalse( $order->has_status( 'refunded' ), 'a partial refund leaves the order' );

		// The existing order.refunded path (correction invoice) gets the exact amount.
		$events = $this->events( 'order.refunded' );
		$this->assertCount( 1, $events );
		$data = json_decode( $events[0]['payload'], true )['data'];
		$this->assertSame( $refund->get_id(), $data['refund_id'] );
		$this->assertSame( '30.75', $data['amount'] );

		$stored = Rma::get( $rma, true );
		$this->assertSame( 'refunded', $stored['status'] );
		$this->assertSame( $refund->get_id(), $stored['refund_id'] );
		$this->assertContains( 'refund', array_column( $stored['timeline'], 'event' ) );

		// A double click: nothing new.
		$again = Refund::issue( $rma, false );
		$this->assertInstanceOf( WP_Error::class, $again );
		$this->assertSame( 'bpm_bridge_already_refunded', $again->get_error_code() );
		$this->assertCount( 1, wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertCount( 1, $this->events( 'order.refunded' ) );
	}

	public function test_the_last_units_of_a_line_get_what_is_left_of_it(): void {
		// Herbata 24.50 gross at 8 % × 3: 68.06 + 5.44; one unit is 22.69 + 1.81, the last one 22.68 + 1.82.
		$order   = $this->order_with( array( 'HER-1' => 3 ) );
		$item_id = $this->item_id( $order, 'HER-1' );
		$line    = $order->get_item( $item_id );
		foreach ( array( 1, 1, 1 ) as $qty ) {
			$this->assertIsArray( Refund::issue( $this->received_return( wc_get_order( $order->get_id() ), 'HER-1', $qty ), false ) );
		}
		$order = wc_get_order( $order->get_id() );
		$this->assertCount( 3, $order->get_refunds() );
		$this->assertSame( wc_format_decimal( $line->get_total(), 2 ), wc_format_decimal( $order->get_total_refunded_for_item( $item_id ), 2 ) );
		$rate = $this->rate_id( 'reduced-rate' );
		$this->assertSame( wc_format_decimal( $line->get_taxes()['total'][ $rate ], 2 ), wc_format_decimal( $order->get_tax_refunded_for_item( $item_id, $rate ), 2 ) );
		$this->assertSame( wc_format_decimal( $order->get_total(), 2 ), wc_format_decimal( $order->get_total_refunded(), 2 ) );
		$this->assertTrue( $order->has_status( 'refunded' ), 'everything came back' );
	}

	public function test_a_refund_the_payment_method_refuses_leaves_the_return_received(): void {
		add_filter(
			'woocommerce_payment_gateways',
			static function ( $gateways ) {
				if ( ! class_exists( 'BPM_Test_Refusing_Gateway' ) ) {
					require_once dirname( __DIR__ ) . '/support/class-bpm-test-refusing-gateway.php';
				}
				$gateways[] = 'BPM_Test_Refusing_Gateway';
				return $gateways;
			}
		);
		WC()->payment_gateways()->init();
		$order = $this->order_with( array( 'KUB-1' => 1 ), 'bpm_refuses' );
		$this->assertTrue( Refund::gateway_refunds( $order ) );
		$rma = $this->received_return( $order, 'KUB-1', 1 );

		$failed = Refund::issue( $rma, true );
		$this->assertInstanceOf( WP_Error::class, $failed );
		$this->assertStringContainsString( 'Card issuer declined the refund', $failed->get_error_message() );
		$this->assertSame( 'received', Rma::get( $rma )['status'] );
		$this->assertNull( Rma::get( $rma )['refund_id'], 'the claim was given up' );
		$this->assertCount( 0, wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertContains( 'refund_failed', array_column( Rma::timeline( $rma ), 'event' ) );

		// Without "send the money back" the refund is recorded (the shop pays by hand).
		$done = Refund::issue( $rma, false );
		$this->assertIsArray( $done );
		$this->assertFalse( $done['money'] );
		$this->assertSame( 'refunded', Rma::get( $rma )['status'] );
	}

	public function test_a_refund_made_before_a_crash_is_adopted_not_repeated(): void {
		global $wpdb;
		$order = $this->order_with( array( 'KUB-1' => 2 ) );
		$rma   = $this->received_return( $order, 'KUB-1', 1 );
		// Another request holds the claim: nothing happens.
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET refund_id = 0 WHERE id = %d', $rma ) );
		$busy = Refund::issue( $rma, false );
		$this->assertInstanceOf( WP_Error::class, $busy );
		$this->assertSame( 'bpm_bridge_refund_busy', $busy->get_error_code() );
		$this->assertCount( 0, wc_get_order( $order->get_id() )->get_refunds() );
		// That request made the refund and died before storing it; its claim went stale.
		$made = wc_create_refund(
			array(
				'order_id' => $order->get_id(),
				'amount'   => '30.75',
				'reason'   => Rma::number( $rma ),
			)
		);
		$this->assertInstanceOf( WC_Order_Refund::class, $made );
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET updated_at = %s WHERE id = %d', gmdate( 'Y-m-d H:i:s', time() - Refund::CLAIM_TTL - 5 ), $rma ) );
		$done = Refund::issue( $rma, false );
		$this->assertIsArray( $done );
		$this->assertTrue( $done['adopted'] );
		$this->assertSame( $made->get_id(), $done['refund_id'] );
		$this->assertCount( 1, wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertSame( 'refunded', Rma::get( $rma )['status'] );
	}
}
