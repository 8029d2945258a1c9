<?php
/**
 * Return e-mails: the return's number, order and items (HTML).
 *
 * Override by copying to yourtheme/woocommerce/emails/rma-details.php.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma   The return (Rma::get()).
 */

defined( 'ABSPATH' ) || exit;
?>
<p>
	<strong><?php esc_html_e( 'Return number:', 'bpm-bridge' ); ?></strong> <?php echo esc_html( (string) $rma['number'] ); ?><br />
	<strong><?php esc_html_e( 'Order:', 'bpm-bridge' ); ?></strong> #<?php echo esc_html( (string) $order->get_order_number() ); ?>
</p>
<table class="td" cellspacing="0" cellpadding="6" border="1" style="width: 100%; margin-bottom: 20px;">
	<thead>
		<tr>
			<th class="td" scope="col" style="text-align: left;"><?php esc_html_e( 'Product', 'bpm-bridge' ); ?></th>
			<th class="td" scope="col" style="text-align: left;"><?php esc_html_e( 'Quantity', 'bpm-bridge' ); ?></th>
			<th class="td" scope="col" style="text-align: left;"><?php esc_html_e( 'Reason', 'bpm-bridge' ); ?></th>
		</tr>
	</thead>
	<tbody>
		<?php foreach ( (array) $items as $bpm_item ) : ?>
			<tr>
				<td class="td" style="text-align: left;"><?php echo esc_html( (string) $bpm_item['name'] ); ?></td>
				<td class="td" style="text-align: left;"><?php echo esc_html( (string) $bpm_item['quantity'] ); ?></td>
				<td class="td" style="text-align: left;"><?php echo esc_html( (string) $bpm_item['reason'] ); ?></td>
			</tr>
		<?php endforeach; ?>
	</tbody>
</table>
