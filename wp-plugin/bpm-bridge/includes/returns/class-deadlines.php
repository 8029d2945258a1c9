<?php
/**
 * The legal deadlines of returns: what is due when, and which returns are late.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Capabilities;
use BPM_Bridge\Installer;
use BPM_Bridge\Outbox;

defined( 'ABSPATH' ) || exit;

/**
 * Polish consumer law gives the shop 14 days from the request: to answer a complaint (after that it is deemed
 * accepted) and to refund a withdrawal. Rma::create() stores that date as due_at; this class decides while
 * which statuses the clock runs and flags late and nearly late returns. A term of days ends with its last day
 * (art. 111 § 1 k.c.): the due date counts until 23:59:59 of that day in the shop's time zone, and "days left"
 * are calendar days there.
 */
final class Deadlines {

	/**
	 * Days before the due date from which a return is flagged as due soon.
	 */
	const SOON_DAYS = 3;

	/**
	 * Kind => the statuses in which the shop still owes what the deadline is about (a complaint is answered by
	 * approving or rejecting it; a withdrawal is settled by the refund or a rejection).
	 */
	const RUNNING = array(
		'complaint'  => array( 'requested' ),
		'withdrawal' => array( 'requested', 'approved', 'label_ready', 'arrived', 'received' ),
	);

	/**
	 * Transient caching the overdue count for the admin notice.
	 */
	const COUNT_TRANSIENT = 'bpm_bridge_rma_overdue_count';

	/**
	 * Hooks in.
	 */
	public static function register(): void {
		add_action( 'admin_notices', array( self::class, 'notice' ) );
		add_action( 'bpm_bridge_rma_created', array( self::class, 'forget_count' ) );
		add_action( 'bpm_bridge_rma_status_changed', array( self::class, 'forget_count' ) );
	}

	/**
	 * A return's deadline state.
	 *
	 * @param array<string, mixed> $rma Rma::get() shape (kind, status, due_at ISO-8601).
	 * @param int|null             $now Unix time; now when null.
	 * @return array{due_at: int|null, running: bool, days_left: int|null, flag: string, what: string}
	 *         flag: overdue, soon or ''.
	 */
	public static function state( array $rma, ?int $now = null ): array {
		$now     = $now ?? time();
		$kind    = 'complaint' === ( $rma['kind'] ?? '' ) ? 'complaint' : 'withdrawal';
		$stored  = empty( $rma['due_at'] ) ? false : strtotime( (string) $rma['due_at'] );
		$due     = false === $stored ? null : self::end_of_day( (int) $stored );
		$running = null !== $due && in_array( (string) ( $rma['status'] ?? '' ), self::RUNNING[ $kind ], true );
		$days    = null === $due ? null : self::calendar_days( $now, $due );
		$flag    = '';
		if ( $running && $due < $now ) {
			$flag = 'overdue';
		} elseif ( $running && $days <= self::SOON_DAYS ) {
			$flag = 'soon';
		}
		return array(
			'due_at'    => $due,
			'running'   => $running,
			'days_left' => $days,
			'flag'      => $flag,
			'what'      => 'complaint' === $kind ? __( 'answer the complaint', 'bpm-bridge' ) : __( 'refund the withdrawal', 'bpm-bridge' ),
		);
	}

	/**
	 * The deadline in words for lists: "overdue by 2 days", "due in 3 days", "due today" or "met".
	 *
	 * @param array<string, mixed> $state The state() answer.
	 * @param int|null             $now   Unix time.
	 */
	public static function describe( array $state, ?int $now = null ): string {
		if ( null === $state['due_at'] ) {
			return '';
		}
		if ( ! $state['running'] ) {
			return __( 'no longer running', 'bpm-bridge' );
		}
		$now = $now ?? time();
		if ( 'overdue' === $state['flag'] ) {
			$late = max( 1, self::calendar_days( (int) $state['due_at'], $now ) );
			/* translators: %d: number of days. */
			return sprintf( _n( 'overdue by %d day', 'overdue by %d days', $late, 'bpm-bridge' ), $late );
		}
		$left = (int) $state['days_left'];
		if ( $left < 1 ) {
			return __( 'due today', 'bpm-bridge' );
		}
		/* translators: %d: number of days. */
		return sprintf( _n( 'due in %d day', 'due in %d days', $left, 'bpm-bridge' ), $left );
	}

