<?php
/**
 * Standard Webhooks signing: the shared vectors, rotation, tolerance and malformed input.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Signer;

/**
 * Signer.
 */
class SignerTest extends BPM_Test_Case {

	/**
	 * The vectors both languages verify (tests/contract/signature_vectors.json).
	 *
	 * @return array<int,array<string,mixed>>
	 */
	private function vectors(): array {
		$file = dirname( __DIR__, 4 ) . '/tests/contract/signature_vectors.json';
		$this->assertFileExists( $file, 'the shared signature vectors are missing' );
		$vectors = json_decode( (string) file_get_contents( $file ), true )['vectors'];
		$this->assertGreaterThanOrEqual( 3, count( $vectors ) );
		return $vectors;
	}

	public function test_signs_every_shared_vector_exactly(): void {
		foreach ( $this->vectors() as $v ) {
			$this->assertSame( $v['signature'], Signer::sign( $v['secret'], $v['msg_id'], (int) $v['timestamp'], $v['body'] ), $v['description'] );
		}
	}

	public function test_verifies_every_shared_vector_at_its_timestamp(): void {
		foreach ( $this->vectors() as $v ) {
			$headers = array(
				'webhook-id'        => $v['msg_id'],
				'webhook-timestamp' => (string) $v['timestamp'],
				'webhook-signature' => $v['signature'],
			);
			$this->assertSame( $v['msg_id'], Signer::verify( array( $v['secret'] ), $headers, $v['body'], (int) $v['timestamp'] ), $v['description'] );
			// One changed byte of the body must fail.
			$this->assertWPError( Signer::verify( array( $v['secret'] ), $headers, $v['body'] . ' ', (int) $v['timestamp'] ) );
		}
	}

	public function test_matches_a_vector_computed_by_python_sidecar_signing(): void {
		// Computed with sidecar.signing.sign() (Python) for a non-ASCII body.
		$secret = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
		$this->assertSame(
			'v1,LRZWtwWb6Dqrxzb0LFgxuJlntSv9h+2Fvgksw48NqUg=',
			Signer::sign( $secret, '0193a4c2-7d1e-4c3a-9b7e-2f4c1d9e8a10', 1700000000, '{"a":"zażółć"}' )
		);
	}

	public function test_rotation_signs_with_both_and_either_secret_verifies(): void {
		$old     = Signer::new_secret();
		$new     = Signer::new_secret();
		$headers = Signer::headers( array( $new, $old ), '{"x":1}', 'evt_1', 1000 );
		$this->assertCount( 2, explode( ' ', $headers['webhook-signature'] ) );
		$this->assertSame( 'evt_1', Signer::verify( array( $old ), $headers, '{"x":1}', 1000 ) );
		$this->assertSame( 'evt_1', Signer::verify( array( $new ), $headers, '{"x":1}', 1000 ) );
		$this->assertWPError( Signer::verify( array( Signer::new_secret() ), $headers, '{"x":1}', 1000 ) );
	}

	public function test_timestamp_tolerance_is_300_seconds_both_ways(): void {
		$headers = Signer::headers( array( $this->secret ), '', 'm1', 10000 );
		$this->assertSame( 'm1', Signer::verify( array( $this->secret ), $headers, '', 10300 ) );
		$this->assertSame( 'm1', Signer::verify( array( $this->secret ), $headers, '', 9700 ) );
		$this->assertSame( 'webhook-timestamp is outside the 5-minute tolerance', Signer::verify( array( $this->secret ), $headers, '', 10301 )->get_error_message() );
		$this->assertWPError( Signer::verify( array( $this->secret ), $headers, '', 9699 ) );
	}

