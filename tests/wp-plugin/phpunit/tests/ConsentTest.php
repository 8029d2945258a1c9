<?php
/**
 * The marketing consent: stored at checkout (classic and block) and in My Account, read by GET /orders/{id}.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Crm\Consent;
use BPM_Bridge\Options;

/**
 * Consent.
 */
class ConsentTest extends BPM_Test_Case {

	protected function setUp(): void {
		parent::setUp();
		Options::set( 'crm', array( 'provider' => 'hubspot' ) );
	}

	protected function tearDown(): void {
		unset( $_POST[ Consent::FIELD ] );
		parent::tearDown();
		Consent::sync_enabled();
	}

	/**
	 * The order's record, decoded.
	 *
	 * @param int $order_id Order id.
	 */
	private function stored( int $order_id ): ?array {
		return Consent::of_order( wc_get_order( $order_id ) );
	}

	/**
	 * A classic checkout of a new order with the box ticked or not.
	 *
	 * @param bool $ticked  Ticked.
	 * @param int  $user_id Customer.
	 */
	private function classic_checkout( bool $ticked, int $user_id = 0 ): WC_Order {
		$order = $this->make_order();
		$order->set_customer_id( $user_id );
		$order->set_customer_ip_address( '203.0.113.7' );
		if ( $ticked ) {
			$_POST[ Consent::FIELD ] = '1';
		} else {
			unset( $_POST[ Consent::FIELD ] );
		}
		do_action( 'woocommerce_checkout_create_order', $order, array() );
		$order->save();
		return $order;
	}

