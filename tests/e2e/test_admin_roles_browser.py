"""A Shop Manager in a real browser: the Events screen, Retry and the order box, but no BPM Bridge settings.

WooCommerce shows its settings screen to every user with manage_woocommerce, Shop Managers included; the
BPM Bridge tab (credentials, the signing secret, the API user, the sidecar URL, Test connection) needs the
plugin's own capability bpm_bridge_manage, which only administrators get (docs/security.md). Same site and
browser fixtures as test_admin_browser.py, on a site of its own.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import test_admin_browser as admin_ui
import wordpress
from test_admin_browser import EVENTS, TAB, logged_in_page, notices, outbox, shot

# The admin test's site fixture: a fresh WordPress + WooCommerce site for this module.
site = admin_ui.site

pytestmark = [pytest.mark.browser, pytest.mark.wordpress]

MANAGER = "shopmgr"
MANAGER_PASSWORD = "Shop-manager-Pass-123"
SIDECAR_URL = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def configured(site: wordpress.Site) -> dict:
    """An administrator's configuration (URL, secret, credential) and a Shop Manager account."""
    ids = site.php_json(
        f"""
        \\BPM_Bridge\\Options::set_sidecar_url( '{SIDECAR_URL}' );
        \\BPM_Bridge\\Options::set_secrets( \\BPM_Bridge\\Signer::new_secret() );
        \\BPM_Bridge\\Options::set( 'invoicing', array( 'provider' => 'fakturownia',
            'fakturownia' => array( 'api_token' => 'fkt-Token-shopmgr-0123' ) ) );
        $user = wp_insert_user( array( 'user_login' => '{MANAGER}', 'user_pass' => '{MANAGER_PASSWORD}',
            'role' => 'shop_manager', 'user_email' => 'shopmgr@example.test' ) );
        $order = wc_create_order( array( 'status' => 'processing' ) );
        $order->update_meta_data( '_bpm_invoice_number', 'FV 3/12/2026' );
        $order->save();
        $event = \\BPM_Bridge\\Outbox::add( 'order.paid', array( 'order_id' => $order->get_id() ) );
        global $wpdb;
        $wpdb->update( \\BPM_Bridge\\Installer::outbox_table(),
            array( 'status' => 'failed', 'last_error' => 'HTTP 422: refused' ), array( 'id' => $event ) );
        echo wp_json_encode( array( 'user' => $user, 'order' => $order->get_id(), 'event' => $event,
            'order_url' => \\BPM_Bridge\\Admin\\Views::order_url( $order->get_id() ),
            'secret' => get_option( 'bpm_bridge_secret' ) ) );
        """
    )
    assert isinstance(ids["user"], int) and ids["user"] > 0, ids
    return ids


@pytest.fixture(scope="module")
def manager_page(site: wordpress.Site, configured: dict) -> Iterator:
    with logged_in_page(MANAGER, MANAGER_PASSWORD, site) as tab:
        yield tab


def test_the_settings_tab_is_not_there_for_a_shop_manager(manager_page, site, configured):
    manager_page.goto(f"{site.url}/wp-admin/admin.php?page=wc-settings")
    tabs = [t.strip() for t in manager_page.locator("nav.woo-nav-tab-wrapper a, .nav-tab").all_inner_texts()]
    assert tabs, "WooCommerce's settings screen itself is open to Shop Managers"
    assert "BPM Bridge" not in tabs
    manager_page.goto(f"{site.url}{TAB}")
    html = manager_page.content()
    assert "bpm_bridge_sidecar_url" not in html
    assert "Create API user" not in html and "Rotate secret" not in html and "Test connection" not in html
    assert "fkt-Token-shopmgr-0123" not in html
    shot(manager_page, "shop-manager-settings")


