<?php
/**
 * Tables, roles, capabilities, stored-settings migrations and schedules: activation, upgrades, deactivation.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Schema owner. Bump DB_VERSION with every change of the tables or of the stored settings' shape; maybe_upgrade()
 * then migrates the settings (Settings\Migration) and re-runs dbDelta.
 */
final class Installer {

	const DB_VERSION = '3';

	/**
	 * The outbox table name (prefix only from $wpdb: WordPress 6.1 has no %i placeholder).
	 */
	public static function outbox_table(): string {
		return Outbox::table();
	}

	/**
	 * The RMA table name.
	 */
	public static function rma_table(): string {
		global $wpdb;
		return $wpdb->prefix . 'bpm_bridge_rmas';
	}

	/**
	 * The RMA timeline table name (one row per step a return went through).
	 */
	public static function rma_events_table(): string {
		global $wpdb;
		return $wpdb->prefix . 'bpm_bridge_rma_events';
	}

	/**
	 * Activation and upgrade: stored settings migrated to the current shape, tables, roles and capabilities,
	 * safety-net schedule.
	 */
	public static function activate(): void {
		// Before install_schema() records the new version: the migration reads the stored one.
		Settings\Migration::run( (string) get_option( Options::DB_VERSION, '' ) );
		self::install_schema();
		Role::ensure();
		Capabilities::grant();
		Dispatcher::schedule_cron();
	}

	/**
	 * Deactivation stops the schedules; data, role and options stay until uninstall.
	 */
	public static function deactivate(): void {
		Dispatcher::unschedule_all();
	}

	/**
	 * Runs on every load; cheap when the schema is current (one autoloaded option read).
	 */
	public static function maybe_upgrade(): void {
		if ( get_option( Options::DB_VERSION ) !== self::DB_VERSION ) {
			self::activate();
		}
	}

	/**
	 * Creates or upgrades both tables with dbDelta.
	 */
	public static function install_schema(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$charset = $wpdb->get_charset_collate();
		$outbox  = self::outbox_table();
		$rmas    = self::rma_table();

		// dbDelta is picky: one column per line, two spaces after PRIMARY KEY, KEY not INDEX.
		dbDelta(
			"CREATE TABLE {$outbox} (
  id char(36) NOT NULL,
  event_type varchar(64) NOT NULL,
  order_id bigint(20) unsigned DEFAULT NULL,
  payload longtext NOT NULL,
  status varchar(16) NOT NULL DEFAULT 'pending',
  attempts int(10) unsigned NOT NULL DEFAULT 0,
  redelivery int(10) unsigned NOT NULL DEFAULT 0,
  next_attempt_at datetime DEFAULT NULL,
  expires_at datetime DEFAULT NULL,
  claim_token char(36) DEFAULT NULL,
  claimed_until datetime DEFAULT NULL,
  last_error text DEFAULT NULL,
  actions text DEFAULT NULL,
  outcomes longtext DEFAULT NULL,
  created_at datetime NOT NULL,
  updated_at datetime NOT NULL,
  sent_at datetime DEFAULT NULL,
  PRIMARY KEY  (id),
  KEY status_next (status,next_attempt_at),
  KEY order_id (order_id),
  KEY created_at (created_at)
) {$charset};"
		);
		dbDelta(
			"CREATE TABLE {$rmas} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  order_id bigint(20) unsigned NOT NULL,
  status varchar(20) NOT NULL DEFAULT 'requested',
  items longtext NOT NULL,
  label text DEFAULT NULL,
  label_pdf longtext DEFAULT NULL,
  customer_note text DEFAULT NULL,
  kind varchar(20) NOT NULL DEFAULT 'withdrawal',
  method varchar(20) NOT NULL DEFAULT 'own',
  point varchar(32) DEFAULT NULL,
  customer_id bigint(20) unsigned NOT NULL DEFAULT 0,
  email varchar(190) NOT NULL DEFAULT '',
  iban text DEFAULT NULL,
  photos text DEFAULT NULL,
  meta longtext DEFAULT NULL,
  decision_note text DEFAULT NULL,
  refund_id bigint(20) unsigned DEFAULT NULL,
  due_at datetime DEFAULT NULL,
  created_at datetime NOT NULL,
  updated_at datetime NOT NULL,
  PRIMARY KEY  (id),
  KEY order_id (order_id),
  KEY status (status),
  KEY status_due (status,due_at)
) {$charset};"
		);
		$events = self::rma_events_table();
		dbDelta(
			"CREATE TABLE {$events} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  rma_id bigint(20) unsigned NOT NULL,
  created_at datetime NOT NULL,
  actor varchar(20) NOT NULL DEFAULT 'system',
  event varchar(40) NOT NULL,
  message text NOT NULL,
  public tinyint(1) NOT NULL DEFAULT 1,
  PRIMARY KEY  (id),
  KEY rma_id (rma_id,id)
) {$charset};"
		);
		// Used request message ids (the REST replay guard), kept out of wp_options.
		dbDelta( Rest\Replay_Guard::schema( $charset ) );
		update_option( Options::DB_VERSION, self::DB_VERSION, true );
	}
}