	public function test_a_ticked_box_is_recorded_on_the_order_with_version_time_source_and_ip(): void {
		$before = time();
		$order  = $this->classic_checkout( true );
		$record = $this->stored( $order->get_id() );
		$this->assertSame( array( 'granted', 'version', 'at', 'source', 'ip' ), array_keys( $record ) );
		$this->assertTrue( $record['granted'] );
		$this->assertSame( 'v1', $record['version'] );
		$this->assertSame( 'checkout', $record['source'] );
		$this->assertSame( '203.0.113.7', $record['ip'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $record['at'] );
		$this->assertGreaterThanOrEqual( $before, strtotime( $record['at'] ) );

		$unticked = $this->classic_checkout( false );
		$this->assertFalse( $this->stored( $unticked->get_id() )['granted'] );
	}

	public function test_without_a_crm_the_checkout_asks_nothing_and_stores_nothing(): void {
		Options::set( 'crm', array( 'provider' => 'none' ) );
		$this->assertFalse( Consent::enabled() );
		ob_start();
		Consent::classic_field();
		$this->assertSame( '', ob_get_clean() );
		$order = $this->classic_checkout( true );
		$this->assertNull( $this->stored( $order->get_id() ) );

		Options::set( 'crm', array( 'provider' => 'webhook' ) );
		$this->assertTrue( Consent::enabled() );
		delete_option( \BPM_Bridge\Settings\Schema::OPTIONS['crm'] );
		$this->assertFalse( Consent::enabled(), 'settings removed: no checkbox' );
		Options::set( 'crm', array( 'provider' => 'webhook' ) );
		ob_start();
		Consent::classic_field();
		$html = ob_get_clean();
		$this->assertStringContainsString( 'name="' . Consent::FIELD . '"', $html );
		$this->assertStringNotContainsString( 'checked', $html, 'never pre-ticked' );
	}

	public function test_the_block_checkout_answer_is_recorded_too(): void {
		$order   = $this->make_order();
		$request = new WP_REST_Request( 'POST', '/wc/store/v1/checkout' );
		$request->set_param( 'additional_fields', array( Consent::BLOCK_FIELD => true ) );
		Consent::block_save( $order, $request );
		$order->save();
		$record = $this->stored( $order->get_id() );
		if ( ! function_exists( 'woocommerce_register_additional_checkout_field' ) ) {
			// WooCommerce before 8.9 has no Additional Checkout Fields API: only the classic checkout asks.
			$this->assertNull( $record );
			return;
		}
		$this->assertTrue( $record['granted'] );
		$this->assertSame( 'checkout-block', $record['source'] );
		$other = $this->make_order();
		Consent::block_save( $other, new WP_REST_Request( 'POST', '/wc/store/v1/checkout' ) );
		$other->save();
		$this->assertFalse( $this->stored( $other->get_id() )['granted'] );
	}

	public function test_the_customers_record_wins_and_an_unticked_box_does_not_withdraw(): void {
		$user  = $this->make_user( 'customer' );
		$first = $this->classic_checkout( true, $user );
		$this->assertTrue( Consent::of_user( $user )['granted'] );
		$later = $this->classic_checkout( false, $user );
		$this->assertFalse( $this->stored( $later->get_id() )['granted'], 'the order records what was ticked' );
		$this->assertTrue( Consent::of_user( $user )['granted'], 'only My Account withdraws' );
		$this->assertTrue( Consent::for_rest( wc_get_order( $later->get_id() ) )['marketing'] );

		$this->assertTrue( Consent::set_for_user( $user, false, 'my-account', '198.51.100.1' ) );
		$rest = Consent::for_rest( wc_get_order( $first->get_id() ) );
		$this->assertFalse( $rest['marketing'] );
		$this->assertSame( 'my-account', $rest['source'] );
		$this->assertSame( 'v1', $rest['version'] );
		$this->assertArrayNotHasKey( 'ip', $rest );

		$guest = $this->make_order();
		$this->assertSame(
			array(
				'marketing'      => false,
				'version'        => '',
				'at'             => null,
				'source'         => '',
				'crm_suppressed' => false,
			),
			Consent::for_rest( $guest )
		);
	}

	public function test_a_change_in_my_account_queues_consent_changed_with_the_latest_order(): void {
		$user   = $this->make_user( 'customer' );
		$this->classic_checkout( false, $user );
		$latest = $this->classic_checkout( false, $user );
		$this->assertTrue( Consent::set_for_user( $user, true, 'my-account' ) );
		$this->assertFalse( Consent::set_for_user( $user, true, 'my-account' ), 'no change, no event' );
		$this->assertTrue( Consent::set_for_user( $user, false, 'my-account' ) );
		$data = function () {
			return array_map(
				static function ( $row ) {
					return json_decode( $row['payload'], true )['data'];
				},
				$this->events( 'customer.consent_changed' )
			);
		};
		$this->assertSame(
			array_fill(
				0,
				2,
				array(
					'customer_id' => $user,
					'order_id'    => $latest->get_id(),
				)
			),
			$data()
		);
		$this->assertStringNotContainsString( '@', $this->events( 'customer.consent_changed' )[0]['payload'] );
		$nobody = $this->make_user( 'customer' );
		Consent::set_for_user( $nobody, true, 'my-account' );
		$this->assertContains( array( 'customer_id' => $nobody ), $data(), 'a customer without orders: no order_id' );
	}

	public function test_the_personal_data_export_holds_the_customers_record(): void {
		$user  = $this->make_user( 'customer' );
		$email = 'consent-export-' . $user . '@example.test';
		wp_update_user(
			array(
				'ID'         => $user,
				'user_email' => $email,
			)
		);
		$exporters = apply_filters( 'wp_privacy_personal_data_exporters', array() );
		$this->assertSame( array(), call_user_func( $exporters['bpm-bridge-consent']['callback'], $email, 1 )['data'] );
		Consent::set_for_user( $user, true, 'my-account', '198.51.100.9' );
		$export = call_user_func( $exporters['bpm-bridge-consent']['callback'], $email, 1 );
		$this->assertTrue( $export['done'] );
		$values = wp_list_pluck( $export['data'][0]['data'], 'value', 'name' );
		$this->assertSame( 'yes', $values['Given'] );
		$this->assertSame( 'my-account', $values['Where'] );
		$this->assertSame( '198.51.100.9', $values['IP address'] );
	}

	public function test_get_order_carries_the_consent_key(): void {
		$order = $this->classic_checkout( true );
		$this->as_api_user();
		$response = $this->signed( 'GET', '/orders/' . $order->get_id() );
		$this->assertSame( 200, $response->get_status(), wp_json_encode( $response->get_data() ) );
		$consent = json_decode( wp_json_encode( $response->get_data() ), true )['consent'];
		$this->assertTrue( $consent['marketing'] );
		$this->assertSame( 'checkout', $consent['source'] );
		$this->assertSame( array( 'marketing', 'version', 'at', 'source', 'crm_suppressed' ), array_keys( $consent ) );
	}
}
