<?php
/**
 * The "Return requested" order status.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Installer;
use BPM_Bridge\Rma;
use BPM_Bridge\Settings\Sections\Rma as Rma_Section;

defined( 'ABSPATH' ) || exit;

/**
 * Registers wc-return-requested and, when config rma.order_status asks for it, moves an order there on a return
 * request and back to the status it had once its returns are settled.
 *
 * The status counts as paid (woocommerce_order_is_paid_statuses): the order was paid before the customer asked
 * for the return, so leaving it and coming back is no payment (Order_Events sends order.paid only on the way
 * from an unpaid status into a paid one, and only once per order anyway).
 */
final class Order_Status {

	/**
	 * The status slug with WooCommerce's prefix.
	 */
	const STATUS = 'wc-' . Rma_Section::RETURN_REQUESTED;

	/**
	 * Order meta: the status the order had before the return request moved it.
	 */
	const BEFORE_META = '_bpm_bridge_status_before_return';

	/**
	 * Return statuses after which a return no longer holds the order in "Return requested".
	 */
	const SETTLED = array( 'refunded', 'rejected' );

	/**
	 * True while an order is given its status back: WooCommerce's "order complete/processing" mails stay quiet
	 * (the customer got them when the order really was completed; a return settled is no new completion).
	 *
	 * @var bool
	 */
	private static $restoring = false;

	/**
	 * Hooks in.
	 */
	public static function register(): void {
		add_action( 'init', array( self::class, 'register_status' ) );
		add_filter( 'wc_order_statuses', array( self::class, 'add_to_list' ) );
		add_filter( 'woocommerce_order_is_paid_statuses', array( self::class, 'add_slug' ) );
		add_filter( 'woocommerce_reports_order_statuses', array( self::class, 'add_to_report' ) );
		add_filter( 'woocommerce_email_enabled_customer_completed_order', array( self::class, 'quiet' ), 99 );
		add_filter( 'woocommerce_email_enabled_customer_processing_order', array( self::class, 'quiet' ), 99 );
		add_action( 'bpm_bridge_rma_created', array( self::class, 'on_created' ), 20 );
		add_action( 'bpm_bridge_rma_status_changed', array( self::class, 'on_status_changed' ), 20, 3 );
	}

	/**
	 * The status for WordPress (posts storage lists and counts; HPOS reads wc_order_statuses).
	 */
	public static function register_status(): void {
		register_post_status(
			self::STATUS,
			array(
				'label'                     => _x( 'Return requested', 'Order status', 'bpm-bridge' ),
				'public'                    => false,
				'exclude_from_search'       => false,
				'show_in_admin_all_list'    => true,
				'show_in_admin_status_list' => true,
				/* translators: %s: number of orders. */
				'label_count'               => _n_noop( 'Return requested <span class="count">(%s)</span>', 'Return requested <span class="count">(%s)</span>', 'bpm-bridge' ),
			)
		);
	}

	/**
	 * Adds the status after "Completed".
	 *
	 * @param array<string, string> $statuses Status => label.
	 * @return array<string, string>
	 */
	public static function add_to_list( $statuses ) {
		$statuses = is_array( $statuses ) ? $statuses : array();
		$out      = array();
		foreach ( $statuses as $slug => $label ) {
			$out[ $slug ] = $label;
			if ( 'wc-completed' === $slug ) {
				$out[ self::STATUS ] = _x( 'Return requested', 'Order status', 'bpm-bridge' );
			}
		}
		if ( ! isset( $out[ self::STATUS ] ) ) {
			$out[ self::STATUS ] = _x( 'Return requested', 'Order status', 'bpm-bridge' );
		}
		return $out;
	}

	/**
	 * Adds the slug (without "wc-") to a list of statuses. Anything else (reports pass false for "every status")
	 * is left as it is.
	 *
	 * @param string[]|mixed $statuses Statuses.
	 * @return string[]|mixed
	 */
	public static function add_slug( $statuses ) {
		if ( ! is_array( $statuses ) ) {
			return $statuses;
		}
		$statuses[] = Rma_Section::RETURN_REQUESTED;
		return array_values( array_unique( $statuses ) );
	}

