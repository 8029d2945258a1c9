<?php
/**
 * The least-privilege "BPM API" role and the sidecar's user.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * The sidecar's WordPress identity can read orders and use the plugin's own narrow routes, nothing else:
 * no edit_* (under HPOS the WooCommerce REST edit checks need broad post caps), no publish_shop_orders
 * (adding a note through /wc/v3 needs it, and it also allows creating orders), no manage_woocommerce,
 * no list_users. Administrators do not get bpm_bridge_api: the UI is guarded by bpm_bridge_manage and
 * manage_woocommerce (Capabilities), and bpm_bridge_api stays a marker of the API identity only.
 *
 * The role's capabilities are not the whole fence: `read` alone lets a WordPress user edit its own profile,
 * mint Application Passwords, reset its password and open wp-admin, and read_private_shop_orders lets it list
 * and search every order through wc/v3. register() closes those: the identity keeps exactly the REST requests
 * in REST_ALLOWED (an allow-list, so a route added by WordPress or another plugin later is refused too).
 */
final class Role {

	const ROLE            = 'bpm_api';
	const CAP             = 'bpm_bridge_api';
	const APP_PASSWORD    = 'BPM Bridge sidecar';
	const DEFAULT_LOGIN   = 'bpm-api';
	const DISPLAY_NAME    = 'BPM API';
	const OWN_USER_OPTION = Options::API_USER_ID;

	/**
	 * The REST requests the API identity may make (method => route patterns; routes as WP_REST_Request::get_route()
	 * gives them, so pretty and plain permalinks are alike). Single orders and single refunds only: the order
	 * collection (listing, `search`, `customer=`) and the refund collection would export the customer base.
	 */
	const REST_ALLOWED = array(
		'GET'  => array(
			'#^/$#',
			'#^/bpm-bridge/v1(/.*)?$#',
			'#^/wc/v3/orders/\d+$#',
			'#^/wc/v3/orders/\d+/refunds/\d+$#',
		),
		'POST' => array( '#^/bpm-bridge/v1(/.*)?$#' ),
	);

	/**
	 * Meta capabilities the identity never has, even on itself (WordPress grants them on oneself for `read`).
	 */
	const DENIED_META_CAPS = array(
		'edit_user',
		'create_app_password',
		'list_app_passwords',
		'read_app_password',
		'edit_app_password',
		'delete_app_passwords',
		'delete_app_password',
	);

	/**
	 * Hooks the guards that capabilities alone cannot express.
	 */
	public static function register(): void {
		add_filter( 'map_meta_cap', array( self::class, 'map_meta_cap' ), 10, 4 );
		add_filter( 'rest_dispatch_request', array( self::class, 'rest_dispatch_request' ), 10, 3 );
		add_filter( 'allow_password_reset', array( self::class, 'allow_password_reset' ), 10, 2 );
		add_filter( 'wp_authenticate_user', array( self::class, 'refuse_interactive_login' ), 10, 1 );
		// After wp_authenticate_application_password (20), which XML-RPC reaches too.
		add_filter( 'authenticate', array( self::class, 'refuse_xmlrpc' ), 30, 1 );
		add_action( 'admin_init', array( self::class, 'keep_out_of_admin' ), 1 );
		add_filter( 'show_admin_bar', array( self::class, 'show_admin_bar' ) );
	}

	/**
	 * Whether a user is the sidecar's identity: in the BPM API role, or the user the settings screen made.
	 *
	 * @param int $user_id User id (0 = nobody).
	 */
	public static function is_api_identity( int $user_id ): bool {
		if ( $user_id <= 0 ) {
			return false;
		}
		$user = get_userdata( $user_id );
		if ( ! $user ) {
			return false;
		}
		return in_array( self::ROLE, (array) $user->roles, true ) || (int) get_option( self::OWN_USER_OPTION, 0 ) === $user_id;
	}

