<?php
/**
 * The settings schema: every configuration section and provider, described once.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings;

defined( 'ABSPATH' ) || exit;

/**
 * Declarative description of the sidecar's configuration (the body of GET bpm-bridge/v1/config).
 *
 * Storage (Options), validation (Fields), the settings form (Admin\Settings_Fields), the config payload,
 * credential encryption and uninstall all read this. Each section is one class in includes/settings/sections/,
 * so a new provider is one entry in its section's providers() (plus its translated strings) and nothing else in
 * the plugin changes.
 *
 * A section: option (wp_options name), screen (settings form section that shows it), provider_label (when the
 * section has a provider choice), none_label, providers (id => provider) and fields (name => field).
 * A provider: label and fields; its values live under the provider's id (invoicing.fakturownia.domain).
 * A field: type (see Fields::TYPES), default, label, help, and per type: choices (enum, triggers),
 * normalize + invalid (text), max (text), placeholder, checkbox (bool), group ("sandbox": shown under the
 * Sandbox heading). Credentials (type "credential") are encrypted at rest and never sent to a browser.
 */
final class Schema {

	/**
	 * The settings form section that holds the sidecar connection (not part of the config payload).
	 */
	const GENERAL_SCREEN = '';

	/**
	 * Section id => wp_options name. A constant (not part of sections()) so hooks and upgrades can name the
	 * options before translations are loaded.
	 */
	const OPTIONS = array(
		'invoicing' => 'bpm_bridge_invoicing',
		'crm'       => 'bpm_bridge_crm',
		'carrier'   => 'bpm_bridge_carrier',
		'rma'       => 'bpm_bridge_rma',
	);

	/**
	 * Every section, in config payload order, after the bpm_bridge_settings_schema filter.
	 *
	 * @return array<string, array<string, mixed>>
	 */
	public static function sections(): array {
		$sections = array(
			'invoicing' => Sections\Invoicing::section(),
			'crm'       => Sections\Crm::section(),
			'carrier'   => Sections\Carrier::section(),
			'rma'       => Sections\Rma::section(),
		);

		/**
		 * Filters the settings schema, e.g. to add a provider to a section (see docs/configuration.md).
		 *
		 * @param array<string, array<string, mixed>> $sections Sections.
		 */
		return (array) apply_filters( 'bpm_bridge_settings_schema', $sections );
	}

	/**
	 * One section, or null.
	 *
	 * @param string $section Section id.
	 * @return array<string, mixed>|null
	 */
	public static function section( string $section ): ?array {
		$sections = self::sections();
		return isset( $sections[ $section ] ) ? $sections[ $section ] : null;
	}

	/**
	 * Whether a section has a provider choice.
	 *
	 * @param array<string, mixed> $section Section.
	 */
	public static function has_provider( array $section ): bool {
		return array_key_exists( 'provider_label', $section );
	}

	/**
	 * Every field of a section, flattened to its path inside the section's value, in stored (payload) order:
	 * provider, the section's own fields, then each provider's fields under the provider's id.
	 *
	 * @param array<string, mixed> $section Section.
	 * @return array<string, array<string, mixed>> Path ("fakturownia.domain") => field (with "path", "provider").
	 */
	public static function fields( array $section ): array {
		$fields = array();
		if ( self::has_provider( $section ) ) {
			$choices = array( 'none' => (string) $section['none_label'] );
			foreach ( (array) $section['providers'] as $id => $provider ) {
				$choices[ (string) $id ] = (string) $provider['label'];
			}
			$fields['provider'] = array(
				'type'    => 'enum',
				'default' => 'none',
				'choices' => $choices,
				'label'   => (string) $section['provider_label'],
			);
		}
		foreach ( (array) $section['fields'] as $name => $field ) {
			$fields[ (string) $name ] = $field;
		}
		foreach ( (array) ( $section['providers'] ?? array() ) as $id => $provider ) {
			foreach ( (array) $provider['fields'] as $name => $field ) {
				$fields[ $id . '.' . $name ] = $field + array( 'provider' => (string) $id );
			}
		}
		foreach ( $fields as $path => $field ) {
			$fields[ $path ] = $field + array(
				'path'    => $path,
				'default' => Fields::default_for( (string) $field['type'] ),
			);
		}
		return $fields;
	}

	/**
	 * Paths of a section's credentials.
	 *
	 * @param array<string, mixed> $section Section.
	 * @return string[]
	 */
	public static function credential_paths( array $section ): array {
		$paths = array();
		foreach ( self::fields( $section ) as $path => $field ) {
			if ( 'credential' === $field['type'] ) {
				$paths[] = $path;
			}
		}
		return $paths;
	}
}
