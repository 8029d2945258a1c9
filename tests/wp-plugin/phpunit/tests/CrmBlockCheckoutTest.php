<?php
/**
 * The block checkout's NIP field (added next to the marketing consent, with the same Additional Checkout Fields API).
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Nip;

/**
 * Block checkout NIP.
 */
class CrmBlockCheckoutTest extends BPM_Test_Case {

	/**
	 * A block checkout request carrying a NIP.
	 *
	 * @param string $nip NIP.
	 */
	private static function request( string $nip ): WP_REST_Request {
		$request = new WP_REST_Request( 'POST', '/wc/store/v1/checkout' );
		$request->set_param( 'additional_fields', array( Nip::BLOCK_FIELD => $nip ) );
		return $request;
	}

	public function test_a_valid_nip_is_stored_like_the_classic_one_and_an_invalid_one_is_refused(): void {
		$order = $this->make_order();
		Nip::save_from_block( $order, self::request( 'PL 526-025-02-74' ) );
		$order->save();
		$this->assertSame( '5260250274', wc_get_order( $order->get_id() )->get_meta( Nip::META ) );

		$bad = $this->make_order();
		Nip::save_from_block( $bad, self::request( '5260250275' ) );
		$bad->save();
		$this->assertSame( '', wc_get_order( $bad->get_id() )->get_meta( Nip::META ) );

		$errors = new WP_Error();
		do_action( 'woocommerce_validate_additional_field', $errors, Nip::BLOCK_FIELD, '5260250275' );
		$this->assertSame( array( 'billing_nip_invalid' ), $errors->get_error_codes() );
		$fine = new WP_Error();
		do_action( 'woocommerce_validate_additional_field', $fine, Nip::BLOCK_FIELD, '' );
		do_action( 'woocommerce_validate_additional_field', $fine, 'other/field', '5260250275' );
		$this->assertFalse( $fine->has_errors(), 'empty is allowed, other fields are not ours' );
	}
}
