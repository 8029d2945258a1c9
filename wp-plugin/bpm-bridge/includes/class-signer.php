<?php
/**
 * Signatures (docs/contract.md §1), the same schemes as sidecar/signing.py: Standard Webhooks v1 for the
 * events the plugin sends, and contract revision 2 request signatures (method, route, query and body) for
 * the requests the sidecar sends to bpm-bridge/v1.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Signs outgoing messages and verifies incoming ones.
 */
final class Signer {

	/**
	 * Allowed clock distance; the same number as contract.json signature.tolerance_seconds (ContractTest
	 * checks it). A constant because this class also runs without WordPress (tests/contract/php).
	 */
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
		$checked = self::check( $headers, $now, $tolerance );
		if ( $checked instanceof \WP_Error ) {
			return $checked;
		}
		return self::match( $secrets, $checked['offered'], $checked['id'] . '.' . $checked['timestamp'] . '.' . $body )
			? $checked['id']
			: self::error( 'no signature matches a configured secret' );
	}

	/**
	 * The content a contract revision 2 request signature covers after "{id}.{timestamp}.":
	 * "{METHOD}\n{route}\n{canonical_query}\n{body}".
	 *
	 * @param string $method HTTP method.
	 * @param string $route  WordPress REST route, e.g. /bpm-bridge/v1/orders/11/notes.
	 * @param array  $query  Query parameters: [[key, value], …] or key => value; rest_route is left out.
	 * @param string $body   Exact body bytes.
	 */
	public static function request_content( string $method, string $route, array $query, string $body ): string {
		return strtoupper( $method ) . "\n" . $route . "\n" . self::canonical_query( $query ) . "\n" . $body;
	}

	/**
	 * Every query parameter except rest_route, key and value percent-encoded per RFC 3986, sorted by encoded
	 * key then value, joined "k=v" with "&" ('' when none).
	 *
	 * @param array $query Pairs [[key, value], …] or key => value (a list value gives one pair per element).
	 */
	public static function canonical_query( array $query ): string {
		$pairs = array();
		foreach ( $query as $key => $value ) {
			if ( is_int( $key ) && is_array( $value ) && 2 === count( $value ) && array_is_list( $value ) ) {
				list( $key, $value ) = $value;
			}
			foreach ( is_array( $value ) ? $value : array( $value ) as $one ) {
				if ( 'rest_route' !== (string) $key ) {
					$pairs[] = array( rawurlencode( (string) $key ), rawurlencode( is_scalar( $one ) ? (string) $one : '' ) );
				}
			}
		}
		usort(
			$pairs,
			static function ( $a, $b ) {
				return strcmp( $a[0], $b[0] ) ?: strcmp( $a[1], $b[1] );
			}
		);
		return implode(
			'&',
			array_map(
				static function ( $pair ) {
					return $pair[0] . '=' . $pair[1];
				},
				$pairs
			)
		);
	}

	/**
	 * One `v1,<base64>` request signature (contract revision 2).
	 *
	 * @param string $secret    Secret.
	 * @param string $msg_id    Message id.
	 * @param int    $timestamp Unix seconds.
	 * @param string $method    HTTP method.
	 * @param string $route     REST route.
	 * @param array  $query     Query parameters.
	 * @param string $body      Exact body bytes.
	 */
	public static function sign_request( string $secret, string $msg_id, int $timestamp, string $method, string $route, array $query, string $body ): string {
		return self::sign( $secret, $msg_id, $timestamp, self::request_content( $method, $route, $query, $body ) );
	}

	/**
	 * Headers for a request to bpm-bridge/v1 signed with every given secret (the tests and tools act as the sidecar).
	 *
	 * @param string[]    $secrets Secrets, current first.
	 * @param string      $method  HTTP method.
	 * @param string      $route   REST route.
	 * @param array       $query   Query parameters.
	 * @param string      $body    Exact body bytes.
	 * @param string|null $msg_id  Message id; a fresh `msg_<32 hex>` when null.
	 * @param int|null    $now     Unix seconds; now when null.
	 * @return array<string,string>
	 */
	public static function request_headers( array $secrets, string $method, string $route, array $query, string $body, ?string $msg_id = null, ?int $now = null ): array {
		return self::headers( $secrets, self::request_content( $method, $route, $query, $body ), $msg_id, $now );
	}

	/**
	 * Checks a request signature (contract revision 2) against any of the configured secrets.
	 *
	 * @param string[]                  $secrets   Configured secrets.
	 * @param array<string,string|null> $headers   Header values keyed by lower-case name.
	 * @param string                    $method    HTTP method.
	 * @param string                    $route     REST route.
	 * @param array                     $query     Query parameters.
	 * @param string                    $body      Exact raw body.
	 * @param int|null                  $now       Unix seconds; now when null.
	 * @param int                       $tolerance Allowed clock distance in seconds.
	 * @return string|\WP_Error The message id, or an error whose message is safe to show the caller.
	 */
	public static function verify_request( array $secrets, array $headers, string $method, string $route, array $query, string $body, ?int $now = null, int $tolerance = self::TOLERANCE_SECONDS ) {
		$checked = self::check( $headers, $now, $tolerance );
		if ( $checked instanceof \WP_Error ) {
			return $checked;
		}
		$prefix = $checked['id'] . '.' . $checked['timestamp'] . '.';
		if ( self::match( $secrets, $checked['offered'], $prefix . self::request_content( $method, $route, $query, $body ) ) ) {
			return $checked['id'];
		}
		// Say why when it is a sidecar from before revision 2 (still refused: it does not bind the route).
		if ( self::match( $secrets, $checked['offered'], $prefix . $body ) ) {
			return self::error( 'this signature covers the body only (contract revision 1); contract revision 2 signs method, route and query with the body: update the sidecar' );
		}
		return self::error( 'no signature matches a configured secret (contract revision 2 signs method, route, query and body)' );
	}

	/**
	 * The header checks shared by both schemes.
	 *
	 * @param array<string,string|null> $headers   Header values keyed by lower-case name.
	 * @param int|null                  $now       Unix seconds; now when null.
	 * @param int                       $tolerance Allowed clock distance in seconds.
	 * @return array{id:string,timestamp:int,offered:string[]}|\WP_Error
	 */
	private static function check( array $headers, ?int $now, int $tolerance ) {
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
		return array(
			'id'        => $msg_id,
			'timestamp' => $ts,
			'offered'   => $offered,
		);
	}

	/**
	 * Whether any offered signature is the HMAC of $signed under any usable secret (constant-time compare).
	 *
	 * @param string[] $secrets Configured secrets.
	 * @param string[] $offered Offered base64 signatures.
	 * @param string   $signed  Signed content.
	 */
	private static function match( array $secrets, array $offered, string $signed ): bool {
		foreach ( $secrets as $secret ) {
			try {
				$key = self::secret_key( $secret );
			} catch ( \InvalidArgumentException $e ) {
				continue;
			}
			$expected = base64_encode( hash_hmac( 'sha256', $signed, $key, true ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
			foreach ( $offered as $token ) {
				if ( hash_equals( $expected, $token ) ) {
					return true;
				}
			}
		}
		return false;
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