	/**
	 * The end (23:59:59, shop time zone) of the day a moment falls on.
	 *
	 * @param int $time Unix time.
	 */
	public static function end_of_day( int $time ): int {
		return ( new \DateTimeImmutable( '@' . $time ) )->setTimezone( wp_timezone() )->setTime( 23, 59, 59 )->getTimestamp();
	}

	/**
	 * Calendar days from one moment's day to another's in the shop's time zone (negative when $to is earlier).
	 *
	 * @param int $from Unix time.
	 * @param int $to   Unix time.
	 */
	public static function calendar_days( int $from, int $to ): int {
		$zone = wp_timezone();
		$a    = ( new \DateTimeImmutable( '@' . $from ) )->setTimezone( $zone )->setTime( 0, 0 );
		$b    = ( new \DateTimeImmutable( '@' . $to ) )->setTimezone( $zone )->setTime( 0, 0 );
		return (int) $a->diff( $b )->format( '%r%a' );
	}

	/**
	 * Ids of the returns past their deadline, oldest due first.
	 *
	 * @param int|null $now Unix time.
	 * @return int[]
	 */
	public static function overdue_ids( ?int $now = null ): array {
		global $wpdb;
		$table = Installer::rma_table();
		// Past its deadline = its due day ended = due before the start of today (shop time zone).
		$when  = Outbox::dt( ( new \DateTimeImmutable( '@' . ( $now ?? time() ) ) )->setTimezone( wp_timezone() )->setTime( 0, 0 )->getTimestamp() );
		$open  = self::RUNNING['withdrawal'];
		$sql   = "SELECT id FROM {$table} WHERE due_at IS NOT NULL AND due_at < %s AND ( ( kind = %s AND status = %s ) OR ( kind <> %s AND status IN ("
			. implode( ',', array_fill( 0, count( $open ), '%s' ) ) . ') ) ) ORDER BY due_at ASC, id ASC';
		$args  = array_merge( array( $when, 'complaint', 'requested', 'complaint' ), $open );
		return array_map( 'intval', (array) $wpdb->get_col( $wpdb->prepare( $sql, $args ) ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.NotPrepared
	}

	/**
	 * How many returns are past their deadline (cached for a minute; a status change clears it).
	 */
	public static function overdue_count(): int {
		$cached = get_transient( self::COUNT_TRANSIENT );
		if ( false !== $cached ) {
			return (int) $cached;
		}
		$count = count( self::overdue_ids() );
		set_transient( self::COUNT_TRANSIENT, $count, MINUTE_IN_SECONDS );
		return $count;
	}

	/**
	 * Drops the cached count.
	 */
	public static function forget_count(): void {
		delete_transient( self::COUNT_TRANSIENT );
	}

	/**
	 * The admin notice for users who handle orders: how many returns are late, with a link to them.
	 */
	public static function notice(): void {
		if ( ! current_user_can( Capabilities::OPERATE ) || ! Rules::enabled() ) {
			return;
		}
		$count = self::overdue_count();
		if ( $count < 1 ) {
			return;
		}
		$url = add_query_arg(
			array(
				'page'     => \BPM_Bridge\Admin\Returns_Page::SLUG,
				'deadline' => 'overdue',
			),
			admin_url( 'admin.php' )
		);
		printf(
			'<div class="notice notice-warning bpm-bridge-overdue-notice"><p>%1$s <a href="%2$s">%3$s</a></p></div>',
			/* translators: %d: number of returns. */
			esc_html( sprintf( _n( '%d return is past its legal deadline (14 days to answer a complaint or to refund a withdrawal).', '%d returns are past their legal deadline (14 days to answer a complaint or to refund a withdrawal).', $count, 'bpm-bridge' ), $count ) ),
			esc_url( $url ),
			esc_html__( 'Show them', 'bpm-bridge' )
		);
	}
}
