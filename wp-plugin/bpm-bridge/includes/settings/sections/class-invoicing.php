<?php
/**
 * The invoicing section of the settings schema.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Settings\Sections;

use BPM_Bridge\Settings\Fields;
use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * Invoicing: which system issues documents, when, and how.
 */
final class Invoicing {

	/**
	 * The section (Schema's section format).
	 *
	 * @return array<string, mixed>
	 */
	public static function section(): array {
		return array(
			'option'         => Schema::OPTIONS['invoicing'],
			'screen'         => 'invoicing',
			'provider_label' => __( 'Invoicing system', 'bpm-bridge' ),
			'none_label'     => __( 'None (do not issue documents)', 'bpm-bridge' ),
			'providers'      => self::providers(),
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
		);
	}

	/**
	 * The providers. Adding one: an entry here (id => label + fields), its strings in languages/.
	 *
	 * @return array<string, array<string, mixed>>
	 */
	private static function providers(): array {
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
}
