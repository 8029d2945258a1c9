<?php
/**
 * E-mail: return new-request (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-new-request.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

$bpm_due = empty( $rma['due_at'] ) ? '' : wp_date( (string) get_option( 'date_format' ), (int) strtotime( (string) $rma['due_at'] ) );
$bpm_url = add_query_arg(
	array(
		'page' => 'bpm-bridge-returns',
		'rma'  => (int) $rma['id'],
	),
	admin_url( 'admin.php' )
);

do_action( 'woocommerce_email_header', $email_heading, $email );
?>
<p>
	<?php
	/* translators: 1: customer name, 2: order number. */
	echo esc_html( sprintf( __( '%1$s asked to return items of order #%2$s.', 'bpm-bridge' ), $order->get_formatted_billing_full_name(), $order->get_order_number() ) );
	?>
</p>
<p>
	<strong><?php esc_html_e( 'Kind:', 'bpm-bridge' ); ?></strong>
	<?php echo esc_html( 'complaint' === $rma['kind'] ? __( 'Complaint (reklamacja)', 'bpm-bridge' ) : __( 'Withdrawal (odstąpienie od umowy)', 'bpm-bridge' ) ); ?><br />
	<?php if ( '' !== $bpm_due ) : ?>
		<strong><?php esc_html_e( 'Answer or refund by:', 'bpm-bridge' ); ?></strong> <?php echo esc_html( $bpm_due ); ?>
	<?php endif; ?>
</p>
<?php wc_get_template( 'emails/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base ); ?>
<?php if ( '' !== (string) $rma['customer_note'] ) : ?>
	<p><strong><?php esc_html_e( 'Customer\'s comment:', 'bpm-bridge' ); ?></strong><br /><?php echo nl2br( esc_html( (string) $rma['customer_note'] ) ); ?></p>
<?php endif; ?>
<p><a href="<?php echo esc_url( $bpm_url ); ?>"><?php esc_html_e( 'Open the return in WooCommerce → Returns', 'bpm-bridge' ); ?></a></p>
<?php
if ( $additional_content ) {
	echo wp_kses_post( wpautop( wptexturize( $additional_content ) ) );
}
do_action( 'woocommerce_email_footer', $email );
