<?php
/**
 * Delivery over real HTTP to a contract-faithful sidecar stand-in (support/sidecar-receiver.php on php -S).
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Contract;
use BPM_Bridge\Dispatcher;
use BPM_Bridge\Drain_Lock;
use BPM_Bridge\Options;
use BPM_Bridge\Outbox;
use BPM_Bridge\Signer;

/**
 * Dispatcher.
 */
class DispatcherTest extends BPM_Test_Case {

	/**
	 * The receiver process.
	 *
	 * @var resource|null
	 */
	private static $server;

	/**
	 * Receiver base URL.
	 *
	 * @var string
	 */
	private static $url;

	/**
	 * Scratch directory with the state and log files.
	 *
	 * @var string
	 */
	private static $dir;

	/**
	 * Starts the receiver.
	 */
	public static function setUpBeforeClass(): void {
		self::$dir = sys_get_temp_dir() . '/bpm-receiver-' . getmypid();
		wp_mkdir_p( self::$dir );
		file_put_contents( self::$dir . '/state.json', '{"secrets":[]}' );
		$probe = stream_socket_server( 'tcp://127.0.0.1:0' );
		$port  = (int) substr( strrchr( stream_socket_get_name( $probe, false ), ':' ), 1 );
		fclose( $probe );
		self::$url    = 'http://127.0.0.1:' . $port;
		$env          = array(
			'BPM_RECEIVER_STATE' => self::$dir . '/state.json',
			'BPM_RECEIVER_LOG'   => self::$dir . '/log.jsonl',
			'BPM_PLUGIN_DIR'     => BPM_BRIDGE_DIR,
		);
		self::$server = proc_open(
			array( PHP_BINARY, '-S', '127.0.0.1:' . $port, dirname( __DIR__ ) . '/support/sidecar-receiver.php' ),
			array( 1 => array( 'file', self::$dir . '/server.log', 'a' ), 2 => array( 'file', self::$dir . '/server.log', 'a' ) ),
			$pipes,
			null,
			$env
		);
		for ( $i = 0; $i < 100; $i++ ) {
			$socket = @fsockopen( '127.0.0.1', $port, $errno, $errstr, 0.1 ); // phpcs:ignore Generic.PHP.NoSilencedErrors -- polling a port.
			if ( $socket ) {
				fclose( $socket );
				return;
			}
			usleep( 50000 );
		}
		self::fail( 'the sidecar receiver did not start' );
	}

	/**
	 * Stops the receiver (its whole process group: php -S forks workers).
	 */
	public static function tearDownAfterClass(): void {
		if ( self::$server ) {
			$status = proc_get_status( self::$server );
			posix_kill( $status['pid'], SIGTERM );
			proc_close( self::$server );
		}
		array_map( 'unlink', glob( self::$dir . '/*' ) );
		rmdir( self::$dir );
	}

	/**
	 * Default: the receiver accepts our secret; the plugin points at it.
	 */
	protected function setUp(): void {
		parent::setUp();
		$this->receiver( array( 'secrets' => array( $this->secret ) ) );
		@unlink( self::$dir . '/log.jsonl' ); // phpcs:ignore Generic.PHP.NoSilencedErrors -- may not exist.
		@unlink( self::$dir . '/state.json.seen' ); // phpcs:ignore Generic.PHP.NoSilencedErrors -- may not exist.
		Options::set_sidecar_url( self::$url );
	}

	/**
	 * Sets the receiver's behaviour.
	 *
	 * @param array $state State.
	 */
	private function receiver( array $state ): void {
		file_put_contents( self::$dir . '/state.json', wp_json_encode( $state ) );
	}

	/**
	 * Requests the receiver got.
	 *
	 * @return array<int,array>
	 */
	private function received(): array {
		$file = self::$dir . '/log.jsonl';
		if ( ! is_file( $file ) ) {
			return array();
		}
		return array_map(
			static function ( $line ) {
				return json_decode( $line, true );
			},
			array_filter( explode( "\n", (string) file_get_contents( $file ) ) )
		);
	}

	/**
	 * Adds an event and delivers it at once.
	 *
	 * @param string $type Type.
	 * @param array  $data Data.
	 * @return array{0:array,1:array} Delivery result and the row afterwards.
	 */
	private function deliver( string $type, array $data ): array {
		$id     = Outbox::add( $type, $data );
		$result = Dispatcher::deliver( Outbox::claim_one( $id ) );
		return array( $result, Outbox::get( $id ) );
	}

