<?php
/**
 * E-mail: Return approved (with label).
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Emails;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Sent to the customer when their return is approved and its label or return slip is ready; the label PDF is attached.
 */
class Email_Request_Approved extends Email_Rma {

	/**
	 * Sets the e-mail up.
	 */
	public function __construct() {
		$this->id             = 'bpm_bridge_rma_approved';
		$this->customer_email = true;
		$this->title          = __( 'Return approved (with label)', 'bpm-bridge' );
		$this->description    = __( 'Sent to the customer when their return is approved and its label or return slip is ready; the label PDF is attached.', 'bpm-bridge' );
		$this->template_html  = 'emails/rma-request-approved.php';
		$this->template_plain = 'emails/plain/rma-request-approved.php';
		parent::__construct();
	}

	/**
	 * Default subject.
	 */
	public function get_default_subject() {
		return __( 'Your return {rma_number} is approved: your label is ready', 'bpm-bridge' );
	}

	/**
	 * Default heading.
	 */
	public function get_default_heading() {
		return __( 'Return {rma_number} approved', 'bpm-bridge' );
	}

	/**
	 * Once per return, with a label, and only while the return is on its way back (a label stored after the
	 * return was rejected or settled tells the customer nothing true).
	 */
	protected function may_send(): bool {
		return ! $this->already_sent() && ! empty( $this->rma['label'] ) && in_array( (string) $this->rma['status'], array( 'approved', 'label_ready', 'arrived' ), true );
	}

	/**
	 * The public timeline step.
	 */
	protected function public_step(): string {
		return __( 'E-mail with the return label sent.', 'bpm-bridge' );
	}

	/**
	 * The label PDF, when the return has one (the customer can also download it in My Account).
	 *
	 * @return string[]
	 */
	protected function attachments(): array {
		$pdf = empty( $this->rma['has_label_pdf'] ) ? '' : Rma::label_pdf( (int) $this->rma['id'] );
		if ( '' === $pdf ) {
			return array();
		}
		$file = trailingslashit( get_temp_dir() ) . $this->rma['number'] . '-label-' . wp_generate_password( 12, false ) . '.pdf';
		// The label carries the customer's name and address: readable by this user only, deleted after sending.
		// phpcs:disable WordPress.WP.AlternativeFunctions -- a private temporary attachment.
		$handle = fopen( $file, 'xb' );
		if ( false === $handle ) {
			return array();
		}
		chmod( $file, 0600 );
		$written = fwrite( $handle, $pdf );
		fclose( $handle );
		// phpcs:enable WordPress.WP.AlternativeFunctions
		if ( strlen( $pdf ) !== $written ) {
			wp_delete_file( $file );
			return array();
		}
		return array( $file );
	}
}
