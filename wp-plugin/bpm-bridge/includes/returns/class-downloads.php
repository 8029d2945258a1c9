<?php
/**
 * The return label and complaint photos, served to their owner and to shop staff only.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Handlers on admin-post.php (logged in and guests): the return's customer with a nonce, staff
 * (manage_woocommerce) with a nonce, or a guest with the return's signature.
 */
final class Downloads {

	/**
	 * Hooks the handlers.
	 */
	public static function register(): void {
		foreach ( array( 'bpm_bridge_return_label' => 'label', 'bpm_bridge_return_photo' => 'photo' ) as $action => $method ) {
			add_action( 'admin_post_' . $action, array( self::class, $method ) );
			add_action( 'admin_post_nopriv_' . $action, array( self::class, $method ) );
		}
	}

	/**
	 * The label download URL for the current visitor (guests: signed).
	 *
	 * @param int  $rma_id RMA id.
	 * @param bool $guest  Sign for a guest instead of a nonce.
	 */
	public static function label_url( int $rma_id, bool $guest = false ): string {
		return self::url( 'bpm_bridge_return_label', $rma_id, array(), $guest );
	}

	/**
	 * A photo's URL (the customer's pages and the shop's return screen). The URL names the photo by its position
	 * in the return, never by its stored name: the name stays a secret even where a server ignores .htaccess.
	 *
	 * @param int        $rma_id RMA id.
	 * @param int|string $photo  Position in the return's photos (0-based), or a stored name (looked up).
	 * @param bool       $guest  Sign for a guest instead of a nonce.
	 */
	public static function photo_url( int $rma_id, $photo, bool $guest = false ): string {
		if ( ! is_int( $photo ) ) {
			$rma   = Rma::get( $rma_id );
			$found = null === $rma ? false : array_search( (string) $photo, $rma['photos'], true );
			$photo = false === $found ? -1 : (int) $found;
		}
		return self::url( 'bpm_bridge_return_photo', $rma_id, array( 'photo' => (string) $photo ), $guest );
	}

	/**
	 * A handler URL.
	 *
	 * @param string $action Action.
	 * @param int    $rma_id RMA id.
	 * @param array  $extra  More arguments.
	 * @param bool   $guest  Signed for a guest.
	 */
	private static function url( string $action, int $rma_id, array $extra, bool $guest ): string {
		$args = array(
			'action' => $action,
			'rma'    => $rma_id,
		) + $extra;
		if ( $guest ) {
			$args['sig'] = Guest::signature( $rma_id );
		} else {
			$args['_wpnonce'] = wp_create_nonce( $action . '_' . $rma_id );
		}
		return add_query_arg( array_map( 'rawurlencode', $args ), admin_url( 'admin-post.php' ) );
	}

	/**
	 * Whether the visitor may see this return's files.
	 *
	 * @param string $action Action (the nonce's).
	 * @param array  $rma    Rma::get().
	 */
	public static function allowed( string $action, array $rma ): bool {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- this is the nonce/signature check.
		$sig   = isset( $_GET['sig'] ) ? sanitize_text_field( wp_unslash( $_GET['sig'] ) ) : '';
		$nonce = isset( $_GET['_wpnonce'] ) ? sanitize_text_field( wp_unslash( $_GET['_wpnonce'] ) ) : '';
		// phpcs:enable
		if ( '' !== $sig ) {
			return Guest::verify( (int) $rma['id'], $sig );
		}
		if ( ! wp_verify_nonce( $nonce, $action . '_' . $rma['id'] ) ) {
			return false;
		}
		$user = get_current_user_id();
		return current_user_can( 'manage_woocommerce' ) || ( $user > 0 && (int) $rma['customer_id'] === $user );
	}

	/**
	 * The requested return, or a 404/403 end.
	 *
	 * @param string $action Action.
	 * @return array<string,mixed>
	 */
	private static function rma_or_die( string $action ): array {
		$rma_id = isset( $_GET['rma'] ) ? absint( $_GET['rma'] ) : 0; // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- checked in allowed().
		$rma    = $rma_id ? Rma::get( $rma_id ) : null;
		if ( null === $rma || ! self::allowed( $action, $rma ) ) {
			wp_die( esc_html__( 'You cannot open this file.', 'bpm-bridge' ), '', array( 'response' => 403 ) );
		}
		return $rma;
	}

	/**
	 * Serves the label PDF as an attachment.
	 */
	public static function label(): void {
		$rma = self::rma_or_die( 'bpm_bridge_return_label' );
		$pdf = Rma::label_pdf( (int) $rma['id'] );
		if ( '' === $pdf ) {
			wp_die( esc_html__( 'The label is not ready yet.', 'bpm-bridge' ), '', array( 'response' => 404 ) );
		}
		self::send( $pdf, 'application/pdf', 'attachment; filename="' . $rma['number'] . '.pdf"' );
	}

	/**
	 * Serves a complaint photo of the return.
	 */
	public static function photo(): void {
		$rma  = self::rma_or_die( 'bpm_bridge_return_photo' );
		$index = isset( $_GET['photo'] ) ? sanitize_text_field( wp_unslash( $_GET['photo'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- checked in allowed().
		$name  = ctype_digit( $index ) ? (string) ( $rma['photos'][ (int) $index ] ?? '' ) : '';
		$path  = '' === $name ? '' : Photos::path( $name );
		if ( '' === $path ) {
			wp_die( esc_html__( 'No such photo.', 'bpm-bridge' ), '', array( 'response' => 404 ) );
		}
		$ext   = pathinfo( $path, PATHINFO_EXTENSION );
		$types = array_flip( Photos::TYPES );
		self::headers( $types[ $ext ], 'inline; filename="' . $rma['number'] . '-' . ( (int) $index + 1 ) . '.' . $ext . '"', (int) filesize( $path ) );
		readfile( $path ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		exit;
	}

	/**
	 * A private file's headers.
	 *
	 * @param string $type        Content type.
	 * @param string $disposition Content-Disposition.
	 * @param int    $length      Bytes.
	 */
	private static function headers( string $type, string $disposition, int $length ): void {
		nocache_headers();
		header( 'Content-Type: ' . $type );
		header( 'Content-Disposition: ' . $disposition );
		header( 'Content-Length: ' . $length );
		header( 'X-Content-Type-Options: nosniff' );
	}

	/**
	 * Sends a file and ends the request.
	 *
	 * @param string $body        Body.
	 * @param string $type        Content type.
	 * @param string $disposition Content-Disposition.
	 */
	private static function send( string $body, string $type, string $disposition ): void {
		self::headers( $type, $disposition, strlen( $body ) );
		echo $body; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- a PDF or image file.
		exit;
	}
}