	public function test_delivers_a_signed_envelope_and_records_the_actions(): void {
		list( $result, $row ) = $this->deliver( 'order.paid', array( 'order_id' => 42, 'from' => 'pending', 'to' => 'processing' ) );
		$this->assertTrue( $result['ok'], $result['message'] );
		$this->assertSame( 202, $result['status'] );
		$this->assertSame( 'sent', $row['status'] );
		$this->assertSame( array( 'invoice.issue' ), $row['actions'] );
		$this->assertSame( 1, $row['attempts'] );
		$this->assertNull( $row['last_error'] );
		$got = $this->received();
		$this->assertCount( 1, $got );
		$this->assertSame( $row['id'], $got[0]['headers']['webhook-id'], 'the event id is the message id' );
		$this->assertSame( $row['payload'], $got[0]['body'], 'the stored envelope is sent byte for byte' );
		$this->assertStringStartsWith( 'application/json', $got[0]['headers']['content-type'] );
		$this->assertEqualsWithDelta( time(), (int) $got[0]['headers']['webhook-timestamp'], 5 );
	}

	public function test_a_redelivery_is_byte_identical_and_seen_as_duplicate(): void {
		list( , $row ) = $this->deliver( 'order.paid', array( 'order_id' => 43 ) );
		$again         = Outbox::claim( 10, time() + Outbox::RESEND_AFTER + 1 );
		$this->assertSame( array( $row['id'] ), array_column( $again, 'id' ) );
		$result = Dispatcher::deliver( $again[0] );
		$this->assertSame( 200, $result['status'] );
		$got = $this->received();
		$this->assertTrue( $got[1]['answer']['duplicate'] );
		$this->assertSame( $got[0]['body'], $got[1]['body'] );
		$this->assertSame( $got[0]['headers']['webhook-id'], $got[1]['headers']['webhook-id'] );
		$row = Outbox::get( $row['id'] );
		$this->assertSame( array( 'sent', 2, array( 'invoice.issue' ) ), array( $row['status'], $row['attempts'], $row['actions'] ) );
	}

	public function test_ping_is_done_at_once_and_reported(): void {
		$result = Dispatcher::send_ping();
		$this->assertTrue( $result['ok'] );
		$this->assertSame( 202, $result['status'] );
		$this->assertSame( 'done', Outbox::get( $result['event_id'] )['status'] );
		$this->assertSame( 'ping', json_decode( $this->received()[0]['body'], true )['type'] );
	}

	public function test_rotation_signs_with_both_secrets(): void {
		$old = $this->secret;
		$new = Options::rotate_secret();
		// The sidecar still knows only the old secret.
		$this->receiver( array( 'secrets' => array( $old ) ) );
		list( $result ) = $this->deliver( 'order.created', array( 'order_id' => 44 ) );
		$this->assertTrue( $result['ok'], $result['message'] );
		$headers = $this->received()[0]['headers'];
		$this->assertCount( 2, explode( ' ', $headers['webhook-signature'] ) );
		$this->assertSame( $headers['webhook-id'], Signer::verify( array( $new ), $headers, $this->received()[0]['body'] ) );
	}

	public function test_server_errors_back_off_and_keep_the_row_pending(): void {
		$this->receiver( array( 'secrets' => array( $this->secret ), 'fail' => 503 ) );
		list( $result, $row ) = $this->deliver( 'order.created', array( 'order_id' => 45 ) );
		$this->assertFalse( $result['ok'] );
		$this->assertSame( 503, $result['status'] );
		$this->assertSame( array( 'pending', 1 ), array( $row['status'], $row['attempts'] ) );
		$this->assertStringStartsWith( 'HTTP 503', $row['last_error'] );
		$wait = Outbox::ts( $row['next_attempt_at'] ) - time();
		$this->assertGreaterThanOrEqual( 13, $wait );
		$this->assertLessThanOrEqual( 31, $wait );
	}

	public function test_retry_after_is_honoured(): void {
		$this->receiver( array( 'secrets' => array( $this->secret ), 'fail' => 429, 'retry_after' => '900' ) );
		list( , $row ) = $this->deliver( 'order.created', array( 'order_id' => 46 ) );
		$this->assertSame( 'pending', $row['status'] );
		$this->assertGreaterThanOrEqual( time() + 895, Outbox::ts( $row['next_attempt_at'] ) );
	}

