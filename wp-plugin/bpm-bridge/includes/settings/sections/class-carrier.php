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
 * Return carrier: who makes return labels.
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
			'none_label'     => __( 'None', 'bpm-bridge' ),
			'providers'      => array(),
			'fields'         => array(),
		);
	}
}
