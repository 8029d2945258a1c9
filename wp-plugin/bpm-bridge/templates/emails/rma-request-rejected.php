<?php
/**
 * E-mail: return request-rejected (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-request-rejected.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

do_action( 'woocommerce_email_header', $email_heading, $email );
?>
<p><?php esc_html_e( "We are sorry: your return was not accepted.", "bpm-bridge" ); ?></p>
<?php if ( "" !== (string) $rma["decision_note"] ) : ?>
	<p><strong><?php esc_html_e( "Reason:", "bpm-bridge" ); ?></strong> <?php echo nl2br( esc_html( (string) $rma["decision_note"] ) ); ?></p>
<?php endif; ?>
<?php wc_get_template( 'emails/rma-details.php', array( 'rma' => $rma, 'order' => $order, 'items' => $items ), '', $email->template_base ); ?>
<?php if ( '' !== $account_url ) : ?>
	<p><a href="<?php echo esc_url( $account_url ); ?>"><?php esc_html_e( 'See your return and how it is going', 'bpm-bridge' ); ?></a></p>
<?php endif; ?>
<?php
if ( $additional_content ) {
	echo wp_kses_post( wpautop( wptexturize( $additional_content ) ) );
}
do_action( 'woocommerce_email_footer', $email );
