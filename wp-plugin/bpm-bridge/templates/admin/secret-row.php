<?php
/**
 * Settings row: the signing secret's state and its generate / rotate buttons. The secret itself is never printed here.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args Secret status from Runtime::secret_status().
 */

defined( 'ABSPATH' ) || exit;

$bpm_secret = $args['secret'] ?? array();
?>
<div class="bpm-bridge-secret">
	<?php if ( ! empty( $bpm_secret['current'] ) ) : ?>
		<p>
			<?php
			printf(
				/* translators: %s: short fingerprint of the secret, e.g. 3f2a9c1d. */
				esc_html__( 'A signing secret is set (fingerprint %s). It is not shown again; compare the fingerprint with the sidecar\'s if in doubt.', 'bpm-bridge' ),
				'<code>' . esc_html( (string) $bpm_secret['fingerprint'] ) . '</code>'
			);
			?>
		</p>
		<?php if ( ! empty( $bpm_secret['previous'] ) ) : ?>
			<p class="bpm-bridge-muted">
				<?php
				printf(
					/* translators: %s: short fingerprint of the previous secret. */
					esc_html__( 'Rotation in progress: events are also signed with the previous secret (fingerprint %s) until you stop using it.', 'bpm-bridge' ),
					'<code>' . esc_html( (string) $bpm_secret['previous_fingerprint'] ) . '</code>'
				);
				?>
			</p>
		<?php endif; ?>
	<?php else : ?>
		<p><?php esc_html_e( 'No signing secret yet. Generate one and give it to the sidecar as BPM_WEBHOOK_SECRETS.', 'bpm-bridge' ); ?></p>
	<?php endif; ?>
	<p class="bpm-bridge-actions">
		<?php if ( empty( $bpm_secret['current'] ) ) : ?>
			<button type="submit" class="button" form="bpm-bridge-form-secret" name="mode" value="generate"><?php esc_html_e( 'Generate secret', 'bpm-bridge' ); ?></button>
		<?php else : ?>
			<button type="submit" class="button" form="bpm-bridge-form-secret" name="mode" value="rotate" data-confirm="<?php esc_attr_e( 'Rotate the signing secret? Events will carry signatures with both the new and the old secret until you stop using the old one, so the sidecar keeps working while you update it.', 'bpm-bridge' ); ?>"><?php esc_html_e( 'Rotate secret', 'bpm-bridge' ); ?></button>
			<?php if ( ! empty( $bpm_secret['previous'] ) ) : ?>
				<button type="submit" class="button" form="bpm-bridge-form-drop_previous_secret" data-confirm="<?php esc_attr_e( 'Stop signing with the previous secret? Do this once the sidecar has the new secret.', 'bpm-bridge' ); ?>"><?php esc_html_e( 'Stop using the previous secret', 'bpm-bridge' ); ?></button>
			<?php endif; ?>
		<?php endif; ?>
	</p>
</div>
