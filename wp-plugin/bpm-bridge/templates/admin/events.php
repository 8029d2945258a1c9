<?php
/**
 * Events screen: outbox rows with status filters, per-action outcomes and Retry buttons.
 *
 * The Retry buttons submit the admin-post forms printed in the footer (templates/admin/action-forms.php).
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $args See Events_View::render().
 */

use BPM_Bridge\Admin\Screens;
use BPM_Bridge\Admin\Events_View;
use BPM_Bridge\Admin\Views;
use BPM_Bridge\Outbox;

defined( 'ABSPATH' ) || exit;

$bpm_status = (string) $args['status'];
$bpm_counts = (array) $args['counts'];
$bpm_labels = Views::status_labels();
$bpm_failed = (int) ( $bpm_counts['failed'] ?? 0 );
?>
<p>
	<?php
	printf(
		/* translators: %d: hours an event is retried (the contract's retry window). */
		esc_html__( 'Every order event is written here first and then delivered to the sidecar: pending → sent → done, or failed. Delivery is retried with growing pauses for %d hours; failed events stay here until you retry them.', 'bpm-bridge' ),
		(int) $args['hours']
	);
	?>
</p>

<ul class="subsubsub bpm-bridge-status-filter">
	<li>
		<a href="<?php echo esc_url( Screens::url( 'events' ) ); ?>" class="<?php echo '' === $bpm_status ? 'current' : ''; ?>">
			<?php esc_html_e( 'All', 'bpm-bridge' ); ?> <span class="count">(<?php echo esc_html( number_format_i18n( array_sum( array_map( 'intval', $bpm_counts ) ) ) ); ?>)</span>
		</a> |
	</li>
	<?php foreach ( (array) $args['statuses'] as $bpm_i => $bpm_filter ) : ?>
		<li>
			<a href="<?php echo esc_url( Screens::url( 'events', array( 'status' => $bpm_filter ) ) ); ?>" class="<?php echo $bpm_status === $bpm_filter ? 'current' : ''; ?>">
				<?php echo esc_html( $bpm_labels[ $bpm_filter ] ?? $bpm_filter ); ?> <span class="count">(<?php echo esc_html( number_format_i18n( (int) ( $bpm_counts[ $bpm_filter ] ?? 0 ) ) ); ?>)</span>
			</a><?php echo count( (array) $args['statuses'] ) - 1 === $bpm_i ? '' : ' |'; ?>
		</li>
	<?php endforeach; ?>
</ul>

<p class="alignright bpm-bridge-actions">
	<button type="submit" class="button" form="bpm-bridge-form-retry_failed" <?php disabled( 0 === $bpm_failed ); ?>>
		<?php esc_html_e( 'Retry all failed', 'bpm-bridge' ); ?>
	</button>
</p>
<br class="clear" />

