<?php
/**
 * E-mail: return request-received (plain text).
 *
 * Override by copying to yourtheme/woocommerce/emails/plain/rma-request-received.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

echo esc_html( wp_strip_all_tags( $email_heading ) ) . "\n\n";
echo esc_html__( "Thank you: we have received your return request. Please quote its number when you contact us. We will answer within 14 days.", "bpm-bridge" ) . "\n";
echo "\n";
wc_get_template( 'emails/plain/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base );
if ( '' !== $account_url ) {
	echo esc_html__( 'See your return and how it is going:', 'bpm-bridge' ) . ' ' . esc_url_raw( $account_url ) . "\n\n";
}
if ( $additional_content ) {
	echo esc_html( wp_strip_all_tags( wptexturize( $additional_content ) ) ) . "\n\n";
}
echo wp_kses_post( apply_filters( 'woocommerce_email_footer_text', get_option( 'woocommerce_email_footer_text' ) ) );
