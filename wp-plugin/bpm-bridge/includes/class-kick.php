<?php
/**
 * Delivery within a second, with no traffic: a drain starts right after the request that wrote a row.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * When a request has written an outbox row, its `shutdown` sends one loopback request to our admin-ajax
 * action, the way WordPress spawns WP-Cron: connect, write the request, close, never wait for an answer.
 * That request runs the drain in a process of its own, so the writing request pays for a local connect and
 * one small write only, whatever the sidecar does. The loopback is signed (HMAC with the site's nonce salt,
 * valid for a minute): anyone else's call does nothing, and even a replayed one can only start a drain,
 * which one database lock keeps to one at a time and which sends only rows that are due anyway. It answers
 * nothing but a status code.
 *
 * Why our own socket and not wp_remote_post( blocking => false ): with cURL (WordPress' first transport)
 * a non-blocking request still waits out its timeout (10 ms for spawn_cron), longer than the 5 ms this may
 * add to a checkout. The one-minute WP-Cron drain stays the safety net for a site whose loopback fails.
 */
final class Kick {

	/**
	 * The admin-ajax action.
	 */
	const ACTION = 'bpm_bridge_drain';

	/**
	 * Seconds a signed kick stays valid.
	 */
	const TOKEN_TTL = 60;

	/**
	 * Seconds the connect may take: a local connect takes well under a millisecond, so this only bounds a
	 * loopback that goes nowhere.
	 */
	const CONNECT_TIMEOUT = 0.05;

	/**
	 * After a kick that failed slowly (a connect timeout, a slow name lookup) the site stops kicking for this
	 * long (the cron net delivers meanwhile), so a broken loopback costs one timeout a minute, not one per
	 * request. A refused connection fails at once and costs nothing, so it pauses nothing (a server that is
	 * being restarted takes kicks again as soon as it is back). An autoloaded option: reading it is free.
	 */
	const PAUSE_OPTION = 'bpm_bridge_kick_paused_until';
	const PAUSE        = 60;

	/**
	 * A failure that took longer than this (seconds) pauses kicking.
	 */
	const SLOW_FAILURE = 0.005;

	/**
	 * Runs the drain: fn(): array.
	 *
	 * @var callable
	 */
	private $drain;

	/**
	 * Whether a kick can deliver anything at all (a sidecar is configured): fn(): bool.
	 *
	 * @var callable
	 */
	private $wanted;

	/**
	 * What to do instead when no kick goes out (paused or failed): fn(): void — schedules Action Scheduler's
	 * async drain, which runs on the next wp-admin request, before the one-minute cron.
	 *
	 * @var callable
	 */
	private $fallback;

	/**
	 * Whether this request has already queued its kick.
	 *
	 * @var boolean
	 */
	private $queued = false;

	/**
	 * Constructor.
	 *
	 * @param callable $drain  Runs one drain (Dispatcher::drain).
	 * @param callable $wanted   Whether there is a sidecar to deliver to (Dispatcher::has_sidecar).
	 * @param callable $fallback When no kick goes out (Dispatcher::schedule_drain); default: nothing.
	 */
	public function __construct( callable $drain, callable $wanted, ?callable $fallback = null ) {
		$this->drain    = $drain;
		$this->wanted   = $wanted;
		$this->fallback = $fallback ?? static function (): void {};
	}

	/**
	 * The loopback's endpoint (logged-out: the loopback carries no cookies; logged-in for completeness).
	 */
	public function register(): void {
		add_action( 'wp_ajax_nopriv_' . self::ACTION, array( $this, 'handle' ) );
		add_action( 'wp_ajax_' . self::ACTION, array( $this, 'handle' ) );
	}

	/**
	 * A row became due in this request: kick once, after everything else the request does.
	 */
	public function request(): void {
		if ( $this->queued ) {
			return;
		}
		$this->queued = true;
		if ( did_action( 'shutdown' ) ) {
			// Written during shutdown itself: the request is over anyway.
			$this->send();
			return;
		}
		add_action( 'shutdown', array( $this, 'send' ), 20, 0 );
	}

	/**
	 * Sends the loopback (the `shutdown` callback). Fires `bpm_bridge_kicked`.
	 *
	 * @return bool Whether the request was written to the socket.
	 */
	public function send(): bool {
		$started = microtime( true );
		if ( ! ( $this->wanted )() ) {
			return false;
		}
		$paused = get_option( self::PAUSE_OPTION, null );
		if ( null === $paused ) {
			// Created once, autoloaded: later requests read it from the options already in memory.
			add_option( self::PAUSE_OPTION, 0, '', true );
		} elseif ( (int) $paused > time() ) {
			( $this->fallback )();
			return false;
		}
		/**
		 * Filters where the kick goes (default: this site's admin-ajax.php). A site whose public address is
		 * not reachable from the server itself may point it at an address that is.
		 *
		 * @param string $url URL.
		 */
		$url     = (string) apply_filters( 'bpm_bridge_kick_url', admin_url( 'admin-ajax.php' ) );
		$sent    = $this->post( $url, self::body( time() ) );
		$elapsed = microtime( true ) - $started;
		if ( ! $sent ) {
			( $this->fallback )();
			if ( $elapsed >= self::SLOW_FAILURE ) {
				update_option( self::PAUSE_OPTION, time() + self::PAUSE, true );
			}
		}
		/**
		 * Fires after a kick (tests and logs measure what it cost the request, from the start of send()).
		 *
		 * @param bool   $sent    Whether the request was written.
		 * @param float  $elapsed Seconds it took.
		 * @param string $url     Where it went.
		 */
		do_action( 'bpm_bridge_kicked', $sent, $elapsed, $url );
		return $sent;
	}

