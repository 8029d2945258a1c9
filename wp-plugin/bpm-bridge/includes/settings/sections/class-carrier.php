<?php
/**
 * The return carrier section of the settings schema.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings\Sections;

use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * Return carrier: who makes return labels (config.carrier on the sidecar). Without one the customer gets a
 * PDF return slip to put in the parcel.
 */
final class Carrier {

	/**
	 * The section (Schema's section format).
	 *
	 * @return array<string, mixed>
	 */
	public static function section(): array {
		return array(
			'option'         => Schema::OPTIONS['carrier'],
			'screen'         => 'returns',
			'provider_label' => __( 'Return carrier', 'bpm-bridge' ),
			'none_label'     => __( 'None (the customer gets a PDF return slip and sends the parcel themselves)', 'bpm-bridge' ),
			'providers'      => self::providers(),
			'fields'         => array(),
		);
	}

	/**
	 * The carriers. Adding one: an entry here (id => label + fields), its provider file in the sidecar.
	 *
	 * @return array<string, array<string, mixed>>
	 */
	private static function providers(): array {
		return array(
			'inpost' => array(
				'label'  => 'InPost',
				'fields' => array(
					'api_token'       => array(
						'type'  => 'credential',
						'label' => __( 'InPost ShipX API token', 'bpm-bridge' ),
						'help'  => __( 'In InPost Manager Paczek: My account → API → generate a token (ShipX). A sandbox token works only with the sandbox address below.', 'bpm-bridge' ),
					),
					'organization_id' => array(
						'type'  => 'id',
						'label' => __( 'InPost organisation ID', 'bpm-bridge' ),
						'help'  => __( 'The number shown next to the token on the same page of InPost Manager Paczek.', 'bpm-bridge' ),
					),
					'parcel_template' => array(
						'type'    => 'enum',
						'default' => 'small',
						'choices' => array(
							'small'  => __( 'Size A (small, up to 8 × 38 × 64 cm)', 'bpm-bridge' ),
							'medium' => __( 'Size B (medium, up to 19 × 38 × 64 cm)', 'bpm-bridge' ),
							'large'  => __( 'Size C (large, up to 41 × 38 × 64 cm)', 'bpm-bridge' ),
						),
						'label'   => __( 'Parcel size for returns', 'bpm-bridge' ),
						'help'    => __( 'The locker size booked for each return parcel. Choose the size most of your returns fit in.', 'bpm-bridge' ),
					),
					'base_url'        => array(
						'type'  => 'url',
						'group' => 'sandbox',
						'label' => __( 'InPost ShipX API address', 'bpm-bridge' ),
					),
				),
			),
		);
	}
}
