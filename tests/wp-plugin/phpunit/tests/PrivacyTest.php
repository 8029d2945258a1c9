<?php
/**
 * The eraser's event and the erasure routes (docs/contract.md §3.10).
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Crm\Consent;
use BPM_Bridge\Crm\Eraser;
use BPM_Bridge\Crm\Erasure_Notes;
use BPM_Bridge\Crm\Suppression;

/**
 * Erasure.
 */
class PrivacyTest extends BPM_Test_Case {

	/**
	 * Requests made by the test.
	 *
	 * @var int[]
	 */
	private $requests = array();

	protected function tearDown(): void {
		foreach ( $this->requests as $id ) {
			wp_delete_post( $id, true );
		}
		delete_option( Suppression::OPTION );
		delete_option( Eraser::KEPT_OPTION );
		parent::tearDown();
	}

	/**
	 * A confirmed erasure request for a fresh address.
	 *
	 * @param string $action Request action.
	 * @return array{0: int, 1: string} Id and address.
	 */
	private function request( string $action = 'remove_personal_data' ): array {
		$email = 'erase-' . strtolower( wp_generate_password( 8, false ) ) . '@example.test';
		$id    = wp_create_user_request( $email, $action, array(), 'confirmed' );
		$this->assertIsInt( $id );
		$this->requests[] = $id;
		return array( $id, $email );
	}

	/**
	 * A request our eraser ran on (the routes answer only for those).
	 *
	 * @return array{0: int, 1: string} Id and address.
	 */
	private function erased_request(): array {
		list( $id, $email ) = $this->request();
		update_post_meta( $id, Eraser::EVENT_META, 'test-event' );
		return array( $id, $email );
	}

	/**
	 * Marks a request completed some seconds ago.
	 *
	 * @param int $id  Request.
	 * @param int $ago Seconds.
	 */
	private function complete( int $id, int $ago ): void {
		wp_update_post(
			array(
				'ID'          => $id,
				'post_status' => 'request-completed',
			)
		);
		update_post_meta( $id, '_wp_user_request_completed_timestamp', time() - $ago );
	}

	/**
	 * One eraser page as WordPress' Tools screen runs it (wp_ajax_wp_privacy_erase_personal_data): the callback,
	 * then the page filter with the request's id and the eraser's key.
	 *
	 * @param int    $request_id Request.
	 * @param string $email      Address as the request holds it.
	 * @param string $key        Eraser key.
	 * @return array The response after the filter.
	 */
	private function erase_page( int $request_id, string $email, string $key = 'bpm-bridge' ): array {
		$erasers  = apply_filters( 'wp_privacy_personal_data_erasers', array() );
		$response = call_user_func( $erasers['bpm-bridge']['callback'], $email, 1 );
		$index    = array_search( $key, array_keys( $erasers ), true ) + 1;
		// WordPress' own callback on this filter (loaded with wp-admin) ends the request for an invalid id.
		$core = has_filter( 'wp_privacy_personal_data_erasure_page', 'wp_privacy_process_personal_data_erasure_page' );
		remove_filter( 'wp_privacy_personal_data_erasure_page', 'wp_privacy_process_personal_data_erasure_page', 10 );
		try {
			return apply_filters( 'wp_privacy_personal_data_erasure_page', $response, $index, $email, 1, $request_id, $key );
		} finally {
			if ( false !== $core ) {
				add_filter( 'wp_privacy_personal_data_erasure_page', 'wp_privacy_process_personal_data_erasure_page', 10, 5 );
			}
		}
	}

