<?php
/**
 * The returns (RMA) section of the settings schema.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings\Sections;

use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * Returns: the rules of the return process and the shop's return address (config.rma on the sidecar).
 */
final class Rma {

	/**
	 * The reasons a customer picks from when no list was saved yet, in the site's language (once saved, they
	 * are the admin's words).
	 *
	 * @return string[]
	 */
	public static function default_reasons(): array {
		return array(
			__( 'Withdrawal within 14 days (odstąpienie od umowy)', 'bpm-bridge' ),
			__( 'Damaged in transit', 'bpm-bridge' ),
			__( 'Wrong item', 'bpm-bridge' ),
			__( 'Defect (reklamacja)', 'bpm-bridge' ),
		);
	}

	/**
	 * The default reasons that make a return a complaint (2-year window, photos, 14 days to answer): the same
	 * translated strings as in default_reasons().
	 *
	 * @return string[]
	 */
	public static function default_complaint_reasons(): array {
		return array(
			__( 'Defect (reklamacja)', 'bpm-bridge' ),
			__( 'Damaged in transit', 'bpm-bridge' ),
		);
	}

	/**
	 * Hooks in: the complaint reasons are checked against the return reasons whenever the section is saved.
	 */
	public static function register(): void {
		add_filter( 'pre_update_option_' . Schema::OPTIONS['rma'], array( self::class, 'check_complaint_reasons' ) );
	}

	/**
	 * Keeps only complaint reasons that are return reasons (a line that is not offered to customers can never
	 * make a complaint, and a typo would silently turn complaints into withdrawals), and tells the admin which
	 * lines were left out.
	 *
	 * @param mixed $values The section's values about to be stored.
	 * @return mixed
	 */
	public static function check_complaint_reasons( $values ) {
		if ( ! is_array( $values ) ) {
			return $values;
		}
		$reasons   = isset( $values['reasons'] ) && is_array( $values['reasons'] ) ? $values['reasons'] : self::default_reasons();
		$complaint = isset( $values['complaint_reasons'] ) && is_array( $values['complaint_reasons'] ) ? $values['complaint_reasons'] : self::default_complaint_reasons();
		$unknown   = array_values( array_diff( $complaint, $reasons ) );
		if ( array() === $unknown ) {
			return $values;
		}
		$values['complaint_reasons'] = array_values( array_intersect( $complaint, $reasons ) );
		$message                     = sprintf(
			/* translators: %s: the refused lines, quoted. */
			__( 'Reasons that make a complaint: %s is not one of the return reasons, so it was not saved. Copy the line exactly as it is in Return reasons.', 'bpm-bridge' ),
			'"' . implode( '", "', $unknown ) . '"'
		);
		self::$last_error = $message;
		if ( class_exists( \BPM_Bridge\Admin\Notices::class ) && is_admin() ) {
			\BPM_Bridge\Admin\Notices::add( 'error', $message );
		}
		return $values;
	}

	/**
	 * The last complaint-reasons error (tests and callers without an admin screen).
	 *
	 * @var string
	 */
	public static $last_error = '';

	/**
	 * The order status a return request sets when the admin chose it (registered by Returns\Order_Status).
	 */
	const RETURN_REQUESTED = 'return-requested';

