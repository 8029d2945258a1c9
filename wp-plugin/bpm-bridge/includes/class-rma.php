<?php
/**
 * Return (RMA) storage: the record, its timeline, its status steps and the queries lists need.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Returns: requested → approved → label_ready → arrived → received → refunded | rejected (contract.json).
 */
final class Rma {

	/**
	 * Allowed status transitions (contract.json, filterable with `bpm_bridge_rma_transitions`).
	 *
	 * @return array<string,string[]> from => list of to.
	 */
	public static function transitions(): array {
		return Contract::rma_transitions();
	}

	/**
	 * Return kinds, methods, and the legal time the shop has to act once a return is requested.
	 */
	const KINDS       = array( 'withdrawal', 'complaint' );
	const METHODS     = array( 'locker', 'courier', 'own' );
	const DUE_DAYS    = 14;
	const GET_COLUMNS = 'id, order_id, status, items, label, customer_note, kind, method, point, customer_id, email, photos, meta, decision_note, refund_id, due_at, created_at, updated_at, (label_pdf IS NOT NULL AND label_pdf <> \'\') AS has_label_pdf';

	/**
	 * Creates a return request: stores it with its due date, logs 'requested', queues rma.created and fires
	 * `bpm_bridge_rma_created`. Eligibility (windows, quantities) is the caller's check (Returns\Eligibility).
	 *
	 * @param int                 $order_id Order id.
	 * @param array               $items    List of {order_item_id, product_id, quantity, reason}.
	 * @param array<string,mixed> $fields   Fields: customer_note, kind, method, point, customer_id, email, iban (plain), photos (file names).
	 * @return int|\WP_Error RMA id.
	 */
	public static function create( int $order_id, array $items, array $fields = array() ) {
		global $wpdb;
		$clean = array();
		foreach ( $items as $item ) {
			$quantity = absint( $item['quantity'] ?? 0 );
			if ( $quantity < 1 ) {
				return new \WP_Error( 'bpm_bridge_rma_invalid_item', __( 'Each returned item needs a quantity of at least 1.', 'bpm-bridge' ) );
			}
			$clean[] = array(
				'order_item_id' => absint( $item['order_item_id'] ?? 0 ),
				'product_id'    => absint( $item['product_id'] ?? 0 ),
				'quantity'      => $quantity,
				'reason'        => sanitize_text_field( (string) ( $item['reason'] ?? '' ) ),
			);
		}
		if ( ! $clean ) {
			return new \WP_Error( 'bpm_bridge_rma_no_items', __( 'A return needs at least one item.', 'bpm-bridge' ) );
		}
		$kind   = in_array( $fields['kind'] ?? '', self::KINDS, true ) ? (string) $fields['kind'] : 'withdrawal';
		$method = in_array( $fields['method'] ?? '', self::METHODS, true ) ? (string) $fields['method'] : 'own';
		$point  = strtoupper( preg_replace( '/[^A-Za-z0-9-]/', '', (string) ( $fields['point'] ?? '' ) ) );
		$iban   = (string) ( $fields['iban'] ?? '' );
		$photos = array_values( array_map( 'sanitize_file_name', array_filter( (array) ( $fields['photos'] ?? array() ), 'is_string' ) ) );
		$time   = time();
		$now    = Outbox::dt( $time );
		$ok     = $wpdb->insert( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			Installer::rma_table(),
			array(
				'order_id'      => $order_id,
				'status'        => 'requested',
				'items'         => wp_json_encode( $clean, JSON_UNESCAPED_UNICODE ),
				'customer_note' => sanitize_textarea_field( (string) ( $fields['customer_note'] ?? '' ) ),
				'kind'          => $kind,
				'method'        => $method,
				'point'         => 'locker' === $method && '' !== $point ? substr( $point, 0, 32 ) : null,
				'customer_id'   => absint( $fields['customer_id'] ?? 0 ),
				'email'         => sanitize_email( (string) ( $fields['email'] ?? '' ) ),
				'iban'          => '' === $iban ? null : Crypto::encrypt( $iban ),
				'photos'        => $photos ? wp_json_encode( $photos ) : null,
				'due_at'        => Outbox::dt( $time + self::DUE_DAYS * DAY_IN_SECONDS ),
				'created_at'    => $now,
				'updated_at'    => $now,
			),
			array( '%d', '%s', '%s', '%s', '%s', '%s', '%s', '%d', '%s', '%s', '%s', '%s', '%s', '%s' )
		);
		if ( ! $ok ) {
			return new \WP_Error( 'bpm_bridge_rma_not_saved', __( 'The return could not be saved.', 'bpm-bridge' ) );
		}
		$rma_id = (int) $wpdb->insert_id;
		self::log( $rma_id, 'requested', __( 'Return requested.', 'bpm-bridge' ), $fields['actor'] ?? 'customer' );
		self::mirror_on_order( $order_id );
		Outbox::add(
			'rma.created',
			array(
				'rma_id'   => $rma_id,
				'order_id' => $order_id,
				'status'   => 'requested',
			)
		);
		/**
		 * Fires after a return request is stored (e-mails hook here).
		 *
		 * @param int $rma_id RMA id.
		 */
		do_action( 'bpm_bridge_rma_created', $rma_id );
		return $rma_id;
	}

