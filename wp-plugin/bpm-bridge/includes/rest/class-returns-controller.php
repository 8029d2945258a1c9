<?php
/**
 * The RMA routes (docs/contract.md §3.6): read a return with what a carrier needs, compare-and-set its
 * sidecar meta, attach its label (once), move its status, list open returns with their due dates.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Rest;

use BPM_Bridge\Contract;
use BPM_Bridge\Installer;
use BPM_Bridge\Outbox;
use BPM_Bridge\Rma;

defined( 'ABSPATH' ) || exit;

/**
 * Returns.
 */
final class Returns_Controller extends Controller {

	const MAX_PDF_BYTES = 5242880;

	/**
	 * Statuses of a return the shop still owes an answer or a refund for.
	 */
	const OPEN = array( 'requested', 'approved', 'label_ready', 'arrived', 'received' );

	/**
	 * Columns never sent to the sidecar: the bank account, the photos, the label PDF, the e-mail of a guest.
	 */
	const PRIVATE_KEYS = array( 'iban', 'photos', 'label_pdf', 'email', 'customer_id', 'timeline' );

	/**
	 * Routes.
	 */
	public function register_routes(): void {
		$rma_id = self::id_arg( 'rma_id' );
		$status = array(
			'type'     => 'string',
			'required' => true,
			'enum'     => Contract::rma_statuses(),
		);
		$this->route(
			'/rmas/(?P<rma_id>\d+)',
			array( $this->endpoint( \WP_REST_Server::READABLE, array( $this, 'get_item' ), $rma_id ) ),
			$this->get_item_schema()
		);
		$this->route(
			'/rmas/(?P<rma_id>\d+)/label',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'set_label' ),
					$rma_id + array(
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
							'type'              => 'string',
							'maxLength'         => 2000,
							'validate_callback' => array( self::class, 'validate_label_url' ),
						),
						'pdf_base64'      => array(
							'type'              => 'string',
							'validate_callback' => array( self::class, 'validate_pdf' ),
						),
					)
				),
			),
			$this->get_item_schema()
		);
		$this->route(
			'/rmas/(?P<rma_id>\d+)/status',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'set_status' ),
					$rma_id + array(
						'from'  => $status,
						'to'    => $status,
						'note'  => Order_Input::optional_note_arg(),
						'actor' => array(
							'type'    => 'string',
							'default' => 'system',
							'enum'    => array( 'system', 'carrier' ),
						),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-rma-status',
				'properties' => array(
					'rma_id'   => array( 'type' => 'integer' ),
					'order_id' => array( 'type' => 'integer' ),
					'status'   => array(
						'type' => 'string',
						'enum' => Contract::rma_statuses(),
					),
				),
			)
		);
		$value = array(
			'type'      => 'string',
			'maxLength' => Contract::limit( 'max_meta_value_chars' ),
		);
		$this->route(
			'/rmas/(?P<rma_id>\d+)/meta',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'set_meta' ),
					$rma_id + array(
						'meta'   => array(
							'type'                 => 'object',
							'required'             => true,
							'additionalProperties' => $value,
						),
						'expect' => array(
							'type'                 => 'object',
							'default'              => array(),
							'additionalProperties' => $value,
						),
						'log'    => array(
							'type'                 => array( 'object', 'null' ),
							'default'              => null,
							'properties'           => array(
								'event'   => array(
									'type'     => 'string',
									'required' => true,
									'pattern'  => '^[a-z0-9_]{1,40}$',
								),
								'message' => array(
									'type'      => 'string',
									'required'  => true,
									'minLength' => 1,
									'maxLength' => 2000,
								),
								'public'  => array( 'type' => 'boolean' ),
							),
							'additionalProperties' => false,
						),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-rma-meta',
				'properties' => array(
					'rma_id' => array( 'type' => 'integer' ),
					'meta'   => array( 'type' => 'object' ),
				),
			)
		);
		$this->route(
			'/rmas/search',
			array(
				$this->endpoint(
					\WP_REST_Server::CREATABLE,
					array( $this, 'search' ),
					array(
						'statuses'   => array(
							'type'     => 'array',
							'default'  => self::OPEN,
							'minItems' => 1,
							'maxItems' => 10,
							'items'    => array(
								'type' => 'string',
								'enum' => Contract::rma_statuses(),
							),
						),
						'due_before' => array(
							'type'   => array( 'string', 'null' ),
							'format' => 'date-time',
						),
						'page'       => array(
							'type'    => 'integer',
							'default' => 1,
							'minimum' => 1,
						),
						'per_page'   => array(
							'type'    => 'integer',
							'default' => 100,
							'minimum' => 1,
							'maximum' => 100,
						),
					)
				),
			),
			array(
				'title'      => 'bpm-bridge-rma-search',
				'properties' => array(
					'rmas'  => array( 'type' => 'array' ),
					'total' => array( 'type' => 'integer' ),
					'pages' => array( 'type' => 'integer' ),
				),
			)
		);
	}

	/**
	 * Response schema of a return (GET /rmas/{id}, POST /rmas/{id}/label).
	 */
	public function get_item_schema() {
		return array(
			'title'      => 'bpm-bridge-rma',
			'type'       => 'object',
			'properties' => array(
				'id'            => array( 'type' => 'integer' ),
				'order_id'      => array( 'type' => 'integer' ),
				'status'        => array(
					'type' => 'string',
					'enum' => Contract::rma_statuses(),
				),
				'items'         => array( 'type' => 'array' ),
				'customer_note' => array( 'type' => 'string' ),
				'label'         => array(
					'type'       => array( 'object', 'null' ),
					'properties' => array(
						'carrier'         => array( 'type' => 'string' ),
						'tracking_number' => array( 'type' => 'string' ),
						'url'             => array(
							'type'   => 'string',
							'format' => 'uri',
						),
					),
				),
				'created_at'    => array(
					'type'   => 'string',
					'format' => 'date-time',
				),
			),
		);
	}

	/**
	 * A label URL: https (http only on a 'local' site), see Rma::is_valid_label_url().
	 *
	 * @param mixed $value Value.
	 * @return true|\WP_Error
	 */
	public static function validate_label_url( $value ) {
		if ( ! is_string( $value ) || ! Rma::is_valid_label_url( $value ) ) {
			return new \WP_Error( 'rest_invalid_param', __( 'url must be an https URL of the label.', 'bpm-bridge' ) );
		}
		return true;
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
	 * GET /rmas/{id}: the return, its sidecar meta, and from its order the number, the item names and what a
	 * carrier needs about the customer (privacy.for_carrier in the sidecar passes on only part of it).
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function get_item( $request ) {
		$rma_id = (int) $request['rma_id'];
		$rma    = Rma::get( $rma_id );
		$row    = self::row( $rma_id );
		if ( null === $rma || null === $row ) {
			return self::not_found();
		}
		foreach ( self::PRIVATE_KEYS as $key ) {
			unset( $rma[ $key ] );
		}
		$rma['number'] = Rma::number( $rma_id );
		$rma['kind']   = (string) $row['kind'];
		$rma['method'] = (string) $row['method'];
		$rma['point']  = (string) $row['point'];
		$rma['due_at'] = $row['due_at'] ? gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( $row['due_at'] ) ) : null;
		$rma['meta']   = self::meta_view( self::decode_meta( $row['meta'] ) );
		$order         = function_exists( 'wc_get_order' ) ? wc_get_order( (int) $rma['order_id'] ) : null;
		if ( $order instanceof \WC_Order ) {
			$rma['order_number'] = (string) $order->get_order_number();
			$rma['items']        = self::named_items( (array) $rma['items'], $order );
			$rma['customer']     = self::customer( $order );
		}
		$rma['store_address'] = self::store_address();
		return new \WP_REST_Response( $rma, 200 );
	}

	/**
	 * WooCommerce's store address (Settings → General): the return slip's fallback when the Returns
	 * settings have no return address. The shop's own data, not the customer's.
	 *
	 * @return array<string,string>
	 */
	private static function store_address(): array {
		return array(
			'name'      => (string) get_option( 'blogname', '' ),
			'address_1' => (string) get_option( 'woocommerce_store_address', '' ),
			'address_2' => (string) get_option( 'woocommerce_store_address_2', '' ),
			'city'      => (string) get_option( 'woocommerce_store_city', '' ),
			'postcode'  => (string) get_option( 'woocommerce_store_postcode', '' ),
			'country'   => (string) get_option( 'woocommerce_default_country', '' ),
		);
	}

	/**
	 * The columns this controller reads itself (present whatever Rma::get() returns).
	 *
	 * @param int $rma_id RMA id.
	 * @return array<string,mixed>|null
	 */
	private static function row( int $rma_id ): ?array {
		global $wpdb;
		$table = Installer::rma_table();
		$row   = $wpdb->get_row( $wpdb->prepare( "SELECT id, kind, method, point, due_at, meta, label, label_pdf FROM {$table} WHERE id = %d", $rma_id ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return $row ? $row : null;
	}

	/**
	 * Items with their product names from the order.
	 *
	 * @param array     $items Return items.
	 * @param \WC_Order $order Order.
	 */
	private static function named_items( array $items, \WC_Order $order ): array {
		$names = array();
		foreach ( $order->get_items() as $item_id => $item ) {
			$names[ (int) $item_id ] = $item->get_name();
		}
		foreach ( $items as $i => $item ) {
			$items[ $i ]['name'] = $names[ (int) ( $item['order_item_id'] ?? 0 ) ] ?? '';
		}
		return $items;
	}

	/**
	 * The customer as a carrier may need them: name, e-mail, phone and the address a courier collects from.
	 *
	 * @param \WC_Order $order Order.
	 */
	private static function customer( \WC_Order $order ): array {
		$shipping = '' !== (string) $order->get_shipping_address_1();
		$address  = array();
		foreach ( array( 'address_1', 'address_2', 'city', 'postcode', 'country' ) as $field ) {
			$getter            = ( $shipping ? 'get_shipping_' : 'get_billing_' ) . $field;
			$address[ $field ] = (string) $order->$getter();
		}
		return array(
			'first_name' => (string) $order->get_billing_first_name(),
			'last_name'  => (string) $order->get_billing_last_name(),
			'email'      => (string) $order->get_billing_email(),
			'phone'      => (string) $order->get_billing_phone(),
		) + $address;
	}

	/**
	 * The stored meta map (never anything but an object of strings).
	 *
	 * @param string|null $raw Stored JSON.
	 * @return array<string,string>
	 */
	private static function decode_meta( ?string $raw ): array {
		$meta = null === $raw || '' === $raw ? array() : json_decode( $raw, true );
		$out  = array();
		foreach ( is_array( $meta ) ? $meta : array() as $key => $value ) {
			if ( is_scalar( $value ) ) {
				$out[ (string) $key ] = (string) $value;
			}
		}
		return $out;
	}

	/**
	 * Every allow-listed key with its value ("" when absent), like the order meta routes.
	 *
	 * @param array<string,string> $meta Stored meta.
	 * @return array<string,string>
	 */
	private static function meta_view( array $meta ): array {
		$out = array();
		foreach ( self::meta_keys() as $key ) {
			$out[ $key ] = $meta[ $key ] ?? '';
		}
		return $out;
	}

	/**
	 * The contract's rma_meta_keys.
	 *
	 * @return string[]
	 */
	private static function meta_keys(): array {
		$data = Contract::data();
		return array_map( 'strval', (array) ( $data['rma_meta_keys'] ?? array() ) );
	}

	/**
	 * POST /rmas/{id}/meta: compare-and-set on the return's meta map; a timeline step in the same request.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function set_meta( $request ) {
		global $wpdb;
		$rma_id = (int) $request['rma_id'];
		$meta   = (array) $request['meta'];
		$expect = (array) $request['expect'];
		$bad    = array_values( array_diff( array_unique( array_merge( array_keys( $meta ), array_keys( $expect ) ) ), self::meta_keys() ) );
		if ( $bad ) {
			return self::error(
				'bpm_bridge_meta_not_allowed',
				/* translators: %s: list of meta keys */
				sprintf( __( 'These meta keys may not be written: %s.', 'bpm-bridge' ), implode( ', ', $bad ) ),
				400,
				array( 'keys' => $bad )
			);
		}
		$table = Installer::rma_table();
		for ( $try = 0; $try < 3; $try++ ) {
			$row = self::row( $rma_id );
			if ( null === $row ) {
				return self::not_found();
			}
			$stored  = self::decode_meta( $row['meta'] );
			$current = array();
			foreach ( $expect as $key => $value ) {
				$current[ $key ] = $stored[ $key ] ?? '';
			}
			foreach ( $expect as $key => $value ) {
				if ( (string) $value !== $current[ $key ] ) {
					return self::error( 'bpm_bridge_meta_conflict', __( 'The return\'s meta does not have the expected values; nothing was written.', 'bpm-bridge' ), 409, array( 'current' => $current ) );
				}
			}
			foreach ( $meta as $key => $value ) {
				if ( '' === (string) $value ) {
					unset( $stored[ $key ] );
				} else {
					$stored[ $key ] = sanitize_text_field( (string) $value );
				}
			}
			ksort( $stored );
			$json = $stored ? (string) wp_json_encode( $stored, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) : null;
			$now  = Outbox::dt( time() );
			// The stored text is the version: an UPDATE that finds it changed writes nothing, and the loop re-checks.
			if ( null === $row['meta'] ) {
				$updated = $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET meta = %s, updated_at = %s WHERE id = %d AND meta IS NULL", (string) $json, $now, $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			} else {
				$updated = $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET meta = %s, updated_at = %s WHERE id = %d AND meta = %s", (string) $json, $now, $rma_id, (string) $row['meta'] ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			}
			if ( 1 === $updated || ( (string) $json === (string) $row['meta'] ) ) {
				self::log_step( $rma_id, $request['log'] );
				return new \WP_REST_Response(
					array(
						'rma_id' => $rma_id,
						'meta'   => self::meta_view( $stored ),
					),
					200
				);
			}
		}
		return self::error( 'bpm_bridge_meta_conflict', __( 'The return\'s meta keeps changing; nothing was written.', 'bpm-bridge' ), 409, array( 'current' => array() ) );
	}

	/**
	 * A timeline step the sidecar asked for. Staff-only unless it is one the customer is meant to read, and
	 * then in the shop's language, not the sidecar's words.
	 *
	 * @param int        $rma_id RMA id.
	 * @param array|null $step   The step: {event, message, public}.
	 */
	private static function log_step( int $rma_id, $step ): void {
		if ( ! is_array( $step ) ) {
			return;
		}
		$event   = sanitize_key( (string) ( $step['event'] ?? 'note' ) );
		$message = sanitize_textarea_field( (string) ( $step['message'] ?? '' ) );
		$public  = self::public_steps();
		if ( ! empty( $step['public'] ) && isset( $public[ $event ] ) ) {
			Rma::log( $rma_id, $event, $public[ $event ], 'carrier', true );
			return;
		}
		if ( '' !== $message ) {
			Rma::log( $rma_id, $event, $message, 'carrier', false );
		}
	}

	/**
	 * Steps the customer reads on their return's timeline, by event.
	 *
	 * @return array<string,string>
	 */
	private static function public_steps(): array {
		return array(
			'parcel_stopped' => __( 'The carrier reports that your return parcel will not reach us. We will contact you.', 'bpm-bridge' ),
		);
	}

	/**
	 * POST /rmas/{id}/label: attaches the label once. `url` (the tracking page) is optional when the PDF is
	 * given — a return slip has no web page — and must be https when present.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function set_label( $request ) {
		$rma_id = (int) $request['rma_id'];
		$url    = isset( $request['url'] ) ? (string) $request['url'] : '';
		$pdf    = isset( $request['pdf_base64'] ) ? (string) $request['pdf_base64'] : null;
		if ( '' === $url && null === $pdf ) {
			return self::error(
				'rest_invalid_param',
				__( 'Invalid parameter(s): url', 'bpm-bridge' ),
				400,
				array( 'params' => array( 'url' => __( 'url is required when no pdf_base64 is given.', 'bpm-bridge' ) ) )
			);
		}
		$label  = array(
			'carrier'         => (string) $request['carrier'],
			'tracking_number' => (string) $request['tracking_number'],
			'url'             => $url,
		);
		$result = Rma::set_label( $rma_id, $label, $pdf );
		if ( is_wp_error( $result ) ) {
			return $result;
		}
		Rma::log( $rma_id, 'label', __( 'Your return label is ready: download it from My Account → Returns.', 'bpm-bridge' ), 'system', true );
		do_action( 'bpm_bridge_rma_label_attached', $rma_id );
		return $this->get_item( $request );
	}

	/**
	 * POST /rmas/{id}/status. The customer's timeline gets the step in the shop's words (Rma::step_message());
	 * the sidecar's note, in its own words, is a staff-only step (the sidecar puts its outcome on the order).
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function set_status( $request ) {
		$rma_id = (int) $request['rma_id'];
		$before = Rma::get( $rma_id );
		$actor  = (string) $request['actor'];
		$result = Rma::set_status( $rma_id, (string) $request['from'], (string) $request['to'], '', $actor );
		if ( is_wp_error( $result ) ) {
			return $result;
		}
		$note = sanitize_textarea_field( (string) $request['note'] );
		if ( '' !== $note && null !== $before && $before['status'] !== $result['status'] ) {
			Rma::log( $rma_id, 'note', $note, $actor, false );
		}
		return new \WP_REST_Response( $result, 200 );
	}

	/**
	 * POST /rmas/search: returns in the given statuses (due before a moment), oldest due first; ids, statuses
	 * and dates only, for the sidecar's deadline metrics.
	 *
	 * @param \WP_REST_Request $request Request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function search( $request ) {
		global $wpdb;
		$table    = Installer::rma_table();
		$statuses = array_values( array_unique( array_map( 'strval', (array) $request['statuses'] ) ) );
		$per_page = (int) $request['per_page'];
		$page     = (int) $request['page'];
		$where    = 'status IN (' . implode( ', ', array_fill( 0, count( $statuses ), '%s' ) ) . ')';
		$args     = $statuses;
		if ( ! empty( $request['due_before'] ) ) {
			$before = rest_parse_date( (string) $request['due_before'], true );
			if ( false === $before ) {
				return self::error( 'rest_invalid_param', __( 'Invalid parameter(s): due_before', 'bpm-bridge' ), 400 );
			}
			$where .= ' AND due_at IS NOT NULL AND due_at < %s';
			$args[] = Outbox::dt( (int) $before );
		}
		$total = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$table} WHERE {$where}", $args ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$rows  = (array) $wpdb->get_results( $wpdb->prepare( "SELECT id, order_id, status, kind, due_at, created_at, updated_at, label FROM {$table} WHERE {$where} ORDER BY due_at IS NULL, due_at ASC, id ASC LIMIT %d OFFSET %d", array_merge( $args, array( $per_page, ( $page - 1 ) * $per_page ) ) ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$rmas  = array();
		foreach ( $rows as $row ) {
			$label  = null !== $row['label'] ? json_decode( (string) $row['label'], true ) : null;
			$rmas[] = array(
				'id'         => (int) $row['id'],
				'number'     => Rma::number( (int) $row['id'] ),
				'order_id'   => (int) $row['order_id'],
				'status'     => (string) $row['status'],
				'kind'       => (string) $row['kind'],
				'due_at'     => $row['due_at'] ? gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( $row['due_at'] ) ) : null,
				'created_at' => gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( $row['created_at'] ) ),
				'updated_at' => gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( $row['updated_at'] ? $row['updated_at'] : $row['created_at'] ) ),
				'has_label'  => null !== $row['label'],
				'carrier'    => is_array( $label ) ? (string) ( $label['carrier'] ?? '' ) : '',
			);
		}
		return new \WP_REST_Response(
			array(
				'rmas'  => $rmas,
				'total' => $total,
				'pages' => (int) ceil( $total / $per_page ),
			),
			200
		);
	}

	/**
	 * Not-found error.
	 */
	private static function not_found(): \WP_Error {
		return self::error( 'bpm_bridge_rma_not_found', __( 'No return with this id.', 'bpm-bridge' ), 404 );
	}
}
