<?php
/**
 * What the sidecar may write to an order, checked once for the single routes and for apply.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Contract;

defined( 'ABSPATH' ) || exit;

/**
 * Argument schemas, validation and the writes of order meta and notes. Everything here is checked before
 * anything is written; the writes run under Guard::with_order_lock().
 */
final class Order_Input {

	/**
	 * A map of allow-listed meta keys to string values ('' deletes).
	 *
	 * @param bool $required Whether the argument is required.
	 */
	public static function meta_arg( bool $required ): array {
		return array(
			'type'                 => 'object',
			'additionalProperties' => array(
				'type'      => 'string',
				'maxLength' => Contract::limit( 'max_meta_value_chars' ),
			),
		) + ( $required ? array( 'required' => true ) : array( 'default' => array() ) );
	}

	/**
	 * The required note text of a note (notes route, apply's note.note).
	 */
	public static function note_text_arg(): array {
		return array(
			'type'              => 'string',
			'required'          => true,
			'minLength'         => 1,
			'maxLength'         => Contract::limit( 'max_note_chars' ),
			'validate_callback' => 'rest_validate_request_arg',
			'sanitize_callback' => array( self::class, 'sanitize_note' ),
		);
	}

	/**
	 * An optional note beside a status change ('' = none).
	 */
	public static function optional_note_arg(): array {
		return array(
			'type'              => 'string',
			'default'           => '',
			'maxLength'         => Contract::limit( 'max_note_chars' ),
			// A custom sanitizer replaces WordPress' default, which also validated: validate explicitly.
			'validate_callback' => 'rest_validate_request_arg',
			'sanitize_callback' => 'sanitize_textarea_field',
		);
	}

	/**
	 * Apply's `note` object: {note, customer_note} or null.
	 */
	public static function note_schema(): array {
		$text = self::note_text_arg();
		unset( $text['validate_callback'], $text['sanitize_callback'] );
		return array(
			'type'                 => array( 'object', 'null' ),
			'default'              => null,
			'properties'           => array(
				'note'          => $text,
				'customer_note' => array( 'type' => 'boolean' ),
			),
			'additionalProperties' => false,
		);
	}

	/**
	 * A note's text as stored: plain text, never empty (a tag-only note would e-mail a customer nothing).
	 *
	 * @param mixed $value Raw note.
	 * @return string|\WP_Error
	 */
	public static function sanitize_note( $value ) {
		$note = sanitize_textarea_field( (string) $value );
		if ( '' === trim( $note ) ) {
			return Controller::error( 'rest_invalid_param', __( 'note is empty once markup is removed.', 'bpm-bridge' ), 400, array( 'params' => array( 'note' => 'empty' ) ) );
		}
		return $note;
	}

	/**
	 * Why a meta write is refused (keys outside the allow-list, bad values), or null.
	 *
	 * @param array $meta   Keys to write.
	 * @param array $expect Keys to compare.
	 */
	public static function check_meta( array $meta, array $expect ): ?\WP_Error {
		$bad = array_values( array_diff( array_map( 'strval', array_keys( $meta + $expect ) ), Contract::meta_keys() ) );
		if ( $bad ) {
			return Controller::error(
				'bpm_bridge_meta_not_allowed',
				/* translators: %s: meta keys */
				sprintf( __( 'These meta keys may not be written: %s.', 'bpm-bridge' ), implode( ', ', array_map( 'sanitize_text_field', $bad ) ) ),
				400,
				array( 'keys' => $bad )
			);
		}
		foreach ( $meta as $key => $value ) {
			$invalid = self::invalid_meta_value( (string) $key, (string) $value );
			if ( null !== $invalid ) {
				return Controller::error( 'rest_invalid_param', $invalid, 400, array( 'params' => array( 'meta' => $invalid ) ) );
			}
		}
		return null;
	}

	/**
	 * 409 with the current values when the order's meta is not what $expect says, or null.
	 *
	 * @param \WC_Order $order  Order, read under the lock.
	 * @param array     $expect Key => expected value ('' = absent).
	 */
	public static function conflict( $order, array $expect ): ?\WP_Error {
		$current  = array();
		$conflict = false;
		foreach ( $expect as $key => $value ) {
			$current[ $key ] = (string) $order->get_meta( $key );
			$conflict        = $conflict || $current[ $key ] !== (string) $value;
		}
		if ( ! $conflict ) {
			return null;
		}
		return Controller::error(
			'bpm_bridge_meta_conflict',
			__( 'The order meta does not have the expected values; nothing was written.', 'bpm-bridge' ),
			409,
			array( 'current' => $current )
		);
	}

	/**
	 * Writes meta through WooCommerce CRUD ('' deletes) and saves once.
	 *
	 * @param \WC_Order $order Order.
	 * @param array     $meta  Checked key => value.
	 */
	public static function write_meta( $order, array $meta ): void {
		foreach ( $meta as $key => $value ) {
			if ( '' === (string) $value ) {
				$order->delete_meta_data( $key );
			} else {
				$order->update_meta_data( $key, (string) $value );
			}
		}
		if ( $meta ) {
			$order->save();
		}
	}

	/**
	 * Every allow-listed key with its current value ('' = absent).
	 *
	 * @param \WC_Order $order Order.
	 * @return array<string,string>
	 */
	public static function meta_values( $order ): array {
		$meta = array();
		foreach ( Contract::meta_keys() as $key ) {
			$meta[ $key ] = (string) $order->get_meta( $key );
		}
		return $meta;
	}

	/**
	 * Why a meta value is unacceptable, or null.
	 *
	 * @param string $key   Key.
	 * @param string $value Value.
	 */
	private static function invalid_meta_value( string $key, string $value ): ?string {
		if ( '' === $value ) {
			return null;
		}
		if ( ! wp_check_invalid_utf8( $value ) ) {
			/* translators: %s: meta key */
			return sprintf( __( '%s is not valid UTF-8.', 'bpm-bridge' ), $key );
		}
		if ( '_bpm_invoice_url' === $key && ! preg_match( '#^https?://[^\s]+$#', $value ) ) {
			return __( '_bpm_invoice_url must be an http(s) URL.', 'bpm-bridge' );
		}
		if ( '_bpm_corrections' === $key && ! self::is_corrections_map( $value ) ) {
			return __( '_bpm_corrections must be a JSON object.', 'bpm-bridge' );
		}
		return null;
	}

	/**
	 * Whether a value is a JSON object of objects (refund id → {id, number, url, …}). Decoded without the
	 * associative flag because as arrays a JSON list and an object look alike, and the sidecar cannot read a list.
	 *
	 * @param string $value Value.
	 */
	private static function is_corrections_map( string $value ): bool {
		$decoded = json_decode( $value );
		if ( ! $decoded instanceof \stdClass ) {
			return false;
		}
		foreach ( get_object_vars( $decoded ) as $entry ) {
			if ( ! $entry instanceof \stdClass ) {
				return false;
			}
		}
		return true;
	}
}
