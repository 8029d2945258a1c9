<?php
/**
 * The marketing consent: stored at checkout (classic and block) and in My Account, read by GET /orders/{id}.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Crm\Consent;
use BPM_Bridge\Crm\Withdrawal;
use BPM_Bridge\Options;

/**
 * A handler's wp_die() or redirect, caught.
 */
class BPM_Consent_Test_Exit extends Exception {

	/**
	 * HTTP status (0 for a redirect).
	 *
	 * @var int
	 */
	public $status = 0;
}

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
		$_GET  = array();
		$_POST = array();
		unset( $_SERVER['REQUEST_METHOD'] );
		remove_all_filters( 'wp_die_handler' );
		remove_all_filters( 'wp_redirect' );
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
		$this->assertSame( array( 'granted', 'version', 'text_sha256', 'locale', 'at', 'source', 'ip' ), array_keys( $record ) );
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

	/**
	 * The block checkout's steps for our field, as WooCommerce's Store API runs them: it validates and
	 * persists the field on the order (`_wc_other/…`), then fires the update hook with the request.
	 *
	 * @param WC_Order   $order  Order.
	 * @param bool|null  $ticked Ticked, or null when the request does not carry the field.
	 * @param string     $route  Route.
	 */
	private function block_checkout( WC_Order $order, ?bool $ticked, string $route = '/wc/store/v1/checkout' ): void {
		$request = new WP_REST_Request( 'POST', $route );
		if ( null !== $ticked ) {
			$request->set_param( 'additional_fields', array( Consent::BLOCK_FIELD => $ticked ) );
			if ( Consent::block_fields() ) {
				\Automattic\WooCommerce\Blocks\Package::container()->get( \Automattic\WooCommerce\Blocks\Domain\Services\CheckoutFields::class )->persist_field_for_order( Consent::BLOCK_FIELD, $ticked, $order, 'other', false );
			}
		}
		do_action( 'woocommerce_store_api_checkout_update_order_from_request', $order, $request );
		$order->save();
	}

	public function test_the_block_checkout_records_what_woocommerce_persisted_and_only_on_its_checkout_route(): void {
		$order = $this->make_order();
		$this->block_checkout( $order, true );
		$record = $this->stored( $order->get_id() );
		if ( ! Consent::block_fields() ) {
			// WooCommerce before 8.9 has no Additional Checkout Fields API: only the classic checkout asks.
			$this->assertNull( $record );
			return;
		}
		$this->assertTrue( $record['granted'] );
		$this->assertSame( 'checkout-block', $record['source'] );
		// Paying later for a classic checkout's order on the block pay-for-order route (checkout/{id}, no field),
		// or a checkout request without the field, keeps the "yes".
		$classic = $this->classic_checkout( true );
		$this->block_checkout( wc_get_order( $classic->get_id() ), null, '/wc/store/v1/checkout/' . $classic->get_id() );
		$this->assertSame( 'checkout', $this->stored( $classic->get_id() )['source'] );
		$this->block_checkout( wc_get_order( $classic->get_id() ), null );
		$this->assertTrue( $this->stored( $classic->get_id() )['granted'] );
		$this->assertSame( 'checkout', $this->stored( $classic->get_id() )['source'] );

		$unticked = $this->make_order();
		$this->block_checkout( $unticked, false );
		$this->assertFalse( $this->stored( $unticked->get_id() )['granted'] );
		// A value the request claims but WooCommerce did not persist (refused by its validation) is no "yes".
		$forged  = $this->make_order();
		$request = new WP_REST_Request( 'POST', '/wc/store/v1/checkout' );
		$request->set_param( 'additional_fields', array( Consent::BLOCK_FIELD => true ) );
		do_action( 'woocommerce_store_api_checkout_update_order_from_request', $forged, $request );
		$this->assertFalse( Consent::of_order( $forged )['granted'] );
	}

	public function test_an_account_created_at_the_block_checkout_gets_the_orders_record(): void {
		if ( ! Consent::block_fields() ) {
			$this->markTestSkipped( 'WooCommerce before 8.9: no block checkout field' );
		}
		$order = $this->make_order();
		$this->block_checkout( $order, true );
		$user = $this->make_user( 'customer' );
		$order->set_customer_id( $user );
		$order->save();
		$this->assertNull( Consent::of_user( $user ) );
		do_action( 'woocommerce_store_api_checkout_order_processed', $order );
		$this->assertTrue( Consent::of_user( $user )['granted'] );
		$this->assertSame( 'checkout-block', Consent::of_user( $user )['source'] );
		// An unticked box later does not withdraw the customer's "yes".
		$later = $this->make_order();
		$later->set_customer_id( $user );
		$this->block_checkout( $later, false );
		do_action( 'woocommerce_store_api_checkout_order_processed', $later );
		$this->assertTrue( Consent::of_user( $user )['granted'] );
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

	/**
	 * Runs a handler; wp_die() and redirects come back as the page's text and status.
	 *
	 * @param callable $handler Handler.
	 * @return array{0: int, 1: string} Status (302 for a redirect) and body (or location).
	 */
	private function page( callable $handler ): array {
		add_filter(
			'wp_die_handler',
			static function () {
				return static function ( $message, $title = '', $args = array() ) {
					$e         = new BPM_Consent_Test_Exit( is_string( $message ) ? $message : '' );
					$e->status = (int) ( is_array( $args ) && isset( $args['response'] ) ? $args['response'] : 500 );
					throw $e;
				};
			}
		);
		add_filter(
			'wp_redirect',
			static function ( $location ) {
				$e         = new BPM_Consent_Test_Exit( (string) $location );
				$e->status = 302;
				throw $e;
			},
			1
		);
		try {
			$handler();
		} catch ( BPM_Consent_Test_Exit $e ) {
			return array( $e->status, $e->getMessage() );
		}
		return array( 0, '' );
	}

	/**
	 * A guest order of an address with a consent record.
	 *
	 * @param string $email   Billing e-mail.
	 * @param bool   $granted Given.
	 * @param int    $at      When (Unix seconds).
	 */
	private function guest_order( string $email, bool $granted, int $at ): WC_Order {
		$order = $this->make_order( 'processing' );
		$order->set_billing_email( $email );
		$order->update_meta_data( Consent::META, wp_json_encode( Consent::record( $granted, 'checkout', '203.0.113.9', $at ) ) );
		$order->save();
		return wc_get_order( $order->get_id() );
	}

	/**
	 * Opens the withdrawal link (GET) or presses its button (POST).
	 *
	 * @param string $url  The link.
	 * @param array  $post Posted fields (none: GET).
	 * @return array{0: int, 1: string}
	 */
	private function open_link( string $url, ?array $post = null ): array {
		parse_str( (string) wp_parse_url( $url, PHP_URL_QUERY ), $query );
		$_GET                      = $query;
		$_POST                     = (array) $post;
		$_SERVER['REQUEST_METHOD'] = null === $post ? 'GET' : 'POST';
		return $this->page( array( Withdrawal::class, 'handle' ) );
	}

	public function test_a_guest_withdraws_with_the_signed_link_only_by_pressing_its_button(): void {
		$email  = 'guest-' . strtolower( wp_generate_password( 6, false ) ) . '@example.test';
		$first  = $this->guest_order( $email, true, time() - 100 );
		$second = $this->guest_order( $email, false, time() - 50 );
		$other  = $this->guest_order( 'other-' . $email, true, time() - 50 );
		$this->assertTrue( Consent::for_rest( $second )['marketing'], 'a later unticked box does not withdraw a guest\'s "yes"' );
		$url = Withdrawal::url( $second );

		list( $status, $body ) = $this->open_link( $url );
		$this->assertSame( 200, $status );
		$this->assertStringContainsString( 'method="post"', $body );
		$this->assertStringContainsString( 'name="_wpnonce"', $body );
		$this->assertTrue( Consent::for_rest( wc_get_order( $first->get_id() ) )['marketing'], 'opening the link changes nothing' );

		$this->assertSame( 403, $this->open_link( str_replace( 'sig=', 'sig=0', $url ) )[0], 'a bad signature' );
		$this->assertSame( 403, $this->open_link( add_query_arg( Withdrawal::QUERY, $other->get_id(), $url ) )[0], 'another order' );
		$this->assertSame( 403, $this->open_link( $url, array( '_wpnonce' => 'nope' ) )[0], 'no valid nonce' );
		$this->assertCount( 0, $this->events( 'customer.consent_changed' ) );

		list( $status, $body ) = $this->open_link( $url, array( '_wpnonce' => wp_create_nonce( Withdrawal::NONCE . $second->get_id() ) ) );
		$this->assertSame( 200, $status, $body );
		$this->assertStringContainsString( 'will not send you news', $body );
		$record = Consent::of_order( wc_get_order( $first->get_id() ) );
		$this->assertFalse( $record['granted'] );
		$this->assertSame( 'email-link', $record['source'] );
		$this->assertFalse( Consent::for_rest( wc_get_order( $second->get_id() ) )['marketing'] );
		$this->assertTrue( Consent::of_order( wc_get_order( $other->get_id() ) )['granted'], 'another address keeps its own' );
		$events = $this->events( 'customer.consent_changed' );
		$this->assertCount( 1, $events );
		$this->assertSame( array( 'order_id' => $second->get_id() ), json_decode( $events[0]['payload'], true )['data'] );

		// Withdrawn: the page says so, and the link is no longer offered.
		$this->assertStringContainsString( 'We do not send you', $this->open_link( $url )[1] );
		ob_start();
		Withdrawal::order_page( wc_get_order( $first->get_id() ) );
		$this->assertSame( '', ob_get_clean() );
	}

	public function test_the_link_is_on_the_order_pages_and_in_customer_e_mails_only_while_consent_is_given(): void {
		$order = $this->guest_order( 'shown-' . strtolower( wp_generate_password( 6, false ) ) . '@example.test', true, time() );
		ob_start();
		Withdrawal::order_page( $order );
		$html = ob_get_clean();
		$this->assertStringContainsString( esc_url( Withdrawal::url( $order ) ), $html );
		ob_start();
		Withdrawal::email( $order, true, false, null );
		$this->assertSame( '', ob_get_clean(), 'not in the shop\'s own e-mails' );
		ob_start();
		Withdrawal::email( $order, false, true, null );
		$plain = ob_get_clean();
		$this->assertStringContainsString( Withdrawal::url( $order ), $plain );
		$this->assertStringNotContainsString( '<a ', $plain );
		if ( self::real_woocommerce() ) {
			$mails = WC()->mailer()->get_emails();
			ob_start();
			do_action( 'woocommerce_email_after_order_table', $order, false, false, $mails['WC_Email_New_Order'] );
			$this->assertStringNotContainsString( Withdrawal::QUERY, ob_get_clean(), 'New order goes to the shop' );
			ob_start();
			do_action( 'woocommerce_email_after_order_table', $order, false, false, $mails['WC_Email_Customer_Processing_Order'] );
			$this->assertStringContainsString( Withdrawal::QUERY, ob_get_clean() );
		}
	}

	public function test_a_registered_buyers_link_withdraws_their_customer_record(): void {
		$user  = $this->make_user( 'customer' );
		$order = $this->classic_checkout( true, $user );
		$url   = Withdrawal::url( $order );
		list( $status ) = $this->open_link( $url, array( '_wpnonce' => wp_create_nonce( Withdrawal::NONCE . $order->get_id() ) ) );
		$this->assertSame( 200, $status );
		$this->assertFalse( Consent::of_user( $user )['granted'] );
		$this->assertSame( 'email-link', Consent::of_user( $user )['source'] );
		$events = $this->events( 'customer.consent_changed' );
		$this->assertSame( array( 'customer_id' => $user, 'order_id' => $order->get_id() ), json_decode( end( $events )['payload'], true )['data'] );
	}

	public function test_the_shop_withdraws_from_the_order_screen_with_capability_and_nonce(): void {
		$order = $this->guest_order( 'phoned-' . strtolower( wp_generate_password( 6, false ) ) . '@example.test', true, time() );
		// wp_nonce_url() answers for HTML (&amp;).
		$url = html_entity_decode( Withdrawal::admin_url( $order ) );
		parse_str( (string) wp_parse_url( $url, PHP_URL_QUERY ), $query );
		wp_set_current_user( $this->make_user( 'subscriber' ) );
		$_GET     = array(
			'order'    => $order->get_id(),
			'_wpnonce' => wp_create_nonce( Withdrawal::ADMIN_ACTION . '_' . $order->get_id() ),
		);
		$_REQUEST = $_GET;
		$this->assertSame( 403, $this->page( array( Withdrawal::class, 'admin' ) )[0] );
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		$_GET     = array( 'order' => $order->get_id() );
		$_REQUEST = $_GET;
		$this->assertSame( 403, $this->page( array( Withdrawal::class, 'admin' ) )[0], 'no nonce' );
		$this->assertTrue( Consent::for_rest( wc_get_order( $order->get_id() ) )['marketing'] );
		$query['_wpnonce'] = wp_create_nonce( Withdrawal::ADMIN_ACTION . '_' . $order->get_id() );
		$_GET              = $query;
		$_REQUEST          = $query;
		list( $status, $body ) = $this->page( array( Withdrawal::class, 'admin' ) );
		$this->assertSame( 302, $status, $body );
		$record = Consent::of_order( wc_get_order( $order->get_id() ) );
		$this->assertFalse( $record['granted'] );
		$this->assertSame( 'admin', $record['source'] );
		$this->assertCount( 1, $this->events( 'customer.consent_changed' ) );
	}

	public function test_a_guest_is_told_about_the_e_mail_link_and_a_customer_about_my_account(): void {
		$this->assertStringContainsString( 'link in my order e-mails', Consent::text() );
		wp_set_current_user( $this->make_user( 'customer' ) );
		$this->assertStringContainsString( 'My Account', Consent::text() );
		$record = Consent::record( true, 'checkout' );
		$this->assertSame( hash( 'sha256', Consent::text() ), $record['text_sha256'] );
		$this->assertSame( determine_locale(), $record['locale'] );
	}

	public function test_a_guests_records_are_exported_and_anonymisation_strips_the_ip(): void {
		$email = 'export-guest-' . strtolower( wp_generate_password( 6, false ) ) . '@example.test';
		$order = $this->guest_order( $email, true, time() );
		$this->guest_order( 'not-' . $email, true, time() );
		$exporters = apply_filters( 'wp_privacy_personal_data_exporters', array() );
		$export    = call_user_func( $exporters['bpm-bridge-consent']['callback'], strtoupper( $email ), 1 );
		$this->assertCount( 1, $export['data'] );
		$values = wp_list_pluck( $export['data'][0]['data'], 'value', 'name' );
		$this->assertSame( 'yes', $values['Given'] );
		$this->assertSame( '203.0.113.9', $values['IP address'] );
		$this->assertStringContainsString( $order->get_order_number(), $values['Recorded for'] );

		do_action( 'woocommerce_privacy_remove_order_personal_data', wc_get_order( $order->get_id() ) );
		$record = Consent::of_order( wc_get_order( $order->get_id() ) );
		$this->assertArrayNotHasKey( 'ip', $record );
		$this->assertTrue( $record['granted'], 'the proof stays' );
	}

	public function test_a_withdrawal_names_the_latest_order_of_the_address_when_the_account_has_none(): void {
		$user  = $this->make_user( 'customer' );
		$email = 'registered-later-' . $user . '@example.test';
		wp_update_user(
			array(
				'ID'         => $user,
				'user_email' => $email,
			)
		);
		$order = $this->guest_order( $email, true, time() );
		$this->assertSame( $order->get_id(), Consent::latest_order( $user ) );
		Consent::set_for_user( $user, true, 'my-account' );
		$events = $this->events( 'customer.consent_changed' );
		$this->assertSame(
			array(
				'customer_id' => $user,
				'order_id'    => $order->get_id(),
			),
			json_decode( end( $events )['payload'], true )['data']
		);
	}

	public function test_the_my_account_form_needs_a_login_and_its_nonce(): void {
		$user  = $this->make_user( 'customer' );
		$form  = array(
			'bpm_bridge_action' => Consent::ACCOUNT_ACTION,
			'marketing'         => '1',
		);
		$_POST = $form;
		$this->assertSame( 403, $this->page( array( Consent::class, 'account_save' ) )[0], 'no nonce' );
		wp_set_current_user( $user );
		$this->assertSame( 403, $this->page( array( Consent::class, 'account_save' ) )[0], 'logged in, no nonce' );
		$nonce = wp_create_nonce( Consent::ACCOUNT_ACTION );
		wp_set_current_user( 0 );
		$_POST = $form + array( 'bpm_bridge_consent_nonce' => $nonce );
		$this->assertSame( 403, $this->page( array( Consent::class, 'account_save' ) )[0], 'logged out' );
		$this->assertNull( Consent::of_user( $user ) );
		wp_set_current_user( $user );
		$_POST = $form + array( 'bpm_bridge_consent_nonce' => $nonce );
		$this->assertSame( 302, $this->page( array( Consent::class, 'account_save' ) )[0] );
		$this->assertTrue( Consent::of_user( $user )['granted'] );
		$this->assertSame( 'my-account', Consent::of_user( $user )['source'] );
	}
}
