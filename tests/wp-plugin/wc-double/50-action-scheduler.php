<?php
/**
 * WooCommerce double: Action Scheduler's public functions (action-scheduler/functions.php, AS 3.6+ signatures).
 *
 * Actions live in one table. They run like Action Scheduler runs them: `do_action_ref_array( $hook, array_values(
 * $args ) )`, one claim per action, a Throwable marks the action failed; recurring actions schedule their next
 * run. Runners: WP-Cron hook `action_scheduler_run_queue` on the 'every_minute' schedule (as Action Scheduler
 * registers it), the async request runner (`admin-ajax.php?action=as_async_request_queue_runner`, dispatched
 * non-blocking on 'shutdown' of an admin request that queued an async action — like AS, never from a front-end
 * request), and, for tests only, `POST /wp-json/wc-double/v1/run-queue` (80-sandbox.php).
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

/**
 * Table name.
 *
 * @return string
 */
function bpm_wc_double_as_table() {
	global $wpdb;
	return $wpdb->prefix . 'bpm_wc_double_actions';
}

/**
 * Whether a pending or running action matches hook (+ args, + group).
 *
 * @param string     $hook  Hook.
 * @param array|null $args  Args, null for any.
 * @param string     $group Group, '' for any.
 * @return object|null The row.
 */
