<?php
/**
 * Checks of the return form's own fields: the refund account and the parcel locker.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

defined( 'ABSPATH' ) || exit;

/**
 * Normalising validators; each answers the clean value or null.
 */
final class Input {

	/**
	 * A Polish IBAN (PL + 26 digits, ISO 13616 mod-97 checksum); spaces allowed, "PL" may be left out.
	 *
	 * @param string $value As typed.
	 * @return string|null "PL" + 26 digits.
	 */
	public static function iban( string $value ): ?string {
		// Spaces of every kind (a number copied from a bank's page often has no-break or thin spaces), dashes.
		$iban = strtoupper( (string) preg_replace( '/[\s\x{00A0}\x{2000}-\x{200B}\x{202F}\x{205F}\x{3000}\x{FEFF}-]+/u', '', $value ) );
		if ( preg_match( '/^\d{26}$/', $iban ) ) {
			$iban = 'PL' . $iban;
		}
		if ( ! preg_match( '/^PL\d{26}$/', $iban ) ) {
			return null;
		}
		// Country letters move to the end as digits (P=25, L=21); the remainder of the number by 97 must be 1.
		$digits    = substr( $iban, 4 ) . '2521' . substr( $iban, 2, 2 );
		$remainder = 0;
		foreach ( str_split( $digits, 7 ) as $chunk ) {
			$remainder = (int) ( $remainder . $chunk ) % 97;
		}
		return 1 === $remainder ? $iban : null;
	}

	/**
	 * An InPost point code such as WAW123M or POP-KRA12: three letters, then up to 7 letters/digits with at
	 * least one digit, optionally one "-" part.
	 *
	 * @param string $value As typed.
	 * @return string|null Upper case.
	 */
	public static function point( string $value ): ?string {
		$point = strtoupper( preg_replace( '/\s+/', '', $value ) );
		if ( strlen( $point ) < 3 || strlen( $point ) > 12 || ! preg_match( '/^[A-Z]{3}[A-Z0-9]{0,7}(-[A-Z0-9]{1,8})?$/', $point ) || ! preg_match( '/\d/', $point ) ) {
			return null;
		}
		return $point;
	}
}
