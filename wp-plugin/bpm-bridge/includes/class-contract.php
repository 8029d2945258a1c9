<?php
/**
 * The bpm-bridge/v1 contract as data: the plugin's contract.json (docs/contract.json and the sidecar link to it),
 * read once per request.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Typed getters over contract.json. The plugin, the sidecar and the WooCommerce simulator read the same file,
 * so no list here is a copy: change the file, never a constant in PHP.
 */
final class Contract {

	/**
	 * The decoded file, once loaded.
	 *
	 * @var array<string,mixed>|null
	 */
	private static $data = null;

	/**
	 * Where the file is read from (tests point it elsewhere with use_file()).
	 *
	 * @var string|null
	 */
	private static $file = null;

	/**
	 * The whole decoded contract.
	 *
	 * @return array<string,mixed>
	 * @throws \RuntimeException When the file is missing or not a JSON object: the plugin is incomplete.
	 */
	public static function data(): array {
		if ( null === self::$data ) {
			$file = self::$file ?? dirname( __DIR__ ) . '/contract.json';
			$data = is_readable( $file ) ? wp_json_file_decode( $file, array( 'associative' => true ) ) : null;
			if ( ! is_array( $data ) || ! isset( $data['revision'] ) ) {
				throw new \RuntimeException( 'BPM Bridge: contract.json is missing or unreadable; reinstall the plugin.' );
			}
			self::$data = $data;
		}
		return self::$data;
	}

	/**
	 * Reads another file from now on (tests), or the plugin's own with null.
	 *
	 * @param string|null $file Path.
	 */
	public static function use_file( ?string $file ): void {
		self::$file = $file;
		self::$data = null;
	}

	/**
	 * The contract revision (2: request signatures bind method, route and query).
	 */
	public static function revision(): int {
		return (int) self::data()['revision'];
	}

	/**
	 * Order meta keys the sidecar may read and write.
	 *
	 * @return string[]
	 */
	public static function meta_keys(): array {
		return array_values( array_map( 'strval', (array) self::data()['order_meta_keys'] ) );
	}

	/**
	 * Order status transitions the sidecar may make, filterable (`bpm_bridge_allowed_transitions`).
	 * completed → refunded is deliberately absent: refunds are made by people.
	 *
	 * @return array<string,string[]> from => list of to.
	 */
	public static function order_transitions(): array {
		return (array) apply_filters( 'bpm_bridge_allowed_transitions', self::map_of_lists( 'order_transitions' ) );
	}

	/**
	 * Every RMA status.
	 *
	 * @return string[]
	 */
	public static function rma_statuses(): array {
		return self::list_of( 'rma_statuses' );
	}

	/**
	 * RMA status transitions, filterable (`bpm_bridge_rma_transitions`).
	 *
	 * @return array<string,string[]> from => list of to.
	 */
	public static function rma_transitions(): array {
		return (array) apply_filters( 'bpm_bridge_rma_transitions', self::map_of_lists( 'rma_transitions' ) );
	}

	/**
	 * Outbox row statuses, in lifecycle order.
	 *
	 * @return string[]
	 */
	public static function outbox_statuses(): array {
		return self::list_of( 'outbox_statuses' );
	}

	/**
	 * Statuses an action's outcome may report.
	 *
	 * @return string[]
	 */
	public static function outcome_statuses(): array {
		return self::list_of( 'outcome_statuses' );
	}

	/**
	 * Outcome statuses after which an action is finished (nothing left to retry).
	 *
	 * @return string[]
	 */
	public static function resolved_outcomes(): array {
		return self::list_of( 'resolved_outcomes' );
	}

	/**
	 * Whether an HTTP status is worth retrying later (redirects, 408, 425, 429, 5xx); every other is final.
	 *
	 * @param int $code HTTP status.
	 */
	public static function is_transient_status( int $code ): bool {
		$rule = (array) self::data()['transient_http'];
		if ( in_array( $code, array_map( 'intval', (array) ( $rule['codes'] ?? array() ) ), true ) ) {
			return true;
		}
		foreach ( (array) ( $rule['ranges'] ?? array() ) as $range ) {
			if ( $code >= (int) $range[0] && $code <= (int) $range[1] ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * How long an event is retried before the outbox gives up, in hours.
	 */
	public static function retry_window_hours(): int {
		return (int) self::data()['retry_window_hours'];
	}

	/**
	 * The retry window in seconds.
	 */
	public static function retry_window_seconds(): int {
		return self::retry_window_hours() * HOUR_IN_SECONDS;
	}

	/**
	 * A size limit from `limits` (max_note_chars, max_meta_value_chars, max_outcome_message_chars,
	 * max_outcome_details_bytes, max_route_body_bytes).
	 *
	 * @param string $name Limit name.
	 * @throws \InvalidArgumentException For a name the contract does not define (a typo must not mean "no limit").
	 */
	public static function limit( string $name ): int {
		$limits = (array) self::data()['limits'];
		if ( ! isset( $limits[ $name ] ) ) {
			throw new \InvalidArgumentException( 'BPM Bridge: no contract limit named ' . esc_html( $name ) );
		}
		return (int) $limits[ $name ];
	}

	/**
	 * Allowed clock distance of a signature's timestamp, in seconds.
	 */
	public static function signature_tolerance(): int {
		return (int) self::data()['signature']['tolerance_seconds'];
	}

	/**
	 * How long a used request message id is remembered by the replay guard, in seconds.
	 */
	public static function replay_window(): int {
		return (int) self::data()['signature']['replay_window_seconds'];
	}

	/**
	 * Event types with their required/optional data keys and routed actions.
	 *
	 * @return array<string,array{required:string[],optional:string[],actions:string[]}>
	 */
	public static function event_types(): array {
		return (array) self::data()['event_types'];
	}

	/**
	 * A top-level list of strings.
	 *
	 * @param string $key Key.
	 * @return string[]
	 */
	private static function list_of( string $key ): array {
		return array_values( array_map( 'strval', (array) self::data()[ $key ] ) );
	}

	/**
	 * A top-level map of string lists (from => [to, …]).
	 *
	 * @param string $key Key.
	 * @return array<string,string[]>
	 */
	private static function map_of_lists( string $key ): array {
		$map = array();
		foreach ( (array) self::data()[ $key ] as $from => $to ) {
			$map[ (string) $from ] = array_values( array_map( 'strval', (array) $to ) );
		}
		return $map;
	}
}
