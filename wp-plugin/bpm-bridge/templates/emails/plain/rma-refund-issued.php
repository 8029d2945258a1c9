<?php
/**
 * E-mail: return refund-issued (plain text).
 *
 * Override by copying to yourtheme/woocommerce/emails/plain/rma-refund-issued.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma The return (Rma::get()); also $refund_amount (with currency, '' when unknown),
 *                                $refund_money (the payment method sent it), $iban_tail (last 4 digits or '').
 */

defined( 'ABSPATH' ) || exit;

echo esc_html( wp_strip_all_tags( $email_heading ) ) . "\n\n";
if ( '' !== $refund_amount && $refund_money ) {
	/* translators: %s: refunded amount with currency. */
	echo esc_html( sprintf( __( 'We have refunded %s for your return through your payment method.', 'bpm-bridge' ), $refund_amount ) ) . "\n";
	echo esc_html__( 'Depending on your bank, the money may take a few days to arrive.', 'bpm-bridge' ) . "\n";
} elseif ( '' !== $refund_amount && '' !== $iban_tail ) {
	/* translators: 1: refunded amount with currency, 2: last four digits of the bank account. */
	echo esc_html( sprintf( __( 'We will transfer %1$s to your bank account ending in %2$s.', 'bpm-bridge' ), $refund_amount, $iban_tail ) ) . "\n";
} elseif ( '' !== $refund_amount ) {
	/* translators: %s: refunded amount with currency. */
	echo esc_html( sprintf( __( 'We will transfer %s to your account.', 'bpm-bridge' ), $refund_amount ) ) . "\n";
} else {
	echo esc_html__( 'We have refunded your return.', 'bpm-bridge' ) . "\n";
}
echo "\n";
wc_get_template( 'emails/plain/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base );
if ( '' !== $account_url ) {
	echo esc_html__( 'See your return and how it is going:', 'bpm-bridge' ) . ' ' . esc_url_raw( $account_url ) . "\n\n";
}
if ( $additional_content ) {
	echo esc_html( wp_strip_all_tags( wptexturize( $additional_content ) ) ) . "\n\n";
}
echo wp_kses_post( apply_filters( 'woocommerce_email_footer_text', get_option( 'woocommerce_email_footer_text' ) ) );
