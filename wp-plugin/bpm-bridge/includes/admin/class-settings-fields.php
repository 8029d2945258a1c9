<?php
/**
 * The settings form: which fields each section has, how they render and how posted values are cleaned.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

defined( 'ABSPATH' ) || exit;

/**
 * Field definitions, rendering and sanitising, independent of WooCommerce's settings classes.
 *
 * Kept apart from the WC_Settings_Page subclass so the form logic does not depend on WooCommerce having
 * loaded its settings framework (it only does so on its own settings screen).
 */
final class Settings_Fields {

	/**
	 * Name of the posted array holding every BPM Bridge field.
	 */
	const INPUT = 'bpm_bridge';

	/**
	 * Fields of one section, in display order.
	 *
	 * Keys use the dotted paths of the GET /config payload (docs/contract.md §3.1), so one name means the
	 * same thing on the screen, in the options and on the sidecar.
	 *
	 * @param string $section Section id ('' is General).
	 * @return array<int, array<string, mixed>>
	 */
	public static function for_section( string $section ): array {
		switch ( $section ) {
			case '':
				return array(
					array(
						'type'  => 'title',
						'title' => __( 'Sidecar connection', 'bpm-bridge' ),
						'desc'  => __( 'Where BPM Bridge delivers order events, and how it proves they come from this shop.', 'bpm-bridge' ),
					),
					array(
						'key'         => 'sidecar_url',
						'type'        => 'url',
						'title'       => __( 'Sidecar URL', 'bpm-bridge' ),
						'desc'        => __( 'Base address of the BPM Bridge sidecar, for example http://10.0.0.5:8000. Events are sent to {URL}/v1/events.', 'bpm-bridge' ),
						'placeholder' => 'https://bpm.example.internal',
					),
					array(
						'type'  => 'secret',
						'title' => __( 'Signing secret', 'bpm-bridge' ),
					),
					array(
						'type'  => 'connection',
						'title' => __( 'Connection test', 'bpm-bridge' ),
					),
					array(
						'type'  => 'api_user',
						'title' => __( 'Sidecar user', 'bpm-bridge' ),
					),
				);
			case 'invoicing':
				return array(
					array(
						'type'  => 'title',
						'title' => __( 'Invoicing', 'bpm-bridge' ),
						'desc'  => __( 'Which system issues invoices and receipts for paid orders, and when.', 'bpm-bridge' ),
					),
					array(
						'key'     => 'invoicing.provider',
						'type'    => 'select',
						'title'   => __( 'Invoicing system', 'bpm-bridge' ),
						'options' => array(
							'none'        => __( 'None (do not issue documents)', 'bpm-bridge' ),
							'fakturownia' => 'Fakturownia',
							'infakt'      => 'inFakt',
						),
					),
					array(
						'key'         => 'invoicing.fakturownia.domain',
						'type'        => 'text',
						'title'       => __( 'Fakturownia account', 'bpm-bridge' ),
						'desc'        => __( 'The first part of your Fakturownia address: for mojafirma.fakturownia.pl enter mojafirma.', 'bpm-bridge' ),
						'placeholder' => 'mojafirma',
					),
					array(
						'key'   => 'invoicing.fakturownia.api_token',
						'type'  => 'credential',
						'title' => __( 'Fakturownia API token', 'bpm-bridge' ),
						'desc'  => __( 'In Fakturownia: Settings → Account settings → Integration → API authorization code.', 'bpm-bridge' ),
					),
					array(
						'key'   => 'invoicing.fakturownia.department_id',
						'type'  => 'number',
						'title' => __( 'Fakturownia department ID', 'bpm-bridge' ),
						'desc'  => __( 'Optional. The seller department whose details appear on documents; leave empty for the default one.', 'bpm-bridge' ),
					),
					array(
						'key'   => 'invoicing.infakt.api_key',
						'type'  => 'credential',
						'title' => __( 'inFakt API key', 'bpm-bridge' ),
						'desc'  => __( 'In inFakt: Settings → Other options → API.', 'bpm-bridge' ),
					),
					array(
						'key'   => 'invoicing.trigger',
						'type'  => 'triggers',
						'title' => __( 'Issue the document', 'bpm-bridge' ),
						'desc'  => __( 'A payment method set to "when completed" (for example cash on delivery) gets its document only when the order is marked completed.', 'bpm-bridge' ),
					),
					array(
						'key'     => 'invoicing.b2c_document',
						'type'    => 'select',
						'title'   => __( 'Document for buyers without a NIP', 'bpm-bridge' ),
						'options' => array(
							'receipt' => __( 'Receipt', 'bpm-bridge' ),
							'invoice' => __( 'Invoice without a NIP', 'bpm-bridge' ),
						),
						'desc'    => __( 'Buyers who give a NIP at checkout always get a VAT invoice.', 'bpm-bridge' ),
					),
					array(
						'key'   => 'invoicing.send_email',
						'type'  => 'checkbox',
						'title' => __( 'E-mail the document', 'bpm-bridge' ),
						'label' => __( 'Have the invoicing system e-mail the document to the buyer', 'bpm-bridge' ),
					),
					array(
						'key'         => 'invoicing.exemption_reason',
						'type'        => 'text',
						'title'       => __( 'VAT exemption basis', 'bpm-bridge' ),
						'desc'        => __( 'Printed on documents with items exempt from VAT (rate "zw"). Leave empty if you sell no exempt items.', 'bpm-bridge' ),
						'placeholder' => 'art. 43 ust. 1 pkt 2 ustawy o VAT',
					),
					array(
						'type'  => 'title',
						'title' => __( 'Sandbox', 'bpm-bridge' ),
						'desc'  => __( 'Leave these empty in production: they point the sidecar at the BPM Bridge sandbox simulators instead of the real services.', 'bpm-bridge' ),
					),
					array(
						'key'         => 'invoicing.fakturownia.base_url',
						'type'        => 'url',
						'title'       => __( 'Fakturownia API address', 'bpm-bridge' ),
						'placeholder' => '',
					),
					array(
						'key'         => 'invoicing.infakt.base_url',
						'type'        => 'url',
						'title'       => __( 'inFakt API address', 'bpm-bridge' ),
						'placeholder' => '',
					),
				);
			case 'integrations':
				return array(
					array(
						'type'  => 'title',
						'title' => __( 'CRM, carriers and returns', 'bpm-bridge' ),
						'desc'  => __( 'Destinations BPM Bridge can send orders and returns to.', 'bpm-bridge' ),
					),
					array(
						'key'     => 'crm.provider',
						'type'    => 'select',
						'title'   => __( 'CRM', 'bpm-bridge' ),
						'options' => self::providers( 'bpm_bridge_crm_providers' ),
					),
					array(
						'key'     => 'carrier.provider',
						'type'    => 'select',
						'title'   => __( 'Return carrier', 'bpm-bridge' ),
						'options' => self::providers( 'bpm_bridge_carrier_providers' ),
					),
					array(
						'key'   => 'rma.enabled',
						'type'  => 'checkbox',
						'title' => __( 'Returns', 'bpm-bridge' ),
						'label' => __( 'Process return requests (RMA) through BPM Bridge', 'bpm-bridge' ),
					),
				);
		}
		return array();
	}

