<?php
/**
 * Withdrawing the marketing consent without an account: a signed link, and the shop's own button.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

defined( 'ABSPATH' ) || exit;

/**
 * A guest has no My Account, so the order pages and the customer's order e-mails carry a link
 * (?bpm-bridge-unsubscribe=<order id>&sig=<HMAC of the order id and order key with the site's salt>) while
 * the buyer's consent is given. Opening it changes nothing (mail scanners open links): it shows a page with one
 * button, whose nonce'd POST withdraws. The shop can withdraw from the order screen too (manage_woocommerce,
 * nonce), e.g. when a customer asks by phone.
 */
final class Withdrawal {

	/**
	 * Query arguments of the link.
	 */
	const QUERY = 'bpm-bridge-unsubscribe';
	const SIG   = 'sig';

	/**
	 * Nonce action prefix of the page's button, and the admin-post action of the order screen's link.
	 */
	const NONCE        = 'bpm_bridge_unsubscribe_';
	const ADMIN_ACTION = 'bpm_bridge_withdraw_consent';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_action( 'template_redirect', array( self::class, 'handle' ), 5 );
		add_action( 'woocommerce_order_details_after_order_table', array( self::class, 'order_page' ), 20 );
		add_action( 'woocommerce_email_after_order_table', array( self::class, 'email' ), 20, 4 );
		add_action( 'admin_post_' . self::ADMIN_ACTION, array( self::class, 'admin' ) );
	}

	/**
	 * The link's signature: binds the order id and its secret order key.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function signature( $order ): string {
		return hash_hmac( 'sha256', 'bpm-bridge-unsubscribe|' . $order->get_id() . '|' . $order->get_order_key(), wp_salt( 'auth' ) );
	}

	/**
	 * The withdrawal link of an order.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function url( $order ): string {
		return add_query_arg(
			array(
				self::QUERY => (int) $order->get_id(),
				self::SIG   => self::signature( $order ),
			),
			home_url( '/' )
		);
	}

	/**
	 * The order a link names, when its signature holds.
	 *
	 * @param mixed $order_id Order id from the link.
	 * @param mixed $sig      Signature from the link.
	 * @return \WC_Order|null
	 */
	public static function verified( $order_id, $sig ) {
		$order = function_exists( 'wc_get_order' ) ? wc_get_order( absint( $order_id ) ) : false;
		if ( ! $order instanceof \WC_Order || 'shop_order' !== $order->get_type() || '' === (string) $order->get_order_key() ) {
			return null;
		}
		return is_string( $sig ) && hash_equals( self::signature( $order ), $sig ) ? $order : null;
	}

	/**
	 * Whether the order's buyer has given the consent now (the link is offered only then).
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function offered( $order ): bool {
		return Consent::for_rest( $order )['marketing'];
	}

	/**
	 * `template_redirect`: the link's page (GET: the button; POST with the nonce: the withdrawal).
	 */
	public static function handle(): void {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- the link is signed; the state change below checks a nonce.
		if ( ! isset( $_GET[ self::QUERY ] ) ) {
			return;
		}
		$sig   = isset( $_GET[ self::SIG ] ) ? sanitize_text_field( wp_unslash( $_GET[ self::SIG ] ) ) : '';
		$order = self::verified( sanitize_text_field( wp_unslash( $_GET[ self::QUERY ] ) ), $sig );
		// phpcs:enable WordPress.Security.NonceVerification.Recommended
		$title = __( 'Marketing e-mails', 'bpm-bridge' );
		if ( null === $order ) {
			wp_die( esc_html__( 'This link is not valid. Use the link from your order e-mail, or contact the shop.', 'bpm-bridge' ), esc_html( $title ), array( 'response' => 403 ) );
		}
		$method = isset( $_SERVER['REQUEST_METHOD'] ) ? strtoupper( sanitize_key( wp_unslash( $_SERVER['REQUEST_METHOD'] ) ) ) : 'GET';
		if ( 'POST' === $method ) {
			$nonce = isset( $_POST['_wpnonce'] ) ? sanitize_text_field( wp_unslash( $_POST['_wpnonce'] ) ) : '';
			if ( ! wp_verify_nonce( $nonce, self::NONCE . $order->get_id() ) ) {
				wp_die( esc_html__( 'The page has expired. Open the link from your e-mail again.', 'bpm-bridge' ), esc_html( $title ), array( 'response' => 403 ) );
			}
			Consent::withdraw_for_order( $order, 'email-link', class_exists( '\WC_Geolocation' ) ? (string) \WC_Geolocation::get_ip_address() : '' );
			wp_die( '<p class="bpm-bridge-unsubscribed">' . esc_html__( 'Done: we will not send you news and offers by e-mail any more. Order e-mails (confirmations, invoices, shipping) still reach you.', 'bpm-bridge' ) . '</p>', esc_html( $title ), array( 'response' => 200 ) );
		}
		if ( ! self::offered( $order ) ) {
			wp_die( '<p class="bpm-bridge-unsubscribed">' . esc_html__( 'We do not send you news and offers by e-mail.', 'bpm-bridge' ) . '</p>', esc_html( $title ), array( 'response' => 200 ) );
		}
		$form = '<form method="post" action="' . esc_url( self::url( $order ) ) . '" class="bpm-bridge-unsubscribe">'
			. '<p>' . esc_html__( 'You agreed to receive news and offers from us by e-mail. Withdraw that consent?', 'bpm-bridge' ) . '</p>'
			. wp_nonce_field( self::NONCE . $order->get_id(), '_wpnonce', false, false )
			. '<p><button type="submit" class="button">' . esc_html__( 'Withdraw marketing consent', 'bpm-bridge' ) . '</button></p></form>';
		wp_die( $form, esc_html( $title ), array( 'response' => 200 ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts above.
	}

	/**
	 * `woocommerce_order_details_after_order_table`: the order-received and view-order pages.
	 *
	 * @param mixed $order Order.
	 */
	public static function order_page( $order ): void {
		if ( ! $order instanceof \WC_Order || ! Consent::enabled() || ! self::offered( $order ) ) {
			return;
		}
		echo '<p class="bpm-bridge-withdraw-link">' . esc_html__( 'You receive our news and offers by e-mail.', 'bpm-bridge' )
			. ' <a href="' . esc_url( self::url( $order ) ) . '">' . esc_html__( 'Withdraw marketing consent', 'bpm-bridge' ) . '</a></p>';
	}

	/**
	 * `woocommerce_email_after_order_table( $order, $sent_to_admin, $plain_text, $email )`: the customer's
	 * order e-mails only.
	 *
	 * @param mixed $order         Order.
	 * @param bool  $sent_to_admin Sent to the shop.
	 * @param bool  $plain_text    Plain-text e-mail.
	 * @param mixed $email         WC_Email.
	 */
	public static function email( $order, $sent_to_admin = false, $plain_text = false, $email = null ): void {
		$customer_email = is_object( $email ) && method_exists( $email, 'is_customer_email' ) ? $email->is_customer_email() : ! $sent_to_admin;
		if ( $sent_to_admin || ! $customer_email || ! $order instanceof \WC_Order || ! Consent::enabled() || ! self::offered( $order ) ) {
			return;
		}
		$text = __( 'You receive our news and offers by e-mail. To stop them, withdraw your consent here:', 'bpm-bridge' );
		if ( $plain_text ) {
			echo "\n" . esc_html( $text ) . "\n" . esc_url_raw( self::url( $order ) ) . "\n\n";
			return;
		}
		echo '<p class="bpm-bridge-withdraw-link">' . esc_html( $text ) . ' <a href="' . esc_url( self::url( $order ) ) . '">' . esc_html__( 'Withdraw marketing consent', 'bpm-bridge' ) . '</a></p>';
	}

	/**
	 * The order screen's "Withdraw marketing consent" link.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function admin_url( $order ): string {
		return wp_nonce_url( add_query_arg( array( 'action' => self::ADMIN_ACTION, 'order' => (int) $order->get_id() ), admin_url( 'admin-post.php' ) ), self::ADMIN_ACTION . '_' . $order->get_id() );
	}

	/**
	 * `admin_post_bpm_bridge_withdraw_consent`: the shop withdraws for the buyer (capability and nonce checked).
	 */
	public static function admin(): void {
		$order_id = isset( $_GET['order'] ) ? absint( $_GET['order'] ) : 0; // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- checked right below.
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			wp_die( esc_html__( 'You are not allowed to change this order.', 'bpm-bridge' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( self::ADMIN_ACTION . '_' . $order_id );
		$order = wc_get_order( $order_id );
		if ( ! $order instanceof \WC_Order ) {
			wp_die( esc_html__( 'This order could not be loaded.', 'bpm-bridge' ), '', array( 'response' => 404 ) );
		}
		if ( Consent::withdraw_for_order( $order, 'admin' ) ) {
			/* translators: %s: user's display name. */
			$order->add_order_note( sprintf( __( 'Marketing consent withdrawn by %s on the customer\'s behalf.', 'bpm-bridge' ), wp_get_current_user()->display_name ) );
		}
		wp_safe_redirect( $order->get_edit_order_url() );
		exit;
	}
}
