<?php
/**
 * Encryption at rest for provider credentials and signing secrets.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Libsodium secretbox with a key derived from the WordPress salts.
 *
 * The key lives in wp-config.php (the salts), the ciphertext in the database: a leaked database dump
 * alone does not reveal credentials. Rotating the salts makes stored values unreadable, which
 * decrypt() reports as null so the admin is asked to enter them again instead of the site failing.
 */
final class Crypto {

	/**
	 * Version prefix: a later scheme can be introduced without guessing what old values are.
	 */
	const PREFIX = 'bpmenc:v1:';

	/**
	 * The 32-byte secretbox key.
	 */
	private static function key(): string {
		return sodium_crypto_generichash(
			wp_salt( 'auth' ) . wp_salt( 'secure_auth' ),
			'',
			SODIUM_CRYPTO_SECRETBOX_KEYBYTES
		);
	}

	/**
	 * Encrypts a value; the empty string stays empty so "not set" needs no decryption.
	 *
	 * @param string $plaintext Value.
	 */
	public static function encrypt( string $plaintext ): string {
		if ( '' === $plaintext ) {
			return '';
		}
		$nonce = random_bytes( SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		$box   = sodium_crypto_secretbox( $plaintext, $nonce, self::key() );
		return self::PREFIX . base64_encode( $nonce . $box ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}

	/**
	 * Decrypts a stored value.
	 *
	 * @param string $stored Value as stored.
	 * @return string|null Plaintext; '' for an empty value; null when it cannot be decrypted.
	 */
	public static function decrypt( string $stored ): ?string {
		if ( '' === $stored ) {
			return '';
		}
		if ( ! self::is_encrypted( $stored ) ) {
			return null;
		}
		$raw = base64_decode( substr( $stored, strlen( self::PREFIX ) ), true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
		if ( false === $raw || strlen( $raw ) < SODIUM_CRYPTO_SECRETBOX_NONCEBYTES + SODIUM_CRYPTO_SECRETBOX_MACBYTES ) {
			return null;
		}
		$nonce = substr( $raw, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		$box   = substr( $raw, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		try {
			$plain = sodium_crypto_secretbox_open( $box, $nonce, self::key() );
		} catch ( \SodiumException $e ) {
			return null;
		}
		return false === $plain ? null : $plain;
	}

	/**
	 * Whether a stored value carries our ciphertext prefix.
	 *
	 * @param string $stored Value as stored.
	 */
	public static function is_encrypted( string $stored ): bool {
		return 0 === strpos( $stored, self::PREFIX );
	}
}