	/**
	 * Provider choices: the ids the runtime accepts (the same filter Options validates with).
	 *
	 * @param string $filter Filter name, e.g. bpm_bridge_crm_providers.
	 * @return array<string, string> Id => label.
	 */
	private static function providers( string $filter ): array {
		$options = array();
		foreach ( (array) apply_filters( $filter, array( 'none' ) ) as $id ) {
			$id             = sanitize_key( (string) $id );
			$options[ $id ] = 'none' === $id ? __( 'None', 'bpm-bridge' ) : $id;
		}
		return $options;
	}

	/**
	 * Prints the fields of a section as a WordPress form table.
	 *
	 * @param array<int, array<string, mixed>> $fields  Fields from for_section().
	 * @param array<string, mixed>             $context Extra values the custom rows need (secret status ...).
	 */
	public static function render( array $fields, array $context = array() ): void {
		$open = false;
		foreach ( $fields as $field ) {
			if ( 'title' === $field['type'] ) {
				if ( $open ) {
					echo '</table>';
				}
				echo '<h2>' . esc_html( $field['title'] ) . '</h2>';
				if ( ! empty( $field['desc'] ) ) {
					echo '<p>' . esc_html( $field['desc'] ) . '</p>';
				}
				echo '<table class="form-table bpm-bridge-form">';
				$open = true;
				continue;
			}
			if ( ! $open ) {
				echo '<table class="form-table bpm-bridge-form">';
				$open = true;
			}
			self::row( $field, $context );
		}
		if ( $open ) {
			echo '</table>';
		}
	}

