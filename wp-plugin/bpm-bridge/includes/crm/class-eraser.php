<?php
/**
 * WordPress' personal-data eraser → the CRM erasure the sidecar carries out.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

use BPM_Bridge\Outbox;

defined( 'ABSPATH' ) || exit;

/**
 * Tools → Erase Personal Data runs every registered eraser for a request. Ours deletes nothing in the shop
 * (invoices and tax records must be kept): it queues one customer.erasure_requested with the e-mail's hash and
 * the request's id; the sidecar reads the address through GET /erasures/{id}, erases the person in every
 * configured CRM and reports each outcome through POST /erasures/{id}/outcome, stored on the request.
 */
final class Eraser {

	/**
	 * Id of our eraser in WordPress' list.
	 */
	const KEY = 'bpm-bridge';

	/**
	 * Request post meta: the queued event's id (one event per request).
	 */
	const EVENT_META = '_bpm_erasure_event';

	/**
	 * Request post meta: destination => {status, message, at} as the sidecar reported them.
	 */
	const OUTCOMES_META = '_bpm_erasure_outcomes';

	/**
	 * WordPress' action name of an erasure request.
	 */
	const ACTION = 'remove_personal_data';

	/**
	 * Private, non-autoloaded option: erasure requests deleted before the CRM erasure finished,
	 * {request id: {email, deleted (Unix seconds), outcomes}}, so the sidecar can still finish it.
	 */
	const KEPT_OPTION = 'bpm_bridge_crm_erasures_kept';

	/**
	 * How many deleted requests are kept at most (the oldest go first), and for how long.
	 */
	const KEPT_MAX = 200;
	const KEPT_FOR = 30 * DAY_IN_SECONDS;

	/**
	 * Outcomes after which a destination is finished.
	 */
	const FINAL = array( 'done', 'skipped' );

	/**
	 * Hooks: the page filter WordPress runs after each eraser page, which names the request.
	 */
	public static function register(): void {
		add_filter( 'wp_privacy_personal_data_erasure_page', array( self::class, 'after_page' ), 9, 6 );
		add_action( 'before_delete_post', array( self::class, 'keep_deleted' ), 10, 1 );
	}

	/**
	 * Adds our eraser.
	 *
	 * @param array<string, array> $erasers Registered erasers.
	 * @return array<string, array>
	 */
	public static function erasers( $erasers ) {
		$erasers              = is_array( $erasers ) ? $erasers : array();
		$erasers[ self::KEY ] = array(
			'eraser_friendly_name' => __( 'BPM Bridge (CRM and other connected services)', 'bpm-bridge' ),
			'callback'             => array( self::class, 'erase' ),
		);
		return $erasers;
	}

	/**
	 * The eraser callback: nothing is removed in the shop (the person is only marked so the CRM never gets
	 * them again); the event is queued by after_page(), which knows the request.
	 *
	 * @param string $email_address E-mail address.
	 * @param int    $page          Page.
	 * @return array{items_removed: bool, items_retained: bool, messages: string[], done: bool}
	 */
	public static function erase( $email_address, $page = 1 ): array {
		if ( 1 === (int) $page ) {
			Suppression::erase( (string) $email_address );
		}
		return array(
			'items_removed'  => false,
			'items_retained' => true,
			'messages'       => array(
				self::any_crm()
					? __( 'BPM Bridge asked the connected CRM to delete this person; each result appears in the "CRM erasure" column of this list.', 'bpm-bridge' )
					: __( 'No CRM is connected to BPM Bridge, so no CRM holds this person; BPM Bridge will not send them to one.', 'bpm-bridge' ),
				__( 'Invoices and other tax records are kept for 5 years after the end of the tax year, as tax law requires.', 'bpm-bridge' ),
			),
			'done'           => true,
		);
	}

	/**
	 * Whether any CRM may hold the shop's customers: the sidecar's rule (sidecar/jobs/erase.py) — credentials
	 * of a CRM, or a webhook address with its secret, whichever CRM is selected now.
	 */
	public static function any_crm(): bool {
		$crm     = \BPM_Bridge\Options::get( 'crm' );
		$webhook = is_array( $crm ) && is_array( $crm['webhook'] ?? null ) ? (string) ( $crm['webhook']['url'] ?? '' ) : '';
		return \BPM_Bridge\Options::has_credential( 'crm', 'hubspot.access_token' )
			|| \BPM_Bridge\Options::has_credential( 'crm', 'pipedrive.api_token' )
			|| ( '' !== $webhook && \BPM_Bridge\Options::has_credential( 'crm', 'webhook.secret' ) );
	}

