<?php
/**
 * E-mail: complaint accepted (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-complaint-accepted.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

do_action( 'woocommerce_email_header', $email_heading, $email );
?>
<p><?php esc_html_e( 'We accept your complaint. Please send the item back to us.', 'bpm-bridge' ); ?></p>
<p><?php echo esc_html( 'own' === ( $rma['method'] ?? '' ) ? __( 'You send the parcel yourself: we will e-mail you a return slip to put in it.', 'bpm-bridge' ) : __( 'We will e-mail you the return label in a moment; you can also download it in your return\'s page once it is ready.', 'bpm-bridge' ) ); ?></p>
<?php wc_get_template( 'emails/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base ); ?>
<?php if ( '' !== $account_url ) : ?>
	<p><a href="<?php echo esc_url( $account_url ); ?>"><?php esc_html_e( 'See your return and how it is going', 'bpm-bridge' ); ?></a></p>
<?php endif; ?>
<?php
if ( $additional_content ) {
	echo wp_kses_post( wpautop( wptexturize( $additional_content ) ) );
}
do_action( 'woocommerce_email_footer', $email );
