<?php
/**
 * Benchmarks only: one line per kick in wp-content/bpm-bench-kicks.log, "<sent 1|0> <seconds>", what the
 * kick cost the writing request as the plugin itself reports it (bpm_bridge_kicked).
 *
 * @package BPM_Bridge_Bench
 */

add_action(
	'bpm_bridge_kicked',
	function ( $sent, $elapsed ) {
		$line = ( $sent ? '1' : '0' ) . ' ' . sprintf( '%.6f', $elapsed ) . "\n";
		file_put_contents( WP_CONTENT_DIR . '/bpm-bench-kicks.log', $line, FILE_APPEND );
	},
	10,
	2
);
