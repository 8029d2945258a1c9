<?php
/**
 * The return form: one renderer for My Account and the guest page, and the handler of its POST.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * POSTs are handled on template_redirect (before output, so a success can redirect); a failed one leaves its
 * errors and the customer's input in $state for the renderer of the same request.
 */
final class Form {

	/**
	 * How long a submission id maps to the return it made.
	 */
	const SUBMISSION_TTL = 10 * MINUTE_IN_SECONDS;

	/**
	 * This request's outcome: order_id, values, errors (field => message), token (guest), lookup error.
	 *
	 * @var array<string,mixed>
	 */
	private static $state = array();

	/**
	 * The state of this request (tests, the renderers).
	 *
	 * @return array<string,mixed>
	 */
	public static function state(): array {
		return self::$state;
	}

	/**
	 * Forgets this request's state (tests).
	 */
	public static function reset(): void {
		self::$state = array();
	}

	/**
	 * The nonce action of an order's form.
	 *
	 * @param int $order_id Order id.
	 */
	public static function nonce_action( int $order_id ): string {
		return 'bpm_bridge_return_' . $order_id;
	}

	/**
	 * Dispatches a POST of our forms (template_redirect).
	 */
	public static function maybe_handle(): void {
		if ( self::post_was_dropped() ) {
			// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only names the order whose form to show again.
			$order_id    = isset( $_GET['bpm_order'] ) ? absint( $_GET['bpm_order'] ) : 0;
			self::$state = array(
				'order_id' => $order_id,
				'errors'   => array(
					'form' => sprintf(
						/* translators: %s: size, e.g. "8 MB" */
						__( 'The form was too large to send (more than %s with its photos), so nothing was saved. Please choose fewer or smaller photos and send it again.', 'bpm-bridge' ),
						size_format( wp_convert_hr_to_bytes( (string) ini_get( 'post_max_size' ) ) )
					),
				),
			);
			return;
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- the action only picks the handler; each handler verifies its nonce.
		$action = isset( $_POST['bpm_bridge_return'] ) && is_scalar( $_POST['bpm_bridge_return'] ) ? sanitize_key( wp_unslash( (string) $_POST['bpm_bridge_return'] ) ) : '';
		if ( 'submit' === $action ) {
			$result = self::handle_submit( wp_unslash( $_POST ), $_FILES ); // phpcs:ignore WordPress.Security.NonceVerification.Missing,WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- verified and sanitised field by field in handle_submit().
			if ( is_array( $result ) ) {
				wp_safe_redirect( $result['redirect'] );
				exit;
			}
		} elseif ( 'lookup' === $action ) {
			self::handle_lookup( wp_unslash( $_POST ) ); // phpcs:ignore WordPress.Security.NonceVerification.Missing,WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- verified in handle_lookup().
		}
	}

	/**
	 * A POST field as text; '' for a missing field or one sent as an array (bpm_note[]=…), which is no answer.
	 *
	 * @param array  $post POST.
	 * @param string $key  Field.
	 */
	private static function text( array $post, string $key ): string {
		return isset( $post[ $key ] ) && is_scalar( $post[ $key ] ) ? (string) $post[ $key ] : '';
	}

	/**
	 * A POST field that is a list (bpm_qty[ID]), its scalar entries only.
	 *
	 * @param array  $post POST.
	 * @param string $key  Field.
	 * @return array<int|string, scalar>
	 */
	private static function scalars( array $post, string $key ): array {
		return isset( $post[ $key ] ) && is_array( $post[ $key ] ) ? array_filter( $post[ $key ], 'is_scalar' ) : array();
	}

	/**
	 * Whether the order was paid on delivery (the customer then gives a bank account for the refund).
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function is_cod( \WC_Order $order ): bool {
		/**
		 * Payment methods (gateway ids) whose orders were paid on delivery.
		 *
		 * @param string[] $gateways Gateway ids.
		 */
		return in_array( $order->get_payment_method(), (array) apply_filters( 'bpm_bridge_cod_gateways', array( 'cod' ) ), true );
	}

