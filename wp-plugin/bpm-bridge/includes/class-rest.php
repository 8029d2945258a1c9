<?php
/**
 * The bpm-bridge/v1 REST routes (docs/contract.md §3): the sidecar's only way to write to the store.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Narrow, signed, capability-checked routes. Orders are touched only through WooCommerce CRUD
 * (wc_get_order(), ->save()), so HPOS on or off behaves the same.
 */
final class Rest {

	const NAMESPACE = 'bpm-bridge/v1';

	/**
	 * Order meta the sidecar may write; anything else is refused.
	 */
	const META_KEYS = array(
		'_bpm_invoice_id',
		'_bpm_invoice_number',
		'_bpm_invoice_url',
		'_bpm_invoice_provider',
		'_bpm_invoice_kind',
		'_bpm_ksef_status',
		'_bpm_ksef_number',
		'_bpm_corrections',
		'_bpm_crm_id',
		'_bpm_crm_synced_at',
		'_bpm_rma_state',
		'_bpm_last_error',
	);

	const MAX_META_VALUE = 4000;
	const MAX_NOTE       = 2000;
	const MAX_PDF_BYTES  = 5242880;
	const REPLAY_WINDOW  = 600;

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_action( 'rest_api_init', array( self::class, 'register_routes' ) );
	}

	/**
	 * Allowed order status transitions, filterable (`bpm_bridge_allowed_transitions`).
	 * completed → refunded is deliberately absent: refunds are made by people.
	 *
	 * @return array<string,string[]> from => list of to.
	 */
	public static function allowed_transitions(): array {
		return Contract::order_transitions();
	}

	/**
	 * Route table.
	 */
	public static function register_routes(): void {
		$permission = array( self::class, 'permission' );
		$order_id   = array(
			'order_id' => array(
				'type'     => 'integer',
				'minimum'  => 1,
				'required' => true,
			),
		);
		$rma_id     = array(
			'rma_id' => array(
				'type'     => 'integer',
				'minimum'  => 1,
				'required' => true,
			),
		);
		$status_arg = array(
			'type'              => 'string',
			'required'          => true,
			'pattern'           => '^(wc-)?[a-z0-9_-]{1,40}$',
			// A custom sanitizer replaces WordPress' default, which also validated: validate explicitly.
			'validate_callback' => 'rest_validate_request_arg',
			'sanitize_callback' => array( self::class, 'sanitize_status' ),
		);
		$note_arg   = array(
			'type'              => 'string',
			'default'           => '',
			'maxLength'         => self::MAX_NOTE,
			'validate_callback' => 'rest_validate_request_arg',
			'sanitize_callback' => 'sanitize_textarea_field',
		);

		register_rest_route(
			self::NAMESPACE,
			'/config',
			array(
				'methods'             => \WP_REST_Server::READABLE,
				'callback'            => array( self::class, 'get_config' ),
				'permission_callback' => $permission,
			)
		);
		register_rest_route(
			self::NAMESPACE,
			'/orders/(?P<order_id>\d+)/notes',
			array(
				'methods'             => \WP_REST_Server::CREATABLE,
				'callback'            => array( self::class, 'add_note' ),
				'permission_callback' => $permission,
				'args'                => $order_id + array(
					'note'          => array(
						'type'              => 'string',
						'required'          => true,
						'minLength'         => 1,
						'maxLength'         => self::MAX_NOTE,
						'validate_callback' => 'rest_validate_request_arg',
						'sanitize_callback' => 'sanitize_textarea_field',
					),
					'customer_note' => array(
						'type'    => 'boolean',
						'default' => false,
					),
				),
			)
		);
		register_rest_route(
			self::NAMESPACE,
			'/orders/(?P<order_id>\d+)/meta',
			array(
				array(
					'methods'             => \WP_REST_Server::READABLE,
					'callback'            => array( self::class, 'get_meta' ),
					'permission_callback' => $permission,
					'args'                => $order_id,
				),
				array(
					'methods'             => \WP_REST_Server::CREATABLE,
					'callback'            => array( self::class, 'set_meta' ),
					'permission_callback' => $permission,
					'args'                => $order_id + array(
						'meta'   => array(
							'type'                 => 'object',
							'required'             => true,
							'additionalProperties' => array(
								'type'      => 'string',
								'maxLength' => self::MAX_META_VALUE,
							),
						),
						'expect' => array(
							'type'                 => 'object',
							'default'              => array(),
							'additionalProperties' => array(
								'type'      => 'string',
								'maxLength' => self::MAX_META_VALUE,
							),
						),
					),
				),
			)
		);
		register_rest_route(
			self::NAMESPACE,
			'/orders/(?P<order_id>\d+)/status',
			array(
				'methods'             => \WP_REST_Server::CREATABLE,
				'callback'            => array( self::class, 'set_status' ),
				'permission_callback' => $permission,
				'args'                => $order_id + array(
					'from' => $status_arg,
					'to'   => $status_arg,
					'note' => $note_arg,
				),
			)
		);
		register_rest_route(
			self::NAMESPACE,
			'/events/(?P<event_id>[A-Za-z0-9_-]{1,64})/outcome',
			array(
				'methods'             => \WP_REST_Server::CREATABLE,
				'callback'            => array( self::class, 'record_outcome' ),
				'permission_callback' => $permission,
				'args'                => array(
					'action'          => array(
						'type'     => 'string',
						'required' => true,
						'pattern'  => '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$',
					),
					'status'          => array(
						'type'     => 'string',
						'required' => true,
						'enum'     => array( 'done', 'skipped', 'failed', 'retrying' ),
					),
					'message'         => array(
						'type'              => 'string',
						'default'           => '',
						'validate_callback' => 'rest_validate_request_arg',
						// Truncated, not refused: losing an outcome over a long message would be worse.
						'sanitize_callback' => array( self::class, 'sanitize_message' ),
					),
					'order_id'        => array(
						'type'    => array( 'integer', 'null' ),
						'minimum' => 1,
					),
					'details'         => array(
						'type'    => array( 'object', 'null' ),
						'default' => array(),
					),
					'next_attempt_at' => array(
						'type'   => array( 'string', 'null' ),
						'format' => 'date-time',
					),
				),
			)
		);
		register_rest_route(
			self::NAMESPACE,
			'/rmas/(?P<rma_id>\d+)',
			array(
				'methods'             => \WP_REST_Server::READABLE,
				'callback'            => array( self::class, 'get_rma' ),
				'permission_callback' => $permission,
				'args'                => $rma_id,
			)
		);
		register_rest_route(
			self::NAMESPACE,
			'/rmas/(?P<rma_id>\d+)/label',
			array(
				'methods'             => \WP_REST_Server::CREATABLE,
				'callback'            => array( self::class, 'set_rma_label' ),
				'permission_callback' => $permission,
				'args'                => $rma_id + array(
					'carrier'         => array(
						'type'     => 'string',
						'required' => true,
						'pattern'  => '^[a-z0-9_-]{1,40}$',
					),
					'tracking_number' => array(
						'type'              => 'string',
						'required'          => true,
						'minLength'         => 1,
						'maxLength'         => 100,
						'validate_callback' => 'rest_validate_request_arg',
						'sanitize_callback' => 'sanitize_text_field',
					),
					'url'             => array(
						'type'     => 'string',
						'required' => true,
						'format'   => 'uri',
					),
					'pdf_base64'      => array(
						'type'              => 'string',
						'validate_callback' => array( self::class, 'validate_pdf' ),
					),
				),
			)
		);
		$rma_status = array(
			'type'     => 'string',
			'required' => true,
			'enum'     => Contract::rma_statuses(),
		);
		register_rest_route(
			self::NAMESPACE,
			'/rmas/(?P<rma_id>\d+)/status',
			array(
				'methods'             => \WP_REST_Server::CREATABLE,
				'callback'            => array( self::class, 'set_rma_status' ),
				'permission_callback' => $permission,
				'args'                => $rma_id + array(
					'from' => $rma_status,
					'to'   => $rma_status,
					'note' => $note_arg,
				),
			)
		);
	}

	/**
	 * Every route: the bpm_bridge_api capability (WordPress' own 401/403 rest_forbidden), then a valid
	 * Standard Webhooks signature over the raw body (401 bpm_bridge_bad_signature). A write's message id
	 * is accepted once, so a captured request cannot be replayed inside the 5-minute window.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return true|\WP_Error
	 */
	public static function permission( \WP_REST_Request $request ) {
		if ( ! current_user_can( Role::CAP ) ) {
			return new \WP_Error(
				'rest_forbidden',
				__( 'Sorry, you are not allowed to do that.', 'bpm-bridge' ),
				array( 'status' => rest_authorization_required_code() )
			);
		}
		$secrets = Options::get_secrets();
		if ( ! $secrets ) {
			return self::error( 'bpm_bridge_bad_signature', __( 'No signing secret is configured in the BPM Bridge settings.', 'bpm-bridge' ), 401 );
		}
		$verified = Signer::verify(
			$secrets,
			array(
				'webhook-id'        => $request->get_header( 'webhook-id' ),
				'webhook-timestamp' => $request->get_header( 'webhook-timestamp' ),
				'webhook-signature' => $request->get_header( 'webhook-signature' ),
			),
			(string) $request->get_body()
		);
		if ( is_wp_error( $verified ) ) {
			return $verified;
		}
		// Reads too: the signature does not cover the route, so a captured GET signature must not be
		// reusable on another route (GET /config carries the provider credentials).
		return self::use_message_id( $verified );
	}

	/**
	 * The replay guard: marks a request's message id as used, or refuses it when it already was.
	 *
	 * Checking and marking are two steps (get_transient(), set_transient()), so they run under a database lock
	 * named after the id: otherwise copies of one captured request sent at the same moment all find it unused.
	 *
	 * @param string $msg_id Verified message id.
	 * @return true|\WP_Error
	 */
	private static function use_message_id( string $msg_id ) {
		global $wpdb;
		$key  = 'bpm_bridge_msg_' . md5( $msg_id );
		$lock = substr( $wpdb->prefix . $key, 0, 64 );
		$got  = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 5)', $lock ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		if ( '1' !== (string) $got ) {
			return self::error( 'bpm_bridge_busy', __( 'Another request with this message id is being checked; try again.', 'bpm-bridge' ), 503 );
		}
		try {
			if ( false !== get_transient( $key ) ) {
				return self::error( 'bpm_bridge_bad_signature', __( 'This message id was already used.', 'bpm-bridge' ), 401 );
			}
			set_transient( $key, 1, self::REPLAY_WINDOW );
			return true;
		} finally {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $lock ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		}
	}

	/**
	 * Strips the "wc-" prefix.
	 *
	 * @param string $status Status.
	 */
	public static function sanitize_status( $status ): string {
		$status = sanitize_key( (string) $status );
		return 0 === strpos( $status, 'wc-' ) ? substr( $status, 3 ) : $status;
	}

	/**
	 * An outcome message: plain text, at most MAX_NOTE characters.
	 *
	 * @param string $message Message.
	 */
	public static function sanitize_message( $message ): string {
		return mb_substr( sanitize_textarea_field( (string) $message ), 0, self::MAX_NOTE );
	}

	/**
	 * GET /config.
	 */
	public static function get_config(): \WP_REST_Response {
		$response = new \WP_REST_Response( Options::config_payload(), 200 );
		// Credentials are in this body: keep it out of every cache.
		$response->header( 'Cache-Control', 'no-store' );
		return $response;
	}

	/**
	 * POST /orders/{id}/notes.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function add_note( \WP_REST_Request $request ) {
		$order = self::order( (int) $request['order_id'] );
		if ( is_wp_error( $order ) ) {
			return $order;
		}
		$note_id = $order->add_order_note( (string) $request['note'], $request['customer_note'] ? 1 : 0, false );
		return new \WP_REST_Response(
			array(
				'note_id'  => (int) $note_id,
				'order_id' => (int) $order->get_id(),
			),
			201
		);
	}

	/**
	 * GET /orders/{id}/meta.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function get_meta( \WP_REST_Request $request ) {
		$order = self::order( (int) $request['order_id'] );
		if ( is_wp_error( $order ) ) {
			return $order;
		}
		return new \WP_REST_Response( self::meta_body( $order ), 200 );
	}

	/**
	 * POST /orders/{id}/meta with the compare-and-set guard.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function set_meta( \WP_REST_Request $request ) {
		$meta   = (array) $request['meta'];
		$expect = (array) $request['expect'];
		$bad    = array_diff( array_keys( $meta + $expect ), self::META_KEYS );
		if ( $bad ) {
			return self::error(
				'bpm_bridge_meta_not_allowed',
				/* translators: %s: meta keys */
				sprintf( __( 'These meta keys may not be written: %s.', 'bpm-bridge' ), implode( ', ', $bad ) ),
				400,
				array( 'keys' => array_values( $bad ) )
			);
		}
		foreach ( $meta as $key => $value ) {
			$invalid = self::invalid_meta_value( $key, (string) $value );
			if ( null !== $invalid ) {
				return self::error( 'rest_invalid_param', $invalid, 400, array( 'params' => array( 'meta' => $invalid ) ) );
			}
		}
		$order_id = (int) $request['order_id'];
		// The compare and the write must be one step: a second worker's request waits for the lock.
		return self::with_order_lock(
			$order_id,
			static function ( $order ) use ( $order_id, $meta, $expect ) {
				$current  = array();
				$conflict = false;
				foreach ( $expect as $key => $value ) {
					$current[ $key ] = (string) $order->get_meta( $key );
					$conflict        = $conflict || $current[ $key ] !== (string) $value;
				}
				if ( $conflict ) {
					return self::error(
						'bpm_bridge_meta_conflict',
						__( 'The order meta does not have the expected values; nothing was written.', 'bpm-bridge' ),
						409,
						array( 'current' => $current )
					);
				}
				foreach ( $meta as $key => $value ) {
					if ( '' === $value ) {
						$order->delete_meta_data( $key );
					} else {
						$order->update_meta_data( $key, $value );
					}
				}
				if ( $meta ) {
					$order->save();
				}
				return new \WP_REST_Response( self::meta_body( self::order( $order_id ) ), 200 );
			}
		);
	}

	/**
	 * POST /orders/{id}/status.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function set_status( \WP_REST_Request $request ) {
		$from    = (string) $request['from'];
		$to      = (string) $request['to'];
		$allowed = self::allowed_transitions();
		if ( ! in_array( $to, (array) ( $allowed[ $from ] ?? array() ), true ) ) {
			return self::error(
				'bpm_bridge_transition_not_allowed',
				/* translators: 1: from status, 2: to status */
				sprintf( __( 'The order status may not be changed from "%1$s" to "%2$s" through BPM Bridge.', 'bpm-bridge' ), $from, $to ),
				400
			);
		}
		$order_id = (int) $request['order_id'];
		$note     = (string) $request['note'];
		return self::with_order_lock(
			$order_id,
			static function ( $order ) use ( $order_id, $from, $to, $note ) {
				$current = (string) $order->get_status();
				if ( $current !== $to ) {
					if ( $current !== $from ) {
						return self::error(
							'bpm_bridge_status_conflict',
							/* translators: 1: expected status, 2: current status */
							sprintf( __( 'The order is not in status "%1$s" (it is "%2$s").', 'bpm-bridge' ), $from, $current ),
							409,
							array( 'current' => $current )
						);
					}
					$order->update_status( $to, $note );
					$current = (string) self::order( $order_id )->get_status();
				}
				return new \WP_REST_Response(
					array(
						'order_id' => $order_id,
						'status'   => $current,
					),
					200
				);
			}
		);
	}

	/**
	 * POST /events/{id}/outcome.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function record_outcome( \WP_REST_Request $request ) {
		$details = (array) ( $request['details'] ?? array() );
		if ( strlen( (string) wp_json_encode( $details ) ) > 16384 ) {
			return self::error( 'rest_invalid_param', __( 'details is larger than 16 KiB.', 'bpm-bridge' ), 400, array( 'params' => array( 'details' => 'too large' ) ) );
		}
		$next_at = $request['next_attempt_at'];
		$status  = Outbox::record_outcome(
			(string) $request['event_id'],
			(string) $request['action'],
			(string) $request['status'],
			(string) $request['message'],
			$details,
			( is_string( $next_at ) && '' !== $next_at ) ? $next_at : null
		);
		if ( null === $status ) {
			return self::error( 'bpm_bridge_event_not_found', __( 'No outbox event with this id.', 'bpm-bridge' ), 404 );
		}
		return new \WP_REST_Response(
			array(
				'event_id' => (string) $request['event_id'],
				'status'   => $status,
			),
			200
		);
	}

	/**
	 * GET /rmas/{id}.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function get_rma( \WP_REST_Request $request ) {
		$rma = Rma::get( (int) $request['rma_id'] );
		if ( null === $rma ) {
			return self::error( 'bpm_bridge_rma_not_found', __( 'No return with this id.', 'bpm-bridge' ), 404 );
		}
		return new \WP_REST_Response( $rma, 200 );
	}

	/**
	 * POST /rmas/{id}/label.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function set_rma_label( \WP_REST_Request $request ) {
		$rma_id = (int) $request['rma_id'];
		$result = Rma::set_label(
			$rma_id,
			array(
				'carrier'         => (string) $request['carrier'],
				'tracking_number' => (string) $request['tracking_number'],
				'url'             => esc_url_raw( (string) $request['url'], array( 'http', 'https' ) ),
			),
			isset( $request['pdf_base64'] ) ? (string) $request['pdf_base64'] : null
		);
		if ( is_wp_error( $result ) ) {
			return $result;
		}
		return new \WP_REST_Response( Rma::get( $rma_id ), 200 );
	}

	/**
	 * POST /rmas/{id}/status.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public static function set_rma_status( \WP_REST_Request $request ) {
		$result = Rma::set_status( (int) $request['rma_id'], (string) $request['from'], (string) $request['to'], (string) $request['note'] );
		return is_wp_error( $result ) ? $result : new \WP_REST_Response( $result, 200 );
	}

	/**
	 * A label PDF must be strict base64 of a PDF of at most 5 MiB.
	 *
	 * @param mixed $value Value.
	 * @return true|\WP_Error
	 */
	public static function validate_pdf( $value ) {
		$raw = is_string( $value ) ? base64_decode( $value, true ) : false; // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
		if ( false === $raw || strlen( $raw ) > self::MAX_PDF_BYTES || 0 !== strpos( $raw, '%PDF-' ) ) {
			return new \WP_Error( 'rest_invalid_param', __( 'pdf_base64 must be a base64-encoded PDF of at most 5 MiB.', 'bpm-bridge' ) );
		}
		return true;
	}

	/**
	 * Why a meta value is unacceptable, or null.
	 *
	 * @param string $key   Key.
	 * @param string $value Value.
	 */
	private static function invalid_meta_value( string $key, string $value ): ?string {
		if ( '' === $value ) {
			return null;
		}
		if ( ! wp_check_invalid_utf8( $value ) ) {
			/* translators: %s: meta key */
			return sprintf( __( '%s is not valid UTF-8.', 'bpm-bridge' ), $key );
		}
		if ( '_bpm_invoice_url' === $key && ! preg_match( '#^https?://[^\s]+$#', $value ) ) {
			return __( '_bpm_invoice_url must be an http(s) URL.', 'bpm-bridge' );
		}
		if ( '_bpm_corrections' === $key && ! self::is_corrections_map( $value ) ) {
			return __( '_bpm_corrections must be a JSON object.', 'bpm-bridge' );
		}
		return null;
	}

	/**
	 * Whether a value is a JSON object of objects (refund id → {id, number, url, …}). Decoded without the
	 * associative flag because as arrays a JSON list and an object look alike, and the sidecar cannot read a list.
	 *
	 * @param string $value Value.
	 */
	private static function is_corrections_map( string $value ): bool {
		$decoded = json_decode( $value );
		if ( ! $decoded instanceof \stdClass ) {
			return false;
		}
		foreach ( get_object_vars( $decoded ) as $entry ) {
			if ( ! $entry instanceof \stdClass ) {
				return false;
			}
		}
		return true;
	}

	/**
	 * The meta response body: every allow-listed key with its current value ('' = absent).
	 *
	 * @param object $order Order.
	 * @return array{order_id:int,meta:array<string,string>}
	 */
	private static function meta_body( $order ): array {
		$meta = array();
		foreach ( self::META_KEYS as $key ) {
			$meta[ $key ] = (string) $order->get_meta( $key );
		}
		return array(
			'order_id' => (int) $order->get_id(),
			'meta'     => $meta,
		);
	}

	/**
	 * A real order (not a refund) through WooCommerce CRUD, or a 404.
	 *
	 * @param int $order_id Order id.
	 * @return object|\WP_Error
	 */
	private static function order( int $order_id ) {
		if ( ! function_exists( 'wc_get_order' ) ) {
			return self::error( 'bpm_bridge_woocommerce_missing', __( 'WooCommerce is not active.', 'bpm-bridge' ), 503 );
		}
		$order = wc_get_order( $order_id );
		if ( ! $order || ( method_exists( $order, 'get_type' ) && 'shop_order' !== $order->get_type() ) ) {
			return self::error( 'bpm_bridge_order_not_found', __( 'No order with this id.', 'bpm-bridge' ), 404 );
		}
		return $order;
	}

	/**
	 * Runs $work on the order under a per-order database lock (MySQL GET_LOCK, which works across PHP
	 * processes without extra tables), so a check and the write after it are one step for concurrent requests.
	 * A missing order is a 404 before any waiting; the order is read again once the lock is held.
	 *
	 * @param int      $order_id Order id.
	 * @param callable $work     Receives the freshly read order; returns the route's response.
	 * @return \WP_REST_Response|\WP_Error
	 */
	private static function with_order_lock( int $order_id, callable $work ) {
		global $wpdb;
		$order = self::order( $order_id );
		if ( is_wp_error( $order ) ) {
			return $order;
		}
		$name = self::lock_name( $order_id );
		$got  = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 10)', $name ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		if ( '1' !== (string) $got ) {
			return self::error( 'bpm_bridge_busy', __( 'The order is being changed by another request; try again.', 'bpm-bridge' ), 503 );
		}
		try {
			return $work( self::order( $order_id ) );
		} finally {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $name ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		}
	}

	/**
	 * Lock name, unique per site.
	 *
	 * @param int $order_id Order id.
	 */
	private static function lock_name( int $order_id ): string {
		global $wpdb;
		return substr( $wpdb->prefix . 'bpm_bridge_order_' . $order_id, 0, 64 );
	}

	/**
	 * An error in WordPress' REST shape.
	 *
	 * @param string $code    Code.
	 * @param string $message Message.
	 * @param int    $status  HTTP status.
	 * @param array  $data    Extra data.
	 */
	private static function error( string $code, string $message, int $status, array $data = array() ): \WP_Error {
		return new \WP_Error( $code, $message, array( 'status' => $status ) + $data );
	}
}
