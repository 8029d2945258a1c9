<?php
/**
 * The kick: one signed loopback POST after a request that wrote a row, written without waiting for an answer.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Kick;
use BPM_Bridge\Plugin;

/**
 * Kick.
 */
class KickTest extends BPM_Test_Case {

	/**
	 * Listening sockets opened by the test.
	 *
	 * @var resource[]
	 */
	private $listeners = array();

	/**
	 * No pause left over from another test.
	 */
	protected function setUp(): void {
		parent::setUp();
		update_option( Kick::PAUSE_OPTION, 0, true );
	}

	/**
	 * Closes the listeners and drops the kick URL filter.
	 */
	protected function tearDown(): void {
		foreach ( $this->listeners as $listener ) {
			fclose( $listener );
		}
		remove_all_filters( 'bpm_bridge_kick_url' );
		update_option( Kick::PAUSE_OPTION, 0, true );
		parent::tearDown();
	}

	/**
	 * A local port that accepts connections (and never answers), the kick pointed at it.
	 *
	 * @return resource The listening socket.
	 */
	private function listen() {
		$listener          = stream_socket_server( 'tcp://127.0.0.1:0' );
		$this->listeners[] = $listener;
		$this->point_at( 'http://' . stream_socket_get_name( $listener, false ) . '/wp-admin/admin-ajax.php' );
		return $listener;
	}

	/**
	 * Points the kick at a URL.
	 *
	 * @param string $url URL.
	 */
	private function point_at( string $url ): void {
		remove_all_filters( 'bpm_bridge_kick_url' );
		add_filter(
			'bpm_bridge_kick_url',
			static function () use ( $url ) {
				return $url;
			}
		);
	}

	/**
	 * The next request the listener got, as written by the kick.
	 *
	 * @param resource $listener Listening socket.
	 */
	private function accept( $listener ): string {
		$conn = stream_socket_accept( $listener, 2 );
		$this->assertNotFalse( $conn, 'the kick connected' );
		$raw = (string) stream_get_contents( $conn );
		fclose( $conn );
		return $raw;
	}

	/**
	 * A kick with a drain that only counts.
	 *
	 * @param int  $drains Incremented per drain.
	 * @param bool $wanted Whether delivery is configured.
	 */
	private function kick( int &$drains, bool $wanted = true ): Kick {
		return new Kick(
			static function () use ( &$drains ) {
				++$drains;
				return array();
			},
			static function () use ( $wanted ) {
				return $wanted;
			}
		);
	}

	public function test_a_kick_is_one_signed_post_to_admin_ajax(): void {
		$drains   = 0;
		$listener = $this->listen();
		$this->assertTrue( $this->kick( $drains )->send() );
		$raw = $this->accept( $listener );
		list( $head, $body ) = explode( "\r\n\r\n", $raw, 2 );
		$lines = explode( "\r\n", $head );
		$this->assertSame( 'POST /wp-admin/admin-ajax.php HTTP/1.1', $lines[0] );
		$this->assertContains( 'Host: ' . stream_socket_get_name( $listener, false ), $lines );
		$this->assertContains( 'Content-Type: application/x-www-form-urlencoded', $lines );
		$this->assertContains( 'Content-Length: ' . strlen( $body ), $lines );
		parse_str( $body, $form );
		$this->assertSame( array( 'action', 't', 'sig' ), array_keys( $form ) );
		$this->assertSame( Kick::ACTION, $form['action'] );
		$this->assertTrue( Kick::verify( (int) $form['t'], $form['sig'], time() ) );
		$this->assertSame( 0, $drains, 'the kicking request never drains itself' );
	}

	public function test_a_kick_costs_the_request_well_under_five_milliseconds(): void {
		$drains   = 0;
		$listener = $this->listen();
		$kick     = $this->kick( $drains );
		$times    = array();
		for ( $i = 0; $i < 40; $i++ ) {
			$start = microtime( true );
			$this->assertTrue( $kick->send() );
			$times[] = microtime( true ) - $start;
			$this->accept( $listener );
		}
		sort( $times );
		$median = $times[ intdiv( count( $times ), 2 ) ];
		fwrite( STDERR, sprintf( "\nkick cost (PHPUnit, local listener): median %.3f ms, max %.3f ms over %d kicks\n", $median * 1000, end( $times ) * 1000, count( $times ) ) );
		$this->assertLessThan( 0.005, $median );
	}

	public function test_a_refused_kick_costs_nothing_and_pauses_nothing(): void {
		$drains = 0;
		$probe  = stream_socket_server( 'tcp://127.0.0.1:0' );
		$closed = stream_socket_get_name( $probe, false );
		fclose( $probe );
		$this->point_at( 'http://' . $closed . '/wp-admin/admin-ajax.php' );
		$kick  = $this->kick( $drains );
		$start = microtime( true );
		$this->assertFalse( $kick->send() );
		$this->assertLessThan( Kick::SLOW_FAILURE, microtime( true ) - $start );
		$this->assertSame( 0, (int) get_option( Kick::PAUSE_OPTION ), 'a server being restarted takes the next kick' );
		$listener = $this->listen();
		$this->assertTrue( $kick->send() );
		$this->accept( $listener );
	}

