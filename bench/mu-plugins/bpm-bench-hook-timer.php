<?php
/**
 * Benchmarks only (bench_overhead.py): what BPM Bridge's own callbacks take inside a request.
 *
 * Windows at priority 19 -> 21 around the plugin's priority-20 callbacks on the order hooks it listens to
 * (outermost window only), the order saves those callbacks start (WC_Data::save()'s before/after hooks), the
 * plugin's bpm_bridge_event_added listeners (9 -> 11 around its 10) and the kick's own cost. For requests
 * whose user agent starts with "bpm-bench/overhead/", one line in wp-content/bpm-bench-hook-times.log:
 * "<user agent>\t<total seconds>\t<part>=<seconds>,..." ("events" counts rows; "request" is the whole request).
 *
 * @package BPM_Bridge_Bench
 */

$GLOBALS['bpm_bench_t'] = array(
	'total' => 0.0,
	'start' => 0.0,
	'depth' => 0,
	'parts' => array(),
);

/**
 * Adds to one part of the breakdown.
 *
 * @param string $name    Part.
 * @param float  $seconds Seconds (or a count).
 */
function bpm_bench_part( $name, $seconds ) {
	$parts            = &$GLOBALS['bpm_bench_t']['parts'];
	$parts[ $name ] = ( $parts[ $name ] ?? 0.0 ) + $seconds;
}

$bpm_bench_hooks = array(
	'woocommerce_new_order',
	'woocommerce_checkout_order_processed',
	'woocommerce_store_api_checkout_order_processed',
	'woocommerce_order_status_changed',
	'woocommerce_payment_complete',
	'woocommerce_order_refunded',
);
foreach ( $bpm_bench_hooks as $bpm_bench_hook ) {
	add_action(
		$bpm_bench_hook,
		function () {
			if ( 0 === $GLOBALS['bpm_bench_t']['depth']++ ) {
				$GLOBALS['bpm_bench_t']['start'] = microtime( true );
			}
		},
		19,
		0
	);
	add_action(
		$bpm_bench_hook,
		function () use ( $bpm_bench_hook ) {
			if ( 0 === --$GLOBALS['bpm_bench_t']['depth'] ) {
				$took                             = microtime( true ) - $GLOBALS['bpm_bench_t']['start'];
				$GLOBALS['bpm_bench_t']['total'] += $took;
				bpm_bench_part( $bpm_bench_hook, $took );
			}
		},
		21,
		0
	);
}

add_action(
	'woocommerce_before_order_object_save',
	function () {
		if ( $GLOBALS['bpm_bench_t']['depth'] > 0 ) {
			$GLOBALS['bpm_bench_save'] = microtime( true );
		}
	},
	1,
	0
);
add_action(
	'woocommerce_after_order_object_save',
	function () {
		if ( $GLOBALS['bpm_bench_t']['depth'] > 0 && isset( $GLOBALS['bpm_bench_save'] ) ) {
			bpm_bench_part( 'order_save_in_plugin', microtime( true ) - $GLOBALS['bpm_bench_save'] );
			unset( $GLOBALS['bpm_bench_save'] );
		}
	},
	1000,
	0
);
add_action(
	'bpm_bridge_event_added',
	function () {
		$GLOBALS['bpm_bench_added'] = microtime( true );
	},
	9,
	0
);
add_action(
	'bpm_bridge_event_added',
	function () {
		bpm_bench_part( 'event_added_listeners', microtime( true ) - $GLOBALS['bpm_bench_added'] );
		bpm_bench_part( 'events', 1 );
	},
	11,
	0
);
add_action(
	'bpm_bridge_kicked',
	function ( $sent, $elapsed ) {
		$GLOBALS['bpm_bench_t']['total'] += $elapsed;
		bpm_bench_part( 'kick', $elapsed );
	},
	10,
	2
);
add_action(
	'shutdown',
	function () {
		$ua = isset( $_SERVER['HTTP_USER_AGENT'] ) ? (string) $_SERVER['HTTP_USER_AGENT'] : '';
		if ( 0 !== strpos( $ua, 'bpm-bench/overhead/' ) ) {
			return;
		}
		$parts = array();
		foreach ( $GLOBALS['bpm_bench_t']['parts'] as $name => $seconds ) {
			$parts[] = $name . '=' . sprintf( '%.6f', $seconds );
		}
		$parts[] = 'request=' . sprintf( '%.6f', microtime( true ) - (float) $_SERVER['REQUEST_TIME_FLOAT'] );
		$line    = $ua . "\t" . sprintf( '%.6f', $GLOBALS['bpm_bench_t']['total'] ) . "\t" . implode( ',', $parts ) . "\n";
		file_put_contents( WP_CONTENT_DIR . '/bpm-bench-hook-times.log', $line, FILE_APPEND );
	},
	1000
);
