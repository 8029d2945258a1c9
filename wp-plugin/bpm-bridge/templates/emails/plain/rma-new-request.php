<?php
/**
 * E-mail: return new-request (plain text).
 *
 * Override by copying to yourtheme/woocommerce/emails/plain/rma-new-request.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

echo esc_html( wp_strip_all_tags( $email_heading ) ) . "\n\n";
/* translators: 1: customer name, 2: order number. */
echo esc_html( sprintf( __( '%1$s asked to return items of order #%2$s.', 'bpm-bridge' ), $order->get_formatted_billing_full_name(), $order->get_order_number() ) ) . "\n";
echo esc_html__( 'Kind:', 'bpm-bridge' ) . ' ' . esc_html( 'complaint' === $rma['kind'] ? __( 'Complaint (reklamacja)', 'bpm-bridge' ) : __( 'Withdrawal (odstąpienie od umowy)', 'bpm-bridge' ) ) . "\n";
if ( ! empty( $rma['due_at'] ) ) {
	echo esc_html__( 'Answer or refund by:', 'bpm-bridge' ) . ' ' . esc_html( wp_date( (string) get_option( 'date_format' ), (int) strtotime( (string) $rma['due_at'] ) ) ) . "\n";
}
echo "\n";
wc_get_template( 'emails/plain/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base );
if ( '' !== (string) $rma['customer_note'] ) {
	echo esc_html__( 'Customer\'s comment:', 'bpm-bridge' ) . "\n" . esc_html( (string) $rma['customer_note'] ) . "\n\n";
}
echo esc_url_raw( add_query_arg( array( 'page' => 'bpm-bridge-returns', 'rma' => (int) $rma['id'] ), admin_url( 'admin.php' ) ) ) . "\n\n";
if ( $additional_content ) {
	echo esc_html( wp_strip_all_tags( wptexturize( $additional_content ) ) ) . "\n\n";
}
echo wp_kses_post( apply_filters( 'woocommerce_email_footer_text', get_option( 'woocommerce_email_footer_text' ) ) );
