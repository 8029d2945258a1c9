<?php
/**
 * My Account → Returns: the customer's returns.
 *
 * @package BPM_Bridge
 *
 * @var array $args rmas (Rma::get() shape).
 */

use BPM_Bridge\Returns\Account;
use BPM_Bridge\Returns\Downloads;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;
?>
<div class="bpm-return bpm-return-list">
	<?php if ( ! $args['rmas'] ) : ?>
		<p><?php esc_html_e( 'You have no returns yet. To return items, open the order and choose "Return items".', 'bpm-bridge' ); ?></p>
	<?php else : ?>
		<table class="shop_table shop_table_responsive bpm-returns">
			<thead>
				<tr>
					<th><?php esc_html_e( 'Return', 'bpm-bridge' ); ?></th>
					<th><?php esc_html_e( 'Order', 'bpm-bridge' ); ?></th>
					<th><?php esc_html_e( 'Requested', 'bpm-bridge' ); ?></th>
					<th><?php esc_html_e( 'Status', 'bpm-bridge' ); ?></th>
					<th><?php esc_html_e( 'Shop answers by', 'bpm-bridge' ); ?></th>
					<th><?php esc_html_e( 'Label', 'bpm-bridge' ); ?></th>
				</tr>
			</thead>
			<tbody>
			<?php foreach ( $args['rmas'] as $bpm_rma ) : ?>
				<tr class="bpm-return-row" data-rma="<?php echo esc_attr( $bpm_rma['number'] ); ?>">
					<td><a href="<?php echo esc_url( Account::rma_url( $bpm_rma['id'] ) ); ?>"><?php echo esc_html( $bpm_rma['number'] ); ?></a></td>
					<?php $bpm_order = wc_get_order( $bpm_rma['order_id'] ); ?>
					<td>#<?php echo esc_html( $bpm_order instanceof WC_Order ? (string) $bpm_order->get_order_number() : (string) $bpm_rma['order_id'] ); ?></td>
					<td><?php echo esc_html( wp_date( get_option( 'date_format' ), strtotime( $bpm_rma['created_at'] ) ) ); ?></td>
					<td class="bpm-return-status"><?php echo esc_html( Rma::status_label( $bpm_rma['status'] ) ); ?></td>
					<td><?php echo esc_html( $bpm_rma['due_at'] ? wp_date( get_option( 'date_format' ), strtotime( $bpm_rma['due_at'] ) ) : '' ); ?></td>
					<td>
						<?php if ( $bpm_rma['has_label_pdf'] ) : ?>
							<a class="bpm-return-label-download" href="<?php echo esc_url( Downloads::label_url( $bpm_rma['id'] ) ); ?>"><?php esc_html_e( 'Download the return label', 'bpm-bridge' ); ?></a>
						<?php endif; ?>
						<?php $bpm_track = (string) ( $bpm_rma['label']['url'] ?? '' ); ?>
						<?php if ( '' !== $bpm_track && Rma::is_valid_label_url( $bpm_track ) ) : ?>
							<a class="bpm-return-tracking" href="<?php echo esc_url( $bpm_track ); ?>" target="_blank" rel="noopener noreferrer"><?php esc_html_e( 'Track the parcel', 'bpm-bridge' ); ?></a>
						<?php endif; ?>
					</td>
				</tr>
			<?php endforeach; ?>
			</tbody>
		</table>
	<?php endif; ?>
</div>
