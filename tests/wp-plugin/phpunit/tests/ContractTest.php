<?php
/**
 * BPM_Bridge\Contract: the plugin reads its contract.json (docs/contract.json links to it).
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Contract;

/**
 * Contract getters.
 */
class ContractTest extends BPM_Test_Case {

	/**
	 * docs/contract.json, decoded.
	 *
	 * @return array<string,mixed>
	 */
	private function docs_contract(): array {
		return json_decode( (string) file_get_contents( dirname( __DIR__, 4 ) . '/docs/contract.json' ), true );
	}

	protected function tearDown(): void {
		Contract::use_file( null );
		parent::tearDown();
	}

	public function test_the_plugin_reads_the_docs_file_not_a_copy(): void {
		// The plugin holds the file itself (a copied plugin folder is complete); docs/ and the sidecar link to it.
		$file = dirname( __DIR__, 4 ) . '/wp-plugin/bpm-bridge/contract.json';
		$this->assertFalse( is_link( $file ), 'wp-plugin/bpm-bridge/contract.json must be the file, not a link' );
		$this->assertSame( realpath( $file ), realpath( dirname( __DIR__, 4 ) . '/docs/contract.json' ) );
		$docs = $this->docs_contract();
		$this->assertSame( 2, Contract::revision() );
		$this->assertSame( $docs['order_meta_keys'], Contract::meta_keys() );
		$this->assertSame( $docs['order_transitions'], Contract::order_transitions() );
		$this->assertSame( $docs['rma_transitions'], Contract::rma_transitions() );
		$this->assertSame( $docs['rma_statuses'], Contract::rma_statuses() );
		$this->assertSame( $docs['outbox_statuses'], Contract::outbox_statuses() );
		$this->assertSame( $docs['outcome_statuses'], Contract::outcome_statuses() );
		$this->assertSame( $docs['resolved_outcomes'], Contract::resolved_outcomes() );
		$this->assertSame( $docs['retry_window_hours'], Contract::retry_window_hours() );
		$this->assertSame( $docs['retry_window_hours'] * 3600, Contract::retry_window_seconds() );
		$this->assertSame( $docs['limits']['max_route_body_bytes'], Contract::limit( 'max_route_body_bytes' ) );
		$this->assertSame( $docs['signature']['tolerance_seconds'], Contract::signature_tolerance() );
		$this->assertSame( $docs['signature']['replay_window_seconds'], Contract::replay_window() );
		$this->assertSame( array_keys( $docs['event_types'] ), array_keys( Contract::event_types() ) );
	}

	public function test_transient_http_rule(): void {
		foreach ( array( 300, 301, 399, 408, 425, 429, 500, 503, 599 ) as $code ) {
			$this->assertTrue( Contract::is_transient_status( $code ), (string) $code );
		}
		foreach ( array( 200, 204, 400, 401, 403, 404, 409, 410, 413, 422, 600 ) as $code ) {
			$this->assertFalse( Contract::is_transient_status( $code ), (string) $code );
		}
	}

	public function test_the_filters_apply_on_top_of_the_file(): void {
		$order = static function ( $allowed ) {
			$allowed['completed'] = array( 'refunded' );
			return $allowed;
		};
		$rma   = static function ( $allowed ) {
			unset( $allowed['received'] );
			return $allowed;
		};
		add_filter( 'bpm_bridge_allowed_transitions', $order );
		add_filter( 'bpm_bridge_rma_transitions', $rma );
		try {
			$this->assertSame( array( 'refunded' ), Contract::order_transitions()['completed'] );
			$this->assertSame( array( 'processing' ), Contract::order_transitions()['on-hold'] );
			$this->assertArrayNotHasKey( 'received', Contract::rma_transitions() );
		} finally {
			remove_filter( 'bpm_bridge_allowed_transitions', $order );
			remove_filter( 'bpm_bridge_rma_transitions', $rma );
		}
	}

	public function test_the_file_is_read_once_and_a_change_is_seen_only_after_reload(): void {
		$file = sys_get_temp_dir() . '/bpm-contract-' . getmypid() . '.json';
		$data = $this->docs_contract();
		file_put_contents( $file, wp_json_encode( $data ) );
		Contract::use_file( $file );
		$this->assertSame( 4000, Contract::limit( 'max_meta_value_chars' ) );
		$data['limits']['max_meta_value_chars'] = 10;
		file_put_contents( $file, wp_json_encode( $data ) );
		$this->assertSame( 4000, Contract::limit( 'max_meta_value_chars' ), 'cached for the request' );
		Contract::use_file( $file );
		$this->assertSame( 10, Contract::limit( 'max_meta_value_chars' ) );
		unlink( $file );
	}

	public function test_a_missing_file_or_unknown_limit_fails_loudly(): void {
		$this->expectException( InvalidArgumentException::class );
		Contract::limit( 'max_typo_bytes' );
	}

	public function test_a_missing_file_is_an_error_not_empty_lists(): void {
		Contract::use_file( '/nonexistent/contract.json' );
		$this->expectException( RuntimeException::class );
		Contract::meta_keys();
	}
}
