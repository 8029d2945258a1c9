<?php
/**
 * My Account → Account details: the marketing consent, given or withdrawn with one form of its own.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {record: array|null, text: string, action: string}.
 */

defined( 'ABSPATH' ) || exit;

$bpm_record  = is_array( $args['record'] ?? null ) ? $args['record'] : null;
$bpm_granted = null !== $bpm_record && true === $bpm_record['granted'];
?>
<form class="bpm-bridge-consent woocommerce-EditAccountForm" method="post" action="">
	<fieldset>
		<legend><?php esc_html_e( 'Marketing consent', 'bpm-bridge' ); ?></legend>
		<p class="bpm-bridge-consent-state">
			<?php if ( $bpm_granted ) : ?>
				<?php
				/* translators: %s: date of the consent. */
				echo esc_html( sprintf( __( 'You agreed on %s to receive news and offers by e-mail.', 'bpm-bridge' ), wp_date( get_option( 'date_format' ), (int) strtotime( (string) $bpm_record['at'] ) ) ) );
				?>
			<?php else : ?>
				<?php esc_html_e( 'We do not send you news and offers by e-mail.', 'bpm-bridge' ); ?>
			<?php endif; ?>
		</p>
		<p class="form-row form-row-wide">
			<label class="woocommerce-form__label woocommerce-form__label-for-checkbox checkbox" for="bpm_bridge_marketing">
				<input type="checkbox" class="woocommerce-form__input woocommerce-form__input-checkbox input-checkbox" name="marketing" id="bpm_bridge_marketing" value="1" <?php checked( $bpm_granted ); ?> />
				<span><?php echo esc_html( (string) $args['text'] ); ?></span>
			</label>
		</p>
		<?php wp_nonce_field( (string) $args['action'], 'bpm_bridge_consent_nonce' ); ?>
		<input type="hidden" name="bpm_bridge_action" value="<?php echo esc_attr( (string) $args['action'] ); ?>" />
		<p><button type="submit" class="woocommerce-Button button" name="bpm_bridge_save_consent" value="1"><?php esc_html_e( 'Save marketing preference', 'bpm-bridge' ); ?></button></p>
	</fieldset>
</form>
