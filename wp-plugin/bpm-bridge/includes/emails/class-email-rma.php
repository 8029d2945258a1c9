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
				'{order_date}'   => '',
			)
		);
		parent::__construct();
		if ( ! $this->customer_email ) {
			// WooCommerce's e-mail settings show the recipient of a team e-mail: known from the start.
			$this->recipient = $this->team_recipient();
		}
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
	 * The timeline step "E-mail sent": for the customer's e-mails a public step without the address (the
	 * timeline is shown on guest links too) plus a staff-only one with it; the team's e-mail staff-only.
	 */
	protected function log_sent(): void {
		$rma_id = (int) $this->rma['id'];
		if ( $this->customer_email ) {
			Rma::log( $rma_id, 'email_' . $this->short_id(), $this->public_step(), 'system', true );
		}
		Rma::log(
			$rma_id,
			$this->customer_email ? 'email_sent_to' : 'email_' . $this->short_id(),
			sprintf(
				/* translators: 1: e-mail subject, 2: e-mail address. */
				__( 'E-mail "%1$s" sent to %2$s.', 'bpm-bridge' ),
				$this->get_subject(),
				$this->get_recipient()
			),
			'system',
			false
		);
	}

	/**
	 * The customer's public timeline step for this e-mail.
	 */
	protected function public_step(): string {
		return __( 'Confirmation e-mail sent.', 'bpm-bridge' );
	}

	/**
	 * Where the customer sees the return: My Account, or for a guest the signed status page (the page with the
	 * return form; '' when the shop has none).
	 */
	protected function status_url(): string {
		$order = $this->object instanceof \WC_Order ? $this->object : null;
		$guest = 0 === (int) ( $this->rma['customer_id'] ?? 0 ) && ( null === $order || 0 === (int) $order->get_customer_id() );
		if ( ! $guest ) {
			return function_exists( 'wc_get_account_endpoint_url' ) ? wc_get_account_endpoint_url( 'returns' ) : '';
		}
		$page = self::guest_page();
		return '' === $page ? '' : \BPM_Bridge\Returns\Form::guest_status_url( (int) $this->rma['id'], $page );
	}

	/**
	 * The first published page holding the return form (shortcode or block), cached for an hour.
	 */
	public static function guest_page(): string {
		$cached = get_transient( 'bpm_bridge_rma_guest_page' );
		if ( is_string( $cached ) ) {
			return $cached;
		}
		global $wpdb;
		$id  = (int) $wpdb->get_var( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->prepare(
				"SELECT ID FROM {$wpdb->posts} WHERE post_type = 'page' AND post_status = 'publish' AND ( post_content LIKE %s OR post_content LIKE %s ) ORDER BY ID ASC LIMIT 1",
				'%' . $wpdb->esc_like( '[' . \BPM_Bridge\Returns\Customer::SHORTCODE ) . '%',
				'%' . $wpdb->esc_like( '<!-- wp:bpm-bridge/return-form' ) . '%'
			)
		);
		$url = $id > 0 ? (string) get_permalink( $id ) : '';
		set_transient( 'bpm_bridge_rma_guest_page', $url, HOUR_IN_SECONDS );
		return $url;
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
			'account_url'        => $this->customer_email ? $this->status_url() : '',
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
	 * Plain-text body. The templates escape like WooCommerce's own; a plain-text mail is no HTML, so entities
	 * (an apostrophe, "&amp;", wc_price()'s "&nbsp;" and "&#122;&#322;") are turned back into characters.
	 */
	public function get_content_plain() {
		return html_entity_decode( wc_get_template_html( $this->template_plain, $this->template_args( true ), '', $this->template_base ), ENT_QUOTES, 'UTF-8' );
	}
}
