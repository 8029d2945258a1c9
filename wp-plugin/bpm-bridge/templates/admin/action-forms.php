<?php
/**
 * The admin-post forms the settings screen's buttons submit (printed outside WooCommerce's settings form,
 * because forms cannot nest; the buttons point at them with the form attribute).
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {actions: string[], section: string, status: string}.
 */

defined( 'ABSPATH' ) || exit;

foreach ( (array) ( $args['actions'] ?? array() ) as $bpm_action ) :
	?>
	<form id="<?php echo esc_attr( 'bpm-bridge-form-' . $bpm_action ); ?>" method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="bpm-bridge-action-form" hidden>
		<input type="hidden" name="action" value="<?php echo esc_attr( 'bpm_bridge_' . $bpm_action ); ?>" />
		<input type="hidden" name="section" value="<?php echo esc_attr( (string) ( $args['section'] ?? '' ) ); ?>" />
		<input type="hidden" name="status" value="<?php echo esc_attr( (string) ( $args['status'] ?? '' ) ); ?>" />
		<input type="hidden" name="bpm_bridge_nonce" value="<?php echo esc_attr( wp_create_nonce( 'bpm_bridge_' . $bpm_action ) ); ?>" />
	</form>
	<?php
endforeach;
