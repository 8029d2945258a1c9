<?php
/**
 * Upgrades stored settings written by earlier plugin versions.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings;

defined( 'ABSPATH' ) || exit;

/**
 * Version 1 stored invoicing as one flat array (fakturownia_domain, trigger_default, …); version 2 stores every
 * section in the nested shape of GET /config. Credentials are copied as ciphertext: the key did not change.
 */
final class Migration {

	/**
	 * Version 1 invoicing key => version 2 path inside the invoicing section.
	 */
	const V1_INVOICING = array(
		'provider'                  => 'provider',
		'trigger_default'           => 'trigger.default',
		'trigger_by_payment_method' => 'trigger.by_payment_method',
		'b2c_document'              => 'b2c_document',
		'send_email'                => 'send_email',
		'exemption_reason'          => 'exemption_reason',
		'fakturownia_domain'        => 'fakturownia.domain',
		'fakturownia_api_token'     => 'fakturownia.api_token',
		'fakturownia_department_id' => 'fakturownia.department_id',
		'fakturownia_base_url'      => 'fakturownia.base_url',
		'infakt_api_key'            => 'infakt.api_key',
		'infakt_base_url'           => 'infakt.base_url',
	);

	/**
	 * Version 1 stored "no sandbox address" as ''; version 2 as null, like the payload.
	 */
	const V1_EMPTY_IS_NULL = array( 'fakturownia.base_url', 'infakt.base_url' );

	/**
	 * Brings stored settings up to the current shape. Idempotent: a site already in the new shape is untouched.
	 *
	 * @param string $from Stored DB version ('' on a fresh install).
	 * @return bool Whether anything was rewritten.
	 */
	public static function run( string $from ): bool {
		if ( '' !== $from && version_compare( $from, '2', '>=' ) ) {
			return false;
		}
		$stored = get_option( Schema::OPTIONS['invoicing'] );
		if ( ! is_array( $stored ) || ! self::is_v1_invoicing( $stored ) ) {
			return false;
		}
		$nested = self::nest_v1_invoicing( $stored );
		foreach ( self::V1_EMPTY_IS_NULL as $path ) {
			if ( '' === Fields::get( $nested, $path ) ) {
				Fields::set( $nested, $path, null );
			}
		}
		// The configuration did not change, so no config.updated: write around the change hooks.
		\BPM_Bridge\Options::write_unannounced( 'invoicing', $nested );
		return true;
	}

	/**
	 * Whether an invoicing array has version 1 (flat) keys.
	 *
	 * @param array<string, mixed> $values Stored or submitted values.
	 */
	public static function is_v1_invoicing( array $values ): bool {
		foreach ( array_keys( $values ) as $key ) {
			if ( isset( self::V1_INVOICING[ $key ] ) && self::V1_INVOICING[ $key ] !== $key ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Turns version 1 flat keys into nested paths; other keys pass through unchanged.
	 *
	 * @param array<string, mixed> $values Flat (or partly nested) values.
	 * @return array<string, mixed>
	 */
	public static function nest_v1_invoicing( array $values ): array {
		$nested = array();
		foreach ( $values as $key => $value ) {
			if ( isset( self::V1_INVOICING[ $key ] ) ) {
				Fields::set( $nested, self::V1_INVOICING[ $key ], $value );
			} elseif ( ! isset( $nested[ $key ] ) ) {
				$nested[ $key ] = $value;
			}
		}
		return $nested;
	}
}