	public function test_rejects_malformed_headers(): void {
		$good = Signer::headers( array( $this->secret ), 'b', 'msg_a', 5000 );
		$this->assertWPError( Signer::verify( array( $this->secret ), array(), 'b', 5000 ) );
		$this->assertWPError( Signer::verify( array( $this->secret ), array( 'webhook-id' => 'a.b' ) + $good, 'b', 5000 ) );
		$this->assertWPError( Signer::verify( array( $this->secret ), array( 'webhook-timestamp' => '5000.5' ) + $good, 'b', 5000 ) );
		$this->assertWPError( Signer::verify( array( $this->secret ), array( 'webhook-signature' => 'v2,' . substr( $good['webhook-signature'], 3 ) ) + $good, 'b', 5000 ) );
		$error = Signer::verify( array( $this->secret ), array( 'webhook-signature' => 'garbage' ) + $good, 'b', 5000 );
		$this->assertSame( 'bpm_bridge_bad_signature', $error->get_error_code() );
		$this->assertSame( 401, $error->get_error_data()['status'] );
	}

	public function test_request_signatures_reproduce_every_request_vector(): void {
		// Contract revision 2 (tests/contract/request_vectors.json): method, route, canonical query and body.
		$file    = dirname( __DIR__, 4 ) . '/tests/contract/request_vectors.json';
		$vectors = json_decode( (string) file_get_contents( $file ), true )['vectors'];
		$this->assertGreaterThanOrEqual( 4, count( $vectors ) );
		foreach ( $vectors as $v ) {
			$this->assertSame( $v['canonical_query'], Signer::canonical_query( $v['query'] ), $v['description'] );
			$this->assertSame( $v['signed_content'], $v['msg_id'] . '.' . $v['timestamp'] . '.' . Signer::request_content( $v['method'], $v['route'], $v['query'], $v['body'] ), $v['description'] );
			$this->assertSame( $v['signature'], Signer::sign_request( $v['secret'], $v['msg_id'], (int) $v['timestamp'], $v['method'], $v['route'], $v['query'], $v['body'] ), $v['description'] );
			$headers = array(
				'webhook-id'        => $v['msg_id'],
				'webhook-timestamp' => (string) $v['timestamp'],
				'webhook-signature' => $v['signature'],
			);
			$this->assertSame( $v['msg_id'], Signer::verify_request( array( $v['secret'] ), $headers, $v['method'], $v['route'], $v['query'], $v['body'], (int) $v['timestamp'] ) );
			$this->assertWPError( Signer::verify_request( array( $v['secret'] ), $headers, $v['method'], $v['route'] . '/x', $v['query'], $v['body'], (int) $v['timestamp'] ) );
		}
		// The order-11 note re-aimed at order 14 (vectors 2 and 3) has another signature.
		$this->assertNotSame( $vectors[1]['signature'], $vectors[2]['signature'] );
	}

	public function test_the_signer_tolerance_is_the_contracts(): void {
		$this->assertSame( BPM_Bridge\Contract::signature_tolerance(), Signer::TOLERANCE_SECONDS );
	}

	public function test_secret_format_is_validated(): void {
		$this->assertTrue( Signer::is_valid_secret( Signer::new_secret() ) );
		$this->assertFalse( Signer::is_valid_secret( 'not-a-secret' ) );
		$this->assertFalse( Signer::is_valid_secret( 'whsec_!!!notbase64' ) );
		$this->assertFalse( Signer::is_valid_secret( 'whsec_' . base64_encode( str_repeat( 'k', 23 ) ) ) );
		$this->assertFalse( Signer::is_valid_secret( 'whsec_' . base64_encode( str_repeat( 'k', 65 ) ) ) );
		$this->assertTrue( Signer::is_valid_secret( 'whsec_' . base64_encode( str_repeat( 'k', 64 ) ) ) );
		$this->assertMatchesRegularExpression( '/^whsec_[A-Za-z0-9+\/]{43}=$/', Signer::new_secret() );
	}

	/**
	 * Asserts a WP_Error.
	 *
	 * @param mixed $value Value.
	 */
	private function assertWPError( $value ): void {
		$this->assertInstanceOf( WP_Error::class, $value );
	}
}
