<?php
/**
 * "Load stages": the CRM's pipelines and stages, asked from the sidecar.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

use BPM_Bridge\Options;
use BPM_Bridge\Settings\Schema;
use BPM_Bridge\Settings\Sections\Crm as Section;
use BPM_Bridge\Signer;

defined( 'ABSPATH' ) || exit;

/**
 * Only the sidecar holds the CRM client (the plugin never calls a CRM): it answers POST /v1/crm/pipelines,
 * signed like an event delivery, with the pipelines of the configured CRM. The answer is kept in a transient so
 * the stage map offers those stages (Settings\Sections\Crm::stage_choices()); a change of CRM forgets it.
 */
final class Pipelines {

	/**
	 * Most pipelines and stages kept (a CRM with more is unusual; the screen stays usable).
	 */
	const MAX_ITEMS = 100;

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_action( 'update_option_' . Schema::OPTIONS['crm'], array( self::class, 'forget_on_provider_change' ), 10, 2 );
	}

	/**
	 * Stages of another CRM are no choice for this one.
	 *
	 * @param mixed $old   Old value.
	 * @param mixed $value New value.
	 */
	public static function forget_on_provider_change( $old, $value ): void {
		$before = is_array( $old ) ? (string) ( $old['provider'] ?? '' ) : '';
		$after  = is_array( $value ) ? (string) ( $value['provider'] ?? '' ) : '';
		if ( $before !== $after ) {
			delete_transient( Section::PIPELINES_TRANSIENT );
		}
	}

	/**
	 * The pipelines loaded last, or null.
	 *
	 * @return array{provider: string, pipelines: array}|null
	 */
	public static function loaded(): ?array {
		$loaded = get_transient( Section::PIPELINES_TRANSIENT );
		return is_array( $loaded ) && isset( $loaded['pipelines'] ) ? $loaded : null;
	}

	/**
	 * Asks the sidecar, stores the answer, and says what happened in the admin's words.
	 *
	 * @return array{ok: bool, message: string, provider: string, pipelines: array}
	 */
	public static function load(): array {
		$url     = Options::get_sidecar_url();
		$secrets = Options::get_secrets();
		if ( '' === $url || array() === $secrets ) {
			return self::result( false, __( 'Set the sidecar URL and the signing secret on the General tab first.', 'bpm-bridge' ) );
		}
		$body     = '{}';
		$response = wp_remote_post(
			untrailingslashit( $url ) . '/v1/crm/pipelines',
			array(
				// The sidecar asks the CRM while we wait: more than an event delivery's 5 s.
				'timeout'     => (float) apply_filters( 'bpm_bridge_crm_pipelines_timeout', 20 ),
				'redirection' => 0,
				'headers'     => array_merge(
					array(
						'Content-Type' => 'application/json',
						'User-Agent'   => 'BPM-Bridge/' . BPM_BRIDGE_VERSION . '; ' . home_url(),
					),
					Signer::headers( $secrets, $body )
				),
				'body'        => $body,
				'data_format' => 'body',
			)
		);
		if ( is_wp_error( $response ) ) {
			/* translators: %s: why the request failed. */
			return self::result( false, sprintf( __( 'The sidecar could not be reached: %s', 'bpm-bridge' ), $response->get_error_message() ) );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$data   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( 200 !== $status || ! is_array( $data ) || ! isset( $data['pipelines'] ) || ! is_array( $data['pipelines'] ) ) {
			return self::result( false, self::problem( $status, $data ) );
		}
		$provider  = sanitize_key( (string) ( $data['provider'] ?? '' ) );
		$pipelines = self::clean( $data['pipelines'] );
		set_transient(
			Section::PIPELINES_TRANSIENT,
			array(
				'provider'  => $provider,
				'pipelines' => $pipelines,
			),
			// With an expiry WordPress stores a transient without autoload (and Load stages refreshes it).
			30 * DAY_IN_SECONDS
		);
		$count = count( $pipelines );
		$label = self::provider_label( $provider );
		/* translators: 1: CRM name, 2: number of pipelines. */
		$message = sprintf( _n( 'Connected to %1$s: %2$d pipeline.', 'Connected to %1$s: %2$d pipelines.', $count, 'bpm-bridge' ), $label, $count );
		return self::result( true, $message, $provider, $pipelines );
	}

	/**
	 * The sidecar's plain-words reason from a problem JSON (detail first), or the status.
	 *
	 * @param int   $status HTTP status.
	 * @param mixed $data   Decoded body.
	 */
	private static function problem( int $status, $data ): string {
		$detail = '';
		if ( is_array( $data ) ) {
			foreach ( array( 'detail', 'title' ) as $key ) {
				if ( '' === $detail && isset( $data[ $key ] ) && is_string( $data[ $key ] ) ) {
					$detail = sanitize_text_field( $data[ $key ] );
				}
			}
		}
		if ( 404 === $status && '' === $detail ) {
			$detail = __( 'this sidecar cannot load CRM stages yet (update it)', 'bpm-bridge' );
		}
		/* translators: 1: HTTP status code, 2: the sidecar's reason. */
		return sprintf( __( 'The sidecar answered HTTP %1$d: %2$s', 'bpm-bridge' ), $status, '' !== $detail ? mb_substr( $detail, 0, 500 ) : __( 'no reason given', 'bpm-bridge' ) );
	}

	/**
	 * Pipelines as the screen uses them: ids and labels as strings, at most MAX_ITEMS of each.
	 *
	 * @param array $raw Decoded pipelines.
	 * @return array<int, array{id: string, label: string, stages: array<int, array{id: string, label: string}>}>
	 */
	private static function clean( array $raw ): array {
		$out = array();
		foreach ( array_slice( $raw, 0, self::MAX_ITEMS ) as $pipeline ) {
			if ( ! is_array( $pipeline ) || ! isset( $pipeline['id'] ) || ! is_scalar( $pipeline['id'] ) ) {
				continue;
			}
			$stages = array();
			foreach ( array_slice( (array) ( $pipeline['stages'] ?? array() ), 0, self::MAX_ITEMS ) as $stage ) {
				if ( is_array( $stage ) && isset( $stage['id'] ) && is_scalar( $stage['id'] ) && '' !== (string) $stage['id'] ) {
					$stages[] = array(
						'id'    => mb_substr( sanitize_text_field( (string) $stage['id'] ), 0, 100 ),
						'label' => mb_substr( sanitize_text_field( (string) ( $stage['label'] ?? $stage['id'] ) ), 0, 200 ),
					);
				}
			}
			$out[] = array(
				'id'     => mb_substr( sanitize_text_field( (string) $pipeline['id'] ), 0, 100 ),
				'label'  => mb_substr( sanitize_text_field( (string) ( $pipeline['label'] ?? $pipeline['id'] ) ), 0, 200 ),
				'stages' => $stages,
			);
		}
		return $out;
	}

	/**
	 * The CRM's name from the settings schema.
	 *
	 * @param string $provider Provider id.
	 */
	public static function provider_label( string $provider ): string {
		$section = Schema::section( 'crm' );
		$label   = is_array( $section ) ? ( $section['providers'][ $provider ]['label'] ?? '' ) : '';
		return '' !== (string) $label ? (string) $label : $provider;
	}

	/**
	 * A result.
	 *
	 * @param bool   $ok        Loaded.
	 * @param string $message   Message.
	 * @param string $provider  Provider.
	 * @param array  $pipelines Pipelines.
	 * @return array{ok: bool, message: string, provider: string, pipelines: array}
	 */
	private static function result( bool $ok, string $message, string $provider = '', array $pipelines = array() ): array {
		return array(
			'ok'        => $ok,
			'message'   => $message,
			'provider'  => $provider,
			'pipelines' => $pipelines,
		);
	}
}
