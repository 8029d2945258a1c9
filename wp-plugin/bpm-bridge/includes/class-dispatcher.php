<?php
/**
 * Delivers outbox rows to the sidecar.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * The drain. It starts right after the request that wrote a row (Kick, a loopback request), and as an
 * Action Scheduler async action; a one-minute WP-Cron safety net covers everything else (retries that came
 * due, a lost kick, Action Scheduler missing). Only one drain runs at a time (a database lock); the
 * outbox's atomic claims keep even two of them from sending a row twice.
 */
final class Dispatcher {

	const HOOK          = 'bpm_bridge_drain';
	const CRON_HOOK     = 'bpm_bridge_cron_drain';
	const CRON_SCHEDULE = 'every_minute';
	const PURGE_HOOK    = 'bpm_bridge_purge';
	const GROUP         = 'bpm-bridge';
	const BATCH         = 20;

	/**
	 * Whether this request has already made waiting rows due after a success (once is enough).
	 *
	 * @var boolean
	 */
	private static $caught_up = false;

	/**
	 * First retry delay; doubles per attempt up to MAX_DELAY.
	 */
	const BASE_DELAY = 30;
	const MAX_DELAY  = 21600;

	/**
	 * A Retry-After longer than this is capped (a misconfigured proxy must not park events for days).
	 */
	const MAX_RETRY_AFTER = 86400;