	/**
	 * Cleans the posted values of a section.
	 *
	 * Credentials left empty keep their saved value (the form never holds them); "forget" boxes clear them.
	 *
	 * @param array<int, array<string, mixed>> $fields Fields from for_section().
	 * @param array<string, mixed>             $input  The unslashed posted array.
	 * @return array{values: array<string, mixed>, errors: array<int, string>}
	 */
	public static function sanitize( array $fields, array $input ): array {
		$values = array();
		$errors = array();
		foreach ( $fields as $field ) {
			if ( empty( $field['key'] ) ) {
				continue;
			}
			$key = (string) $field['key'];
			$raw = $input[ $key ] ?? null;
			switch ( $field['type'] ) {
				case 'url':
					$url = is_string( $raw ) ? trim( $raw ) : '';
					if ( '' === $url ) {
						$values[ $key ] = '';
						break;
					}
					$clean = esc_url_raw( $url, array( 'http', 'https' ) );
					$parts = wp_parse_url( $clean );
					if ( '' === $clean || empty( $parts['host'] ) || ! empty( $parts['query'] ) || ! empty( $parts['fragment'] ) ) {
						/* translators: 1: field name, 2: the value the admin entered. */
						$errors[] = sprintf( __( '%1$s: "%2$s" is not an http(s) address; the previous value was kept.', 'bpm-bridge' ), $field['title'], $url );
						break;
					}
					$values[ $key ] = untrailingslashit( $clean );
					break;
				case 'text':
					$text = is_string( $raw ) ? sanitize_text_field( $raw ) : '';
					if ( 'invoicing.fakturownia.domain' === $key ) {
						$domain = self::fakturownia_account( $text );
						if ( null === $domain ) {
							/* translators: %s: the value the admin entered. */
							$errors[] = sprintf( __( 'The Fakturownia account "%s" may only contain letters, digits and hyphens; the previous value was kept.', 'bpm-bridge' ), $text );
							break;
						}
						$text = $domain;
					}
					$values[ $key ] = mb_substr( $text, 0, 200 );
					break;
				case 'number':
					$number         = is_string( $raw ) ? trim( $raw ) : '';
					$values[ $key ] = ( '' === $number || ! ctype_digit( $number ) || 0 === absint( $number ) ) ? null : absint( $number );
					break;
				case 'select':
					$choice = is_string( $raw ) ? sanitize_key( $raw ) : '';
					if ( isset( $field['options'][ $choice ] ) ) {
						$values[ $key ] = $choice;
					}
					break;
				case 'checkbox':
					$values[ $key ] = ( '1' === $raw || 'yes' === $raw );
					break;
				case 'credential':
					$forget = ! empty( $input[ $key . '.forget' ] );
					$secret = is_string( $raw ) ? trim( $raw ) : '';
					if ( '' !== $secret && ! preg_match( '/^[\x21-\x7e]{8,200}$/', $secret ) ) {
						/* translators: %s: field name. */
						$errors[] = sprintf( __( '%s looks wrong (expected 8–200 characters without spaces); the saved value was kept.', 'bpm-bridge' ), $field['title'] );
						break;
					}
					if ( '' !== $secret ) {
						$values[ $key ] = $secret;
					} elseif ( $forget ) {
						$values[ $key ] = '';
					}
					break;
				case 'triggers':
					$values[ $key ] = self::sanitize_triggers( is_array( $raw ) ? $raw : array() );
					break;
			}
		}
		return array(
			'values' => $values,
			'errors' => $errors,
		);
	}

	/**
	 * The account name from what an admin typed: "mojafirma", "mojafirma.fakturownia.pl" or a full URL.
	 *
	 * @param string $text Cleaned text.
	 * @return string|null Null when it cannot be an account name.
	 */
	public static function fakturownia_account( string $text ): ?string {
		$text = strtolower( trim( $text ) );
		if ( '' === $text ) {
			return '';
		}
		$text = preg_replace( '#^https?://#', '', $text );
		$text = preg_replace( '#/.*$#', '', (string) $text );
		$text = preg_replace( '#\.fakturownia\.pl$#', '', (string) $text );
		return preg_match( '/^[a-z0-9][a-z0-9-]{0,62}$/', (string) $text ) ? (string) $text : null;
	}

