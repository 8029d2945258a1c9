<?php
/**
 * The refund of a return on real WooCommerce: exactly the returned items, taxes to the cent, exactly once.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Admin\Returns_Page;
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
	 * @param array<string, int>   $lines   SKU => quantity.
	 * @param string               $gateway Payment method.
	 * @param array<string, mixed> $extra   shipping (net cost), fee (net amount), coupon (fixed cart amount).
	 */
	private function order_with( array $lines, string $gateway = 'bacs', array $extra = array() ): WC_Order {
		$order = wc_create_order();
		foreach ( $lines as $sku => $qty ) {
			$order->add_product( wc_get_product( wc_get_product_id_by_sku( $sku ) ), $qty );
		}
		if ( isset( $extra['shipping'] ) ) {
			$shipping = new WC_Order_Item_Shipping();
			$shipping->set_method_title( 'Kurier' );
			$shipping->set_method_id( 'flat_rate' );
			$shipping->set_total( $extra['shipping'] );
			$order->add_item( $shipping );
		}
		if ( isset( $extra['fee'] ) ) {
			$fee = new WC_Order_Item_Fee();
			$fee->set_name( 'Pakowanie na prezent' );
			$fee->set_tax_status( 'taxable' );
			$fee->set_tax_class( '' );
			$fee->set_total( $extra['fee'] );
			$order->add_item( $fee );
		}
		$order->set_billing_country( 'PL' );
		$order->set_billing_email( 'kupujacy@example.com' );
		$order->set_payment_method( $gateway );
		$order->calculate_totals( true );
		if ( isset( $extra['coupon'] ) ) {
			$code = 'bpm-b2-' . str_replace( '.', '-', (string) $extra['coupon'] );
			if ( ! wc_get_coupon_id_by_code( $code ) ) {
				$coupon = new WC_Coupon();
				$coupon->set_code( $code );
				$coupon->set_discount_type( 'fixed_cart' );
				$coupon->set_amount( $extra['coupon'] );
				$coupon->save();
			}
			$this->assertTrue( $order->apply_coupon( $code ) );
		}
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
	 * A received return of $qty of the SKU's line (or of several lines: SKU => quantity, a list of pairs).
	 *
	 * @param WC_Order                       $order Order.
	 * @param string|array<int, array{0: string, 1: int}> $sku   SKU, or a list of [SKU, quantity].
	 * @param int                            $qty   Quantity (with one SKU).
	 * @param string                         $kind  withdrawal or complaint.
	 */
	private function received_return( WC_Order $order, $sku, int $qty = 1, string $kind = 'withdrawal' ): int {
		$items = array();
		foreach ( is_array( $sku ) ? $sku : array( array( $sku, $qty ) ) as list( $one, $count ) ) {
			$items[] = array(
				'order_item_id' => $this->item_id( $order, $one ),
				'product_id'    => wc_get_product_id_by_sku( $one ),
				'quantity'      => $count,
				'reason'        => 'Wrong item',
			);
		}
		$id = Rma::create(
			$order->get_id(),
			$items,
			array(
				'email' => 'kupujacy@example.com',
				'kind'  => $kind,
			)
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

	public function test_prices_with_tax_refund_the_gross_share_rounded_first(): void {
		// Kubek 30.75 × 3 − 4.37 coupon: the line holds 71.447154 + 16.43. One unit is 87.877154 / 3 = 29.29
		// gross (rounding net and tax apart would give 23.82 + 5.48 = 29.30, a cent the customer never paid).
		$order = $this->order_with( array( 'KUB-1' => 3 ), 'bacs', array( 'coupon' => 4.37 ) );
		$this->assertSame( '87.88', wc_format_decimal( $order->get_total(), 2 ) );
		$rma  = $this->received_return( $order, 'KUB-1', 1 );
		$plan = Refund::plan( $order, Rma::get( $rma ) );
		$line = $plan['line_items'][ $this->item_id( $order, 'KUB-1' ) ];
		$this->assertSame( '29.29', $plan['amount'] );
		$this->assertSame( '5.48', $line['refund_tax'][ $this->rate_id( '' ) ] );
		$this->assertSame( '23.81', $line['refund_total'], 'net = gross − tax' );
		$this->assertIsArray( Refund::issue( $rma, false ) );
		// The other two units get what is left: together exactly what the customer paid.
		$this->assertSame( '58.59', Refund::issue( $this->received_return( wc_get_order( $order->get_id() ), 'KUB-1', 2 ), false )['amount'] );
		$this->assertSame( '87.88', wc_format_decimal( wc_get_order( $order->get_id() )->get_total_refunded(), 2 ) );
	}

	public function test_a_full_withdrawal_gets_the_shipping_back_and_a_partial_one_does_not(): void {
		// Shipping 10.00 net + 23 % = 12.30; a coupon spread over both products.
		$order = $this->order_with( array( 'KUB-1' => 3, 'HER-1' => 1 ), 'bacs', array( 'shipping' => '10.00', 'coupon' => 4.37 ) );
		$rate  = $this->rate_id( '' );
		$first = $this->received_return( $order, 'KUB-1', 1 );
		$plan  = Refund::plan( $order, Rma::get( $first ) );
		$this->assertFalse( $plan['full'] );
		$this->assertFalse( $plan['with_shipping'], 'a partial withdrawal keeps the shipping' );
		$this->assertSame( '12.30', $plan['shipping'], 'offered all the same' );
		$this->assertSame( $plan['products'], $plan['amount'] );
		$this->assertSame( '1', (string) count( $plan['line_items'] ) );
		$this->assertIsArray( Refund::issue( $first, false ) );

		// The rest, with the same line listed twice (two reasons): one refund line, shipping included.
		$order = wc_get_order( $order->get_id() );
		$rest  = $this->received_return( $order, array( array( 'KUB-1', 1 ), array( 'HER-1', 1 ), array( 'KUB-1', 1 ) ) );
		$plan  = Refund::plan( $order, Rma::get( $rest ) );
		$this->assertTrue( $plan['full'] );
		$this->assertTrue( $plan['with_shipping'] );
		$this->assertSame( 2, $plan['line_items'][ $this->item_id( $order, 'KUB-1' ) ]['qty'], 'duplicate entries merged' );
		$shipping_id = (int) array_key_first( $order->get_items( 'shipping' ) );
		$this->assertSame( '10.00', $plan['line_items'][ $shipping_id ]['refund_total'] );
		$this->assertSame( '2.30', $plan['line_items'][ $shipping_id ]['refund_tax'][ $rate ] );
		$done = Refund::issue( $rest, false );
		$this->assertIsArray( $done, is_wp_error( $done ) ? $done->get_error_message() : '' );
		$order = wc_get_order( $order->get_id() );
		$this->assertSame( wc_format_decimal( $order->get_total(), 2 ), wc_format_decimal( $order->get_total_refunded(), 2 ), 'everything paid came back' );
		$this->assertSame( '10.00', wc_format_decimal( $order->get_total_refunded_for_item( $shipping_id, 'shipping' ), 2 ) );
		$this->assertSame( '2.30', wc_format_decimal( $order->get_tax_refunded_for_item( $shipping_id, $rate, 'shipping' ), 2 ) );
		$this->assertSame( 3, absint( $order->get_qty_refunded_for_item( $this->item_id( $order, 'KUB-1' ) ) ) );
		$this->assertTrue( $order->has_status( 'refunded' ) );
	}

	public function test_fees_and_a_complaints_shipping_only_when_asked(): void {
		// Fee 5.00 + 1.15; shipping 10.00 + 2.30; one Kubek 30.75.
		$order = $this->order_with( array( 'KUB-1' => 1 ), 'bacs', array( 'shipping' => '10.00', 'fee' => '5.00' ) );
		$this->assertSame( '49.20', wc_format_decimal( $order->get_total(), 2 ) );
		$rma  = $this->received_return( $order, 'KUB-1', 1, 'complaint' );
		$plan = Refund::plan( $order, Rma::get( $rma ) );
		$this->assertFalse( $plan['full'], 'a complaint is no withdrawal' );
		$this->assertSame( '30.75', $plan['amount'] );
		$this->assertSame( array( '12.30', '6.15' ), array( $plan['shipping'], $plan['fees'] ) );
		$this->assertSame( '43.05', Refund::plan( $order, Rma::get( $rma ), array( 'shipping' => true ) )['amount'] );
		$done = Refund::issue( $rma, false, 'staff', array( 'shipping' => true, 'fees' => true ) );
		$this->assertIsArray( $done, is_wp_error( $done ) ? $done->get_error_message() : '' );
		$this->assertSame( '49.20', $done['amount'] );
		$this->assertCount( 3, wc_get_order( $order->get_id() )->get_refunds()[0]->get_items( array( 'line_item', 'shipping', 'fee' ) ) );
	}

	public function test_a_refund_of_ours_made_before_a_crash_is_adopted_not_repeated(): void {
		global $wpdb;
		$this->use_refusing_gateway();
		$order = $this->order_with( array( 'KUB-1' => 2 ), 'bpm_refuses' );
		$rma   = $this->received_return( $order, 'KUB-1', 1 );
		// Another request holds the claim: nothing happens.
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET refund_id = 0 WHERE id = %d', $rma ) );
		$busy = Refund::issue( $rma, false );
		$this->assertInstanceOf( WP_Error::class, $busy );
		$this->assertSame( 'bpm_bridge_refund_busy', $busy->get_error_code() );
		$this->assertCount( 0, wc_get_order( $order->get_id() )->get_refunds() );
		// That request made the refund (through our code: marked with the return) and died before storing it.
		$made = wc_create_refund(
			array(
				'order_id'   => $order->get_id(),
				'amount'     => '30.75',
				'reason'     => Rma::number( $rma ),
				'bpm_rma_id' => $rma,
			)
		);
		$this->assertInstanceOf( WC_Order_Refund::class, $made );
		$this->assertSame( (string) $rma, wc_get_order( $made->get_id() )->get_meta( Refund::META ), 'marked in the same save' );
		// While its claim is fresh, still nothing (it may be alive and about to store it).
		$this->assertSame( 'bpm_bridge_refund_busy', Refund::issue( $rma, false )->get_error_code() );
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET updated_at = %s WHERE id = %d', gmdate( 'Y-m-d H:i:s', time() - Refund::CLAIM_TTL - 5 ), $rma ) );
		$done = Refund::issue( $rma, false );
		$this->assertIsArray( $done );
		$this->assertTrue( $done['adopted'] );
		$this->assertSame( $made->get_id(), $done['refund_id'] );
		$this->assertTrue( $done['check_provider'], 'the payment method could refund, and WooCommerce does not know it did' );
		$this->assertStringContainsString( 'check the payment provider', implode( ' ', array_column( Rma::timeline( $rma ), 'message' ) ) );
		$this->assertCount( 1, wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertSame( 'refunded', Rma::get( $rma )['status'] );
	}

	public function test_a_refund_stored_before_a_crash_moves_the_return_on_without_a_second_refund(): void {
		global $wpdb;
		$order = $this->order_with( array( 'KUB-1' => 2 ) );
		$rma   = $this->received_return( $order, 'KUB-1', 1 );
		$made  = wc_create_refund(
			array(
				'order_id'   => $order->get_id(),
				'amount'     => '30.75',
				'reason'     => Rma::number( $rma ),
				'bpm_rma_id' => $rma,
			)
		);
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET refund_id = %d WHERE id = %d', $made->get_id(), $rma ) );
		$again = Refund::issue( $rma, false );
		$this->assertSame( 'bpm_bridge_already_refunded', $again->get_error_code() );
		$this->assertSame( 'refunded', Rma::get( $rma )['status'], 'the step the crash missed is done' );
		$this->assertCount( 1, wc_get_order( $order->get_id() )->get_refunds() );
	}

	public function test_a_manual_refund_with_the_same_reason_text_is_not_adopted(): void {
		global $wpdb;
		$order  = $this->order_with( array( 'KUB-1' => 3 ) );
		$rma    = $this->received_return( $order, 'KUB-1', 1 );
		$manual = wc_create_refund(
			array(
				'order_id' => $order->get_id(),
				'amount'   => '5.00',
				'reason'   => Rma::number( $rma ),
			)
		);
		$this->assertInstanceOf( WC_Order_Refund::class, $manual );
		// Even when a stale claim is taken over, a refund not made by us for this return is somebody else's.
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET refund_id = 0, updated_at = %s WHERE id = %d', gmdate( 'Y-m-d H:i:s', time() - Refund::CLAIM_TTL - 5 ), $rma ) );
		$done = Refund::issue( $rma, false );
		$this->assertIsArray( $done, is_wp_error( $done ) ? $done->get_error_message() : '' );
		$this->assertFalse( $done['adopted'] );
		$this->assertNotSame( $manual->get_id(), $done['refund_id'] );
		$this->assertSame( '30.75', $done['amount'] );
		$this->assertCount( 2, wc_get_order( $order->get_id() )->get_refunds() );
		// And without any claim to take over, nothing is adopted either.
		$fresh = $this->received_return( wc_get_order( $order->get_id() ), 'KUB-1', 1 );
		wc_create_refund(
			array(
				'order_id' => $order->get_id(),
				'amount'   => '1.00',
				'reason'   => Rma::number( $fresh ),
			)
		);
		$again = Refund::issue( $fresh, false );
		$this->assertIsArray( $again, is_wp_error( $again ) ? $again->get_error_message() : '' );
		$this->assertFalse( $again['adopted'] );
	}

	public function test_a_reject_cannot_slip_in_while_a_refund_is_in_progress(): void {
		global $wpdb;
		$order = $this->order_with( array( 'KUB-1' => 2 ) );
		$rma   = $this->received_return( $order, 'KUB-1', 1 );
		// A refund request holds the claim (it is talking to the payment method right now).
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET refund_id = 0 WHERE id = %d', $rma ) );
		$refused = Returns_Page::act( $rma, 'reject', 'received', 'The mug is not ours.' );
		$this->assertSame( 'error', $refused['type'], $refused['text'] );
		$this->assertStringContainsString( 'being refunded', $refused['text'] );
		$this->assertSame( 'received', Rma::get( $rma )['status'] );
		$this->assertSame( 0, Rma::get( $rma )['refund_id'], 'the refund\'s claim is left alone' );
		// Without a claim the reject goes through, and its own claim is given back.
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . \BPM_Bridge\Installer::rma_table() . ' SET refund_id = NULL WHERE id = %d', $rma ) );
		$this->assertSame( 'success', Returns_Page::act( $rma, 'reject', 'received', 'The mug is not ours.' )['type'] );
		$this->assertSame( 'rejected', Rma::get( $rma )['status'] );
		$this->assertNull( Rma::get( $rma )['refund_id'] );
		$this->assertInstanceOf( WP_Error::class, Refund::issue( $rma, false ) );
	}

	public function test_a_withdrawal_is_refunded_once_its_parcel_is_on_the_way_and_restocking_is_chosen(): void {
		$product = wc_get_product( wc_get_product_id_by_sku( 'KSI-1' ) );
		$product->set_manage_stock( true );
		$product->set_stock_quantity( 50 );
		$product->save();
		try {
			$this->assertContains( 'refund', Returns_Page::actions_for( 'label_ready', 'withdrawal' ) );
			$this->assertContains( 'refund', Returns_Page::actions_for( 'arrived', 'withdrawal' ) );
			$this->assertNotContains( 'refund', Returns_Page::actions_for( 'label_ready', 'complaint' ), 'a complaint waits for the inspection' );
			$this->assertNotContains( 'refund', Returns_Page::actions_for( 'arrived', 'complaint' ) );

			$order = $this->order_with( array( 'KSI-1' => 3 ) );
			$stock = (int) wc_get_product( $product->get_id() )->get_stock_quantity();
			$id    = Rma::create(
				$order->get_id(),
				array(
					array(
						'order_item_id' => $this->item_id( $order, 'KSI-1' ),
						'product_id'    => $product->get_id(),
						'quantity'      => 1,
						'reason'        => 'Wrong item',
					),
				),
				array( 'kind' => 'withdrawal' )
			);
			Rma::set_status( $id, 'requested', 'approved', '', 'staff' );
			Rma::set_status( $id, 'approved', 'label_ready', '', 'system' );
			$done = Returns_Page::act( $id, 'refund', 'label_ready', '', false, array( 'restock' => false ) );
			$this->assertSame( 'success', $done['type'], $done['text'] );
			$this->assertStringContainsString( '39,90', str_replace( '.', ',', $done['text'] ), 'the amount with its currency' );
			$this->assertSame( 'refunded', Rma::get( $id )['status'] );
			$this->assertSame( $stock, wc_get_product( $product->get_id() )->get_stock_quantity(), 'not restocked when unticked' );

			// A complaint: received only, and not restocked by default (a faulty item is no stock).
			$complaint = $this->received_return( wc_get_order( $order->get_id() ), 'KSI-1', 1, 'complaint' );
			$this->assertIsArray( Refund::issue( $complaint, false ) );
			$this->assertSame( $stock, wc_get_product( $product->get_id() )->get_stock_quantity() );
			$withdrawal = $this->received_return( wc_get_order( $order->get_id() ), 'KSI-1', 1 );
			$this->assertIsArray( Refund::issue( $withdrawal, false ) );
			$this->assertSame( $stock + 1, wc_get_product( $product->get_id() )->get_stock_quantity(), 'a withdrawal is restocked by default' );
		} finally {
			$product = wc_get_product( $product->get_id() );
			$product->set_manage_stock( false );
			$product->save();
		}
	}

	/**
	 * A gateway that supports refunds and refuses every one.
	 */
	private function use_refusing_gateway(): void {
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
	}
}
