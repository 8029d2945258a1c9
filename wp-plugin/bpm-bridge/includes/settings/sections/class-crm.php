<?php
/**
 * The CRM section of the settings schema.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings\Sections;

use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * CRM: where customers and orders are pushed (config.crm on the sidecar).
 */
final class Crm {

	/**
	 * Order status (without "wc-") => stage id in HubSpot's default "Sales Pipeline": the mapping a new shop
	 * starts with. Statuses left out are not mapped (the sidecar keeps the deal's stage).
	 */
	const DEFAULT_STAGES = array(
		'pending'    => 'appointmentscheduled',
		'on-hold'    => 'qualifiedtobuy',
		'processing' => 'contractsent',
		'completed'  => 'closedwon',
		'cancelled'  => 'closedlost',
		'refunded'   => 'closedlost',
		'failed'     => 'closedlost',
	);

	/**
	 * Transient holding the pipelines last loaded from the CRM ({provider, pipelines: [{id, label, stages}]}),
	 * written by BPM_Bridge\Crm\Pipelines. While it exists the stage map offers its stages as choices.
	 */
	const PIPELINES_TRANSIENT = 'bpm_bridge_crm_pipelines';

	/**
	 * The section (Schema's section format).
	 *
	 * @return array<string, mixed>
	 */
	public static function section(): array {
		$stages = array(
			'type'    => 'map',
			'default' => self::DEFAULT_STAGES,
			'keys'    => array( self::class, 'status_keys' ),
			'max'     => 100,
			'label'   => __( 'Deal stage for each order status', 'bpm-bridge' ),
			'help'    => __( 'When an order changes status, its deal moves to this stage. Press "Load stages" to pick from the stages of your CRM; until then type the stage ID (the defaults are the stages of HubSpot\'s standard Sales Pipeline). Leave a status empty to leave the deal where it is.', 'bpm-bridge' ),
		);
		$choices = self::stage_choices();
		if ( array() !== $choices ) {
			$stages['choices'] = $choices;
		}
		return array(
			'option'         => Schema::OPTIONS['crm'],
			'screen'         => 'crm',
			'provider_label' => __( 'CRM', 'bpm-bridge' ),
			'none_label'     => __( 'None (do not send customers and orders)', 'bpm-bridge' ),
			'providers'      => self::providers(),
			'fields'         => array(
				'line_items' => array(
					'type'     => 'bool',
					'default'  => true,
					'label'    => __( 'Products on deals', 'bpm-bridge' ),
					'checkbox' => __( 'Add the ordered products (name, quantity, price) to each deal', 'bpm-bridge' ),
				),
				'pipeline'   => array(
					'type'        => 'text',
					'default'     => 'default',
					'max'         => 100,
					'label'       => __( 'Pipeline', 'bpm-bridge' ),
					'help'        => __( 'The ID of the pipeline that gets the deals. "Load stages" lists your pipelines with their IDs. HubSpot\'s standard pipeline is "default".', 'bpm-bridge' ),
					'placeholder' => 'default',
				),
				'stages'     => $stages,
			),
		);
	}

	/**
	 * The stage map's keys: every order status WooCommerce knows (custom ones included), without "wc-".
	 *
	 * @return array<string, string> Status slug => status name.
	 */
	public static function status_keys(): array {
		$keys = array();
		if ( function_exists( 'wc_get_order_statuses' ) ) {
			foreach ( wc_get_order_statuses() as $slug => $label ) {
				$keys[ (string) preg_replace( '/^wc-/', '', (string) $slug ) ] = (string) $label;
			}
		}
		if ( array() === $keys ) {
			$keys = array_combine( array_keys( self::DEFAULT_STAGES ), array_keys( self::DEFAULT_STAGES ) );
		}
		return $keys;
	}

	/**
	 * Stage id => "Pipeline: Stage" from the last "Load stages", plus the stage ids stored now (so a stored
	 * value the CRM no longer lists stays selected rather than being cleared by the next save).
	 *
	 * @return array<string, string> Empty while nothing was loaded (the map is then free text).
	 */
	public static function stage_choices(): array {
		$loaded = get_transient( self::PIPELINES_TRANSIENT );
		if ( ! is_array( $loaded ) || empty( $loaded['pipelines'] ) ) {
			return array();
		}
		$choices = array();
		foreach ( (array) $loaded['pipelines'] as $pipeline ) {
			foreach ( (array) ( $pipeline['stages'] ?? array() ) as $stage ) {
				$id = (string) ( $stage['id'] ?? '' );
				if ( '' !== $id ) {
					$choices[ $id ] = (string) ( $pipeline['label'] ?? '' ) . ': ' . (string) ( $stage['label'] ?? $id );
				}
			}
		}
		$stored = get_option( Schema::OPTIONS['crm'], array() );
		$stored = is_array( $stored ) && isset( $stored['stages'] ) && is_array( $stored['stages'] ) ? $stored['stages'] : self::DEFAULT_STAGES;
		foreach ( $stored as $id ) {
			$id = (string) $id;
			if ( '' !== $id && ! isset( $choices[ $id ] ) ) {
				/* translators: %s: a stage ID. */
				$choices[ $id ] = sprintf( __( '%s (not in the loaded pipelines)', 'bpm-bridge' ), $id );
			}
		}
		return $choices;
	}

