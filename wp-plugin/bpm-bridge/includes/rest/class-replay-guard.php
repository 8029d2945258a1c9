<?php
/**
 * The replay guard: each signed request's message id is accepted once.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Contract;

defined( 'ABSPATH' ) || exit;

/**
 * Used message ids live in a small table of their own (one row per id with its expiry), not in wp_options:
 * every signed request would otherwise leave rows in the autoloaded options until WordPress' daily cleanup.
 * The primary key makes "check and mark" one statement, so copies of a request sent at the same moment cannot
 * all find the id unused.
 */
final class Replay_Guard {

	/**
	 * Expired rows removed per request, so the cleanup costs little and the table cannot grow without bound.
	 */
	const PURGE_BATCH = 200;

	/**
	 * Table name.
	 */
	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'bpm_bridge_replay';
	}

	/**
	 * The table definition for the installer's dbDelta (one column per line, two spaces after PRIMARY KEY).
	 *
	 * @param string $charset_collate The result of $wpdb->get_charset_collate().
	 */
	public static function schema( string $charset_collate ): string {
		$table = self::table();
		return "CREATE TABLE {$table} (
  msg_hash char(64) NOT NULL,
  expires_at bigint(20) unsigned NOT NULL,
  PRIMARY KEY  (msg_hash),
  KEY expires_at (expires_at)
) {$charset_collate};";
	}

	/**
	 * Marks a verified message id as used, or refuses it when it already was.
	 *
	 * @param string   $msg_id Verified message id.
	 * @param int|null $now    Unix seconds (tests).
	 * @return true|\WP_Error
	 */
	public static function use_id( string $msg_id, ?int $now = null ) {
		global $wpdb;
		$now   = $now ?? time();
		$table = self::table();
		self::purge( $now );
		// INSERT IGNORE: 1 row for a fresh id, 0 for a used one (the primary key refuses it atomically).
		$inserted = $wpdb->query( $wpdb->prepare( "INSERT IGNORE INTO {$table} (msg_hash, expires_at) VALUES (%s, %d)", hash( 'sha256', $msg_id ), $now + Contract::replay_window() ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( false === $inserted ) {
			// Fail closed: without the table nothing tells a replay from a fresh request.
			return Controller::error( 'bpm_bridge_busy', __( 'The replay guard is not available (database upgrade pending?); try again.', 'bpm-bridge' ), 503 );
		}
		if ( 1 !== (int) $inserted ) {
			return Controller::error( 'bpm_bridge_bad_signature', __( 'This message id was already used.', 'bpm-bridge' ), 401 );
		}
		return true;
	}

	/**
	 * Removes expired ids (a batch of them).
	 *
	 * @param int|null $now Unix seconds (tests).
	 * @return int Rows removed.
	 */
	public static function purge( ?int $now = null ): int {
		global $wpdb;
		$table = self::table();
		return (int) $wpdb->query( $wpdb->prepare( "DELETE FROM {$table} WHERE expires_at < %d LIMIT %d", $now ?? time(), self::PURGE_BATCH ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}
}
