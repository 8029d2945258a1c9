<?php
/**
 * Settings row: the Test connection button.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args Unused.
 */

defined( 'ABSPATH' ) || exit;
?>
<p class="bpm-bridge-actions">
	<button type="submit" class="button" form="bpm-bridge-form-test_connection"><?php esc_html_e( 'Test connection', 'bpm-bridge' ); ?></button>
</p>
<p class="description"><?php esc_html_e( 'Sends a signed ping event to the saved sidecar URL and shows the answer. Save changed settings first.', 'bpm-bridge' ); ?></p>