	public function test_the_eraser_queues_one_event_per_request_with_its_id_and_keeps_invoices(): void {
		list( $id, $email ) = $this->request();
		$user               = $this->make_user( 'customer' );
		wp_update_user(
			array(
				'ID'         => $user,
				'user_email' => $email,
			)
		);
		$result = $this->erase_page( $id, strtoupper( $email ) );
		$this->erase_page( $id, $email );
		$this->assertTrue( $result['done'] );
		$this->assertTrue( $result['items_retained'] );
		$this->assertFalse( $result['items_removed'] );
		$this->assertStringContainsString( '5 years', implode( ' ', $result['messages'] ) );
		$erasers = apply_filters( 'wp_privacy_personal_data_erasers', array() );
		$this->assertSame( call_user_func( $erasers['bpm-bridge']['callback'], $email, 1 ), $result, 'the callback\'s messages pass the filter' );
		$events = $this->events( 'customer.erasure_requested' );
		$this->assertCount( 1, $events, 'one event per request' );
		$this->assertSame(
			array(
				'email_hash'  => hash( 'sha256', $email ),
				'customer_id' => $user,
				'request_id'  => $id,
			),
			json_decode( $events[0]['payload'], true )['data']
		);
		$this->assertStringNotContainsString( 'erase-', $events[0]['payload'] );
	}

	public function test_the_event_names_the_request_wordpress_ran_even_completed_or_one_of_two(): void {
		list( $first, $email ) = $this->request();
		$this->erase_page( $first, $email, 'another-plugin' );
		$this->assertCount( 0, $this->events( 'customer.erasure_requested' ), 'another eraser\'s page queues nothing' );
		$this->erase_page( $first, $email );
		$this->complete( $first, HOUR_IN_SECONDS );
		// "Force erase personal data" on the completed request: the same request, no second CRM erasure.
		$this->erase_page( $first, $email );
		$this->assertCount( 1, $this->events( 'customer.erasure_requested' ) );
		// A second request for the same address (made after the first was completed) gets its own event.
		$second = wp_create_user_request( $email, 'remove_personal_data', array(), 'confirmed' );
		$this->assertIsInt( $second );
		$this->requests[] = $second;
		$this->erase_page( $second, $email );
		$ids = array_map(
			static function ( $row ) {
				return json_decode( $row['payload'], true )['data']['request_id'];
			},
			$this->events( 'customer.erasure_requested' )
		);
		$this->assertEqualsCanonicalizing( array( $first, $second ), $ids );
		// A request id that is not an erasure request queues nothing.
		list( $export ) = $this->request( 'export_personal_data' );
		$this->erase_page( $export, $email );
		$this->assertCount( 2, $this->events( 'customer.erasure_requested' ) );
	}

	public function test_get_erasure_answers_only_open_or_recently_completed_requests(): void {
		list( $id, $email ) = $this->erased_request();
		$this->as_api_user();
		$response = $this->signed( 'GET', '/erasures/' . $id );
		$this->assertSame( 200, $response->get_status(), wp_json_encode( $response->get_data() ) );
		$this->assertSame(
			array(
				'request_id' => $id,
				'email'      => $email,
				'status'     => 'confirmed',
				'outcomes'   => array(),
			),
			json_decode( wp_json_encode( $response->get_data() ), true )
		);
		$this->assertStringContainsString( '"outcomes":{}', wp_json_encode( $response->get_data() ), 'an object, also when empty' );
		$this->complete( $id, DAY_IN_SECONDS );
		$this->assertSame( 'completed', $this->signed( 'GET', '/erasures/' . $id )->get_data()['status'] );
		$this->complete( $id, 31 * DAY_IN_SECONDS );
		$this->assertRestError( 404, 'bpm_bridge_erasure_not_found', $this->signed( 'GET', '/erasures/' . $id ) );
		$this->assertRestError( 404, 'bpm_bridge_erasure_not_found', $this->signed( 'GET', '/erasures/999999999' ) );
		list( $export ) = $this->request( 'export_personal_data' );
		$this->assertRestError( 404, 'bpm_bridge_erasure_not_found', $this->signed( 'GET', '/erasures/' . $export ) );
	}

