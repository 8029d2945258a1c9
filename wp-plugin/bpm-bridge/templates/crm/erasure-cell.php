<?php
/**
 * Tools → Erase Personal Data, "CRM erasure" cell: the outcome per CRM, as the sidecar reported it.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {queued: bool, outcomes: array<string, array{status, message, at}>}.
 */

defined( 'ABSPATH' ) || exit;

$bpm_labels = array(
	'done'    => __( 'erased', 'bpm-bridge' ),
	'failed'  => __( 'failed', 'bpm-bridge' ),
	'skipped' => __( 'nothing to erase', 'bpm-bridge' ),
);
$bpm_outcomes = (array) ( $args['outcomes'] ?? array() );
?>
<div class="bpm-bridge-erasure">
	<?php if ( array() === $bpm_outcomes ) : ?>
		<span class="bpm-bridge-muted">
			<?php echo esc_html( empty( $args['queued'] ) ? '—' : __( 'queued, waiting for the CRM', 'bpm-bridge' ) ); ?>
		</span>
	<?php else : ?>
		<?php foreach ( $bpm_outcomes as $bpm_destination => $bpm_outcome ) : ?>
			<?php $bpm_outcome = is_array( $bpm_outcome ) ? $bpm_outcome : array(); ?>
			<div class="bpm-bridge-erasure-outcome" data-destination="<?php echo esc_attr( (string) $bpm_destination ); ?>" data-status="<?php echo esc_attr( (string) ( $bpm_outcome['status'] ?? '' ) ); ?>">
				<strong><?php echo esc_html( \BPM_Bridge\Crm\Pipelines::provider_label( (string) $bpm_destination ) ); ?>:</strong>
				<?php echo esc_html( $bpm_labels[ (string) ( $bpm_outcome['status'] ?? '' ) ] ?? (string) ( $bpm_outcome['status'] ?? '' ) ); ?>
				<span class="bpm-bridge-muted"><?php echo esc_html( \BPM_Bridge\Crm\Consent::display_time( (string) ( $bpm_outcome['at'] ?? '' ) ) ); ?></span>
				<?php if ( ! empty( $bpm_outcome['message'] ) ) : ?>
					<br /><span class="description"><?php echo esc_html( (string) $bpm_outcome['message'] ); ?></span>
				<?php endif; ?>
			</div>
		<?php endforeach; ?>
	<?php endif; ?>
</div>