	/**
	 * The section (Schema's section format).
	 *
	 * @return array<string, mixed>
	 */
	public static function section(): array {
		return array(
			'option' => Schema::OPTIONS['rma'],
			'screen' => 'returns',
			'fields' => array(
				'enabled'                  => array(
					'type'     => 'bool',
					'default'  => false,
					'label'    => __( 'Returns', 'bpm-bridge' ),
					'checkbox' => __( 'Let customers request returns in My Account and on the guest return page', 'bpm-bridge' ),
				),
				'auto_approve_withdrawals' => array(
					'type'     => 'bool',
					'default'  => false,
					'label'    => __( 'Automatic approval', 'bpm-bridge' ),
					'checkbox' => __( 'Approve withdrawals inside the withdrawal period at once (the label is made straight away); complaints always wait for you', 'bpm-bridge' ),
				),
				'withdrawal_days'          => array(
					'type'    => 'int',
					'default' => 14,
					'min'     => 14,
					'max'     => 365,
					'label'   => __( 'Withdrawal period (days)', 'bpm-bridge' ),
					'help'    => __( 'How long after delivery a customer may send items back without giving a reason. The law requires at least 14 days; counted from the day the order was completed when no delivery date is known.', 'bpm-bridge' ),
				),
				'complaint_days'           => array(
					'type'    => 'int',
					'default' => 730,
					'min'     => 730,
					'max'     => 3650,
					'label'   => __( 'Complaint period (days)', 'bpm-bridge' ),
					'help'    => __( 'How long after delivery a customer may file a complaint about a defect. The law (art. 43c u.p.k.) gives consumers at least 2 years = 730 days, so less cannot be saved; you may offer more.', 'bpm-bridge' ),
				),
				'reasons'                  => array(
					'type'      => 'lines',
					'default'   => self::default_reasons(),
					'max'       => 120,
					'min_items' => 1,
					'max_items' => 20,
					'label'     => __( 'Return reasons', 'bpm-bridge' ),
					'help'      => __( 'The reasons a customer chooses from for each item, one per line, in the words your customers should see.', 'bpm-bridge' ),
				),
				'complaint_reasons'        => array(
					'type'      => 'lines',
					'default'   => self::default_complaint_reasons(),
					'max'       => 120,
					'max_items' => 20,
					'label'     => __( 'Reasons that make a complaint', 'bpm-bridge' ),
					'help'      => __( 'Copy here, one per line, the return reasons above that mean a complaint (reklamacja). A return with any of them is a complaint: it may be filed for the whole complaint period, with photos, and you must answer it within 14 days. Every other return is a withdrawal.', 'bpm-bridge' ),
				),
				'complaints_email'         => array(
					'type'        => 'email',
					'default'     => '',
					'label'       => __( 'Complaints team e-mail', 'bpm-bridge' ),
					'help'        => __( 'Every new return request is e-mailed here. Leave empty to use the site administrator\'s address.', 'bpm-bridge' ),
					'placeholder' => 'reklamacje@example.com',
				),
				'order_status'             => array(
					'type'    => 'enum',
					'default' => '',
					'choices' => array(
						''                     => __( 'Leave the order status as it is', 'bpm-bridge' ),
						self::RETURN_REQUESTED => __( 'Set the order to "Return requested"', 'bpm-bridge' ),
					),
					'label'   => __( 'Order status on a return request', 'bpm-bridge' ),
					'help'    => __( 'What happens to the order when a customer requests a return. "Return requested" is an order status BPM Bridge adds; it issues no document and sends no order e-mail.', 'bpm-bridge' ),
				),
				'max_photo_mb'             => array(
					'type'    => 'int',
					'default' => 5,
					'min'     => 1,
					'max'     => 20,
					'label'   => __( 'Largest photo (MB)', 'bpm-bridge' ),
					'help'    => __( 'Customers may add photos (JPEG, PNG or WebP) to a complaint; larger files are refused.', 'bpm-bridge' ),
				),
				'return_name'              => self::address( __( 'Return address: company name', 'bpm-bridge' ), 100, __( 'Printed on return labels and slips as the receiver. Fill in the whole return address: carriers refuse a label without it.', 'bpm-bridge' ) ),
				'return_street'            => self::address( __( 'Return address: street', 'bpm-bridge' ), 100 ),
				'return_building'          => self::address( __( 'Return address: building and flat number', 'bpm-bridge' ), 20 ),
				'return_postcode'          => self::address( __( 'Return address: postcode', 'bpm-bridge' ), 10, '', '00-001' ),
				'return_city'              => self::address( __( 'Return address: city', 'bpm-bridge' ), 60 ),
				'return_phone'             => self::address( __( 'Return address: phone', 'bpm-bridge' ), 20, __( 'The carrier texts or calls this number about the parcel (InPost needs a mobile number).', 'bpm-bridge' ), '500100200' ),
				'return_email'             => array(
					'type'    => 'email',
					'default' => '',
					'label'   => __( 'Return address: e-mail', 'bpm-bridge' ),
					'help'    => __( 'The carrier sends parcel notices for returns to this address.', 'bpm-bridge' ),
				),
				'return_locker'            => self::address( __( 'Your InPost parcel locker', 'bpm-bridge' ), 20, __( 'The code of the parcel locker where returns sent by locker are delivered to you, e.g. KRA01M. Leave empty to have locker returns delivered by courier to the return address.', 'bpm-bridge' ), 'KRA01M' ),
			),
		);
	}

	/**
	 * One text field of the return address.
	 *
	 * @param string $label       Label.
	 * @param int    $max         Longest value.
	 * @param string $help        Help text.
	 * @param string $placeholder Placeholder.
	 * @return array<string, mixed>
	 */
	private static function address( string $label, int $max, string $help = '', string $placeholder = '' ): array {
		$field = array(
			'type'    => 'text',
			'default' => '',
			'max'     => $max,
			'label'   => $label,
		);
		if ( '' !== $help ) {
			$field['help'] = $help;
		}
		if ( '' !== $placeholder ) {
			$field['placeholder'] = $placeholder;
		}
		return $field;
	}
}
