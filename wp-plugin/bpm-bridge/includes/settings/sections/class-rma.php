<?php
/**
 * The returns (RMA) section of the settings schema.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings\Sections;

use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * Returns: the rules of the return process.
 */
final class Rma {

	/**
	 * The section (Schema's section format).
	 *
	 * @return array<string, mixed>
	 */
	public static function section(): array {
		return array(
			'option' => Schema::OPTIONS['rma'],
			'screen' => 'returns',
			'fields' => array(
				'enabled' => array(
					'type'     => 'bool',
					'default'  => false,
					'label'    => __( 'Returns', 'bpm-bridge' ),
					'checkbox' => __( 'Process return requests (RMA) through BPM Bridge', 'bpm-bridge' ),
				),
			),
		);
	}
}
