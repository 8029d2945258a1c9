<?php
/**
 * The return rules the shop set (WooCommerce → Settings → BPM Bridge → Returns), with the defaults.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

use BPM_Bridge\Options;

defined( 'ABSPATH' ) || exit;

/**
 * Read-only view of config.rma for the customer side.
 */
final class Rules {

	/**
	 * Defaults, used for keys the settings section does not (yet) define.
	 *
	 * @return array<string,mixed>
	 */
	public static function defaults(): array {
		return array(
			'enabled'                  => false,
			'auto_approve_withdrawals' => false,
			'withdrawal_days'          => 14,
			'complaint_days'           => 730,
			'reasons'                  => array( 'Withdrawal within 14 days (odstąpienie od umowy)', 'Damaged in transit', 'Wrong item', 'Defect (reklamacja)' ),
			'complaint_reasons'        => array( 'Defect (reklamacja)', 'Damaged in transit' ),
			'max_photo_mb'             => 5,
		);
	}

	/**
	 * The settings, defaults filled in.
	 *
	 * @return array<string,mixed>
	 */
	public static function all(): array {
		return array_merge( self::defaults(), Options::get_rma() );
	}

	/**
	 * One setting.
	 *
	 * @param string $key Key.
	 * @return mixed
	 */
	public static function get( string $key ) {
		$all = self::all();
		return $all[ $key ] ?? null;
	}

	/**
	 * Whether the shop takes returns through the plugin.
	 */
	public static function enabled(): bool {
		return (bool) self::get( 'enabled' );
	}

	/**
	 * The reasons a customer picks from.
	 *
	 * @return string[]
	 */
	public static function reasons(): array {
		$reasons = array_values( array_filter( array_map( 'strval', (array) self::get( 'reasons' ) ) ) );
		return $reasons ? $reasons : self::defaults()['reasons'];
	}

	/**
	 * A reason in the reader's language: the default reasons are the plugin's English words and have
	 * translations; a reason the shop typed itself is shown as typed (it is the shop's language already). The
	 * stored value stays the setting's text, so a translation never changes what a return was filed under.
	 *
	 * @param string $reason Reason as stored.
	 */
	public static function reason_label( string $reason ): string {
		$labels = array(
			'Withdrawal within 14 days (odstąpienie od umowy)' => __( 'Withdrawal within 14 days (odstąpienie od umowy)', 'bpm-bridge' ),
			'Damaged in transit'                               => __( 'Damaged in transit', 'bpm-bridge' ),
			'Wrong item'                                       => __( 'Wrong item', 'bpm-bridge' ),
			'Defect (reklamacja)'                              => __( 'Defect (reklamacja)', 'bpm-bridge' ),
		);
		return $labels[ $reason ] ?? $reason;
	}

	/**
	 * Whether a reason makes the return a complaint (2-year window, photos, 14 days to answer).
	 *
	 * @param string $reason Reason.
	 */
	public static function is_complaint_reason( string $reason ): bool {
		return in_array( $reason, array_map( 'strval', (array) self::get( 'complaint_reasons' ) ), true );
	}

	/**
	 * Largest photo in bytes.
	 */
	public static function max_photo_bytes(): int {
		return max( 1, (int) self::get( 'max_photo_mb' ) ) * MB_IN_BYTES;
	}
}
