<?php
/**
 * Outbox rows: add, atomic claims, backoff, give-up, outcomes, retry.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Contract;
use BPM_Bridge\Dispatcher;
use BPM_Bridge\Outbox;

/**
 * Outbox.
 */
class OutboxTest extends BPM_Test_Case {

	public function test_add_writes_one_pending_row_with_the_envelope_and_schedules_a_drain(): void {
		as_unschedule_all_actions( Dispatcher::HOOK, array(), Dispatcher::GROUP );
		$http = 0;
		add_filter(
			'pre_http_request',
			static function ( $pre ) use ( &$http ) {
				++$http;
				return $pre;
			}
		);
		$id  = Outbox::add( 'order.paid', array( 'order_id' => 7, 'from' => 'pending', 'to' => 'processing' ), 1795867200 );
		$row = Outbox::get( $id );
		$this->assertSame( 0, $http, 'adding an event makes no HTTP request' );
		$this->assertSame( 'pending', $row['status'] );
		$this->assertSame( 7, $row['order_id'] );
		$this->assertSame( 0, $row['attempts'] );
		$this->assertSame( '2026-11-28 12:00:00', $row['next_attempt_at'] );
		$this->assertSame( '2026-12-01 12:00:00', $row['expires_at'], 'retried for 72 hours' );
		$this->assertMatchesRegularExpression( '/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $id );
		$this->assertSame(
			array(
				'id'          => $id,
				'type'        => 'order.paid',
				'occurred_at' => '2026-11-28T12:00:00Z',
				'store'       => home_url(),
				'data'        => array(
					'order_id' => 7,
					'from'     => 'pending',
					'to'       => 'processing',
				),
			),
			json_decode( $row['payload'], true )
		);
		$this->assertStringContainsString( '"data":{}', Outbox::get( Outbox::add( 'ping' ) )['payload'] );
		// The async drain is the kick's fallback; scheduled twice, it is one action.
		Dispatcher::schedule_drain();
		Dispatcher::forget_scheduled_drain();
		Dispatcher::schedule_drain();
		$this->assertCount( 1, as_get_scheduled_actions( array( 'hook' => Dispatcher::HOOK, 'status' => 'pending' ) ), 'drains are de-duplicated' );
	}

	public function test_the_outbox_only_announces_rows_and_knows_nothing_of_delivery(): void {
		global $wp_filter;
		as_unschedule_all_actions( Dispatcher::HOOK, array(), Dispatcher::GROUP );
		// Without the listeners the composition root wires up, recording an event schedules nothing.
		$saved = $wp_filter['bpm_bridge_event_added'] ?? null;
		unset( $wp_filter['bpm_bridge_event_added'] );
		$announced = array();
		add_action(
			'bpm_bridge_event_added',
			static function ( $id, $type, $data ) use ( &$announced ) {
				$announced[] = array( $id, $type, $data );
			},
			10,
			3
		);
		try {
			$id = Outbox::add( 'order.created', array( 'order_id' => 3 ) );
		} finally {
			$wp_filter['bpm_bridge_event_added'] = $saved; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- restoring the hook.
		}
		$this->assertSame( array( array( $id, 'order.created', array( 'order_id' => 3 ) ) ), $announced );
		$this->assertFalse( as_has_scheduled_action( Dispatcher::HOOK, array(), Dispatcher::GROUP ) );
		// With them (the plugin as it runs), the same write queues the kick — and nothing else in the request.
		Outbox::add( 'order.created', array( 'order_id' => 4 ) );
		$this->assertSame( 20, has_action( 'shutdown', array( BPM_Bridge\Plugin::kick(), 'send' ) ) );
		$this->assertFalse( as_has_scheduled_action( Dispatcher::HOOK, array(), Dispatcher::GROUP ), 'the async drain is only the fallback of a kick that does not go out' );
	}

	public function test_statuses_and_the_retry_window_are_the_contracts(): void {
		$this->assertSame( Contract::outbox_statuses(), Outbox::statuses() );
		$this->assertSame(
			Contract::outbox_statuses(),
			array( Outbox::STATUS_PENDING, Outbox::STATUS_SENT, Outbox::STATUS_DONE, Outbox::STATUS_FAILED )
		);
		$this->assertSame( Contract::retry_window_hours() * HOUR_IN_SECONDS, Outbox::give_up_after() );
		$this->assertSame( array_fill_keys( Contract::outbox_statuses(), 0 ), Outbox::counts() );
	}

	public function test_retry_counts_redeliveries_and_the_envelope_carries_the_count(): void {
		$now  = time();
		$ping = Outbox::add( 'ping', array(), $now );
		$this->assertSame( 0, Outbox::get( $ping )['redelivery'] );
		$this->assertArrayNotHasKey( 'redelivery', json_decode( Outbox::get( $ping )['payload'], true ) );
		Outbox::mark_failed( Outbox::claim_one( $ping, $now ), 'HTTP 422', $now );
		$retried = array();
		add_action(
			'bpm_bridge_event_retried',
			static function ( $id, $redelivery ) use ( &$retried ) {
				$retried[] = array( $id, $redelivery );
			},
			10,
			2
		);

		$this->assertTrue( Outbox::retry( $ping, $now + 10 ) );
		$row = Outbox::get( $ping );
		$this->assertSame( array( 'pending', 1, Outbox::dt( $now + 10 ) ), array( $row['status'], $row['redelivery'], $row['next_attempt_at'] ) );
		$this->assertSame( 1, json_decode( $row['payload'], true )['redelivery'] );
		$this->assertStringContainsString( '"data":{}', $row['payload'], 'empty data stays an object' );
		$this->assertSame( array( $ping, 1 ), $retried[0] );

		$this->assertTrue( Outbox::retry( $ping, $now + 20 ) );
		$this->assertSame( 2, json_decode( Outbox::get( $ping )['payload'], true )['redelivery'] );

		// "Retry all failed": every failed row counts one more; one announcement starts the drain.
		$others = array();
		foreach ( array( 1, 2 ) as $n ) {
			$others[ $n ] = Outbox::add( 'order.created', array( 'order_id' => $n ), $now );
			Outbox::mark_failed( Outbox::claim_one( $others[ $n ], $now ), 'HTTP 422', $now );
		}
		Outbox::mark_failed( Outbox::claim_one( $ping, $now + 30 ), 'HTTP 422', $now + 30 );
		$retried = array();
		$this->assertSame( 3, Outbox::retry_all_failed( $now + 40 ) );
		$this->assertCount( 1, $retried );
		$this->assertSame( 3, Outbox::get( $ping )['redelivery'] );
		foreach ( $others as $id ) {
			$row = Outbox::get( $id );
			$this->assertSame( array( 'pending', 1 ), array( $row['status'], $row['redelivery'] ) );
			$this->assertSame( array( 'order_id' => $row['order_id'] ), json_decode( $row['payload'], true )['data'] );
		}
	}

	public function test_wake_waiting_makes_backed_off_rows_due_and_leaves_the_rest(): void {
		$now     = time();
		$backoff = Outbox::add( 'order.created', array( 'order_id' => 1 ), $now - 100 );
		Outbox::mark_retry( Outbox::claim_one( $backoff, $now ), 'HTTP 503', $now + 21600, $now );
		$held = Outbox::add( 'order.created', array( 'order_id' => 2 ), $now - 100 );
		Outbox::mark_retry( Outbox::claim_one( $held, $now ), 'HTTP 503', $now + 21600, $now );
		$claimed = Outbox::claim_one( $held, $now );
		$sent    = Outbox::add( 'order.paid', array( 'order_id' => 3 ), $now - 100 );
		Outbox::mark_sent( Outbox::claim_one( $sent, $now ), array( 'invoice.issue' ), $now );

		$this->assertSame( 1, Outbox::wake_waiting( $now ) );

		$row = Outbox::get( $backoff );
		$this->assertSame( array( Outbox::dt( $now ), 1, 'HTTP 503' ), array( $row['next_attempt_at'], $row['attempts'], $row['last_error'] ) );
		$this->assertSame( Outbox::dt( $now + 21600 ), Outbox::get( $held )['next_attempt_at'], 'a row a drain holds is its business' );
		$this->assertSame( $claimed['claim_token'], Outbox::get( $held )['claim_token'] );
		$this->assertSame( Outbox::dt( $now + Outbox::RESEND_AFTER ), Outbox::get( $sent )['next_attempt_at'], 'sent rows wait for their outcome' );
	}

	public function test_a_missing_table_is_recreated_instead_of_losing_the_event(): void {
		global $wpdb;
		$wpdb->query( 'DROP TABLE ' . BPM_Bridge\Installer::outbox_table() );
		$suppress = $wpdb->suppress_errors( true );
		$id       = Outbox::add( 'ping' );
		$wpdb->suppress_errors( $suppress );
		$this->assertSame( 'pending', Outbox::get( $id )['status'] );
	}

	public function test_claims_are_exclusive_and_leases_expire(): void {
		$now = time();
		$a   = Outbox::add( 'ping', array(), $now - 10 );
		$b   = Outbox::add( 'ping', array(), $now - 5 );
		$c   = Outbox::add( 'ping', array(), $now + 600 );
		$first = Outbox::claim( 10, $now );
		$this->assertSame( array( $a, $b ), array_column( $first, 'id' ), 'due rows only, oldest first' );
		$this->assertSame( array(), Outbox::claim( 10, $now ), 'claimed rows are not claimed twice' );
		$this->assertNull( Outbox::claim_one( $a, $now ) );
		$again = Outbox::claim( 10, $now + Outbox::LEASE + 1 );
		$this->assertSame( array( $a, $b ), array_column( $again, 'id' ), 'an expired lease frees the row' );
		$this->assertSame( $c, Outbox::claim_one( $c, $now )['id'] );
	}

	public function test_parallel_drains_never_claim_the_same_row(): void {
		$ids = array();
		for ( $i = 0; $i < 150; $i++ ) {
			$ids[] = Outbox::add( 'ping', array(), time() - 1 );
		}
		$claimed = array();
		$per     = array();
		foreach ( $this->race( 'claim-worker.php', 6, fn() => array() ) as $out ) {
			$got = json_decode( trim( (string) preg_replace( '/^.*\n/s', '', $out ) ), true );
			$this->assertIsArray( $got, $out );
			$per[]   = count( $got );
			$claimed = array_merge( $claimed, $got );
		}
		$this->assertSame( count( $claimed ), count( array_unique( $claimed ) ), 'a row was claimed by two drains' );
		sort( $claimed );
		sort( $ids );
		$this->assertSame( $ids, $claimed, 'every row was claimed exactly once' );
		$this->assertGreaterThan( 1, count( array_filter( $per ) ), 'the drains really competed' );
	}

	public function test_backoff_is_exponential_with_jitter_and_capped(): void {
		foreach ( array( 1 => 30, 2 => 60, 3 => 120, 6 => 960, 12 => 21600, 40 => 21600 ) as $attempt => $max ) {
			for ( $i = 0; $i < 20; $i++ ) {
				$delay = Dispatcher::backoff( $attempt );
				$this->assertGreaterThanOrEqual( (int) ceil( $max / 2 ), $delay, "attempt $attempt" );
				$this->assertLessThanOrEqual( $max, $delay, "attempt $attempt" );
			}
		}
		$this->assertSame( 120, Dispatcher::retry_after( '120', 1000 ) );
		$this->assertSame( 90, Dispatcher::retry_after( gmdate( 'D, d M Y H:i:s', 1000090 ) . ' GMT', 1000000 ) );
		$this->assertNull( Dispatcher::retry_after( '', 1000 ) );
		$this->assertNull( Dispatcher::retry_after( 'soon', 1000 ) );
	}

	public function test_transient_failures_retry_for_72_hours_then_fail_and_keep_the_row(): void {
		$t0 = 1795867200;
		$id = Outbox::add( 'order.created', array( 'order_id' => 5 ), $t0 );
		$row = Outbox::claim_one( $id, $t0 );
		Outbox::mark_retry( $row, 'HTTP 503: down', $t0 + 60, $t0 );
		$row = Outbox::get( $id );
		$this->assertSame( array( 'pending', 1, 'HTTP 503: down' ), array( $row['status'], $row['attempts'], $row['last_error'] ) );
		$this->assertSame( array(), Outbox::claim( 10, $t0 + 59 ), 'not before the backoff' );

		// 71 hours later it still retries.
		$row = Outbox::claim( 10, $t0 + 71 * 3600 )[0];
		Outbox::mark_retry( $row, 'HTTP 503: down', $t0 + 72 * 3600, $t0 + 71 * 3600 );
		$this->assertSame( 'pending', Outbox::get( $id )['status'] );

		// Past 72 hours the next failure marks it failed; it stays for the admin.
		$row = Outbox::claim( 10, $t0 + 72 * 3600 )[0];
		Outbox::mark_retry( $row, 'HTTP 503: down', $t0 + 73 * 3600, $t0 + 72 * 3600 );
		$row = Outbox::get( $id );
		$this->assertSame( 'failed', $row['status'] );
		$this->assertSame( 3, $row['attempts'] );
		$this->assertStringContainsString( '72 hours', $row['last_error'] );
		$this->assertSame( array( 'failed' => 1 ), array_filter( Outbox::counts() ) );
	}

	public function test_outcomes_drive_the_row_to_done_or_failed(): void {
		$now = time();
		$id  = Outbox::add( 'order.paid', array( 'order_id' => 9 ), $now );
		Outbox::mark_sent( Outbox::claim_one( $id, $now ), array( 'invoice.issue', 'crm.sync_order' ), $now );
		$row = Outbox::get( $id );
		$this->assertSame( 'sent', $row['status'] );
		$this->assertSame( array( 'invoice.issue', 'crm.sync_order' ), $row['actions'] );
		$this->assertSame( Outbox::dt( $now + Outbox::RESEND_AFTER ), $row['next_attempt_at'] );

		$this->assertSame( 'sent', Outbox::record_outcome( $id, 'invoice.issue', 'retrying', 'Fakturownia 503', array(), gmdate( 'Y-m-d\TH:i:s\Z', $now + 3600 ), $now ) );
		$this->assertSame( Outbox::dt( $now + 3600 + Outbox::RESEND_AFTER ), Outbox::get( $id )['next_attempt_at'], 'the re-send waits for the sidecar retry' );
		$this->assertSame( 'sent', Outbox::record_outcome( $id, 'invoice.issue', 'done', 'FV 1/11/2026', array( 'invoice_number' => 'FV 1/11/2026' ), null, $now ) );
		$this->assertSame( 'done', Outbox::record_outcome( $id, 'crm.sync_order', 'skipped', 'no CRM configured', array(), null, $now ) );
		$row = Outbox::get( $id );
		$this->assertSame( 'FV 1/11/2026', $row['outcomes']['invoice.issue']['details']['invoice_number'] );
		$this->assertSame( array(), Outbox::claim( 10, $now + 10 * 3600 ), 'a done row is never re-sent' );

		$id2 = Outbox::add( 'order.paid', array( 'order_id' => 10 ), $now );
		Outbox::mark_sent( Outbox::claim_one( $id2, $now ), array( 'invoice.issue', 'crm.sync_order' ), $now );
		$this->assertSame( 'failed', Outbox::record_outcome( $id2, 'invoice.issue', 'failed', 'NIP rejected', array(), null, $now ) );
		$this->assertSame( 'invoice.issue: NIP rejected', Outbox::get( $id2 )['last_error'] );
		$this->assertNull( Outbox::record_outcome( '00000000-0000-4000-8000-000000000000', 'invoice.issue', 'done' ) );
	}

	public function test_outcomes_reported_before_the_202_was_recorded_are_kept(): void {
		$now = time();
		$id  = Outbox::add( 'order.paid', array( 'order_id' => 11 ), $now );
		$row = Outbox::claim_one( $id, $now );
		// The worker finished before the drain processed the response.
		$this->assertSame( 'pending', Outbox::record_outcome( $id, 'invoice.issue', 'done', 'ok', array(), null, $now ) );
		Outbox::mark_sent( $row, array( 'invoice.issue' ), $now );
		$this->assertSame( 'done', Outbox::get( $id )['status'] );
		// An event whose 202 listed no actions is done at once.
		$ping = Outbox::add( 'ping', array(), $now );
		Outbox::mark_sent( Outbox::claim_one( $ping, $now ), array(), $now );
		$this->assertSame( 'done', Outbox::get( $ping )['status'] );
	}

	public function test_sent_rows_without_outcome_are_sent_again_after_the_timeout(): void {
		$now = time();
		$id  = Outbox::add( 'order.paid', array( 'order_id' => 12 ), $now );
		Outbox::mark_sent( Outbox::claim_one( $id, $now ), array( 'invoice.issue' ), $now );
		$this->assertSame( array(), Outbox::claim( 10, $now + Outbox::RESEND_AFTER - 1 ) );
		$this->assertSame( array( $id ), array_column( Outbox::claim( 10, $now + Outbox::RESEND_AFTER ), 'id' ) );
	}

	public function test_a_sent_row_without_outcome_fails_after_72_hours(): void {
		$t0 = time() - 73 * 3600;
		$id = Outbox::add( 'order.paid', array( 'order_id' => 13 ), $t0 );
		Outbox::mark_sent( Outbox::claim_one( $id, $t0 ), array( 'invoice.issue' ), $t0 );
		// A retrying report moves the give-up time past the sidecar's own retry.
		Outbox::record_outcome( $id, 'invoice.issue', 'retrying', 'busy', array(), gmdate( 'Y-m-d\TH:i:s\Z', $t0 + 72 * 3600 ), $t0 + 60 );
		$this->assertSame( Outbox::dt( $t0 + 72 * 3600 + 2 * Outbox::RESEND_AFTER ), Outbox::get( $id )['expires_at'] );
		$now = $t0 + 72 * 3600 + 2 * Outbox::RESEND_AFTER;
		Outbox::mark_sent( Outbox::claim( 10, $now )[0], array( 'invoice.issue' ), $now );
		$row = Outbox::get( $id );
		$this->assertSame( 'failed', $row['status'] );
		$this->assertStringContainsString( 'no outcome within 72 hours', $row['last_error'] );
	}

	public function test_a_stale_claim_cannot_overwrite_a_newer_one(): void {
		$now   = time();
		$id    = Outbox::add( 'ping', array(), $now );
		$stale = Outbox::claim_one( $id, $now );
		$fresh = Outbox::claim( 10, $now + Outbox::LEASE + 1 )[0];
		Outbox::mark_failed( $stale, 'late answer of a crashed drain', $now + Outbox::LEASE + 2 );
		$this->assertSame( 'pending', Outbox::get( $id )['status'] );
		Outbox::mark_sent( $fresh, array(), $now + Outbox::LEASE + 2 );
		$this->assertSame( 'done', Outbox::get( $id )['status'] );
	}

	public function test_retry_and_retry_all_failed(): void {
		$now = time();
		$ids = array();
		foreach ( array( 1, 2, 3 ) as $n ) {
			$ids[ $n ] = Outbox::add( 'order.paid', array( 'order_id' => $n ), $now - 80 * 3600 );
			Outbox::mark_sent( Outbox::claim_one( $ids[ $n ], $now ), array( 'invoice.issue', 'crm.sync_order' ), $now );
			Outbox::record_outcome( $ids[ $n ], 'crm.sync_order', 'done', 'ok', array(), null, $now );
			Outbox::record_outcome( $ids[ $n ], 'invoice.issue', 'failed', 'bad NIP', array(), null, $now );
		}
		$this->assertSame( 3, Outbox::counts()['failed'] );
		$this->assertTrue( Outbox::retry( $ids[1], $now ) );
		$row = Outbox::get( $ids[1] );
		$this->assertSame( 'pending', $row['status'] );
		$this->assertSame( array( 'crm.sync_order' ), array_keys( $row['outcomes'] ), 'finished outcomes stay, the failed one may report again' );
		$this->assertSame( Outbox::dt( $now + 72 * HOUR_IN_SECONDS ), $row['expires_at'], 'the 72-hour clock restarts' );
		$this->assertSame( 2, Outbox::retry_all_failed( $now ) );
		$this->assertSame( 0, Outbox::counts()['failed'] );
		$done = Outbox::add( 'ping', array(), $now );
		Outbox::mark_sent( Outbox::claim_one( $done, $now ), array(), $now );
		$this->assertFalse( Outbox::retry( $done ), 'done rows are not retried' );
		$this->assertFalse( Outbox::retry( 'nope' ) );
	}

	public function test_purge_removes_old_done_rows_only(): void {
		$now  = time();
		$old  = Outbox::add( 'ping', array(), $now - 40 * DAY_IN_SECONDS );
		$new  = Outbox::add( 'ping', array(), $now );
		$fail = Outbox::add( 'order.created', array( 'order_id' => 1 ), $now - 40 * DAY_IN_SECONDS );
		Outbox::mark_sent( Outbox::claim_one( $old, $now - 40 * DAY_IN_SECONDS ), array(), $now - 40 * DAY_IN_SECONDS );
		Outbox::mark_sent( Outbox::claim_one( $new, $now ), array(), $now );
		Outbox::mark_failed( Outbox::claim_one( $fail, $now - 40 * DAY_IN_SECONDS ), 'HTTP 422', $now - 40 * DAY_IN_SECONDS );
		$this->assertSame( 1, Outbox::purge( $now ) );
		$this->assertNull( Outbox::get( $old ) );
		$this->assertNotNull( Outbox::get( $new ) );
		$this->assertSame( 'failed', Outbox::get( $fail )['status'], 'failed rows wait for the admin' );
		$this->assertNotFalse( wp_next_scheduled( Dispatcher::PURGE_HOOK ) );
	}

	public function test_purge_keeps_up_with_more_than_one_batch_a_day(): void {
		// The purge runs once a day: a shop that finishes more events a day than one DELETE batch removes
		// must still end the run with no expired done rows, or the table grows without bound.
		global $wpdb;
		$table = BPM_Bridge\Installer::outbox_table();
		$old   = Outbox::dt( time() - 40 * DAY_IN_SECONDS );
		$count = Outbox::PURGE_BATCH + 7;
		for ( $start = 0; $start < $count; $start += 1000 ) {
			$values = array();
			for ( $i = $start; $i < min( $count, $start + 1000 ); $i++ ) {
				$values[] = $wpdb->prepare( '(%s, %s, %s, %s, %s, %s)', wp_generate_uuid4(), 'ping', '{}', 'done', $old, $old );
			}
			$wpdb->query( "INSERT INTO {$table} (id, event_type, payload, status, created_at, updated_at) VALUES " . implode( ',', $values ) ); // phpcs:ignore WordPress.DB
		}
		$this->assertSame( $count, Outbox::purge() );
		$this->assertSame( 0, (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$table}" ) ); // phpcs:ignore WordPress.DB
	}

	public function test_list_pages_and_filters(): void {
		for ( $i = 0; $i < 5; $i++ ) {
			Outbox::add( 'order.created', array( 'order_id' => 100 + $i ), time() - 100 + $i );
		}
		$page = Outbox::list( 'pending', 2, 2 );
		$this->assertSame( 5, $page['total'] );
		$this->assertSame( 3, $page['pages'] );
		$this->assertCount( 2, $page['items'] );
		$this->assertSame( 102, $page['items'][0]['order_id'], 'newest first' );
		$this->assertSame( 0, Outbox::list( 'failed' )['total'] );
		$this->assertCount( 1, Outbox::for_order( 103 ) );
	}
}
