<?php
/**
 * Field types of the settings schema: defaults and the one validation every caller goes through.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings;

defined( 'ABSPATH' ) || exit;

/**
 * Validates and normalises one value per field type, and reads/writes dotted paths in nested values.
 */
final class Fields {

	/**
	 * Field types the schema may use.
	 */
	const TYPES = array( 'enum', 'bool', 'text', 'url', 'id', 'credential', 'triggers', 'int', 'email', 'textarea', 'lines', 'map' );

	/**
	 * Printable ASCII without spaces, 8 to 200 characters: every provider's API tokens look like this.
	 */
	const CREDENTIAL_PATTERN = '/^[\x21-\x7e]{8,200}$/';

	/**
	 * A type's default when the schema names none.
	 *
	 * @param string $type Field type.
	 * @return mixed
	 */
	public static function default_for( string $type ) {
		switch ( $type ) {
			case 'bool':
				return false;
			case 'id':
			case 'url':
				return null;
			case 'int':
				return 0;
			case 'lines':
			case 'map':
				return array();
			case 'triggers':
				return array(
					'default'           => '',
					'by_payment_method' => array(),
				);
		}
		return '';
	}

	/**
	 * Validates one submitted value.
	 *
	 * Credentials are write-only: '' keeps the stored value, null removes it.
	 *
	 * @param array<string, mixed> $field   Field from Schema::fields().
	 * @param mixed                $raw     Submitted value.
	 * @param mixed                $current Stored (plain) value.
	 * @return array{value: mixed}|\WP_Error
	 */
	public static function clean( array $field, $raw, $current ) {
		$label = (string) ( $field['label'] ?? $field['path'] ?? '' );
		switch ( $field['type'] ) {
			case 'enum':
				$choices = array_map( 'strval', array_keys( (array) $field['choices'] ) );
				if ( ! is_string( $raw ) || ! in_array( $raw, $choices, true ) ) {
					/* translators: 1: setting name, 2: allowed values */
					return self::error( sprintf( __( '%1$s must be one of: %2$s.', 'bpm-bridge' ), $label, implode( ', ', $choices ) ) );
				}
				return array( 'value' => $raw );
			case 'bool':
				return array( 'value' => (bool) rest_sanitize_boolean( is_scalar( $raw ) ? $raw : false ) );
			case 'text':
				$text = is_scalar( $raw ) ? sanitize_text_field( (string) $raw ) : '';
				if ( isset( $field['normalize'] ) && is_callable( $field['normalize'] ) ) {
					$normal = call_user_func( $field['normalize'], $text );
					if ( null === $normal ) {
						return self::error( sprintf( (string) $field['invalid'], $text ) );
					}
					$text = (string) $normal;
				}
				return array( 'value' => mb_substr( $text, 0, (int) ( $field['max'] ?? 200 ) ) );
			case 'url':
				$url = self::url( is_string( $raw ) ? $raw : '' );
				if ( null === $url ) {
					/* translators: 1: field name, 2: the value the admin entered. */
					return self::error( sprintf( __( '%1$s: "%2$s" is not an http(s) address; the previous value was kept.', 'bpm-bridge' ), $label, is_scalar( $raw ) ? (string) $raw : '' ) );
				}
				return array( 'value' => '' === $url ? null : $url );
			case 'id':
				$number = is_scalar( $raw ) ? trim( (string) $raw ) : '';
				if ( '' === $number || '0' === $number ) {
					return array( 'value' => null );
				}
				if ( ! ctype_digit( $number ) ) {
					/* translators: %s: field name. */
					return self::error( sprintf( __( '%s must be a whole number above zero; the previous value was kept.', 'bpm-bridge' ), $label ) );
				}
				return array( 'value' => absint( $number ) );
			case 'credential':
				if ( null === $raw ) {
					return array( 'value' => '' );
				}
				$secret = is_string( $raw ) ? trim( $raw ) : '';
				if ( '' === $secret ) {
					return array( 'value' => $current );
				}
				if ( ! preg_match( self::CREDENTIAL_PATTERN, $secret ) ) {
					/* translators: %s: field name. */
					return self::error( sprintf( __( '%s looks wrong (expected 8–200 characters without spaces); the saved value was kept.', 'bpm-bridge' ), $label ) );
				}
				return array( 'value' => $secret );
			case 'triggers':
				return self::triggers( $field, is_array( $raw ) ? $raw : array(), is_array( $current ) ? $current : array() );
			case 'int':
				return self::integer( $field, $raw, $label );
			case 'email':
				$email = is_string( $raw ) ? sanitize_email( trim( $raw ) ) : '';
				if ( is_string( $raw ) && '' !== trim( $raw ) && ! is_email( $email ) ) {
					/* translators: 1: field name, 2: the value the admin entered. */
					return self::error( sprintf( __( '%1$s: "%2$s" is not an e-mail address; the previous value was kept.', 'bpm-bridge' ), $label, sanitize_text_field( $raw ) ) );
				}
				return array( 'value' => $email );
			case 'textarea':
				$text = is_scalar( $raw ) ? sanitize_textarea_field( (string) $raw ) : '';
				return array( 'value' => mb_substr( $text, 0, (int) ( $field['max'] ?? 1000 ) ) );
			case 'lines':
				return self::lines( $field, $raw, $label );
			case 'map':
				return self::map( $field, is_array( $raw ) ? $raw : array(), is_array( $current ) ? $current : array(), $label );
		}
		return self::error( 'Unknown settings field type ' . (string) $field['type'] );
	}

