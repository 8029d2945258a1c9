<?php
/**
 * The optional Polish tax id (NIP) at checkout.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Adds `billing_nip` to the checkout, validates its checksum, stores it as order meta `_billing_nip`.
 */
final class Nip {

	const FIELD = 'billing_nip';
	const META  = '_billing_nip';

	/**
	 * The block checkout's field (WooCommerce's Additional Checkout Fields API, WooCommerce 8.9+).
	 */
	const BLOCK_FIELD = 'bpm-bridge/nip';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_filter( 'woocommerce_billing_fields', array( self::class, 'billing_fields' ), 10, 2 );
		add_action( 'woocommerce_after_checkout_validation', array( self::class, 'validate_checkout' ), 10, 2 );
		add_action( 'woocommerce_checkout_create_order', array( self::class, 'save_to_order' ), 10, 2 );
		add_action( 'woocommerce_init', array( self::class, 'register_block_field' ) );
		add_action( 'woocommerce_validate_additional_field', array( self::class, 'validate_block_field' ), 10, 3 );
		add_action( 'woocommerce_store_api_checkout_update_order_from_request', array( self::class, 'save_from_block' ), 10, 2 );
	}

	/**
	 * `woocommerce_init`: the NIP in the block checkout ("Additional order information"). WooCommerce before
	 * 8.9 has no such API: there only the classic checkout asks.
	 */
	public static function register_block_field(): void {
		if ( ! \BPM_Bridge\Crm\Consent::block_fields() ) {
			return;
		}
		woocommerce_register_additional_checkout_field(
			array(
				'id'         => self::BLOCK_FIELD,
				'label'      => __( 'NIP (tax id, for a company invoice)', 'bpm-bridge' ),
				'location'   => 'order',
				'type'       => 'text',
				'required'   => false,
				'attributes' => array(
					'autocomplete' => 'off',
					'maxLength'    => 16,
				),
			)
		);
	}

	/**
	 * `woocommerce_validate_additional_field( $errors, $key, $value )`: the same checksum as the classic field.
	 *
	 * @param \WP_Error $errors Errors.
	 * @param string    $key    Field id.
	 * @param mixed     $value  Value.
	 */
	public static function validate_block_field( $errors, $key, $value ): void {
		$value = is_scalar( $value ) ? trim( (string) $value ) : '';
		if ( self::BLOCK_FIELD === $key && '' !== $value && ! self::is_valid( $value ) && $errors instanceof \WP_Error ) {
			$errors->add( 'billing_nip_invalid', __( 'The NIP is not valid. Check the number or leave the field empty.', 'bpm-bridge' ) );
		}
	}

	/**
	 * `woocommerce_store_api_checkout_update_order_from_request( $order, $request )`: stores the block
	 * checkout's NIP where the classic one goes (WooCommerce saves the order right after).
	 *
	 * @param \WC_Order        $order   Order.
	 * @param \WP_REST_Request $request Checkout request.
	 */
	public static function save_from_block( $order, $request ): void {
		$fields = is_object( $request ) ? $request['additional_fields'] : null;
		$value  = is_array( $fields ) && isset( $fields[ self::BLOCK_FIELD ] ) && is_scalar( $fields[ self::BLOCK_FIELD ] ) ? trim( (string) $fields[ self::BLOCK_FIELD ] ) : '';
		if ( '' !== $value && self::is_valid( $value ) ) {
			$order->update_meta_data( self::META, self::normalize( $value ) );
		}
	}

	/**
	 * `woocommerce_billing_fields( $address_fields, $country )`.
	 *
	 * @param array  $fields  Billing fields.
	 * @param string $country Country code.
	 * @return array
	 */
	public static function billing_fields( $fields, $country = '' ) {
		$fields[ self::FIELD ] = array(
			'label'       => __( 'NIP (tax id, for a company invoice)', 'bpm-bridge' ),
			'required'    => false,
			'class'       => array( 'form-row-wide' ),
			'priority'    => 35,
			'maxlength'   => 16,
			'autocomplete' => 'off',
		);
		return $fields;
	}

	/**
	 * `woocommerce_after_checkout_validation( $data, $errors )`.
	 *
	 * @param array     $data   Posted checkout data.
	 * @param \WP_Error $errors Errors.
	 */
	public static function validate_checkout( $data, $errors ): void {
		$value = trim( (string) ( $data[ self::FIELD ] ?? '' ) );
		if ( '' !== $value && ! self::is_valid( $value ) ) {
			$errors->add( 'billing_nip_invalid', __( 'The NIP is not valid. Check the number or leave the field empty.', 'bpm-bridge' ), array( 'id' => self::FIELD ) );
		}
	}

	/**
	 * `woocommerce_checkout_create_order( $order, $data )`: stores the normalised NIP through CRUD.
	 *
	 * @param object $order Order being created.
	 * @param array  $data  Posted checkout data.
	 */
	public static function save_to_order( $order, $data ): void {
		$value = trim( (string) ( $data[ self::FIELD ] ?? '' ) );
		if ( '' !== $value && self::is_valid( $value ) ) {
			$order->update_meta_data( self::META, self::normalize( $value ) );
		}
	}

	/**
	 * Digits only, without a "PL" prefix, spaces or dashes.
	 *
	 * @param string $nip Input.
	 */
	public static function normalize( string $nip ): string {
		$nip = strtoupper( trim( $nip ) );
		if ( 0 === strpos( $nip, 'PL' ) ) {
			$nip = substr( $nip, 2 );
		}
		return (string) preg_replace( '/[\s-]/', '', $nip );
	}

	/**
	 * The official NIP checksum: weights 6,5,7,2,3,4,5,6,7 over the first nine digits, sum mod 11 equals
	 * the tenth digit (a remainder of 10 is never issued).
	 *
	 * @param string $nip Input.
	 */
	public static function is_valid( string $nip ): bool {
		$digits = self::normalize( $nip );
		if ( ! preg_match( '/^\d{10}$/', $digits ) ) {
			return false;
		}
		$weights = array( 6, 5, 7, 2, 3, 4, 5, 6, 7 );
		$sum     = 0;
		foreach ( $weights as $i => $weight ) {
			$sum += $weight * (int) $digits[ $i ];
		}
		$check = $sum % 11;
		return 10 !== $check && (int) $digits[9] === $check;
	}
}
