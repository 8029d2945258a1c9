<?php
/**
 * The marketing consent: what the buyer agreed to, recorded as data.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Crm;

use BPM_Bridge\Outbox;
use BPM_Bridge\Settings\Schema;

defined( 'ABSPATH' ) || exit;

/**
 * One consent record = {granted, version, at, source, ip} (docs/security.md "Marketing consent"), kept on the
 * order (meta, through CRUD: HPOS-safe) and, for registered customers, on the user. The customer's record is the
 * current state; an order's record is what was agreed at that checkout. The checkbox is never pre-ticked, and
 * an unticked box at checkout does not withdraw an earlier consent: withdrawal is explicit (My Account).
 */
final class Consent {

	/**
	 * Meta key on orders and users.
	 */
	const META = '_bpm_marketing_consent';

	/**
	 * The version of the default consent text: bump it whenever the text changes (filter
	 * bpm_bridge_marketing_consent_version when the text is filtered).
	 */
	const VERSION = 'v1';

	/**
	 * Classic checkout field name.
	 */
	const FIELD = 'bpm_bridge_marketing_consent';

	/**
	 * Block checkout field id (WooCommerce's Additional Checkout Fields API, WooCommerce 8.9+).
	 */
	const BLOCK_FIELD = 'bpm-bridge/marketing-consent';

	/**
	 * Autoloaded flag: whether the checkbox is offered (a CRM is chosen). Kept in step with the CRM option so
	 * no request has to read that non-autoloaded option just to decide.
	 */
	const ENABLED_OPTION = 'bpm_bridge_marketing_consent';

	/**
	 * My Account form: action field and nonce.
	 */
	const ACCOUNT_ACTION = 'bpm_bridge_consent';

	/**
	 * Where a record may come from.
	 */
	const SOURCES = array( 'checkout', 'checkout-block', 'my-account', 'email-link', 'admin' );

	/**
	 * Hooks.
	 */
	public static function register(): void {
		$option = Schema::OPTIONS['crm'];
		add_action( "add_option_{$option}", array( self::class, 'sync_enabled' ), 10, 0 );
		add_action( "update_option_{$option}", array( self::class, 'sync_enabled' ), 10, 0 );
		add_action( "delete_option_{$option}", array( self::class, 'disable' ), 10, 0 );
		add_action( 'woocommerce_after_order_notes', array( self::class, 'classic_field' ) );
		add_action( 'woocommerce_checkout_create_order', array( self::class, 'classic_save' ), 10, 2 );
		add_action( 'woocommerce_init', array( self::class, 'register_block_field' ) );
		add_action( 'woocommerce_store_api_checkout_update_order_from_request', array( self::class, 'block_save' ), 10, 2 );
		add_action( 'woocommerce_store_api_checkout_order_processed', array( self::class, 'block_customer' ) );
		add_action( 'woocommerce_after_edit_account_form', array( self::class, 'account_panel' ) );
		add_action( 'wp_loaded', array( self::class, 'account_save' ) );
		add_filter( 'wp_privacy_personal_data_exporters', array( self::class, 'exporters' ) );
		add_action( 'woocommerce_privacy_remove_order_personal_data', array( self::class, 'anonymised' ) );
	}

	/**
	 * Tools → Export Personal Data includes the customer's consent record (what they agreed to, when, from where).
	 *
	 * @param array<string, array> $exporters Registered exporters.
	 * @return array<string, array>
	 */
	public static function exporters( $exporters ) {
		$exporters                      = is_array( $exporters ) ? $exporters : array();
		$exporters['bpm-bridge-consent'] = array(
			'exporter_friendly_name' => __( 'BPM Bridge marketing consent', 'bpm-bridge' ),
			'callback'               => array( self::class, 'export' ),
		);
		return $exporters;
	}