	/**
	 * Cleans the trigger table: a default plus per payment method overrides.
	 *
	 * @param array<string, mixed> $raw Posted ["default" => ..., "by_payment_method" => [gateway => ...]].
	 * @return array{default: string, by_payment_method: array<string, string>}
	 */
	private static function sanitize_triggers( array $raw ): array {
		$allowed = array( 'paid', 'completed' );
		$default = isset( $raw['default'] ) && in_array( $raw['default'], $allowed, true ) ? $raw['default'] : 'paid';
		$by      = array();
		$posted  = isset( $raw['by_payment_method'] ) && is_array( $raw['by_payment_method'] ) ? $raw['by_payment_method'] : array();
		foreach ( $posted as $gateway => $trigger ) {
			$gateway = sanitize_key( (string) $gateway );
			if ( '' !== $gateway && in_array( $trigger, $allowed, true ) && $trigger !== $default ) {
				$by[ $gateway ] = $trigger;
			}
		}
		$extra = isset( $raw['extra_gateway'] ) ? sanitize_key( (string) $raw['extra_gateway'] ) : '';
		if ( '' !== $extra && isset( $raw['extra_trigger'] ) && in_array( $raw['extra_trigger'], $allowed, true ) && $raw['extra_trigger'] !== $default ) {
			$by[ $extra ] = $raw['extra_trigger'];
		}
		ksort( $by );
		return array(
			'default'           => $default,
			'by_payment_method' => $by,
		);
	}

	/**
	 * One table row.
	 *
	 * @param array<string, mixed> $field   Field definition.
	 * @param array<string, mixed> $context Values for the custom rows.
	 */
	private static function row( array $field, array $context ): void {
		$key   = isset( $field['key'] ) ? (string) $field['key'] : '';
		$id    = 'bpm_bridge_' . str_replace( '.', '_', $key ? $key : $field['type'] );
		$name  = self::INPUT . '[' . $key . ']';
		$value = $key ? Runtime::get_setting( $key ) : null;

		echo '<tr valign="top"><th scope="row" class="titledesc">';
		if ( in_array( $field['type'], array( 'url', 'text', 'number', 'select', 'credential' ), true ) ) {
			echo '<label for="' . esc_attr( $id ) . '">' . esc_html( $field['title'] ) . '</label>';
		} else {
			echo esc_html( $field['title'] );
		}
		echo '</th><td class="forminp forminp-' . esc_attr( $field['type'] ) . '">';

		switch ( $field['type'] ) {
			case 'url':
			case 'text':
			case 'number':
				printf(
					'<input type="%1$s" id="%2$s" name="%3$s" value="%4$s" class="regular-text" placeholder="%5$s"%6$s />',
					esc_attr( 'text' === $field['type'] ? 'text' : $field['type'] ),
					esc_attr( $id ),
					esc_attr( $name ),
					esc_attr( null === $value ? '' : (string) $value ),
					esc_attr( $field['placeholder'] ?? '' ),
					'number' === $field['type'] ? ' min="1" step="1"' : ''
				);
				break;
			case 'select':
				echo '<select id="' . esc_attr( $id ) . '" name="' . esc_attr( $name ) . '">';
				foreach ( $field['options'] as $option => $label ) {
					printf(
						'<option value="%1$s"%2$s>%3$s</option>',
						esc_attr( $option ),
						selected( (string) $value, (string) $option, false ),
						esc_html( $label )
					);
				}
				echo '</select>';
				break;
			case 'checkbox':
				printf(
					'<label for="%1$s"><input type="checkbox" id="%1$s" name="%2$s" value="1"%3$s /> %4$s</label>',
					esc_attr( $id ),
					esc_attr( $name ),
					checked( (bool) $value, true, false ),
					esc_html( $field['label'] ?? '' )
				);
				break;
			case 'credential':
				self::credential( $field, $id, $name, (bool) $value );
				break;
			case 'triggers':
				self::triggers( $id, $name, is_array( $value ) ? $value : array() );
				break;
			case 'secret':
				Views::template( 'admin/secret-row.php', $context );
				break;
			case 'connection':
				Views::template( 'admin/connection-row.php', $context );
				break;
			case 'api_user':
				Views::template( 'admin/api-user-row.php', $context );
				break;
		}

		if ( ! empty( $field['desc'] ) && 'title' !== $field['type'] ) {
			echo '<p class="description">' . esc_html( $field['desc'] ) . '</p>';
		}
		echo '</td></tr>';
	}

