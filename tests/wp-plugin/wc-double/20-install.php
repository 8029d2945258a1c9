<?php
/**
 * WooCommerce double: post types, order statuses, roles/capabilities and tables.
 *
 * Mirrors WC_Post_Types::register_post_types()/register_post_status() (shop_order and shop_order_refund with
 * capability_type 'shop_order' and map_meta_cap, product with 'product') and WC_Install (capabilities of
 * administrator and shop_manager, the woocommerce_order_items/itemmeta tables).
 *
 * @package BPM_WC_Double
 */

defined( 'ABSPATH' ) || exit;

const BPM_WC_DOUBLE_DB_VERSION = '3';

/**
 * The double's tax rates (woocommerce_tax_rates in a real shop): rate id => percent, Polish VAT.
 */
const BPM_WC_DOUBLE_TAX_RATES = array(
	1 => 23,
	2 => 8,
	3 => 5,
	4 => 0,
);

/**
 * Register the order, refund and product post types and the wc-* statuses (on 'init', from WooCommerce::init).
 */
function bpm_wc_double_register_post_types() {
	if ( post_type_exists( 'shop_order' ) ) {
		return;
	}
	register_post_type(
		'product',
		array(
			'label'           => __( 'Products', 'woocommerce' ),
			'public'          => true,
			'show_ui'         => true,
			'capability_type' => 'product',
			'map_meta_cap'    => true,
			'hierarchical'    => false,
			'rewrite'         => false,
			'query_var'       => true,
			'supports'        => array( 'title', 'editor', 'excerpt', 'thumbnail', 'custom-fields' ),
			'show_in_rest'    => false,
		)
	);
	register_post_type(
		'shop_order',
		array(
			'labels'              => array(
				'name'          => __( 'Orders', 'woocommerce' ),
				'singular_name' => _x( 'Order', 'shop_order post type singular name', 'woocommerce' ),
				'edit_item'     => __( 'Edit order', 'woocommerce' ),
			),
			'description'         => __( 'This is where store orders are stored.', 'woocommerce' ),
			'public'              => false,
			'show_ui'             => true,
			'capability_type'     => 'shop_order',
			'map_meta_cap'        => true,
			'publicly_queryable'  => false,
			'exclude_from_search' => true,
			'show_in_menu'        => current_user_can( 'edit_others_shop_orders' ) ? 'woocommerce' : true,
			'hierarchical'        => false,
			'show_in_nav_menus'   => false,
			'rewrite'             => false,
			'query_var'           => false,
			'supports'            => array( 'title', 'comments', 'custom-fields' ),
			'has_archive'         => false,
		)
	);
	register_post_type(
		'shop_order_refund',
		array(
			'label'           => __( 'Refunds', 'woocommerce' ),
			'capability_type' => 'shop_order',
			'public'          => false,
			'hierarchical'    => false,
			'supports'        => false,
			'rewrite'         => false,
		)
	);
	foreach ( wc_get_order_statuses() as $status => $label ) {
		register_post_status(
			$status,
			array(
				'label'                     => $label,
				'public'                    => false,
				'exclude_from_search'       => false,
				'show_in_admin_all_list'    => true,
				'show_in_admin_status_list' => true,
				/* translators: %s: number of orders */
				'label_count'               => _n_noop( $label . ' <span class="count">(%s)</span>', $label . ' <span class="count">(%s)</span>', 'woocommerce' ), // phpcs:ignore WordPress.WP.I18n
			)
		);
	}
}

/**
 * WooCommerce's capabilities (WC_Install::get_core_capabilities).
 *
 * @return array<string, string[]>
 */