	public function test_a_rejected_envelope_fails_permanently_with_the_problem_detail(): void {
		list( $result, $row ) = $this->deliver( 'order.status_changed', array( 'order_id' => 47 ) );
		$this->assertSame( 422, $result['status'] );
		$this->assertSame( 'failed', $row['status'] );
		$this->assertSame( 'HTTP 422: Invalid event envelope: data.from: Missing data for required field.', $row['last_error'] );
	}

	public function test_a_wrong_secret_is_a_permanent_failure(): void {
		$this->receiver( array( 'secrets' => array( Signer::new_secret() ) ) );
		list( $result, $row ) = $this->deliver( 'order.created', array( 'order_id' => 48 ) );
		$this->assertSame( 401, $result['status'] );
		$this->assertSame( 'failed', $row['status'] );
		$this->assertStringContainsString( 'no signature matches', $row['last_error'] );
	}

	public function test_a_timeout_is_transient_and_bounded(): void {
		add_filter(
			'bpm_bridge_http_timeout',
			static function () {
				return 1;
			}
		);
		$this->receiver( array( 'secrets' => array( $this->secret ), 'sleep' => 3 ) );
		$start                = microtime( true );
		list( $result, $row ) = $this->deliver( 'order.created', array( 'order_id' => 49 ) );
		$this->assertLessThan( 2.5, microtime( true ) - $start );
		$this->assertSame( 0, $result['status'] );
		$this->assertSame( array( 'pending', 1 ), array( $row['status'], $row['attempts'] ) );
		$this->assertStringContainsString( 'Could not reach the sidecar', $row['last_error'] );
		sleep( 2 ); // Let the receiver finish before the next test rewrites its state.
	}

	public function test_an_unreachable_sidecar_is_transient(): void {
		$probe = stream_socket_server( 'tcp://127.0.0.1:0' );
		$port  = (int) substr( strrchr( stream_socket_get_name( $probe, false ), ':' ), 1 );
		fclose( $probe );
		Options::set_sidecar_url( 'http://127.0.0.1:' . $port );
		list( $result, $row ) = $this->deliver( 'order.created', array( 'order_id' => 50 ) );
		$this->assertFalse( $result['ok'] );
		$this->assertSame( 'pending', $row['status'] );
		$this->assertStringContainsString( 'Could not reach the sidecar', $row['last_error'] );
	}

	public function test_without_configuration_nothing_is_sent_and_no_attempt_counted(): void {
		Options::set_sidecar_url( '' );
		list( $result, $row ) = $this->deliver( 'order.created', array( 'order_id' => 51 ) );
		$this->assertFalse( $result['ok'] );
		$this->assertSame( array( 'pending', 0 ), array( $row['status'], $row['attempts'] ) );
		$this->assertSame( 'The sidecar URL is not configured.', $row['last_error'] );
		$this->assertSame( array(), $this->received() );
	}

	public function test_an_oversized_event_fails_without_being_sent(): void {
		list( $result, $row ) = $this->deliver( 'order.created', array( 'order_id' => 52, 'pad' => str_repeat( 'x', 70000 ) ) );
		$this->assertSame( 'failed', $row['status'] );
		$this->assertStringContainsString( size_format( Dispatcher::max_body() ), $row['last_error'] );
		$this->assertSame( 65536, Dispatcher::max_body(), 'the limit is the contract\'s max_event_body_bytes' );
		$this->assertSame( array(), $this->received() );
	}

	public function test_drain_delivers_every_due_row(): void {
		$ids = array();
		for ( $i = 1; $i <= 25; $i++ ) {
			$ids[] = Outbox::add( 'order.created', array( 'order_id' => $i ) );
		}
		// Delivered and waiting for its outcome: not due again before RESEND_AFTER.
		list( , $waiting ) = $this->deliver( 'order.paid', array( 'order_id' => 99 ) );
		$stats             = Dispatcher::drain();
		$this->assertSame( 25, $stats['sent'] );
		foreach ( $ids as $id ) {
			$this->assertSame( 'done', Outbox::get( $id )['status'], 'order.created queues no action here, so it is done' );
		}
		$this->assertSame( array( 'sent', 1 ), array( Outbox::get( $waiting['id'] )['status'], Outbox::get( $waiting['id'] )['attempts'] ) );
		$this->assertCount( 26, $this->received() );
	}

