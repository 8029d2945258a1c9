<?php
/**
 * A payment method that supports refunds and refuses every one (as a card processor does for a closed card).
 *
 * @package BPM_Bridge_Tests
 */

/**
 * Refuses refunds.
 */
class BPM_Test_Refusing_Gateway extends WC_Payment_Gateway {

	/**
	 * Sets it up.
	 */
	public function __construct() {
		$this->id                 = 'bpm_refuses';
		$this->method_title       = 'Refusing test gateway';
		$this->title              = 'Refusing test gateway';
		$this->supports           = array( 'products', 'refunds' );
		$this->enabled            = 'yes';
	}

	/**
	 * Refuses.
	 *
	 * @param int        $order_id Order id.
	 * @param float|null $amount   Amount.
	 * @param string     $reason   Reason.
	 */
	public function process_refund( $order_id, $amount = null, $reason = '' ) {
		return new WP_Error( 'bpm_test_refused', 'Card issuer declined the refund' );
	}
}