function bpm_wc_double_core_capabilities() {
	$capabilities         = array();
	$capabilities['core'] = array( 'manage_woocommerce', 'view_woocommerce_reports' );
	foreach ( array( 'product', 'shop_order', 'shop_coupon' ) as $type ) {
		$capabilities[ $type ] = array(
			"edit_{$type}",
			"read_{$type}",
			"delete_{$type}",
			"edit_{$type}s",
			"edit_others_{$type}s",
			"publish_{$type}s",
			"read_private_{$type}s",
			"delete_{$type}s",
			"delete_private_{$type}s",
			"delete_published_{$type}s",
			"delete_others_{$type}s",
			"edit_private_{$type}s",
			"edit_published_{$type}s",
			"manage_{$type}_terms",
			"edit_{$type}_terms",
			"delete_{$type}_terms",
			"assign_{$type}_terms",
		);
	}
	return $capabilities;
}

/**
 * Create roles, capabilities and tables once per double version (WC_Install::install, reduced).
 */
function bpm_wc_double_install() {
	if ( wp_installing() || get_option( 'bpm_wc_double_db_version' ) === BPM_WC_DOUBLE_DB_VERSION ) {
		return;
	}
	global $wpdb;
	add_role( 'customer', 'Customer', array( 'read' => true ) );
	add_role(
		'shop_manager',
		'Shop manager',
		array(
			'read'                   => true,
			'read_private_pages'     => true,
			'read_private_posts'     => true,
			'edit_posts'             => true,
			'edit_pages'             => true,
			'edit_published_posts'   => true,
			'edit_published_pages'   => true,
			'edit_private_pages'     => true,
			'edit_private_posts'     => true,
			'edit_others_posts'      => true,
			'edit_others_pages'      => true,
			'publish_posts'          => true,
			'publish_pages'          => true,
			'delete_posts'           => true,
			'delete_pages'           => true,
			'delete_private_pages'   => true,
			'delete_private_posts'   => true,
			'delete_published_pages' => true,
			'delete_published_posts' => true,
			'delete_others_posts'    => true,
			'delete_others_pages'    => true,
			'manage_categories'      => true,
			'manage_links'           => true,
			'moderate_comments'      => true,
			'upload_files'           => true,
			'export'                 => true,
			'import'                 => true,
			'list_users'             => true,
			'edit_theme_options'     => true,
		)
	);
	foreach ( bpm_wc_double_core_capabilities() as $caps ) {
		foreach ( $caps as $cap ) {
			get_role( 'shop_manager' )->add_cap( $cap );
			get_role( 'administrator' )->add_cap( $cap );
		}
	}

	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	$collate = $wpdb->get_charset_collate();
	// Same schema as WooCommerce's order item tables: item ids are unique across all orders.
	dbDelta(
		"CREATE TABLE {$wpdb->prefix}woocommerce_order_items (
  order_item_id bigint(20) unsigned NOT NULL auto_increment,
  order_item_name text NOT NULL,
  order_item_type varchar(200) NOT NULL default '',
  order_id bigint(20) unsigned NOT NULL,
  PRIMARY KEY  (order_item_id),
  KEY order_id (order_id)
) $collate;
CREATE TABLE {$wpdb->prefix}woocommerce_order_itemmeta (
  meta_id bigint(20) unsigned NOT NULL auto_increment,
  order_item_id bigint(20) unsigned NOT NULL,
  meta_key varchar(255) default NULL,
  meta_value longtext NULL,
  PRIMARY KEY  (meta_id),
  KEY order_item_id (order_item_id),
  KEY meta_key (meta_key(32))
) $collate;
CREATE TABLE {$wpdb->prefix}bpm_wc_double_actions (
  action_id bigint(20) unsigned NOT NULL auto_increment,
  hook varchar(191) NOT NULL,
  status varchar(20) NOT NULL,
  scheduled_date_gmt datetime NOT NULL,
  schedule_interval int unsigned NOT NULL default 0,
  priority tinyint unsigned NOT NULL default 10,
  args varchar(8000) NOT NULL default '[]',
  group_slug varchar(255) NOT NULL default '',
  attempts int unsigned NOT NULL default 0,
  last_error text NULL,
  PRIMARY KEY  (action_id),
  KEY hook_status (hook(100),status)
) $collate;"
	);
	update_option( 'bpm_wc_double_db_version', BPM_WC_DOUBLE_DB_VERSION );
}
add_action( 'init', 'bpm_wc_double_install', -1 );
