<?php
/**
 * Settings row: the sidecar's WordPress user (role "BPM API") and its Application Password.
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args API user status from Runtime::api_user_status().
 */

defined( 'ABSPATH' ) || exit;

$bpm_user = $args['api_user'] ?? null;
?>
<?php if ( is_array( $bpm_user ) ) : ?>
	<p>
		<?php
		printf(
			/* translators: 1: user login, 2: number of Application Passwords. */
			esc_html( _n( 'The sidecar signs in as %1$s (role "BPM API"), which has %2$d Application Password.', 'The sidecar signs in as %1$s (role "BPM API"), which has %2$d Application Passwords.', (int) $bpm_user['passwords'], 'bpm-bridge' ) ),
			'<code>' . esc_html( (string) $bpm_user['login'] ) . '</code>',
			(int) $bpm_user['passwords']
		);
		?>
	</p>
<?php else : ?>
	<p><?php esc_html_e( 'The sidecar has no WordPress user yet.', 'bpm-bridge' ); ?></p>
<?php endif; ?>
<?php if ( is_array( $bpm_user ) && (int) $bpm_user['passwords'] > 0 ) : ?>
	<p>
		<label for="bpm-bridge-revoke-previous">
			<input type="checkbox" id="bpm-bridge-revoke-previous" name="revoke_previous" value="1" form="bpm-bridge-form-create_api_user" checked="checked" />
			<?php esc_html_e( 'Revoke the user\'s previous Application Passwords once the new one exists', 'bpm-bridge' ); ?>
		</label>
	</p>
<?php endif; ?>
<p class="bpm-bridge-actions">
	<button type="submit" class="button" form="bpm-bridge-form-create_api_user"<?php echo is_array( $bpm_user ) ? ' data-confirm="' . esc_attr__( 'Create another Application Password for the sidecar user? Unless you untick the box above, its previous passwords stop working.', 'bpm-bridge' ) . '"' : ''; ?>>
		<?php echo is_array( $bpm_user ) ? esc_html__( 'Create a new Application Password', 'bpm-bridge' ) : esc_html__( 'Create API user', 'bpm-bridge' ); ?>
	</button>
</p>
<p class="description"><?php esc_html_e( 'The user may only read orders and use BPM Bridge\'s own REST routes. Its password is shown once, together with the sidecar\'s environment settings.', 'bpm-bridge' ); ?></p>
