<?php
/**
 * E-mail: return refund-issued (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-refund-issued.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

do_action( 'woocommerce_email_header', $email_heading, $email );
?>
<?php $bpm_refund = empty( $rma["refund_id"] ) ? null : wc_get_order( (int) $rma["refund_id"] ); ?>
<p>
	<?php if ( $bpm_refund ) : ?>
		<?php
		/* translators: %s: refunded amount with currency. */
		echo esc_html( sprintf( __( "We have refunded %s for your return.", "bpm-bridge" ), wp_strip_all_tags( wc_price( $bpm_refund->get_amount(), array( "currency" => $order->get_currency() ) ) ) ) );
		?>
	<?php else : ?>
		<?php esc_html_e( "We have refunded your return.", "bpm-bridge" ); ?>
	<?php endif; ?>
	<?php esc_html_e( "Depending on your bank, the money may take a few days to arrive.", "bpm-bridge" ); ?>
</p>
<?php wc_get_template( 'emails/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base ); ?>
<?php if ( '' !== $account_url ) : ?>
	<p><a href="<?php echo esc_url( $account_url ); ?>"><?php esc_html_e( 'See your returns in My Account', 'bpm-bridge' ); ?></a></p>
<?php endif; ?>
<?php
if ( $additional_content ) {
	echo wp_kses_post( wpautop( wptexturize( $additional_content ) ) );
}
do_action( 'woocommerce_email_footer', $email );
