<?php
/**
 * WooCommerce → Returns: the list.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {table: BPM_Bridge\Admin\Returns_List_Table}.
 */

use BPM_Bridge\Admin\Notices;
use BPM_Bridge\Admin\Returns_Page;

defined( 'ABSPATH' ) || exit;

$bpm_table = $args['table'];
?>
<div class="wrap bpm-bridge-returns">
	<h1 class="wp-heading-inline"><?php esc_html_e( 'Returns', 'bpm-bridge' ); ?></h1>
	<hr class="wp-header-end" />
	<?php Notices::render(); ?>
	<?php require __DIR__ . '/returns-style.php'; ?>
	<?php $bpm_table->views(); ?>
	<form method="get" action="<?php echo esc_url( admin_url( 'admin.php' ) ); ?>" id="bpm-bridge-returns-form">
		<input type="hidden" name="page" value="<?php echo esc_attr( Returns_Page::SLUG ); ?>" />
		<?php if ( '' !== $bpm_table::current_status() ) : ?>
			<input type="hidden" name="rma_status" value="<?php echo esc_attr( $bpm_table::current_status() ); ?>" />
		<?php endif; ?>
		<?php $bpm_table->search_box( __( 'Search returns', 'bpm-bridge' ), 'bpm-bridge-rma' ); ?>
		<?php $bpm_table->display(); ?>
	</form>
	<p class="description"><?php esc_html_e( 'Search by return number (RMA-000042), order number or e-mail address. Due: the legal deadline — 14 days from the request to answer a complaint, or to refund a withdrawal.', 'bpm-bridge' ); ?></p>
</div>
