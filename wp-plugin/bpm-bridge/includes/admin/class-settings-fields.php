<?php
/**
 * The settings form: rows from the settings schema, how they render, and posted data → section input.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Admin;

use BPM_Bridge\Settings\Fields;
use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * The form's rows, built from the settings schema (Settings\Schema), their rendering, and the translation of
 * posted form data into section input for Options (which validates it, once).
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
	 * Schema field type => form widget.
	 */
	const WIDGETS = array(
		'enum'       => 'select',
		'bool'       => 'checkbox',
		'text'       => 'text',
		'url'        => 'url',
		'id'         => 'number',
		'credential' => 'credential',
		'triggers'   => 'triggers',
		'int'        => 'number',
		'email'      => 'email',
		'textarea'   => 'textarea',
		'lines'      => 'textarea',
		'map'        => 'map',
	);

	/**
	 * The form's screens (tab sections with fields): id => heading and description.
	 *
	 * @return array<string, array{title: string, desc: string}>
	 */
	public static function screens(): array {
		return array(
			Schema::GENERAL_SCREEN => array(
				'title' => __( 'Sidecar connection', 'bpm-bridge' ),
				'desc'  => __( 'Where BPM Bridge delivers order events, and how it proves they come from this shop.', 'bpm-bridge' ),
			),
			'invoicing'            => array(
				'title' => __( 'Invoicing', 'bpm-bridge' ),
				'desc'  => __( 'Which system issues invoices and receipts for paid orders, and when.', 'bpm-bridge' ),
			),
			'crm'                  => array(
				'title' => __( 'CRM', 'bpm-bridge' ),
				'desc'  => __( 'Where BPM Bridge sends your customers and orders, and what it may send.', 'bpm-bridge' ),
			),
			'returns'              => array(
				'title' => __( 'Returns', 'bpm-bridge' ),
				'desc'  => __( 'How customers return items, who makes the return labels, and the rules BPM Bridge applies.', 'bpm-bridge' ),
			),
		);
	}

	/**
	 * Rows of one screen, in display order.
	 *
	 * Keys are the dotted paths of the GET /config payload (docs/contract.md §3.1), so one name means the
	 * same thing on the screen, in the options and on the sidecar. Schema sections show the provider choice,
	 * the providers' fields, the section's own fields, and last (under "Sandbox") fields of group sandbox.
	 *
	 * @param string $screen Screen id ('' is General).
	 * @return array<int, array<string, mixed>>
	 */
	public static function for_section( string $screen ): array {
		$screens = self::screens();
		if ( ! isset( $screens[ $screen ] ) ) {
			return array();
		}
		$rows = array(
			array(
				'type'  => 'title',
				'title' => $screens[ $screen ]['title'],
				'desc'  => $screens[ $screen ]['desc'],
			),
		);
		if ( Schema::GENERAL_SCREEN === $screen ) {
			return array_merge( $rows, self::general_rows() );
		}
		$sandbox = array();
		foreach ( Schema::sections() as $id => $section ) {
			if ( $screen !== $section['screen'] ) {
				continue;
			}
			// The provider choice and the providers' fields first, where an admin looks for them after choosing.
			$fields = Schema::fields( $section );
			$own    = array_diff_key( (array) $section['fields'], array( 'provider' => true ) );
			$fields = array_diff_key( $fields, $own ) + array_intersect_key( $fields, $own );
			foreach ( $fields as $path => $field ) {
				$row = array(
					'key'         => $id . '.' . $path,
					'section'     => (string) $id,
					'path'        => (string) $path,
					'type'        => self::WIDGETS[ $field['type'] ],
					'title'       => (string) ( $field['label'] ?? $path ),
					'desc'        => (string) ( $field['help'] ?? '' ),
					'label'       => (string) ( $field['checkbox'] ?? '' ),
					'options'     => (array) ( $field['choices'] ?? array() ),
					'placeholder' => (string) ( $field['placeholder'] ?? '' ),
					'min'         => (int) ( $field['min'] ?? 1 ),
					'keys'        => 'map' === $field['type'] ? Fields::map_keys( $field ) : array(),
				);
				if ( 'sandbox' === ( $field['group'] ?? '' ) ) {
					$sandbox[] = $row;
				} else {
					$rows[] = $row;
				}
			}
		}
		if ( array() !== $sandbox ) {
			$rows[] = array(
				'type'  => 'title',
				'title' => __( 'Sandbox', 'bpm-bridge' ),
				'desc'  => __( 'Leave these empty in production: they point the sidecar at the BPM Bridge sandbox simulators instead of the real services.', 'bpm-bridge' ),
			);
			$rows   = array_merge( $rows, $sandbox );
		}
		return $rows;
	}

	/**
	 * The General screen: the sidecar URL and the connection's custom rows.
	 *
	 * @return array<int, array<string, mixed>>
	 */
	private static function general_rows(): array {
		return array(
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
	}

	/**
	 * Prints the rows of a screen as a WordPress form table.
	 *
	 * @param array<int, array<string, mixed>> $fields  Rows from for_section().
	 * @param array<string, mixed>             $context Values: "values" (section id => Options::form_values(),
	 *                                                  plus "sidecar_url") and what the custom rows need.
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
	 * Turns the posted form into input for Options::set(), per section. This is form mechanics only (an
	 * unchecked box is absent, an empty password field means "keep", the extra trigger row); validation
	 * happens once, in Options.
	 *
	 * @param array<int, array<string, mixed>> $fields Rows from for_section().
	 * @param array<string, mixed>             $posted The unslashed posted array.
	 * @return array<string, array<string, mixed>> Section id ('' for the sidecar URL) => nested input.
	 */
	public static function input( array $fields, array $posted ): array {
		$input = array();
		foreach ( $fields as $field ) {
			if ( empty( $field['key'] ) ) {
				continue;
			}
			$key = (string) $field['key'];
			$raw = $posted[ $key ] ?? null;
			if ( ! isset( $field['section'] ) ) {
				// The General screen's sidecar URL: not a schema section.
				$input[''][ $key ] = is_string( $raw ) ? $raw : '';
				continue;
			}
			switch ( $field['type'] ) {
				case 'checkbox':
					$raw = ( '1' === $raw || 'yes' === $raw );
					break;
				case 'credential':
					$raw = is_string( $raw ) ? trim( $raw ) : '';
					if ( '' === $raw && empty( $posted[ $key . '.forget' ] ) ) {
						continue 2;
					}
					$raw = '' === $raw ? null : $raw;
					break;
				case 'triggers':
					$raw = self::triggers_input( is_array( $raw ) ? $raw : array() );
					break;
				case 'map':
					$raw = is_array( $raw ) ? $raw : array();
					break;
				default:
					if ( null === $raw ) {
						continue 2;
					}
			}
			if ( ! isset( $input[ $field['section'] ] ) ) {
				$input[ $field['section'] ] = array();
			}
			Fields::set( $input[ $field['section'] ], (string) $field['path'], $raw );
		}
		return $input;
	}

	/**
	 * The trigger table's posted value, with the extra row ("another payment method id") folded in.
	 *
	 * @param array<string, mixed> $raw Posted ["default" => ..., "by_payment_method" => [...], "extra_gateway", "extra_trigger"].
	 * @return array{default: mixed, by_payment_method: array<string, mixed>}
	 */
	private static function triggers_input( array $raw ): array {
		$by    = isset( $raw['by_payment_method'] ) && is_array( $raw['by_payment_method'] ) ? $raw['by_payment_method'] : array();
		$extra = isset( $raw['extra_gateway'] ) ? sanitize_key( (string) $raw['extra_gateway'] ) : '';
		if ( '' !== $extra && ! empty( $raw['extra_trigger'] ) ) {
			$by[ $extra ] = $raw['extra_trigger'];
		}
		return array(
			'default'           => $raw['default'] ?? '',
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
		$value = null;
		if ( isset( $field['section'] ) ) {
			$value = Fields::get( (array) ( $context['values'][ $field['section'] ] ?? array() ), (string) $field['path'] );
		} elseif ( '' !== $key ) {
			$value = $context['values'][ $key ] ?? null;
		}

		echo '<tr valign="top"><th scope="row" class="titledesc">';
		if ( in_array( $field['type'], array( 'url', 'text', 'number', 'email', 'textarea', 'select', 'credential' ), true ) ) {
			echo '<label for="' . esc_attr( $id ) . '">' . esc_html( $field['title'] ) . '</label>';
		} else {
			echo esc_html( $field['title'] );
		}
		echo '</th><td class="forminp forminp-' . esc_attr( $field['type'] ) . '">';

		switch ( $field['type'] ) {
			case 'url':
			case 'text':
			case 'email':
			case 'number':
				printf(
					'<input type="%1$s" id="%2$s" name="%3$s" value="%4$s" class="regular-text" placeholder="%5$s"%6$s />',
					esc_attr( 'text' === $field['type'] ? 'text' : $field['type'] ),
					esc_attr( $id ),
					esc_attr( $name ),
					esc_attr( null === $value ? '' : (string) $value ),
					esc_attr( $field['placeholder'] ?? '' ),
					'number' === $field['type'] ? ' min="' . esc_attr( (string) ( $field['min'] ?? 1 ) ) . '" step="1"' : ''
				);
				break;
			case 'textarea':
				printf(
					'<textarea id="%1$s" name="%2$s" rows="5" class="large-text" placeholder="%3$s">%4$s</textarea>',
					esc_attr( $id ),
					esc_attr( $name ),
					esc_attr( $field['placeholder'] ?? '' ),
					esc_textarea( is_array( $value ) ? implode( "\n", array_map( 'strval', $value ) ) : (string) $value )
				);
				break;
			case 'map':
				self::map( $id, $name, is_array( $value ) ? $value : array(), $field );
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
				self::triggers( $id, $name, is_array( $value ) ? $value : array(), (array) $field['options'] );
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
	 * A map field: one labelled input (or select, when the field has choices) per key.
	 *
	 * @param string               $id    Input id prefix.
	 * @param string               $name  Input name.
	 * @param array<string, mixed> $value Stored map.
	 * @param array<string, mixed> $field Row.
	 */
	private static function map( string $id, string $name, array $value, array $field ): void {
		echo '<table class="bpm-bridge-map">';
		foreach ( (array) $field['keys'] as $key => $label ) {
			$input_id = $id . '_' . sanitize_key( (string) $key );
			$current  = (string) ( $value[ $key ] ?? '' );
			echo '<tr><td><label for="' . esc_attr( $input_id ) . '">' . esc_html( (string) $label ) . '</label></td><td>';
			if ( array() !== (array) $field['options'] ) {
				self::choice( $input_id, $name . '[' . $key . ']', array( '' => '—' ) + (array) $field['options'], $current );
			} else {
				printf(
					'<input type="text" id="%1$s" name="%2$s" value="%3$s" class="regular-text" />',
					esc_attr( $input_id ),
					esc_attr( $name . '[' . $key . ']' ),
					esc_attr( $current )
				);
			}
			echo '</td></tr>';
		}
		echo '</table>';
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
	 * @param array<string, mixed> $value   Saved trigger setting.
	 * @param array<string, string> $choices Trigger => label, from the schema.
	 */
	private static function triggers( string $id, string $name, array $value, array $choices ): void {
		$default = isset( $value['default'] ) ? (string) $value['default'] : '';
		$by      = isset( $value['by_payment_method'] ) && is_array( $value['by_payment_method'] ) ? $value['by_payment_method'] : array();

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
