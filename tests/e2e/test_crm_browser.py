"""The CRM pages a person uses, in a real browser (Playwright + Debian's chromium) on WooCommerce 9.2 (HPOS).

One journey on the session's shared wp70-wc92 site: the admin saves the CRM settings (credentials
write-only), loads the stages through the sidecar and maps a status to one, generates a webhook secret;
buyers tick or leave the marketing-consent box at the classic (shortcode) checkout and at the block checkout
WooCommerce 9.2 makes its default; a customer withdraws the consent in My Account and
customer.consent_changed lands in the outbox.

"Load stages" goes to the sidecar's POST /v1/crm/pipelines. Here a small stand-in answers it (FakePipelines,
below): it checks the Standard Webhooks signature with the shop's secret exactly as the sidecar's intake does
(sidecar.signing.verify) and answers the documented shape; it is a stand-in for that one endpoint, not for the
CRM. The sidecar's own endpoint and its HubSpot/Pipedrive calls are tested in tests/sidecar.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress
from wp_fixtures import wp_sites

from sidecar.signing import SignatureError, new_secret, verify

pytestmark = [pytest.mark.browser, pytest.mark.wordpress]

__all__ = ["wp_sites"]

CHROMIUM = Path("/usr/bin/chromium")
CRM = "/wp-admin/admin.php?page=wc-settings&tab=bpm_bridge&section=crm"
TOKEN = "pat-eu1-00000000-1111-2222-3333-444444444444"
CONSENT = "Send me news and offers by e-mail. I can withdraw at any time in My Account."
GUEST_CONSENT = (
    "Send me news and offers by e-mail. I can withdraw at any time with the link in my order e-mails."
)
BUYER = {"first_name": "Anna", "last_name": "Nowak", "address_1": "ul. Lipowa 2", "city": "Gdańsk",
         "postcode": "80-001", "phone": "500100200"}  # fmt: skip
PIPELINES = {
    "provider": "hubspot",
    "pipelines": [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "stages": [
                {"id": "appointmentscheduled", "label": "Appointment scheduled"},
                {"id": "closedwon", "label": "Closed won"},
            ],
        },
        {"id": "771", "label": "Shop", "stages": [{"id": "9001", "label": "Shipped"}]},
    ],
}
# A theme that prints the page (the harness theme prints the site name only): the checkouts need it.
THEME = """<?php
?><!doctype html><html><head><?php wp_head(); ?></head><body><?php
while ( have_posts() ) { the_post(); echo '<main>'; the_content(); echo '</main>'; }
wp_footer(); ?></body></html>
"""


class FakePipelines:
    """Stand-in for the sidecar's POST /v1/crm/pipelines only (see the module docstring)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.calls: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = 404, {"title": "Not found", "detail": "no such route"}
                if self.path == "/v1/crm/pipelines":
                    try:
                        verify([fake.secret], headers, body)
                        status, answer = 200, PIPELINES
                    except SignatureError as exc:
                        status, answer = 401, {"title": "Bad signature", "detail": str(exc)}
                    fake.calls.append({"body": body, "status": status})
                elif self.path == "/v1/events":
                    # Order events are not this test's business: "come back later".
                    status, answer = 503, {"title": "Busy", "detail": "later"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 503:
                    self.send_header("Retry-After", "3600")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def shop(wp_sites) -> Iterator[tuple[wordpress.Site, FakePipelines, dict[str, str]]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    site = wp_sites.get("wp70-wc92", hpos=True)
    secret = new_secret()
    fake = FakePipelines(secret)
    theme = site.dir / "wp-content" / "themes" / "bpm-crm-test-theme"
    theme.mkdir(parents=True, exist_ok=True)
    (theme / "style.css").write_text("/*\nTheme Name: BPM CRM Test Theme\nVersion: 1.0\n*/\n")
    (theme / "index.php").write_text(THEME)
    saved = site.php_json(
        "echo wp_json_encode( array( 'theme' => get_option( 'stylesheet' ),"
        " 'url' => \\BPM_Bridge\\Options::get_sidecar_url(),"
        " 'secrets' => \\BPM_Bridge\\Options::get_secrets() ) );"
    )
    customer = "crm-customer-" + secret[-8:].replace("/", "x").replace("+", "y").replace("=", "z").lower()
    made = site.php_json(
        f"switch_theme( 'bpm-crm-test-theme' ); \\BPM_Bridge\\Options::set_secrets( '{secret}' );"
        f" \\BPM_Bridge\\Options::set_sidecar_url( '{fake.url}' );"
        " delete_option( 'bpm_bridge_crm' ); delete_transient( 'bpm_bridge_crm_pipelines' );"
        " $page = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish',"
        " 'post_title' => 'Classic checkout', 'post_content' => '[woocommerce_checkout]' ) );"
        f" $user = wc_create_new_customer( '{customer}@example.test', '{customer}', 'Customer-Pass-1234' );"
        " echo wp_json_encode( array( 'classic' => get_permalink( $page ), 'page' => $page, 'user' => $user,"
        " 'block' => wc_get_checkout_url(),"
        " 'block_content' => get_post( wc_get_page_id( 'checkout' ) )->post_content,"
        " 'account' => wc_get_page_permalink( 'myaccount' ) ) );"
    )
    assert "wp:woocommerce/checkout" in made["block_content"], (
        "WooCommerce 9.2's checkout page is the block one"
    )
    info = {**made, "login": customer, "password": "Customer-Pass-1234"}
    try:
        yield site, fake, info
    finally:
        fake.close()
        restore = (
            "\\BPM_Bridge\\Options::set_secrets( " + ", ".join(f"'{s}'" for s in saved["secrets"][:2]) + " );"
            if saved["secrets"]
            else "delete_option( \\BPM_Bridge\\Options::SECRET );"
        )
        site.php(
            f"switch_theme( '{saved['theme']}' ); {restore}"
            f" update_option( \\BPM_Bridge\\Options::SIDECAR_URL, '{saved['url']}' );"
            " delete_option( 'bpm_bridge_crm' ); delete_option( 'bpm_bridge_marketing_consent' );"
            f" delete_transient( 'bpm_bridge_crm_pipelines' ); wp_delete_post( {made['page']}, true );"
            f" require_once ABSPATH . 'wp-admin/includes/user.php'; wp_delete_user( {made['user']} );"
        )


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield chromium
        chromium.close()


def new_page(browser, site: wordpress.Site, login: str | None = None, password: str = "", then: str = "/"):
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    if login:
        page.goto(f"{site.url}/wp-login.php?redirect_to={urllib.parse.quote(site.url + then, safe='')}")
        page.fill("#user_login", login)
        page.fill("#user_pass", password)
        with page.expect_navigation():
            page.click("#wp-submit")
    return page


def consent_of(site: wordpress.Site, order_id: int) -> dict[str, Any]:
    raw = site.php(f"echo wc_get_order( {order_id} )->get_meta( '_bpm_marketing_consent' );").strip()
    return json.loads(raw)


def order_id_from(page) -> int:
    try:
        page.wait_for_url(re.compile(r".*order-received/\d+.*"), timeout=30_000)
    except Exception:
        page.screenshot(path="/tmp/bpm-crm-checkout-failed.png", full_page=True)
        notices = page.locator(".woocommerce-error, .wc-block-components-notice-banner").all_inner_texts()
        raise AssertionError(
            f"no order received page: {notices} (screenshot /tmp/bpm-crm-checkout-failed.png)"
        ) from None
    return int(re.search(r"order-received/(\d+)", page.url).group(1))


def add_to_cart(page, site: wordpress.Site) -> None:
    page.goto(f"{site.url}/?add-to-cart={site.products['KUB-1']}")


def classic_checkout(page, site: wordpress.Site, url: str, tick: bool, email: str) -> int:
    add_to_cart(page, site)
    page.goto(url)
    page.fill("#billing_first_name", BUYER["first_name"])
    page.fill("#billing_last_name", BUYER["last_name"])
    page.fill("#billing_address_1", BUYER["address_1"])
    page.fill("#billing_city", BUYER["city"])
    page.fill("#billing_postcode", BUYER["postcode"])
    page.fill("#billing_phone", BUYER["phone"])
    page.fill("#billing_email", email)
    box = page.locator("#bpm_bridge_marketing_consent")
    assert box.is_checked() is False, "never pre-ticked"
    assert GUEST_CONSENT in page.locator(".bpm-bridge-marketing-consent").inner_text()
    if tick:
        box.check()
    page.locator("#payment_method_cod").check()
    page.wait_for_selector(".blockUI", state="detached")
    page.click("#place_order")
    return order_id_from(page)


def test_crm_settings_consent_at_both_checkouts_and_withdrawal(shop, browser) -> None:
    site, fake, info = shop

    # --- the admin: CRM settings, credentials write-only, Load stages, stage map, webhook secret ------------
    admin = new_page(browser, site, site.admin_user, site.admin_password, then=CRM)
    admin.select_option("#bpm_bridge_crm_provider", "hubspot")
    admin.fill("#bpm_bridge_crm_hubspot_access_token", TOKEN)
    admin.fill("#bpm_bridge_crm_hubspot_portal_id", "4455667")
    with admin.expect_navigation():
        admin.click("button[name=save]")
    assert TOKEN not in admin.content(), "a saved credential never goes back to the browser"
    assert admin.locator("#bpm_bridge_crm_hubspot_access_token").input_value() == ""
    assert "saved" in admin.locator("#bpm_bridge_crm_hubspot_access_token").get_attribute("placeholder")
    config = site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::config_payload()['crm'] );")
    assert config["provider"] == "hubspot" and config["hubspot"]["access_token"] == TOKEN
    assert config["hubspot"]["portal_id"] == 4455667
    raw = site.php("echo wp_json_encode( get_option( 'bpm_bridge_crm' ) );")
    assert TOKEN not in raw, "encrypted at rest"

    # Before loading, the stage map is free text with HubSpot's defaults.
    completed = admin.locator("#bpm_bridge_crm_stages_completed")
    assert completed.evaluate("e => e.tagName") == "INPUT" and completed.input_value() == "closedwon"
    admin.get_by_role("button", name="Load stages").click()
    result = admin.locator("#bpm-bridge-load-stages-result")
    result.filter(has_text="Connected").wait_for()
    assert result.inner_text() == "Connected to HubSpot: 2 pipelines."
    assert len(fake.calls) == 1 and fake.calls[0] == {"body": b"{}", "status": 200}
    assert "Shop (ID 771): Shipped" in admin.locator("#bpm-bridge-pipelines").inner_text()
    completed = admin.locator("#bpm_bridge_crm_stages_completed")
    assert completed.evaluate("e => e.tagName") == "SELECT"
    assert completed.input_value() == "closedwon", "the saved stage stays chosen"
    admin.select_option("#bpm_bridge_crm_stages_completed", "9001")
    admin.fill("#bpm_bridge_crm_pipeline", "771")
    with admin.expect_navigation():
        admin.click("button[name=save]")
    config = site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::config_payload()['crm'] );")
    assert config["stages"]["completed"] == "9001" and config["pipeline"] == "771"
    assert config["stages"]["processing"] == "contractsent"
    # After a reload the map offers the loaded stages straight away (kept in a transient).
    assert admin.locator("#bpm_bridge_crm_stages_processing").evaluate("e => e.tagName") == "SELECT"

    admin.get_by_role("button", name="Generate").click()
    reveal = admin.locator("#bpm-bridge-new-webhook-secret")
    reveal.wait_for(state="visible")
    secret = reveal.input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert (
        site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::get( 'crm' )['webhook'] );")["secret"]
        == secret
    )
    admin.reload()
    assert secret not in admin.content(), "shown once"
    admin.screenshot(path="/tmp/bpm-crm-settings.png", full_page=True)

    # --- Tools → Erase Personal Data: WordPress runs the erasers, ours queues the CRM erasure -------------
    email = f"{info['login']}-erase@example.test"
    request_id = int(
        site.php(f"echo wp_create_user_request( '{email}', 'remove_personal_data', array(), 'confirmed' );")
    )
    admin.goto(f"{site.url}/wp-admin/erase-personal-data.php")
    row = admin.locator("tr", has=admin.locator(f"[data-request-id='{request_id}']"))
    assert row.locator("td.column-bpm_bridge_crm").inner_text().strip() == "—"
    row.get_by_role("button", name="Erase personal data").click()
    row.locator(".remove-personal-data-success").wait_for(state="visible", timeout=30_000)
    queued = site.php_json(
        "$rows = array(); foreach ( \\BPM_Bridge\\Outbox::list( '', 1, 200 )['items'] as $r ) {"
        " if ( 'customer.erasure_requested' === $r['event_type'] ) {"
        " $rows[] = json_decode( $r['payload'], true )['data']; } } echo wp_json_encode( $rows );"
    )
    assert [e for e in queued if e.get("request_id") == request_id] == [
        {"email_hash": hashlib.sha256(email.encode()).hexdigest(), "request_id": request_id}
    ]
    site.php(
        f"\\BPM_Bridge\\Crm\\Eraser::record_outcome( {request_id}, 'hubspot', 'done',"
        " 'Contact deleted; HubSpot blocks the address.' );"
    )
    admin.reload()
    cell = admin.locator("tr", has=admin.locator(f"[data-request-id='{request_id}']")).locator(
        "td.column-bpm_bridge_crm"
    )
    assert "HubSpot: erased" in cell.inner_text() and "HubSpot blocks the address" in cell.inner_text()
    site.php(f"wp_delete_post( {request_id}, true );")
    admin.context.close()

    # --- buyers: the classic checkout, ticked and not -------------------------------------------------------
    guest = new_page(browser, site)
    ticked = classic_checkout(guest, site, info["classic"], True, "anna.nowak@example.test")
    record = consent_of(site, ticked)
    assert record["granted"] is True and record["source"] == "checkout" and record["version"] == "v1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["at"]) and record["ip"]
    # The order-received page offers the guest a withdrawal link; opening it changes nothing, its button does.
    guest.get_by_role("link", name="Withdraw marketing consent").click()
    guest.wait_for_load_state()
    assert consent_of(site, ticked)["granted"] is True, "opening the link withdraws nothing"
    with guest.expect_navigation():
        guest.get_by_role("button", name="Withdraw marketing consent").click()
    assert "will not send you news and offers by e-mail any more" in guest.content()
    record = consent_of(site, ticked)
    assert record["granted"] is False and record["source"] == "email-link"
    unticked = classic_checkout(guest, site, info["classic"], False, "jan.nowak@example.test")
    assert consent_of(site, unticked)["granted"] is False
    guest.context.close()

    # --- a registered customer: the block checkout (ticked), then My Account withdrawal --------------------
    customer = new_page(browser, site, info["login"], info["password"])
    add_to_cart(customer, site)
    customer.goto(info["block"])
    form = customer.locator(".wc-block-checkout")
    form.locator("#billing-first_name").wait_for()
    for field in ("first_name", "last_name", "address_1", "city", "postcode", "phone"):
        target = form.locator(f"#billing-{field}")
        if target.count():
            target.fill(BUYER[field])
    customer.get_by_label("NIP (tax id, for a company invoice)").fill("526-025-02-74")
    box = customer.get_by_label(CONSENT)
    assert box.is_checked() is False, "never pre-ticked"
    box.check()
    cod = customer.locator("#radio-control-wc-payment-method-options-cod")
    if cod.count():
        cod.check()
    # The block checkout pushes field changes to the Store API after a debounce; a click meanwhile is ignored.
    customer.wait_for_timeout(1500)
    customer.wait_for_load_state("networkidle")
    answers: list[Any] = []
    customer.on(
        "response", lambda r: answers.append(r) if "store/v1/checkout" in r.url.replace("%2F", "/") else None
    )
    place = customer.locator(".wc-block-components-checkout-place-order-button")
    place.click()
    if not answers:
        customer.wait_for_timeout(3000)
    if not answers:
        place.click()  # the first click fell into a Store API update
    try:
        block_order = order_id_from(customer)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; Store API answers: {[(r.status, r.url, r.text()[:300]) for r in answers]}"
        ) from None
    record = consent_of(site, block_order)
    assert record["granted"] is True and record["source"] == "checkout-block"
    nip = site.php(f"echo wc_get_order( {block_order} )->get_meta( '_billing_nip' );").strip()
    assert nip == "5260250274", "the block checkout's NIP is stored where the classic one goes"
    user_record = json.loads(
        site.php(f"echo get_user_meta( {info['user']}, '_bpm_marketing_consent', true );").strip()
    )
    assert user_record["granted"] is True

    customer.goto(info["account"] + "edit-account/")
    panel = customer.locator("form.bpm-bridge-consent")
    assert "You agreed on" in panel.inner_text()
    mine = panel.locator("#bpm_bridge_marketing")
    assert mine.is_checked()
    mine.uncheck()
    with customer.expect_navigation():
        panel.get_by_role("button", name="Save marketing preference").click()
    assert "we will not send you news and offers any more" in customer.content()
    assert customer.locator("#bpm_bridge_marketing").is_checked() is False
    customer.screenshot(path="/tmp/bpm-crm-my-account.png", full_page=True)
    customer.context.close()

    events = site.php_json(
        "$rows = array(); foreach ( \\BPM_Bridge\\Outbox::list( '', 1, 200 )['items'] as $r ) {"
        " if ( 'customer.consent_changed' === $r['event_type'] ) {"
        " $rows[] = json_decode( $r['payload'], true )['data']; } }"
        " echo wp_json_encode( $rows );"
    )
    assert {"customer_id": info["user"], "order_id": block_order} in events
    assert {"order_id": ticked} in events, "a guest's withdrawal names the order"
    record = json.loads(
        site.php(f"echo get_user_meta( {info['user']}, '_bpm_marketing_consent', true );").strip()
    )
    assert record["granted"] is False and record["source"] == "my-account"
    consent = site.php_json(
        f"echo wp_json_encode( \\BPM_Bridge\\Crm\\Consent::for_rest( wc_get_order( {block_order} ) ) );"
    )
    assert consent["marketing"] is False, "the customer's latest record wins over the order's"