	/**
	 * Whether this request has already made sure the async drain is scheduled.
	 *
	 * @var boolean
	 */
	private static $drain_scheduled = false;

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_action( self::HOOK, array( self::class, 'drain' ), 10, 0 );
		add_action( self::CRON_HOOK, array( self::class, 'drain' ), 10, 0 );
		add_action( self::PURGE_HOOK, array( Outbox::class, 'purge' ), 10, 0 );
		add_filter( 'cron_schedules', array( self::class, 'cron_schedules' ) ); // phpcs:ignore WordPress.WP.CronInterval.ChangeDetected
		add_action( 'init', array( self::class, 'schedule_cron' ) );
	}

	/**
	 * Adds the one-minute schedule.
	 *
	 * @param array<string,array> $schedules Schedules.
	 * @return array<string,array>
	 */
	public static function cron_schedules( $schedules ) {
		if ( ! isset( $schedules[ self::CRON_SCHEDULE ] ) ) {
			$schedules[ self::CRON_SCHEDULE ] = array(
				'interval' => MINUTE_IN_SECONDS,
				'display'  => __( 'Every minute', 'bpm-bridge' ),
			);
		}
		return $schedules;
	}

	/**
	 * Makes sure the safety net is scheduled (cheap: the cron array is autoloaded).
	 */
	public static function schedule_cron(): void {
		if ( ! wp_next_scheduled( self::CRON_HOOK ) ) {
			// The schedule may not be registered yet during activation.
			add_filter( 'cron_schedules', array( self::class, 'cron_schedules' ) ); // phpcs:ignore WordPress.WP.CronInterval.ChangeDetected
			wp_schedule_event( time() + MINUTE_IN_SECONDS, self::CRON_SCHEDULE, self::CRON_HOOK );
		}
		if ( ! wp_next_scheduled( self::PURGE_HOOK ) ) {
			wp_schedule_event( time() + HOUR_IN_SECONDS, 'daily', self::PURGE_HOOK );
		}
	}

	/**
	 * Removes every schedule of ours (deactivation, uninstall).
	 */
	public static function unschedule_all(): void {
		wp_clear_scheduled_hook( self::CRON_HOOK );
		wp_clear_scheduled_hook( self::PURGE_HOOK );
		if ( function_exists( 'as_unschedule_all_actions' ) ) {
			as_unschedule_all_actions( self::HOOK, array(), self::GROUP );
		}
	}

	/**
	 * Schedules one async drain unless one is already waiting. Without Action Scheduler the cron net
	 * delivers within a minute.
	 */
	public static function schedule_drain(): void {
		if ( ! function_exists( 'as_enqueue_async_action' ) || ! function_exists( 'as_has_scheduled_action' ) ) {
			return;
		}
		if ( ! did_action( 'init' ) ) {
			// Action Scheduler's store is ready only from 'init' on; an earlier event is scheduled then.
			add_action( 'init', array( self::class, 'schedule_drain' ), 20, 0 );
			return;
		}
		// Once per request: an order writes several rows, and each look-up is a query in the shopper's request.
		if ( self::$drain_scheduled ) {
			return;
		}
		self::$drain_scheduled = true;
		if ( ! as_has_scheduled_action( self::HOOK, array(), self::GROUP ) ) {
			as_enqueue_async_action( self::HOOK, array(), self::GROUP );
		}
	}

	/**
	 * Forgets that this request scheduled the async drain (a long-running process, tests).
	 */
	public static function forget_scheduled_drain(): void {
		self::$drain_scheduled = false;
	}

	/**
	 * Sends due rows until none are left or the time budget is spent. Returns at once when another drain
	 * runs: that one picks up every row that is due, including rows written while it runs.
	 *
	 * @param int $budget Seconds this drain may run.
	 * @return array{sent:int,retry:int,failed:int} Counts (tests, logs).
	 */
	public static function drain( int $budget = 20 ): array {
		$stats = array(
			'sent'   => 0,
			'retry'  => 0,
			'failed' => 0,
		);
		$start = time();
		$idle  = 0;
		// A row written just before the running drain let go of the lock was kicked while the lock was still
		// held (that kick's drain found the lock taken and left): look once more after every release, also
		// after a pass that sent nothing, so such a row never waits for the cron net. Two passes in a row
		// that send nothing end the drain, so a due row that cannot be claimed never makes it spin.
		while ( ( time() - $start ) < $budget && Drain_Lock::acquire() ) {
			$before = $stats;
			try {
				$stats = self::drain_locked( $stats, $start, $budget );
			} finally {
				Drain_Lock::release();
			}
			$idle = ( $before === $stats ) ? $idle + 1 : 0;
			if ( $idle > 1 || ! Outbox::has_due() ) {
				break;
			}
		}
		return $stats;
	}

	/**
	 * The drain proper, under the lock.
	 *
	 * @param array{sent:int,retry:int,failed:int} $stats  Counts so far.
	 * @param int                                  $start  Unix seconds the drain started.
	 * @param int                                  $budget Seconds it may run.
	 * @return array{sent:int,retry:int,failed:int}
	 */
	private static function drain_locked( array $stats, int $start, int $budget ): array {
		do {
			$rows = Outbox::claim( self::BATCH );
			while ( $rows ) {
				$row    = array_shift( $rows );
				$result = self::deliver( $row );
				++$stats[ $result['result'] ];
				// Every transient answer (unreachable, timeout, 408, 425, 429, 5xx, not configured) concerns
				// the sidecar, not this row.
				$down = 'retry' === $result['result'];
				if ( $down || ( time() - $start ) >= $budget ) {
					// The sidecar is unavailable or time is up: give the rest back untried, so one outage
					// costs one timeout per drain instead of one per row, and no attempt is counted for them.
					$next  = $down ? time() + max( self::BASE_DELAY, (int) ( $result['retry_after'] ?? 0 ) ) : time();
					$error = ( $down && ! self::is_configured() ) ? $result['message'] : null;
					foreach ( $rows as $rest ) {
						Outbox::release( $rest, $error, $next );
					}
					return $stats;
				}
			}
		} while ( ( time() - $start ) < $budget && Outbox::has_due() );
		return $stats;
	}

	/**
	 * Whether a sidecar URL is set: the cheap check (one autoloaded option) a writing request can afford.
	 */
	public static function has_sidecar(): bool {
		return '' !== Options::get_sidecar_url();
	}

	/**
	 * Whether a sidecar URL and a signing secret are set.
	 */
	public static function is_configured(): bool {
		return '' !== Options::get_sidecar_url() && array() !== Options::get_secrets();
	}

	/**
	 * Sends a `ping` now and reports how the sidecar answered (the admin's Test connection). The ping is
	 * an ordinary outbox row, so it shows on the Events screen.
	 *
	 * @return array{ok:bool,status:int,message:string,event_id:string}
	 */
	public static function send_ping(): array {
		$id  = Outbox::add( 'ping' );
		$row = Outbox::claim_one( $id );
		if ( null === $row ) {
			return array(
				'ok'       => false,
				'status'   => 0,
				'message'  => __( 'The ping event could not be claimed for sending.', 'bpm-bridge' ),
				'event_id' => $id,
			);
		}
		$result             = self::deliver( $row );
		$result['event_id'] = $id;
		unset( $result['result'] );
		return $result;
	}

	/**
	 * Delivers one claimed row and records the result on it.
	 *
	 * @param array<string,mixed> $row Claimed row.
	 * @return array{ok:bool,status:int,message:string,result:string,retry_after?:int|null}
	 */
	public static function deliver( array $row ): array {
		$url     = Options::get_sidecar_url();
		$secrets = Options::get_secrets();
		$now     = time();
		if ( '' === $url || ! $secrets ) {
			$message = '' === $url
				? __( 'The sidecar URL is not configured.', 'bpm-bridge' )
				: __( 'No signing secret is configured.', 'bpm-bridge' );
			// Nothing was sent, so no attempt is counted; the row waits for the configuration.
			Outbox::release( $row, $message, $now + MINUTE_IN_SECONDS );
			return self::result( false, 0, $message, 'retry' );
		}
		$body = (string) $row['payload'];
		if ( strlen( $body ) > self::max_body() ) {
			/* translators: %s: size limit, e.g. "64 KB" */
			$message = sprintf( __( 'The event is larger than %s and cannot be delivered.', 'bpm-bridge' ), size_format( self::max_body() ) );
			Outbox::mark_failed( $row, $message );
			return self::result( false, 0, $message, 'failed' );
		}
		$headers = array_merge(
			array(
				'Content-Type' => 'application/json',
				'User-Agent'   => 'BPM-Bridge/' . BPM_BRIDGE_VERSION . '; ' . home_url(),
			),
			// The event id is the message id: stable across re-deliveries, so the sidecar de-duplicates.
			Signer::headers( $secrets, $body, $row['id'], $now )
		);
		// wp_remote_post, not wp_safe_remote_post: the safe variant refuses private and loopback addresses
		// and most ports, and the sidecar usually runs on exactly such an address. The URL is set only by
		// an administrator, never taken from a request.
		$response = wp_remote_post(
			untrailingslashit( $url ) . '/v1/events',
			array(
				'timeout'     => (float) apply_filters( 'bpm_bridge_http_timeout', 5 ),
				'redirection' => 0,
				'headers'     => $headers,
				'body'        => $body,
				'data_format' => 'body',
			)
		);
		return self::handle_response( $row, $response, $now );
	}

	/**
	 * Interprets the sidecar's answer (docs/contract.md §2 "Responses").
	 *
	 * @param array<string,mixed> $row      Claimed row.
	 * @param array|\WP_Error     $response Result of wp_remote_post().
	 * @param int                 $now      Unix seconds.
	 * @return array{ok:bool,status:int,message:string,result:string}
	 */
	private static function handle_response( array $row, $response, int $now ): array {
		if ( is_wp_error( $response ) ) {
			self::$caught_up = false;
			/* translators: %s: transport error */
			$message = sprintf( __( 'Could not reach the sidecar: %s', 'bpm-bridge' ), $response->get_error_message() );
			Outbox::mark_retry( $row, $message, $now + self::backoff( $row['attempts'] + 1 ), $now );
			return self::result( false, 0, $message, 'retry' );
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		$body = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( $code >= 200 && $code < 300 ) {
			$actions = array();
			if ( is_array( $body ) && isset( $body['actions'] ) && is_array( $body['actions'] ) ) {
				$actions = array_values( array_filter( $body['actions'], 'is_string' ) );
			}
			Outbox::mark_sent( $row, $actions, $now );
			if ( ! self::$caught_up ) {
				// The sidecar answers again: whatever waits out a backoff from the outage is due now.
				self::$caught_up = true;
				Outbox::wake_waiting( $now );
			}
			/* translators: %d: HTTP status code */
			return self::result( true, $code, sprintf( __( 'Delivered (HTTP %d).', 'bpm-bridge' ), $code ), 'sent' );
		}
		$detail = self::problem_detail( $body, $code );
		// contract.json's rule; redirects count as transient: they are not followed, and a fixed URL should
		// heal the backlog by itself.
		if ( Contract::is_transient_status( $code ) ) {
			self::$caught_up = false;
			$delay       = self::backoff( $row['attempts'] + 1 );
			$retry_after = self::retry_after( (string) wp_remote_retrieve_header( $response, 'retry-after' ), $now );
			if ( null !== $retry_after ) {
				$retry_after = min( $retry_after, self::MAX_RETRY_AFTER );
				$delay       = max( $delay, $retry_after );
			}
			Outbox::mark_retry( $row, $detail, $now + $delay, $now );
			$result                = self::result( false, $code, $detail, 'retry' );
			$result['retry_after'] = $retry_after;
			return $result;
		}
		Outbox::mark_failed( $row, $detail, $now );
		return self::result( false, $code, $detail, 'failed' );
	}

	/**
	 * The largest event body the sidecar accepts (contract.json).
	 */
	public static function max_body(): int {
		return (int) Contract::data()['signature']['max_event_body_bytes'];
	}

	/**
	 * Exponential backoff with jitter: 30 s, 1 min, 2 min … capped at 6 h, each drawn from [d/2, d].
	 *
	 * @param int $attempt Number of the attempt that just failed, from 1.
	 */
	public static function backoff( int $attempt ): int {
		$delay = (int) min( self::MAX_DELAY, self::BASE_DELAY * ( 2 ** min( 20, max( 0, $attempt - 1 ) ) ) );
		return wp_rand( (int) ceil( $delay / 2 ), $delay );
	}

	/**
	 * Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or null.
	 *
	 * @param string $value Header value.
	 * @param int    $now   Unix seconds.
	 */
	public static function retry_after( string $value, int $now ): ?int {
		$value = trim( $value );
		if ( '' === $value ) {
			return null;
		}
		if ( ctype_digit( $value ) ) {
			return (int) $value;
		}
		$when = strtotime( $value );
		return false === $when ? null : max( 0, $when - $now );
	}

	/**
	 * The human-readable reason from a problem+json body.
	 *
	 * @param mixed $body Decoded body.
	 * @param int   $code HTTP status.
	 */
	private static function problem_detail( $body, int $code ): string {
		$parts = array();
		if ( is_array( $body ) ) {
			foreach ( array( 'title', 'detail' ) as $key ) {
				if ( isset( $body[ $key ] ) && is_string( $body[ $key ] ) && '' !== $body[ $key ] ) {
					$parts[] = $body[ $key ];
				}
			}
		}
		$text = $parts ? implode( ': ', $parts ) : __( 'no problem detail in the response', 'bpm-bridge' );
		/* translators: 1: HTTP status code, 2: reason given by the sidecar */
		return sprintf( __( 'HTTP %1$d: %2$s', 'bpm-bridge' ), $code, mb_substr( $text, 0, 1000 ) );
	}

	/**
	 * A delivery result.
	 *
	 * @param bool   $ok      Delivered.
	 * @param int    $status  HTTP status (0 when none).
	 * @param string $message Human-readable message.
	 * @param string $result  One of sent, retry, failed.
	 * @return array{ok:bool,status:int,message:string,result:string}
	 */
	private static function result( bool $ok, int $status, string $message, string $result ): array {
		return array(
			'ok'      => $ok,
			'status'  => $status,
			'message' => $message,
			'result'  => $result,
		);
	}
}
