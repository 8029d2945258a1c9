<?php
/**
 * WooCommerce → Returns: the list of returns.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Returns\Deadlines;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

if ( ! class_exists( '\WP_List_Table' ) ) {
	require_once ABSPATH . 'wp-admin/includes/class-wp-list-table.php';
}

/**
 * The returns with status views (with counts), an "overdue" view, search, bulk actions and pagination.
 * Reads through Rma::query() (and Deadlines::overdue_ids() for the overdue view).
 */
final class Returns_List_Table extends \WP_List_Table {

	/**
	 * Rows per page.
	 */
	const PER_PAGE = 20;

	/**
	 * Orders loaded for this page, by id.
	 *
	 * @var array<int, \WC_Order|null>
	 */
	private $orders = array();

	/**
	 * Sets the table up.
	 */
	public function __construct() {
		parent::__construct(
			array(
				'singular' => 'rma',
				'plural'   => 'rmas',
				'ajax'     => false,
			)
		);
	}

	/**
	 * Columns.
	 *
	 * @return array<string, string>
	 */
	public function get_columns() {
		return array(
			'cb'       => '<input type="checkbox" />',
			'number'   => __( 'Return', 'bpm-bridge' ),
			'order'    => __( 'Order', 'bpm-bridge' ),
			'customer' => __( 'Customer', 'bpm-bridge' ),
			'kind'     => __( 'Kind', 'bpm-bridge' ),
			'status'   => __( 'Status', 'bpm-bridge' ),
			'due'      => __( 'Due', 'bpm-bridge' ),
			'created'  => __( 'Requested', 'bpm-bridge' ),
		);
	}

	/**
	 * The status filter asked for ('' = all).
	 */
	public static function current_status(): string {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a list filter.
		$status = isset( $_REQUEST['rma_status'] ) ? sanitize_key( wp_unslash( $_REQUEST['rma_status'] ) ) : '';
		return in_array( $status, \BPM_Bridge\Contract::rma_statuses(), true ) ? $status : '';
	}

	/**
	 * Whether the overdue view is asked for.
	 */
	public static function overdue_only(): bool {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a list filter.
		return isset( $_REQUEST['deadline'] ) && 'overdue' === sanitize_key( wp_unslash( $_REQUEST['deadline'] ) );
	}

	/**
	 * The search text.
	 */
	public static function search(): string {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a list filter.
		return isset( $_REQUEST['s'] ) ? trim( sanitize_text_field( wp_unslash( $_REQUEST['s'] ) ) ) : '';
	}

	/**
	 * Loads the page of returns.
	 */
	public function prepare_items() {
		$this->_column_headers = array( $this->get_columns(), array(), array() );
		$page                  = $this->get_pagenum();
		if ( self::overdue_only() ) {
			$ids         = Deadlines::overdue_ids();
			$total       = count( $ids );
			$this->items = array_values( array_filter( array_map( array( Rma::class, 'get' ), array_slice( $ids, ( $page - 1 ) * self::PER_PAGE, self::PER_PAGE ) ) ) );
		} else {
			$args = array(
				'per_page' => self::PER_PAGE,
				'page'     => $page,
				'search'   => self::search(),
			);
			if ( '' !== self::current_status() ) {
				$args['status'] = self::current_status();
			}
			$found       = Rma::query( $args );
			$total       = (int) $found['total'];
			$this->items = $found['items'];
		}
		foreach ( $this->items as $rma ) {
			$this->orders[ (int) $rma['order_id'] ] = wc_get_order( (int) $rma['order_id'] ) ? wc_get_order( (int) $rma['order_id'] ) : null;
		}
		$this->set_pagination_args(
			array(
				'total_items' => $total,
				'per_page'    => self::PER_PAGE,
			)
		);
	}