def test_load_stages_through_the_real_sidecar_and_hubspot_simulator(shop, redis_url: str) -> None:
    """The same PHP the button calls, against gunicorn's sidecar (its POST /v1/crm/pipelines reads the saved
    settings back through the API user) and the HubSpot simulator: no stand-in on the way."""
    from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port

    from sidecar.sandbox import ServedApp, load_factory

    site, fake, _ = shop
    token = "pat-na1-crm-browser-0001"
    hub = ServedApp(load_factory("hubspot")(token=token, portal_id=4455667)).start()
    port = free_port()
    try:
        api = site.php_json(
            "$api = \\BPM_Bridge\\Role::ensure_api_user(); echo wp_json_encode( $api );"
            f" \\BPM_Bridge\\Options::set_sidecar_url( 'http://127.0.0.1:{port}' );"
            " \\BPM_Bridge\\Options::set( 'crm', array( 'provider' => 'hubspot', 'hubspot' => array("
            f" 'access_token' => '{token}', 'base_url' => '{hub.url}' ) ) );"
        )
        env = process_env(
            redis_url,
            site.url,
            fake.secret,
            api["password"],
            user=api["login"],
            extra={"BPM_BIND": f"127.0.0.1:{port}", "BPM_WEB_WORKERS": "1"},
        )
        with ProcessGroup() as group:
            group.start("web", sidecar_cmd("serve"), env)
            try:
                wait_for_port(port, timeout=30)
            except TimeoutError:
                pytest.fail(f"the sidecar did not start:\n{group.logs()}")
            load = "echo wp_json_encode( \\BPM_Bridge\\Crm\\Pipelines::load() );"
            result = site.php_json(load)
            assert result["ok"], result["message"] + "\n" + group.logs()[-2000:]
            assert re.fullmatch(r"Connected to HubSpot: \d+ pipelines?\.", result["message"])
            default = next(p for p in result["pipelines"] if p["id"] == "default")
            assert {"id": "closedwon", "label": "Closed Won"} in default["stages"]
            site.php(
                "\\BPM_Bridge\\Options::set( 'crm', array( 'hubspot' => array( 'access_token' =>"
                " 'pat-na1-not-the-token' ) ) );"
            )
            refused = site.php_json(load)
            assert refused["ok"] is False
            assert refused["message"].startswith(
                "The sidecar answered HTTP 502: HubSpot refused the access token"
            )
    finally:
        hub.stop()
