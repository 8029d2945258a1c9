<?php
/**
 * Plugin Name: BPM test mail sink
 * Description: Test sites send no e-mail: wp_mail() appends the message to wp-content/mail.log instead
 * (WooCommerce mails the shop and the buyer on every order; the test machine has no sendmail).
 *
 * @package BPM_Bridge_Tests
 */

add_filter(
	'pre_wp_mail',
	static function ( $short_circuit, array $atts ) {
		$line = wp_json_encode(
			array(
				'time'    => gmdate( 'c' ),
				'to'      => $atts['to'],
				'subject' => $atts['subject'],
			)
		);
		// phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_file_put_contents -- test log.
		file_put_contents( WP_CONTENT_DIR . '/mail.log', $line . "\n", FILE_APPEND | LOCK_EX );
		return true;
	},
	10,
	2
);