	/**
	 * Status views with counts, and the overdue view.
	 *
	 * @return array<string, string>
	 */
	protected function get_views() {
		$base    = Returns_Page::url();
		$current = self::overdue_only() ? 'overdue' : self::current_status();
		$views   = array();
		$counts  = self::status_counts();
		$views['all'] = $this->view_link( $base, __( 'All', 'bpm-bridge' ), array_sum( $counts ), '' === $current );
		foreach ( \BPM_Bridge\Contract::rma_statuses() as $status ) {
			$count = $counts[ $status ] ?? 0;
			if ( $count > 0 || $status === $current ) {
				$views[ $status ] = $this->view_link( add_query_arg( 'rma_status', $status, $base ), Rma::status_label( $status ), $count, $status === $current );
			}
		}
		$overdue = count( Deadlines::overdue_ids() );
		if ( $overdue > 0 || 'overdue' === $current ) {
			$views['overdue'] = $this->view_link( add_query_arg( 'deadline', 'overdue', $base ), __( 'Overdue', 'bpm-bridge' ), $overdue, 'overdue' === $current );
		}
		return $views;
	}

	/**
	 * How many returns each status has, in one query.
	 *
	 * @return array<string, int>
	 */
	public static function status_counts(): array {
		global $wpdb;
		$table  = \BPM_Bridge\Installer::rma_table();
		$counts = array();
		foreach ( (array) $wpdb->get_results( $wpdb->prepare( "SELECT status, COUNT(*) AS n FROM {$table} WHERE status <> %s GROUP BY status", '' ), ARRAY_A ) as $row ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			$counts[ (string) $row['status'] ] = (int) $row['n'];
		}
		return $counts;
	}

	/**
	 * One view link.
	 *
	 * @param string $url     URL.
	 * @param string $label   Label.
	 * @param int    $count   Count.
	 * @param bool   $current Whether it is the current view.
	 */
	private function view_link( string $url, string $label, int $count, bool $current ): string {
		return sprintf(
			'<a href="%1$s"%2$s>%3$s <span class="count">(%4$d)</span></a>',
			esc_url( $url ),
			$current ? ' class="current" aria-current="page"' : '',
			esc_html( $label ),
			$count
		);
	}

	/**
	 * Bulk actions.
	 *
	 * @return array<string, string>
	 */
	protected function get_bulk_actions() {
		return array(
			'approve' => __( 'Approve', 'bpm-bridge' ),
			'receive' => __( 'Mark received', 'bpm-bridge' ),
		);
	}

	/**
	 * Checkbox column.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_cb( $item ) {
		return sprintf( '<input type="checkbox" name="rma_ids[]" value="%d" />', (int) $item['id'] );
	}

	/**
	 * The RMA number, linking to the return's screen.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_number( $item ) {
		return sprintf( '<strong><a class="row-title" href="%1$s">%2$s</a></strong>', esc_url( Returns_Page::url( (int) $item['id'] ) ), esc_html( (string) $item['number'] ) );
	}

	/**
	 * The order, linking to its screen.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_order( $item ) {
		$order = $this->orders[ (int) $item['order_id'] ] ?? null;
		if ( ! $order ) {
			return '#' . (int) $item['order_id'];
		}
		return sprintf( '<a href="%1$s">#%2$s</a>', esc_url( Views::order_url( (int) $item['order_id'] ) ), esc_html( (string) $order->get_order_number() ) );
	}

	/**
	 * The customer: name and e-mail.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_customer( $item ) {
		$order = $this->orders[ (int) $item['order_id'] ] ?? null;
		$name  = $order ? trim( $order->get_formatted_billing_full_name() ) : '';
		$email = '' !== (string) $item['email'] ? (string) $item['email'] : ( $order ? (string) $order->get_billing_email() : '' );
		return esc_html( $name ) . ( '' !== $email ? '<br /><span class="bpm-bridge-muted">' . esc_html( $email ) . '</span>' : '' );
	}

	/**
	 * Withdrawal or complaint.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_kind( $item ) {
		return esc_html( Returns_Page::kind_label( (string) $item['kind'] ) );
	}

	/**
	 * The status.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_status( $item ) {
		return Returns_Page::status_pill( (string) $item['status'] );
	}

	/**
	 * The due date with its flag.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_due( $item ) {
		return Returns_Page::due_html( $item );
	}

	/**
	 * When it was requested.
	 *
	 * @param array<string, mixed> $item RMA.
	 */
	protected function column_created( $item ) {
		return esc_html( Returns_Page::date( (string) $item['created_at'] ) );
	}

	/**
	 * Text when the list is empty.
	 */
	public function no_items() {
		esc_html_e( 'No returns found.', 'bpm-bridge' );
	}
}
