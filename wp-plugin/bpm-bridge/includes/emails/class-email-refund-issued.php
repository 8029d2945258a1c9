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
	 * The public timeline step.
	 */
	protected function public_step(): string {
		return __( 'E-mail about the refund sent.', 'bpm-bridge' );
	}

	/**
	 * The template's values plus the refund: its amount with currency (plain text), whether the payment method
	 * sent the money (else the shop transfers it) and the last four digits of the customer's bank account.
	 *
	 * @param bool $plain Plain text.
	 * @return array<string, mixed>
	 */
	protected function template_args( bool $plain ): array {
		$args   = parent::template_args( $plain );
		$refund = empty( $this->rma['refund_id'] ) ? null : wc_get_order( (int) $this->rma['refund_id'] );
		$args['refund_amount'] = $refund instanceof \WC_Order_Refund && $this->object instanceof \WC_Order
			? html_entity_decode( wp_strip_all_tags( wc_price( $refund->get_amount(), array( 'currency' => $this->object->get_currency() ) ) ), ENT_QUOTES, 'UTF-8' )
			: '';
		$args['refund_money']  = $refund instanceof \WC_Order_Refund && $refund->get_refunded_payment();
		$args['iban_tail']     = \BPM_Bridge\Returns\Refund::iban_tail( (int) $this->rma['id'] );
		return $args;
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
