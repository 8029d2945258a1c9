<?php
/**
 * One-time panel: a new signing secret or a new Application Password with the sidecar environment snippet.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {kind: "secret"|"api_user", data: array}.
 */

defined( 'ABSPATH' ) || exit;

$bpm_kind = (string) ( $args['kind'] ?? '' );
$bpm_data = is_array( $args['data'] ?? null ) ? $args['data'] : array();
?>
<div class="bpm-bridge-reveal" role="region" aria-label="<?php esc_attr_e( 'Shown once', 'bpm-bridge' ); ?>">
	<?php if ( 'secret' === $bpm_kind ) : ?>
		<p><strong><?php esc_html_e( 'New signing secret — copy it now, it will not be shown again.', 'bpm-bridge' ); ?></strong></p>
		<p>
			<label for="bpm-bridge-new-secret" class="screen-reader-text"><?php esc_html_e( 'New signing secret', 'bpm-bridge' ); ?></label>
			<input type="text" id="bpm-bridge-new-secret" readonly="readonly" value="<?php echo esc_attr( (string) ( $bpm_data['secret'] ?? '' ) ); ?>" />
			<button type="button" class="button bpm-bridge-copy" data-target="bpm-bridge-new-secret" data-copied="<?php esc_attr_e( 'Copied', 'bpm-bridge' ); ?>"><?php esc_html_e( 'Copy', 'bpm-bridge' ); ?></button>
		</p>
		<p><?php esc_html_e( 'Set it in the sidecar\'s environment and restart the sidecar:', 'bpm-bridge' ); ?></p>
		<p>
			<label for="bpm-bridge-secret-env" class="screen-reader-text"><?php esc_html_e( 'Sidecar setting', 'bpm-bridge' ); ?></label>
			<textarea id="bpm-bridge-secret-env" rows="2" readonly="readonly"><?php echo esc_textarea( (string) ( $bpm_data['env'] ?? '' ) ); ?></textarea>
			<button type="button" class="button bpm-bridge-copy" data-target="bpm-bridge-secret-env" data-copied="<?php esc_attr_e( 'Copied', 'bpm-bridge' ); ?>"><?php esc_html_e( 'Copy', 'bpm-bridge' ); ?></button>
		</p>
	<?php elseif ( 'api_user' === $bpm_kind ) : ?>
		<p>
			<strong>
				<?php
				printf(
					/* translators: %s: user login. */
					esc_html__( 'New Application Password for %s — copy it now, it will not be shown again.', 'bpm-bridge' ),
					esc_html( (string) ( $bpm_data['login'] ?? '' ) )
				);
				?>
			</strong>
		</p>
		<p><?php esc_html_e( 'Environment settings for the sidecar (for example its .env file):', 'bpm-bridge' ); ?></p>
		<p>
			<label for="bpm-bridge-api-env" class="screen-reader-text"><?php esc_html_e( 'Sidecar environment', 'bpm-bridge' ); ?></label>
			<textarea id="bpm-bridge-api-env" rows="5" readonly="readonly"><?php echo esc_textarea( (string) ( $bpm_data['env'] ?? '' ) ); ?></textarea>
			<button type="button" class="button bpm-bridge-copy" data-target="bpm-bridge-api-env" data-copied="<?php esc_attr_e( 'Copied', 'bpm-bridge' ); ?>"><?php esc_html_e( 'Copy', 'bpm-bridge' ); ?></button>
		</p>
		<?php if ( ! empty( $bpm_data['secret_included'] ) ) : ?>
			<p class="bpm-bridge-muted"><?php esc_html_e( 'No signing secret existed yet, so one was created: it is the BPM_WEBHOOK_SECRETS value above and will not be shown again either.', 'bpm-bridge' ); ?></p>
		<?php else : ?>
			<p class="bpm-bridge-muted"><?php esc_html_e( 'The signing secret itself is never shown again: replace the placeholder with the value you saved when you generated it, or rotate the secret to get a new one.', 'bpm-bridge' ); ?></p>
		<?php endif; ?>
	<?php endif; ?>
</div>