<table class="wp-list-table widefat fixed striped bpm-bridge-events">
	<thead>
		<tr>
			<th scope="col" class="column-event" style="width:21%"><?php esc_html_e( 'Event', 'bpm-bridge' ); ?></th>
			<th scope="col" class="column-order" style="width:7%"><?php esc_html_e( 'Order', 'bpm-bridge' ); ?></th>
			<th scope="col" class="column-status" style="width:8%"><?php esc_html_e( 'Status', 'bpm-bridge' ); ?></th>
			<th scope="col" class="column-attempts" style="width:7%"><?php esc_html_e( 'Attempts', 'bpm-bridge' ); ?></th>
			<th scope="col" class="column-error" style="width:19%"><?php esc_html_e( 'Last error', 'bpm-bridge' ); ?></th>
			<th scope="col" class="column-next" style="width:11%"><?php esc_html_e( 'Next attempt', 'bpm-bridge' ); ?></th>
			<th scope="col" class="column-outcomes"><?php esc_html_e( 'Outcomes', 'bpm-bridge' ); ?></th>
			<th scope="col" class="column-actions" style="width:7%"><span class="screen-reader-text"><?php esc_html_e( 'Actions', 'bpm-bridge' ); ?></span></th>
		</tr>
	</thead>
	<tbody>
		<?php if ( empty( $args['items'] ) ) : ?>
			<tr class="no-items"><td colspan="8"><?php esc_html_e( 'No events here.', 'bpm-bridge' ); ?></td></tr>
		<?php endif; ?>
		<?php foreach ( (array) $args['items'] as $bpm_row ) : ?>
			<?php
			$bpm_order_id = (int) ( $bpm_row['order_id'] ?? 0 );
			$bpm_summary  = Events_View::summary( $bpm_row );
			$bpm_outcomes = Events_View::outcomes( $bpm_row );
			$bpm_row_id   = (string) $bpm_row['id'];
			?>
			<tr id="<?php echo esc_attr( 'bpm-event-' . $bpm_row_id ); ?>" data-event-id="<?php echo esc_attr( $bpm_row_id ); ?>" data-status="<?php echo esc_attr( (string) $bpm_row['status'] ); ?>">
				<td class="column-event">
					<strong><?php echo esc_html( (string) $bpm_row['event_type'] ); ?></strong>
					<?php if ( '' !== $bpm_summary ) : ?>
						<br /><span class="bpm-bridge-muted"><?php echo esc_html( $bpm_summary ); ?></span>
					<?php endif; ?>
					<br /><code><?php echo esc_html( $bpm_row_id ); ?></code>
					<br /><span class="bpm-bridge-muted"><?php echo esc_html( Views::time( $bpm_row['created_at'] ?? null ) ); ?></span>
				</td>
				<td class="column-order">
					<?php if ( $bpm_order_id > 0 ) : ?>
						<a href="<?php echo esc_url( Views::order_url( $bpm_order_id ) ); ?>">#<?php echo esc_html( (string) $bpm_order_id ); ?></a>
					<?php else : ?>
						—
					<?php endif; ?>
				</td>
				<td class="column-status"><?php echo wp_kses_post( Views::status( (string) $bpm_row['status'] ) ); ?></td>
				<td class="column-attempts"><?php echo esc_html( number_format_i18n( (int) $bpm_row['attempts'] ) ); ?></td>
				<td class="column-error"><?php echo esc_html( '' !== (string) ( $bpm_row['last_error'] ?? '' ) ? (string) $bpm_row['last_error'] : '—' ); ?></td>
				<td class="column-next">
					<?php echo esc_html( in_array( $bpm_row['status'], Outbox::DELIVERABLE, true ) ? Views::time( $bpm_row['next_attempt_at'] ?? null ) : '—' ); ?>
				</td>
				<td class="column-outcomes">
					<?php if ( empty( $bpm_outcomes ) ) : ?>
						—
					<?php else : ?>
						<ul class="bpm-bridge-outcomes">
							<?php foreach ( $bpm_outcomes as $bpm_action => $bpm_outcome ) : ?>
								<li>
									<code><?php echo esc_html( (string) $bpm_action ); ?></code>
									<?php echo '' === $bpm_outcome['status'] ? '<span class="bpm-bridge-muted">' . esc_html__( 'waiting', 'bpm-bridge' ) . '</span>' : wp_kses_post( Views::status( $bpm_outcome['status'] ) ); ?>
									<?php if ( '' !== $bpm_outcome['message'] ) : ?>
										<br /><span class="bpm-bridge-muted"><?php echo esc_html( $bpm_outcome['message'] ); ?></span>
									<?php endif; ?>
								</li>
							<?php endforeach; ?>
						</ul>
					<?php endif; ?>
				</td>
				<td class="column-actions">
					<?php if ( 'done' !== $bpm_row['status'] ) : ?>
						<button type="submit" class="button button-small" form="bpm-bridge-form-retry_event" name="event_id" value="<?php echo esc_attr( $bpm_row_id ); ?>">
							<?php esc_html_e( 'Retry', 'bpm-bridge' ); ?>
						</button>
					<?php endif; ?>
				</td>
			</tr>
		<?php endforeach; ?>
	</tbody>
</table>

<?php if ( (int) $args['pages'] > 1 ) : ?>
	<p class="bpm-bridge-pagination">
		<?php
		$bpm_query = '' !== $bpm_status ? array( 'status' => $bpm_status ) : array();
		if ( (int) $args['page'] > 1 ) {
			echo '<a class="button" href="' . esc_url( Screens::url( 'events', $bpm_query + array( 'paged' => (int) $args['page'] - 1 ) ) ) . '">' . esc_html__( '‹ Newer', 'bpm-bridge' ) . '</a> ';
		}
		printf(
			/* translators: 1: current page, 2: number of pages. */
			esc_html__( 'Page %1$d of %2$d', 'bpm-bridge' ),
			(int) $args['page'],
			(int) $args['pages']
		);
		if ( (int) $args['page'] < (int) $args['pages'] ) {
			echo ' <a class="button" href="' . esc_url( Screens::url( 'events', $bpm_query + array( 'paged' => (int) $args['page'] + 1 ) ) ) . '">' . esc_html__( 'Older ›', 'bpm-bridge' ) . '</a>';
		}
		?>
	</p>
<?php endif; ?>
