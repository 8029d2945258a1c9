<?php
/**
 * The return form (My Account and the guest page).
 *
 * @package BPM_Bridge
 *
 * @var array $args order, eligibility, reasons, complaints, values, errors, token, page, nonce, submission, is_cod, max_photo, max_bytes, max_photos.
 */

use BPM_Bridge\Returns\Rules;
use BPM_Bridge\Returns\Templates;

defined( 'ABSPATH' ) || exit;

$bpm_order  = $args['order'];
$bpm_elig   = $args['eligibility'];
$bpm_values = $args['values'];
$bpm_errors = $args['errors'];
$bpm_date   = get_option( 'date_format' );
?>
<div class="bpm-return">
	<h2 class="bpm-return-title">
		<?php
		/* translators: %s: order number */
		echo esc_html( sprintf( __( 'Return items from order #%s', 'bpm-bridge' ), $bpm_order->get_order_number() ) );
		?>
	</h2>
	<?php if ( ! $bpm_elig['returnable'] ) : ?>
		<p class="bpm-return-closed" role="status"><?php echo esc_html( $bpm_elig['why'] ); ?></p>
	<?php else : ?>
		<p class="bpm-return-windows">
			<?php if ( $bpm_elig['withdrawal_open'] ) : ?>
				<?php
				/* translators: %s: date */
				echo esc_html( sprintf( __( 'You may withdraw from the purchase until %s.', 'bpm-bridge' ), wp_date( $bpm_date, $bpm_elig['withdrawal_until'] ) ) );
				?>
			<?php else : ?>
				<?php esc_html_e( 'The time to withdraw from the purchase has passed; you can still file a complaint about a defect.', 'bpm-bridge' ); ?>
			<?php endif; ?>
			<?php
			/* translators: %s: date */
			echo esc_html( sprintf( __( 'Complaints until %s.', 'bpm-bridge' ), wp_date( $bpm_date, $bpm_elig['complaint_until'] ) ) );
			?>
		</p>
		<?php echo Templates::error( $bpm_errors, 'form' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in error(). ?>
		<form class="bpm-return-form" method="post" enctype="multipart/form-data" action="<?php echo esc_url( add_query_arg( 'bpm_form', '1', $args['page'] ) ); ?>" novalidate
			data-complaint-reasons="<?php echo esc_attr( wp_json_encode( $args['complaints'] ) ); ?>">
			<input type="hidden" name="bpm_bridge_return" value="submit" />
			<input type="hidden" name="bpm_order_id" value="<?php echo esc_attr( (string) $bpm_order->get_id() ); ?>" />
			<input type="hidden" name="bpm_token" value="<?php echo esc_attr( $args['token'] ); ?>" />
			<input type="hidden" name="bpm_page" value="<?php echo esc_url( $args['page'] ); ?>" />
			<input type="hidden" name="_bpm_nonce" value="<?php echo esc_attr( $args['nonce'] ); ?>" />
			<input type="hidden" name="bpm_submission" value="<?php echo esc_attr( $args['submission'] ); ?>" />
			<?php echo Templates::error( $bpm_errors, 'items' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in error(). ?>
			<table class="bpm-return-items shop_table">
				<thead>
					<tr>
						<th><?php esc_html_e( 'Product', 'bpm-bridge' ); ?></th>
						<th><?php esc_html_e( 'Quantity to return', 'bpm-bridge' ); ?></th>
						<th><?php esc_html_e( 'Reason', 'bpm-bridge' ); ?></th>
					</tr>
				</thead>
				<tbody>
				<?php foreach ( $bpm_elig['items'] as $bpm_item_id => $bpm_item ) : ?>
					<tr class="bpm-return-item" data-item="<?php echo esc_attr( (string) $bpm_item_id ); ?>">
						<td>
							<?php echo esc_html( $bpm_item['name'] ); ?>
							<small>
							<?php
							/* translators: 1: bought, 2: still returnable */
							echo esc_html( sprintf( __( 'bought %1$d, can return %2$d', 'bpm-bridge' ), $bpm_item['bought'], $bpm_item['returnable'] ) );
							?>
							</small>
							<?php echo Templates::error( $bpm_errors, 'item_' . $bpm_item_id ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in error(). ?>
						</td>
						<td>
							<?php if ( $bpm_item['returnable'] > 0 ) : ?>
								<input type="number" class="bpm-qty" name="bpm_qty[<?php echo esc_attr( (string) $bpm_item_id ); ?>]" min="0" max="<?php echo esc_attr( (string) $bpm_item['returnable'] ); ?>"
									value="<?php echo esc_attr( (string) ( $bpm_values['qty'][ $bpm_item_id ] ?? 0 ) ); ?>"
									aria-label="<?php echo esc_attr( sprintf( /* translators: %s: product */ __( 'Quantity of %s to return', 'bpm-bridge' ), $bpm_item['name'] ) ); ?>" />
							<?php else : ?>
								<?php esc_html_e( 'Already returned', 'bpm-bridge' ); ?>
							<?php endif; ?>
						</td>
						<td>
							<?php if ( $bpm_item['returnable'] > 0 ) : ?>
								<select class="bpm-reason" name="bpm_reason[<?php echo esc_attr( (string) $bpm_item_id ); ?>]"
									aria-label="<?php echo esc_attr( sprintf( /* translators: %s: product */ __( 'Reason for returning %s', 'bpm-bridge' ), $bpm_item['name'] ) ); ?>">
									<option value=""><?php esc_html_e( '— choose —', 'bpm-bridge' ); ?></option>
									<?php foreach ( $args['reasons'] as $bpm_reason ) : ?>
										<option value="<?php echo esc_attr( $bpm_reason ); ?>" <?php selected( $bpm_values['reason'][ $bpm_item_id ] ?? '', $bpm_reason ); ?>><?php echo esc_html( Rules::reason_label( $bpm_reason ) ); ?></option>
									<?php endforeach; ?>
								</select>
							<?php endif; ?>
						</td>
					</tr>
				<?php endforeach; ?>
				</tbody>
			</table>

			<fieldset class="bpm-return-method">
				<legend><?php esc_html_e( 'How will you send the parcel?', 'bpm-bridge' ); ?></legend>
				<?php
				$bpm_methods = array(
					'locker'  => __( 'InPost parcel locker', 'bpm-bridge' ),
					'courier' => __( 'InPost courier pick-up', 'bpm-bridge' ),
					'own'     => __( 'I will send it myself', 'bpm-bridge' ),
				);
				foreach ( $bpm_methods as $bpm_method => $bpm_label ) :
					?>
					<label><input type="radio" name="bpm_method" value="<?php echo esc_attr( $bpm_method ); ?>" <?php checked( $bpm_values['method'] ?? '', $bpm_method ); ?> /> <?php echo esc_html( $bpm_label ); ?></label>
				<?php endforeach; ?>
				<?php echo Templates::error( $bpm_errors, 'method' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in error(). ?>
				<p class="bpm-return-point">
					<label for="bpm-point"><?php esc_html_e( 'Parcel locker code', 'bpm-bridge' ); ?></label>
					<input type="text" id="bpm-point" name="bpm_point" maxlength="16" placeholder="WAW123M" value="<?php echo esc_attr( $bpm_values['point'] ?? '' ); ?>" />
					<?php echo Templates::error( $bpm_errors, 'point' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in error(). ?>
				</p>
			</fieldset>

			<?php if ( $args['is_cod'] ) : ?>
				<p class="bpm-return-iban">
					<label for="bpm-iban"><?php esc_html_e( 'Bank account for the refund (you paid on delivery)', 'bpm-bridge' ); ?></label>
					<input type="text" id="bpm-iban" name="bpm_iban" autocomplete="off" placeholder="PL00 0000 0000 0000 0000 0000 0000" value="<?php echo esc_attr( $bpm_values['iban'] ?? '' ); ?>" />
					<?php echo Templates::error( $bpm_errors, 'iban' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in error(). ?>
				</p>
			<?php endif; ?>

			<?php if ( $args['complaints'] ) : ?>
				<p class="bpm-return-photos">
					<label for="bpm-photos">
					<?php
					/* translators: 1: number of photos, 2: size, e.g. "5 MB" */
					echo esc_html( sprintf( __( 'Photos of the defect (complaints only; up to %1$d images, JPEG, PNG or WebP, at most %2$s each)', 'bpm-bridge' ), $args['max_photos'], $args['max_photo'] ) );
					?>
					</label>
					<input type="hidden" name="MAX_FILE_SIZE" value="<?php echo esc_attr( (string) $args['max_bytes'] ); ?>" />
					<input type="file" id="bpm-photos" name="bpm_photos[]" accept="image/jpeg,image/png,image/webp" multiple />
					<?php echo Templates::error( $bpm_errors, 'photos' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped in error(). ?>
				</p>
			<?php endif; ?>

			<p class="bpm-return-note">
				<label for="bpm-note"><?php esc_html_e( 'Comment (optional)', 'bpm-bridge' ); ?></label>
				<textarea id="bpm-note" name="bpm_note" rows="3" maxlength="2000"><?php echo esc_textarea( $bpm_values['note'] ?? '' ); ?></textarea>
			</p>
			<p><button type="submit" class="button bpm-return-submit"><?php esc_html_e( 'Request the return', 'bpm-bridge' ); ?></button></p>
		</form>
	<?php endif; ?>
</div>