	/**
	 * The exporter callback: the customer's record and the record of every order of the address (a guest has
	 * only those).
	 *
	 * @param string $email_address E-mail address.
	 * @param int    $page          Page.
	 * @return array{data: array, done: bool}
	 */
	public static function export( $email_address, $page = 1 ): array {
		$email = strtolower( trim( (string) $email_address ) );
		$data  = array();
		$user  = '' !== $email ? get_user_by( 'email', $email ) : false;
		$mine  = $user ? self::of_user( (int) $user->ID ) : null;
		if ( null !== $mine ) {
			$data[] = self::export_item( 'bpm-bridge-consent-' . (int) $user->ID, $mine, __( 'your account', 'bpm-bridge' ) );
		}
		$orders = '' !== $email && function_exists( 'wc_get_orders' ) ? wc_get_orders(
			array(
				'billing_email' => $email,
				'type'          => 'shop_order',
				'limit'         => -1,
				'return'        => 'objects',
			)
		) : array();
		foreach ( is_array( $orders ) ? $orders : array() as $order ) {
			$record = self::of_order( $order );
			if ( null !== $record ) {
				/* translators: %s: order number. */
				$data[] = self::export_item( 'bpm-bridge-consent-order-' . (int) $order->get_id(), $record, sprintf( __( 'order %s', 'bpm-bridge' ), $order->get_order_number() ) );
			}
		}
		return array(
			'data' => $data,
			'done' => true,
		);
	}

	/**
	 * One export item.
	 *
	 * @param string               $item_id Item id.
	 * @param array<string, mixed> $record  Record.
	 * @param string               $of      Whose record: the account or an order.
	 * @return array
	 */
	private static function export_item( string $item_id, array $record, string $of ): array {
		return array(
			'group_id'    => 'bpm-bridge-consent',
			'group_label' => __( 'Marketing consent', 'bpm-bridge' ),
			'item_id'     => $item_id,
			'data'        => array(
				array(
					'name'  => __( 'Recorded for', 'bpm-bridge' ),
					'value' => $of,
				),
				array(
					'name'  => __( 'Given', 'bpm-bridge' ),
					'value' => $record['granted'] ? __( 'yes', 'bpm-bridge' ) : __( 'no', 'bpm-bridge' ),
				),
				array(
					'name'  => __( 'Text version', 'bpm-bridge' ),
					'value' => (string) ( $record['version'] ?? '' ),
				),
				array(
					'name'  => __( 'Time (UTC)', 'bpm-bridge' ),
					'value' => (string) ( $record['at'] ?? '' ),
				),
				array(
					'name'  => __( 'Where', 'bpm-bridge' ),
					'value' => (string) ( $record['source'] ?? '' ),
				),
				array(
					'name'  => __( 'IP address', 'bpm-bridge' ),
					'value' => (string) ( $record['ip'] ?? '' ),
				),
			),
		);
	}

	/**
	 * `woocommerce_privacy_remove_order_personal_data( $order )`: WooCommerce anonymised the order (its own
	 * eraser or its retention settings); the consent record stays as proof, without the IP address.
	 *
	 * @param mixed $order Order (WooCommerce saved it before this action).
	 */
	public static function anonymised( $order ): void {
		if ( ! $order instanceof \WC_Order ) {
			return;
		}
		$record = self::of_order( $order );
		if ( null !== $record && array_key_exists( 'ip', $record ) ) {
			unset( $record['ip'] );
			$order->update_meta_data( self::META, wp_json_encode( $record ) );
			$order->save();
		}
	}

	/**
	 * Where a record came from, in the admin's words.
	 *
	 * @param string $source One of SOURCES.
	 */
	public static function source_label( string $source ): string {
		$labels = array(
			'checkout'       => __( 'checkout', 'bpm-bridge' ),
			'checkout-block' => __( 'block checkout', 'bpm-bridge' ),
			'my-account'     => __( 'My Account', 'bpm-bridge' ),
			'email-link'     => __( 'e-mail link', 'bpm-bridge' ),
			'admin'          => __( 'order screen', 'bpm-bridge' ),
		);
		return $labels[ $source ] ?? $source;
	}

