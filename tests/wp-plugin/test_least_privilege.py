"""The BPM API user over real HTTP: it reads single orders and uses bpm-bridge/v1, and nothing else.

A real WordPress site (tests/support/wordpress.py), the plugin's own role and API-user action, an Application
Password, and WooCommerce's wc/v3 routes with WooCommerce's permission checks. Every refusal is paired with a
control: the administrator gets a 2xx for the same request, so a 403 here cannot come from a broken route.
Beyond its three capabilities the identity may not mint Application Passwords, edit its profile, e-mail or
password, reset or log in with a password, open wp-admin, or list/search orders (includes/class-role.php).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from wp_fixtures import REST_CONFIGS, config_id

from sidecar.signing import new_secret, request_signature_headers

pytestmark = pytest.mark.wordpress

EXPECTED_CAPS = {"read", "read_private_shop_orders", "bpm_bridge_api"}


@dataclass
class Shop:
    site: Any  # wordpress.Site
    url: str
    secret: str
    api_auth: tuple[str, str]
    admin_auth: tuple[str, str]
    customer_auth: tuple[str, str]
    api_user_id: int
    order_id: int
    refund_id: int
    product_id: int

    def call(
        self,
        method: str,
        route: str,
        body: Any = None,
        *,
        auth: tuple[str, str] | None = None,
        signed: bool = False,
        secret: str | None = None,
    ) -> requests.Response:
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if signed:
            parts = urlsplit(route)
            query = parse_qsl(parts.query, keep_blank_values=True)
            headers.update(request_signature_headers([secret or self.secret], method, parts.path, query, raw))
        return requests.request(
            method, f"{self.url}/wp-json{route}", data=raw or None, headers=headers, auth=auth, timeout=30
        )


@pytest.fixture(scope="module", params=REST_CONFIGS, ids=config_id)
def shop(request, wp_sites) -> Shop:
    stack, hpos = request.param
    wp_site = wp_sites.get(stack, hpos=hpos)
    wp_admin_app_password = wp_sites.admin_password(wp_site)
    secret = new_secret()
    setup = wp_site.php(
        f"""
        $r = \\BPM_Bridge\\Options::set_secrets( '{secret}' );
        if ( is_wp_error( $r ) ) {{ throw new Exception( $r->get_error_message() ); }}
        // The user is made with plain WordPress calls in the plugin's role, so these tests do not
        // depend on the settings-screen action (tested on its own below).
        $api_id = wp_insert_user( array( 'user_login' => 'bpm-api-test',
            'user_pass' => wp_generate_password( 32 ), 'role' => 'bpm_api',
            'user_email' => 'bpm-api@example.test' ) );
        if ( is_wp_error( $api_id ) ) {{ throw new Exception( $api_id->get_error_message() ); }}
        list( $api_pw ) = WP_Application_Passwords::create_new_application_password( $api_id,
            array( 'name' => 'test' ) );
        $api = array( 'login' => 'bpm-api-test', 'password' => $api_pw, 'user_id' => $api_id );
        $customer = wp_insert_user( array( 'user_login' => 'shopper', 'user_pass' => wp_generate_password(),
            'role' => 'customer', 'user_email' => 'shopper@example.test' ) );
        list( $customer_pw ) = WP_Application_Passwords::create_new_application_password( $customer,
            array( 'name' => 'test' ) );
        if ( function_exists( 'bpm_wc_double_create_order' ) ) {{
            $order = bpm_wc_double_create_order( array( 'paid' => true,
                'meta' => array( '_billing_nip' => '5260250274' ) ) );
            $product = bpm_wc_double_create_product( 'Kubek', '30.75', 'KUB-LP' );
        }} else {{
            // Real WooCommerce: public CRUD only, so HPOS on or off is the same.
            $item = new WC_Product_Simple();
            $item->set_name( 'Kubek' );
            $item->set_regular_price( '30.75' );
            $product = $item->save();
            $order = wc_create_order();
            $order->add_product( wc_get_product( $product ), 2 );
            $order->set_billing_last_name( 'Kowalski' );
            $order->update_meta_data( '_billing_nip', '5260250274' );
            $order->calculate_totals();
            $order->set_status( 'processing' );
            $order->save();
        }}
        $refund = wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '5.00',
            'reason' => 'test' ) );
        echo wp_json_encode( array( 'api' => $api, 'customer_pw' => $customer_pw, 'order' => $order->get_id(),
            'refund' => $refund->get_id(), 'product' => $product ) );
        """
    )
    data = json.loads(setup.strip().splitlines()[-1])
    return Shop(
        site=wp_site,
        url=wp_site.url,
        secret=secret,
        api_auth=(data["api"]["login"], data["api"]["password"]),
        admin_auth=(wp_site.admin_user, wp_admin_app_password),
        customer_auth=("shopper", data["customer_pw"]),
        api_user_id=data["api"]["user_id"],
        order_id=data["order"],
        refund_id=data["refund"],
        product_id=data["product"],
    )


def test_the_role_has_exactly_three_capabilities(shop):
    out = shop.site.php_json(
        f"""
        $user = get_userdata( {shop.api_user_id} );
        echo wp_json_encode( array( 'roles' => $user->roles,
            'role_caps' => array_keys( array_filter( get_role( 'bpm_api' )->capabilities ) ),
            'user_caps' => array_keys( array_filter( $user->allcaps ) ) ) );
        """
    )
    assert out["roles"] == ["bpm_api"]
    assert set(out["role_caps"]) == EXPECTED_CAPS
    # allcaps also lists the role name itself; nothing else may be granted to the user directly.
    assert set(out["user_caps"]) - {"bpm_api"} == EXPECTED_CAPS


def test_the_plugin_action_creates_a_role_only_user_with_a_working_password(shop):
    created = shop.site.php_json(
        """
        $r = \\BPM_Bridge\\Role::ensure_api_user();
        echo wp_json_encode( is_wp_error( $r ) ? array( 'error' => $r->get_error_message() ) : $r );
        """
    )
    assert "error" not in created, created
    roles = shop.site.php_json(f"echo wp_json_encode( get_userdata( {created['user_id']} )->roles );")
    assert roles == ["bpm_api"]
    resp = shop.call("GET", f"/wc/v3/orders/{shop.order_id}", auth=(created["login"], created["password"]))
    assert resp.status_code == 200, resp.text
    refused = shop.call("GET", "/wc/v3/settings", auth=(created["login"], created["password"]))
    assert refused.status_code == 403


def test_api_user_reads_an_order_and_a_refund(shop):
    resp = shop.call("GET", f"/wc/v3/orders/{shop.order_id}", auth=shop.api_auth)
    assert resp.status_code == 200, resp.text
    order = resp.json()
    assert order["id"] == shop.order_id
    assert order["status"] == "processing"
    assert {"key": "_billing_nip", "value": "5260250274"} in [
        {"key": m["key"], "value": m["value"]} for m in order["meta_data"]
    ]
    resp = shop.call("GET", f"/wc/v3/orders/{shop.order_id}/refunds/{shop.refund_id}", auth=shop.api_auth)
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == shop.refund_id  # its amount: WooCommerce 7.8 + HPOS answers "0.00" here
    resp = shop.call("GET", f"/bpm-bridge/v1/orders/{shop.order_id}", auth=shop.api_auth, signed=True)
    assert resp.status_code == 200, resp.text
    assert [(r["id"], r["amount"]) for r in resp.json()["refunds"]] == [(shop.refund_id, "5.00")]


def test_reading_an_order_needs_a_login(shop):
    resp = shop.call("GET", f"/wc/v3/orders/{shop.order_id}")
    assert resp.status_code == 401
    assert resp.json()["code"] == "woocommerce_rest_cannot_view"


def _order(shop: Shop) -> dict[str, Any]:
    return shop.call("GET", f"/wc/v3/orders/{shop.order_id}", auth=shop.admin_auth).json()


# (method, route, body, the code WordPress/WooCommerce answers the BPM API user with)
FORBIDDEN = [
    ("GET", "/wp/v2/users?context=edit", None, "rest_forbidden_context"),
    ("GET", "/wp/v2/users?roles=administrator", None, "rest_user_cannot_view"),
    (
        "POST",
        "/wp/v2/users",
        {"username": "x", "email": "x@example.test", "password": "x"},
        "rest_cannot_create_user",
    ),
    ("GET", "/wp/v2/settings", None, "rest_forbidden"),
    ("GET", "/wp/v2/plugins", None, "rest_cannot_view_plugins"),
    ("POST", "/wp/v2/posts", {"title": "x"}, "rest_cannot_create"),
    ("PUT", "/wc/v3/products/{product}", {"name": "Hacked"}, "woocommerce_rest_cannot_edit"),
    ("GET", "/wc/v3/settings", None, "woocommerce_rest_cannot_view"),
    ("GET", "/wc/v3/settings/general", None, "woocommerce_rest_cannot_view"),
    ("PUT", "/wc/v3/settings/general/woocommerce_currency", {"value": "EUR"}, "woocommerce_rest_cannot_edit"),
    (
        "POST",
        "/wc/v3/orders",
        {"status": "processing", "billing": {"email": "x@example.test"}},
        "woocommerce_rest_cannot_create",
    ),
    (
        "PUT",
        "/wc/v3/orders/{order}",
        {"billing": {"email": "evil@example.test"}},
        "woocommerce_rest_cannot_edit",
    ),
    ("PUT", "/wc/v3/orders/{order}", {"status": "completed"}, "woocommerce_rest_cannot_edit"),
    (
        "PUT",
        "/wc/v3/orders/{order}",
        {"meta_data": [{"key": "_bpm_invoice_id", "value": "1"}]},
        "woocommerce_rest_cannot_edit",
    ),
    ("DELETE", "/wc/v3/orders/{order}", None, "woocommerce_rest_cannot_delete"),
    ("POST", "/wc/v3/orders/{order}/notes", {"note": "via wc/v3"}, "woocommerce_rest_cannot_create"),
]


@pytest.mark.parametrize(
    ("method", "route", "body", "code"), FORBIDDEN, ids=[f"{m} {r}" for m, r, _, _ in FORBIDDEN]
)
def test_api_user_is_refused_everything_else(shop, method, route, body, code):
    route = route.format(order=shop.order_id, product=shop.product_id)
    before = _order(shop)
    resp = shop.call(method, route, body, auth=shop.api_auth)
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == code
    after = _order(shop)
    # Nothing about the order moved (date_modified included).
    assert after == before


ADMIN_CONTROLS = [
    ("GET", "/wp/v2/users?context=edit", None),
    ("PUT", "/wc/v3/products/{product}", {"name": "Kubek"}),
    ("GET", "/wc/v3/settings/general", None),
    ("PUT", "/wc/v3/settings/general/woocommerce_currency", {"value": "PLN"}),
    ("PUT", "/wc/v3/orders/{order}", {"billing": {"phone": "+48500100200"}}),
    ("POST", "/wc/v3/orders/{order}/notes", {"note": "admin control note"}),
    ("POST", "/wc/v3/orders", {"billing": {"email": "control@example.test"}}),
]


@pytest.mark.parametrize(
    ("method", "route", "body"), ADMIN_CONTROLS, ids=[f"{m} {r}" for m, r, _ in ADMIN_CONTROLS]
)
def test_the_same_requests_work_for_the_administrator(shop, method, route, body):
    route = route.format(order=shop.order_id, product=shop.product_id)
    resp = shop.call(method, route, body, auth=shop.admin_auth)
    assert 200 <= resp.status_code < 300, resp.text


def test_api_user_uses_the_bpm_bridge_routes(shop):
    oid = shop.order_id
    resp = shop.call("GET", "/bpm-bridge/v1/config", auth=shop.api_auth, signed=True)
    assert resp.status_code == 200, resp.text
    assert "invoicing" in resp.json()

    resp = shop.call(
        "POST",
        f"/bpm-bridge/v1/orders/{oid}/notes",
        {"note": "Invoice issued."},
        auth=shop.api_auth,
        signed=True,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["order_id"] == oid

    body = {
        "meta": {"_bpm_invoice_id": "9001", "_bpm_invoice_number": "FV 1/11/2026"},
        "expect": {"_bpm_invoice_id": ""},
    }
    resp = shop.call("POST", f"/bpm-bridge/v1/orders/{oid}/meta", body, auth=shop.api_auth, signed=True)
    assert resp.status_code == 200, resp.text
    assert resp.json()["meta"]["_bpm_invoice_id"] == "9001"
    # The same compare-and-set again is a conflict: the fence against a second worker.
    resp = shop.call("POST", f"/bpm-bridge/v1/orders/{oid}/meta", body, auth=shop.api_auth, signed=True)
    assert resp.status_code == 409, resp.text

    resp = shop.call(
        "POST",
        f"/bpm-bridge/v1/orders/{oid}/status",
        {"from": "processing", "to": "completed"},
        auth=shop.api_auth,
        signed=True,
    )
    assert resp.status_code == 200, resp.text
    order = _order(shop)
    assert order["status"] == "completed"
    assert {"key": "_bpm_invoice_number", "value": "FV 1/11/2026"} in [
        {"key": m["key"], "value": m["value"]} for m in order["meta_data"]
    ]
    notes = shop.call("GET", f"/wc/v3/orders/{oid}/notes", auth=shop.admin_auth).json()
    assert any(n["note"] == "Invoice issued." for n in notes)


@pytest.mark.parametrize(
    "key", ["_billing_email", "_order_total", "_customer_user", "_bpm_not_listed", "note"]
)
def test_meta_outside_the_allow_list_is_refused_and_nothing_is_written(shop, key):
    body = {"meta": {"_bpm_last_error": "should not be written", key: "x"}}
    resp = shop.call(
        "POST", f"/bpm-bridge/v1/orders/{shop.order_id}/meta", body, auth=shop.api_auth, signed=True
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "bpm_bridge_meta_not_allowed"
    keys = {m["key"] for m in _order(shop)["meta_data"]}
    assert "_bpm_last_error" not in keys
    assert key not in keys


def test_bpm_bridge_routes_need_a_valid_signature(shop):
    route = f"/bpm-bridge/v1/orders/{shop.order_id}/notes"
    unsigned = shop.call("POST", route, {"note": "unsigned"}, auth=shop.api_auth)
    assert unsigned.status_code == 401, unsigned.text
    assert unsigned.json()["code"] == "bpm_bridge_bad_signature"
    wrong = shop.call(
        "POST", route, {"note": "wrong key"}, auth=shop.api_auth, signed=True, secret=new_secret()
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "bpm_bridge_bad_signature"
    unsigned_get = shop.call("GET", "/bpm-bridge/v1/config", auth=shop.api_auth)
    assert unsigned_get.status_code == 401
    assert unsigned_get.json()["code"] == "bpm_bridge_bad_signature"
    notes = shop.call("GET", f"/wc/v3/orders/{shop.order_id}/notes", auth=shop.admin_auth).json()
    assert not any(n["note"] in ("unsigned", "wrong key") for n in notes)


def test_bpm_bridge_routes_need_the_capability(shop):
    route = "/bpm-bridge/v1/config"
    anonymous = shop.call("GET", route, signed=True)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "rest_forbidden"
    customer = shop.call("GET", route, auth=shop.customer_auth, signed=True)
    assert customer.status_code == 403
    assert customer.json()["code"] == "rest_forbidden"


# -- what `read` would otherwise allow, and the order collection -----------------------------------------


def _app_password_uuids(wp_site, user_id: int) -> list[str]:
    return wp_site.php_json(
        f"$items = WP_Application_Passwords::get_user_application_passwords( {user_id} );"
        " echo wp_json_encode( wp_list_pluck( $items, 'uuid' ) );"
    )


def test_api_user_cannot_mint_application_passwords_but_an_administrator_can_for_it(shop):
    before = _app_password_uuids(shop.site, shop.api_user_id)
    for route in (
        "/wp/v2/users/me/application-passwords",
        f"/wp/v2/users/{shop.api_user_id}/application-passwords",
    ):
        minted = shop.call("POST", route, {"name": "mine"}, auth=shop.api_auth)
        assert minted.status_code == 403, minted.text
        assert minted.json()["code"] == "rest_cannot_create_application_passwords"
    listed = shop.call("GET", "/wp/v2/users/me/application-passwords", auth=shop.api_auth)
    assert listed.status_code == 403, listed.text
    assert _app_password_uuids(shop.site, shop.api_user_id) == before
    control = shop.call(
        "POST",
        f"/wp/v2/users/{shop.api_user_id}/application-passwords",
        {"name": "for it"},
        auth=shop.admin_auth,
    )
    assert control.status_code == 201, control.text
    revoked = shop.call(
        "DELETE",
        f"/wp/v2/users/{shop.api_user_id}/application-passwords/{control.json()['uuid']}",
        auth=shop.admin_auth,
    )
    assert revoked.status_code == 200, revoked.text


def test_api_user_cannot_change_its_profile_email_or_password(shop):
    def stored() -> dict[str, str]:
        return shop.site.php_json(
            f"clean_user_cache( {shop.api_user_id} ); $u = get_userdata( {shop.api_user_id} );"
            " echo wp_json_encode( array( 'email' => $u->user_email, 'pass' => $u->user_pass,"
            " 'first' => $u->first_name ) );"
        )

    before = stored()
    for body in ({"email": "evil@example.test"}, {"password": "known-password-1"}, {"first_name": "Evil"}):
        for route in ("/wp/v2/users/me", f"/wp/v2/users/{shop.api_user_id}"):
            changed = shop.call("POST", route, body, auth=shop.api_auth)
            assert changed.status_code == 403, changed.text
            assert changed.json()["code"] == "rest_cannot_edit"
    assert stored() == before
    control = shop.call(
        "POST", f"/wp/v2/users/{shop.api_user_id}", {"first_name": "BPM"}, auth=shop.admin_auth
    )
    assert control.status_code == 200, control.text


def test_api_user_cannot_reset_or_log_in_with_a_password(shop):
    login = shop.api_auth[0]
    shop.site.php(f"wp_set_password( 'known-password-1', {shop.api_user_id} );")
    resp = requests.post(
        f"{shop.url}/wp-login.php",
        data={"log": login, "pwd": "known-password-1", "testcookie": "1"},
        cookies={"wordpress_test_cookie": "WP Cookie check"},
        allow_redirects=False,
        timeout=30,
    )
    assert not any(name.startswith("wordpress_logged_in") for name in resp.cookies.keys())  # noqa: SIM118 - the jar iterates Cookies, resp.headers
    assert resp.status_code == 200 and "BPM Bridge sidecar" in resp.text
    requests.post(
        f"{shop.url}/wp-login.php?action=lostpassword",
        data={"user_login": login},
        allow_redirects=False,
        timeout=30,
    )
    key = shop.site.php(
        f"clean_user_cache( {shop.api_user_id} );"
        f" echo get_userdata( {shop.api_user_id} )->user_activation_key;"
    )
    assert key.strip() == ""


def _xmlrpc_get_users_blogs(url: str, login: str, password: str) -> str:
    body = (
        "<?xml version='1.0'?><methodCall><methodName>wp.getUsersBlogs</methodName><params>"
        f"<param><value><string>{login}</string></value></param>"
        f"<param><value><string>{password}</string></value></param>"
        "</params></methodCall>"
    )
    resp = requests.post(f"{url}/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"}, timeout=30)
    assert resp.status_code == 200, resp.text[:300]
    return resp.text


def test_api_user_cannot_use_xml_rpc_with_its_application_password(shop):
    # WordPress takes Application Passwords over XML-RPC too, where the REST allow-list does not reach.
    login, password = shop.api_auth
    answer = _xmlrpc_get_users_blogs(shop.url, login, password)
    assert "<name>faultCode</name>" in answer and "blogName" not in answer, answer[:500]
    # The same call works for a user who may use it, so the refusal is the identity's.
    admin = _xmlrpc_get_users_blogs(shop.url, *shop.admin_auth)
    assert "blogName" in admin, admin[:500]


def _cookie_for(wp_site, user_id: int) -> dict[str, str]:
    """The logged-in cookies WordPress would set for a user (made in PHP: the API user cannot log in)."""
    return wp_site.php_json(
        f"$exp = time() + 3600; echo wp_json_encode( array("
        f" AUTH_COOKIE => wp_generate_auth_cookie( {user_id}, $exp, 'auth' ),"
        f" LOGGED_IN_COOKIE => wp_generate_auth_cookie( {user_id}, $exp, 'logged_in' ) ) );"
    )


@pytest.mark.parametrize("page", ["/wp-admin/", "/wp-admin/profile.php", "/wp-admin/admin-ajax.php?action=x"])
def test_api_user_is_kept_out_of_wp_admin(shop, page):
    resp = requests.get(f"{shop.url}{page}", cookies=_cookie_for(shop.site, shop.api_user_id), timeout=30,
                        allow_redirects=False)  # fmt: skip
    assert resp.status_code == 403, resp.text[:300]
    control = requests.get(f"{shop.url}/wp-admin/profile.php", cookies=_cookie_for(shop.site, 1), timeout=30,
                           allow_redirects=False)  # fmt: skip
    assert control.status_code == 200


# (route, what WooCommerce or the plugin answers the BPM API user): a listing exports the customer base
COLLECTIONS = [
    ("/wc/v3/orders", "bpm_bridge_api_user_refused"),
    ("/wc/v3/orders?search=Kowalski", "bpm_bridge_api_user_refused"),
    ("/wc/v3/orders?customer=1", "bpm_bridge_api_user_refused"),
    ("/wc/v3/orders?status=processing&per_page=100", "bpm_bridge_api_user_refused"),
    ("/wc/v3/orders/{order}/refunds", "bpm_bridge_api_user_refused"),
    ("/wc/v3/customers", "woocommerce_rest_cannot_view"),
]


@pytest.mark.parametrize(("route", "code"), COLLECTIONS, ids=[r for r, _ in COLLECTIONS])
def test_api_user_cannot_list_or_search_orders(shop, route, code):
    route = route.format(order=shop.order_id)
    control = shop.call("GET", route, auth=shop.admin_auth)
    if control.status_code == 404 and control.json().get("code") == "rest_no_route":
        pytest.skip(f"this WooCommerce (the double) has no route {route}")
    assert control.status_code == 200, control.text
    resp = shop.call("GET", route, auth=shop.api_auth)
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == code
    assert "Kowalski" not in resp.text and "5260250274" not in resp.text


def test_the_plugin_reads_wc_v3_in_process_as_the_api_user(shop):
    """GET bpm-bridge/v1/orders/{id} dispatches wc/v3 single reads as the caller: the guard lets them pass."""
    resp = shop.call("GET", f"/bpm-bridge/v1/orders/{shop.order_id}", auth=shop.api_auth, signed=True)
    assert resp.status_code == 200, resp.text
    assert resp.json()["order"]["id"] == shop.order_id
    assert re.fullmatch(r"\d+\.\d{2}", resp.json()["refunds"][0]["amount"])
