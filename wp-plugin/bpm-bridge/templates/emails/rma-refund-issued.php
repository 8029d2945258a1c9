<?php
/**
 * E-mail: return refund-issued (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-refund-issued.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma The return (Rma::get()); also $refund_amount (with currency, '' when unknown),
 *                                $refund_money (the payment method sent it), $iban_tail (last 4 digits or '').
 */

defined( 'ABSPATH' ) || exit;

do_action( 'woocommerce_email_header', $email_heading, $email );
?>
<p>
	<?php if ( '' !== $refund_amount && $refund_money ) : ?>
		<?php
		/* translators: %s: refunded amount with currency. */
		echo esc_html( sprintf( __( 'We have refunded %s for your return through your payment method.', 'bpm-bridge' ), $refund_amount ) );
		?>
		<?php esc_html_e( 'Depending on your bank, the money may take a few days to arrive.', 'bpm-bridge' ); ?>
	<?php elseif ( '' !== $refund_amount && '' !== $iban_tail ) : ?>
		<?php
		/* translators: 1: refunded amount with currency, 2: last four digits of the bank account. */
		echo esc_html( sprintf( __( 'We will transfer %1$s to your bank account ending in %2$s.', 'bpm-bridge' ), $refund_amount, $iban_tail ) );
		?>
	<?php elseif ( '' !== $refund_amount ) : ?>
		<?php
		/* translators: %s: refunded amount with currency. */
		echo esc_html( sprintf( __( 'We will transfer %s to your account.', 'bpm-bridge' ), $refund_amount ) );
		?>
	<?php else : ?>
		<?php esc_html_e( 'We have refunded your return.', 'bpm-bridge' ); ?>
	<?php endif; ?>
</p>
<?php wc_get_template( 'emails/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base ); ?>
<?php if ( '' !== $account_url ) : ?>
	<p><a href="<?php echo esc_url( $account_url ); ?>"><?php esc_html_e( 'See your return and how it is going', 'bpm-bridge' ); ?></a></p>
<?php endif; ?>
<?php
if ( $additional_content ) {
	echo wp_kses_post( wpautop( wptexturize( $additional_content ) ) );
}
do_action( 'woocommerce_email_footer', $email );
