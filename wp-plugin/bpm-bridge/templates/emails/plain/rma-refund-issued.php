<?php
/**
 * E-mail: return refund-issued (plain text).
 *
 * Override by copying to yourtheme/woocommerce/emails/plain/rma-refund-issued.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

echo esc_html( wp_strip_all_tags( $email_heading ) ) . "\n\n";
$bpm_refund = empty( $rma["refund_id"] ) ? null : wc_get_order( (int) $rma["refund_id"] );
if ( $bpm_refund ) {
	/* translators: %s: refunded amount with currency. */
	echo esc_html( sprintf( __( "We have refunded %s for your return.", "bpm-bridge" ), wp_strip_all_tags( wc_price( $bpm_refund->get_amount(), array( "currency" => $order->get_currency() ) ) ) ) ) . "\n";
} else {
	echo esc_html__( "We have refunded your return.", "bpm-bridge" ) . "\n";
}
echo esc_html__( "Depending on your bank, the money may take a few days to arrive.", "bpm-bridge" ) . "\n";
echo "\n";
wc_get_template( 'emails/plain/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base );
if ( '' !== $account_url ) {
	echo esc_html__( 'See your returns in My Account:', 'bpm-bridge' ) . ' ' . esc_url_raw( $account_url ) . "\n\n";
}
if ( $additional_content ) {
	echo esc_html( wp_strip_all_tags( wptexturize( $additional_content ) ) ) . "\n\n";
}
echo wp_kses_post( apply_filters( 'woocommerce_email_footer_text', get_option( 'woocommerce_email_footer_text' ) ) );
