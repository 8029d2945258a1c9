<?php
/**
 * E-mail: return request-received (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-request-received.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

do_action( 'woocommerce_email_header', $email_heading, $email );
?>
<p><?php esc_html_e( "Thank you: we have received your return request. Please quote its number when you contact us. We will answer within 14 days.", "bpm-bridge" ); ?></p>
<?php wc_get_template( 'emails/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base ); ?>
<?php if ( '' !== $account_url ) : ?>
	<p><a href="<?php echo esc_url( $account_url ); ?>"><?php esc_html_e( 'See your return and how it is going', 'bpm-bridge' ); ?></a></p>
<?php endif; ?>
<?php
if ( $additional_content ) {
	echo wp_kses_post( wpautop( wptexturize( $additional_content ) ) );
}
do_action( 'woocommerce_email_footer', $email );