	/**
	 * The CRMs. Adding one: an entry here (id => label + fields), its provider file in the sidecar.
	 *
	 * @return array<string, array<string, mixed>>
	 */
	private static function providers(): array {
		return array(
			'hubspot'   => array(
				'label'  => 'HubSpot',
				'fields' => array(
					'access_token' => array(
						'type'  => 'credential',
						'label' => __( 'HubSpot access token', 'bpm-bridge' ),
						'help'  => __( 'In HubSpot: Settings → Integrations → Private Apps → Create a private app. On the Scopes tab tick crm.objects.contacts.write, crm.objects.deals.write, crm.schemas.deals.write and crm.objects.line_items.write, create the app and copy its access token (it starts with "pat-").', 'bpm-bridge' ),
					),
					'portal_id'    => array(
						'type'  => 'id',
						'label' => __( 'HubSpot account ID', 'bpm-bridge' ),
						'help'  => __( 'Optional: the number shown next to your account name in HubSpot\'s account menu (also called Hub ID). With it, the order screen links straight to the deal.', 'bpm-bridge' ),
					),
					'base_url'     => array(
						'type'  => 'url',
						'group' => 'sandbox',
						'label' => __( 'HubSpot API address', 'bpm-bridge' ),
					),
				),
			),
			'pipedrive' => array(
				'label'  => 'Pipedrive',
				'fields' => array(
					'company_domain' => array(
						'type'        => 'text',
						'default'     => '',
						'max'         => 63,
						'normalize'   => array( self::class, 'pipedrive_domain' ),
						/* translators: %s: the value the admin entered. */
						'invalid'     => __( 'The Pipedrive company domain "%s" may only contain letters, digits and hyphens; the previous value was kept.', 'bpm-bridge' ),
						'label'       => __( 'Pipedrive company domain', 'bpm-bridge' ),
						'help'        => __( 'The first part of your Pipedrive address: for mojafirma.pipedrive.com enter mojafirma.', 'bpm-bridge' ),
						'placeholder' => 'mojafirma',
					),
					'api_token'      => array(
						'type'  => 'credential',
						'label' => __( 'Pipedrive API token', 'bpm-bridge' ),
						'help'  => __( 'In Pipedrive: your profile picture → Personal preferences → API → copy "Your personal API token".', 'bpm-bridge' ),
					),
					'base_url'       => array(
						'type'  => 'url',
						'group' => 'sandbox',
						'label' => __( 'Pipedrive API address', 'bpm-bridge' ),
					),
				),
			),
			'webhook'   => array(
				'label'  => __( 'Webhook (n8n, Zapier, Make or your own)', 'bpm-bridge' ),
				'fields' => array(
					'url'    => array(
						'type'        => 'text',
						'max'         => 500,
						'normalize'   => array( self::class, 'webhook_url' ),
						/* translators: %s: the address the admin entered. */
						'invalid'     => __( 'Webhook address: "%s" is not an https:// address (plain http is accepted only for this computer or a local development site); the previous value was kept.', 'bpm-bridge' ),
						'label'       => __( 'Webhook address', 'bpm-bridge' ),
						'help'        => __( 'The address of your flow\'s webhook trigger (in n8n: the Webhook node\'s Production URL). Every order change is sent there as signed JSON.', 'bpm-bridge' ),
						'placeholder' => 'https://n8n.example.com/webhook/shop-orders',
					),
					'secret' => array(
						'type'  => 'credential',
						'label' => __( 'Webhook signing secret', 'bpm-bridge' ),
						'help'  => __( 'Your flow checks each request with this secret (Standard Webhooks signatures). Press "Generate" for a new one and copy it into your flow: it is shown only once.', 'bpm-bridge' ),
					),
				),
			),
		);
	}

	/**
	 * The webhook address: https, as order data travels in it; plain http only to this computer (127.0.0.1,
	 * localhost, ::1) or on a site whose environment type is "local" (a developer's flow on the same machine).
	 *
	 * @param string      $text        Cleaned text.
	 * @param string|null $environment Environment type; wp_get_environment_type() when null.
	 * @return string|null Null when it is not acceptable.
	 */
	public static function webhook_url( string $text, ?string $environment = null ): ?string {
		$url = \BPM_Bridge\Settings\Fields::url( $text );
		if ( null === $url || '' === $url ) {
			return $url;
		}
		$parts = wp_parse_url( $url );
		$host  = strtolower( trim( (string) ( $parts['host'] ?? '' ), '[]' ) );
		if ( 'https' === strtolower( (string) ( $parts['scheme'] ?? '' ) ) ) {
			return $url;
		}
		$local = in_array( $host, array( '127.0.0.1', 'localhost', '::1' ), true ) || 'local' === ( $environment ?? wp_get_environment_type() );
		return $local ? $url : null;
	}

	/**
	 * The Pipedrive company domain from what an admin typed: "mojafirma", "mojafirma.pipedrive.com" or a URL.
	 *
	 * @param string $text Cleaned text.
	 * @return string|null Null when it cannot be a company domain.
	 */
	public static function pipedrive_domain( string $text ): ?string {
		$text = strtolower( trim( $text ) );
		if ( '' === $text ) {
			return '';
		}
		$text = (string) preg_replace( '#^https?://#', '', $text );
		$text = (string) preg_replace( '#/.*$#', '', $text );
		$text = (string) preg_replace( '#\.pipedrive\.com$#', '', $text );
		return preg_match( '/^[a-z0-9][a-z0-9-]{0,62}$/', $text ) ? $text : null;
	}
}
