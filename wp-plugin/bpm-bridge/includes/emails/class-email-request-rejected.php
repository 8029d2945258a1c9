<?php
/**
 * E-mail: Return rejected.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Emails;

defined( 'ABSPATH' ) || exit;

/**
 * Sent to the customer when their return is rejected, with the reason you gave.
 */
class Email_Request_Rejected extends Email_Rma {

	/**
	 * Sets the e-mail up.
	 */
	public function __construct() {
		$this->id             = 'bpm_bridge_rma_rejected';
		$this->customer_email = true;
		$this->title          = __( 'Return rejected', 'bpm-bridge' );
		$this->description    = __( 'Sent to the customer when their return is rejected, with the reason you gave.', 'bpm-bridge' );
		$this->template_html  = 'emails/rma-request-rejected.php';
		$this->template_plain = 'emails/plain/rma-request-rejected.php';
		parent::__construct();
	}

	/**
	 * The public timeline step.
	 */
	protected function public_step(): string {
		return __( 'E-mail with the decision sent.', 'bpm-bridge' );
	}

	/**
	 * Default subject.
	 */
	public function get_default_subject() {
		return __( 'Your return {rma_number} for order #{order_number} was rejected', 'bpm-bridge' );
	}

	/**
	 * Default heading.
	 */
	public function get_default_heading() {
		return __( 'Return {rma_number} rejected', 'bpm-bridge' );
	}
}
