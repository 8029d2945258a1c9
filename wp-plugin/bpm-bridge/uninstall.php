<?php
/**
 * Uninstall: removes options, tables, the role, the bpm_bridge_manage capability, the API user's Application
 * Passwords, scheduled actions and cron hooks.
 * Order meta (_bpm_*, _billing_nip) stays: it is business data (invoice numbers, tax ids); so do consent records
 * (order and user meta _bpm_marketing_consent): the proof of what a customer agreed to.
 *
 * @package BPM_Bridge
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

require_once __DIR__ . '/includes/autoload.php';

// A closure, not a function: nothing is declared globally by an uninstall run.
$bpm_bridge_uninstall_site = static function () {
	global $wpdb;

	\BPM_Bridge\Dispatcher::unschedule_all();

	// The API user keeps its account (an admin may delete it), but loses the role and every Application
	// Password: the account exists only for the sidecar, so no password of it is anyone else's.
	$user_id = \BPM_Bridge\Role::api_user_id();
	if ( $user_id && class_exists( 'WP_Application_Passwords' ) ) {
		WP_Application_Passwords::delete_all_application_passwords( $user_id );
	}
	\BPM_Bridge\Role::remove();
	\BPM_Bridge\Capabilities::revoke_all();

	foreach ( \BPM_Bridge\Options::all_names() as $name ) {
		delete_option( $name );
	}
	delete_option( \BPM_Bridge\Kick::PAUSE_OPTION );
	delete_option( \BPM_Bridge\Returns\Account::REWRITE_OPTION );
	// Complaint photos belong to the returns being dropped below.
	\BPM_Bridge\Returns\Photos::remove_all();
	delete_option( \BPM_Bridge\Crm\Consent::ENABLED_OPTION );
	// With the CRM connection gone there is nothing left to hold an erased person back from.
	delete_option( \BPM_Bridge\Crm\Suppression::OPTION );
	delete_option( \BPM_Bridge\Crm\Eraser::KEPT_OPTION );
	// The settings WooCommerce keeps for the return e-mails (WooCommerce → Settings → Emails).
	foreach ( array_keys( \BPM_Bridge\Returns\Emails::CLASSES ) as $bpm_email ) {
		delete_option( 'woocommerce_' . $bpm_email . '_settings' );
	}
	$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s", $wpdb->esc_like( '_transient_bpm_bridge_' ) . '%', $wpdb->esc_like( '_transient_timeout_bpm_bridge_' ) . '%' ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery

	$wpdb->query( 'DROP TABLE IF EXISTS ' . \BPM_Bridge\Installer::outbox_table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.NotPrepared
	$wpdb->query( 'DROP TABLE IF EXISTS ' . \BPM_Bridge\Installer::rma_table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.NotPrepared
	$wpdb->query( 'DROP TABLE IF EXISTS ' . \BPM_Bridge\Installer::rma_events_table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.NotPrepared
	$wpdb->query( 'DROP TABLE IF EXISTS ' . \BPM_Bridge\Rest\Replay_Guard::table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.NotPrepared
};

if ( is_multisite() ) {
	// get_sites() returns 100 sites unless told otherwise; every site has its own tables and options.
	$bpm_bridge_site_ids = get_sites(
		array(
			'fields' => 'ids',
			'number' => 0,
		)
	);
	foreach ( $bpm_bridge_site_ids as $bpm_bridge_site_id ) {
		switch_to_blog( $bpm_bridge_site_id );
		$bpm_bridge_uninstall_site();
		restore_current_blog();
	}
} else {
	$bpm_bridge_uninstall_site();
}