def test_a_shop_manager_cannot_save_bpm_bridge_settings(manager_page, site, configured):
    # WooCommerce's own form nonce is valid for the Shop Manager; the BPM Bridge tab is not registered for
    # them, so nothing reads the posted fields.
    manager_page.goto(f"{site.url}/wp-admin/admin.php?page=wc-settings")
    wc_nonce = manager_page.input_value("#_wpnonce")
    response = manager_page.request.post(
        f"{site.url}{TAB}",
        form={
            "save": "Save changes",
            "_wpnonce": wc_nonce,
            "bpm_bridge[sidecar_url]": "http://attacker.example",
        },
        max_redirects=0,
    )
    assert response.status < 500
    assert site.php("echo \\BPM_Bridge\\Options::get_sidecar_url();") == SIDECAR_URL


def test_configuration_actions_refuse_a_shop_manager(manager_page, site, configured):
    # The capability is checked before the nonce: the refusal names it, whatever nonce is sent.
    for action in ("secret", "drop_previous_secret", "create_api_user", "test_connection"):
        response = manager_page.request.post(
            f"{site.url}/wp-admin/admin-post.php",
            form={"action": f"bpm_bridge_{action}", "bpm_bridge_nonce": "0", "mode": "rotate"},
            max_redirects=0,
        )
        assert response.status == 403, action
        assert "not allowed to manage BPM Bridge" in response.text(), action
    assert site.php("echo get_option( 'bpm_bridge_secret' );") == configured["secret"]
    assert site.php("echo count( get_users( array( 'role' => 'bpm_api' ) ) );").strip() == "0"
    assert [r for r in outbox(site) if r["event_type"] == "ping"] == []


def test_a_shop_manager_sees_the_events_screen_and_retries(manager_page, site, configured):
    manager_page.goto(f"{site.url}/wp-admin/")
    menu = manager_page.locator("#adminmenu a", has_text="BPM Bridge events")
    assert menu.count() == 1  # under the WooCommerce menu
    assert menu.get_attribute("href").endswith("admin.php?page=bpm-bridge-events")
    manager_page.goto(f"{site.url}{EVENTS}")
    row = manager_page.locator(f"tr[data-event-id='{configured['event']}']")
    assert row.get_attribute("data-status") == "failed"
    assert "422" in row.locator(".column-error").inner_text()
    # Only the forms this user may submit are on the page.
    assert manager_page.locator("#bpm-bridge-form-retry_event").count() == 1
    assert manager_page.locator("#bpm-bridge-form-secret").count() == 0
    assert manager_page.locator("#bpm-bridge-form-create_api_user").count() == 0
    shot(manager_page, "shop-manager-events")

    with manager_page.expect_navigation():
        row.get_by_role("button", name="Retry").click()
    assert any("will be sent again shortly" in n for n in notices(manager_page)), notices(manager_page)
    status = site.php_json(
        f"echo wp_json_encode( \\BPM_Bridge\\Outbox::get( '{configured['event']}' )['status'] );"
    )
    assert status in ("pending", "sent", "failed")  # a drain may already have tried the dead sidecar
    assert (
        status != "failed"
        or int(site.php(f"echo \\BPM_Bridge\\Outbox::get( '{configured['event']}' )['attempts'];")) >= 1
    )


def test_a_shop_manager_sees_the_order_box(manager_page, site, configured):
    manager_page.goto(configured["order_url"])
    box = manager_page.locator("#bpm-bridge-order")
    assert box.count() == 1, manager_page.content()[:2000]
    assert "FV 3/12/2026" in box.inner_text()
    assert re.search(r"order\.paid", box.inner_text())


def test_plugins_screen_has_no_settings_link_for_a_shop_manager(site, configured):
    # A Shop Manager cannot open the Plugins screen at all; the link check is for completeness on the
    # filter itself, which only adds "Settings" for bpm_bridge_manage.
    links = site.php_json(
        f"wp_set_current_user( {configured['user']} );"
        " echo wp_json_encode( \\BPM_Bridge\\Admin\\Admin::plugin_links( array() ) );"
    )
    assert links == []