	public function test_the_routes_are_guarded(): void {
		list( $id ) = $this->erased_request();
		$this->assertRestError( 401, 'rest_forbidden', $this->signed( 'GET', '/erasures/' . $id ) );
		$this->as_api_user();
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $this->signed( 'GET', '/erasures/' . $id, null, array() ) );
		$body = array(
			'destination' => 'hubspot',
			'status'      => 'done',
		);
		$this->assertRestError( 401, 'bpm_bridge_bad_signature', $this->signed( 'POST', '/erasures/' . $id . '/outcome', $body, array() ) );
		$this->assertSame( array(), Eraser::outcomes( $id ) );
	}

	public function test_outcomes_are_recorded_per_destination_and_shown_on_the_tools_screen(): void {
		list( $id ) = $this->erased_request();
		$this->as_api_user();
		$first = $this->signed(
			'POST',
			'/erasures/' . $id . '/outcome',
			array(
				'destination' => 'hubspot',
				'status'      => 'failed',
				'message'     => 'HubSpot is down',
			)
		);
		$this->assertSame( 200, $first->get_status(), wp_json_encode( $first->get_data() ) );
		$this->signed(
			'POST',
			'/erasures/' . $id . '/outcome',
			array(
				'destination' => 'hubspot',
				'status'      => 'done',
				'message'     => 'Contact <b>deleted</b>',
			)
		);
		$last     = $this->signed(
			'POST',
			'/erasures/' . $id . '/outcome',
			array(
				'destination' => 'pipedrive',
				'status'      => 'skipped',
			)
		);
		$outcomes = json_decode( wp_json_encode( $last->get_data() ), true )['outcomes'];
		$this->assertSame( array( 'hubspot', 'pipedrive' ), array_keys( $outcomes ) );
		$this->assertSame( 'done', $outcomes['hubspot']['status'] );
		$this->assertSame( 'Contact deleted', $outcomes['hubspot']['message'] );
		$this->assertSame( $outcomes, Eraser::outcomes( $id ) );
		$this->assertSame( $outcomes, json_decode( wp_json_encode( $this->signed( 'GET', '/erasures/' . $id )->get_data() ), true )['outcomes'] );

		$this->assertRestError(
			400,
			'rest_invalid_param',
			$this->signed(
				'POST',
				'/erasures/' . $id . '/outcome',
				array(
					'destination' => 'hubspot',
					'status'      => 'erased',
				)
			)
		);
		$this->complete( $id, 31 * DAY_IN_SECONDS );
		$this->assertRestError(
			404,
			'bpm_bridge_erasure_not_found',
			$this->signed(
				'POST',
				'/erasures/' . $id . '/outcome',
				array(
					'destination' => 'hubspot',
					'status'      => 'done',
				)
			)
		);

		$columns = Erasure_Notes::columns(
			array(
				'email'      => 'Requester',
				'next_steps' => 'Next steps',
			)
		);
		$this->assertSame( array( 'email', Erasure_Notes::COLUMN, 'next_steps' ), array_keys( $columns ) );
		ob_start();
		Erasure_Notes::cell( Erasure_Notes::COLUMN, wp_get_user_request( $id ) );
		$html = ob_get_clean();
		$this->assertStringContainsString( 'data-destination="hubspot" data-status="done"', $html );
		$this->assertStringContainsString( 'Contact deleted', $html );
		$this->assertStringContainsString( 'nothing to erase', $html );
		$this->assertStringContainsString( 'HubSpot:', $html, 'the CRM\'s name, not its id' );
	}

	public function test_the_erasers_message_says_whether_a_crm_is_connected(): void {
		$erasers = apply_filters( 'wp_privacy_personal_data_erasers', array() );
		\BPM_Bridge\Options::set( 'crm', array( 'provider' => 'none' ) );
		$none = implode( ' ', call_user_func( $erasers['bpm-bridge']['callback'], 'nobody@example.test', 1 )['messages'] );
		$this->assertStringContainsString( 'No CRM is connected', $none );
		\BPM_Bridge\Options::set( 'crm', array( 'hubspot' => array( 'access_token' => 'pat-na1-token' ) ) );
		$some = implode( ' ', call_user_func( $erasers['bpm-bridge']['callback'], 'nobody@example.test', 1 )['messages'] );
		$this->assertStringContainsString( 'asked the connected CRM', $some );
	}

	public function test_an_erased_buyer_is_suppressed_for_the_crm_on_every_order_and_a_new_consent_lifts_it(): void {
		list( $request, $email ) = $this->request();
		$user                    = $this->make_user( 'customer' );
		wp_update_user(
			array(
				'ID'         => $user,
				'user_email' => $email,
			)
		);
		$record = wp_json_encode( Consent::record( true, 'checkout', '203.0.113.7' ) );
		update_user_meta( $user, Consent::META, wp_slash( $record ) );
		$orders = array();
		foreach ( array( $email, strtoupper( $email ), 'other-' . $email ) as $address ) {
			$order = $this->make_order( 'completed' );
			$order->set_billing_email( $address );
			$order->update_meta_data( Consent::META, $record );
			$order->save();
			$orders[] = $order->get_id();
		}
		$this->as_api_user();
		$this->assertFalse( $this->signed( 'GET', '/orders/' . $orders[0] )->get_data()['consent']['crm_suppressed'] );

		$this->erase_page( $request, $email );

		$this->assertArrayHasKey( hash( 'sha256', $email ), get_option( Suppression::OPTION ) );
		$this->assertContains( Suppression::OPTION, $GLOBALS['wpdb']->get_col( "SELECT option_name FROM {$GLOBALS['wpdb']->options} WHERE autoload IN ('no', 'off')" ), 'not autoloaded' );
		foreach ( array( $orders[0], $orders[1] ) as $id ) {
			$order = wc_get_order( $id );
			$this->assertNotSame( '', $order->get_meta( Suppression::ORDER_META ) );
			$stored = Consent::of_order( $order );
			$this->assertFalse( $stored['granted'] );
			$this->assertArrayNotHasKey( 'ip', $stored );
			$consent = $this->signed( 'GET', '/orders/' . $id )->get_data()['consent'];
			$this->assertTrue( $consent['crm_suppressed'] );
			$this->assertFalse( $consent['marketing'] );
		}
		$this->assertArrayNotHasKey( 'ip', Consent::of_user( $user ) );
		$this->assertFalse( Consent::of_user( $user )['granted'] );
		$this->assertFalse( $this->signed( 'GET', '/orders/' . $orders[2] )->get_data()['consent']['crm_suppressed'], 'another address' );

		// Anonymised by WooCommerce afterwards: the order's own mark still holds.
		$anonymised = wc_get_order( $orders[0] );
		$anonymised->set_billing_email( 'deleted@site.invalid' );
		$anonymised->save();
		$this->assertTrue( Suppression::of_order( wc_get_order( $orders[0] ) ) );
		// A new order of the address is held back too, until the buyer consents again.
		$later = $this->make_order();
		$later->set_billing_email( $email );
		$later->save();
		$this->assertTrue( Suppression::of_order( $later ) );
		Consent::store_checkout( $later, true, 'checkout' );
		$later->save();
		$this->assertFalse( Suppression::of_order( wc_get_order( $later->get_id() ) ) );
		$this->assertTrue( Suppression::of_order( wc_get_order( $orders[1] ) ), 'orders marked at the erasure stay out' );
	}

	public function test_a_request_deleted_before_the_crm_erasure_finished_stays_readable_for_30_days(): void {
		list( $open, $email ) = $this->request();
		$this->erase_page( $open, $email );
		list( $done, $done_email ) = $this->request();
		$this->erase_page( $done, $done_email );
		Eraser::record_outcome( $done, 'hubspot', 'done', 'Contact deleted' );
		list( $never ) = $this->request();
		wp_delete_post( $open, true );
		wp_delete_post( $done, true );
		wp_delete_post( $never, true );

		$this->as_api_user();
		$response = $this->signed( 'GET', '/erasures/' . $open );
		$this->assertSame( 200, $response->get_status(), wp_json_encode( $response->get_data() ) );
		$this->assertSame(
			array(
				'request_id' => $open,
				'email'      => $email,
				'status'     => 'deleted',
				'outcomes'   => array(),
			),
			json_decode( wp_json_encode( $response->get_data() ), true )
		);
		$recorded = $this->signed(
			'POST',
			'/erasures/' . $open . '/outcome',
			array(
				'destination' => 'hubspot',
				'status'      => 'done',
				'message'     => 'Contact deleted',
			)
		);
		$this->assertSame( 200, $recorded->get_status(), wp_json_encode( $recorded->get_data() ) );
		$this->assertSame( 'done', $this->signed( 'GET', '/erasures/' . $open )->get_data()['outcomes']->hubspot['status'] );
		$this->assertRestError( 404, 'bpm_bridge_erasure_not_found', $this->signed( 'GET', '/erasures/' . $done ) );
		$this->assertRestError( 404, 'bpm_bridge_erasure_not_found', $this->signed( 'GET', '/erasures/' . $never ) );
		$this->assertArrayNotHasKey( Eraser::KEPT_OPTION, wp_load_alloptions(), 'not autoloaded' );

		$kept                     = get_option( Eraser::KEPT_OPTION );
		$kept[ $open ]['deleted'] = time() - 31 * DAY_IN_SECONDS;
		update_option( Eraser::KEPT_OPTION, $kept, false );
		$this->assertRestError( 404, 'bpm_bridge_erasure_not_found', $this->signed( 'GET', '/erasures/' . $open ) );
	}

	public function test_the_routes_answer_only_for_our_requests_the_api_role_and_valid_reports(): void {
		list( $foreign ) = $this->request();
		list( $id )      = $this->erased_request();
		wp_set_current_user( $this->make_user( 'shop_manager' ) );
		$this->assertRestError( 403, 'rest_forbidden', $this->signed( 'GET', '/erasures/' . $id ) );
		$this->as_api_user();
		$this->assertRestError( 404, 'bpm_bridge_erasure_not_found', $this->signed( 'GET', '/erasures/' . $foreign ) );
		$this->assertSame( 200, $this->signed( 'GET', '/erasures/' . $id )->get_status() );
		foreach (
			array(
				array( 'hubspot', str_repeat( 'x', 1001 ) ),
				array( 'Hub Spot', '' ),
				array( str_repeat( 'a', 41 ), '' ),
				array( "hubspot\n", '' ),
			) as $bad
		) {
			$this->assertRestError(
				400,
				'rest_invalid_param',
				$this->signed(
					'POST',
					'/erasures/' . $id . '/outcome',
					array(
						'destination' => $bad[0],
						'status'      => 'done',
						'message'     => $bad[1],
					)
				)
			);
		}
		$this->assertSame( array(), Eraser::outcomes( $id ) );
	}

	public function test_reports_for_several_crms_at_the_same_moment_are_all_kept(): void {
		list( $id ) = $this->erased_request();
		$user_id    = $this->make_user( 'bpm_api' );
		$secret     = $this->secret;
		$names      = array( 'hubspot', 'pipedrive', 'webhook', 'crm4', 'crm5', 'crm6' );
		$statuses   = array();
		foreach ( $this->race( 'erasure-outcome-worker.php', count( $names ), fn( $i ) => array( $id, $user_id, $secret, $names[ $i ] ) ) as $out ) {
			$statuses[] = (int) substr( trim( $out ), -3 );
		}
		$this->assertSame( array_fill( 0, count( $names ), 200 ), $statuses );
		wp_cache_flush();
		$outcomes = Eraser::outcomes( $id );
		sort( $names );
		$this->assertSame( $names, array_keys( $outcomes ), 'no report overwrote another' );
	}
}
