<?php
/**
 * The guest look-up: order number + billing e-mail.
 *
 * @package BPM_Bridge
 *
 * @var array $args page, values (number, email), error, nonce.
 */

defined( 'ABSPATH' ) || exit;
?>
<div class="bpm-return bpm-return-lookup">
	<p><?php esc_html_e( 'Enter your order number and the e-mail address you used for the order to return items.', 'bpm-bridge' ); ?></p>
	<?php if ( '' !== $args['error'] ) : ?>
		<p class="bpm-return-error" role="alert"><?php echo esc_html( $args['error'] ); ?></p>
	<?php endif; ?>
	<form class="bpm-return-lookup-form" method="post" action="<?php echo esc_url( $args['page'] ); ?>">
		<input type="hidden" name="bpm_bridge_return" value="lookup" />
		<input type="hidden" name="_bpm_nonce" value="<?php echo esc_attr( $args['nonce'] ); ?>" />
		<p>
			<label for="bpm-order-number"><?php esc_html_e( 'Order number', 'bpm-bridge' ); ?></label>
			<input type="text" id="bpm-order-number" name="bpm_order_number" required value="<?php echo esc_attr( $args['values']['number'] ?? '' ); ?>" />
		</p>
		<p>
			<label for="bpm-email"><?php esc_html_e( 'Billing e-mail', 'bpm-bridge' ); ?></label>
			<input type="email" id="bpm-email" name="bpm_email" required value="<?php echo esc_attr( $args['values']['email'] ?? '' ); ?>" />
		</p>
		<p><button type="submit" class="button"><?php esc_html_e( 'Find my order', 'bpm-bridge' ); ?></button></p>
	</form>
</div>
