<?php
/**
 * CRM settings tools: "Load stages" (with the pipelines loaded last) and the webhook secret's "Generate".
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {loaded: array|null, has_secret: bool}.
 */

use BPM_Bridge\Crm\Pipelines;

defined( 'ABSPATH' ) || exit;

$bpm_loaded = is_array( $args['loaded'] ?? null ) ? $args['loaded'] : null;
?>
<div id="bpm-bridge-crm-tools">
	<h2><?php esc_html_e( 'CRM connection', 'bpm-bridge' ); ?></h2>
	<table class="form-table bpm-bridge-form">
		<tr valign="top" id="bpm-bridge-load-stages-row">
			<th scope="row" class="titledesc"><?php esc_html_e( 'Test connection', 'bpm-bridge' ); ?></th>
			<td class="forminp">
				<div id="bpm-bridge-load-stages-tool">
					<button type="button" class="button" id="bpm-bridge-load-stages"><?php esc_html_e( 'Load stages', 'bpm-bridge' ); ?></button>
					<span id="bpm-bridge-load-stages-result" role="status" aria-live="polite"></span>
					<p class="description"><?php esc_html_e( 'Save your CRM settings first. The sidecar then connects to your CRM with them and lists its pipelines and stages, and each status below becomes a choice of those stages.', 'bpm-bridge' ); ?></p>
					<ul id="bpm-bridge-pipelines">
						<?php if ( null !== $bpm_loaded ) : ?>
							<?php foreach ( (array) $bpm_loaded['pipelines'] as $bpm_pipeline ) : ?>
								<li>
									<?php
									/* translators: 1: CRM name, 2: pipeline name, 3: pipeline ID, 4: number of stages. */
									echo esc_html( sprintf( __( '%1$s pipeline "%2$s" (ID %3$s): %4$d stages', 'bpm-bridge' ), Pipelines::provider_label( (string) $bpm_loaded['provider'] ), (string) $bpm_pipeline['label'], (string) $bpm_pipeline['id'], count( (array) $bpm_pipeline['stages'] ) ) );
									?>
								</li>
							<?php endforeach; ?>
						<?php endif; ?>
					</ul>
				</div>
			</td>
		</tr>
		<tr valign="top" id="bpm-bridge-webhook-secret-row">
			<th scope="row" class="titledesc"><?php esc_html_e( 'Webhook signing secret', 'bpm-bridge' ); ?></th>
			<td class="forminp">
				<div id="bpm-bridge-webhook-secret-tool">
					<button type="button" class="button" id="bpm-bridge-generate-webhook-secret" data-saved="<?php echo esc_attr( empty( $args['has_secret'] ) ? '0' : '1' ); ?>"><?php esc_html_e( 'Generate', 'bpm-bridge' ); ?></button>
					<span id="bpm-bridge-webhook-secret-result" role="status" aria-live="polite"></span>
					<p id="bpm-bridge-webhook-secret-reveal" hidden>
						<label for="bpm-bridge-new-webhook-secret" class="screen-reader-text"><?php esc_html_e( 'New webhook signing secret', 'bpm-bridge' ); ?></label>
						<input type="text" id="bpm-bridge-new-webhook-secret" class="regular-text" readonly="readonly" value="" />
						<button type="button" class="button bpm-bridge-copy" data-target="bpm-bridge-new-webhook-secret" data-copied="<?php esc_attr_e( 'Copied', 'bpm-bridge' ); ?>"><?php esc_html_e( 'Copy', 'bpm-bridge' ); ?></button>
					</p>
				</div>
			</td>
		</tr>
	</table>
</div>