	/**
	 * The identity may not edit any user (itself included: e-mail, password, profile) nor list, create or change
	 * Application Passwords. Keyed on the acting user, so an administrator still creates one for it.
	 *
	 * @param string[] $caps    Primitive capabilities.
	 * @param string   $cap     Meta capability checked.
	 * @param int      $user_id Acting user.
	 * @param array    $args    Arguments (the target user first).
	 * @return string[]
	 */
	public static function map_meta_cap( $caps, $cap, $user_id, $args ) {
		if ( in_array( $cap, self::DENIED_META_CAPS, true ) && self::is_api_identity( (int) $user_id ) ) {
			return array( 'do_not_allow' );
		}
		return $caps;
	}

	/**
	 * Runs after the route's own permission check: what WordPress or WooCommerce already refuses keeps their
	 * answer; whatever else the identity asks for outside REST_ALLOWED is refused. In-process requests (the
	 * plugin's GET /orders/{id} reads wc/v3 as the caller) pass through here too.
	 *
	 * @param mixed            $result  A response already chosen, or null.
	 * @param \WP_REST_Request $request Request.
	 * @param string           $route   Matched route pattern.
	 * @return mixed
	 */
	public static function rest_dispatch_request( $result, $request, $route = '' ) {
		if ( null !== $result || ! $request instanceof \WP_REST_Request || ! self::is_api_identity( get_current_user_id() ) ) {
			return $result;
		}
		if ( self::rest_allowed( $request->get_method(), $request->get_route() ) ) {
			return $result;
		}
		return new \WP_Error(
			'bpm_bridge_api_user_refused',
			__( 'The BPM API user may only read single orders and refunds and use the bpm-bridge/v1 routes.', 'bpm-bridge' ),
			array( 'status' => 403 )
		);
	}

