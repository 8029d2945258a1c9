<?php
/**
 * My Account → Returns, and the "Return items" button of an order.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * The WooCommerce account endpoint `returns`: the list, one return (?bpm_rma=ID) and the form (?bpm_order=ID).
 */
final class Account {

	const ENDPOINT = 'returns';

	/**
	 * Option remembering for which plugin version the rewrite rules were flushed.
	 */
	const REWRITE_OPTION = 'bpm_bridge_returns_rewrite';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_filter( 'woocommerce_get_query_vars', array( self::class, 'query_vars' ) );
		add_filter( 'woocommerce_account_menu_items', array( self::class, 'menu_items' ) );
		add_filter( 'woocommerce_endpoint_' . self::ENDPOINT . '_title', array( self::class, 'title' ) );
		add_action( 'woocommerce_account_' . self::ENDPOINT . '_endpoint', array( self::class, 'content' ) );
		add_filter( 'woocommerce_my_account_my_orders_actions', array( self::class, 'order_actions' ), 10, 2 );
		add_action( 'woocommerce_order_details_after_order_table', array( self::class, 'order_button' ) );
		add_action( 'init', array( self::class, 'maybe_flush' ), 99 );
	}

	/**
	 * Adds the endpoint to WooCommerce's query vars (WooCommerce registers the rewrite endpoint).
	 *
	 * @param array $vars Query vars.
	 * @return array
	 */
	public static function query_vars( $vars ) {
		$vars                   = (array) $vars;
		$vars[ self::ENDPOINT ] = self::ENDPOINT;
		return $vars;
	}

	/**
	 * Flushes the rewrite rules once per plugin version, after WooCommerce added its endpoints.
	 */
	public static function maybe_flush(): void {
		if ( get_option( self::REWRITE_OPTION ) !== BPM_BRIDGE_VERSION ) {
			flush_rewrite_rules( false );
			update_option( self::REWRITE_OPTION, BPM_BRIDGE_VERSION, true );
		}
	}

	/**
	 * Adds "Returns" before "Log out".
	 *
	 * @param array $items Menu items.
	 * @return array
	 */
	public static function menu_items( $items ) {
		$items = (array) $items;
		if ( ! Rules::enabled() ) {
			return $items;
		}
		$logout = isset( $items['customer-logout'] ) ? array( 'customer-logout' => $items['customer-logout'] ) : array();
		unset( $items['customer-logout'] );
		return $items + array( self::ENDPOINT => __( 'Returns', 'bpm-bridge' ) ) + $logout;
	}

	/**
	 * The endpoint's title.
	 *
	 * @return string
	 */
	public static function title() {
		return __( 'Returns', 'bpm-bridge' );
	}

	/**
	 * URL of the list.
	 */
	public static function list_url(): string {
		return wc_get_account_endpoint_url( self::ENDPOINT );
	}

	/**
	 * URL of one return.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function rma_url( int $rma_id ): string {
		return add_query_arg( 'bpm_rma', $rma_id, self::list_url() );
	}

	/**
	 * URL of an order's form.
	 *
	 * @param int $order_id Order id.
	 */
	public static function form_url( int $order_id ): string {
		return add_query_arg( 'bpm_order', $order_id, self::list_url() );
	}

	/**
	 * Whether the logged-in customer owns the order and may return something from it now.
	 *
	 * @param \WC_Order $order Order.
	 */
	private static function can_return( $order ): bool {
		return $order instanceof \WC_Order && get_current_user_id() > 0 && (int) $order->get_customer_id() === get_current_user_id()
			&& Eligibility::for_order( $order )['returnable'];
	}

	/**
	 * "Return items" in the orders list.
	 *
	 * @param array     $actions Actions.
	 * @param \WC_Order $order   Order.
	 * @return array
	 */
	public static function order_actions( $actions, $order ) {
		if ( self::can_return( $order ) ) {
			$actions['bpm-return'] = array(
				'url'  => self::form_url( $order->get_id() ),
				'name' => __( 'Return items', 'bpm-bridge' ),
			);
		}
		return $actions;
	}

	/**
	 * "Return items" on the order's page in My Account.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function order_button( $order ): void {
		if ( ! is_account_page() || ! self::can_return( $order ) ) {
			return;
		}
		printf(
			'<p class="bpm-return-order-button"><a class="woocommerce-button button bpm-return-items" href="%1$s">%2$s</a></p>',
			esc_url( self::form_url( $order->get_id() ) ),
			esc_html__( 'Return items', 'bpm-bridge' )
		);
	}

	/**
	 * The endpoint's content.
	 */
	public static function content(): void {
		Customer::enqueue();
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- views; access is the ownership check.
		$order_id = isset( $_GET['bpm_order'] ) ? absint( $_GET['bpm_order'] ) : 0;
		$rma_id   = isset( $_GET['bpm_rma'] ) ? absint( $_GET['bpm_rma'] ) : 0;
		$created  = isset( $_GET['bpm_created'] );
		// phpcs:enable
		$user = get_current_user_id();
		if ( $order_id ) {
			$order = wc_get_order( $order_id );
			if ( ! $order instanceof \WC_Order || $order instanceof \WC_Order_Refund || (int) $order->get_customer_id() !== $user ) {
				wc_print_notice( __( 'You cannot return items of this order.', 'bpm-bridge' ), 'error' );
				return;
			}
			echo Form::render( $order, '', self::form_url( $order_id ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in the template.
			return;
		}
		if ( $rma_id ) {
			$rma = Rma::get( $rma_id );
			if ( null === $rma || (int) $rma['customer_id'] !== $user ) {
				wc_print_notice( __( 'No such return.', 'bpm-bridge' ), 'error' );
				return;
			}
			echo self::status( $rma, false, $created ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in the template.
			return;
		}
		$rmas = $user ? Rma::query(
			array(
				'customer_id' => $user,
				'per_page'    => 50,
			)
		)['items'] : array();
		echo Templates::render( 'list', array( 'rmas' => $rmas ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in the template.
	}

	/**
	 * One return's status page (My Account and the guest page).
	 *
	 * @param array $rma     Rma::get().
	 * @param bool  $guest   Signed links instead of nonces.
	 * @param bool  $created Just submitted: show the confirmation.
	 */
	public static function status( array $rma, bool $guest, bool $created ): string {
		$order = wc_get_order( $rma['order_id'] );
		$names = array();
		if ( $order instanceof \WC_Order ) {
			foreach ( $order->get_items() as $item_id => $item ) {
				$names[ (int) $item_id ] = $item->get_name();
			}
		}
		$url = (string) ( $rma['label']['url'] ?? '' );
		return Templates::render(
			'status',
			array(
				'rma'          => $rma,
				'order'        => $order,
				'names'        => $names,
				'created'      => $created,
				'timeline'     => Rma::timeline( (int) $rma['id'], true ),
				'label_url'    => $rma['has_label_pdf'] ? Downloads::label_url( (int) $rma['id'], $guest ) : '',
				'tracking_url' => Rma::is_valid_label_url( $url ) ? $url : '',
				'photo_urls'   => array_map(
					static function ( $index ) use ( $rma, $guest ) {
						return Downloads::photo_url( (int) $rma['id'], (int) $index, $guest );
					},
					array_keys( $rma['photos'] )
				),
			)
		);
	}
}