	/**
	 * A write-only input: never filled with the saved value, which the browser therefore never receives.
	 *
	 * @param array<string, mixed> $field Field definition.
	 * @param string               $id    Input id.
	 * @param string               $name  Input name.
	 * @param bool                 $saved Whether a value is stored.
	 */
	private static function credential( array $field, string $id, string $name, bool $saved ): void {
		printf(
			'<input type="password" id="%1$s" name="%2$s" value="" class="regular-text" autocomplete="new-password" spellcheck="false" placeholder="%3$s" />',
			esc_attr( $id ),
			esc_attr( $name ),
			esc_attr( $saved ? __( '•••• saved', 'bpm-bridge' ) : '' )
		);
		if ( $saved ) {
			echo ' <span class="bpm-bridge-muted">' . esc_html__( 'Saved. Leave empty to keep it, or type a new one to replace it.', 'bpm-bridge' ) . '</span>';
			printf(
				'<br /><label><input type="checkbox" name="%1$s" value="1" /> %2$s</label>',
				esc_attr( self::INPUT . '[' . $field['key'] . '.forget]' ),
				esc_html__( 'Remove the saved value', 'bpm-bridge' )
			);
		}
	}

	/**
	 * The default trigger and one override per payment method.
	 *
	 * @param string               $id    Base id.
	 * @param string               $name  Base input name.
	 * @param array<string, mixed> $value Saved trigger setting.
	 */
	private static function triggers( string $id, string $name, array $value ): void {
		$default = isset( $value['default'] ) ? (string) $value['default'] : 'paid';
		$by      = isset( $value['by_payment_method'] ) && is_array( $value['by_payment_method'] ) ? $value['by_payment_method'] : array();
		$choices = array(
			'paid'      => __( 'when paid', 'bpm-bridge' ),
			'completed' => __( 'when completed', 'bpm-bridge' ),
		);

		echo '<table class="bpm-bridge-trigger-table"><tbody>';
		echo '<tr><td><label for="' . esc_attr( $id . '_default' ) . '">' . esc_html__( 'All payment methods', 'bpm-bridge' ) . '</label></td><td>';
		self::choice( $id . '_default', $name . '[default]', $choices, $default );
		echo '</td></tr>';

		$gateways = Runtime::payment_gateways();
		foreach ( array_keys( $by ) as $gateway ) {
			if ( ! isset( $gateways[ $gateway ] ) ) {
				$gateways[ $gateway ] = $gateway;
			}
		}
		foreach ( $gateways as $gateway => $label ) {
			$field_id = $id . '_' . sanitize_key( $gateway );
			printf(
				'<tr><td><label for="%1$s">%2$s<code>%3$s</code></label></td><td>',
				esc_attr( $field_id ),
				// A payment method known only by its id (added in the extra row) has no separate title.
				$label === $gateway ? '' : esc_html( $label ) . ' ',
				esc_html( $gateway )
			);
			$options = array( '' => __( 'as for all payment methods', 'bpm-bridge' ) ) + $choices;
			self::choice( $field_id, $name . '[by_payment_method][' . $gateway . ']', $options, (string) ( $by[ $gateway ] ?? '' ) );
			echo '</td></tr>';
		}

		echo '<tr><td><input type="text" id="' . esc_attr( $id . '_extra' ) . '" name="' . esc_attr( $name . '[extra_gateway]' ) . '" value="" class="bpm-bridge-gateway-id" placeholder="' . esc_attr__( 'payment method id', 'bpm-bridge' ) . '" aria-label="' . esc_attr__( 'Another payment method id', 'bpm-bridge' ) . '" /></td><td>';
		self::choice( $id . '_extra_trigger', $name . '[extra_trigger]', array( '' => '—' ) + $choices, '' );
		echo '</td></tr>';
		echo '</tbody></table>';
	}

	/**
	 * A select element.
	 *
	 * @param string                $id       Element id.
	 * @param string                $name     Input name.
	 * @param array<string, string> $options  Value => label.
	 * @param string                $selected Selected value.
	 */
	private static function choice( string $id, string $name, array $options, string $selected ): void {
		echo '<select id="' . esc_attr( $id ) . '" name="' . esc_attr( $name ) . '">';
		foreach ( $options as $option => $label ) {
			printf(
				'<option value="%1$s"%2$s>%3$s</option>',
				esc_attr( $option ),
				selected( $selected, (string) $option, false ),
				esc_html( $label )
			);
		}
		echo '</select>';
	}
}
