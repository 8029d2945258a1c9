<?php
/**
 * Standard Webhooks v1 signatures (docs/contract.md §1), the same scheme as sidecar/signing.py.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Signs outgoing messages and verifies incoming ones.
 */
final class Signer {

	const TOLERANCE_SECONDS = 300;
	const SECRET_PREFIX     = 'whsec_';

	/**
	 * The HMAC key of a `whsec_<base64>` secret.
	 *
	 * @param string $secret Secret as configured.
	 * @return string Raw key bytes.
	 * @throws \InvalidArgumentException When the secret is malformed (the message names no secret material).
	 */
	public static function secret_key( string $secret ): string {
		if ( 0 !== strpos( $secret, self::SECRET_PREFIX ) ) {
			throw new \InvalidArgumentException( "a signing secret must start with 'whsec_'" );
		}
		// Strict base64 so a typo fails loudly instead of becoming a different key.
		$key = base64_decode( substr( $secret, strlen( self::SECRET_PREFIX ) ), true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
		if ( false === $key ) {
			throw new \InvalidArgumentException( "a signing secret must be 'whsec_' followed by base64" );
		}
		$length = strlen( $key );
		if ( $length < 24 || $length > 64 ) {
			throw new \InvalidArgumentException( 'a signing secret must hold 24 to 64 random bytes' );
		}
		return $key;
	}

	/**
	 * Whether a string is a usable secret.
	 *
	 * @param string $secret Candidate.
	 */
	public static function is_valid_secret( string $secret ): bool {
		try {
			self::secret_key( $secret );
			return true;
		} catch ( \InvalidArgumentException $e ) {
			return false;
		}
	}

	/**
	 * A fresh secret with 32 random bytes.
	 */
	public static function new_secret(): string {
		return self::SECRET_PREFIX . base64_encode( random_bytes( 32 ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}

	/**
	 * One `v1,<base64>` token over "{id}.{timestamp}.{body}".
	 *
	 * @param string $secret    Secret.
	 * @param string $msg_id    Message id.
	 * @param int    $timestamp Unix seconds.
	 * @param string $body      Exact body bytes.
	 */
	public static function sign( string $secret, string $msg_id, int $timestamp, string $body ): string {
		$mac = hash_hmac( 'sha256', $msg_id . '.' . $timestamp . '.' . $body, self::secret_key( $secret ), true );
		return 'v1,' . base64_encode( $mac ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}

	/**
	 * Headers for an outgoing message signed with every given secret (during rotation: new and old).
	 *
	 * @param string[]    $secrets Secrets, current first.
	 * @param string      $body    Exact body bytes.
	 * @param string|null $msg_id  Message id; a fresh `msg_<32 hex>` when null.
	 * @param int|null    $now     Unix seconds; now when null.
	 * @return array<string,string>
	 */
	public static function headers( array $secrets, string $body, ?string $msg_id = null, ?int $now = null ): array {
		$msg_id    = $msg_id ?? 'msg_' . bin2hex( random_bytes( 16 ) );
		$timestamp = $now ?? time();
		$tokens    = array();
		foreach ( $secrets as $secret ) {
			$tokens[] = self::sign( $secret, $msg_id, $timestamp, $body );
		}
		return array(
			'webhook-id'        => $msg_id,
			'webhook-timestamp' => (string) $timestamp,
			'webhook-signature' => implode( ' ', $tokens ),
		);
	}

	/**
	 * Checks a message against any of the configured secrets.
	 *
	 * @param string[]                   $secrets   Configured secrets.
	 * @param array<string,string|null>  $headers   Header values keyed by lower-case name.
	 * @param string                     $body      Exact raw body.
	 * @param int|null                   $now       Unix seconds; now when null.
	 * @param int                        $tolerance Allowed clock distance in seconds.
	 * @return string|\WP_Error The message id, or an error whose message is safe to show the caller.
	 */
	public static function verify( array $secrets, array $headers, string $body, ?int $now = null, int $tolerance = self::TOLERANCE_SECONDS ) {
		$msg_id     = (string) ( $headers['webhook-id'] ?? '' );
		$timestamp  = (string) ( $headers['webhook-timestamp'] ?? '' );
		$signatures = (string) ( $headers['webhook-signature'] ?? '' );
		if ( '' === $msg_id || '' === $timestamp || '' === $signatures ) {
			return self::error( 'missing webhook-id, webhook-timestamp or webhook-signature header' );
		}
		if ( false !== strpos( $msg_id, '.' ) || strlen( $msg_id ) > 255 ) {
			return self::error( 'malformed webhook-id header' );
		}
		if ( ! preg_match( '/^-?\d{1,12}$/', $timestamp ) ) {
			return self::error( 'webhook-timestamp must be integer Unix seconds' );
		}
		$ts      = (int) $timestamp;
		$current = $now ?? time();
		if ( abs( $current - $ts ) > $tolerance ) {
			return self::error( 'webhook-timestamp is outside the 5-minute tolerance' );
		}
		$offered = array();
		foreach ( preg_split( '/\s+/', trim( $signatures ) ) as $token ) {
			if ( 0 === strpos( $token, 'v1,' ) ) {
				$offered[] = substr( $token, 3 );
			}
		}
		if ( ! $offered ) {
			return self::error( 'no v1 signature in webhook-signature' );
		}
		$signed = $msg_id . '.' . $ts . '.' . $body;
		foreach ( $secrets as $secret ) {
			try {
				$key = self::secret_key( $secret );
			} catch ( \InvalidArgumentException $e ) {
				continue;
			}
			$expected = base64_encode( hash_hmac( 'sha256', $signed, $key, true ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
			foreach ( $offered as $token ) {
				if ( hash_equals( $expected, $token ) ) {
					return $msg_id;
				}
			}
		}
		return self::error( 'no signature matches a configured secret' );
	}

	/**
	 * A verification failure.
	 *
	 * @param string $reason Caller-safe reason (English; the sidecar logs it, no shopper sees it).
	 */
	private static function error( string $reason ): \WP_Error {
		return new \WP_Error( 'bpm_bridge_bad_signature', $reason, array( 'status' => 401 ) );
	}
}