	/**
	 * The admin-ajax handler: a signed kick runs a drain; anything else gets 403. No body either way.
	 */
	public function handle(): void {
		// phpcs:disable WordPress.Security.NonceVerification.Missing -- signed with the site's salt: no user, no nonce.
		$time = isset( $_POST['t'] ) ? absint( wp_unslash( $_POST['t'] ) ) : 0;
		$sig  = isset( $_POST['sig'] ) ? sanitize_text_field( wp_unslash( $_POST['sig'] ) ) : '';
		// phpcs:enable WordPress.Security.NonceVerification.Missing
		$status = $this->respond( $time, $sig );
		status_header( $status );
		exit;
	}

	/**
	 * What handle() does, without reading the request or exiting (tests).
	 *
	 * @param int      $time Signed timestamp.
	 * @param string   $sig  Signature.
	 * @param int|null $now  Unix seconds (tests).
	 * @return int HTTP status: 204 after a drain, 403 for a bad or stale signature.
	 */
	public function respond( int $time, string $sig, ?int $now = null ): int {
		if ( ! self::verify( $time, $sig, $now ?? time() ) ) {
			return 403;
		}
		// The kicking request closed its end at once; this one finishes the drain regardless.
		ignore_user_abort( true );
		( $this->drain )();
		return 204;
	}

	/**
	 * The form body of a kick signed at $time.
	 *
	 * @param int $time Unix seconds.
	 */
	public static function body( int $time ): string {
		return http_build_query(
			array(
				'action' => self::ACTION,
				't'      => $time,
				'sig'    => self::sign( $time ),
			),
			'',
			'&'
		);
	}

	/**
	 * Signature of a timestamp.
	 *
	 * @param int $time Unix seconds.
	 */
	public static function sign( int $time ): string {
		return hash_hmac( 'sha256', self::ACTION . '|' . $time, wp_salt( 'nonce' ) );
	}

	/**
	 * Whether a kick's signature is ours and fresh.
	 *
	 * @param int    $time Signed timestamp.
	 * @param string $sig  Signature.
	 * @param int    $now  Unix seconds.
	 */
	public static function verify( int $time, string $sig, int $now ): bool {
		// Signed and checked on the same server's clock: a time from the future is never ours.
		$age = $now - $time;
		return $time > 0 && $age >= 0 && $age <= self::TOKEN_TTL && hash_equals( self::sign( $time ), $sig );
	}

	/**
	 * Writes one POST to $url and closes the connection without reading the answer.
	 *
	 * @param string $url  Absolute http(s) URL.
	 * @param string $body Form body.
	 * @return bool Whether the whole request was written.
	 */
	private function post( string $url, string $body ): bool {
		$parts = wp_parse_url( $url );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) ) {
			return false;
		}
		$tls  = 'https' === strtolower( (string) ( $parts['scheme'] ?? 'http' ) );
		$port = (int) ( $parts['port'] ?? ( $tls ? 443 : 80 ) );
		$path = ( $parts['path'] ?? '/' ) . ( isset( $parts['query'] ) ? '?' . $parts['query'] : '' );
		$host = $parts['host'] . ( isset( $parts['port'] ) ? ':' . $port : '' );
		// The same filter WordPress consults for its own loopbacks (spawn_cron): off by default.
		$verify  = (bool) apply_filters( 'https_local_ssl_verify', false );
		$context = stream_context_create(
			array(
				'ssl' => array(
					'verify_peer'      => $verify,
					'verify_peer_name' => $verify,
					'peer_name'        => trim( $parts['host'], '[]' ),
					'SNI_enabled'      => true,
				),
			)
		);
		$errno  = 0;
		$errstr = '';
		$socket = @stream_socket_client( ( $tls ? 'ssl://' : 'tcp://' ) . $parts['host'] . ':' . $port, $errno, $errstr, self::CONNECT_TIMEOUT, STREAM_CLIENT_CONNECT, $context ); // phpcs:ignore Generic.PHP.NoSilencedErrors.Discouraged -- a failed kick is reported by the return value; the cron net delivers.
		if ( false === $socket ) {
			return false;
		}
		$request = "POST {$path} HTTP/1.1\r\n"
			. "Host: {$host}\r\n"
			. "Content-Type: application/x-www-form-urlencoded\r\n"
			. 'Content-Length: ' . strlen( $body ) . "\r\n"
			. 'User-Agent: BPM-Bridge/' . BPM_BRIDGE_VERSION . "\r\n"
			. "Connection: close\r\n\r\n"
			. $body;
		$written = fwrite( $socket, $request ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite -- a socket, not a file.
		fclose( $socket ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fclose -- a socket, not a file.
		return strlen( $request ) === $written;
	}
}
