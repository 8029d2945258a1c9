<?php
/**
 * E-mail: Return request (complaints team).
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Emails;

defined( 'ABSPATH' ) || exit;

/**
 * Sent to the complaints team when a customer requests a return.
 */
class Email_New_Request extends Email_Rma {

	/**
	 * Sets the e-mail up.
	 */
	public function __construct() {
		$this->id             = 'bpm_bridge_rma_new';
		$this->customer_email = false;
		$this->title          = __( 'Return request (complaints team)', 'bpm-bridge' );
		$this->description    = __( 'Sent to the complaints team when a customer requests a return.', 'bpm-bridge' );
		$this->template_html  = 'emails/rma-new-request.php';
		$this->template_plain = 'emails/plain/rma-new-request.php';
		parent::__construct();
	}

	/**
	 * Default subject.
	 */
	public function get_default_subject() {
		return __( '[{site_title}]: New return request {rma_number} for order #{order_number}', 'bpm-bridge' );
	}

	/**
	 * Default heading.
	 */
	public function get_default_heading() {
		return __( 'New return request {rma_number}', 'bpm-bridge' );
	}

	/**
	 * The team e-mail's settings: the usual ones plus the recipient.
	 */
	public function init_form_fields() {
		parent::init_form_fields();
		$this->form_fields = array_merge(
			array(
				'recipient' => array(
					'title'       => __( 'Recipient(s)', 'bpm-bridge' ),
					'type'        => 'text',
					'description' => __( 'Leave empty to send to the complaints team e-mail of the Returns settings (or, without one, to the site administrator).', 'bpm-bridge' ),
					'placeholder' => '',
					'default'     => '',
					'desc_tip'    => true,
				),
			),
			$this->form_fields
		);
	}
}
