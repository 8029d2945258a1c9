<?php
/**
 * Encryption at rest.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Crypto;

/**
 * Crypto.
 */
class CryptoTest extends BPM_Test_Case {

	public function test_round_trip_with_versioned_prefix_and_fresh_nonce(): void {
		$a = Crypto::encrypt( 'token-123 zażółć' );
		$b = Crypto::encrypt( 'token-123 zażółć' );
		$this->assertStringStartsWith( 'bpmenc:v1:', $a );
		$this->assertNotSame( $a, $b, 'every encryption uses a new nonce' );
		$this->assertStringNotContainsString( 'token-123', $a );
		$this->assertSame( 'token-123 zażółć', Crypto::decrypt( $a ) );
		$this->assertSame( '', Crypto::encrypt( '' ) );
		$this->assertSame( '', Crypto::decrypt( '' ) );
	}

	public function test_decrypt_fails_safely(): void {
		$good = Crypto::encrypt( 'secret' );
		$raw  = base64_decode( substr( $good, strlen( Crypto::PREFIX ) ) );
		$raw[30] = chr( ord( $raw[30] ) ^ 1 );
		$this->assertNull( Crypto::decrypt( Crypto::PREFIX . base64_encode( $raw ) ), 'tampered ciphertext' );
		$this->assertNull( Crypto::decrypt( 'plain-value' ), 'no prefix' );
		$this->assertNull( Crypto::decrypt( Crypto::PREFIX . '!!!' ), 'not base64' );
		$this->assertNull( Crypto::decrypt( Crypto::PREFIX . base64_encode( 'short' ) ), 'too short' );
		// Encrypted under another key (as after a salt change).
		$nonce = random_bytes( SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		$other = Crypto::PREFIX . base64_encode( $nonce . sodium_crypto_secretbox( 'x', $nonce, random_bytes( 32 ) ) );
		$this->assertNull( Crypto::decrypt( $other ) );
	}

	public function test_key_is_derived_from_the_wordpress_salts(): void {
		$key   = sodium_crypto_generichash( wp_salt( 'auth' ) . wp_salt( 'secure_auth' ), '', SODIUM_CRYPTO_SECRETBOX_KEYBYTES );
		$raw   = base64_decode( substr( Crypto::encrypt( 'hello' ), strlen( Crypto::PREFIX ) ) );
		$plain = sodium_crypto_secretbox_open( substr( $raw, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ), substr( $raw, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ), $key );
		$this->assertSame( 'hello', $plain );
	}
}
