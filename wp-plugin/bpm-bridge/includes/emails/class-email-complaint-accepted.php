<?php
/**
 * E-mail: Complaint accepted.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Emails;

defined( 'ABSPATH' ) || exit;

/**
 * Sent to the customer at once when staff approve a complaint: approving it is the shop's answer (art. 7a u.p.k.,
 * 14 days), so the answer must reach the customer then, not when the label is ready (that follows in the
 * "Return approved (with label)" e-mail).
 */
class Email_Complaint_Accepted extends Email_Rma {

	/**
	 * Sets the e-mail up.
	 */
	public function __construct() {
		$this->id             = 'bpm_bridge_rma_accepted';
		$this->customer_email = true;
		$this->title          = __( 'Complaint accepted', 'bpm-bridge' );
		$this->description    = __( 'Sent to the customer as soon as their complaint is approved: this is the shop\'s answer to the complaint. The label follows in its own e-mail.', 'bpm-bridge' );
		$this->template_html  = 'emails/rma-complaint-accepted.php';
		$this->template_plain = 'emails/plain/rma-complaint-accepted.php';
		parent::__construct();
	}

	/**
	 * Default subject.
	 */
	public function get_default_subject() {
		return __( 'We accept your complaint {rma_number}', 'bpm-bridge' );
	}

	/**
	 * Default heading.
	 */
	public function get_default_heading() {
		return __( 'Complaint {rma_number} accepted', 'bpm-bridge' );
	}

	/**
	 * Once, for an approved complaint.
	 */
	protected function may_send(): bool {
		return ! $this->already_sent() && 'complaint' === (string) $this->rma['kind'] && 'approved' === (string) $this->rma['status'];
	}

	/**
	 * The public timeline step.
	 */
	protected function public_step(): string {
		return __( 'E-mail accepting the complaint sent.', 'bpm-bridge' );
	}
}
