<?php
/**
 * Return e-mails: the return's number, order and items (plain text).
 *
 * @package BPM_Bridge
 *
 * @var array<string, mixed> $rma   The return.
 */

defined( 'ABSPATH' ) || exit;

echo esc_html__( 'Return number:', 'bpm-bridge' ) . ' ' . esc_html( (string) $rma['number'] ) . "\n";
echo esc_html__( 'Order:', 'bpm-bridge' ) . ' #' . esc_html( (string) $order->get_order_number() ) . "\n\n";
foreach ( (array) $items as $bpm_item ) {
	echo esc_html( (string) $bpm_item['name'] ) . ' × ' . esc_html( (string) $bpm_item['quantity'] ) . ' — ' . esc_html( (string) $bpm_item['reason'] ) . "\n";
}
echo "\n";
