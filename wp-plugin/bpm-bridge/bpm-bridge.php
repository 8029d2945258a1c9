<?php
/**
 * Plugin Name:       BPM Bridge
 * Plugin URI:        https://github.com/bpm-bridge/bpm-bridge
 * Description:       Sends WooCommerce order events to the BPM Bridge sidecar (invoices, return labels, CRM) through a durable, signed outbox.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            BPM Bridge
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       bpm-bridge
 * Domain Path:       /languages
 * WC requires at least: 7.8
 * WC tested up to:   9.2
 *
 * @package BPM_Bridge
 */

defined( 'ABSPATH' ) || exit;

define( 'BPM_BRIDGE_VERSION', '0.1.0' );
define( 'BPM_BRIDGE_FILE', __FILE__ );
define( 'BPM_BRIDGE_DIR', __DIR__ );

require_once __DIR__ . '/includes/autoload.php';

// WooCommerce only honours the declaration when it is made during this hook, from the main plugin file.
add_action(
	'before_woocommerce_init',
	static function () {
		if ( class_exists( \Automattic\WooCommerce\Utilities\FeaturesUtil::class ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', __FILE__, true );
		}
	}
);

register_activation_hook( __FILE__, array( \BPM_Bridge\Installer::class, 'activate' ) );
register_deactivation_hook( __FILE__, array( \BPM_Bridge\Installer::class, 'deactivate' ) );
register_deactivation_hook( __FILE__, array( \BPM_Bridge\Returns\Order_Status::class, 'deactivate' ) );

\BPM_Bridge\Plugin::boot();
