<?php
/**
 * Styles of the Returns screens (small enough not to need a stylesheet of their own).
 *
 * @package BPM_Bridge
 */

defined( 'ABSPATH' ) || exit;
?>
<style>
	.bpm-bridge-due { display: inline-block; padding: 0 6px; border-radius: 3px; font-weight: 600; }
	.bpm-bridge-due--overdue { background: #fcf0f1; color: #8a2424; }
	.bpm-bridge-due--soon { background: #fcf9e8; color: #614200; }
	.bpm-bridge-muted { color: #646970; }
	.bpm-bridge-rma-status--requested, .bpm-bridge-rma-status--arrived { background: #f8dda7; color: #94660c; }
	.bpm-bridge-rma-status--approved, .bpm-bridge-rma-status--label_ready, .bpm-bridge-rma-status--received { background: #c6e1c6; color: #2c4700; }
	.bpm-bridge-rma-status--refunded { background: #c8d7e1; color: #2e4453; }
	.bpm-bridge-rma-status--rejected { background: #eba3a3; color: #761919; }
	.bpm-bridge-rma-columns { display: flex; gap: 20px; flex-wrap: wrap; }
	.bpm-bridge-rma-columns > .postbox { flex: 1 1 380px; padding: 0 12px 12px; }
	.bpm-bridge-rma-photos img { width: 96px; height: 96px; object-fit: cover; margin: 0 6px 6px 0; border: 1px solid #dcdcde; }
	.bpm-bridge-rma-timeline li.is-private { color: #646970; font-style: italic; }
	.bpm-bridge-rma-actions form { margin: 0 0 12px; }
</style>