	public function test_a_drain_stops_at_the_first_sign_of_an_outage(): void {
		$probe = stream_socket_server( 'tcp://127.0.0.1:0' );
		$port  = (int) substr( strrchr( stream_socket_get_name( $probe, false ), ':' ), 1 );
		fclose( $probe );
		Options::set_sidecar_url( 'http://127.0.0.1:' . $port );
		$ids = array();
		for ( $i = 1; $i <= 5; $i++ ) {
			$ids[] = Outbox::add( 'order.created', array( 'order_id' => $i ), time() - 10 + $i );
		}
		$stats = Dispatcher::drain();
		$this->assertSame( array( 'sent' => 0, 'retry' => 1, 'failed' => 0 ), $stats );
		$this->assertSame( 1, Outbox::get( $ids[0] )['attempts'] );
		foreach ( array_slice( $ids, 1 ) as $id ) {
			$row = Outbox::get( $id );
			$this->assertSame( array( 'pending', 0, null ), array( $row['status'], $row['attempts'], $row['claim_token'] ) );
			$this->assertGreaterThanOrEqual( time() + 25, Outbox::ts( $row['next_attempt_at'] ) );
		}
	}

	public function test_a_rate_limit_pauses_the_whole_backlog(): void {
		$this->receiver( array( 'secrets' => array( $this->secret ), 'fail' => 429, 'retry_after' => '600' ) );
		$ids = array();
		for ( $i = 1; $i <= 3; $i++ ) {
			$ids[] = Outbox::add( 'order.created', array( 'order_id' => $i ), time() - 10 + $i );
		}
		$this->assertSame( array( 'sent' => 0, 'retry' => 1, 'failed' => 0 ), Dispatcher::drain() );
		$this->assertCount( 1, $this->received(), 'one request, then the drain stops' );
		foreach ( $ids as $id ) {
			$this->assertGreaterThanOrEqual( time() + 595, Outbox::ts( Outbox::get( $id )['next_attempt_at'] ) );
		}
	}

	public function test_every_status_the_contract_calls_transient_is_retried(): void {
		foreach ( array( 408, 425, 429, 503 ) as $i => $code ) {
			$this->assertTrue( Contract::is_transient_status( $code ) );
			$this->receiver( array( 'secrets' => array( $this->secret ), 'fail' => $code ) );
			list( $result, $row ) = $this->deliver( 'order.created', array( 'order_id' => 60 + $i ) );
			$this->assertSame( $code, $result['status'] );
			$this->assertSame( array( 'pending', 1 ), array( $row['status'], $row['attempts'] ), "HTTP $code is transient" );
		}
		$this->receiver( array( 'secrets' => array( $this->secret ), 'fail' => 410 ) );
		list( , $row ) = $this->deliver( 'order.created', array( 'order_id' => 70 ) );
		$this->assertSame( 'failed', $row['status'], 'HTTP 410 is permanent' );
	}

	public function test_after_an_outage_one_success_makes_every_waiting_row_due(): void {
		$now = time();
		// Tried nine times during the outage: its next try would be hours away.
		$tried = Outbox::add( 'order.paid', array( 'order_id' => 80 ), $now - 7200 );
		for ( $i = 0; $i < 9; $i++ ) {
			Outbox::mark_retry( Outbox::claim_one( $tried ), 'HTTP 503: down', $now + Dispatcher::backoff( $i + 1 ) + 8400 );
		}
		// Given back untried by a drain that met the outage.
		$untried = Outbox::add( 'order.created', array( 'order_id' => 81 ), $now - 60 );
		Outbox::release( Outbox::claim_one( $untried ), null, $now + 600 );
		$this->assertSame( array(), Outbox::claim( 10 ), 'nothing is due before the catch-up' );
		// The sidecar is back; a new event is delivered first.
		$fresh = Outbox::add( 'order.created', array( 'order_id' => 82 ), $now );

		$stats = Dispatcher::drain();

		$this->assertSame( 3, $stats['sent'], wp_json_encode( $stats ) );
		$this->assertSame( array( 'sent', 10 ), array( Outbox::get( $tried )['status'], Outbox::get( $tried )['attempts'] ), 'attempts stay as the record' );
		$this->assertSame( array( 'done', 1 ), array( Outbox::get( $untried )['status'], Outbox::get( $untried )['attempts'] ) );
		$this->assertSame( 'done', Outbox::get( $fresh )['status'] );
	}