	/**
	 * An ISO-8601 UTC time in the site's date and time format and time zone ('—' when unknown).
	 *
	 * @param string|null $iso Time.
	 */
	public static function display_time( ?string $iso ): string {
		$timestamp = null !== $iso && '' !== $iso ? strtotime( $iso ) : false;
		return false === $timestamp ? '—' : (string) wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $timestamp );
	}

	/**
	 * The consent text shown at checkout.
	 */
	public static function text(): string {
		/**
		 * Filters the marketing consent text. Change bpm_bridge_marketing_consent_version with it.
		 *
		 * @param string $text Text.
		 */
		$text = is_user_logged_in()
			? __( 'Send me news and offers by e-mail. I can withdraw at any time in My Account.', 'bpm-bridge' )
			// A guest has no My Account: the order page and every order e-mail carry a one-click withdrawal link.
			: __( 'Send me news and offers by e-mail. I can withdraw at any time with the link in my order e-mails.', 'bpm-bridge' );
		return (string) apply_filters( 'bpm_bridge_marketing_consent_text', $text );
	}

	/**
	 * The version of the consent text.
	 */
	public static function version(): string {
		/**
		 * Filters the version recorded with each consent (bump it when the text changes).
		 *
		 * @param string $version Version, default "v1".
		 */
		return (string) apply_filters( 'bpm_bridge_marketing_consent_version', self::VERSION );
	}

	/**
	 * Whether the checkbox is offered: a CRM is chosen (filter bpm_bridge_marketing_consent_enabled).
	 */
	public static function enabled(): bool {
		/**
		 * Filters whether checkout and My Account offer the marketing consent.
		 *
		 * @param bool $enabled True when a CRM is chosen in the settings.
		 */
		return (bool) apply_filters( 'bpm_bridge_marketing_consent_enabled', 'yes' === get_option( self::ENABLED_OPTION, 'no' ) );
	}

	/**
	 * Keeps the autoloaded flag in step with the CRM setting.
	 */
	public static function sync_enabled(): void {
		$stored   = get_option( Schema::OPTIONS['crm'], array() );
		$provider = is_array( $stored ) ? (string) ( $stored['provider'] ?? 'none' ) : 'none';
		update_option( self::ENABLED_OPTION, 'none' === $provider || '' === $provider ? 'no' : 'yes', true );
	}

	/**
	 * The CRM settings are gone: no checkbox.
	 */
	public static function disable(): void {
		update_option( self::ENABLED_OPTION, 'no', true );
	}

	/**
	 * A new record.
	 *
	 * @param bool   $granted Whether consent is given.
	 * @param string $source  One of SOURCES.
	 * @param string $ip      The buyer's IP address ('' when unknown).
	 * @param int    $now     Unix seconds (0: now).
	 * @return array{granted: bool, version: string, text_sha256: string, locale: string, at: string, source: string, ip: string}
	 */
	public static function record( bool $granted, string $source, string $ip = '', int $now = 0 ): array {
		return array(
			'granted'     => $granted,
			'version'     => self::version(),
			// Exactly which words (the guest's and the customer's differ, and a filter may change them) in which language.
			'text_sha256' => hash( 'sha256', self::text() ),
			'locale'      => function_exists( 'determine_locale' ) ? (string) determine_locale() : (string) get_locale(),
			'at'          => gmdate( 'Y-m-d\TH:i:s\Z', $now > 0 ? $now : time() ),
			'source'      => in_array( $source, self::SOURCES, true ) ? $source : 'checkout',
			'ip'          => (string) ( rest_is_ip_address( $ip ) ? $ip : '' ),
		);
	}

	/**
	 * A record withdrawn without the buyer's word (the erasure): not granted, no IP address.
	 *
	 * @param array<string, mixed> $record Record.
	 * @return array<string, mixed>
	 */
	public static function withdrawn( array $record ): array {
		$record['granted'] = false;
		unset( $record['ip'] );
		return $record;
	}

	/**
	 * A stored record, decoded, or null.
	 *
	 * @param mixed $raw Meta value.
	 * @return array<string, mixed>|null
	 */
	public static function decode( $raw ): ?array {
		$record = is_string( $raw ) && '' !== $raw ? json_decode( $raw, true ) : null;
		return is_array( $record ) && array_key_exists( 'granted', $record ) ? $record : null;
	}

	/**
	 * The order's own record.
	 *
	 * @param \WC_Order $order Order.
	 * @return array<string, mixed>|null
	 */
	public static function of_order( $order ): ?array {
		return self::decode( $order->get_meta( self::META, true ) );
	}

	/**
	 * A customer's record.
	 *
	 * @param int $user_id User id.
	 * @return array<string, mixed>|null
	 */
	public static function of_user( int $user_id ): ?array {
		return $user_id > 0 ? self::decode( get_user_meta( $user_id, self::META, true ) ) : null;
	}

	/**
	 * The consent in force for an order's buyer: the customer's record when there is one, else the order's.
	 *
	 * @param \WC_Order $order Order.
	 * @return array<string, mixed>|null
	 */
	public static function current( $order ): ?array {
		$user_id = (int) $order->get_customer_id();
		if ( $user_id > 0 ) {
			$user = self::of_user( $user_id );
			return null !== $user ? $user : self::of_order( $order );
		}
		return self::of_guest( $order );
	}

	/**
	 * A guest's consent: across every guest order of the billing address, oldest first, as for a customer —
	 * a "yes" counts, a withdrawal counts, and an unticked box counts only when there is no "yes" before it.
	 * So one buyer has one state in the CRM (the contact is keyed by the address), not one per order.
	 *
	 * @param \WC_Order $order A guest order.
	 * @return array<string, mixed>|null
	 */
	private static function of_guest( $order ): ?array {
		$email = strtolower( trim( (string) $order->get_billing_email() ) );
		if ( '' === $email || ! function_exists( 'wc_get_orders' ) ) {
			return self::of_order( $order );
		}
		// The latest 100 are enough: a withdrawal is written onto every order that said "yes".
		$orders  = wc_get_orders(
			array(
				'billing_email' => $email,
				'customer_id'   => 0,
				'type'          => 'shop_order',
				'limit'         => 100,
				'orderby'       => 'ID',
				'order'         => 'DESC',
				'return'        => 'objects',
			)
		);
		$records = array();
		foreach ( array_reverse( is_array( $orders ) ? $orders : array() ) as $each ) {
			$record = self::of_order( $each );
			if ( null !== $record ) {
				$records[] = $record;
			}
		}
		if ( empty( $records ) ) {
			return self::of_order( $order );
		}
		// Stable: equal times keep the order ids' order.
		usort(
			$records,
			static function ( $a, $b ) {
				return strcmp( (string) ( $a['at'] ?? '' ), (string) ( $b['at'] ?? '' ) );
			}
		);
		$state = null;
		foreach ( $records as $record ) {
			$explicit = true === $record['granted'] || in_array( (string) ( $record['source'] ?? '' ), array( 'my-account', 'email-link', 'admin' ), true );
			if ( $explicit || null === $state || true !== $state['granted'] ) {
				$state = $record;
			}
		}
		return $state;
	}

	/**
	 * The `consent` key of GET /orders/{id} (docs/contract.md §3.2): no IP, nothing but the state.
	 *
	 * @param \WC_Order $order Order.
	 * @return array{marketing: bool, version: string, at: string|null, source: string, crm_suppressed: bool}
	 */
	public static function for_rest( $order ): array {
		$record     = self::current( $order );
		$suppressed = Suppression::of_order( $order );
		return array(
			'marketing'      => ! $suppressed && null !== $record && true === $record['granted'],
			'version'        => null !== $record ? (string) ( $record['version'] ?? '' ) : '',
			'at'             => null !== $record && ! empty( $record['at'] ) ? (string) $record['at'] : null,
			'source'         => null !== $record ? (string) ( $record['source'] ?? '' ) : '',
			// The buyer was erased on request: the sidecar sends nothing about this order to the CRM.
			'crm_suppressed' => $suppressed,
		);
	}

	/**
	 * Stores a checkout's answer on the order (the caller saves it) and, for a registered customer, on the
	 * user: always when granted, otherwise only when the customer has no record yet.
	 *
	 * @param \WC_Order $order   Order being created.
	 * @param bool      $granted Box ticked.
	 * @param string    $source  Checkout or checkout-block.
	 */
	public static function store_checkout( $order, bool $granted, string $source ): void {
		$record = self::record( $granted, $source, (string) $order->get_customer_ip_address() );
		$order->update_meta_data( self::META, wp_json_encode( $record ) );
		if ( $granted ) {
			Suppression::lift( (string) $order->get_billing_email() );
		}
		$user_id = (int) $order->get_customer_id();
		if ( $user_id > 0 && ( $granted || null === self::of_user( $user_id ) ) ) {
			// User meta is unslashed on the way in: slashed, the JSON stays JSON whatever it holds.
			update_user_meta( $user_id, self::META, wp_slash( (string) wp_json_encode( $record ) ) );
		}
	}

	/**
	 * `woocommerce_after_order_notes`: the classic checkout's checkbox (outside the part WooCommerce re-renders
	 * on every update, so a tick survives a change of shipping method). Never pre-ticked.
	 *
	 * @param mixed $checkout WC_Checkout.
	 */
	public static function classic_field( $checkout = null ): void {
		if ( ! self::enabled() || ! function_exists( 'woocommerce_form_field' ) ) {
			return;
		}
		woocommerce_form_field(
			self::FIELD,
			array(
				'type'     => 'checkbox',
				'class'    => array( 'form-row-wide', 'bpm-bridge-marketing-consent' ),
				'label'    => esc_html( self::text() ),
				'required' => false,
			),
			0
		);
	}

	/**
	 * `woocommerce_checkout_create_order( $order, $data )` (classic checkout; WooCommerce verified its
	 * checkout nonce before this runs).
	 *
	 * @param \WC_Order $order Order.
	 * @param array     $data  Posted checkout fields (ours is not one of WooCommerce's, so it is read from the post).
	 */
	public static function classic_save( $order, $data = array() ): void {
		if ( ! self::enabled() ) {
			return;
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- WooCommerce checked the checkout nonce.
		$granted = isset( $_POST[ self::FIELD ] ) && '1' === sanitize_text_field( wp_unslash( $_POST[ self::FIELD ] ) );
		self::store_checkout( $order, $granted, 'checkout' );
	}

	/**
	 * Whether WooCommerce has the Additional Checkout Fields API in its stable form (8.9+: the `_wc_other/`
	 * meta group; earlier versions had an experimental one with other keys).
	 */
	public static function block_fields(): bool {
		return function_exists( 'woocommerce_register_additional_checkout_field' ) && defined( 'WC_VERSION' ) && version_compare( WC_VERSION, '8.9', '>=' );
	}

	/**
	 * `woocommerce_init`: the block checkout's checkbox, with the Additional Checkout Fields API
	 * (WooCommerce 8.9+; older versions have no such API, and only the classic checkout asks).
	 */
	public static function register_block_field(): void {
		if ( ! self::block_fields() || ! self::enabled() ) {
			return;
		}
		woocommerce_register_additional_checkout_field(
			array(
				'id'       => self::BLOCK_FIELD,
				'label'    => self::text(),
				'location' => 'order',
				'type'     => 'checkbox',
				'required' => false,
			)
		);
	}

	/**
	 * What WooCommerce itself persisted for our checkbox on the order (it validated the request's value first).
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function block_answer( $order ): bool {
		// The container knows the class by its name without the leading backslash.
		$fields = 'Automattic\WooCommerce\Blocks\Domain\Services\CheckoutFields';
		if ( class_exists( '\Automattic\WooCommerce\Blocks\Package' ) && class_exists( $fields ) ) {
			// A boolean for a registered checkbox; the stored '1' / '0' when the field is not registered (yet).
			$value = \Automattic\WooCommerce\Blocks\Package::container()->get( $fields )->get_field_from_object( self::BLOCK_FIELD, $order, 'other' );
			return true === $value || '1' === $value;
		}
		return '1' === (string) $order->get_meta( '_wc_other/' . self::BLOCK_FIELD, true );
	}

	/**
	 * `woocommerce_store_api_checkout_update_order_from_request( $order, $request )`: the block checkout's
	 * answer, as WooCommerce persisted it just before. Only the checkout route: the pay-for-order route
	 * (checkout/{id}) fires the same hook without the field, and must not turn a "yes" into "no". A request
	 * without the field keeps the order's record. WooCommerce saves the order right after.
	 *
	 * @param \WC_Order        $order   Order.
	 * @param \WP_REST_Request $request Checkout request.
	 */
	public static function block_save( $order, $request ): void {
		if ( ! self::enabled() || ! self::block_fields() || ! $request instanceof \WP_REST_Request ) {
			return;
		}
		if ( ! preg_match( '#^/wc/store(?:/v1)?/checkout/?$#', (string) $request->get_route() ) ) {
			return;
		}
		$fields   = $request['additional_fields'];
		$answered = is_array( $fields ) && array_key_exists( self::BLOCK_FIELD, $fields );
		if ( ! $answered && null !== self::of_order( $order ) ) {
			return;
		}
		self::store_checkout( $order, self::block_answer( $order ), 'checkout-block' );
	}

	/**
	 * `woocommerce_store_api_checkout_order_processed( $order )`: an account created at the block checkout
	 * exists only now (after the order's answer was stored): it gets the order's record as its own.
	 *
	 * @param \WC_Order $order Order.
	 */
	public static function block_customer( $order ): void {
		if ( ! $order instanceof \WC_Order || ! self::enabled() ) {
			return;
		}
		$user_id = (int) $order->get_customer_id();
		$record  = self::of_order( $order );
		if ( $user_id <= 0 || null === $record || ( true !== $record['granted'] && null !== self::of_user( $user_id ) ) ) {
			return;
		}
		update_user_meta( $user_id, self::META, wp_slash( (string) wp_json_encode( $record ) ) );
	}

	/**
	 * `woocommerce_after_edit_account_form`: My Account → Account details gets a small form of its own to
	 * give or withdraw the consent.
	 */
	public static function account_panel(): void {
		$user_id = get_current_user_id();
		if ( $user_id <= 0 || ! self::enabled() ) {
			return;
		}
		\BPM_Bridge\Crm\Crm::template(
			'crm/consent-account.php',
			array(
				'record' => self::of_user( $user_id ),
				'text'   => self::text(),
				'action' => self::ACCOUNT_ACTION,
			)
		);
	}

	/**
	 * `wp_loaded`: the My Account form's post (nonce and login checked), then back to the page with a notice.
	 */
	public static function account_save(): void {
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- only routes the request; the nonce is checked below.
		if ( ! isset( $_POST['bpm_bridge_action'] ) || self::ACCOUNT_ACTION !== sanitize_key( wp_unslash( $_POST['bpm_bridge_action'] ) ) ) {
			return;
		}
		$user_id = get_current_user_id();
		$nonce   = isset( $_POST['bpm_bridge_consent_nonce'] ) ? sanitize_text_field( wp_unslash( $_POST['bpm_bridge_consent_nonce'] ) ) : '';
		if ( $user_id <= 0 || ! wp_verify_nonce( $nonce, self::ACCOUNT_ACTION ) ) {
			wp_die( esc_html__( 'The link has expired. Go back, reload the page and try again.', 'bpm-bridge' ), '', array( 'response' => 403 ) );
		}
		$granted = isset( $_POST['marketing'] ) && '1' === sanitize_text_field( wp_unslash( $_POST['marketing'] ) );
		$changed = self::set_for_user( $user_id, $granted, 'my-account', class_exists( '\WC_Geolocation' ) ? (string) \WC_Geolocation::get_ip_address() : '' );
		if ( function_exists( 'wc_add_notice' ) ) {
			if ( ! $changed ) {
				wc_add_notice( __( 'Your marketing preference is unchanged.', 'bpm-bridge' ), 'notice' );
			} elseif ( $granted ) {
				wc_add_notice( __( 'Thank you: we will send you news and offers by e-mail.', 'bpm-bridge' ) );
			} else {
				wc_add_notice( __( 'Done: we will not send you news and offers any more.', 'bpm-bridge' ) );
			}
		}
		$back = function_exists( 'wc_get_account_endpoint_url' ) ? wc_get_account_endpoint_url( 'edit-account' ) : home_url();
		wp_safe_redirect( $back );
		exit;
	}

	/**
	 * Sets a customer's consent; on a change, records it and queues customer.consent_changed (with the latest
	 * order, so the sidecar can read the contact's data).
	 *
	 * @param int    $user_id User id.
	 * @param bool   $granted Consent given.
	 * @param string $source  One of SOURCES.
	 * @param string $ip      IP address.
	 * @return bool Whether the state changed.
	 */
	public static function set_for_user( int $user_id, bool $granted, string $source, string $ip = '' ): bool {
		$before = self::of_user( $user_id );
		if ( null !== $before && (bool) $before['granted'] === $granted ) {
			return false;
		}
		update_user_meta( $user_id, self::META, wp_slash( (string) wp_json_encode( self::record( $granted, $source, $ip ) ) ) );
		$user = get_userdata( $user_id );
		if ( $granted && $user ) {
			Suppression::lift( (string) $user->user_email );
		}
		$data  = array( 'customer_id' => $user_id );
		$order = self::latest_order( $user_id );
		if ( $order > 0 ) {
			$data['order_id'] = $order;
		}
		Outbox::add( 'customer.consent_changed', $data );
		return true;
	}

	/**
	 * Withdraws the consent of an order's buyer (the e-mail link, the shop's order screen): a registered
	 * customer's record; for a guest, the record of every guest order of the billing address, then one
	 * customer.consent_changed {order_id = the latest of them}.
	 *
	 * @param \WC_Order $order  Order.
	 * @param string    $source One of email-link, admin.
	 * @param string    $ip     IP address ('' for the shop's own action).
	 * @return bool Whether anything changed.
	 */
	public static function withdraw_for_order( $order, string $source, string $ip = '' ): bool {
		$user_id = (int) $order->get_customer_id();
		if ( $user_id > 0 ) {
			return self::set_for_user( $user_id, false, $source, $ip );
		}
		$email  = strtolower( trim( (string) $order->get_billing_email() ) );
		$orders = '' === $email ? array( $order ) : wc_get_orders(
			array(
				'billing_email' => $email,
				'customer_id'   => 0,
				'type'          => 'shop_order',
				'limit'         => -1,
				'return'        => 'objects',
			)
		);
		$record = wp_json_encode( self::record( false, $source, $ip ) );
		$latest = 0;
		foreach ( is_array( $orders ) ? $orders : array() as $each ) {
			$latest = max( $latest, (int) $each->get_id() );
			$before = self::of_order( $each );
			if ( null !== $before && true === $before['granted'] ) {
				$each->update_meta_data( self::META, $record );
				$each->save();
				$changed = true;
			}
		}
		if ( empty( $changed ) ) {
			return false;
		}
		Outbox::add( 'customer.consent_changed', array( 'order_id' => $latest ) );
		return true;
	}

	/**
	 * The customer's latest order id, or 0.
	 *
	 * @param int $user_id User id.
	 */
	public static function latest_order( int $user_id ): int {
		if ( ! function_exists( 'wc_get_orders' ) ) {
			return 0;
		}
		$query = array(
			'customer_id' => $user_id,
			'type'        => 'shop_order',
			'limit'       => 1,
			// Ids grow with creation; dates tie within a second.
			'orderby'     => 'ID',
			'order'       => 'DESC',
			'return'      => 'ids',
		);
		$ids   = wc_get_orders( $query );
		$user  = get_userdata( $user_id );
		if ( ( ! is_array( $ids ) || empty( $ids ) ) && $user && '' !== (string) $user->user_email ) {
			// Bought as a guest before registering: the orders carry the address, not the account.
			unset( $query['customer_id'] );
			$ids = wc_get_orders( $query + array( 'billing_email' => strtolower( (string) $user->user_email ) ) );
		}
		return is_array( $ids ) && ! empty( $ids ) ? (int) $ids[0] : 0;
	}
}