	/**
	 * Adds the slug to a report's list of statuses only when that list counts sales (completed or processing):
	 * an order waiting for its return is still a sale, but not a refund.
	 *
	 * @param string[]|mixed $statuses Statuses.
	 * @return string[]|mixed
	 */
	public static function add_to_report( $statuses ) {
		if ( ! is_array( $statuses ) || ! array_intersect( array( 'completed', 'processing' ), $statuses ) ) {
			return $statuses;
		}
		return self::add_slug( $statuses );
	}

	/**
	 * The "e-mail enabled" filter while an order is given its status back.
	 *
	 * @param bool|mixed $enabled Enabled.
	 * @return bool|mixed
	 */
	public static function quiet( $enabled ) {
		return self::$restoring ? false : $enabled;
	}

	/**
	 * Plugin deactivation: orders still in "Return requested" get their status back (the status would vanish
	 * with the plugin and leave them in a status WooCommerce does not know).
	 */
	public static function deactivate(): void {
		if ( ! function_exists( 'wc_get_orders' ) ) {
			return;
		}
		do {
			$ids = wc_get_orders(
				array(
					'status' => array( self::STATUS ),
					'limit'  => 100,
					'return' => 'ids',
				)
			);
			foreach ( (array) $ids as $id ) {
				$order = wc_get_order( $id );
				if ( $order ) {
					self::restore( $order, __( 'BPM Bridge was deactivated: status from before the return request given back.', 'bpm-bridge' ) );
				}
			}
		} while ( count( (array) $ids ) === 100 );
	}

	/**
	 * Gives an order the status it had before the return request, with its original completed date and
	 * without WooCommerce's customer mail for that status.
	 *
	 * @param \WC_Order $order Order.
	 * @param string    $note  Order note.
	 */
	private static function restore( \WC_Order $order, string $note ): void {
		$before = (string) $order->get_meta( self::BEFORE_META );
		$before = '' !== $before && Rma_Section::RETURN_REQUESTED !== $before && array_key_exists( 'wc-' . $before, wc_get_order_statuses() ) ? $before : 'completed';
		$saved  = $order->get_date_completed();
		$order->delete_meta_data( self::BEFORE_META );
		self::$restoring = true;
		try {
			$order->set_status( $before, $note );
			// WooCommerce stamps "now" on every move into completed; the order was completed back then.
			$order->set_date_completed( $saved );
			$order->save();
		} finally {
			self::$restoring = false;
		}
	}

	/**
	 * A return was requested: move the order when the settings say so.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function on_created( $rma_id ): void {
		if ( Rma_Section::RETURN_REQUESTED !== (string) Rules::get( 'order_status' ) ) {
			return;
		}
		$rma   = Rma::get( (int) $rma_id );
		$order = $rma ? wc_get_order( (int) $rma['order_id'] ) : null;
		if ( ! $order || $order->has_status( Rma_Section::RETURN_REQUESTED ) ) {
			return;
		}
		$order->update_meta_data( self::BEFORE_META, $order->get_status() );
		/* translators: %s: RMA number. */
		$order->update_status( Rma_Section::RETURN_REQUESTED, sprintf( __( 'Return %s requested.', 'bpm-bridge' ), $rma['number'] ) );
	}

	/**
	 * A return was settled: give the order its status back once none of its returns is open any more (a full
	 * refund has already made it "Refunded"; then nothing is changed).
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $from   Previous status.
	 * @param string $to     New status.
	 */
	public static function on_status_changed( $rma_id, $from, $to ): void {
		if ( ! in_array( (string) $to, self::SETTLED, true ) ) {
			return;
		}
		$rma   = Rma::get( (int) $rma_id );
		$order = $rma ? wc_get_order( (int) $rma['order_id'] ) : null;
		if ( ! $order || ! $order->has_status( Rma_Section::RETURN_REQUESTED ) || self::open_returns( (int) $rma['order_id'] ) > 0 ) {
			return;
		}
		/* translators: %s: RMA number. */
		self::restore( $order, sprintf( __( 'Return %s settled.', 'bpm-bridge' ), $rma['number'] ) );
	}

	/**
	 * How many returns of an order are not settled.
	 *
	 * @param int $order_id Order id.
	 */
	public static function open_returns( int $order_id ): int {
		global $wpdb;
		$table = Installer::rma_table();
		return (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$table} WHERE order_id = %d AND status NOT IN (%s, %s)", $order_id, self::SETTLED[0], self::SETTLED[1] ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}
}
