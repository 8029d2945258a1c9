<?php
/**
 * The durable event outbox: one row per event, pending → sent → done | failed.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Storage and state machine of outbox rows. No network here: the Dispatcher sends.
 *
 * All times are UTC 'Y-m-d H:i:s'. Methods that depend on the clock take an optional $now (Unix
 * seconds) so the state machine can be tested without waiting.
 */
final class Outbox {

	const STATUS_PENDING = 'pending';
	const STATUS_SENT    = 'sent';
	const STATUS_DONE    = 'done';
	const STATUS_FAILED  = 'failed';
	const STATUSES       = array( self::STATUS_PENDING, self::STATUS_SENT, self::STATUS_DONE, self::STATUS_FAILED );

	/**
	 * A delivered event whose actions have not all reported by then is sent again (the sidecar answers
	 * "duplicate" and re-queues only jobs it lost).
	 */
	const RESEND_AFTER = 1800;

	/**
	 * Delivery keeps retrying at least this long before a row is marked failed (never auto-disabled).
	 */
	const GIVE_UP_AFTER = 259200;

	/**
	 * Rows one purge DELETE removes: small enough not to hold locks for long on a busy table.
	 */
	const PURGE_BATCH = 5000;

	/**
	 * How long a drain owns a claimed row; a crashed drain's rows become claimable again after it.
	 */
	const LEASE = 120;

	/**
	 * Outcome statuses that count as finished for an action.
	 */
	const RESOLVED = array( 'done', 'skipped' );

	/**
	 * Table name.
	 */
	private static function table(): string {
		return Installer::outbox_table();
	}

	/**
	 * UTC datetime string.
	 *
	 * @param int $ts Unix seconds.
	 */
	public static function dt( int $ts ): string {
		return gmdate( 'Y-m-d H:i:s', $ts );
	}

	/**
	 * Unix seconds of a stored UTC datetime.
	 *
	 * @param string|null $dt Stored value.
	 */
	public static function ts( ?string $dt ): int {
		return $dt ? (int) strtotime( $dt . ' UTC' ) : 0;
	}

	/**
	 * Records an event: one INSERT, then an async drain is scheduled. Never touches the network, so it is
	 * safe inside the shopper's request.
	 *
	 * @param string              $type Event type (docs/contract.md §2).
	 * @param array<string,mixed> $data Event data (ids and facts, no personal data).
	 * @param int|null            $now  Unix seconds (tests).
	 * @return string The event id.
	 */
	public static function add( string $type, array $data = array(), ?int $now = null ): string {
		global $wpdb;
		$now      = $now ?? time();
		$id       = wp_generate_uuid4();
		$envelope = array(
			'id'          => $id,
			'type'        => $type,
			'occurred_at' => gmdate( 'Y-m-d\TH:i:s\Z', $now ),
			'store'       => home_url(),
			'data'        => (object) $data,
		);
		$row    = array(
			'id'              => $id,
			'event_type'      => $type,
			'order_id'        => isset( $data['order_id'] ) ? absint( $data['order_id'] ) : null,
			'payload'         => wp_json_encode( $envelope, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ),
			'status'          => self::STATUS_PENDING,
			'attempts'        => 0,
			'next_attempt_at' => self::dt( $now ),
			'expires_at'      => self::dt( $now + self::GIVE_UP_AFTER ),
			'created_at'      => self::dt( $now ),
			'updated_at'      => self::dt( $now ),
		);
		$format = array( '%s', '%s', '%d', '%s', '%s', '%d', '%s', '%s', '%s', '%s' );
		if ( false === $wpdb->insert( self::table(), $row, $format ) ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			// A missing or outdated table (files updated, upgrade not run yet) must not cost the event.
			Installer::install_schema();
			if ( false === $wpdb->insert( self::table(), $row, $format ) ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery
				/**
				 * Fires when an event could not be stored (the database refused it); logging hooks here.
				 *
				 * @param string $type  Event type.
				 * @param array  $data  Event data.
				 * @param string $error Database error.
				 */
				do_action( 'bpm_bridge_event_not_stored', $type, $data, $wpdb->last_error );
				return $id;
			}
		}
		/**
		 * Fires after an event row is written.
		 *
		 * @param string $id   Event id.
		 * @param string $type Event type.
		 * @param array  $data Event data.
		 */
		do_action( 'bpm_bridge_event_added', $id, $type, $data );
		Dispatcher::schedule_drain();
		return $id;
	}