	/**
	 * An RMA with every column except the IBAN and the label PDF (see iban(), label_pdf()), plus `number`,
	 * `has_label_pdf` and, when asked, the timeline. Dates are ISO-8601 UTC.
	 *
	 * @param int  $rma_id   RMA id.
	 * @param bool $timeline Add `timeline` (every step, staff-only ones included).
	 * @return array<string,mixed>|null
	 */
	public static function get( int $rma_id, bool $timeline = false ): ?array {
		global $wpdb;
		$table = Installer::rma_table();
		$row   = $wpdb->get_row( $wpdb->prepare( 'SELECT ' . self::GET_COLUMNS . " FROM {$table} WHERE id = %d", $rma_id ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( ! $row ) {
			return null;
		}
		$rma = self::shape( $row );
		if ( $timeline ) {
			$rma['timeline'] = self::timeline( $rma_id );
		}
		return $rma;
	}

	/**
	 * A database row in get()'s shape.
	 *
	 * @param array<string,mixed> $row Row.
	 * @return array<string,mixed>
	 */
	private static function shape( array $row ): array {
		$json = static function ( $value ) {
			$decoded = null === $value ? null : json_decode( (string) $value, true );
			return is_array( $decoded ) ? $decoded : null;
		};
		$date = static function ( $value ) {
			return null === $value ? null : gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( (string) $value ) );
		};
		return array(
			'id'            => (int) $row['id'],
			'number'        => self::number( (int) $row['id'] ),
			'order_id'      => (int) $row['order_id'],
			'status'        => (string) $row['status'],
			'items'         => $json( $row['items'] ) ?? array(),
			'customer_note' => (string) $row['customer_note'],
			'label'         => $json( $row['label'] ),
			'has_label_pdf' => (bool) $row['has_label_pdf'],
			'kind'          => (string) $row['kind'],
			'method'        => (string) $row['method'],
			'point'         => (string) $row['point'],
			'customer_id'   => (int) $row['customer_id'],
			'email'         => (string) $row['email'],
			'photos'        => $json( $row['photos'] ) ?? array(),
			'meta'          => (object) ( $json( $row['meta'] ) ?? array() ),
			'decision_note' => (string) $row['decision_note'],
			'refund_id'     => null === $row['refund_id'] ? null : (int) $row['refund_id'],
			'due_at'        => $date( $row['due_at'] ),
			'created_at'    => $date( $row['created_at'] ),
			'updated_at'    => $date( $row['updated_at'] ),
		);
	}

	/**
	 * The refund account the customer gave (decrypted), '' when none; null when it cannot be decrypted.
	 * Never part of get() or of any REST answer.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function iban( int $rma_id ): ?string {
		global $wpdb;
		$table  = Installer::rma_table();
		$stored = $wpdb->get_var( $wpdb->prepare( "SELECT iban FROM {$table} WHERE id = %d", $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return Crypto::decrypt( (string) $stored );
	}

	/**
	 * The label PDF (binary), or '' when none was attached.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function label_pdf( int $rma_id ): string {
		global $wpdb;
		$table  = Installer::rma_table();
		$stored = (string) $wpdb->get_var( $wpdb->prepare( "SELECT label_pdf FROM {$table} WHERE id = %d", $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$raw    = '' === $stored ? false : base64_decode( $stored, true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
		return false === $raw ? '' : $raw;
	}

	/**
	 * Returns for lists, newest first.
	 *
	 * @param array<string,mixed> $args Filters: status (string|string[]), order_id, customer_id, email, search (RMA number,
	 *                                          order number or e-mail), due_before (ISO-8601 or MySQL UTC), per_page (1–100, 20), page.
	 * @return array{items: array<int, array<string,mixed>>, total: int}
	 */
	public static function query( array $args = array() ): array {
		global $wpdb;
		$table  = Installer::rma_table();
		$where  = array( '1=1' );
		$values = array();
		$status = array_filter( array_map( 'sanitize_key', (array) ( $args['status'] ?? array() ) ) );
		if ( $status ) {
			$where[] = 'status IN (' . implode( ',', array_fill( 0, count( $status ), '%s' ) ) . ')';
			$values  = array_merge( $values, array_values( $status ) );
		}
		foreach ( array( 'order_id', 'customer_id' ) as $column ) {
			if ( isset( $args[ $column ] ) && '' !== $args[ $column ] ) {
				$where[]  = "{$column} = %d";
				$values[] = absint( $args[ $column ] );
			}
		}
		if ( ! empty( $args['email'] ) ) {
			$where[]  = 'email = %s';
			$values[] = sanitize_email( (string) $args['email'] );
		}
		if ( ! empty( $args['due_before'] ) ) {
			$where[]  = 'due_at IS NOT NULL AND due_at < %s';
			$values[] = Outbox::dt( (int) strtotime( (string) $args['due_before'] ) );
		}
		$search = trim( (string) ( $args['search'] ?? '' ) );
		if ( '' !== $search ) {
			$or = array( 'email LIKE %s' );
			$values[] = '%' . $wpdb->esc_like( $search ) . '%';
			if ( preg_match( '/^RMA-?0*(\d+)$/i', $search, $m ) ) {
				$or[]     = 'id = %d';
				$values[] = (int) $m[1];
			}
			$order_id = self::order_id_for_number( $search );
			if ( $order_id ) {
				$or[]     = 'order_id = %d';
				$values[] = $order_id;
			}
			$where[] = '(' . implode( ' OR ', $or ) . ')';
		}
		$per_page = min( 100, max( 1, (int) ( $args['per_page'] ?? 20 ) ) );
		$page     = max( 1, (int) ( $args['page'] ?? 1 ) );
		$sql      = implode( ' AND ', $where );
		$total    = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$table} WHERE {$sql} AND %d = %d", array_merge( $values, array( 1, 1 ) ) ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$rows     = (array) $wpdb->get_results( $wpdb->prepare( 'SELECT ' . self::GET_COLUMNS . " FROM {$table} WHERE {$sql} ORDER BY id DESC LIMIT %d OFFSET %d", array_merge( $values, array( $per_page, ( $page - 1 ) * $per_page ) ) ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array(
			'items' => array_map( array( self::class, 'shape' ), $rows ),
			'total' => $total,
		);
	}

	/**
	 * The order id an order number names (the number the customer sees; a plugin may change it), or 0.
	 *
	 * @param string $number Order number, "#123" allowed.
	 */
	public static function order_id_for_number( string $number ): int {
		$number = ltrim( trim( $number ), '#' );
		if ( '' === $number || strlen( $number ) > 40 ) {
			return 0;
		}
		/**
		 * Maps an order number to its order id, for shops whose order numbers are not the ids.
		 *
		 * @param int    $order_id 0, or the id found.
		 * @param string $number   Order number.
		 */
		$found = (int) apply_filters( 'bpm_bridge_order_id_for_number', 0, $number );
		if ( $found ) {
			return $found;
		}
		if ( ! ctype_digit( $number ) || ! function_exists( 'wc_get_order' ) ) {
			return 0;
		}
		$order = wc_get_order( (int) $number );
		return $order && ! ( $order instanceof \WC_Order_Refund ) && (string) $order->get_order_number() === $number ? $order->get_id() : 0;
	}

	/**
	 * Quantities in returns of an order that WooCommerce does not count yet, per order item id: returns not
	 * rejected and without a WooCommerce refund. A refunded return's pieces are in its WooCommerce refund
	 * (get_qty_refunded_for_item() counts them), so counting them here too would count them twice. The test is
	 * refund_id > 0 (the refund exists), not the status: a return moved to "refunded" without a WooCommerce refund
	 * still holds its pieces.
	 *
	 * @param int $order_id Order id.
	 * @return array<int,int> order_item_id => quantity.
	 */
	public static function returned_quantities( int $order_id ): array {
		global $wpdb;
		$table = Installer::rma_table();
		$rows  = (array) $wpdb->get_col( $wpdb->prepare( "SELECT items FROM {$table} WHERE order_id = %d AND status <> %s AND ( refund_id IS NULL OR refund_id = %d )", $order_id, 'rejected', 0 ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$sum   = array();
		foreach ( $rows as $json ) {
			foreach ( (array) json_decode( (string) $json, true ) as $item ) {
				$key         = absint( $item['order_item_id'] ?? 0 );
				$sum[ $key ] = ( $sum[ $key ] ?? 0 ) + absint( $item['quantity'] ?? 0 );
			}
		}
		return $sum;
	}

	/**
	 * Writes "<RMA number>: <status>" of the order's latest return to the order meta the CRM reads.
	 *
	 * @param int $order_id Order id.
	 */
	private static function mirror_on_order( int $order_id ): void {
		global $wpdb;
		if ( ! function_exists( 'wc_get_order' ) ) {
			return;
		}
		$order = wc_get_order( $order_id );
		if ( ! $order ) {
			return;
		}
		$table  = Installer::rma_table();
		$latest = $wpdb->get_row( $wpdb->prepare( "SELECT id, status FROM {$table} WHERE order_id = %d ORDER BY id DESC LIMIT 1", $order_id ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( ! $latest ) {
			return;
		}
		$state = self::number( (int) $latest['id'] ) . ': ' . $latest['status'];
		if ( $order->get_meta( '_bpm_rma_state' ) !== $state ) {
			$order->update_meta_data( '_bpm_rma_state', $state );
			$order->save();
		}
	}

	/**
	 * The timeline steps whose words are the plugin's own, in English (the source strings of step_message()).
	 */
	const STEP_SOURCES = array(
		'requested'   => 'Return requested.',
		'approved'    => 'Return approved.',
		'label_ready' => 'Return label ready.',
		'arrived'     => 'Parcel delivered to the shop.',
		'received'    => 'Return received and checked by the shop.',
		'refunded'    => 'Refund issued.',
		'rejected'    => 'Return rejected.',
		'label'       => 'Your return label is ready: download it from My Account → Returns.',
	);

	/**
	 * What the customer reads on the timeline for a status step (or the label step), in the current locale.
	 *
	 * @param string $status Status reached (or 'label').
	 */
	public static function step_message( string $status ): string {
		$messages = array(
			'requested'   => __( 'Return requested.', 'bpm-bridge' ),
			'approved'    => __( 'Return approved.', 'bpm-bridge' ),
			'label_ready' => __( 'Return label ready.', 'bpm-bridge' ),
			'arrived'     => __( 'Parcel delivered to the shop.', 'bpm-bridge' ),
			'received'    => __( 'Return received and checked by the shop.', 'bpm-bridge' ),
			'refunded'    => __( 'Refund issued.', 'bpm-bridge' ),
			'rejected'    => __( 'Return rejected.', 'bpm-bridge' ),
			'label'       => __( 'Your return label is ready: download it from My Account → Returns.', 'bpm-bridge' ),
		);
		return $messages[ $status ] ?? $status;
	}

	/**
	 * A timeline step in the reader's language. A step is stored in the words of whoever caused it (a shop
	 * manager with an English admin writes "Return approved."); the plugin's own steps are put in the reader's
	 * language when shown, and a note that followed the step's words is kept as it was written. Steps the plugin
	 * cannot recognise are shown as stored.
	 *
	 * @param array{event: string, message: string} $step A step of timeline().
	 */
	public static function step_text( array $step ): string {
		$event   = (string) ( $step['event'] ?? '' );
		$message = (string) ( $step['message'] ?? '' );
		if ( ! isset( self::STEP_SOURCES[ $event ] ) ) {
			return $message;
		}
		$now = self::step_message( $event );
		foreach ( array_unique( array( self::STEP_SOURCES[ $event ], $now ) ) as $words ) {
			if ( $message === $words ) {
				return $now;
			}
			if ( 0 === strpos( $message, $words . ' ' ) ) {
				return $now . substr( $message, strlen( $words ) );
			}
		}
		return $message;
	}

	/**
	 * Status names for people.
	 *
	 * @param string $status Status.
	 */
	public static function status_label( string $status ): string {
		$labels = array(
			'requested'   => __( 'Requested', 'bpm-bridge' ),
			'approved'    => __( 'Approved', 'bpm-bridge' ),
			'label_ready' => __( 'Label ready', 'bpm-bridge' ),
			'arrived'     => __( 'Arrived at the shop', 'bpm-bridge' ),
			'received'    => __( 'Received', 'bpm-bridge' ),
			'refunded'    => __( 'Refunded', 'bpm-bridge' ),
			'rejected'    => __( 'Rejected', 'bpm-bridge' ),
		);
		return $labels[ $status ] ?? $status;
	}

	/**
	 * Whether a URL may be a label's: https with a host (http too on a site whose environment type is
	 * 'local'), no whitespace or control characters. Shoppers open it, so javascript:, data:, ftp: and "" are not.
	 *
	 * @param string      $url         URL.
	 * @param string|null $environment Environment type; wp_get_environment_type() when null.
	 */
	public static function is_valid_label_url( string $url, ?string $environment = null ): bool {
		if ( '' === $url || strlen( $url ) > 2000 || preg_match( '/[\s\x00-\x1f\x7f]/', $url ) ) {
			return false;
		}
		$schemes = 'local' === ( $environment ?? wp_get_environment_type() ) ? array( 'https', 'http' ) : array( 'https' );
		$parts   = wp_parse_url( $url );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) || ! in_array( strtolower( (string) ( $parts['scheme'] ?? '' ) ), $schemes, true ) ) {
			return false;
		}
		return '' !== esc_url_raw( $url, $schemes );
	}

	/**
	 * Attaches the return label once. A single conditional UPDATE makes a second label impossible even
	 * when two workers race. A stored label whose URL is not a valid label URL (saved before URLs were checked,
	 * e.g. "" from a javascript: URL) and that has no PDF is no label: the first real one replaces it, with the
	 * same compare-and-set. A label without a URL but with a PDF is a return slip (it has no web page): it is a
	 * label like any other, and stays (409).
	 *
	 * @param int         $rma_id RMA id.
	 * @param array       $label  Label: carrier, tracking_number, url (is_valid_label_url(), or "" with a PDF).
	 * @param string|null $pdf    Label PDF, base64 (kept for the customer form; not in GET).
	 * @return true|\WP_Error
	 */
	public static function set_label( int $rma_id, array $label, ?string $pdf = null ) {
		global $wpdb;
		$table = Installer::rma_table();
		$url   = (string) ( $label['url'] ?? '' );
		if ( '' === $url ? '' === (string) $pdf : ! self::is_valid_label_url( $url ) ) {
			return new \WP_Error( 'rest_invalid_param', __( 'url must be an https URL of the label.', 'bpm-bridge' ), array( 'status' => 400 ) );
		}
		$label['url'] = '' === $url ? '' : esc_url_raw( $url, array( 'https', 'http' ) );
		$values       = array( wp_json_encode( $label, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ), (string) $pdf, Outbox::dt( time() ), $rma_id );
		$updated      = $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET label = %s, label_pdf = %s, updated_at = %s WHERE id = %d AND label IS NULL", $values ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( 1 === $updated ) {
			return true;
		}
		$current = self::get( $rma_id );
		if ( null === $current ) {
			return self::not_found();
		}
		// A stored label counts when it has a valid URL, or no URL but a PDF (a return slip has no web page).
		$stored_url = (string) ( $current['label']['url'] ?? '' );
		$present    = '' === $stored_url ? $current['has_label_pdf'] : self::is_valid_label_url( $stored_url );
		if ( ! $present ) {
			$stored  = $wpdb->get_var( $wpdb->prepare( "SELECT label FROM {$table} WHERE id = %d", $rma_id ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			$updated = null === $stored ? 0 : $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET label = %s, label_pdf = %s, updated_at = %s WHERE id = %d AND label = %s AND ( label_pdf IS NULL OR label_pdf = '' )", array_merge( $values, array( $stored ) ) ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			if ( 1 === $updated ) {
				return true;
			}
			$current = self::get( $rma_id );
		}
		return new \WP_Error(
			'bpm_bridge_label_exists',
			__( 'This return already has a label.', 'bpm-bridge' ),
			array(
				'status' => 409,
				'label'  => $current['label'] ?? null,
			)
		);
	}

	/**
	 * Moves an RMA along an allowed transition (compare-and-set on the current status) and queues rma.updated.
	 * Logs the step on the timeline (public), keeps a rejection's note as the decision the customer reads,
	 * mirrors the state on the order and fires `bpm_bridge_rma_status_changed`.
	 *
	 * @param int    $rma_id RMA id.
	 * @param string $from   Expected current status.
	 * @param string $to     New status.
	 * @param string $note   Optional note, added to the order and the timeline.
	 * @param string $actor  Who: customer, staff, system or carrier.
	 * @return array{rma_id:int,order_id:int,status:string}|\WP_Error
	 */
	public static function set_status( int $rma_id, string $from, string $to, string $note = '', string $actor = 'system' ) {
		global $wpdb;
		$allowed = self::transitions();
		if ( ! in_array( $to, $allowed[ $from ] ?? array(), true ) ) {
			return new \WP_Error(
				'bpm_bridge_transition_not_allowed',
				/* translators: 1: from status, 2: to status */
				sprintf( __( 'A return cannot move from "%1$s" to "%2$s".', 'bpm-bridge' ), $from, $to ),
				array( 'status' => 400 )
			);
		}
		$current = self::get( $rma_id );
		if ( null === $current ) {
			return self::not_found();
		}
		$result = array(
			'rma_id'   => $rma_id,
			'order_id' => $current['order_id'],
			'status'   => $to,
		);
		if ( $current['status'] === $to ) {
			return $result;
		}
		$table   = Installer::rma_table();
		$note    = sanitize_textarea_field( $note );
		$updated = 'rejected' === $to
			? $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET status = %s, decision_note = %s, updated_at = %s WHERE id = %d AND status = %s", $to, $note, Outbox::dt( time() ), $rma_id, $from ) ) // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			: $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET status = %s, updated_at = %s WHERE id = %d AND status = %s", $to, Outbox::dt( time() ), $rma_id, $from ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( 1 !== $updated ) {
			$now = self::get( $rma_id );
			if ( $now && $now['status'] === $to ) {
				return $result;
			}
			return new \WP_Error(
				'bpm_bridge_status_conflict',
				__( 'The return is not in the expected status.', 'bpm-bridge' ),
				array(
					'status'  => 409,
					'current' => $now ? $now['status'] : null,
				)
			);
		}
		if ( '' !== $note && function_exists( 'wc_get_order' ) ) {
			$order = wc_get_order( $current['order_id'] );
			if ( $order ) {
				/* translators: 1: return id, 2: note */
				$order->add_order_note( sprintf( __( 'Return #%1$d: %2$s', 'bpm-bridge' ), $rma_id, $note ) );
			}
		}
		$message = self::step_message( $to ) . ( '' === $note ? '' : ' ' . $note );
		self::log( $rma_id, $to, $message, in_array( $actor, array( 'customer', 'staff', 'system', 'carrier' ), true ) ? $actor : 'system' );
		self::mirror_on_order( (int) $current['order_id'] );
		Outbox::add( 'rma.updated', $result );
		/**
		 * Fires after a return moved to another status (e-mails and the order status hook here).
		 *
		 * @param int    $rma_id RMA id.
		 * @param string $from   Previous status.
		 * @param string $to     New status.
		 * @param string $note   Note (the rejection reason when $to is rejected).
		 */
		do_action( 'bpm_bridge_rma_status_changed', $rma_id, $from, $to, $note );
		return $result;
	}

	/**
	 * The number a customer and the shop quote: RMA-000042.
	 *
	 * @param int $rma_id RMA id.
	 */
	public static function number( int $rma_id ): string {
		return 'RMA-' . str_pad( (string) $rma_id, 6, '0', STR_PAD_LEFT );
	}

	/**
	 * Adds a step to the return's timeline.
	 *
	 * @param int    $rma_id  RMA id.
	 * @param string $event   Step: requested, approved, rejected, label_ready, arrived, received, refunded, note, email, error, ...
	 * @param string $message What happened, in words (translated; the customer reads public steps).
	 * @param string $actor   Who: customer, staff, system or carrier.
	 * @param bool   $public  Whether the customer sees it in My Account.
	 */
	public static function log( int $rma_id, string $event, string $message, string $actor = 'system', bool $public = true ): void {
		global $wpdb;
		$wpdb->insert( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			Installer::rma_events_table(),
			array(
				'rma_id'     => $rma_id,
				'created_at' => Outbox::dt( time() ),
				'actor'      => sanitize_key( $actor ),
				'event'      => sanitize_key( $event ),
				'message'    => sanitize_textarea_field( $message ),
				'public'     => $public ? 1 : 0,
			),
			array( '%d', '%s', '%s', '%s', '%s', '%d' )
		);
	}

	/**
	 * The return's timeline, oldest first.
	 *
	 * @param int  $rma_id      RMA id.
	 * @param bool $public_only Only the steps the customer sees.
	 * @return array<int, array{at: string, actor: string, event: string, message: string, public: bool}>
	 */
	public static function timeline( int $rma_id, bool $public_only = false ): array {
		global $wpdb;
		$table = Installer::rma_events_table();
		$rows  = (array) $wpdb->get_results( $wpdb->prepare( "SELECT created_at, actor, event, message, public FROM {$table} WHERE rma_id = %d AND public >= %d ORDER BY id ASC", $rma_id, $public_only ? 1 : 0 ), ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array_map(
			static function ( $row ) {
				return array(
					'at'      => gmdate( 'Y-m-d\TH:i:s\Z', Outbox::ts( $row['created_at'] ) ),
					'actor'   => (string) $row['actor'],
					'event'   => (string) $row['event'],
					'message' => (string) $row['message'],
					'public'  => (bool) $row['public'],
				);
			},
			$rows
		);
	}

	/**
	 * Not-found error.
	 */
	private static function not_found(): \WP_Error {
		return new \WP_Error( 'bpm_bridge_rma_not_found', __( 'No return with this id.', 'bpm-bridge' ), array( 'status' => 404 ) );
	}
}
