<?php
/**
 * The durable event outbox: one row per event, pending → sent → done | failed.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Storage and state machine of outbox rows. No network and no knowledge of delivery here: the outbox
 * announces new and retried rows through actions, and whoever delivers listens (Plugin wires the Dispatcher).
 *
 * All times are UTC 'Y-m-d H:i:s'. Methods that depend on the clock take an optional $now (Unix
 * seconds) so the state machine can be tested without waiting.
 */
final class Outbox {

	/**
	 * Names for the statuses of contract.json's `outbox_statuses` (OutboxTest checks they are that list).
	 */
	const STATUS_PENDING = 'pending';
	const STATUS_SENT    = 'sent';
	const STATUS_DONE    = 'done';
	const STATUS_FAILED  = 'failed';

	/**
	 * Statuses a drain may still deliver: never sent, or sent without every outcome yet.
	 */
	const DELIVERABLE = array( self::STATUS_PENDING, self::STATUS_SENT );

	/**
	 * A delivered event whose actions have not all reported by then is sent again (the sidecar answers
	 * "duplicate" and re-queues only jobs it lost).
	 */
	const RESEND_AFTER = 1800;

	/**
	 * Rows one purge DELETE removes: small enough not to hold locks for long on a busy table.
	 */
	const PURGE_BATCH = 5000;

	/**
	 * How long a drain owns a claimed row; a crashed drain's rows become claimable again after it.
	 */
	const LEASE = 120;

	/**
	 * Every row status, in lifecycle order (contract.json).
	 *
	 * @return string[]
	 */
	public static function statuses(): array {
		return Contract::outbox_statuses();
	}

	/**
	 * Delivery keeps retrying this long (contract.json's retry window) before a row is marked failed; it is
	 * never auto-disabled.
	 */
	public static function give_up_after(): int {
		return Contract::retry_window_seconds();
	}

