<?php
/**
 * The customer side of returns: My Account, the guest page (shortcode and block), the form's POST, downloads.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Composition of the customer-facing return pieces (Plugin::FEATURES calls register()).
 */
final class Customer {

	const SHORTCODE = 'bpm_bridge_return_form';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		Account::register();
		Downloads::register();
		Privacy::register();
		add_action( 'template_redirect', array( Form::class, 'maybe_handle' ), 5 );
		add_action( 'init', array( self::class, 'init' ) );
		add_action( 'wp_enqueue_scripts', array( self::class, 'register_assets' ) );
		add_action( 'wp', array( self::class, 'no_cache' ) );
	}

	/**
	 * A page with the return form is never cached: it carries a nonce, a guest's token and status, and a
	 * cached copy would show one visitor's answer (or an expired nonce) to the next. Headers for browsers and
	 * proxies, DONOTCACHEPAGE for page-cache plugins.
	 */
	public static function no_cache(): void {
		if ( ! is_singular() || ! self::has_form( get_queried_object() ) ) {
			return;
		}
		nocache_headers();
		if ( ! defined( 'DONOTCACHEPAGE' ) ) {
			define( 'DONOTCACHEPAGE', true );
		}
	}

	/**
	 * Whether a post shows the return form (the shortcode or the block).
	 *
	 * @param mixed $post Post.
	 */
	public static function has_form( $post ): bool {
		if ( ! $post instanceof \WP_Post ) {
			return false;
		}
		// The shortcode's own pattern, not has_shortcode(): that one also asks whether the tag is registered.
		return 1 === preg_match( '/' . get_shortcode_regex( array( self::SHORTCODE ) ) . '/', $post->post_content )
			|| ( function_exists( 'has_block' ) && has_block( 'bpm-bridge/return-form', $post->post_content ) );
	}

	/**
	 * The shortcode and the block.
	 */
	public static function init(): void {
		add_shortcode( self::SHORTCODE, array( self::class, 'shortcode' ) );
		if ( function_exists( 'register_block_type' ) ) {
			register_block_type(
				BPM_BRIDGE_DIR . '/blocks/return-form',
				array( 'render_callback' => array( self::class, 'render_block' ) )
			);
		}
	}

	/**
	 * Registers the stylesheet and script (enqueued where a return page renders).
	 */
	public static function register_assets(): void {
		wp_register_style( 'bpm-bridge-returns', plugins_url( 'assets/returns.css', BPM_BRIDGE_FILE ), array(), BPM_BRIDGE_VERSION );
		wp_register_script( 'bpm-bridge-returns', plugins_url( 'assets/returns.js', BPM_BRIDGE_FILE ), array(), BPM_BRIDGE_VERSION, true );
	}

	/**
	 * Enqueues the assets.
	 */
	public static function enqueue(): void {
		if ( ! wp_style_is( 'bpm-bridge-returns', 'registered' ) ) {
			self::register_assets();
		}
		wp_enqueue_style( 'bpm-bridge-returns' );
		wp_enqueue_script( 'bpm-bridge-returns' );
	}

	/**
	 * The block's server-side render, in the wrapper the block's supports ask for (classes, alignment, spacing).
	 *
	 * @return string
	 */
	public static function render_block() {
		return '<div ' . get_block_wrapper_attributes( array( 'class' => 'bpm-return-block' ) ) . '>' . self::shortcode() . '</div>';
	}

	/**
	 * The guest page: a return's status (signed link), the form after a match, or the look-up.
	 *
	 * @return string
	 */
	public static function shortcode() {
		self::enqueue();
		if ( ! Rules::enabled() ) {
			return '<p class="bpm-return-closed">' . esc_html__( 'This shop does not take return requests online.', 'bpm-bridge' ) . '</p>';
		}
		$page = self::page_url();
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- the signature is the check.
		$rma_id  = isset( $_GET['bpm_rma'] ) ? absint( $_GET['bpm_rma'] ) : 0;
		$sig     = isset( $_GET['bpm_sig'] ) ? sanitize_text_field( wp_unslash( $_GET['bpm_sig'] ) ) : '';
		$created = isset( $_GET['bpm_created'] );
		// phpcs:enable
		if ( $rma_id ) {
			$rma = Guest::verify( $rma_id, $sig ) ? Rma::get( $rma_id ) : null;
			if ( null === $rma ) {
				return '<p class="bpm-return-error" role="alert">' . esc_html__( 'This link is not valid.', 'bpm-bridge' ) . '</p>';
			}
			return Account::status( $rma, true, $created );
		}
		$state = Form::state();
		$token = (string) ( $state['token'] ?? '' );
		if ( '' !== $token ) {
			$order = wc_get_order( Guest::order_from_token( $token ) );
			if ( $order instanceof \WC_Order && ! $order instanceof \WC_Order_Refund ) {
				return Form::render( $order, $token, $page );
			}
		}
		return Templates::render(
			'lookup',
			array(
				'page'   => $page,
				'values' => (array) ( $state['lookup'] ?? array() ),
				'error'  => (string) ( $state['lookup_error'] ?? ( $state['errors']['form'] ?? '' ) ),
				'nonce'  => wp_create_nonce( 'bpm_bridge_return_lookup' ),
			)
		);
	}

	/**
	 * The URL of the page the shortcode is on (without our query arguments).
	 */
	private static function page_url(): string {
		$url = is_singular() ? (string) get_permalink() : '';
		if ( '' === $url ) {
			$uri = isset( $_SERVER['REQUEST_URI'] ) ? esc_url_raw( wp_unslash( $_SERVER['REQUEST_URI'] ) ) : '/';
			$url = home_url( $uri );
		}
		return remove_query_arg( array( 'bpm_rma', 'bpm_sig', 'bpm_created', 'bpm_form' ), $url );
	}
}
