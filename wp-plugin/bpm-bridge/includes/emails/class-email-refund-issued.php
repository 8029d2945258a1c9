<?php
/**
 * E-mail: Return refunded.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Emails;

defined( 'ABSPATH' ) || exit;

/**
 * Sent to the customer when the refund for their return is issued.
 */
class Email_Refund_Issued extends Email_Rma {

	/**
	 * Sets the e-mail up.
	 */
	public function __construct() {
		$this->id             = 'bpm_bridge_rma_refunded';
		$this->customer_email = true;
		$this->title          = __( 'Return refunded', 'bpm-bridge' );
		$this->description    = __( 'Sent to the customer when the refund for their return is issued.', 'bpm-bridge' );
		$this->template_html  = 'emails/rma-refund-issued.php';
		$this->template_plain = 'emails/plain/rma-refund-issued.php';
		parent::__construct();
	}

	/**
	 * Default subject.
	 */
	public function get_default_subject() {
		return __( 'Your refund for return {rma_number} was issued', 'bpm-bridge' );
	}

	/**
	 * Default heading.
	 */
	public function get_default_heading() {
		return __( 'Refund for return {rma_number} issued', 'bpm-bridge' );
	}
}