	/**
	 * One row, decoded, or null.
	 *
	 * @param string $id Event id.
	 * @return array<string,mixed>|null
	 */
	public static function get( string $id ): ?array {
		global $wpdb;
		$table = self::table();
		$row   = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$table} WHERE id = %s", $id ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return $row ? self::decode( $row ) : null;
	}

	/**
	 * Whether a pending event of this type exists.
	 *
	 * @param string $type Event type.
	 */
	public static function has_pending( string $type ): bool {
		global $wpdb;
		$table = self::table();
		return (bool) $wpdb->get_var( $wpdb->prepare( "SELECT 1 FROM {$table} WHERE event_type = %s AND status = %s LIMIT 1", $type, self::STATUS_PENDING ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Whether a row is due for delivery now.
	 *
	 * @param int|null $now Unix seconds (tests).
	 */
	public static function has_due( ?int $now = null ): bool {
		global $wpdb;
		$table = self::table();
		$now   = self::dt( $now ?? time() );
		return (bool) $wpdb->get_var( $wpdb->prepare( "SELECT 1 FROM {$table} WHERE status IN ('pending','sent') AND next_attempt_at <= %s AND ( claimed_until IS NULL OR claimed_until < %s ) LIMIT 1", $now, $now ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Whether any event of this type exists for an order.
	 *
	 * @param string $type     Event type.
	 * @param int    $order_id Order id.
	 */
	public static function has_event( string $type, int $order_id ): bool {
		global $wpdb;
		$table = self::table();
		return (bool) $wpdb->get_var( $wpdb->prepare( "SELECT 1 FROM {$table} WHERE order_id = %d AND event_type = %s LIMIT 1", $order_id, $type ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Rows for the admin list, newest first.
	 *
	 * @param string $status   One of STATUSES, or '' for all.
	 * @param int    $page     Page, from 1.
	 * @param int    $per_page Rows per page.
	 * @return array{items:array<int,array<string,mixed>>,total:int,page:int,pages:int}
	 */
	public static function list( string $status = '', int $page = 1, int $per_page = 20 ): array {
		global $wpdb;
		$table    = self::table();
		$page     = max( 1, $page );
		$per_page = max( 1, min( 200, $per_page ) );
		$offset   = ( $page - 1 ) * $per_page;
		if ( in_array( $status, self::STATUSES, true ) ) {
			$total = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$table} WHERE status = %s", $status ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			$rows  = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM {$table} WHERE status = %s ORDER BY created_at DESC, id ASC LIMIT %d OFFSET %d", $status, $per_page, $offset ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		} else {
			$total = (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$table}" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			$rows  = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM {$table} ORDER BY created_at DESC, id ASC LIMIT %d OFFSET %d", $per_page, $offset ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		}
		return array(
			'items' => array_map( array( self::class, 'decode' ), (array) $rows ),
			'total' => $total,
			'page'  => $page,
			'pages' => (int) max( 1, ceil( $total / $per_page ) ),
		);
	}

	/**
	 * An order's events, oldest first (order screen box).
	 *
	 * @param int $order_id Order id.
	 * @return array<int,array<string,mixed>>
	 */
	public static function for_order( int $order_id ): array {
		global $wpdb;
		$table = self::table();
		$rows  = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM {$table} WHERE order_id = %d ORDER BY created_at ASC, id ASC LIMIT 200", $order_id ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array_map( array( self::class, 'decode' ), (array) $rows );
	}

	/**
	 * Row count per status.
	 *
	 * @return array<string,int>
	 */
	public static function counts(): array {
		global $wpdb;
		$table  = self::table();
		$counts = array_fill_keys( self::STATUSES, 0 );
		foreach ( (array) $wpdb->get_results( "SELECT status, COUNT(*) AS n FROM {$table} GROUP BY status", ARRAY_A ) as $row ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			$counts[ $row['status'] ] = (int) $row['n'];
		}
		return $counts;
	}

	/**
	 * Claims due rows for one drain. A single UPDATE … LIMIT marks them with a fresh token, so two drains
	 * running at once can never claim the same row; an expired lease (crashed drain) frees it again.
	 *
	 * @param int      $limit Maximum rows.
	 * @param int|null $now   Unix seconds (tests).
	 * @return array<int,array<string,mixed>>
	 */
	public static function claim( int $limit = 20, ?int $now = null ): array {
		global $wpdb;
		$now   = $now ?? time();
		$table = self::table();
		$token = wp_generate_uuid4();
		$wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->prepare(
				"UPDATE {$table} SET claim_token = %s, claimed_until = %s
				WHERE status IN ('pending','sent') AND next_attempt_at <= %s
				AND ( claimed_until IS NULL OR claimed_until < %s )
				ORDER BY next_attempt_at ASC LIMIT %d", // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
				$token,
				self::dt( $now + self::LEASE ),
				self::dt( $now ),
				self::dt( $now ),
				$limit
			)
		);
		return self::claimed( $token );
	}

	/**
	 * Claims one row now, whatever its next attempt time (Test connection, Retry).
	 *
	 * @param string   $id  Event id.
	 * @param int|null $now Unix seconds (tests).
	 * @return array<string,mixed>|null The claimed row, or null when missing, finished or claimed elsewhere.
	 */
	public static function claim_one( string $id, ?int $now = null ): ?array {
		global $wpdb;
		$now   = $now ?? time();
		$table = self::table();
		$token = wp_generate_uuid4();
		$wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->prepare(
				"UPDATE {$table} SET claim_token = %s, claimed_until = %s
				WHERE id = %s AND status IN ('pending','sent') AND ( claimed_until IS NULL OR claimed_until < %s )", // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
				$token,
				self::dt( $now + self::LEASE ),
				$id,
				self::dt( $now )
			)
		);
		$rows = self::claimed( $token );
		return $rows ? $rows[0] : null;
	}

	/**
	 * Rows holding a claim token.
	 *
	 * @param string $token Token.
	 * @return array<int,array<string,mixed>>
	 */
	private static function claimed( string $token ): array {
		global $wpdb;
		$table = self::table();
		$rows  = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM {$table} WHERE claim_token = %s ORDER BY next_attempt_at ASC", $token ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array_map( array( self::class, 'decode' ), (array) $rows );
	}

	/**
	 * After a 2xx: remember the actions the sidecar queued. Outcomes that arrived before this (a fast
	 * worker) are taken into account, so the row may go straight to done or failed.
	 *
	 * @param array<string,mixed> $row     Claimed row.
	 * @param string[]            $actions Actions from the response body.
	 * @param int|null            $now     Unix seconds (tests).
	 */
	public static function mark_sent( array $row, array $actions, ?int $now = null ): void {
		$now = $now ?? time();
		self::locked_update(
			$row['id'],
			static function ( array $current ) use ( $row, $actions, $now ) {
				if ( $current['claim_token'] !== $row['claim_token'] ) {
					return null;
				}
				$outcomes = $current['outcomes'];
				$status   = self::resolve( $actions, $outcomes, self::STATUS_SENT );
				$error    = self::STATUS_FAILED === $status ? $current['last_error'] : null;
				if ( self::STATUS_SENT === $status && self::STATUS_SENT === $current['status'] && $current['expires_at'] && $now >= self::ts( $current['expires_at'] ) ) {
					// Re-sent for 72 hours and the sidecar still never reported: stop and show it to the admin.
					$status = self::STATUS_FAILED;
					$error  = __( 'The sidecar accepted the event but reported no outcome within 72 hours.', 'bpm-bridge' );
				}
				return array(
					'status'          => $status,
					'actions'         => wp_json_encode( array_values( $actions ) ),
					'attempts'        => $current['attempts'] + 1,
					'sent_at'         => self::dt( $now ),
					'next_attempt_at' => self::dt( max( $now + self::RESEND_AFTER, self::ts( $current['next_attempt_at'] ) ) ),
					'last_error'      => $error,
					'claim_token'     => null,
					'claimed_until'   => null,
				);
			},
			$now
		);
	}

	/**
	 * After a transient failure: back off, or fail the row once the give-up time has passed.
	 *
	 * @param array<string,mixed> $row     Claimed row.
	 * @param string              $error   What went wrong.
	 * @param int                 $next_at Unix seconds of the next attempt.
	 * @param int|null            $now     Unix seconds (tests).
	 */
	public static function mark_retry( array $row, string $error, int $next_at, ?int $now = null ): void {
		$now = $now ?? time();
		self::locked_update(
			$row['id'],
			static function ( array $current ) use ( $row, $error, $next_at, $now ) {
				if ( $current['claim_token'] !== $row['claim_token'] ) {
					return null;
				}
				$give_up = $current['expires_at'] && $now >= self::ts( $current['expires_at'] );
				return array(
					'status'          => $give_up ? self::STATUS_FAILED : $current['status'],
					'attempts'        => $current['attempts'] + 1,
					'next_attempt_at' => self::dt( $next_at ),
					/* translators: %s: the last delivery error */
					'last_error'      => $give_up ? sprintf( __( 'Gave up after 72 hours of retries. Last error: %s', 'bpm-bridge' ), $error ) : $error,
					'claim_token'     => null,
					'claimed_until'   => null,
				);
			},
			$now
		);
	}

	/**
	 * After a permanent failure (4xx other than 408/429): failed, kept for the admin.
	 *
	 * @param array<string,mixed> $row   Claimed row.
	 * @param string              $error Problem detail.
	 * @param int|null            $now   Unix seconds (tests).
	 */
	public static function mark_failed( array $row, string $error, ?int $now = null ): void {
		$now = $now ?? time();
		self::locked_update(
			$row['id'],
			static function ( array $current ) use ( $row, $error ) {
				if ( $current['claim_token'] !== $row['claim_token'] ) {
					return null;
				}
				return array(
					'status'        => self::STATUS_FAILED,
					'attempts'      => $current['attempts'] + 1,
					'last_error'    => $error,
					'claim_token'   => null,
					'claimed_until' => null,
				);
			},
			$now
		);
	}

	/**
	 * Gives a claimed row back without counting an attempt (nothing was sent: no sidecar URL yet, or the
	 * drain stopped early).
	 *
	 * @param array<string,mixed> $row     Claimed row.
	 * @param string|null         $error   Why, or null to keep the last error.
	 * @param int                 $next_at Unix seconds of the next look.
	 * @param int|null            $now     Unix seconds (tests).
	 */
	public static function release( array $row, ?string $error, int $next_at, ?int $now = null ): void {
		self::locked_update(
			$row['id'],
			static function ( array $current ) use ( $row, $error, $next_at ) {
				if ( $current['claim_token'] !== $row['claim_token'] ) {
					return null;
				}
				$fields = array(
					'next_attempt_at' => self::dt( max( $next_at, self::ts( $current['next_attempt_at'] ) ) ),
					'claim_token'     => null,
					'claimed_until'   => null,
				);
				if ( null !== $error ) {
					$fields['last_error'] = $error;
				}
				return $fields;
			},
			$now ?? time()
		);
	}

	/**
	 * Records one action's outcome reported by the sidecar (POST events/{id}/outcome).
	 *
	 * @param string      $id              Event id.
	 * @param string      $action          Action name.
	 * @param string      $status          One of done, skipped, failed, retrying.
	 * @param string      $message         Human-readable message.
	 * @param array       $details         Extra details.
	 * @param string|null $next_attempt_at RFC 3339 time of the sidecar's next try (retrying).
	 * @param int|null    $now             Unix seconds (tests).
	 * @return string|null The row's resulting status, or null when the event does not exist.
	 */
	public static function record_outcome( string $id, string $action, string $status, string $message = '', array $details = array(), ?string $next_attempt_at = null, ?int $now = null ): ?string {
		$now    = $now ?? time();
		$result = self::locked_update(
			$id,
			static function ( array $current ) use ( $action, $status, $message, $details, $next_attempt_at, $now ) {
				$outcomes            = $current['outcomes'];
				$outcomes[ $action ] = array(
					'status'          => $status,
					'message'         => $message,
					'details'         => (object) $details,
					'next_attempt_at' => $next_attempt_at,
					'at'              => gmdate( 'Y-m-d\TH:i:s\Z', $now ),
				);
				$fields = array( 'outcomes' => wp_json_encode( $outcomes, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) );
				if ( in_array( $current['status'], array( self::STATUS_SENT, self::STATUS_DONE, self::STATUS_FAILED ), true ) ) {
					$fields['status'] = self::resolve( $current['actions'], $outcomes, self::STATUS_SENT );
				} elseif ( 'failed' === $status ) {
					// Still pending (the 202 was lost): a permanent failure is final anyway.
					$fields['status'] = self::STATUS_FAILED;
				}
				if ( 'failed' === $status ) {
					$fields['last_error'] = $action . ': ' . $message;
				}
				if ( 'retrying' === $status && self::STATUS_SENT === ( $fields['status'] ?? $current['status'] ) ) {
					// Give the sidecar its retry before we consider the event lost and re-send it.
					$retry_at                  = $next_attempt_at ? (int) strtotime( $next_attempt_at ) : $now;
					$fields['next_attempt_at'] = self::dt( max( self::ts( $current['next_attempt_at'] ), $retry_at + self::RESEND_AFTER ) );
					// The sidecar is still working on it: do not give up on the event before its retry.
					$fields['expires_at'] = self::dt( max( self::ts( $current['expires_at'] ), $retry_at + 2 * self::RESEND_AFTER ) );
				}
				return $fields;
			},
			$now
		);
		return $result ? $result['status'] : null;
	}

	/**
	 * Puts a row back to pending for another delivery now (admin "Retry"). Finished actions keep their
	 * outcome; failed or retrying ones are forgotten so they can report again. The 72-hour clock restarts.
	 *
	 * @param string   $id  Event id.
	 * @param int|null $now Unix seconds (tests).
	 * @return bool Whether the row was reset.
	 */
	public static function retry( string $id, ?int $now = null ): bool {
		$now    = $now ?? time();
		$result = self::locked_update(
			$id,
			static function ( array $current ) use ( $now ) {
				if ( self::STATUS_DONE === $current['status'] ) {
					return null;
				}
				$outcomes = array_filter(
					$current['outcomes'],
					static function ( $outcome ) {
						return in_array( $outcome['status'] ?? '', self::RESOLVED, true );
					}
				);
				return array(
					'status'          => self::STATUS_PENDING,
					'next_attempt_at' => self::dt( $now ),
					'expires_at'      => self::dt( $now + self::GIVE_UP_AFTER ),
					'outcomes'        => $outcomes ? wp_json_encode( $outcomes, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) : null,
					'claim_token'     => null,
					'claimed_until'   => null,
				);
			},
			$now
		);
		if ( $result ) {
			Dispatcher::schedule_drain();
		}
		return null !== $result;
	}

	/**
	 * Retries every failed row.
	 *
	 * @param int|null $now Unix seconds (tests).
	 * @return int How many rows were reset.
	 */
	public static function retry_all_failed( ?int $now = null ): int {
		global $wpdb;
		$table = self::table();
		$ids   = $wpdb->get_col( $wpdb->prepare( "SELECT id FROM {$table} WHERE status = %s LIMIT 1000", self::STATUS_FAILED ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$count = 0;
		foreach ( $ids as $id ) {
			$count += self::retry( $id, $now ) ? 1 : 0;
		}
		return $count;
	}

	/**
	 * Deletes `done` rows older than the retention period (default 30 days, filter
	 * `bpm_bridge_outbox_retention_days`). Failed rows stay until an admin retries them: they are the
	 * record of what still needs attention.
	 *
	 * @param int|null $now Unix seconds (tests).
	 * @return int Rows deleted.
	 */
	public static function purge( ?int $now = null ): int {
		global $wpdb;
		$days = max( 1, (int) apply_filters( 'bpm_bridge_outbox_retention_days', 30 ) );
		$table = self::table();
		$sql   = $wpdb->prepare( "DELETE FROM {$table} WHERE status = %s AND updated_at < %s LIMIT %d", self::STATUS_DONE, self::dt( ( $now ?? time() ) - $days * DAY_IN_SECONDS ), self::PURGE_BATCH ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$start = time();
		$total = 0;
		// Batches until the backlog is gone (or the run has taken its share of time): one batch a day falls
		// behind as soon as a shop finishes more events a day than a batch holds.
		do {
			$deleted = (int) $wpdb->query( $sql ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.NotPrepared
			$total  += $deleted;
		} while ( self::PURGE_BATCH === $deleted && ( time() - $start ) < 20 );
		return $total;
	}

	/**
	 * The row status implied by the actions and their outcomes.
	 *
	 * @param array|null $actions  Actions from the 202, null when not known yet.
	 * @param array      $outcomes Outcome per action.
	 * @param string     $fallback Status while actions are still open.
	 */
	public static function resolve( ?array $actions, array $outcomes, string $fallback ): string {
		foreach ( $outcomes as $outcome ) {
			if ( 'failed' === ( $outcome['status'] ?? '' ) ) {
				return self::STATUS_FAILED;
			}
		}
		if ( null === $actions ) {
			return $fallback;
		}
		foreach ( $actions as $action ) {
			if ( ! in_array( $outcomes[ $action ]['status'] ?? '', self::RESOLVED, true ) ) {
				return $fallback;
			}
		}
		return self::STATUS_DONE;
	}

	/**
	 * Read-modify-write of one row under a row lock, so concurrent outcome reports and a drain never
	 * overwrite each other's changes.
	 *
	 * @param string   $id     Event id.
	 * @param callable $change Gets the decoded row, returns the columns to update or null for no change.
	 * @param int      $now    Unix seconds.
	 * @return array<string,mixed>|null The updated row, or null when missing or unchanged.
	 */
	private static function locked_update( string $id, callable $change, int $now ): ?array {
		global $wpdb;
		$table = self::table();
		$wpdb->query( 'START TRANSACTION' ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		$row = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$table} WHERE id = %s FOR UPDATE", $id ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( ! $row ) {
			$wpdb->query( 'ROLLBACK' ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			return null;
		}
		$fields = $change( self::decode( $row ) );
		if ( null === $fields ) {
			$wpdb->query( 'ROLLBACK' ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			return null;
		}
		$fields['updated_at'] = self::dt( $now );
		$wpdb->update( $table, $fields, array( 'id' => $id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		$wpdb->query( 'COMMIT' ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		return self::get( $id );
	}

	/**
	 * Decodes JSON columns and casts numbers.
	 *
	 * @param array<string,mixed> $row Raw row.
	 * @return array<string,mixed>
	 */
	private static function decode( array $row ): array {
		$row['attempts'] = (int) $row['attempts'];
		$row['order_id'] = null === $row['order_id'] ? null : (int) $row['order_id'];
		$actions         = null === $row['actions'] ? null : json_decode( $row['actions'], true );
		$row['actions']  = is_array( $actions ) ? $actions : null;
		$outcomes        = null === $row['outcomes'] ? array() : json_decode( $row['outcomes'], true );
		$row['outcomes'] = is_array( $outcomes ) ? $outcomes : array();
		return $row;
	}
}