	/**
	 * `wp_privacy_personal_data_erasure_page( $response, $eraser_index, $email_address, $page, $request_id,
	 * $eraser_key )`: after our eraser's page, the event for exactly this request (the response, with our
	 * messages, passes unchanged).
	 *
	 * @param mixed  $response      The eraser's response.
	 * @param int    $eraser_index  Eraser index.
	 * @param string $email_address E-mail address.
	 * @param int    $page          Page.
	 * @param int    $request_id    The user_request post id.
	 * @param string $eraser_key    The eraser's key.
	 * @return mixed
	 */
	public static function after_page( $response, $eraser_index = 0, $email_address = '', $page = 1, $request_id = 0, $eraser_key = '' ) {
		if ( self::KEY === $eraser_key && 1 === (int) $page && is_array( $response ) ) {
			self::queue( (string) $email_address, (int) $request_id );
		}
		return $response;
	}

	/**
	 * Queues customer.erasure_requested {email_hash, customer_id?, request_id}, once per request (a second run,
	 * or "Force erase personal data" on a completed request, asks the CRM nothing twice).
	 *
	 * @param string $email      E-mail address.
	 * @param int    $request_id The erasure request (WordPress' user_request post).
	 * @return string The event id ('' for an empty address or an unknown request).
	 */
	public static function queue( string $email, int $request_id ): string {
		$email   = strtolower( trim( $email ) );
		$request = self::request( $request_id );
		if ( '' === $email || null === $request ) {
			return '';
		}
		$queued = (string) get_post_meta( $request_id, self::EVENT_META, true );
		if ( '' !== $queued ) {
			return $queued;
		}
		$data = array( 'email_hash' => hash( 'sha256', $email ) );
		$user = get_user_by( 'email', $email );
		if ( $user ) {
			$data['customer_id'] = (int) $user->ID;
		}
		$data['request_id'] = $request_id;
		$id                 = Outbox::add( 'customer.erasure_requested', $data );
		update_post_meta( $request_id, self::EVENT_META, $id );
		return $id;
	}

	/**
	 * An erasure request, or null.
	 *
	 * @param int $request_id Request id.
	 * @return \WP_User_Request|null
	 */
	public static function request( int $request_id ) {
		if ( $request_id <= 0 || ! function_exists( 'wp_get_user_request' ) ) {
			return null;
		}
		$request = wp_get_user_request( $request_id );
		return ( $request && self::ACTION === $request->action_name ) ? $request : null;
	}

	/**
	 * The outcomes reported for a request.
	 *
	 * @param int $request_id Request id.
	 * @return array<string, array{status: string, message: string, at: string}>
	 */
	public static function outcomes( int $request_id ): array {
		$stored = json_decode( (string) get_post_meta( $request_id, self::OUTCOMES_META, true ), true );
		return is_array( $stored ) ? $stored : array();
	}

	/**
	 * Whether every destination reported so far is finished (and at least one reported).
	 *
	 * @param array<string, array> $outcomes Outcomes.
	 */
	public static function finished( array $outcomes ): bool {
		foreach ( $outcomes as $outcome ) {
			if ( ! in_array( (string) ( $outcome['status'] ?? '' ), self::FINAL, true ) ) {
				return false;
			}
		}
		return ! empty( $outcomes );
	}

	/**
	 * `before_delete_post`: an erasure request deleted (Tools → Erase Personal Data → Remove request) while
	 * its CRM erasure is queued and not finished keeps its address and outcomes for 30 days, so the sidecar
	 * still reads it and erases the person instead of finding nothing.
	 *
	 * @param int $post_id Post being deleted.
	 */
	public static function keep_deleted( $post_id ): void {
		$post = get_post( (int) $post_id );
		if ( ! $post || 'user_request' !== $post->post_type || self::ACTION !== $post->post_name ) {
			return;
		}
		$outcomes = self::outcomes( (int) $post->ID );
		if ( '' === (string) get_post_meta( (int) $post->ID, self::EVENT_META, true ) || self::finished( $outcomes ) ) {
			return;
		}
		$kept                = self::kept_all();
		$kept[ $post->ID ] = array(
			'email'    => strtolower( (string) $post->post_title ),
			'deleted'  => time(),
			'outcomes' => $outcomes,
		);
		self::save_kept( $kept );
	}

	/**
	 * The kept requests younger than KEPT_FOR.
	 *
	 * @return array<int, array{email: string, deleted: int, outcomes: array}>
	 */
	private static function kept_all(): array {
		$stored = get_option( self::KEPT_OPTION, array() );
		$oldest = time() - self::KEPT_FOR;
		$kept   = array();
		foreach ( is_array( $stored ) ? $stored : array() as $id => $entry ) {
			if ( is_array( $entry ) && (int) ( $entry['deleted'] ?? 0 ) > $oldest && is_email( (string) ( $entry['email'] ?? '' ) ) ) {
				$kept[ (int) $id ] = $entry;
			}
		}
		return $kept;
	}

