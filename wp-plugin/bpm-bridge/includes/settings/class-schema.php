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
 * credential encryption and uninstall all read this, so a new provider is one entry in providers() (plus its
 * translated strings) and nothing else in the plugin changes.
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
			'invoicing' => array(
				'option'         => self::OPTIONS['invoicing'],
				'screen'         => 'invoicing',
				'provider_label' => __( 'Invoicing system', 'bpm-bridge' ),
				'none_label'     => __( 'None (do not issue documents)', 'bpm-bridge' ),
				'providers'      => self::invoicing_providers(),
				'fields'         => array(
					'trigger'          => array(
						'type'    => 'triggers',
						'default' => array(
							'default'           => 'paid',
							'by_payment_method' => array( 'cod' => 'completed' ),
						),
						'choices' => array(
							'paid'      => __( 'when paid', 'bpm-bridge' ),
							'completed' => __( 'when completed', 'bpm-bridge' ),
						),
						'label'   => __( 'Issue the document', 'bpm-bridge' ),
						'help'    => __( 'A payment method set to "when completed" (for example cash on delivery) gets its document only when the order is marked completed.', 'bpm-bridge' ),
					),
					'b2c_document'     => array(
						'type'    => 'enum',
						'default' => 'receipt',
						'choices' => array(
							'receipt' => __( 'Receipt', 'bpm-bridge' ),
							'invoice' => __( 'Invoice without a NIP', 'bpm-bridge' ),
						),
						'label'   => __( 'Document for buyers without a NIP', 'bpm-bridge' ),
						'help'    => __( 'Buyers who give a NIP at checkout always get a VAT invoice.', 'bpm-bridge' ),
					),
					'send_email'       => array(
						'type'     => 'bool',
						'default'  => true,
						'label'    => __( 'E-mail the document', 'bpm-bridge' ),
						'checkbox' => __( 'Have the invoicing system e-mail the document to the buyer', 'bpm-bridge' ),
					),
					'exemption_reason' => array(
						'type'        => 'text',
						'default'     => '',
						'max'         => 200,
						'label'       => __( 'VAT exemption basis', 'bpm-bridge' ),
						'help'        => __( 'Printed on documents with items exempt from VAT (rate "zw"). Leave empty if you sell no exempt items.', 'bpm-bridge' ),
						'placeholder' => 'art. 43 ust. 1 pkt 2 ustawy o VAT',
					),
				),
			),
			// CRM and carriers get their providers with their features; until then only "none" exists.
			'crm'       => array(
				'option'         => self::OPTIONS['crm'],
				'screen'         => 'integrations',
				'provider_label' => __( 'CRM', 'bpm-bridge' ),
				'none_label'     => __( 'None', 'bpm-bridge' ),
				'providers'      => array(),
				'fields'         => array(),
			),
			'carrier'   => array(
				'option'         => self::OPTIONS['carrier'],
				'screen'         => 'integrations',
				'provider_label' => __( 'Return carrier', 'bpm-bridge' ),
				'none_label'     => __( 'None', 'bpm-bridge' ),
				'providers'      => array(),
				'fields'         => array(),
			),
			'rma'       => array(
				'option' => self::OPTIONS['rma'],
				'screen' => 'integrations',
				'fields' => array(
					'enabled' => array(
						'type'     => 'bool',
						'default'  => false,
						'label'    => __( 'Returns', 'bpm-bridge' ),
						'checkbox' => __( 'Process return requests (RMA) through BPM Bridge', 'bpm-bridge' ),
					),
				),
			),
		);

		/**
		 * Filters the settings schema, e.g. to add a provider to a section (see docs/configuration.md).
		 *
		 * @param array<string, array<string, mixed>> $sections Sections.
		 */
		return (array) apply_filters( 'bpm_bridge_settings_schema', $sections );
	}

	/**
	 * The invoicing providers. Adding one: an entry here (id => label + fields), its strings in languages/.
	 *
	 * @return array<string, array<string, mixed>>
	 */
	private static function invoicing_providers(): array {
		return array(
			'fakturownia' => array(
				'label'  => 'Fakturownia',
				'fields' => array(
					'domain'        => array(
						'type'        => 'text',
						'default'     => '',
						'max'         => 63,
						'normalize'   => array( Fields::class, 'fakturownia_account' ),
						/* translators: %s: the value the admin entered. */
						'invalid'     => __( 'The Fakturownia account "%s" may only contain letters, digits and hyphens; the previous value was kept.', 'bpm-bridge' ),
						'label'       => __( 'Fakturownia account', 'bpm-bridge' ),
						'help'        => __( 'The first part of your Fakturownia address: for mojafirma.fakturownia.pl enter mojafirma.', 'bpm-bridge' ),
						'placeholder' => 'mojafirma',
					),
					'api_token'     => array(
						'type'  => 'credential',
						'label' => __( 'Fakturownia API token', 'bpm-bridge' ),
						'help'  => __( 'In Fakturownia: Settings → Account settings → Integration → API authorization code.', 'bpm-bridge' ),
					),
					'department_id' => array(
						'type'  => 'id',
						'label' => __( 'Fakturownia department ID', 'bpm-bridge' ),
						'help'  => __( 'Optional. The seller department whose details appear on documents; leave empty for the default one.', 'bpm-bridge' ),
					),
					'base_url'      => array(
						'type'  => 'url',
						'group' => 'sandbox',
						'label' => __( 'Fakturownia API address', 'bpm-bridge' ),
					),
				),
			),
			'infakt'      => array(
				'label'  => 'inFakt',
				'fields' => array(
					'api_key'  => array(
						'type'  => 'credential',
						'label' => __( 'inFakt API key', 'bpm-bridge' ),
						'help'  => __( 'In inFakt: Settings → Other options → API.', 'bpm-bridge' ),
					),
					'base_url' => array(
						'type'  => 'url',
						'group' => 'sandbox',
						'label' => __( 'inFakt API address', 'bpm-bridge' ),
					),
				),
			),
		);
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
