<?php
/**
 * The common part of the return e-mails.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Emails;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * A WooCommerce e-mail about one return: loads the return and its order, sends to the customer (the return's
 * e-mail, which guests gave, else the order's billing e-mail) or to the team, and logs the e-mail on the
 * return's timeline. Loaded only inside `woocommerce_email_classes` (WC_Email exists from then on).
 */
abstract class Email_Rma extends \WC_Email {

	/**
	 * The return being sent about.
	 *
	 * @var array<string, mixed>|null
	 */
	protected $rma = null;

	/**
	 * Sets what every return e-mail shares; subclasses set id, title, description, templates and customer_email
	 * before calling this.
	 */
	public function __construct() {
		$this->template_base = dirname( __DIR__, 2 ) . '/templates/';
		$this->placeholders  = array_merge(
			(array) $this->placeholders,
			array(
				'{rma_number}'   => '',
				'{order_number}' => '',
			)
		);
		parent::__construct();
		add_action( 'bpm_bridge_email_' . $this->id, array( $this, 'trigger' ), 10, 1 );
	}

	/**
	 * Sends the e-mail about a return.
	 *
	 * @param int $rma_id RMA id.
	 */
	public function trigger( $rma_id ): void {
		$this->setup_locale();
		$this->rma = Rma::get( (int) $rma_id, true );
		$order     = $this->rma ? wc_get_order( (int) $this->rma['order_id'] ) : null;
		if ( $this->rma && $order instanceof \WC_Order ) {
			$this->object                         = $order;
			$this->placeholders['{rma_number}']   = $this->rma['number'];
			$this->placeholders['{order_number}'] = $order->get_order_number();
			$this->placeholders['{order_date}']   = wc_format_datetime( $order->get_date_created() );
			if ( $this->customer_email ) {
				$this->recipient = '' !== (string) $this->rma['email'] ? (string) $this->rma['email'] : (string) $order->get_billing_email();
			} else {
				$this->recipient = $this->team_recipient();
			}
			if ( $this->is_enabled() && $this->get_recipient() && $this->may_send() ) {
				$attachments = $this->attachments();
				$sent        = $this->send( $this->get_recipient(), $this->get_subject(), $this->get_content(), $this->get_headers(), array_merge( (array) $this->get_attachments(), $attachments ) );
				foreach ( $attachments as $file ) {
					wp_delete_file( $file );
				}
				if ( $sent ) {
					$this->log_sent();
				}
			}
		}
		$this->restore_locale();
	}

	/**
	 * The team's address: this e-mail's own recipient setting, else the complaints team e-mail of the Returns
	 * settings, else the site administrator.
	 */
	protected function team_recipient(): string {
		$own = trim( (string) $this->get_option( 'recipient', '' ) );
		if ( '' !== $own ) {
			return $own;
		}
		$team = (string) \BPM_Bridge\Returns\Rules::get( 'complaints_email' );
		return is_email( $team ) ? $team : (string) get_option( 'admin_email' );
	}

	/**
	 * Whether this e-mail should go out now (subclasses: once only, ...).
	 */
	protected function may_send(): bool {
		return true;
	}

	/**
	 * Extra files to attach (deleted after sending).
	 *
	 * @return string[]
	 */
	protected function attachments(): array {
		return array();
	}

	/**
	 * The timeline step "E-mail sent": public for the customer's e-mails, staff-only for the team's.
	 */
	protected function log_sent(): void {
		Rma::log(
			(int) $this->rma['id'],
			'email_' . $this->short_id(),
			sprintf(
				/* translators: 1: e-mail subject, 2: e-mail address. */
				__( 'E-mail "%1$s" sent to %2$s.', 'bpm-bridge' ),
				$this->get_subject(),
				$this->get_recipient()
			),
			'system',
			$this->customer_email
		);
	}

	/**
	 * The id without the "bpm_bridge_rma_" prefix (the timeline event is "email_<short id>").
	 */
	protected function short_id(): string {
		return (string) preg_replace( '/^bpm_bridge_rma_/', '', $this->id );
	}

	/**
	 * Whether this e-mail was already sent for the return.
	 */
	protected function already_sent(): bool {
		foreach ( (array) ( $this->rma['timeline'] ?? array() ) as $step ) {
			if ( 'email_' . $this->short_id() === $step['event'] ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * The template's values.
	 *
	 * @param bool $plain Plain text.
	 * @return array<string, mixed>
	 */
	protected function template_args( bool $plain ): array {
		return array(
			'order'              => $this->object,
			'rma'                => $this->rma,
			'items'              => $this->items(),
			'email_heading'      => $this->get_heading(),
			'additional_content' => $this->get_additional_content(),
			'sent_to_admin'      => ! $this->customer_email,
			'plain_text'         => $plain,
			'email'              => $this,
			'account_url'        => function_exists( 'wc_get_account_endpoint_url' ) ? wc_get_account_endpoint_url( 'returns' ) : '',
		);
	}

	/**
	 * The returned items with their names.
	 *
	 * @return array<int, array{name: string, quantity: int, reason: string}>
	 */
	protected function items(): array {
		$items = array();
		foreach ( (array) ( $this->rma['items'] ?? array() ) as $item ) {
			$line    = $this->object instanceof \WC_Order ? $this->object->get_item( (int) ( $item['order_item_id'] ?? 0 ) ) : null;
			$items[] = array(
				'name'     => $line ? (string) $line->get_name() : '#' . (int) ( $item['product_id'] ?? 0 ),
				'quantity' => (int) ( $item['quantity'] ?? 0 ),
				'reason'   => (string) ( $item['reason'] ?? '' ),
			);
		}
		return $items;
	}

	/**
	 * HTML body.
	 */
	public function get_content_html() {
		return wc_get_template_html( $this->template_html, $this->template_args( false ), '', $this->template_base );
	}

	/**
	 * Plain-text body.
	 */
	public function get_content_plain() {
		return wc_get_template_html( $this->template_plain, $this->template_args( true ), '', $this->template_base );
	}
}
