<?php
/**
 * E-mail: return request-approved (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-request-approved.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma                The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;

do_action( 'woocommerce_email_header', $email_heading, $email );
?>
<p><?php esc_html_e( "Your return is approved. Print the attached label (or download it in My Account), stick it on the parcel and send the items back.", "bpm-bridge" ); ?></p>
<?php if ( ! empty( $rma["label"]["tracking_number"] ) ) : ?>
	<p><strong><?php esc_html_e( "Tracking number:", "bpm-bridge" ); ?></strong> <?php echo esc_html( (string) $rma["label"]["tracking_number"] ); ?>
	<?php if ( ! empty( $rma["label"]["url"] ) ) : ?>
		<br /><a href="<?php echo esc_url( (string) $rma["label"]["url"] ); ?>"><?php esc_html_e( "Track the parcel", "bpm-bridge" ); ?></a>
	<?php endif; ?>
	</p>
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