	/**
	 * An absolute http(s) URL without query or fragment, without a trailing slash; '' for empty input.
	 *
	 * @param string $raw Submitted text.
	 * @return string|null Null when it is not such a URL.
	 */
	public static function url( string $raw ): ?string {
		$url = trim( $raw );
		if ( '' === $url ) {
			return '';
		}
		$clean = esc_url_raw( $url, array( 'http', 'https' ) );
		$parts = wp_parse_url( $clean );
		if ( '' === $clean || ! is_array( $parts ) || empty( $parts['host'] ) || ! isset( $parts['scheme'] ) || ! empty( $parts['query'] ) || ! empty( $parts['fragment'] ) ) {
			return null;
		}
		return untrailingslashit( $clean );
	}

	/**
	 * The Fakturownia account name from what an admin typed: "mojafirma", "mojafirma.fakturownia.pl" or a URL.
	 *
	 * @param string $text Cleaned text.
	 * @return string|null Null when it cannot be an account name.
	 */
	public static function fakturownia_account( string $text ): ?string {
		$text = strtolower( trim( $text ) );
		if ( '' === $text ) {
			return '';
		}
		$text = (string) preg_replace( '#^https?://#', '', $text );
		$text = (string) preg_replace( '#/.*$#', '', $text );
		$text = (string) preg_replace( '#\.fakturownia\.pl$#', '', $text );
		return preg_match( '/^[a-z0-9][a-z0-9-]{0,62}$/', $text ) ? $text : null;
	}

