<?php
/**
 * Customer-facing return templates; a theme overrides one by copying it to bpm-bridge/returns/ in the theme.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

defined( 'ABSPATH' ) || exit;

/**
 * Renders templates/returns/{name}.php with $args.
 */
final class Templates {

	/**
	 * The rendered template.
	 *
	 * @param string              $name Template name (letters and dashes).
	 * @param array<string,mixed> $args Variables, available as $args.
	 */
	public static function render( string $name, array $args ): string {
		$name  = sanitize_key( $name );
		$theme = locate_template( 'bpm-bridge/returns/' . $name . '.php' );
		$file  = '' !== $theme ? $theme : BPM_BRIDGE_DIR . '/templates/returns/' . $name . '.php';
		ob_start();
		include $file;
		return (string) ob_get_clean();
	}

	/**
	 * A field's error, escaped, or ''.
	 *
	 * @param array  $errors Errors.
	 * @param string $field  Field.
	 */
	public static function error( array $errors, string $field ): string {
		if ( empty( $errors[ $field ] ) ) {
			return '';
		}
		return '<p class="bpm-return-error" id="bpm-error-' . esc_attr( $field ) . '" role="alert">' . esc_html( (string) $errors[ $field ] ) . '</p>';
	}
}
