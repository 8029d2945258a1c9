<?php
/**
 * E-mail: Return request received.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Emails;

defined( 'ABSPATH' ) || exit;

/**
 * Sent to the customer when their return request is stored, with its RMA number.
 */
class Email_Request_Received extends Email_Rma {

	/**
	 * Sets the e-mail up.
	 */
	public function __construct() {
		$this->id             = 'bpm_bridge_rma_received';
		$this->customer_email = true;
		$this->title          = __( 'Return request received', 'bpm-bridge' );
		$this->description    = __( 'Sent to the customer when their return request is stored, with its RMA number.', 'bpm-bridge' );
		$this->template_html  = 'emails/rma-request-received.php';
		$this->template_plain = 'emails/plain/rma-request-received.php';
		parent::__construct();
	}

	/**
	 * Default subject.
	 */
	public function get_default_subject() {
		return __( 'Your return request {rma_number} for order #{order_number} was received', 'bpm-bridge' );
	}

	/**
	 * Default heading.
	 */
	public function get_default_heading() {
		return __( 'We have your return request {rma_number}', 'bpm-bridge' );
	}
}
