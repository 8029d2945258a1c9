<?php
/**
 * The return e-mails: WooCommerce e-mail classes, so the shop edits them under WooCommerce → Settings → Emails.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Adds the e-mail classes and turns the return hooks into their "…_notification" actions.
 *
 * WC_Email exists only once WooCommerce builds its mailer, so the classes (includes/emails/) are loaded inside
 * `woocommerce_email_classes`; each hook first asks WooCommerce for its mailer, which builds them.
 */
final class Emails {

	/**
	 * E-mail id => class. Each sends on its own "bpm_bridge_email_{id}" action.
	 */
	const CLASSES = array(
		'bpm_bridge_rma_new'      => \BPM_Bridge\Emails\Email_New_Request::class,
		'bpm_bridge_rma_received' => \BPM_Bridge\Emails\Email_Request_Received::class,
		'bpm_bridge_rma_accepted' => \BPM_Bridge\Emails\Email_Complaint_Accepted::class,
		'bpm_bridge_rma_approved' => \BPM_Bridge\Emails\Email_Request_Approved::class,
		'bpm_bridge_rma_rejected' => \BPM_Bridge\Emails\Email_Request_Rejected::class,
		'bpm_bridge_rma_refunded' => \BPM_Bridge\Emails\Email_Refund_Issued::class,
	);

	/**
	 * Hooks in.
	 */
	public static function register(): void {
		add_filter( 'woocommerce_email_classes', array( self::class, 'add_classes' ) );
		add_action( 'bpm_bridge_rma_created', array( self::class, 'on_created' ), 30 );
		add_action( 'bpm_bridge_rma_status_changed', array( self::class, 'on_status_changed' ), 30, 4 );
		add_action( 'bpm_bridge_rma_label_attached', array( self::class, 'on_label_attached' ), 30 );
	}

	/**
	 * Adds the e-mail classes to WooCommerce's.
	 *
	 * @param array<string, object> $emails Class name => e-mail.
	 * @return array<string, object>
	 */
	public static function add_classes( $emails ) {
		$emails = is_array( $emails ) ? $emails : array();
		if ( ! class_exists( '\WC_Email' ) ) {
			return $emails;
		}
		foreach ( self::CLASSES as $class ) {
			$key = 'BPM_Bridge_' . substr( (string) strrchr( $class, '\\' ), 1 );
			if ( ! isset( $emails[ $key ] ) ) {
				$emails[ $key ] = new $class();
			}
		}
		return $emails;
	}

	/**
	 * A new request: the customer's confirmation and the complaints team's notice.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function on_created( $rma_id ): void {
		self::send( 'bpm_bridge_rma_received', (int) $rma_id );
		self::send( 'bpm_bridge_rma_new', (int) $rma_id );
	}

	/**
	 * A status step the customer hears about: rejected (with the reason) and refunded. An approved complaint is
	 * accepted at once (that is the shop's legal answer); the label follows with the approval e-mail
	 * (on_label_attached), or at once when the return already has one.
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $from   Previous status.
	 * @param string $to     New status.
	 * @param string $note   Note.
	 */
	public static function on_status_changed( $rma_id, $from, $to, $note = '' ): void {
		$map = array(
			'rejected' => 'bpm_bridge_rma_rejected',
			'refunded' => 'bpm_bridge_rma_refunded',
		);
		if ( isset( $map[ $to ] ) ) {
			self::send( $map[ $to ], (int) $rma_id );
		}
		if ( 'approved' === $to ) {
			$rma = Rma::get( (int) $rma_id );
			if ( $rma && 'complaint' === $rma['kind'] ) {
				self::send( 'bpm_bridge_rma_accepted', (int) $rma_id );
			}
			if ( $rma && ! empty( $rma['label'] ) ) {
				self::send( 'bpm_bridge_rma_approved', (int) $rma_id );
			}
		}
	}

	/**
	 * The label arrived: the approval e-mail with the label.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function on_label_attached( $rma_id ): void {
		self::send( 'bpm_bridge_rma_approved', (int) $rma_id );
	}

	/**
	 * Builds WooCommerce's mailer (and with it the e-mail classes), then fires the e-mail's action.
	 *
	 * @param string $id     E-mail id.
	 * @param int    $rma_id RMA id.
	 */
	public static function send( string $id, int $rma_id ): void {
		if ( ! function_exists( 'WC' ) ) {
			return;
		}
		WC()->mailer();
		/**
		 * Sends one return e-mail (the e-mail class listens).
		 *
		 * @param int $rma_id RMA id.
		 */
		do_action( 'bpm_bridge_email_' . $id, $rma_id );
	}
}