	public function test_a_kick_that_times_out_pauses_kicking_for_a_minute(): void {
		$drains = 0;
		// A port whose accept queue is full: the connect waits for an answer that never comes.
		$full  = stream_socket_server( 'tcp://127.0.0.1:0', $errno, $errstr, STREAM_SERVER_BIND | STREAM_SERVER_LISTEN, stream_context_create( array( 'socket' => array( 'backlog' => 0 ) ) ) );
		$name  = stream_socket_get_name( $full, false );
		$queue = array();
		for ( $i = 0; $i < 3; $i++ ) {
			$queue[] = @stream_socket_client( 'tcp://' . $name, $errno, $errstr, 0.05, STREAM_CLIENT_CONNECT | STREAM_CLIENT_ASYNC_CONNECT ); // phpcs:ignore Generic.PHP.NoSilencedErrors.Discouraged -- filling the queue.
		}
		$this->listeners[] = $full;
		$this->point_at( 'http://' . $name . '/wp-admin/admin-ajax.php' );
		$kick  = $this->kick( $drains );
		$start = microtime( true );
		$this->assertFalse( $kick->send() );
		$this->assertLessThan( Kick::CONNECT_TIMEOUT + 0.05, microtime( true ) - $start, 'bounded by the connect timeout' );
		$this->assertGreaterThanOrEqual( time() + Kick::PAUSE - 2, (int) get_option( Kick::PAUSE_OPTION ) );
		// While paused, not even a working loopback is tried: the cron net delivers.
		$listener = $this->listen();
		$this->assertFalse( $kick->send() );
		stream_set_blocking( $listener, false );
		$this->assertFalse( @stream_socket_accept( $listener, 0 ), 'no connection while paused' ); // phpcs:ignore Generic.PHP.NoSilencedErrors.Discouraged -- nothing to accept is the point.
		array_map( 'fclose', array_filter( $queue ) );
	}

	public function test_the_fallback_runs_only_when_no_kick_goes_out(): void {
		$fallbacks = 0;
		$kick      = new Kick(
			static function () {
				return array();
			},
			static function () {
				return true;
			},
			static function () use ( &$fallbacks ) {
				++$fallbacks;
			}
		);
		$listener = $this->listen();
		$this->assertTrue( $kick->send() );
		$this->assertSame( 0, $fallbacks, 'a kick that went out needs no fallback' );
		$this->accept( $listener );
		update_option( Kick::PAUSE_OPTION, time() + 60, true );
		$this->assertFalse( $kick->send() );
		$this->assertSame( 1, $fallbacks, 'a paused kick leaves the rows to the async drain' );
		update_option( Kick::PAUSE_OPTION, 0, true );
	}

	public function test_no_kick_without_a_configured_sidecar(): void {
		$drains   = 0;
		$listener = $this->listen();
		$this->assertFalse( $this->kick( $drains, false )->send() );
		stream_set_blocking( $listener, false );
		$this->assertFalse( @stream_socket_accept( $listener, 0 ) ); // phpcs:ignore Generic.PHP.NoSilencedErrors.Discouraged -- nothing to accept is the point.
	}

	public function test_only_a_fresh_signed_kick_starts_a_drain(): void {
		$drains = 0;
		$kick   = $this->kick( $drains );
		$now    = time();
		$this->assertSame( 403, $kick->respond( 0, '', $now ) );
		$this->assertSame( 403, $kick->respond( $now, 'forged', $now ) );
		$this->assertSame( 403, $kick->respond( $now, hash_hmac( 'sha256', Kick::ACTION . '|' . $now, 'not the salt' ), $now ) );
		$this->assertSame( 403, $kick->respond( $now - Kick::TOKEN_TTL - 1, Kick::sign( $now - Kick::TOKEN_TTL - 1 ), $now ), 'stale' );
		$this->assertSame( 403, $kick->respond( $now + 5, Kick::sign( $now + 5 ), $now ), 'from the future' );
		$this->assertSame( 0, $drains );
		$this->assertSame( 204, $kick->respond( $now - 5, Kick::sign( $now - 5 ), $now ) );
		$this->assertSame( 1, $drains );
		$this->assertNotFalse( has_action( 'wp_ajax_nopriv_' . Kick::ACTION, array( Plugin::kick(), 'handle' ) ), 'the loopback carries no cookies' );
	}

	public function test_a_request_queues_at_most_one_kick_and_only_once_it_wrote_a_row(): void {
		global $wp_filter;
		$drains = 0;
		$kick   = $this->kick( $drains );
		$this->assertFalse( has_action( 'shutdown', array( $kick, 'send' ) ) );
		$kick->request();
		$kick->request();
		$this->assertSame( 20, has_action( 'shutdown', array( $kick, 'send' ) ) );
		$mine = array_filter(
			$wp_filter['shutdown']->callbacks[20],
			static function ( $callback ) use ( $kick ) {
				return is_array( $callback['function'] ) && $callback['function'][0] === $kick;
			}
		);
		$this->assertCount( 1, $mine );
		remove_action( 'shutdown', array( $kick, 'send' ), 20 );
	}
}