	/**
	 * Stores the kept requests, the newest KEPT_MAX.
	 *
	 * @param array<int, array> $kept Kept requests.
	 */
	private static function save_kept( array $kept ): void {
		uasort(
			$kept,
			static function ( $a, $b ) {
				return (int) $a['deleted'] <=> (int) $b['deleted'];
			}
		);
		$kept = array_slice( $kept, -self::KEPT_MAX, null, true );
		if ( empty( $kept ) ) {
			delete_option( self::KEPT_OPTION );
			return;
		}
		update_option( self::KEPT_OPTION, $kept, false );
	}

	/**
	 * A deleted request kept for its CRM erasure, or null.
	 *
	 * @param int $request_id Request id.
	 * @return array{email: string, deleted: int, outcomes: array}|null
	 */
	public static function kept( int $request_id ): ?array {
		$kept = self::kept_all();
		return $kept[ $request_id ] ?? null;
	}

	/**
	 * Outcomes with one destination's report added (the latest report per destination wins).
	 *
	 * @param array<string, array> $outcomes    Outcomes so far.
	 * @param string               $destination Destination id.
	 * @param string               $status      One of done, failed, skipped.
	 * @param string               $message     Plain-words message.
	 * @return array<string, array{status: string, message: string, at: string}>
	 */
	private static function with_outcome( array $outcomes, string $destination, string $status, string $message ): array {
		$outcomes[ $destination ] = array(
			'status'  => $status,
			'message' => $message,
			'at'      => gmdate( 'Y-m-d\TH:i:s\Z' ),
		);
		ksort( $outcomes );
		return $outcomes;
	}

	/**
	 * Records one destination's outcome on a deleted, kept request (kept for its 30 days either way: the job
	 * reports destination by destination, so "every report finished" may still be one CRM short).
	 *
	 * @param int    $request_id  Request id.
	 * @param string $destination Destination id.
	 * @param string $status      One of done, failed, skipped.
	 * @param string $message     Plain-words message.
	 * @return array<string, array{status: string, message: string, at: string}>|null Every outcome now; null when
	 *                                                                                  the lock was busy.
	 */
	public static function record_kept_outcome( int $request_id, string $destination, string $status, string $message ): ?array {
		return self::locked(
			'kept',
			static function () use ( $request_id, $destination, $status, $message ) {
				wp_cache_delete( self::KEPT_OPTION, 'options' );
				$kept = self::kept_all();
				if ( ! isset( $kept[ $request_id ] ) ) {
					return array();
				}
				$outcomes                        = self::with_outcome( (array) $kept[ $request_id ]['outcomes'], $destination, $status, $message );
				$kept[ $request_id ]['outcomes'] = $outcomes;
				self::save_kept( $kept );
				return $outcomes;
			}
		);
	}

	/**
	 * Runs a read-modify-write of the outcomes under a short MySQL named lock (the sidecar may report two
	 * CRMs at the same moment: without it one report could overwrite the other).
	 *
	 * @param string   $what  Lock name suffix.
	 * @param callable $write The read-modify-write; its answer is returned.
	 * @return array|null Null when the lock was not free within 5 seconds (the caller answers 503: retried).
	 */
	private static function locked( string $what, callable $write ): ?array {
		global $wpdb;
		// Named locks are server-wide: the table prefix keeps two sites on one database apart (64 characters at most).
		$name = substr( $wpdb->prefix . 'bpm_erasure_' . $what, 0, 64 );
		if ( 1 !== (int) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK( %s, %d )', $name, 5 ) ) ) {
			return null;
		}
		try {
			return $write();
		} finally {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK( %s )', $name ) );
		}
	}

	/**
	 * Records one destination's outcome (the latest report per destination wins).
	 *
	 * @param int    $request_id  Request id.
	 * @param string $destination Destination id (hubspot, pipedrive, webhook, …).
	 * @param string $status      One of done, failed, skipped.
	 * @param string $message     Plain-words message.
	 * @return array<string, array{status: string, message: string, at: string}>|null Every outcome now; null when
	 *                                                                                  the lock was busy.
	 */
	public static function record_outcome( int $request_id, string $destination, string $status, string $message ): ?array {
		return self::locked(
			(string) $request_id,
			static function () use ( $request_id, $destination, $status, $message ) {
				// Another process may have written since this one read the request: read the meta afresh.
				wp_cache_delete( $request_id, 'post_meta' );
				$outcomes = self::with_outcome( self::outcomes( $request_id ), $destination, $status, $message );
				update_post_meta( $request_id, self::OUTCOMES_META, wp_slash( (string) wp_json_encode( $outcomes, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES ) ) );
				return $outcomes;
			}
		);
	}
}
