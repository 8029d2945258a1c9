<?php
/**
 * One return: status, label, tracking, items and the public timeline.
 *
 * @package BPM_Bridge
 *
 * @var array $args rma, order, names, created, timeline, label_url, tracking_url, photo_urls.
 */

use BPM_Bridge\Returns\Rules;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

$bpm_rma  = $args['rma'];
$bpm_date = get_option( 'date_format' ) . ' ' . get_option( 'time_format' );
?>
<div class="bpm-return bpm-return-status-page">
	<?php if ( $args['created'] ) : ?>
		<div class="woocommerce-message bpm-return-confirmation" role="status">
			<?php
			/* translators: %s: RMA number */
			echo esc_html( sprintf( __( 'Thank you. Your return %s has been registered. Please quote this number when you contact us.', 'bpm-bridge' ), $bpm_rma['number'] ) );
			?>
		</div>
	<?php endif; ?>
	<h2 class="bpm-return-number"><?php echo esc_html( $bpm_rma['number'] ); ?></h2>
	<p>
		<?php esc_html_e( 'Status:', 'bpm-bridge' ); ?>
		<strong class="bpm-return-status"><?php echo esc_html( Rma::status_label( $bpm_rma['status'] ) ); ?></strong>
		<?php if ( $bpm_rma['due_at'] && in_array( $bpm_rma['status'], array( 'requested', 'approved', 'label_ready', 'arrived', 'received' ), true ) ) : ?>
			·
			<?php
			/* translators: %s: date */
			echo esc_html( sprintf( __( 'The shop answers by %s.', 'bpm-bridge' ), wp_date( get_option( 'date_format' ), strtotime( $bpm_rma['due_at'] ) ) ) );
			?>
		<?php endif; ?>
	</p>
	<?php if ( 'rejected' === $bpm_rma['status'] && '' !== $bpm_rma['decision_note'] ) : ?>
		<p class="bpm-return-decision"><?php echo esc_html( $bpm_rma['decision_note'] ); ?></p>
	<?php endif; ?>
	<?php if ( '' !== $args['label_url'] || '' !== $args['tracking_url'] ) : ?>
		<p class="bpm-return-label">
			<?php if ( '' !== $args['label_url'] ) : ?>
				<a class="button bpm-return-label-download" href="<?php echo esc_url( $args['label_url'] ); ?>"><?php esc_html_e( 'Download the return label', 'bpm-bridge' ); ?></a>
			<?php endif; ?>
			<?php if ( '' !== $args['tracking_url'] ) : ?>
				<a class="bpm-return-tracking" href="<?php echo esc_url( $args['tracking_url'] ); ?>" target="_blank" rel="noopener noreferrer"><?php esc_html_e( 'Track the parcel', 'bpm-bridge' ); ?></a>
			<?php endif; ?>
		</p>
	<?php endif; ?>
	<h3><?php esc_html_e( 'Items', 'bpm-bridge' ); ?></h3>
	<ul class="bpm-return-items-list">
		<?php foreach ( $bpm_rma['items'] as $bpm_item ) : ?>
			<li>
				<?php echo esc_html( ( $args['names'][ $bpm_item['order_item_id'] ] ?? '#' . $bpm_item['order_item_id'] ) . ' × ' . $bpm_item['quantity'] . ' — ' . Rules::reason_label( (string) $bpm_item['reason'] ) ); ?>
			</li>
		<?php endforeach; ?>
	</ul>
	<?php if ( $args['photo_urls'] ) : ?>
		<p class="bpm-return-photo-list">
			<?php foreach ( $args['photo_urls'] as $bpm_i => $bpm_url ) : ?>
				<a href="<?php echo esc_url( $bpm_url ); ?>" target="_blank" rel="noopener">
				<?php
				/* translators: %d: photo number */
				echo esc_html( sprintf( __( 'Photo %d', 'bpm-bridge' ), $bpm_i + 1 ) );
				?>
				</a>
			<?php endforeach; ?>
		</p>
	<?php endif; ?>
	<h3><?php esc_html_e( 'History', 'bpm-bridge' ); ?></h3>
	<ol class="bpm-return-timeline">
		<?php foreach ( $args['timeline'] as $bpm_step ) : ?>
			<li class="bpm-step-<?php echo esc_attr( $bpm_step['event'] ); ?>">
				<time datetime="<?php echo esc_attr( $bpm_step['at'] ); ?>"><?php echo esc_html( wp_date( $bpm_date, strtotime( $bpm_step['at'] ) ) ); ?></time>
				<?php echo esc_html( Rma::step_text( $bpm_step ) ); ?>
			</li>
		<?php endforeach; ?>
	</ol>
</div>