	public function test_retry_redelivers_the_event_with_its_redelivery_counter(): void {
		list( , $row ) = $this->deliver( 'order.paid', array( 'order_id' => 90 ) );
		Outbox::record_outcome( $row['id'], 'invoice.issue', 'failed', 'NIP rejected' );
		$this->assertSame( 'failed', Outbox::get( $row['id'] )['status'] );

		$this->assertTrue( Outbox::retry( $row['id'] ) );
		$this->assertSame( 1, Dispatcher::drain()['sent'] );
		$this->assertTrue( Outbox::retry( $row['id'] ) );
		$this->assertSame( 1, Dispatcher::drain()['sent'] );

		$got = $this->received();
		$this->assertCount( 3, $got );
		$bodies = array_map(
			static function ( $request ) {
				return json_decode( $request['body'], true );
			},
			$got
		);
		$this->assertArrayNotHasKey( 'redelivery', $bodies[0], 'automatic deliveries carry no counter' );
		$this->assertSame( array( 1, 2 ), array( $bodies[1]['redelivery'], $bodies[2]['redelivery'] ) );
		foreach ( $got as $i => $request ) {
			$this->assertSame( $row['id'], $request['headers']['webhook-id'], 'the same event, the same message id' );
			$this->assertSame( array( 'order_id' => 90 ), $bodies[ $i ]['data'] );
		}
		$this->assertSame( 2, Outbox::get( $row['id'] )['redelivery'] );
	}

	public function test_only_one_drain_runs_at_a_time(): void {
		global $wpdb;
		$id = Outbox::add( 'order.created', array( 'order_id' => 95 ) );
		// Another drain (another request, another database connection) holds the lock.
		$other = new wpdb( DB_USER, DB_PASSWORD, DB_NAME, DB_HOST );
		$this->assertSame( '1', $other->get_var( $other->prepare( 'SELECT GET_LOCK( %s, 0 )', Drain_Lock::name() ) ) );
		$this->assertSame( array( 'sent' => 0, 'retry' => 0, 'failed' => 0 ), Dispatcher::drain() );
		$this->assertSame( array( 'pending', 0 ), array( Outbox::get( $id )['status'], Outbox::get( $id )['attempts'] ) );
		$this->assertSame( array(), $this->received() );
		$other->get_var( $other->prepare( 'SELECT RELEASE_LOCK( %s )', Drain_Lock::name() ) );
		$other->close();

		$this->assertSame( 1, Dispatcher::drain()['sent'] );
		$this->assertSame( '1', $wpdb->get_var( $wpdb->prepare( 'SELECT IS_FREE_LOCK( %s )', Drain_Lock::name() ) ), 'the drain let the lock go' );
	}

	public function test_a_row_written_while_an_idle_drain_holds_the_lock_is_sent_by_that_drain(): void {
		// The row's own kick found the lock taken and left; the drain that held it had nothing to send.
		$id     = null;
		$writer = function ( $query ) use ( &$id ) {
			if ( null === $id && 0 === strpos( ltrim( $query ), 'SELECT RELEASE_LOCK' ) ) {
				$id = 'writing';
				$id = Outbox::add( 'order.created', array( 'order_id' => 61 ) );
			}
			return $query;
		};
		add_filter( 'query', $writer );
		try {
			$stats = Dispatcher::drain();
		} finally {
			remove_filter( 'query', $writer );
		}
		$this->assertIsString( $id );
		$this->assertSame( 1, $stats['sent'], 'the drain looked again after letting the lock go' );
		$this->assertSame( 'done', Outbox::get( $id )['status'] );
	}

	public function test_a_database_without_named_locks_still_drains(): void {
		global $wpdb;
		$no_locks = static function ( $query ) {
			return str_replace( 'GET_LOCK(', 'BPM_NO_SUCH_FUNCTION(', $query );
		};
		add_filter( 'query', $no_locks );
		$suppress = $wpdb->suppress_errors( true );
		try {
			$id    = Outbox::add( 'order.created', array( 'order_id' => 96 ) );
			$stats = Dispatcher::drain();
		} finally {
			$wpdb->suppress_errors( $suppress );
			remove_filter( 'query', $no_locks );
		}
		$this->assertSame( 1, $stats['sent'], 'the claims alone keep rows from being sent twice' );
		$this->assertSame( 'done', Outbox::get( $id )['status'] );
	}

	public function test_the_safety_net_runs_every_minute(): void {
		$this->assertNotFalse( wp_next_scheduled( Dispatcher::CRON_HOOK ) );
		$this->assertSame( 'every_minute', wp_get_schedule( Dispatcher::CRON_HOOK ) );
		$this->assertSame( 60, wp_get_schedules()['every_minute']['interval'] );
		$this->assertNotFalse( has_action( Dispatcher::CRON_HOOK, array( Dispatcher::class, 'drain' ) ) );
		$this->assertNotFalse( has_action( Dispatcher::HOOK, array( Dispatcher::class, 'drain' ) ) );
	}
}
