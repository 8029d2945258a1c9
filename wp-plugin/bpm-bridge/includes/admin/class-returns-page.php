<?php
/**
 * WooCommerce → Returns: the list, a return's screen and the staff actions.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Capabilities;
use BPM_Bridge\Returns\Deadlines;
use BPM_Bridge\Returns\Refund;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Every action checks the capability, its nonce and the transition (Rma::set_status compares and sets, so a
 * screen that is out of date gets a notice instead of overwriting what happened meanwhile), queues a notice and
 * redirects back (post/redirect/get).
 */
final class Returns_Page {

	/**
	 * Page slug.
	 */
	const SLUG = 'bpm-bridge-returns';

	/**
	 * Staff action => the status it moves a return to. Which actions a return offers follows from the
	 * contract's transitions from its current status.
	 */
	const ACTIONS = array(
		'approve' => 'approved',
		'reject'  => 'rejected',
		'receive' => 'received',
		'refund'  => 'refunded',
	);

	/**
	 * Bulk action => the statuses a return may be in for it.
	 */
	const BULK = array(
		'approve' => 'approve',
		'receive' => 'receive',
	);

	/**
	 * Hook suffix of the page.
	 *
	 * @var string
	 */
	private static $hook = '';

	/**
	 * Hooks in.
	 */
	public static function register(): void {
		if ( has_action( 'admin_menu', array( self::class, 'add_page' ) ) ) {
			return;
		}
		add_action( 'admin_menu', array( self::class, 'add_page' ), 61 );
		add_action( 'admin_post_bpm_bridge_rma', array( self::class, 'handle_action' ) );
	}

	/**
	 * The submenu under WooCommerce.
	 */
	public static function add_page(): void {
		$count = current_user_can( Capabilities::OPERATE ) ? Deadlines::overdue_count() : 0;
		$title = __( 'Returns', 'bpm-bridge' );
		$menu  = $title . ( $count > 0 ? ' <span class="awaiting-mod"><span class="pending-count">' . (int) $count . '</span></span>' : '' );
		$hook  = add_submenu_page( 'woocommerce', $title, $menu, Capabilities::OPERATE, self::SLUG, array( self::class, 'render' ) );
		if ( is_string( $hook ) ) {
			self::$hook = $hook;
			add_action( 'load-' . $hook, array( self::class, 'handle_bulk' ) );
		}
	}

	/**
	 * URL of the list, or of one return's screen.
	 *
	 * @param int                  $rma_id RMA id, 0 for the list.
	 * @param array<string, mixed> $query  Extra arguments.
	 */
	public static function url( int $rma_id = 0, array $query = array() ): string {
		$args = array( 'page' => self::SLUG );
		if ( $rma_id > 0 ) {
			$args['rma'] = $rma_id;
		}
		return add_query_arg( array_merge( $args, $query ), admin_url( 'admin.php' ) );
	}

	/**
	 * The actions a return in this status offers. A complaint is accepted by its approval (art. 7a u.p.k.: the
	 * answer the customer gets), so an approved complaint is not rejected any more; a refund is offered from
	 * the statuses Refund::statuses_for() allows for the kind.
	 *
	 * @param string $status Current status.
	 * @param string $kind   Withdrawal or complaint.
	 * @return string[]
	 */
	public static function actions_for( string $status, string $kind = 'withdrawal' ): array {
		$next    = Rma::transitions()[ $status ] ?? array();
		$actions = array_keys( array_filter( self::ACTIONS, static fn( $to ) => in_array( $to, $next, true ) ) );
		return array_values(
			array_filter(
				$actions,
				static function ( $action ) use ( $status, $kind ) {
					if ( 'reject' === $action ) {
						return 'complaint' !== $kind || 'requested' === $status;
					}
					if ( 'refund' === $action ) {
						return in_array( $status, Refund::statuses_for( $kind ), true );
					}
					return true;
				}
			)
		);
	}