	/**
	 * The trigger setting: a default plus per payment method overrides (an override equal to the default,
	 * or '', is dropped). Either part may be omitted; it then stays as stored.
	 *
	 * @param array<string, mixed> $field   Field.
	 * @param array<string, mixed> $raw     Submitted {default?, by_payment_method?}.
	 * @param array<string, mixed> $current Stored value.
	 * @return array{value: array{default: string, by_payment_method: array<string, string>}}|\WP_Error
	 */
	private static function triggers( array $field, array $raw, array $current ) {
		$choices = array_map( 'strval', array_keys( (array) $field['choices'] ) );
		$default = $raw['default'] ?? ( $current['default'] ?? '' );
		if ( ! in_array( $default, $choices, true ) ) {
			/* translators: 1: setting name, 2: allowed values */
			return self::error( sprintf( __( '%1$s must be one of: %2$s.', 'bpm-bridge' ), (string) $field['label'], implode( ', ', $choices ) ) );
		}
		$posted = $raw['by_payment_method'] ?? ( $current['by_payment_method'] ?? array() );
		$by     = array();
		foreach ( (array) $posted as $gateway => $trigger ) {
			$gateway = sanitize_key( (string) $gateway );
			if ( '' === $trigger || null === $trigger ) {
				continue;
			}
			if ( '' === $gateway || ! in_array( $trigger, $choices, true ) ) {
				/* translators: %s: allowed values */
				return self::error( sprintf( __( 'Each payment method needs one of the triggers: %s.', 'bpm-bridge' ), implode( ', ', $choices ) ) );
			}
			if ( $trigger !== $default ) {
				$by[ $gateway ] = $trigger;
			}
		}
		ksort( $by );
		return array(
			'value' => array(
				'default'           => $default,
				'by_payment_method' => $by,
			),
		);
	}

	/**
	 * A whole number within the field's min (default 0) and max.
	 *
	 * @param array<string, mixed> $field Field.
	 * @param mixed                $raw   Submitted value.
	 * @param string               $label Field name.
	 * @return array{value: int}|\WP_Error
	 */
	private static function integer( array $field, $raw, string $label ) {
		$text = is_scalar( $raw ) ? trim( (string) $raw ) : '';
		$min  = (int) ( $field['min'] ?? 0 );
		$max  = (int) ( $field['max'] ?? PHP_INT_MAX );
		if ( ! preg_match( '/^-?\d{1,12}$/', $text ) || (int) $text < $min || (int) $text > $max ) {
			/* translators: 1: field name, 2: lowest allowed, 3: highest allowed. */
			return self::error( sprintf( __( '%1$s must be a whole number from %2$d to %3$d; the previous value was kept.', 'bpm-bridge' ), $label, $min, $max ) );
		}
		return array( 'value' => (int) $text );
	}

	/**
	 * A list of short texts, one per line (a string) or as a list; empty lines and duplicates dropped.
	 *
	 * @param array<string, mixed> $field Field: max (characters per line, 200), max_items (50), min_items (0).
	 * @param mixed                $raw   Submitted value.
	 * @param string               $label Field name.
	 * @return array{value: string[]}|\WP_Error
	 */
	private static function lines( array $field, $raw, string $label ) {
		$items = is_array( $raw ) ? $raw : preg_split( '/\r\n|\r|\n/', is_scalar( $raw ) ? (string) $raw : '' );
		$clean = array();
		foreach ( (array) $items as $item ) {
			$text = is_scalar( $item ) ? mb_substr( sanitize_text_field( (string) $item ), 0, (int) ( $field['max'] ?? 200 ) ) : '';
			if ( '' !== $text && ! in_array( $text, $clean, true ) ) {
				$clean[] = $text;
			}
		}
		$max = (int) ( $field['max_items'] ?? 50 );
		if ( count( $clean ) > $max || count( $clean ) < (int) ( $field['min_items'] ?? 0 ) ) {
			/* translators: 1: field name, 2: lowest number of lines, 3: highest number of lines. */
			return self::error( sprintf( __( '%1$s needs %2$d to %3$d lines; the previous value was kept.', 'bpm-bridge' ), $label, (int) ( $field['min_items'] ?? 0 ), $max ) );
		}
		return array( 'value' => $clean );
	}

