<?php
/**
 * The order routes (docs/contract.md §3.2–3.4, 3.7–3.9): read an order with its BPM state, apply meta, note
 * and outcome in one step, search for reconciliation, and the single meta, note and status routes.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Contract;
use BPM_Bridge\Outbox;

defined( 'ABSPATH' ) || exit;

/**
 * Orders, touched only through WooCommerce CRUD (wc_get_order(), ->save()), so HPOS on or off behaves the same.
 */
final class Orders_Controller extends Controller {

	const ORDER = '/orders/(?P<order_id>\d+)';

	/**
	 * Routes.
	 */
	public function register_routes(): void {
		$order_id = self::id_arg( 'order_id' );
		$this->route(
			self::ORDER,
			array( $this->endpoint( \WP_REST_Server::READABLE, array( $this, 'get_item' ), $order_id ) ),
			$this->get_item_schema()
		);
		$this->route(
			self::ORDER . '/apply',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'apply' ),
					$order_id + array(
						'meta'    => Order_Input::meta_arg( false ),
						'expect'  => Order_Input::meta_arg( false ),
						'note'    => Order_Input::note_schema(),
						'outcome' => Events_Controller::outcome_schema(),
					)
				),
			),
			$this->apply_schema()
		);
		$this->route(
			'/orders/search',
			array( $this->endpoint( \WP_REST_Server::CREATABLE, array( $this, 'search' ), $this->search_args() ) ),
			$this->search_schema()
		);
		$this->route(
			self::ORDER . '/notes',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'add_note' ),
					$order_id + array(
						'note'          => Order_Input::note_text_arg(),
						'customer_note' => array(
							'type'    => 'boolean',
							'default' => false,
						),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-order-note',
				'properties' => array(
					'note_id'  => array( 'type' => 'integer' ),
					'order_id' => array( 'type' => 'integer' ),
				),
			)
		);
		$this->route(
			self::ORDER . '/meta',
			array(
				$this->endpoint( \WP_REST_Server::READABLE, array( $this, 'get_meta' ), $order_id ),
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'set_meta' ),
					$order_id + array(
						'meta'   => Order_Input::meta_arg( true ),
						'expect' => Order_Input::meta_arg( false ),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-order-meta',
				'properties' => array(
					'order_id' => array( 'type' => 'integer' ),
					'meta'     => self::meta_schema(),
				),
			)
		);
		$status = array(
			'type'              => 'string',
			'required'          => true,
			'pattern'           => '^(wc-)?[a-z0-9_-]{1,40}$',
			// A custom sanitizer replaces WordPress' default, which also validated: validate explicitly.
			'validate_callback' => 'rest_validate_request_arg',
			'sanitize_callback' => array( self::class, 'sanitize_status' ),
		);
		$this->route(
			self::ORDER . '/status',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'set_status' ),
					$order_id + array(
						'from' => $status,
						'to'   => $status,
						'note' => Order_Input::optional_note_arg(),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-order-status',
				'properties' => array(
					'order_id' => array( 'type' => 'integer' ),
					'status'   => array( 'type' => 'string' ),
				),
			)
		);
	}

	/**
	 * The allow-listed meta as a response property.
	 */
	private static function meta_schema(): array {
		return array(
			'type'       => 'object',
			'properties' => array_fill_keys( Contract::meta_keys(), array( 'type' => 'string' ) ),
		);
	}

	/**
	 * Response schema of GET /orders/{id}.
	 */
	public function get_item_schema() {
		return array(
			'title'      => 'bpm-bridge-order',
			'type'       => 'object',
			'properties' => array(
				'order'   => array(
					'description' => 'The WooCommerce REST v3 order (GET wc/v3/orders/{id}, read in-process as the caller).',
					'type'        => 'object',
				),
				'meta'    => self::meta_schema(),
				'refunds' => array(
					'type'  => 'array',
					'items' => array(
						'type'       => 'object',
						'properties' => array(
							'id'             => array( 'type' => 'integer' ),
							'amount'         => array(
								'description' => 'From WooCommerce CRUD (WC_Order_Refund::get_amount()), with the shop\'s price decimals.',
								'type'        => 'string',
							),
							'reason'         => array( 'type' => 'string' ),
							'line_items'     => array(
								'description' => 'The line_items of GET wc/v3/orders/{id}/refunds/{refund_id}.',
								'type'        => 'array',
							),
							'shipping_lines' => array(
								'description' => 'The shipping_lines of the same refund.',
								'type'        => 'array',
							),
							'fee_lines'      => array(
								'description' => 'The fee_lines of the same refund.',
								'type'        => 'array',
							),
						),
					),
				),
				'consent' => array(
					'description' => 'The buyer\'s marketing consent in force now (docs/contract.md §3.7); never the IP address.',
					'type'        => 'object',
					'properties'  => array(
						'marketing'      => array( 'type' => 'boolean' ),
						'version'        => array( 'type' => 'string' ),
						'at'             => array( 'type' => array( 'string', 'null' ) ),
						'source'         => array(
							'type' => 'string',
							'enum' => array_merge( array( '' ), \BPM_Bridge\Crm\Consent::SOURCES ),
						),
						'crm_suppressed' => array(
							'description' => 'The buyer was erased on request: nothing of this order goes to a CRM.',
							'type'        => 'boolean',
						),
					),
				),
			),
		);
	}

	/**
	 * Response schema of POST /orders/{id}/apply.
	 */
	private function apply_schema(): array {
		return array(
			'title'      => 'bpm-bridge-order-apply',
			'properties' => array(
				'order_id' => array( 'type' => 'integer' ),
				'meta'     => self::meta_schema(),
				'note_id'  => array( 'type' => array( 'integer', 'null' ) ),
				'outcome'  => array(
					'type'       => array( 'object', 'null' ),
					'properties' => array(
						'event_id' => array( 'type' => 'string' ),
						'status'   => array(
							'type' => 'string',
							'enum' => Contract::outbox_statuses(),
						),
					),
				),
			),
		);
	}

	/**
	 * Arguments of POST /orders/search.
	 */
	private function search_args(): array {
		return array(
			'statuses'        => array(
				'type'     => 'array',
				'default'  => array( 'processing', 'completed' ),
				'minItems' => 1,
				'maxItems' => 20,
				'items'    => array(
					'type'    => 'string',
					'pattern' => '^[a-z0-9_-]{1,40}$',
				),
			),
			'modified_after'  => array(
				'type'   => array( 'string', 'null' ),
				'format' => 'date-time',
			),
			'modified_before' => array(
				'type'   => array( 'string', 'null' ),
				'format' => 'date-time',
			),
			'page'            => array(
				'type'    => 'integer',
				'default' => 1,
				'minimum' => 1,
			),
			'per_page'        => array(
				'type'    => 'integer',
				'default' => 100,
				'minimum' => 1,
				'maximum' => 100,
			),
			'missing_meta'    => array(
				'type'              => array( 'string', 'null' ),
				'validate_callback' => array( self::class, 'validate_missing_meta' ),
			),
		);
	}

	/**
	 * Response schema of POST /orders/search.
	 */
	private function search_schema(): array {
		return array(
			'title'      => 'bpm-bridge-order-search',
			'properties' => array(
				'orders' => array(
					'type'  => 'array',
					'items' => array(
						'type'       => 'object',
						'properties' => array(
							'id'                => array( 'type' => 'integer' ),
							'status'            => array( 'type' => 'string' ),
							'date_modified_gmt' => array(
								'description' => 'UTC, as WooCommerce REST writes it: YYYY-MM-DDTHH:MM:SS.',
								'type'        => 'string',
							),
							'meta'              => self::meta_schema(),
						),
					),
				),
				'total'  => array( 'type' => 'integer' ),
				'pages'  => array( 'type' => 'integer' ),
			),
		);
	}

	/**
	 * Strips the "wc-" prefix.
	 *
	 * @param mixed $status Status.
	 */
	public static function sanitize_status( $status ): string {
		$status = sanitize_key( (string) $status );
		return 0 === strpos( $status, 'wc-' ) ? substr( $status, 3 ) : $status;
	}

	/**
	 * missing_meta: null or an allow-listed key.
	 *
	 * @param mixed $value Value.
	 * @return true|\WP_Error
	 */
	public static function validate_missing_meta( $value ) {
		if ( null === $value || in_array( $value, Contract::meta_keys(), true ) ) {
			return true;
		}
		return new \WP_Error( 'rest_invalid_param', __( 'missing_meta must be null or an allow-listed meta key.', 'bpm-bridge' ) );
	}

	/**
	 * GET /orders/{id}: the WooCommerce order, its BPM meta and its refunds, in one request.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function get_item( $request ) {
		$order = self::order( (int) $request['order_id'] );
		return is_wp_error( $order ) ? $order : Order_Reads::bundle( $order );
	}

	/**
	 * POST /orders/{id}/apply: meta, a note and an outcome in one step. Every part is checked first; then,
	 * under the per-order lock, `expect` is compared (409, nothing written), the meta written, the note added
	 * and the outcome recorded.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function apply( $request ) {
		$meta    = (array) $request['meta'];
		$expect  = (array) $request['expect'];
		$note    = $request['note'];
		$outcome = $request['outcome'];
		if ( ! $meta && null === $note && null === $outcome ) {
			return self::error( 'bpm_bridge_nothing_to_apply', __( 'Send at least one of meta, note and outcome.', 'bpm-bridge' ), 400 );
		}
		$invalid = Order_Input::check_meta( $meta, $expect );
		if ( $invalid ) {
			return $invalid;
		}
		$order_id = (int) $request['order_id'];
		$exists   = self::order( $order_id );
		if ( is_wp_error( $exists ) ) {
			return $exists;
		}
		$text = null;
		if ( null !== $note ) {
			$text = Order_Input::sanitize_note( $note['note'] ?? '' );
			if ( is_wp_error( $text ) ) {
				return $text;
			}
		}
		$prepared = null;
		if ( null !== $outcome ) {
			$prepared = Events_Controller::prepare( (array) $outcome );
			if ( is_wp_error( $prepared ) ) {
				return $prepared;
			}
			$row = Outbox::get( $prepared['event_id'] );
			if ( null === $row ) {
				return Events_Controller::not_found();
			}
			if ( ! empty( $row['order_id'] ) && (int) $row['order_id'] !== $order_id ) {
				return self::error( 'bpm_bridge_event_order_mismatch', __( 'This event belongs to another order.', 'bpm-bridge' ), 400, array( 'order_id' => (int) $row['order_id'] ) );
			}
		}
		return Guard::with_order_lock(
			$order_id,
			static function ( $order ) use ( $order_id, $meta, $expect, $note, $text, $prepared ) {
				$conflict = Order_Input::conflict( $order, $expect );
				if ( $conflict ) {
					return $conflict;
				}
				Order_Input::write_meta( $order, $meta );
				$note_id = null;
				if ( null !== $text ) {
					$note_id = (int) $order->add_order_note( $text, empty( $note['customer_note'] ) ? 0 : 1, false );
				}
				$recorded = null;
				if ( null !== $prepared ) {
					$recorded = Events_Controller::record( $prepared );
					if ( is_wp_error( $recorded ) ) {
						return $recorded;
					}
				}
				return new \WP_REST_Response(
					array(
						'order_id' => $order_id,
						'meta'     => Order_Input::meta_values( self::order( $order_id ) ),
						'note_id'  => $note_id,
						'outcome'  => $recorded,
					),
					200
				);
			}
		);
	}

	/**
	 * POST /orders/search: ids and BPM state of the orders in some statuses modified in a window, oldest id
	 * first (stable pages while orders change), for the reconciliation sweep. No personal data.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function search( $request ) {
		if ( ! function_exists( 'wc_get_orders' ) ) {
			return self::order( 0 );
		}
		return new \WP_REST_Response( Order_Reads::search( $request ), 200 );
	}

	/**
	 * POST /orders/{id}/notes.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function add_note( $request ) {
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
	public function get_meta( $request ) {
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
	public function set_meta( $request ) {
		$meta    = (array) $request['meta'];
		$expect  = (array) $request['expect'];
		$invalid = Order_Input::check_meta( $meta, $expect );
		if ( $invalid ) {
			return $invalid;
		}
		$order_id = (int) $request['order_id'];
		// The compare and the write must be one step: a second worker's request waits for the lock.
		return Guard::with_order_lock(
			$order_id,
			static function ( $order ) use ( $order_id, $meta, $expect ) {
				$conflict = Order_Input::conflict( $order, $expect );
				if ( $conflict ) {
					return $conflict;
				}
				Order_Input::write_meta( $order, $meta );
				return new \WP_REST_Response( self::meta_body( self::order( $order_id ) ), 200 );
			}
		);
	}

	/**
	 * The meta route's body.
	 *
	 * @param \WC_Order $order Order.
	 * @return array{order_id:int,meta:array<string,string>}
	 */
	private static function meta_body( $order ): array {
		return array(
			'order_id' => (int) $order->get_id(),
			'meta'     => Order_Input::meta_values( $order ),
		);
	}

	/**
	 * POST /orders/{id}/status.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function set_status( $request ) {
		$from    = (string) $request['from'];
		$to      = (string) $request['to'];
		$allowed = Contract::order_transitions();
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
		return Guard::with_order_lock(
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
}