function bpm_wc_double_as_find( $hook, $args = null, $group = '' ) {
	global $wpdb;
	$table = bpm_wc_double_as_table();
	$sql   = $wpdb->prepare( "SELECT * FROM {$table} WHERE hook = %s AND status IN ('pending','in-progress')", $hook ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	if ( null !== $args ) {
		$sql .= $wpdb->prepare( ' AND args = %s', wp_json_encode( $args ) );
	}
	if ( '' !== $group ) {
		$sql .= $wpdb->prepare( ' AND group_slug = %s', $group );
	}
	return $wpdb->get_row( $sql . ' ORDER BY scheduled_date_gmt ASC, action_id ASC LIMIT 1' ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
}

/**
 * Store an action; returns its id (0 when $unique and one exists).
 *
 * @param int    $timestamp Run at.
 * @param int    $interval  Recurrence (0 = once).
 * @param string $hook      Hook.
 * @param array  $args      Args.
 * @param string $group     Group.
 * @param bool   $unique    Refuse when a pending/running action with this hook (+group) exists.
 * @param int    $priority  Priority 0-255, lower first.
 * @return int
 */
function bpm_wc_double_as_store( $timestamp, $interval, $hook, $args, $group, $unique, $priority ) {
	global $wpdb;
	if ( ! did_action( 'init' ) && ! doing_action( 'init' ) ) {
		// Action Scheduler's data store is not ready before 'init' (ActionScheduler::is_initialized()).
		_doing_it_wrong( esc_html( $hook ), 'Action Scheduler function called before the data store was initialized (before init).', '3.6.0' );
		return 0;
	}
	if ( $unique && bpm_wc_double_as_find( $hook, null, $group ) ) {
		return 0;
	}
	$wpdb->insert(
		bpm_wc_double_as_table(),
		array(
			'hook'               => $hook,
			'status'             => 'pending',
			'scheduled_date_gmt' => gmdate( 'Y-m-d H:i:s', (int) $timestamp ),
			'schedule_interval'  => (int) $interval,
			'priority'           => max( 0, min( 255, (int) $priority ) ),
			'args'               => wp_json_encode( $args ),
			'group_slug'         => (string) $group,
		)
	);
	$id = (int) $wpdb->insert_id;
	if ( $timestamp <= time() ) {
		$GLOBALS['bpm_wc_double_as_async_queued'] = true;
	}
	return $id;
}

/**
 * Enqueue an action to run as soon as possible.
 *
 * @param string $hook     Hook.
 * @param array  $args     Args.
 * @param string $group    Group.
 * @param bool   $unique   Unique.
 * @param int    $priority Priority.
 * @return int Action id, 0 on failure.
 */
function as_enqueue_async_action( $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
	return bpm_wc_double_as_store( time(), 0, $hook, $args, $group, $unique, $priority );
}

/**
 * Schedule an action to run once.
 *
 * @param int    $timestamp When.
 * @param string $hook      Hook.
 * @param array  $args      Args.
 * @param string $group     Group.
 * @param bool   $unique    Unique.
 * @param int    $priority  Priority.
 * @return int
 */
function as_schedule_single_action( $timestamp, $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
	return bpm_wc_double_as_store( $timestamp, 0, $hook, $args, $group, $unique, $priority );
}

/**
 * Schedule a recurring action.
 *
 * @param int    $timestamp           First run.
 * @param int    $interval_in_seconds Interval.
 * @param string $hook                Hook.
 * @param array  $args                Args.
 * @param string $group               Group.
 * @param bool   $unique              Unique.
 * @param int    $priority            Priority.
 * @return int
 */
function as_schedule_recurring_action( $timestamp, $interval_in_seconds, $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
	if ( (int) $interval_in_seconds <= 0 ) {
		_doing_it_wrong( __FUNCTION__, 'Recurring action interval must be a positive integer.', '3.6.0' );
		return 0;
	}
	return bpm_wc_double_as_store( $timestamp, $interval_in_seconds, $hook, $args, $group, $unique, $priority );
}

/**
 * Cancel the next pending occurrence; returns its scheduled timestamp or null.
 *
 * @param string $hook  Hook.
 * @param array  $args  Args.
 * @param string $group Group.
 * @return int|null
 */
function as_unschedule_action( $hook, $args = array(), $group = '' ) {
	global $wpdb;
	$row = bpm_wc_double_as_find( $hook, $args, $group );
	if ( ! $row || 'pending' !== $row->status ) {
		return null;
	}
	$wpdb->update( bpm_wc_double_as_table(), array( 'status' => 'canceled' ), array( 'action_id' => $row->action_id ) );
	return strtotime( $row->scheduled_date_gmt . ' UTC' );
}

/**
 * Cancel all pending occurrences.
 *
 * @param string     $hook  Hook.
 * @param array|null $args  Args (empty array or null: any).
 * @param string     $group Group.
 */
function as_unschedule_all_actions( $hook, $args = array(), $group = '' ) {
	global $wpdb;
	$table = bpm_wc_double_as_table();
	$sql   = $wpdb->prepare( "UPDATE {$table} SET status = 'canceled' WHERE status = 'pending' AND hook = %s", $hook ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	if ( ! empty( $args ) ) {
		$sql .= $wpdb->prepare( ' AND args = %s', wp_json_encode( $args ) );
	}
	if ( '' !== $group ) {
		$sql .= $wpdb->prepare( ' AND group_slug = %s', $group );
	}
	$wpdb->query( $sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
}

/**
 * Next run: timestamp of a pending action, true for a due/async or running one, false for none.
 *
 * @param string     $hook  Hook.
 * @param array|null $args  Args.
 * @param string     $group Group.
 * @return int|bool
 */
function as_next_scheduled_action( $hook, $args = null, $group = '' ) {
	$row = bpm_wc_double_as_find( $hook, $args, $group );
	if ( ! $row ) {
		return false;
	}
	$ts = strtotime( $row->scheduled_date_gmt . ' UTC' );
	return ( 'in-progress' === $row->status || $ts <= time() ) ? true : $ts;
}

/**
 * Whether a pending or running action exists.
 *
 * @param string     $hook  Hook.
 * @param array|null $args  Args.
 * @param string     $group Group.
 * @return bool
 */
function as_has_scheduled_action( $hook, $args = null, $group = '' ) {
	return null !== bpm_wc_double_as_find( $hook, $args, $group );
}

/**
 * Scheduled actions (as_get_scheduled_actions; supports hook, args, group, status, per_page; returns ids).
 *
 * @param array  $args          Query.
 * @param string $return_format Format: 'ids', or OBJECT/ARRAY_A for rows.
 * @return array
 */
function as_get_scheduled_actions( $args = array(), $return_format = OBJECT ) {
	global $wpdb;
	$table = bpm_wc_double_as_table();
	$where = array( '1=1' );
	foreach ( array( 'hook' => 'hook', 'group' => 'group_slug', 'status' => 'status' ) as $arg => $column ) {
		if ( isset( $args[ $arg ] ) && '' !== $args[ $arg ] ) {
			$where[] = $wpdb->prepare( "{$column} = %s", $args[ $arg ] ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		}
	}
	if ( isset( $args['args'] ) ) {
		$where[] = $wpdb->prepare( 'args = %s', wp_json_encode( $args['args'] ) );
	}
	$limit = isset( $args['per_page'] ) ? (int) $args['per_page'] : 5;
	$rows  = $wpdb->get_results( "SELECT * FROM {$table} WHERE " . implode( ' AND ', $where ) . ' ORDER BY action_id' . ( $limit > 0 ? " LIMIT {$limit}" : '' ) ); // phpcs:ignore WordPress.DB.PreparedSQL
	$out   = array();
	foreach ( $rows as $row ) {
		$out[ (int) $row->action_id ] = 'ids' === $return_format ? (int) $row->action_id : $row;
	}
	return $out;
}

/**
 * Run due actions (the queue runner). Returns how many ran.
 *
 * @param int $limit Batch size.
 * @return int
 */
function bpm_wc_double_as_run_due( $limit = 25 ) {
	global $wpdb;
	$table = bpm_wc_double_as_table();
	$ran   = 0;
	$rows  = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM {$table} WHERE status = 'pending' AND scheduled_date_gmt <= %s ORDER BY priority ASC, scheduled_date_gmt ASC, action_id ASC LIMIT %d", gmdate( 'Y-m-d H:i:s' ), $limit ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	foreach ( $rows as $row ) {
		// Claim: only one runner (cron, async request, test route) may run an action.
		$claimed = $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET status = 'in-progress', attempts = attempts + 1 WHERE action_id = %d AND status = 'pending'", $row->action_id ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( 1 !== (int) $claimed ) {
			continue;
		}
		$status = 'complete';
		$error  = null;
		try {
			do_action( 'action_scheduler_before_execute', (int) $row->action_id, 'WP Cron' );
			do_action_ref_array( $row->hook, array_values( (array) json_decode( $row->args, true ) ) );
		} catch ( Throwable $e ) {
			$status = 'failed';
			$error  = get_class( $e ) . ': ' . $e->getMessage();
			error_log( "Action Scheduler double: action {$row->action_id} ({$row->hook}) failed: {$error}" ); // phpcs:ignore Generic.PHP.ForbiddenFunctions.Found, Squiz.PHP.DiscouragedFunctions.Discouraged -- the test site's debug.log.
		}
		$wpdb->update(
			$table,
			array(
				'status'     => $status,
				'last_error' => $error,
			),
			array( 'action_id' => $row->action_id )
		);
		if ( (int) $row->schedule_interval > 0 ) {
			bpm_wc_double_as_store( strtotime( $row->scheduled_date_gmt . ' UTC' ) + (int) $row->schedule_interval, (int) $row->schedule_interval, $row->hook, json_decode( $row->args, true ), $row->group_slug, false, (int) $row->priority );
		}
		++$ran;
	}
	return $ran;
}

add_filter(
	'cron_schedules', // phpcs:ignore WordPress.WP.CronInterval
	static function ( $schedules ) {
		$schedules['every_minute'] = array(
			'interval' => 60,
			'display'  => 'Every minute',
		);
		return $schedules;
	}
);

add_action(
	'init',
	static function () {
		if ( ! wp_installing() && ! wp_next_scheduled( 'action_scheduler_run_queue', array( 'WP Cron' ) ) ) {
			wp_schedule_event( time(), 'every_minute', 'action_scheduler_run_queue', array( 'WP Cron' ) );
		}
	}
);

add_action(
	'action_scheduler_run_queue',
	static function () {
		bpm_wc_double_as_run_due();
	}
);

add_action(
	'wp_ajax_as_async_request_queue_runner',
	static function () {
		check_ajax_referer( 'as_async_request_queue_runner', 'nonce' );
		bpm_wc_double_as_run_due();
		wp_die( '', '', array( 'response' => 200 ) );
	}
);

add_action(
	'shutdown',
	static function () {
		if ( empty( $GLOBALS['bpm_wc_double_as_async_queued'] ) || ! is_admin() || wp_doing_ajax() ) {
			return;
		}
		// Non-blocking loopback to the async runner, as ActionScheduler_AsyncRequest_QueueRunner dispatches it.
		wp_remote_post(
			admin_url( 'admin-ajax.php' ),
			array(
				'timeout'   => 0.01,
				'blocking'  => false,
				'sslverify' => false,
				'cookies'   => $_COOKIE, // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
				'body'      => array(
					'action' => 'as_async_request_queue_runner',
					'nonce'  => wp_create_nonce( 'as_async_request_queue_runner' ),
				),
			)
		);
	}
);