	/**
	 * Whether REST_ALLOWED lets the identity make a request.
	 *
	 * @param string $method HTTP method.
	 * @param string $route  REST route.
	 */
	public static function rest_allowed( string $method, string $route ): bool {
		$method = strtoupper( $method );
		// HEAD is a GET without the body (WordPress routes it to the GET handler).
		$patterns = self::REST_ALLOWED[ 'HEAD' === $method ? 'GET' : $method ] ?? array();
		foreach ( $patterns as $pattern ) {
			if ( preg_match( $pattern, $route ) ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * No "Lost your password?" for the identity: it has no login password anybody should know.
	 *
	 * @param bool $allow   Whether WordPress would allow it.
	 * @param int  $user_id User.
	 */
	public static function allow_password_reset( $allow, $user_id ) {
		return self::is_api_identity( (int) $user_id ) ? false : $allow;
	}

	/**
	 * No log-in with a password (wp-login.php, XML-RPC): the identity authenticates with its Application
	 * Password over REST only, which does not pass through this filter.
	 *
	 * @param \WP_User|\WP_Error $user User being authenticated.
	 * @return \WP_User|\WP_Error
	 */
	public static function refuse_interactive_login( $user ) {
		if ( $user instanceof \WP_User && self::is_api_identity( (int) $user->ID ) ) {
			return new \WP_Error( 'bpm_bridge_api_user_no_login', __( 'The BPM API user cannot log in; it is used by the BPM Bridge sidecar only.', 'bpm-bridge' ) );
		}
		return $user;
	}

	/**
	 * No XML-RPC: WordPress accepts an Application Password there too (XMLRPC_REQUEST counts as an API
	 * request), and the REST allow-list does not reach it.
	 *
	 * @param \WP_User|\WP_Error|null $user User authenticated so far.
	 * @return \WP_User|\WP_Error|null
	 */
	public static function refuse_xmlrpc( $user ) {
		if ( defined( 'XMLRPC_REQUEST' ) && XMLRPC_REQUEST ) {
			return self::refuse_interactive_login( $user );
		}
		return $user;
	}

	/**
	 * No wp-admin for the identity (admin-ajax and admin-post included: it has nothing to do there).
	 */
	public static function keep_out_of_admin(): void {
		if ( self::is_api_identity( get_current_user_id() ) ) {
			wp_die( esc_html__( 'The BPM API user has no access to the dashboard.', 'bpm-bridge' ), '', array( 'response' => 403 ) );
		}
	}

	/**
	 * No admin bar for the identity.
	 *
	 * @param bool $show Whether WordPress would show it.
	 */
	public static function show_admin_bar( $show ) {
		return self::is_api_identity( get_current_user_id() ) ? false : $show;
	}

	/**
	 * The role's exact capabilities.
	 *
	 * @return array<string,bool>
	 */
	public static function capabilities(): array {
		return array(
			'read'                     => true,
			'read_private_shop_orders' => true,
			self::CAP                  => true,
		);
	}

	/**
	 * Creates the role, or resets it to exactly capabilities() if someone widened it.
	 */
	public static function ensure(): void {
		$role = get_role( self::ROLE );
		if ( null === $role ) {
			add_role( self::ROLE, self::DISPLAY_NAME, self::capabilities() );
			return;
		}
		$wanted = self::capabilities();
		foreach ( array_keys( $role->capabilities ) as $cap ) {
			if ( ! isset( $wanted[ $cap ] ) ) {
				$role->remove_cap( $cap );
			}
		}
		foreach ( $wanted as $cap => $grant ) {
			if ( empty( $role->capabilities[ $cap ] ) ) {
				$role->add_cap( $cap, $grant );
			}
		}
	}

	/**
	 * Removes the role (uninstall).
	 */
	public static function remove(): void {
		remove_role( self::ROLE );
	}

	/**
	 * The sidecar's user id, or 0 when it does not exist.
	 */
	public static function api_user_id(): int {
		$user_id = (int) get_option( self::OWN_USER_OPTION, 0 );
		return ( $user_id && get_userdata( $user_id ) ) ? $user_id : 0;
	}

	/**
	 * Creates (or finds) the sidecar's user in the BPM API role and gives it a new Application Password.
	 * The password is returned once and never stored in plain text by WordPress.
	 *
	 * @param bool $revoke_existing Also revoke earlier "BPM Bridge sidecar" passwords of that user.
	 * @return array{user_id:int,login:string,password:string,uuid:string}|\WP_Error
	 */
	public static function ensure_api_user( bool $revoke_existing = false ) {
		self::ensure();
		$user_id = self::api_user_id();
		if ( 0 === $user_id ) {
			$login  = self::DEFAULT_LOGIN;
			$suffix = 1;
			while ( username_exists( $login ) ) {
				++$suffix;
				$login = self::DEFAULT_LOGIN . '-' . $suffix;
			}
			$user_id = wp_insert_user(
				array(
					'user_login'   => $login,
					'user_pass'    => wp_generate_password( 64, true, true ),
					'display_name' => self::DISPLAY_NAME,
					'role'         => self::ROLE,
				)
			);
			if ( is_wp_error( $user_id ) ) {
				return $user_id;
			}
			update_option( self::OWN_USER_OPTION, $user_id, false );
		}
		$user = get_userdata( $user_id );
		// The identity must hold this role only, whatever someone did to it meanwhile.
		$user->set_role( self::ROLE );

		if ( $revoke_existing ) {
			foreach ( \WP_Application_Passwords::get_user_application_passwords( $user_id ) as $item ) {
				if ( self::APP_PASSWORD === $item['name'] ) {
					\WP_Application_Passwords::delete_application_password( $user_id, $item['uuid'] );
				}
			}
		}
		$created = \WP_Application_Passwords::create_new_application_password( $user_id, array( 'name' => self::APP_PASSWORD ) );
		if ( is_wp_error( $created ) ) {
			return $created;
		}
		return array(
			'user_id'  => (int) $user_id,
			'login'    => $user->user_login,
			'password' => $created[0],
			'uuid'     => $created[1]['uuid'],
		);
	}
}
