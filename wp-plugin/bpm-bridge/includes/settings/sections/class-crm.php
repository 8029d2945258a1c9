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
 * CRM: where customers and orders are pushed.
 */
final class Crm {

	/**
	 * The section (Schema's section format).
	 *
	 * @return array<string, mixed>
	 */
	public static function section(): array {
		return array(
			'option'         => Schema::OPTIONS['crm'],
			'screen'         => 'crm',
			'provider_label' => __( 'CRM', 'bpm-bridge' ),
			'none_label'     => __( 'None', 'bpm-bridge' ),
			'providers'      => array(),
			'fields'         => array(),
		);
	}
}