	/**
	 * Prints the list or a return's screen.
	 */
	public static function render(): void {
		if ( ! current_user_can( Capabilities::OPERATE ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage returns.', 'bpm-bridge' ), 403 );
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended,WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- which screen to show; only a scalar is read, through absint().
		$raw    = isset( $_GET['rma'] ) ? wp_unslash( $_GET['rma'] ) : '';
		$rma_id = is_scalar( $raw ) ? absint( $raw ) : 0;
		if ( $rma_id > 0 ) {
			self::render_return( $rma_id );
			return;
		}
		$table = new Returns_List_Table();
		$table->prepare_items();
		Views::template( 'admin/returns-list.php', array( 'table' => $table ) );
	}

	/**
	 * A return's screen.
	 *
	 * @param int $rma_id RMA id.
	 */
	private static function render_return( int $rma_id ): void {
		$rma = Rma::get( $rma_id, true );
		if ( null === $rma ) {
			Views::template( 'admin/returns-missing.php', array( 'back' => self::url() ) );
			return;
		}
		$order = wc_get_order( (int) $rma['order_id'] );
		$iban  = (string) Rma::iban( $rma_id );
		$shown = false;
		// Showing the full number is a POST (noted on the timeline): a link could be prefetched or replayed from history.
		if ( '' !== $iban && isset( $_POST['reveal_iban'], $_POST['_wpnonce'] ) && wp_verify_nonce( sanitize_key( wp_unslash( $_POST['_wpnonce'] ) ), 'bpm_bridge_rma_iban_' . $rma_id ) ) {
			$shown = true;
			$user  = wp_get_current_user();
			/* translators: %s: user login. */
			Rma::log( $rma_id, 'iban_shown', sprintf( __( 'Bank account shown to %s.', 'bpm-bridge' ), $user->user_login ), 'staff', false );
			$rma['timeline'] = Rma::timeline( $rma_id );
		}
		Views::template(
			'admin/returns-screen.php',
			array(
				'rma'         => $rma,
				'order'       => $order instanceof \WC_Order ? $order : null,
				'items'       => self::items( $rma, $order instanceof \WC_Order ? $order : null ),
				'actions'     => self::actions_for( (string) $rma['status'], (string) $rma['kind'] ),
				'iban'        => '' === $iban ? '' : ( $shown ? self::format_iban( $iban ) : self::mask_iban( $iban ) ),
				'iban_shown'  => $shown,
				'reveal_url'  => self::url( $rma_id ),
				// Photos and the label go through the customer side's handler, which lets shop staff in with a nonce.
				'photo_url'   => static fn( string $name ) => \BPM_Bridge\Returns\Downloads::photo_url( $rma_id, $name ),
				'label_url'   => \BPM_Bridge\Returns\Downloads::label_url( $rma_id ),
				'can_refund'  => $order instanceof \WC_Order && Refund::gateway_refunds( $order ),
				'refund_plan' => in_array( (string) $rma['status'], Refund::statuses_for( (string) $rma['kind'] ), true ) && $order instanceof \WC_Order ? Refund::plan( $order, $rma ) : null,
				'back'        => self::url(),
			)
		);
	}

	/**
	 * The returned items with their order line's name and what was bought.
	 *
	 * @param array<string, mixed> $rma   RMA.
	 * @param \WC_Order|null       $order Order.
	 * @return array<int, array{name: string, quantity: int, bought: int, reason: string, sku: string}>
	 */
	private static function items( array $rma, ?\WC_Order $order ): array {
		$items = array();
		foreach ( (array) $rma['items'] as $item ) {
			$line    = $order ? $order->get_item( (int) ( $item['order_item_id'] ?? 0 ) ) : null;
			$product = $line instanceof \WC_Order_Item_Product ? $line->get_product() : null;
			$items[] = array(
				'name'     => $line ? (string) $line->get_name() : '#' . (int) ( $item['product_id'] ?? 0 ),
				'quantity' => (int) ( $item['quantity'] ?? 0 ),
				'bought'   => $line instanceof \WC_Order_Item_Product ? (int) $line->get_quantity() : 0,
				'reason'   => (string) ( $item['reason'] ?? '' ),
				'sku'      => $product ? (string) $product->get_sku() : '',
			);
		}
		return $items;
	}

	/**
	 * One staff action on a return (POST: rma, do, from, note; for a refund refund_money, refund_shipping,
	 * refund_fees, restock — unticked boxes are not posted, so each is read as given).
	 */
	public static function handle_action(): void {
		// phpcs:disable WordPress.Security.NonceVerification.Missing -- verified right below, per return.
		$rma_id = isset( $_POST['rma'] ) ? absint( $_POST['rma'] ) : 0;
		$do     = isset( $_POST['do'] ) ? sanitize_key( wp_unslash( $_POST['do'] ) ) : '';
		$from   = isset( $_POST['from'] ) ? sanitize_key( wp_unslash( $_POST['from'] ) ) : '';
		$note   = isset( $_POST['note'] ) ? sanitize_textarea_field( wp_unslash( $_POST['note'] ) ) : '';
		$money  = ! empty( $_POST['refund_money'] );
		$extra  = array(
			'shipping' => ! empty( $_POST['refund_shipping'] ),
			'fees'     => ! empty( $_POST['refund_fees'] ),
			'restock'  => ! empty( $_POST['restock'] ),
		);
		$late   = ! empty( $_POST['confirm_late'] );
		// phpcs:enable WordPress.Security.NonceVerification.Missing
		if ( ! current_user_can( Capabilities::OPERATE ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage returns.', 'bpm-bridge' ), 403 );
		}
		check_admin_referer( 'bpm_bridge_rma_' . $rma_id );
		$message = self::act( $rma_id, $do, $from, $note, $money, 'refund' === $do ? $extra : array( 'confirm_late' => $late ) );
		Notices::add( $message['type'], $message['text'] );
		wp_safe_redirect( self::url( $rma_id ) );
		exit;
	}

	/**
	 * Does one action and says what happened.
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $do     Action (ACTIONS key).
	 * @param string $from   The status the screen showed.
	 * @param string $note   Note (the rejection reason).
	 * @param bool   $money  Refund: send the money back through the payment method.
	 * @param array<string, bool> $extra Refund: shipping, fees, restock (Refund::issue() options; missing = default);
	 *                                   reject: confirm_late (a complaint past its due date is rejected all the same).
	 * @return array{type: string, text: string}
	 */
	public static function act( int $rma_id, string $do, string $from, string $note = '', bool $money = false, array $extra = array() ): array {
		$number = Rma::number( $rma_id );
		if ( ! isset( self::ACTIONS[ $do ] ) ) {
			return self::message( 'error', __( 'Unknown action.', 'bpm-bridge' ) );
		}
		$rma = Rma::get( $rma_id );
		if ( null === $rma ) {
			return self::message( 'error', __( 'No return with this id.', 'bpm-bridge' ) );
		}
		if ( $rma['status'] !== $from ) {
			return self::stale( $number, (string) $rma['status'] );
		}
		if ( ! in_array( $do, self::actions_for( $from, (string) $rma['kind'] ), true ) ) {
			/* translators: 1: RMA number, 2: status. */
			return self::message( 'error', sprintf( __( '%1$s is "%2$s": that action is not possible now.', 'bpm-bridge' ), $number, Rma::status_label( $from ) ) );
		}
		if ( 'reject' === $do && '' === trim( $note ) ) {
			return self::message( 'error', __( 'Give the reason for the rejection: the customer reads it.', 'bpm-bridge' ) );
		}
		if ( 'reject' === $do && self::late_complaint( $rma ) && empty( $extra['confirm_late'] ) ) {
			return self::message( 'warning', self::late_complaint_text() . ' ' . __( 'Nothing was done: tick the box to reject it all the same.', 'bpm-bridge' ) );
		}
		if ( 'refund' === $do ) {
			$done = Refund::issue( $rma_id, $money, 'staff', $extra );
			if ( is_wp_error( $done ) ) {
				return self::message( 'error', $done->get_error_message() );
			}
			if ( $done['check_provider'] ) {
				$after = Refund::check_provider_text();
			} else {
				$after = $done['money'] ? __( 'The payment method sent the money back.', 'bpm-bridge' ) : __( 'Pay the money back yourself (the payment method does not do it, or you chose not to).', 'bpm-bridge' );
			}
			return self::message(
				$done['check_provider'] ? 'warning' : 'success',
				sprintf(
					/* translators: 1: RMA number, 2: refund id, 3: amount with currency. */
					__( '%1$s refunded: WooCommerce refund #%2$d of %3$s.', 'bpm-bridge' ),
					$number,
					$done['refund_id'],
					html_entity_decode( wp_strip_all_tags( wc_price( $done['amount'], array( 'currency' => $done['currency'] ) ) ), ENT_QUOTES, 'UTF-8' )
				) . ' ' . $after
			);
		}
		$moved = 'reject' === $do
			? Refund::reject( $rma_id, $from, $note, 'staff' )
			: Rma::set_status( $rma_id, $from, self::ACTIONS[ $do ], $note, 'staff' );
		if ( is_wp_error( $moved ) ) {
			$data = $moved->get_error_data();
			if ( 'bpm_bridge_status_conflict' === $moved->get_error_code() ) {
				return self::stale( $number, (string) ( is_array( $data ) ? ( $data['current'] ?? '' ) : '' ) );
			}
			return self::message( 'error', $moved->get_error_message() );
		}
		/* translators: 1: RMA number, 2: new status. */
		return self::message( 'success', sprintf( __( '%1$s is now "%2$s".', 'bpm-bridge' ), $number, Rma::status_label( self::ACTIONS[ $do ] ) ) );
	}

	/**
	 * Bulk actions from the list (WP_List_Table posts "action"/"action2" with the bulk-rmas nonce).
	 */
	public static function handle_bulk(): void {
		if ( ! current_user_can( Capabilities::OPERATE ) ) {
			return;
		}
		$action = '';
		foreach ( array( 'action', 'action2' ) as $field ) {
			// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- verified below before anything is done.
			$value = isset( $_REQUEST[ $field ] ) ? sanitize_key( wp_unslash( $_REQUEST[ $field ] ) ) : '';
			if ( isset( self::BULK[ $value ] ) ) {
				$action = $value;
				break;
			}
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- verified below.
		$ids = isset( $_REQUEST['rma_ids'] ) && is_array( $_REQUEST['rma_ids'] ) ? array_map( 'absint', array_filter( wp_unslash( $_REQUEST['rma_ids'] ), 'is_scalar' ) ) : array();
		if ( '' === $action || array() === $ids ) {
			return;
		}
		check_admin_referer( 'bulk-rmas' );
		$done    = array();
		$skipped = array();
		foreach ( array_unique( array_filter( $ids ) ) as $rma_id ) {
			$rma    = Rma::get( $rma_id );
			$status = $rma ? (string) $rma['status'] : '';
			$result = $rma ? self::act( $rma_id, self::BULK[ $action ], $status ) : self::message( 'error', __( 'No return with this id.', 'bpm-bridge' ) );
			if ( 'success' === $result['type'] ) {
				$done[] = Rma::number( $rma_id );
			} else {
				/* translators: 1: RMA number, 2: why it was skipped. */
				$skipped[] = sprintf( __( '%1$s skipped (%2$s)', 'bpm-bridge' ), Rma::number( $rma_id ), '' === $status ? __( 'not found', 'bpm-bridge' ) : Rma::status_label( $status ) );
			}
		}
		if ( $done ) {
			/* translators: 1: how many, 2: list of RMA numbers. */
			Notices::add( 'success', sprintf( _n( '%1$d return done: %2$s.', '%1$d returns done: %2$s.', count( $done ), 'bpm-bridge' ), count( $done ), implode( ', ', $done ) ) );
		}
		if ( $skipped ) {
			/* translators: %s: list of skipped returns with their status. */
			Notices::add( 'warning', sprintf( __( 'Not possible in their current status: %s.', 'bpm-bridge' ), implode( '; ', $skipped ) ) );
		}
		wp_safe_redirect( remove_query_arg( array( 'action', 'action2', 'rma_ids', '_wpnonce', '_wp_http_referer' ), wp_get_referer() ? wp_get_referer() : self::url() ) );
		exit;
	}

	/**
	 * Whether a return is a complaint not answered within its 14 days.
	 *
	 * @param array<string, mixed> $rma RMA.
	 */
	public static function late_complaint( array $rma ): bool {
		return 'complaint' === ( $rma['kind'] ?? '' ) && 'overdue' === Deadlines::state( $rma )['flag'];
	}

	/**
	 * The warning before rejecting a late complaint.
	 */
	public static function late_complaint_text(): string {
		return __( 'The 14 days to answer this complaint have passed: the law deems it accepted (art. 7a u.p.k.), and a rejection now will probably not stand if the customer disputes it.', 'bpm-bridge' );
	}

	/**
	 * The notice for a screen that was out of date.
	 *
	 * @param string $number  RMA number.
	 * @param string $current The status now.
	 * @return array{type: string, text: string}
	 */
	private static function stale( string $number, string $current ): array {
		/* translators: 1: RMA number, 2: current status. */
		return self::message( 'warning', sprintf( __( '%1$s changed in the meantime and is now "%2$s"; nothing was done. Check the return and try again.', 'bpm-bridge' ), $number, Rma::status_label( $current ) ) );
	}

	/**
	 * A notice.
	 *
	 * @param string $type Type.
	 * @param string $text Text.
	 * @return array{type: string, text: string}
	 */
	private static function message( string $type, string $text ): array {
		return array(
			'type' => $type,
			'text' => $text,
		);
	}

	/**
	 * "Withdrawal" or "Complaint".
	 *
	 * @param string $kind Kind.
	 */
	public static function kind_label( string $kind ): string {
		return 'complaint' === $kind ? __( 'Complaint', 'bpm-bridge' ) : __( 'Withdrawal', 'bpm-bridge' );
	}

	/**
	 * How the parcel comes back.
	 *
	 * @param string $method Method.
	 */
	public static function method_label( string $method ): string {
		$labels = array(
			'locker'  => __( 'InPost parcel locker', 'bpm-bridge' ),
			'courier' => __( 'InPost courier pick-up', 'bpm-bridge' ),
			'own'     => __( 'Customer\'s own shipment', 'bpm-bridge' ),
		);
		return $labels[ $method ] ?? $method;
	}

	/**
	 * A status pill.
	 *
	 * @param string $status Status.
	 */
	public static function status_pill( string $status ): string {
		return sprintf( '<mark class="order-status bpm-bridge-rma-status bpm-bridge-rma-status--%1$s"><span>%2$s</span></mark>', esc_attr( sanitize_html_class( $status ) ), esc_html( Rma::status_label( $status ) ) );
	}

	/**
	 * The due date with its flag, as HTML.
	 *
	 * @param array<string, mixed> $rma RMA.
	 */
	public static function due_html( array $rma ): string {
		$state = Deadlines::state( $rma );
		if ( null === $state['due_at'] ) {
			return '—';
		}
		$flag = '' === $state['flag'] ? '' : sprintf( ' <span class="bpm-bridge-due bpm-bridge-due--%1$s">%2$s</span>', esc_attr( $state['flag'] ), esc_html( Deadlines::describe( $state ) ) );
		if ( '' === $flag && $state['running'] ) {
			$flag = ' <span class="bpm-bridge-muted">' . esc_html( Deadlines::describe( $state ) ) . '</span>';
		}
		return esc_html( wp_date( (string) get_option( 'date_format' ), (int) $state['due_at'] ) ) . $flag;
	}

	/**
	 * An ISO-8601 time in the site's format.
	 *
	 * @param string $iso Time.
	 */
	public static function date( string $iso ): string {
		$time = '' === $iso ? false : strtotime( $iso );
		return false === $time ? '—' : wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $time );
	}

	/**
	 * An IBAN in groups of four.
	 *
	 * @param string $iban IBAN.
	 */
	public static function format_iban( string $iban ): string {
		return trim( chunk_split( strtoupper( (string) preg_replace( '/\s+/', '', $iban ) ), 4, ' ' ) );
	}

	/**
	 * An IBAN with all but the country and the last four characters hidden.
	 *
	 * @param string $iban IBAN.
	 */
	public static function mask_iban( string $iban ): string {
		$clean = strtoupper( (string) preg_replace( '/\s+/', '', $iban ) );
		if ( strlen( $clean ) < 8 ) {
			return str_repeat( '•', strlen( $clean ) );
		}
		// Grouped before masking: the bullet is several bytes, the IBAN's characters are one each.
		$groups = str_split( substr( $clean, 0, 2 ) . str_repeat( '*', strlen( $clean ) - 6 ) . substr( $clean, -4 ), 4 );
		return str_replace( '*', '•', implode( ' ', $groups ) );
	}
}
