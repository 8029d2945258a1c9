<?php
/**
 * Benchmarks only (bench/shop.py copies it into a bench site's mu-plugins): BPM Bridge's immediate delivery
 * kick off, so only the WP-Cron / Action Scheduler safety net delivers. Plugin::boot() ran when the plugin
 * file loaded, so by plugins_loaded the kick object exists and its listeners can be taken off.
 *
 * @package BPM_Bridge_Bench
 */

add_action(
	'plugins_loaded',
	function () {
		$kick = \BPM_Bridge\Plugin::kick();
		if ( $kick ) {
			foreach ( \BPM_Bridge\Plugin::DUE_ACTIONS as $due ) {
				remove_action( $due, array( $kick, 'request' ), 10 );
			}
		}
	},
	1
);