	/**
	 * Whether PHP dropped a POST of our form: a body larger than post_max_size leaves $_POST and $_FILES empty, so
	 * the form's own fields are gone; the form's address carries bpm_form=1 for exactly this.
	 */
	public static function post_was_dropped(): bool {
		$method = isset( $_SERVER['REQUEST_METHOD'] ) ? sanitize_key( wp_unslash( $_SERVER['REQUEST_METHOD'] ) ) : '';
		$length = isset( $_SERVER['CONTENT_LENGTH'] ) ? absint( $_SERVER['CONTENT_LENGTH'] ) : 0;
		// phpcs:ignore WordPress.Security.NonceVerification -- nothing is done with the request but an error message.
		return 'post' === $method && isset( $_GET['bpm_form'] ) && empty( $_POST ) && empty( $_FILES ) && $length > 0;
	}

	/**
	 * The guest look-up: nonce, rate limit, number + e-mail.
	 *
	 * @param array $post Unslashed POST.
	 */
	public static function handle_lookup( array $post ): void {
		$number = sanitize_text_field( self::text( $post, 'bpm_order_number' ) );
		$email  = sanitize_email( self::text( $post, 'bpm_email' ) );
		self::$state = array(
			'lookup' => array(
				'number' => $number,
				'email'  => $email,
			),
		);
		if ( ! wp_verify_nonce( self::text( $post, '_bpm_nonce' ), 'bpm_bridge_return_lookup' ) ) {
			self::$state['lookup_error'] = __( 'This form has expired. Please try again.', 'bpm-bridge' );
			return;
		}
		$order = Guest::find( $number, $email );
		if ( is_wp_error( $order ) ) {
			self::$state['lookup_error'] = $order->get_error_message();
			return;
		}
		self::$state['order_id'] = $order->get_id();
		self::$state['token']    = Guest::token( $order->get_id() );
	}

	/**
	 * Whether the visitor may return items of the order: its logged-in customer, or a guest with a valid token.
	 *
	 * @param \WC_Order $order Order.
	 * @param string    $token Guest token ('' for a logged-in customer).
	 */
	public static function may_return( \WC_Order $order, string $token ): bool {
		if ( '' !== $token ) {
			return Guest::order_from_token( $token ) === $order->get_id();
		}
		$user = get_current_user_id();
		return $user > 0 && (int) $order->get_customer_id() === $user;
	}

