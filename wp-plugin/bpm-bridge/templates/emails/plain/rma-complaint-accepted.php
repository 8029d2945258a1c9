<?php
/**
 * E-mail: complaint accepted (plain text).
 *
 * Override by copying to yourtheme/woocommerce/emails/plain/rma-complaint-accepted.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

echo esc_html( wp_strip_all_tags( $email_heading ) ) . "\n\n";
echo esc_html__( 'We accept your complaint. Please send the item back to us.', 'bpm-bridge' ) . "\n";
echo esc_html( 'own' === ( $rma['method'] ?? '' ) ? __( 'You send the parcel yourself: we will e-mail you a return slip to put in it.', 'bpm-bridge' ) : __( 'We will e-mail you the return label in a moment; you can also download it in your return\'s page once it is ready.', 'bpm-bridge' ) ) . "\n\n";
wc_get_template( 'emails/plain/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base );
if ( '' !== $account_url ) {
	echo esc_html__( 'See your return and how it is going:', 'bpm-bridge' ) . ' ' . esc_url_raw( $account_url ) . "\n\n";
}
if ( $additional_content ) {
	echo esc_html( wp_strip_all_tags( wptexturize( $additional_content ) ) ) . "\n\n";
}
echo wp_kses_post( apply_filters( 'woocommerce_email_footer_text', get_option( 'woocommerce_email_footer_text' ) ) );
