<?php
/**
 * Order screen box: invoice, KSeF, CRM and return state, and this order's events with their outcomes.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {meta: array<string,string>, corrections: array, events: array, returns: array}.
 */

use BPM_Bridge\Admin\Screens;
use BPM_Bridge\Admin\Events_View;
use BPM_Bridge\Admin\Views;

defined( 'ABSPATH' ) || exit;

$bpm_meta   = (array) $args['meta'];
$bpm_kinds  = array(
	'vat'     => __( 'VAT invoice', 'bpm-bridge' ),
	'invoice' => __( 'Invoice', 'bpm-bridge' ),
	'receipt' => __( 'Receipt', 'bpm-bridge' ),
);
$bpm_ksef   = array(
	'pending'        => __( 'waiting for KSeF', 'bpm-bridge' ),
	'accepted'       => __( 'accepted by KSeF', 'bpm-bridge' ),
	'rejected'       => __( 'rejected by KSeF', 'bpm-bridge' ),
	'not_applicable' => __( 'not required', 'bpm-bridge' ),
);
$bpm_dash   = '—';
$bpm_number = $bpm_meta['_bpm_invoice_number'];
$bpm_url    = $bpm_meta['_bpm_invoice_url'];
?>
<div class="bpm-bridge-order-box">
	<dl>
		<dt><?php esc_html_e( 'Invoice', 'bpm-bridge' ); ?></dt>
		<dd class="bpm-bridge-invoice">
			<?php if ( '' === $bpm_number && 0 === strpos( $bpm_meta['_bpm_invoice_id'], 'pending:' ) ) : ?>
				<?php /* The sidecar marks a document it is creating, so a crash mid-way is resumed, not repeated. */ ?>
				<?php esc_html_e( 'being issued…', 'bpm-bridge' ); ?>
			<?php elseif ( '' === $bpm_number ) : ?>
				<?php echo esc_html( $bpm_dash ); ?>
			<?php else : ?>
				<?php echo esc_html( $bpm_number ); ?>
				<?php if ( '' !== $bpm_meta['_bpm_invoice_kind'] ) : ?>
					<span class="bpm-bridge-muted">(<?php echo esc_html( $bpm_kinds[ $bpm_meta['_bpm_invoice_kind'] ] ?? $bpm_meta['_bpm_invoice_kind'] ); ?><?php echo '' !== $bpm_meta['_bpm_invoice_provider'] ? esc_html( ', ' . $bpm_meta['_bpm_invoice_provider'] ) : ''; ?>)</span>
				<?php endif; ?>
				<?php if ( Views::is_web_url( $bpm_url ) ) : ?>
					<br /><a href="<?php echo esc_url( $bpm_url ); ?>" target="_blank" rel="noopener noreferrer"><?php esc_html_e( 'Open PDF', 'bpm-bridge' ); ?></a>
				<?php endif; ?>
			<?php endif; ?>
		</dd>

		<?php if ( ! empty( $args['corrections'] ) ) : ?>
			<dt><?php esc_html_e( 'Corrections', 'bpm-bridge' ); ?></dt>
			<dd>
				<?php foreach ( (array) $args['corrections'] as $bpm_refund => $bpm_correction ) : ?>
					<?php
					$bpm_correction = is_array( $bpm_correction ) ? $bpm_correction : array();
					$bpm_c_number   = (string) ( $bpm_correction['number'] ?? '' );
					$bpm_c_url      = (string) ( $bpm_correction['url'] ?? '' );
					?>
					<?php
					/* translators: %s: refund id. */
					echo esc_html( sprintf( __( 'Refund #%s:', 'bpm-bridge' ), $bpm_refund ) ) . ' ';
					if ( Views::is_web_url( $bpm_c_url ) ) {
						echo '<a href="' . esc_url( $bpm_c_url ) . '" target="_blank" rel="noopener noreferrer">' . esc_html( '' !== $bpm_c_number ? $bpm_c_number : $bpm_dash ) . '</a>';
					} else {
						echo esc_html( '' !== $bpm_c_number ? $bpm_c_number : $bpm_dash );
					}
					?>
					<br />
				<?php endforeach; ?>
			</dd>
		<?php endif; ?>

		<dt><?php esc_html_e( 'KSeF', 'bpm-bridge' ); ?></dt>
		<dd class="bpm-bridge-ksef">
			<?php
			$bpm_ksef_status = $bpm_meta['_bpm_ksef_status'];
			echo esc_html( '' === $bpm_ksef_status ? $bpm_dash : ( $bpm_ksef[ $bpm_ksef_status ] ?? $bpm_ksef_status ) );
			if ( '' !== $bpm_meta['_bpm_ksef_number'] ) {
				echo '<br /><code>' . esc_html( $bpm_meta['_bpm_ksef_number'] ) . '</code>';
			}
			?>
		</dd>

		<dt><?php esc_html_e( 'CRM', 'bpm-bridge' ); ?></dt>
		<dd class="bpm-bridge-crm">
			<?php
			$bpm_crm_id  = $bpm_meta['_bpm_crm_id'];
			$bpm_crm_url = $bpm_meta['_bpm_crm_url'] ?? '';
			if ( '' === $bpm_crm_id ) {
				echo esc_html( $bpm_dash );
			} elseif ( Views::is_web_url( $bpm_crm_url ) ) {
				/* translators: %s: the deal's id in the CRM. */
				echo '<a href="' . esc_url( $bpm_crm_url ) . '" target="_blank" rel="noopener noreferrer">' . esc_html( sprintf( __( 'Deal %s', 'bpm-bridge' ), $bpm_crm_id ) ) . '</a>';
			} else {
				/* translators: %s: the deal's id in the CRM. */
				echo esc_html( sprintf( __( 'Deal %s', 'bpm-bridge' ), $bpm_crm_id ) );
			}
			if ( '' !== ( $bpm_meta['_bpm_crm_provider'] ?? '' ) ) {
				echo ' <span class="bpm-bridge-muted">(' . esc_html( \BPM_Bridge\Crm\Pipelines::provider_label( $bpm_meta['_bpm_crm_provider'] ) ) . ')</span>';
			}
			if ( '' !== ( $bpm_meta['_bpm_crm_stage'] ?? '' ) ) {
				/* translators: %s: the deal's stage id in the CRM. */
				echo '<br />' . esc_html( sprintf( __( 'stage: %s', 'bpm-bridge' ), $bpm_meta['_bpm_crm_stage'] ) );
			}
			if ( '' !== $bpm_meta['_bpm_crm_synced_at'] ) {
				/* translators: %s: date and time of the last CRM update. */
				echo '<br /><span class="bpm-bridge-muted">' . esc_html( sprintf( __( 'updated %s', 'bpm-bridge' ), \BPM_Bridge\Crm\Consent::display_time( $bpm_meta['_bpm_crm_synced_at'] ) ) ) . '</span>';
			}
			$bpm_consent = is_array( $args['consent'] ?? null ) ? $args['consent'] : null;
			if ( null !== $bpm_consent ) {
				$bpm_consent_text = $bpm_consent['marketing']
					/* translators: 1: date and time of the consent, 2: where it was given (checkout, block checkout, My Account). */
					? sprintf( __( 'marketing consent given %1$s (%2$s)', 'bpm-bridge' ), \BPM_Bridge\Crm\Consent::display_time( $bpm_consent['at'] ), \BPM_Bridge\Crm\Consent::source_label( (string) $bpm_consent['source'] ) )
					: __( 'no marketing consent: transactional data only', 'bpm-bridge' );
				echo '<br /><span class="bpm-bridge-muted bpm-bridge-consent">' . esc_html( $bpm_consent_text ) . '</span>';
				if ( $bpm_consent['marketing'] && '' !== (string) ( $args['withdraw'] ?? '' ) && current_user_can( 'manage_woocommerce' ) ) {
					echo ' <a class="bpm-bridge-withdraw-consent" href="' . esc_url( (string) $args['withdraw'] ) . '">' . esc_html__( 'Withdraw marketing consent', 'bpm-bridge' ) . '</a>';
				}
				if ( ! empty( $bpm_consent['crm_suppressed'] ) ) {
					echo '<br /><span class="bpm-bridge-muted bpm-bridge-crm-suppressed">' . esc_html__( 'The buyer was erased on request: nothing is sent to the CRM.', 'bpm-bridge' ) . '</span>';
				}
			}
			?>
		</dd>

		<dt><?php esc_html_e( 'Return', 'bpm-bridge' ); ?></dt>
		<dd class="bpm-bridge-rma">
			<?php if ( empty( $args['returns'] ) ) : ?>
				<?php echo esc_html( '' === $bpm_meta['_bpm_rma_state'] ? $bpm_dash : $bpm_meta['_bpm_rma_state'] ); ?>
			<?php else : ?>
				<?php foreach ( (array) $args['returns'] as $bpm_rma ) : ?>
					<span class="bpm-bridge-order-rma" data-rma="<?php echo esc_attr( (string) $bpm_rma['id'] ); ?>">
						<a href="<?php echo esc_url( \BPM_Bridge\Admin\Returns_Page::url( (int) $bpm_rma['id'] ) ); ?>"><?php echo esc_html( (string) $bpm_rma['number'] ); ?></a>
						<?php echo esc_html( \BPM_Bridge\Rma::status_label( (string) $bpm_rma['status'] ) ); ?>
						<br /><span class="bpm-bridge-muted"><?php esc_html_e( 'due', 'bpm-bridge' ); ?> <?php echo wp_kses_post( \BPM_Bridge\Admin\Returns_Page::due_html( $bpm_rma ) ); ?></span>
					</span><br />
				<?php endforeach; ?>
			<?php endif; ?>
		</dd>

		<?php if ( '' !== $bpm_meta['_bpm_last_error'] ) : ?>
			<dt><?php esc_html_e( 'Last error', 'bpm-bridge' ); ?></dt>
			<dd class="bpm-bridge-last-error"><?php echo esc_html( $bpm_meta['_bpm_last_error'] ); ?></dd>
		<?php endif; ?>
	</dl>

	<strong><?php esc_html_e( 'Events', 'bpm-bridge' ); ?></strong>
	<?php if ( empty( $args['events'] ) ) : ?>
		<p class="bpm-bridge-muted"><?php esc_html_e( 'No events for this order yet.', 'bpm-bridge' ); ?></p>
	<?php else : ?>
		<ul class="bpm-bridge-order-events">
			<?php foreach ( (array) $args['events'] as $bpm_row ) : ?>
				<li data-event-id="<?php echo esc_attr( (string) $bpm_row['id'] ); ?>">
					<code><?php echo esc_html( (string) $bpm_row['event_type'] ); ?></code>
					<?php echo wp_kses_post( Views::status( (string) $bpm_row['status'] ) ); ?>
					<br /><span class="bpm-bridge-muted"><?php echo esc_html( Views::time( $bpm_row['created_at'] ?? null ) ); ?></span>
					<?php foreach ( Events_View::outcomes( $bpm_row ) as $bpm_action => $bpm_outcome ) : ?>
						<br />↳ <code><?php echo esc_html( (string) $bpm_action ); ?></code>
						<?php echo '' === $bpm_outcome['status'] ? '<span class="bpm-bridge-muted">' . esc_html__( 'waiting', 'bpm-bridge' ) . '</span>' : wp_kses_post( Views::status( $bpm_outcome['status'] ) ); ?>
						<?php if ( '' !== $bpm_outcome['message'] ) : ?>
							<span class="bpm-bridge-muted"><?php echo esc_html( $bpm_outcome['message'] ); ?></span>
						<?php endif; ?>
					<?php endforeach; ?>
					<?php if ( 'failed' === $bpm_row['status'] && '' !== (string) ( $bpm_row['last_error'] ?? '' ) ) : ?>
						<br /><span class="bpm-bridge-muted"><?php echo esc_html( (string) $bpm_row['last_error'] ); ?></span>
					<?php endif; ?>
				</li>
			<?php endforeach; ?>
		</ul>
		<p><a href="<?php echo esc_url( Screens::url( 'events' ) ); ?>"><?php esc_html_e( 'All events', 'bpm-bridge' ); ?></a></p>
	<?php endif; ?>
</div>
