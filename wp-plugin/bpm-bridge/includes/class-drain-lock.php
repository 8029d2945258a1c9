<?php
/**
 * One drain at a time per site.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * A named database lock (GET_LOCK, MySQL and MariaDB). It belongs to this request's database connection, so
 * a drain that dies (fatal error, killed worker, timeout) frees it with its connection: nothing to expire,
 * nothing stale to clean up. The outbox's claims stay the guarantee against double sending; the lock only
 * keeps concurrent kicks from running parallel drains (and parallel timeouts against a hanging sidecar).
 */
final class Drain_Lock {

	/**
	 * Whether this request holds the lock.
	 *
	 * @var boolean
	 */
	private static $held = false;

	/**
	 * Takes the lock without waiting.
	 *
	 * @return bool Whether this request holds it now.
	 */
	public static function acquire(): bool {
		global $wpdb;
		if ( self::$held ) {
			return true;
		}
		$got = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK( %s, 0 )', self::name() ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		if ( null === $got ) {
			// No named locks here (an error, or a database layer that lacks them): drain anyway, the claims
			// still keep rows from being sent twice. Never deliver nothing because of a missing lock.
			return true;
		}
		self::$held = '1' === (string) $got;
		return self::$held;
	}

	/**
	 * Lets the lock go.
	 */
	public static function release(): void {
		global $wpdb;
		if ( self::$held ) {
			$wpdb->get_var( $wpdb->prepare( 'SELECT RELEASE_LOCK( %s )', self::name() ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			self::$held = false;
		}
	}

	/**
	 * Lock names are server-wide: the database and table prefix keep sites on one server apart (64 chars max).
	 */
	public static function name(): string {
		global $wpdb;
		return 'bpm_bridge_drain_' . substr( md5( $wpdb->dbname . '|' . $wpdb->prefix ), 0, 24 );
	}
}
