<?php
/**
 * The optional NIP at checkout.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Nip;

/**
 * Nip.
 */
class NipTest extends BPM_Test_Case {

	public function test_checksum(): void {
		// Checksums computed by hand: 5·6+2·5+6·7+0+0+0+1·5+2·6+4·7 = 127, 127 mod 11 = 6.
		foreach ( array( '5260001246', '526-000-12-46', 'PL 526 000 12 46', '1234563218' ) as $valid ) {
			$this->assertTrue( Nip::is_valid( $valid ), $valid );
		}
		foreach ( array( '5260001247', '123456789', '12345678901', 'abcdefghij', '', '0000000000x' ) as $invalid ) {
			$this->assertFalse( Nip::is_valid( $invalid ), $invalid );
		}
		// Digits whose weighted sum leaves remainder 10 are never issued.
		$this->assertFalse( Nip::is_valid( '1000000160' ) );
		$this->assertSame( '5260001246', Nip::normalize( 'pl526-000 12-46' ) );
	}

	public function test_billing_field_is_optional_and_validated_at_checkout(): void {
		$fields = apply_filters( 'woocommerce_billing_fields', array(), 'PL' );
		$this->assertArrayHasKey( 'billing_nip', $fields );
		$this->assertFalse( $fields['billing_nip']['required'] );

		$errors = new WP_Error();
		do_action( 'woocommerce_after_checkout_validation', array( 'billing_nip' => '5260001247' ), $errors );
		$this->assertSame( array( 'billing_nip_invalid' ), $errors->get_error_codes() );
		$errors = new WP_Error();
		do_action( 'woocommerce_after_checkout_validation', array( 'billing_nip' => '' ), $errors );
		do_action( 'woocommerce_after_checkout_validation', array( 'billing_nip' => '526-000-12-46' ), $errors );
		$this->assertFalse( $errors->has_errors() );
	}

	public function test_valid_nip_is_stored_as_order_meta_through_crud(): void {
		$order = $this->make_order();
		do_action( 'woocommerce_checkout_create_order', $order, array( 'billing_nip' => 'PL 526-000-12-46' ) );
		$order->save();
		$this->assertSame( '5260001246', wc_get_order( $order->get_id() )->get_meta( '_billing_nip' ) );
	}
}