	/**
	 * Handles a submitted return.
	 *
	 * @param array $post     The unslashed POST.
	 * @param array $files    The $_FILES array.
	 * @param bool  $uploaded Files are this request's uploads (false only in tests).
	 * @return array{rma_id: int, redirect: string}|null Null on errors (see state()).
	 */
	public static function handle_submit( array $post, array $files = array(), bool $uploaded = true ) {
		$order_id = absint( self::text( $post, 'bpm_order_id' ) );
		$token    = sanitize_text_field( self::text( $post, 'bpm_token' ) );
		$values   = array(
			'qty'    => array_map( 'intval', self::scalars( $post, 'bpm_qty' ) ),
			'reason' => array_map( 'sanitize_text_field', array_map( 'strval', self::scalars( $post, 'bpm_reason' ) ) ),
			'note'   => substr( sanitize_textarea_field( self::text( $post, 'bpm_note' ) ), 0, 2000 ),
			'method' => sanitize_key( self::text( $post, 'bpm_method' ) ),
			'point'  => sanitize_text_field( self::text( $post, 'bpm_point' ) ),
			'iban'   => sanitize_text_field( self::text( $post, 'bpm_iban' ) ),
		);
		self::$state = array(
			'order_id' => $order_id,
			'token'    => $token,
			'values'   => $values,
			'errors'   => array(),
		);
		$order = $order_id ? wc_get_order( $order_id ) : null;
		if ( ! wp_verify_nonce( self::text( $post, '_bpm_nonce' ), self::nonce_action( $order_id ) ) ) {
			self::$state['errors']['form'] = __( 'This form has expired. Please try again.', 'bpm-bridge' );
			return null;
		}
		if ( '' !== $token && Guest::token_expired( $token ) ) {
			self::$state['token']          = '';
			self::$state['errors']['form'] = __( 'Your access to this order has expired (it lasts an hour). Please find your order again.', 'bpm-bridge' );
			return null;
		}
		if ( ! $order instanceof \WC_Order || $order instanceof \WC_Order_Refund || ! self::may_return( $order, $token ) ) {
			self::$state['errors']['form'] = __( 'You cannot return items of this order.', 'bpm-bridge' );
			return null;
		}
		$lines = array();
		foreach ( $values['qty'] as $item_id => $quantity ) {
			$lines[ (int) $item_id ] = array(
				'quantity' => $quantity,
				'reason'   => $values['reason'][ $item_id ] ?? '',
			);
		}
		$lock       = self::lock_name( $order_id );
		$submission = self::submission_key( $order_id, $post['bpm_submission'] ?? '' );
		if ( ! self::lock( $lock ) ) {
			self::$state['errors']['form'] = __( 'Another request for this order is being saved. Please try again.', 'bpm-bridge' );
			return null;
		}
		try {
			// The same form sent twice (a double click, a reload of the POST): the return it already made.
			$rma_id = '' === $submission ? 0 : (int) get_transient( $submission );
			if ( ! $rma_id ) {
				$rma_id = self::create( $order, $lines, $values, $files, $uploaded, '' === $token ? 'account' : 'guest' );
				if ( null !== $rma_id && '' !== $submission ) {
					set_transient( $submission, $rma_id, self::SUBMISSION_TTL );
				}
			}
		} finally {
			self::unlock( $lock );
		}
		if ( null === $rma_id ) {
			return null;
		}
		if ( '' === $token ) {
			$redirect = Account::rma_url( $rma_id );
		} else {
			$page     = wp_validate_redirect( esc_url_raw( self::text( $post, 'bpm_page' ) ), home_url( '/' ) );
			$redirect = self::guest_status_url( $rma_id, $page );
		}
		return array(
			'rma_id'   => $rma_id,
			'redirect' => add_query_arg( 'bpm_created', '1', $redirect ),
		);
	}

	/**
	 * Checks everything, stores photos, creates the return and auto-approves a withdrawal when the rules say so.
	 *
	 * @param \WC_Order $order    Order.
	 * @param array     $lines    Lines: order_item_id => {quantity, reason}.
	 * @param array     $values   Sanitised input.
	 * @param array     $files    The $_FILES array.
	 * @param bool      $uploaded See handle_submit().
	 * @param string    $via      Where: 'account' or 'guest'.
	 * @return int|null RMA id; null with errors in state.
	 */
	private static function create( \WC_Order $order, array $lines, array $values, array $files, bool $uploaded, string $via ): ?int {
		$check  = Eligibility::check( $order, $lines );
		$errors = $check['errors'];
		$method = in_array( $values['method'], Rma::METHODS, true ) ? $values['method'] : '';
		$point  = '';
		if ( '' === $method ) {
			$errors['method'] = __( 'Please choose how you will send the parcel.', 'bpm-bridge' );
		} elseif ( 'locker' === $method ) {
			$point = (string) Input::point( $values['point'] );
			if ( '' === $point ) {
				$errors['point'] = __( 'Enter the parcel locker code, e.g. WAW123M.', 'bpm-bridge' );
			}
		}
		$iban = '';
		if ( self::is_cod( $order ) ) {
			$iban = (string) Input::iban( $values['iban'] );
			if ( '' === $iban ) {
				$errors['iban'] = __( 'Enter a valid Polish bank account number (26 digits) for the refund.', 'bpm-bridge' );
			}
		}
		$photos = array();
		$upload = Photos::from_field( (array) ( $files['bpm_photos'] ?? array() ) );
		if ( ! $errors && 'complaint' === $check['kind'] && $upload ) {
			$photos = Photos::store( $upload, $uploaded );
			if ( is_wp_error( $photos ) ) {
				$errors['photos'] = $photos->get_error_message();
				$photos           = array();
			}
		}
		if ( $errors ) {
			self::$state['errors'] = $errors;
			return null;
		}
		$rma_id = Rma::create(
			$order->get_id(),
			$check['items'],
			array(
				'customer_note' => $values['note'],
				'kind'          => $check['kind'],
				'method'        => $method,
				'point'         => $point,
				'customer_id'   => (int) $order->get_customer_id(),
				'email'         => (string) $order->get_billing_email(),
				'iban'          => $iban,
				'photos'        => $photos,
				'actor'         => 'customer',
			)
		);
		if ( is_wp_error( $rma_id ) ) {
			Photos::delete( $photos );
			self::$state['errors']['form'] = $rma_id->get_error_message();
			return null;
		}
		if ( 'withdrawal' === $check['kind'] && Rules::get( 'auto_approve_withdrawals' ) ) {
			Rma::set_status( $rma_id, 'requested', 'approved', '', 'system' );
		}
		/**
		 * Fires after a customer submitted a return through the form.
		 *
		 * @param int    $rma_id RMA id.
		 * @param string $via    'account' or 'guest'.
		 */
		do_action( 'bpm_bridge_rma_submitted', $rma_id, $via );
		return $rma_id;
	}

