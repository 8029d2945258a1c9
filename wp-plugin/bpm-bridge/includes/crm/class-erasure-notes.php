<?php
/**
 * Tools → Erase Personal Data: a "CRM erasure" column with what each CRM answered.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

defined( 'ABSPATH' ) || exit;

/**
 * Adds the column through the list table's own filter and action (WordPress 5.7+).
 */
final class Erasure_Notes {

	const COLUMN = 'bpm_bridge_crm';

	/**
	 * Hooks.
	 */
	public static function register(): void {
		add_filter( 'manage_erase-personal-data_columns', array( self::class, 'columns' ) );
		add_action( 'manage_erase-personal-data_custom_column', array( self::class, 'cell' ), 10, 2 );
	}

	/**
	 * The column, before "Next steps".
	 *
	 * @param array<string, string> $columns Columns.
	 * @return array<string, string>
	 */
	public static function columns( $columns ) {
		$columns = is_array( $columns ) ? $columns : array();
		$out     = array();
		foreach ( $columns as $key => $label ) {
			if ( 'next_steps' === $key ) {
				$out[ self::COLUMN ] = __( 'CRM erasure', 'bpm-bridge' );
			}
			$out[ $key ] = $label;
		}
		if ( ! isset( $out[ self::COLUMN ] ) ) {
			$out[ self::COLUMN ] = __( 'CRM erasure', 'bpm-bridge' );
		}
		return $out;
	}

	/**
	 * One request's cell.
	 *
	 * @param string            $column Column.
	 * @param \WP_User_Request $item   Request.
	 */
	public static function cell( $column, $item ): void {
		if ( self::COLUMN !== $column || ! is_object( $item ) ) {
			return;
		}
		$request_id = (int) $item->ID;
		Crm::template(
			'crm/erasure-cell.php',
			array(
				'queued'   => '' !== (string) get_post_meta( $request_id, Eraser::EVENT_META, true ),
				'outcomes' => Eraser::outcomes( $request_id ),
			)
		);
	}
}
