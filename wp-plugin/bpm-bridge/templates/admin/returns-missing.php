<?php
/**
 * A return that does not exist.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args {back: string}.
 */

defined( 'ABSPATH' ) || exit;
?>
<div class="wrap">
	<h1><?php esc_html_e( 'Returns', 'bpm-bridge' ); ?></h1>
	<div class="notice notice-error"><p><?php esc_html_e( 'No return with this id.', 'bpm-bridge' ); ?></p></div>
	<p><a href="<?php echo esc_url( (string) $args['back'] ); ?>"><?php esc_html_e( '← All returns', 'bpm-bridge' ); ?></a></p>
</div>