	/**
	 * Table name (the prefix only from $wpdb: WordPress 6.1 has no %i placeholder). The installer creates it.
	 */
	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'bpm_bridge_outbox';
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
	 * Records an event: one INSERT and the `bpm_bridge_event_added` action. Delivery is someone else's job
	 * (the composition root hooks the dispatcher to that action); nothing here touches the network, so it is
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
			'expires_at'      => self::dt( $now + self::give_up_after() ),
			'created_at'      => self::dt( $now ),
			'updated_at'      => self::dt( $now ),
		);
		$format = array( '%s', '%s', '%d', '%s', '%s', '%d', '%s', '%s', '%s', '%s' );
		if ( false === $wpdb->insert( self::table(), $row, $format ) ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			// A missing or outdated table (files updated, upgrade not run yet) must not cost the event: whoever
			// owns the schema (Plugin wires the installer) repairs it, then the insert is tried once more.
			/**
			 * Fires when the outbox table refused an insert; the schema owner creates or upgrades the table.
			 */
			do_action( 'bpm_bridge_outbox_table_missing' );
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
		 * Fires after an event row is written (and is due for delivery).
		 *
		 * @param string $id   Event id.
		 * @param string $type Event type.
		 * @param array  $data Event data.
		 */
		do_action( 'bpm_bridge_event_added', $id, $type, $data );
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
		return (bool) $wpdb->get_var( $wpdb->prepare( "SELECT 1 FROM {$table} WHERE status IN (%s,%s) AND next_attempt_at <= %s AND ( claimed_until IS NULL OR claimed_until < %s ) LIMIT 1", self::STATUS_PENDING, self::STATUS_SENT, $now, $now ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
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
	 * @param string $status   One of statuses(), or '' for all.
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
		if ( in_array( $status, self::statuses(), true ) ) {
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
		$counts = array_fill_keys( self::statuses(), 0 );
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
				WHERE status IN (%s,%s) AND next_attempt_at <= %s
				AND ( claimed_until IS NULL OR claimed_until < %s )
				ORDER BY next_attempt_at ASC LIMIT %d", // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
				$token,
				self::dt( $now + self::LEASE ),
				self::STATUS_PENDING,
				self::STATUS_SENT,
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
				WHERE id = %s AND status IN (%s,%s) AND ( claimed_until IS NULL OR claimed_until < %s )", // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
				$token,
				self::dt( $now + self::LEASE ),
				$id,
				self::STATUS_PENDING,
				self::STATUS_SENT,
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
					/* translators: %d: the retry window in hours (72) */
					$error = sprintf( __( 'The sidecar accepted the event but reported no outcome within %d hours.', 'bpm-bridge' ), Contract::retry_window_hours() );
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
					/* translators: 1: the retry window in hours (72), 2: the last delivery error */
					'last_error'      => $give_up ? sprintf( __( 'Gave up after %1$d hours of retries. Last error: %2$s', 'bpm-bridge' ), Contract::retry_window_hours(), $error ) : $error,
					'claim_token'     => null,
					'claimed_until'   => null,
				);
			},
			$now
		);
	}

	/**
	 * After a permanent failure (a status contract.json's transient rule does not list): failed, kept for the
	 * admin.
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
	 * Puts a row back to pending for another delivery now (admin "Retry"), as a redelivery: the row's
	 * `redelivery` counter goes up by one and the envelope carries it, so the sidecar re-runs every action
	 * that is not finished instead of answering "duplicate" (docs/contract.md, plan §6). Finished actions
	 * keep their outcome; failed or retrying ones are forgotten so they can report again. The retry window
	 * restarts. Fires `bpm_bridge_event_retried`.
	 *
	 * @param string   $id  Event id.
	 * @param int|null $now Unix seconds (tests).
	 * @return bool Whether the row was reset.
	 */
	public static function retry( string $id, ?int $now = null ): bool {
		$redelivery = self::redeliver( $id, $now ?? time() );
		if ( null === $redelivery ) {
			return false;
		}
		/**
		 * Fires after a person asked for an event to be delivered again; the row is due now.
		 *
		 * @param string $id         Event id.
		 * @param int    $redelivery The row's redelivery counter (1 after the first Retry).
		 */
		do_action( 'bpm_bridge_event_retried', $id, $redelivery );
		return true;
	}

	/**
	 * Retries every failed row (admin "Retry all failed"); `bpm_bridge_event_retried` fires once, for the
	 * last of them, which is all a drain needs to start.
	 *
	 * @param int|null $now Unix seconds (tests).
	 * @return int How many rows were reset.
	 */
	public static function retry_all_failed( ?int $now = null ): int {
		global $wpdb;
		$now   = $now ?? time();
		$table = self::table();
		$ids   = $wpdb->get_col( $wpdb->prepare( "SELECT id FROM {$table} WHERE status = %s LIMIT 1000", self::STATUS_FAILED ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$count = 0;
		$last  = null;
		foreach ( $ids as $id ) {
			$redelivery = self::redeliver( $id, $now );
			if ( null !== $redelivery ) {
				++$count;
				$last = array( $id, $redelivery );
			}
		}
		if ( null !== $last ) {
			/** This action is documented in retry(). */
			do_action( 'bpm_bridge_event_retried', $last[0], $last[1] );
		}
		return $count;
	}

	/**
	 * The reset behind retry(): one locked read-modify-write.
	 *
	 * @param string $id  Event id.
	 * @param int    $now Unix seconds.
	 * @return int|null The new redelivery counter, or null when the row is missing or done.
	 */
	private static function redeliver( string $id, int $now ): ?int {
		$result = self::locked_update(
			$id,
			static function ( array $current ) use ( $now ) {
				if ( self::STATUS_DONE === $current['status'] ) {
					return null;
				}
				$resolved = Contract::resolved_outcomes();
				$outcomes = array_filter(
					$current['outcomes'],
					static function ( $outcome ) use ( $resolved ) {
						return in_array( $outcome['status'] ?? '', $resolved, true );
					}
				);
				$redelivery = $current['redelivery'] + 1;
				return array(
					'status'          => self::STATUS_PENDING,
					'redelivery'      => $redelivery,
					'payload'         => self::with_redelivery( (string) $current['payload'], $redelivery ),
					'next_attempt_at' => self::dt( $now ),
					'expires_at'      => self::dt( $now + self::give_up_after() ),
					'outcomes'        => $outcomes ? wp_json_encode( $outcomes, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) : null,
					'claim_token'     => null,
					'claimed_until'   => null,
				);
			},
			$now
		);
		return $result ? $result['redelivery'] : null;
	}

	/**
	 * The stored envelope with its top-level `redelivery` set: the stored payload stays exactly what is sent.
	 *
	 * @param string $payload    Stored envelope (JSON).
	 * @param int    $redelivery Counter, from 1.
	 */
	private static function with_redelivery( string $payload, int $redelivery ): string {
		// Decoded as objects, so an empty `data` stays {} when encoded again.
		$envelope = json_decode( $payload );
		if ( ! is_object( $envelope ) ) {
			return $payload;
		}
		$envelope->redelivery = $redelivery;
		return (string) wp_json_encode( $envelope, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE );
	}

	/**
	 * Catch-up after an outage: makes every pending row that waits out a backoff (or a Retry-After) due now.
	 * Called once a delivery has succeeded: the sidecar is back, so no grown backoff should keep a row
	 * waiting for hours. Attempt counts stay as the record; rows a drain holds are left alone.
	 *
	 * @param int|null $now Unix seconds (tests).
	 * @return int Rows made due.
	 */
	public static function wake_waiting( ?int $now = null ): int {
		global $wpdb;
		$now   = self::dt( $now ?? time() );
		$table = self::table();
		return (int) $wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->prepare(
				"UPDATE {$table} SET next_attempt_at = %s, updated_at = %s
				WHERE status = %s AND next_attempt_at > %s AND ( claimed_until IS NULL OR claimed_until < %s )", // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
				$now,
				$now,
				self::STATUS_PENDING,
				$now,
				$now
			)
		);
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
		$resolved = Contract::resolved_outcomes();
		foreach ( $actions as $action ) {
			if ( ! in_array( $outcomes[ $action ]['status'] ?? '', $resolved, true ) ) {
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
		$row['attempts']   = (int) $row['attempts'];
		$row['redelivery'] = (int) ( $row['redelivery'] ?? 0 );
		$row['order_id'] = null === $row['order_id'] ? null : (int) $row['order_id'];
		$actions         = null === $row['actions'] ? null : json_decode( $row['actions'], true );
		$row['actions']  = is_array( $actions ) ? $actions : null;
		$outcomes        = null === $row['outcomes'] ? array() : json_decode( $row['outcomes'], true );
		$row['outcomes'] = is_array( $outcomes ) ? $outcomes : array();
		return $row;
	}
}
