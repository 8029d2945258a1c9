<?php
/**
 * WooCommerce → Returns → one return: items, reasons, photos, label, timeline, bank account and the actions.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {rma, order, items, actions, iban, iban_shown, reveal_url, photo_url, label_url, can_refund, refund_plan, back}.
 */

use BPM_Bridge\Admin\Notices;
use BPM_Bridge\Admin\Returns_Page;
use BPM_Bridge\Admin\Views;
use BPM_Bridge\Returns\Deadlines;

defined( 'ABSPATH' ) || exit;

$bpm_rma      = (array) $args['rma'];
$bpm_order    = $args['order'];
$bpm_id       = (int) $bpm_rma['id'];
$bpm_label    = is_array( $bpm_rma['label'] ) ? $bpm_rma['label'] : array();
$bpm_photo_url = $args['photo_url'];
$bpm_plan     = $args['refund_plan'];
$bpm_actors   = array(
	'customer' => __( 'customer', 'bpm-bridge' ),
	'staff'    => __( 'staff', 'bpm-bridge' ),
	'system'   => __( 'BPM Bridge', 'bpm-bridge' ),
	'carrier'  => __( 'carrier', 'bpm-bridge' ),
);
$bpm_state    = Deadlines::state( $bpm_rma );
?>
<div class="wrap bpm-bridge-returns bpm-bridge-return" data-rma="<?php echo esc_attr( (string) $bpm_id ); ?>" data-status="<?php echo esc_attr( (string) $bpm_rma['status'] ); ?>">
	<h1 class="wp-heading-inline">
		<?php echo esc_html( (string) $bpm_rma['number'] ); ?>
		<?php echo wp_kses_post( Returns_Page::status_pill( (string) $bpm_rma['status'] ) ); ?>
	</h1>
	<a class="page-title-action" href="<?php echo esc_url( (string) $args['back'] ); ?>"><?php esc_html_e( 'All returns', 'bpm-bridge' ); ?></a>
	<hr class="wp-header-end" />
	<?php Notices::render(); ?>
	<?php require __DIR__ . '/returns-style.php'; ?>

	<div class="bpm-bridge-rma-columns">
		<div class="postbox">
			<h2><?php esc_html_e( 'Return', 'bpm-bridge' ); ?></h2>
			<table class="form-table" role="presentation">
				<tr>
					<th scope="row"><?php esc_html_e( 'Order', 'bpm-bridge' ); ?></th>
					<td class="bpm-bridge-rma-order">
						<?php if ( $bpm_order ) : ?>
							<a href="<?php echo esc_url( Views::order_url( (int) $bpm_rma['order_id'] ) ); ?>">#<?php echo esc_html( (string) $bpm_order->get_order_number() ); ?></a>
							— <?php echo esc_html( $bpm_order->get_formatted_billing_full_name() ); ?>
							<br /><span class="bpm-bridge-muted"><?php echo esc_html( '' !== (string) $bpm_rma['email'] ? (string) $bpm_rma['email'] : (string) $bpm_order->get_billing_email() ); ?></span>
						<?php else : ?>
							#<?php echo esc_html( (string) $bpm_rma['order_id'] ); ?>
						<?php endif; ?>
					</td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Kind', 'bpm-bridge' ); ?></th>
					<td><?php echo esc_html( Returns_Page::kind_label( (string) $bpm_rma['kind'] ) ); ?></td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Requested', 'bpm-bridge' ); ?></th>
					<td><?php echo esc_html( Returns_Page::date( (string) $bpm_rma['created_at'] ) ); ?></td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Due', 'bpm-bridge' ); ?></th>
					<td class="bpm-bridge-rma-due">
						<?php echo wp_kses_post( Returns_Page::due_html( $bpm_rma ) ); ?>
						<?php if ( $bpm_state['running'] ) : ?>
							<br /><span class="bpm-bridge-muted">
								<?php
								/* translators: %s: what the shop must do, e.g. "answer the complaint". */
								echo esc_html( sprintf( __( 'By then you must %s.', 'bpm-bridge' ), $bpm_state['what'] ) );
								echo ' ' . esc_html( 'complaint' === $bpm_rma['kind'] ? __( 'A complaint not answered in time is deemed accepted.', 'bpm-bridge' ) : '' );
								?>
							</span>
						<?php endif; ?>
					</td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Return method', 'bpm-bridge' ); ?></th>
					<td>
						<?php echo esc_html( Returns_Page::method_label( (string) $bpm_rma['method'] ) ); ?>
						<?php if ( '' !== (string) $bpm_rma['point'] ) : ?>
							(<code><?php echo esc_html( (string) $bpm_rma['point'] ); ?></code>)
						<?php endif; ?>
					</td>
				</tr>
				<?php if ( '' !== (string) $args['iban'] ) : ?>
					<tr>
						<th scope="row"><?php esc_html_e( 'Bank account for the refund', 'bpm-bridge' ); ?></th>
						<td class="bpm-bridge-rma-iban">
							<code><?php echo esc_html( (string) $args['iban'] ); ?></code>
							<?php if ( ! $args['iban_shown'] ) : ?>
								<form method="post" action="<?php echo esc_url( (string) $args['reveal_url'] ); ?>" class="bpm-bridge-reveal-iban-form" style="display:inline">
									<?php wp_nonce_field( 'bpm_bridge_rma_iban_' . $bpm_id ); ?>
									<button type="submit" name="reveal_iban" value="1" class="button-link bpm-bridge-reveal-iban"><?php esc_html_e( 'Show', 'bpm-bridge' ); ?></button>
								</form>
								<br /><span class="bpm-bridge-muted"><?php esc_html_e( 'Showing the full number is noted on the timeline.', 'bpm-bridge' ); ?></span>
							<?php endif; ?>
						</td>
					</tr>
				<?php endif; ?>
				<?php if ( '' !== (string) $bpm_rma['decision_note'] ) : ?>
					<tr>
						<th scope="row"><?php esc_html_e( 'Reason given to the customer', 'bpm-bridge' ); ?></th>
						<td class="bpm-bridge-rma-decision"><?php echo nl2br( esc_html( (string) $bpm_rma['decision_note'] ) ); ?></td>
					</tr>
				<?php endif; ?>
				<?php if ( ! empty( $bpm_rma['refund_id'] ) ) : ?>
					<tr>
						<th scope="row"><?php esc_html_e( 'Refund', 'bpm-bridge' ); ?></th>
						<td class="bpm-bridge-rma-refund">
							<?php
							/* translators: %d: refund id. */
							echo esc_html( sprintf( __( 'WooCommerce refund #%d', 'bpm-bridge' ), (int) $bpm_rma['refund_id'] ) );
							?>
						</td>
					</tr>
				<?php endif; ?>
			</table>

			<h3><?php esc_html_e( 'Items', 'bpm-bridge' ); ?></h3>
			<table class="widefat striped bpm-bridge-rma-items">
				<thead>
					<tr>
						<th><?php esc_html_e( 'Product', 'bpm-bridge' ); ?></th>
						<th><?php esc_html_e( 'Returned', 'bpm-bridge' ); ?></th>
						<th><?php esc_html_e( 'Reason', 'bpm-bridge' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php foreach ( (array) $args['items'] as $bpm_item ) : ?>
						<tr>
							<td><?php echo esc_html( (string) $bpm_item['name'] ); ?><?php echo '' !== $bpm_item['sku'] ? ' <span class="bpm-bridge-muted">(' . esc_html( (string) $bpm_item['sku'] ) . ')</span>' : ''; ?></td>
							<td>
								<?php
								/* translators: 1: quantity returned, 2: quantity bought. */
								echo esc_html( sprintf( __( '%1$d of %2$d', 'bpm-bridge' ), (int) $bpm_item['quantity'], (int) $bpm_item['bought'] ) );
								?>
							</td>
							<td><?php echo esc_html( (string) $bpm_item['reason'] ); ?></td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>

			<?php if ( '' !== (string) $bpm_rma['customer_note'] ) : ?>
				<h3><?php esc_html_e( 'Customer\'s comment', 'bpm-bridge' ); ?></h3>
				<blockquote class="bpm-bridge-rma-note"><?php echo nl2br( esc_html( (string) $bpm_rma['customer_note'] ) ); ?></blockquote>
			<?php endif; ?>

			<?php if ( ! empty( $bpm_rma['photos'] ) ) : ?>
				<h3><?php esc_html_e( 'Photos', 'bpm-bridge' ); ?></h3>
				<p class="bpm-bridge-rma-photos">
					<?php foreach ( (array) $bpm_rma['photos'] as $bpm_photo ) : ?>
						<?php $bpm_src = $bpm_photo_url( (string) $bpm_photo ); ?>
						<a href="<?php echo esc_url( $bpm_src ); ?>" target="_blank" rel="noopener"><img src="<?php echo esc_url( $bpm_src ); ?>" alt="<?php echo esc_attr( (string) $bpm_photo ); ?>" loading="lazy" /></a>
					<?php endforeach; ?>
				</p>
			<?php endif; ?>

			<h3><?php esc_html_e( 'Label and tracking', 'bpm-bridge' ); ?></h3>
			<p class="bpm-bridge-rma-label">
				<?php if ( array() === $bpm_label ) : ?>
					<span class="bpm-bridge-muted"><?php esc_html_e( 'No label yet. Once you approve the return, BPM Bridge makes the label (or a return slip) and e-mails it to the customer.', 'bpm-bridge' ); ?></span>
				<?php else : ?>
					<?php echo esc_html( 'return_slip' === ( $bpm_label['carrier'] ?? '' ) ? __( 'Return slip (the customer sends the parcel themselves)', 'bpm-bridge' ) : (string) ( $bpm_label['carrier'] ?? '' ) ); ?>
					<?php if ( ! empty( $bpm_label['tracking_number'] ) ) : ?>
						— <code><?php echo esc_html( (string) $bpm_label['tracking_number'] ); ?></code>
					<?php endif; ?>
					<?php if ( ! empty( $bpm_label['url'] ) && Views::is_web_url( (string) $bpm_label['url'] ) ) : ?>
						<br /><a href="<?php echo esc_url( (string) $bpm_label['url'] ); ?>" target="_blank" rel="noopener noreferrer"><?php esc_html_e( 'Track the parcel', 'bpm-bridge' ); ?></a>
					<?php endif; ?>
					<?php if ( ! empty( $bpm_rma['has_label_pdf'] ) ) : ?>
						<br /><a href="<?php echo esc_url( (string) $args['label_url'] ); ?>" target="_blank" rel="noopener"><?php esc_html_e( 'Download the label PDF', 'bpm-bridge' ); ?></a>
					<?php endif; ?>
				<?php endif; ?>
			</p>
		</div>

		<div class="postbox bpm-bridge-rma-actions">
			<h2><?php esc_html_e( 'Actions', 'bpm-bridge' ); ?></h2>
			<?php if ( array() === $args['actions'] ) : ?>
				<p class="bpm-bridge-muted"><?php esc_html_e( 'Nothing to do: this return is settled, or waits for its label or parcel.', 'bpm-bridge' ); ?></p>
			<?php endif; ?>
			<?php foreach ( (array) $args['actions'] as $bpm_action ) : ?>
				<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="bpm-bridge-rma-action bpm-bridge-rma-action--<?php echo esc_attr( $bpm_action ); ?>">
					<input type="hidden" name="action" value="bpm_bridge_rma" />
					<input type="hidden" name="rma" value="<?php echo esc_attr( (string) $bpm_id ); ?>" />
					<input type="hidden" name="do" value="<?php echo esc_attr( $bpm_action ); ?>" />
					<input type="hidden" name="from" value="<?php echo esc_attr( (string) $bpm_rma['status'] ); ?>" />
					<?php wp_nonce_field( 'bpm_bridge_rma_' . $bpm_id ); ?>
					<?php if ( 'approve' === $bpm_action ) : ?>
						<button type="submit" class="button button-primary" name="bpm_submit" value="approve"><?php esc_html_e( 'Approve', 'bpm-bridge' ); ?></button>
						<span class="bpm-bridge-muted"><?php echo esc_html( 'complaint' === $bpm_rma['kind'] ? __( 'Approving accepts the complaint: the customer is told at once and cannot be refused later, so decide before approving. The label follows by e-mail.', 'bpm-bridge' ) : __( 'The customer gets the label by e-mail and in My Account.', 'bpm-bridge' ) ); ?></span>
					<?php elseif ( 'reject' === $bpm_action ) : ?>
						<label for="bpm-bridge-reject-note"><strong><?php esc_html_e( 'Reason for the rejection (the customer reads it)', 'bpm-bridge' ); ?></strong></label><br />
						<textarea id="bpm-bridge-reject-note" name="note" rows="3" class="large-text" required></textarea><br />
						<?php if ( Returns_Page::late_complaint( $bpm_rma ) ) : ?>
							<p class="bpm-bridge-late-warning notice notice-warning inline"><?php echo esc_html( Returns_Page::late_complaint_text() ); ?></p>
							<label><input type="checkbox" name="confirm_late" value="1" required /> <?php esc_html_e( 'Reject it all the same', 'bpm-bridge' ); ?></label><br />
						<?php endif; ?>
						<button type="submit" class="button" name="bpm_submit" value="reject"><?php esc_html_e( 'Reject', 'bpm-bridge' ); ?></button>
					<?php elseif ( 'receive' === $bpm_action ) : ?>
						<button type="submit" class="button button-primary" name="bpm_submit" value="receive"><?php esc_html_e( 'Mark received', 'bpm-bridge' ); ?></button>
						<span class="bpm-bridge-muted"><?php esc_html_e( 'The parcel is here and you have checked the items.', 'bpm-bridge' ); ?></span>
					<?php elseif ( 'refund' === $bpm_action ) : ?>
						<?php if ( is_array( $bpm_plan ) && $bpm_order ) : ?>
							<?php $bpm_money = static fn( $amount ) => wc_price( $amount, array( 'currency' => $bpm_order->get_currency() ) ); ?>
							<table class="widefat bpm-bridge-refund-rows">
								<tr class="bpm-bridge-refund-products">
									<td><?php esc_html_e( 'Returned items (their share of each line, taxes included)', 'bpm-bridge' ); ?></td>
									<td class="bpm-bridge-amount"><?php echo wp_kses_post( $bpm_money( $bpm_plan['products'] ) ); ?></td>
								</tr>
								<?php if ( (float) $bpm_plan['shipping'] > 0 ) : ?>
									<tr class="bpm-bridge-refund-shipping">
										<td>
											<label><input type="checkbox" name="refund_shipping" value="1" <?php checked( $bpm_plan['with_shipping'] ); ?> /> <?php esc_html_e( 'Shipping', 'bpm-bridge' ); ?></label>
											<br /><span class="bpm-bridge-muted"><?php echo esc_html( $bpm_plan['full'] ? __( 'Everything not refunded yet comes back: the customer gets the delivery cost back too (art. 32 ust. 1 u.p.k.).', 'bpm-bridge' ) : __( 'Part of the order comes back: the delivery cost is normally kept.', 'bpm-bridge' ) ); ?></span>
										</td>
										<td class="bpm-bridge-amount"><?php echo wp_kses_post( $bpm_money( $bpm_plan['shipping'] ) ); ?></td>
									</tr>
								<?php endif; ?>
								<?php if ( abs( (float) $bpm_plan['fees'] ) >= 0.005 ) : ?>
									<tr class="bpm-bridge-refund-fees">
										<td><label><input type="checkbox" name="refund_fees" value="1" <?php checked( $bpm_plan['with_fees'] ); ?> /> <?php esc_html_e( 'Fees (e.g. gift wrapping, cash on delivery)', 'bpm-bridge' ); ?></label></td>
										<td class="bpm-bridge-amount"><?php echo wp_kses_post( $bpm_money( $bpm_plan['fees'] ) ); ?></td>
									</tr>
								<?php endif; ?>
							</table>
							<p class="bpm-bridge-refund-total">
								<?php
								/* translators: %s: amount with currency. */
								echo esc_html( sprintf( __( 'Refund %s as ticked above.', 'bpm-bridge' ), html_entity_decode( wp_strip_all_tags( $bpm_money( $bpm_plan['amount'] ) ), ENT_QUOTES, 'UTF-8' ) ) );
								?>
							</p>
							<label><input type="checkbox" name="restock" value="1" <?php checked( 'complaint' !== $bpm_rma['kind'] ); ?> /> <?php esc_html_e( 'Put the items back in stock', 'bpm-bridge' ); ?></label><br />
							<?php if ( $args['can_refund'] ) : ?>
								<label><input type="checkbox" name="refund_money" value="1" checked /> <?php esc_html_e( 'Send the money back through the payment method', 'bpm-bridge' ); ?></label><br />
							<?php else : ?>
								<p class="bpm-bridge-muted"><?php esc_html_e( 'This order\'s payment method cannot send money back: pay it back yourself (bank transfer) after the refund is recorded.', 'bpm-bridge' ); ?></p>
							<?php endif; ?>
							<?php if ( 'received' !== $bpm_rma['status'] ) : ?>
								<p class="bpm-bridge-muted"><?php esc_html_e( 'The parcel is on its way or has arrived: you may refund now (you may wait for the goods or the proof they were sent, not for your inspection).', 'bpm-bridge' ); ?></p>
							<?php endif; ?>
							<button type="submit" class="button button-primary" name="bpm_submit" value="refund"><?php esc_html_e( 'Refund', 'bpm-bridge' ); ?></button>
						<?php elseif ( is_wp_error( $bpm_plan ) ) : ?>
							<p class="bpm-bridge-muted"><?php echo esc_html( $bpm_plan->get_error_message() ); ?></p>
						<?php endif; ?>
					<?php endif; ?>
				</form>
			<?php endforeach; ?>

			<h2><?php esc_html_e( 'Timeline', 'bpm-bridge' ); ?></h2>
			<ol class="bpm-bridge-rma-timeline">
				<?php foreach ( (array) $bpm_rma['timeline'] as $bpm_step ) : ?>
					<li class="<?php echo esc_attr( $bpm_step['public'] ? 'is-public' : 'is-private' ); ?>" data-event="<?php echo esc_attr( (string) $bpm_step['event'] ); ?>">
						<span class="bpm-bridge-muted"><?php echo esc_html( Returns_Page::date( (string) $bpm_step['at'] ) ); ?> · <?php echo esc_html( $bpm_actors[ $bpm_step['actor'] ] ?? (string) $bpm_step['actor'] ); ?></span><br />
						<?php echo esc_html( (string) $bpm_step['message'] ); ?>
						<?php if ( ! $bpm_step['public'] ) : ?>
							<span class="bpm-bridge-muted">(<?php esc_html_e( 'staff only', 'bpm-bridge' ); ?>)</span>
						<?php endif; ?>
					</li>
				<?php endforeach; ?>
			</ol>
		</div>
	</div>
</div>