	/**
	 * A map from a fixed set of keys (field "keys": key => label, or a callable returning that) to a value:
	 * one of "choices" when the field has them, else short text. Keys not in the set are refused; a key
	 * left out keeps its stored value; '' clears it.
	 *
	 * @param array<string, mixed> $field   Field.
	 * @param array<string, mixed> $raw     Submitted key => value.
	 * @param array<string, mixed> $current Stored value.
	 * @param string               $label   Field name.
	 * @return array{value: array<string, string>}|\WP_Error
	 */
	private static function map( array $field, array $raw, array $current, string $label ) {
		$keys    = array_map( 'strval', array_keys( self::map_keys( $field ) ) );
		$choices = isset( $field['choices'] ) ? array_map( 'strval', array_keys( (array) $field['choices'] ) ) : null;
		$value   = array_intersect_key( $current, array_flip( $keys ) );
		foreach ( $raw as $key => $item ) {
			$key = (string) $key;
			if ( ! in_array( $key, $keys, true ) ) {
				/* translators: 1: field name, 2: the unknown key. */
				return self::error( sprintf( __( '%1$s has no entry "%2$s"; the previous value was kept.', 'bpm-bridge' ), $label, sanitize_text_field( $key ) ) );
			}
			$text = is_scalar( $item ) ? mb_substr( sanitize_text_field( (string) $item ), 0, (int) ( $field['max'] ?? 100 ) ) : '';
			if ( '' !== $text && null !== $choices && ! in_array( $text, $choices, true ) ) {
				/* translators: 1: field name, 2: allowed values */
				return self::error( sprintf( __( '%1$s must be one of: %2$s.', 'bpm-bridge' ), $label, implode( ', ', $choices ) ) );
			}
			if ( '' === $text ) {
				unset( $value[ $key ] );
			} else {
				$value[ $key ] = $text;
			}
		}
		ksort( $value );
		return array( 'value' => $value );
	}

	/**
	 * A map field's keys (key => label).
	 *
	 * @param array<string, mixed> $field Field.
	 * @return array<string, string>
	 */
	public static function map_keys( array $field ): array {
		$keys = $field['keys'] ?? array();
		return (array) ( is_callable( $keys ) ? call_user_func( $keys ) : $keys );
	}

	/**
	 * A value as GET /config sends it: the trigger map stays a JSON object when empty.
	 *
	 * @param array<string, mixed> $field Field.
	 * @param mixed                $value Plain value.
	 * @return mixed
	 */
	public static function to_payload( array $field, $value ) {
		if ( 'triggers' === $field['type'] && is_array( $value ) ) {
			$value['by_payment_method'] = (object) ( $value['by_payment_method'] ?? array() );
		}
		if ( 'map' === $field['type'] ) {
			$value = (object) ( is_array( $value ) ? $value : array() );
		}
		return $value;
	}

	/**
	 * Reads a dotted path.
	 *
	 * @param array<string, mixed> $values Nested values.
	 * @param string               $path   Path, e.g. "fakturownia.domain".
	 * @param bool                 $found  Set to whether the path exists.
	 * @return mixed
	 */
	public static function get( array $values, string $path, ?bool &$found = null ) {
		$node = $values;
		foreach ( explode( '.', $path ) as $part ) {
			if ( ! is_array( $node ) || ! array_key_exists( $part, $node ) ) {
				$found = false;
				return null;
			}
			$node = $node[ $part ];
		}
		$found = true;
		return $node;
	}

	/**
	 * Writes a dotted path, creating the parents.
	 *
	 * @param array<string, mixed> $values Nested values.
	 * @param string               $path   Path.
	 * @param mixed                $value  Value.
	 */
	public static function set( array &$values, string $path, $value ): void {
		$node  = &$values;
		$parts = explode( '.', $path );
		$last  = array_pop( $parts );
		foreach ( $parts as $part ) {
			if ( ! isset( $node[ $part ] ) || ! is_array( $node[ $part ] ) ) {
				$node[ $part ] = array();
			}
			$node = &$node[ $part ];
		}
		$node[ $last ] = $value;
	}

	/**
	 * A validation error.
	 *
	 * @param string $message Translated message.
	 */
	private static function error( string $message ): \WP_Error {
		return new \WP_Error( 'bpm_bridge_invalid_setting', $message );
	}
}