	/**
	 * The guest's status page of a return: the page with the form, signed.
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $page   The page URL.
	 */
	public static function guest_status_url( int $rma_id, string $page ): string {
		return add_query_arg(
			array(
				'bpm_rma' => $rma_id,
				'bpm_sig' => Guest::signature( $rma_id ),
			),
			$page
		);
	}

	/**
	 * The name of an order's form lock: MySQL's GET_LOCK names are server-wide, so the site's table prefix keeps
	 * two shops on one database server (or two sites of a network) apart; at most 64 characters.
	 *
	 * @param int $order_id Order id.
	 */
	public static function lock_name( int $order_id ): string {
		global $wpdb;
		$name = $wpdb->prefix . 'bpm_bridge_rma_order_' . $order_id;
		return strlen( $name ) > 64 ? 'bpm_bridge_rma_' . md5( $name ) : $name;
	}

	/**
	 * The transient remembering which return a form submission made, or '' for a missing or malformed id.
	 *
	 * @param int   $order_id   Order id.
	 * @param mixed $submission The form's random submission id (a UUID).
	 */
	private static function submission_key( int $order_id, $submission ): string {
		$submission = is_scalar( $submission ) ? strtolower( (string) $submission ) : '';
		if ( ! preg_match( '/^[a-f0-9-]{32,36}$/', $submission ) ) {
			return '';
		}
		return 'bpm_bridge_rma_sub_' . md5( $order_id . '|' . $submission );
	}

	/**
	 * A database lock: two submits of one order cannot both pass the quantity check.
	 *
	 * @param string $name Lock name.
	 */
	private static function lock( string $name ): bool {
		global $wpdb;
		return '1' === (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 5)', $name ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
	}

	/**
	 * Releases lock().
	 *
	 * @param string $name Lock name.
	 */
	private static function unlock( string $name ): void {
		global $wpdb;
		$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $name ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
	}

	/**
	 * The form for an order (or why nothing can be returned).
	 *
	 * @param \WC_Order $order Order.
	 * @param string    $token Guest token ('' in My Account).
	 * @param string    $page  URL the form posts to.
	 */
	public static function render( \WC_Order $order, string $token, string $page ): string {
		$state       = ( self::$state['order_id'] ?? 0 ) === $order->get_id() ? self::$state : array();
		$eligibility = Eligibility::for_order( $order );
		return Templates::render(
			'form',
			array(
				'order'        => $order,
				'eligibility'  => $eligibility,
				'reasons'      => Eligibility::reasons( $eligibility ),
				'complaints'   => array_values( array_filter( Eligibility::reasons( $eligibility ), array( Rules::class, 'is_complaint_reason' ) ) ),
				'values'       => $state['values'] ?? array(),
				'errors'       => $state['errors'] ?? array(),
				'token'        => $token,
				'page'         => $page,
				'nonce'        => wp_create_nonce( self::nonce_action( $order->get_id() ) ),
				'submission'   => wp_generate_uuid4(),
				'is_cod'       => self::is_cod( $order ),
				'max_photo'    => size_format( Photos::max_bytes() ),
				'max_bytes'    => Photos::max_bytes(),
				'max_photos'   => Photos::MAX_FILES,
			)
		);
	}
}
