"""The BPM Bridge admin screens in a real browser (Debian's chromium via Playwright) on a real WordPress.

One WordPress site (tests/support/wordpress.py: Debian's WordPress 6.1 + MariaDB + the plugin + the
WooCommerce double) and the real sidecar (`bpm-sidecar serve`, gunicorn) configured from the environment
snippet the settings screen shows. Screenshots of every screen go to /tmp/bpm-admin-*.png.

The tests run in file order and build on each other (one admin session, one site), like an admin would.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress
from wp_fixtures import fresh_site

pytestmark = [pytest.mark.browser, pytest.mark.wordpress]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp")
TAB = "/wp-admin/admin.php?page=wc-settings&tab=bpm_bridge"
EVENTS = "/wp-admin/admin.php?page=bpm-bridge-events"  # its own page: Shop Managers have no settings tab
FAKTUROWNIA_TOKEN = "fkt-Token-0123456789abcdef"
INFAKT_KEY = "infakt-Key-9876543210fedcba"


# ----------------------------------------------------------------------------------------------- fixtures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[wordpress.Site]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (/usr/bin/chromium); "
            "scripts/install-system-deps.sh installs it"
        )
    with fresh_site(tmp_path_factory.mktemp("wp-admin-ui"), "bpm_test_admin") as created:
        yield created


@contextlib.contextmanager
def logged_in_page(login: str, password: str, site: wordpress.Site) -> Iterator:
    """A chromium tab logged in to the site's wp-admin as the given user."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        context.set_default_timeout(20_000)
        tab = context.new_page()
        # The admin screens ask before rotating secrets or creating a second password; the user says yes.
        tab.on("dialog", lambda dialog: dialog.accept())
        tab.goto(f"{site.url}/wp-login.php")
        tab.fill("#user_login", login)
        tab.fill("#user_pass", password)
        tab.click("#wp-submit")
        tab.wait_for_url(re.compile(r".*/wp-admin/.*"))
        yield tab
        context.close()
        browser.close()


@pytest.fixture(scope="module")
def page(site: wordpress.Site):
    with logged_in_page(site.admin_user, site.admin_password, site) as tab:
        yield tab


class Sidecar:
    """The real sidecar under gunicorn, restartable with another environment."""

    def __init__(self, redis_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = redis_url
        self.proc: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> None:
        self.stop()
        cli = shutil.which("bpm-sidecar") or str(Path(sys.executable).with_name("bpm-sidecar"))
        full = {
            **os.environ,
            **env,
            "BPM_BIND": f"127.0.0.1:{self.port}",
            "BPM_WEB_WORKERS": "1",
            "BPM_REDIS_URL": self.redis_url,
            "BPM_LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen(
            [cli, "serve"],
            env=full,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"bpm-sidecar serve exited: {self.proc.stderr.read().decode(errors='replace')}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError("the sidecar did not answer /healthz within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def sidecar(redis_url: str) -> Iterator[Sidecar]:
    if not (ROOT / "sidecar" / "cli.py").exists():
        pytest.skip("the sidecar (sidecar/cli.py) is not built yet")
    server = Sidecar(redis_url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def state() -> dict:
    """Values one test hands to the next (the snippet, the secret)."""
    return {}


# ----------------------------------------------------------------------------------------------- helpers


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"bpm-admin-{name}.png"), full_page=True)


def open_section(page, site: wordpress.Site, section: str = "", **query: str) -> None:
    if section == "events":
        url = f"{site.url}{EVENTS}"
    else:
        url = f"{site.url}{TAB}" + (f"&section={section}" if section else "")
    for key, value in query.items():
        url += f"&{key}={value}"
    page.goto(url)
    assert page.locator("#wpbody-content").count() == 1, page.content()[:2000]
    assert "There has been a critical error" not in page.content()


def save(page) -> None:
    with page.expect_navigation():
        page.click("button[name=save]")


def notices(page) -> list[str]:
    return [t.strip() for t in page.locator(".bpm-bridge-notice").all_inner_texts()]


def outbox(site: wordpress.Site, status: str = "") -> list[dict]:
    rows = site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::list( '{status}', 1, 200 )['items'] );")
    return list(rows or [])


def drain(site: wordpress.Site) -> dict:
    return site.php_json("echo wp_json_encode( \\BPM_Bridge\\Dispatcher::drain() );")


def parse_env(snippet: str) -> dict[str, str]:
    env = {}
    for line in snippet.splitlines():
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip().strip('"')
    return env


def assert_not_in_page(page, *secrets: str) -> None:
    html = page.content()
    for secret in secrets:
        assert secret not in html, "a secret value was sent to the browser"


# ----------------------------------------------------------------------------------------------- tests


def test_tab_sections_render(page, site):
    open_section(page, site)
    assert page.locator("a.nav-tab-active").inner_text().strip() == "BPM Bridge"
    links = [t.strip() for t in page.locator("ul.subsubsub a").all_inner_texts()]
    assert links == ["General", "Invoicing", "CRM", "Returns", "Events"]
    assert page.locator("#bpm_bridge_sidecar_url").count() == 1
    assert page.get_by_role("button", name="Create API user").count() == 1
    assert page.get_by_role("button", name="Generate secret").count() == 1
    shot(page, "general-empty")

    # Nothing to test yet: the screen says what is missing and queues nothing.
    with page.expect_navigation():
        page.get_by_role("button", name="Test connection").click()
    assert notices(page) == ["Enter and save the sidecar URL first."]
    assert [r for r in outbox(site) if r["event_type"] == "ping"] == []


def test_invoicing_settings_persist_and_credentials_are_never_echoed(page, site):
    before = len(outbox(site))
    open_section(page, site, "invoicing")
    page.select_option("#bpm_bridge_invoicing_provider", "fakturownia")
    page.fill("#bpm_bridge_invoicing_fakturownia_domain", "https://MojaFirma.fakturownia.pl/")
    page.fill("#bpm_bridge_invoicing_fakturownia_api_token", FAKTUROWNIA_TOKEN)
    page.fill("#bpm_bridge_invoicing_fakturownia_department_id", "42")
    page.fill("#bpm_bridge_invoicing_infakt_api_key", INFAKT_KEY)
    page.select_option("#bpm_bridge_invoicing_trigger_default", "paid")
    page.select_option("#bpm_bridge_invoicing_trigger_cod", "completed")
    page.select_option("#bpm_bridge_invoicing_trigger_bacs", "completed")
    page.fill("#bpm_bridge_invoicing_trigger_extra", "przelewy24")
    page.select_option("#bpm_bridge_invoicing_trigger_extra_trigger", "completed")
    page.select_option("#bpm_bridge_invoicing_b2c_document", "invoice")
    page.uncheck("#bpm_bridge_invoicing_send_email")
    page.fill("#bpm_bridge_invoicing_exemption_reason", "art. 43 ust. 1 pkt 2 ustawy o VAT")
    save(page)

    # The form shows what was saved, normalised, and never the credentials.
    assert page.input_value("#bpm_bridge_invoicing_provider") == "fakturownia"
    assert page.input_value("#bpm_bridge_invoicing_fakturownia_domain") == "mojafirma"
    assert page.input_value("#bpm_bridge_invoicing_fakturownia_department_id") == "42"
    assert page.input_value("#bpm_bridge_invoicing_b2c_document") == "invoice"
    assert page.input_value("#bpm_bridge_invoicing_trigger_cod") == "completed"
    assert page.input_value("#bpm_bridge_invoicing_trigger_przelewy24") == "completed"
    assert not page.is_checked("#bpm_bridge_invoicing_send_email")
    for field in ("fakturownia_api_token", "infakt_api_key"):
        locator = page.locator(f"#bpm_bridge_invoicing_{field}")
        assert locator.get_attribute("type") == "password"
        assert locator.input_value() == ""
        assert locator.get_attribute("placeholder") == "•••• saved"
    assert_not_in_page(page, FAKTUROWNIA_TOKEN, INFAKT_KEY)
    shot(page, "invoicing-saved")

    # What the sidecar will read (GET /config) has the same values; the database holds ciphertext only.
    config = site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::config_payload() );")
    invoicing = config["invoicing"]
    assert invoicing["provider"] == "fakturownia"
    assert invoicing["fakturownia"] == {
        "domain": "mojafirma",
        "api_token": FAKTUROWNIA_TOKEN,
        "department_id": 42,
        "base_url": None,
    }
    assert invoicing["infakt"]["api_key"] == INFAKT_KEY
    assert invoicing["trigger"] == {
        "default": "paid",
        "by_payment_method": {"bacs": "completed", "cod": "completed", "przelewy24": "completed"},
    }
    assert invoicing["b2c_document"] == "invoice"
    assert invoicing["send_email"] is False
    assert invoicing["exemption_reason"] == "art. 43 ust. 1 pkt 2 ustawy o VAT"
    raw = site.php("echo maybe_serialize( get_option( 'bpm_bridge_invoicing' ) );")
    assert FAKTUROWNIA_TOKEN not in raw and INFAKT_KEY not in raw

    # Saving queued config.updated for the sidecar.
    types = [row["event_type"] for row in outbox(site)]
    assert len(types) > before and "config.updated" in types

    # Saving again with the credential fields empty keeps them; "Remove the saved value" removes one.
    page.select_option("#bpm_bridge_invoicing_trigger_bacs", "")
    page.check("input[name='bpm_bridge[invoicing.infakt.api_key.forget]']")
    save(page)
    config = site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::config_payload() );")
    assert config["invoicing"]["fakturownia"]["api_token"] == FAKTUROWNIA_TOKEN
    assert config["invoicing"]["infakt"]["api_key"] == ""
    assert config["invoicing"]["trigger"]["by_payment_method"] == {
        "cod": "completed",
        "przelewy24": "completed",
    }
    assert page.locator("#bpm_bridge_invoicing_infakt_api_key").get_attribute("placeholder") == ""
    assert (
        page.locator("#bpm_bridge_invoicing_fakturownia_api_token").get_attribute("placeholder")
        == "•••• saved"
    )


def test_invalid_input_is_refused_with_a_notice(page, site):
    open_section(page, site, "invoicing")
    page.fill("#bpm_bridge_invoicing_fakturownia_domain", "moja firma!")
    save(page)
    assert any("may only contain letters, digits and hyphens" in n for n in notices(page))
    assert page.input_value("#bpm_bridge_invoicing_fakturownia_domain") == "mojafirma"

    open_section(page, site)
    page.fill("#bpm_bridge_sidecar_url", "ftp://example.test/x")
    save(page)
    assert any("is not an http(s) address" in n for n in notices(page))
    assert page.input_value("#bpm_bridge_sidecar_url") == ""


def test_returns_section_saves(page, site):
    open_section(page, site, "returns")
    page.check("#bpm_bridge_rma_enabled")
    page.fill("#bpm_bridge_rma_complaints_email", "reklamacje@sklep.example")
    page.fill("#bpm_bridge_rma_withdrawal_days", "30")
    page.fill("#bpm_bridge_rma_reasons", "Za mały rozmiar\nUszkodzony w transporcie\nWada (reklamacja)")
    page.fill("#bpm_bridge_rma_complaint_reasons", "Wada (reklamacja)")
    page.fill("#bpm_bridge_rma_return_locker", "KRA01M")
    page.select_option("#bpm_bridge_rma_order_status", "return-requested")
    page.select_option("#bpm_bridge_carrier_provider", "inpost")
    page.select_option("#bpm_bridge_carrier_inpost_parcel_template", "medium")
    page.fill("#bpm_bridge_carrier_inpost_organization_id", "1234")
    save(page)
    assert page.is_checked("#bpm_bridge_rma_enabled")
    rma = site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::get_rma() );")
    assert rma["enabled"] is True
    assert rma["complaints_email"] == "reklamacje@sklep.example"
    assert rma["withdrawal_days"] == 30
    assert rma["reasons"] == ["Za mały rozmiar", "Uszkodzony w transporcie", "Wada (reklamacja)"]
    assert rma["complaint_reasons"] == ["Wada (reklamacja)"]
    assert (rma["return_locker"], rma["order_status"]) == ("KRA01M", "return-requested")
    assert rma["complaint_days"] == 730
    carrier = site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::config_payload()['carrier'] );")
    assert carrier["provider"] == "inpost"
    assert carrier["inpost"]["parcel_template"] == "medium"
    assert carrier["inpost"]["organization_id"] == 1234

    # Refused values keep the saved ones and say why; the valid ones of the same form are kept. (The
    # browser itself refuses them first — type=email, min — so its own check is switched off here.)
    page.eval_on_selector("#bpm_bridge_rma_enabled", "el => { el.form.noValidate = true; }")
    page.fill("#bpm_bridge_rma_complaints_email", "not an address")
    page.fill("#bpm_bridge_rma_withdrawal_days", "7")
    page.fill("#bpm_bridge_rma_return_city", "Kraków")
    save(page)
    shown = notices(page)
    assert any("is not an e-mail address" in n for n in shown), shown
    assert any("must be a whole number from 14 to 365" in n for n in shown), shown
    rma = site.php_json("echo wp_json_encode( \\BPM_Bridge\\Options::get_rma() );")
    assert (rma["complaints_email"], rma["withdrawal_days"], rma["return_city"]) == (
        "reklamacje@sklep.example",
        30,
        "Kraków",
    )
    assert page.input_value("#bpm_bridge_rma_withdrawal_days") == "30"
    shot(page, "returns")


def test_create_api_user_shows_password_and_secret_once(page, site, sidecar, state):
    open_section(page, site)
    page.fill("#bpm_bridge_sidecar_url", sidecar.url + "/")
    save(page)
    assert page.input_value("#bpm_bridge_sidecar_url") == sidecar.url

    with page.expect_navigation():
        page.get_by_role("button", name="Create API user").click()
    assert any("were created" in n for n in notices(page))
    snippet = page.input_value("#bpm-bridge-api-env")
    env = parse_env(snippet)
    assert set(env) == {
        "BPM_STORE_URL",
        "BPM_STORE_USER",
        "BPM_STORE_APP_PASSWORD",
        "BPM_WEBHOOK_SECRETS",
        "BPM_ALLOW_INSECURE_STORE",
    }
    assert env["BPM_STORE_URL"] == site.url
    assert env["BPM_STORE_USER"] == "bpm-api"
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", env["BPM_WEBHOOK_SECRETS"])
    shot(page, "api-user-created")

    # The user is in the BPM API role only, and the password works for the REST API.
    user = site.php_json(
        "$u = get_user_by( 'login', 'bpm-api' ); echo wp_json_encode( array( 'roles' => $u->roles,"
        " 'caps' => array_keys( array_filter( get_role( 'bpm_api' )->capabilities ) ) ) );"
    )
    assert user["roles"] == ["bpm_api"]
    assert sorted(user["caps"]) == ["bpm_bridge_api", "read", "read_private_shop_orders"]
    # (Signed in as the BPM API user, whose REST access is an allow-list: the refusal names that user.)
    assert rest_status(site, "bpm-api", env["BPM_STORE_APP_PASSWORD"]) == (403, "bpm_bridge_api_user_refused")

    # Shown once: a reload no longer has the password or the secret; only the fingerprint remains.
    open_section(page, site)
    assert page.locator("#bpm-bridge-api-env").count() == 0
    assert_not_in_page(page, env["BPM_STORE_APP_PASSWORD"], env["BPM_WEBHOOK_SECRETS"])
    fingerprint = hashlib.sha256(env["BPM_WEBHOOK_SECRETS"].encode()).hexdigest()[:8]
    assert fingerprint in page.locator(".bpm-bridge-secret").inner_text()
    assert "which has 1 Application Password" in page.content()
    shot(page, "general-configured")
    state["env"] = env

    # A second password (e.g. for a second sidecar host), keeping the first: untick "Revoke". Shown once
    # too; the secret is not repeated.
    revoke = page.locator("#bpm-bridge-revoke-previous")
    assert revoke.is_checked(), "revoking the previous passwords is the default"
    revoke.uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Create a new Application Password").click()
    second = parse_env(page.input_value("#bpm-bridge-api-env"))
    assert second["BPM_STORE_USER"] == "bpm-api"
    assert second["BPM_STORE_APP_PASSWORD"] != env["BPM_STORE_APP_PASSWORD"]
    assert second["BPM_WEBHOOK_SECRETS"] == "<your signing secret>"
    names = site.php_json(
        "echo wp_json_encode( wp_list_pluck( WP_Application_Passwords::get_user_application_passwords("
        " get_user_by( 'login', 'bpm-api' )->ID ), 'name' ) );"
    )
    assert len(names) == 2 and all(n.startswith("BPM Bridge sidecar") for n in names), names
    open_section(page, site)
    assert "which has 2 Application Passwords" in page.content()

    # A third with the box ticked (the default): only the new password works afterwards.
    with page.expect_navigation():
        page.get_by_role("button", name="Create a new Application Password").click()
    assert any(
        "2 previous Application Passwords of the sidecar user were revoked" in n for n in notices(page)
    )
    third = parse_env(page.input_value("#bpm-bridge-api-env"))
    assert rest_status(site, "bpm-api", third["BPM_STORE_APP_PASSWORD"])[0] == 403  # signed in, fenced
    for old in (env, second):
        assert rest_status(site, "bpm-api", old["BPM_STORE_APP_PASSWORD"])[0] == 401  # not signed in
    open_section(page, site)
    assert "which has 1 Application Password" in page.content()
    state["env"] = {**env, "BPM_STORE_APP_PASSWORD": third["BPM_STORE_APP_PASSWORD"]}


def rest_status(site: wordpress.Site, login: str, password: str) -> tuple[int, str]:
    """Status and error code of GET /wp/v2/users/me with an Application Password."""
    request = urllib.request.Request(f"{site.url}/wp-json/wp/v2/users/me")
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, str(json.loads(exc.read() or b"{}").get("code", ""))


def test_test_connection_reports_the_sidecars_answer(page, site, sidecar, state):
    env = state["env"]

    # Sidecar down: a clear message, no crash, and the ping waits in the outbox.
    open_section(page, site)
    with page.expect_navigation():
        page.get_by_role("button", name="Test connection").click()
    assert any(n.startswith("The sidecar could not be reached") for n in notices(page)), notices(page)

    # Sidecar with another secret: the signature is refused (401) and that ping is failed for good.
    sidecar.start({**env, "BPM_WEBHOOK_SECRETS": "whsec_" + "QUJD" * 8})
    with page.expect_navigation():
        page.get_by_role("button", name="Test connection").click()
    assert any("answered HTTP 401" in n for n in notices(page)), notices(page)
    shot(page, "test-connection-401")
    failed = [r for r in outbox(site, "failed") if r["event_type"] == "ping"]
    assert len(failed) == 1
    state["failed_ping"] = failed[0]["id"]

    # Sidecar configured with exactly the snippet from the settings screen: accepted.
    sidecar.start(env)
    with page.expect_navigation():
        page.get_by_role("button", name="Test connection").click()
    assert any(n.startswith("Connection works") and "HTTP 202" in n for n in notices(page)), notices(page)
    shot(page, "test-connection-ok")


def test_events_screen_lists_pings_and_retries_a_failed_row(page, site, state):
    open_section(page, site, "events")
    assert page.locator("button[name=save]").count() == 0  # nothing to save on this screen
    rows = page.locator("table.bpm-bridge-events tbody tr[data-event-id]")
    assert rows.count() >= 3
    pings = page.locator("tr[data-event-id]", has_text="ping")
    assert pings.count() == 3
    statuses = sorted(pings.nth(i).get_attribute("data-status") for i in range(pings.count()))
    # The first ping (sidecar down) waits for its retry, unless a drain already delivered it meanwhile.
    assert statuses in (["done", "failed", "pending"], ["done", "done", "failed"]), statuses
    failed_row = page.locator(f"tr[data-event-id='{state['failed_ping']}']")
    assert "401" in failed_row.locator(".column-error").inner_text()
    assert failed_row.locator(".column-attempts").inner_text().strip() == "1"
    shot(page, "events-all")

    # Filter: only failed rows.
    open_section(page, site, "events", status="failed")
    assert page.locator("ul.bpm-bridge-status-filter a.current").inner_text().startswith("Failed")
    assert page.locator("tr[data-event-id]").count() == len(outbox(site, "failed"))
    shot(page, "events-failed")

    # Retry the failed ping: back to pending, then the drain delivers it to the (now matching) sidecar.
    with page.expect_navigation():
        failed_row = page.locator(f"tr[data-event-id='{state['failed_ping']}']")
        failed_row.get_by_role("button", name="Retry").click()
    assert any("will be sent again shortly" in n for n in notices(page)), notices(page)
    assert "status=failed" in page.url
    row = site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::get( '{state['failed_ping']}' ) );")
    assert row["status"] in ("pending", "done")  # the async drain may already have run
    drain(site)
    row = site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::get( '{state['failed_ping']}' ) );")
    assert row["status"] == "done", row

    # Retry all failed with nothing failed left: disabled button; with one failed row: it is re-queued.
    open_section(page, site, "events")
    other = [r for r in outbox(site, "failed")]
    button = page.get_by_role("button", name="Retry all failed")
    assert button.is_disabled() == (len(other) == 0)
    shot(page, "events-after-retry")


def test_retry_all_failed(page, site):
    # A row the sidecar refused permanently (problem+json 422), made by the real outbox and dispatcher.
    ids = site.php_json(
        "$a = \\BPM_Bridge\\Outbox::add( 'order.paid', array( 'order_id' => 0 ) );"
        "$b = \\BPM_Bridge\\Outbox::add( 'order.paid', array( 'order_id' => -5 ) );"
        "\\BPM_Bridge\\Dispatcher::drain(); echo wp_json_encode( array( $a, $b ) );"
    )
    failed = {r["id"] for r in outbox(site, "failed")}
    assert set(ids) <= failed, outbox(site)
    open_section(page, site, "events", status="failed")
    assert "422" in page.locator(f"tr[data-event-id='{ids[0]}'] .column-error").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Retry all failed").click()
    assert any(re.match(r"\d+ failed events? will be sent again shortly", n) for n in notices(page)), notices(
        page
    )
    for event_id in ids:
        row = site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::get( '{event_id}' ) );")
        assert row["status"] in ("pending", "failed")  # failed again only if a drain already re-sent it
        assert row["attempts"] >= 1


def test_rotation_signs_with_both_secrets_until_stopped(page, site, sidecar, state):
    old = state["env"]["BPM_WEBHOOK_SECRETS"]
    open_section(page, site)
    with page.expect_navigation():
        page.get_by_role("button", name="Rotate secret").click()
    new = page.input_value("#bpm-bridge-new-secret")
    assert new.startswith("whsec_") and new != old
    assert page.input_value("#bpm-bridge-secret-env") == f'BPM_WEBHOOK_SECRETS="{new}"'
    assert "Rotation in progress" in page.locator(".bpm-bridge-secret").inner_text()
    shot(page, "secret-rotated")

    # The sidecar still has only the old secret: events carry both signatures, so it keeps accepting.
    with page.expect_navigation():
        page.get_by_role("button", name="Test connection").click()
    assert any(n.startswith("Connection works") for n in notices(page)), notices(page)

    # Ending the rotation before the sidecar has the new secret breaks the connection — as it should.
    with page.expect_navigation():
        page.get_by_role("button", name="Stop using the previous secret").click()
    assert_not_in_page(page, old, new)
    with page.expect_navigation():
        page.get_by_role("button", name="Test connection").click()
    assert any("answered HTTP 401" in n for n in notices(page)), notices(page)

    sidecar.start({**state["env"], "BPM_WEBHOOK_SECRETS": new})
    with page.expect_navigation():
        page.get_by_role("button", name="Test connection").click()
    assert any(n.startswith("Connection works") for n in notices(page)), notices(page)


def test_actions_refuse_users_without_manage_woocommerce(site):
    # A logged-in subscriber gets 403 from every admin-post action, and it is the capability check that
    # refuses (its message), not merely the nonce: nonces prove intent, the capability decides.
    user_id = int(
        site.php(
            "echo wp_insert_user( array( 'user_login' => 'sub1', 'user_pass' => 'Sub-pass-123',"
            " 'role' => 'subscriber' ) );"
        ).strip()
    )
    assert user_id > 0
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = urllib.parse.urlencode({"log": "sub1", "pwd": "Sub-pass-123"}).encode()
    opener.open(urllib.request.Request(f"{site.url}/wp-login.php", data=login))
    assert any(c.name.startswith("wordpress_logged_in_") for c in jar)
    secret_before = site.php("echo get_option( 'bpm_bridge_secret' );")
    for action in ("secret", "create_api_user", "retry_failed", "test_connection", "drop_previous_secret"):
        data = urllib.parse.urlencode({"action": f"bpm_bridge_{action}", "bpm_bridge_nonce": "0"}).encode()
        try:
            opener.open(urllib.request.Request(f"{site.url}/wp-admin/admin-post.php", data=data))
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
            body = exc.read().decode(errors="replace")
        assert status == 403, action
        assert "not allowed to manage BPM Bridge" in body, action
    # And nothing happened.
    assert site.php("echo count( get_users( array( 'role' => 'bpm_api' ) ) );").strip() == "1"
    assert site.php("echo get_option( 'bpm_bridge_secret' );") == secret_before


def test_actions_need_a_valid_nonce(page, site):
    # The admin's own session without the action's nonce (a forged cross-site POST) changes nothing.
    secret_before = site.php("echo get_option( 'bpm_bridge_secret' );")
    for action in ("secret", "retry_failed", "create_api_user"):
        response = page.request.post(
            f"{site.url}/wp-admin/admin-post.php",
            form={"action": f"bpm_bridge_{action}", "bpm_bridge_nonce": "0", "mode": "rotate"},
            max_redirects=0,
        )
        assert response.status == 403, action
    assert site.php("echo get_option( 'bpm_bridge_secret' );") == secret_before
    passwords = site.php(
        "echo count( WP_Application_Passwords::get_user_application_passwords("
        " get_user_by( 'login', 'bpm-api' )->ID ) );"
    )
    assert passwords.strip() == "1"

    # Saving settings checks BPM Bridge's own nonce too, not only WooCommerce's form nonce.
    open_section(page, site)
    url_before = page.input_value("#bpm_bridge_sidecar_url")
    response = page.request.post(
        f"{site.url}{TAB}",
        form={
            "save": "Save changes",
            "_wpnonce": page.input_value("#_wpnonce"),
            "bpm_bridge[sidecar_url]": "http://attacker.example",
        },
        max_redirects=0,
    )
    assert response.status == 403
    assert site.php("echo \\BPM_Bridge\\Options::get_sidecar_url();") == url_before


def order_with_meta(meta: dict[str, str]) -> str:
    """PHP that creates a processing order with the given meta through WooCommerce CRUD, leaving it in $o."""
    pairs = " ".join(f"$o->update_meta_data( '{key}', '{value}' );" for key, value in meta.items())
    return f"$o = wc_create_order( array( 'status' => 'processing' ) ); {pairs} $o->save();"


def test_order_box_shows_invoice_ksef_and_events(page, site):
    order_id = int(
        site.php(
            order_with_meta(
                {
                    "_bpm_invoice_number": "FV 7/11/2026",
                    "_bpm_invoice_url": "https://mojafirma.fakturownia.pl/invoices/7.pdf",
                    "_bpm_invoice_kind": "vat",
                    "_bpm_invoice_provider": "fakturownia",
                    "_bpm_ksef_status": "accepted",
                    "_bpm_ksef_number": "5260250274-20261123-ABCDEF-12",
                    "_bpm_crm_id": "hs-991",
                }
            )
            + " echo $o->get_id();"
        ).strip()
    )
    event_id = site.php(
        f"echo \\BPM_Bridge\\Outbox::add( 'order.paid', array( 'order_id' => {order_id} ) );"
    ).strip()
    site.php(
        f"\\BPM_Bridge\\Outbox::record_outcome( '{event_id}', 'invoice.issue', 'done',"
        " 'Invoice FV 7/11/2026 issued in Fakturownia.' );"
    )
    # The order's edit screen, classic or HPOS, as WooCommerce names it.
    page.goto(site.php(f"echo \\BPM_Bridge\\Admin\\Views::order_url( {order_id} );").strip())
    box = page.locator("#bpm-bridge-order")
    assert box.count() == 1, page.content()[:3000]
    text = box.inner_text()
    assert "FV 7/11/2026" in text
    assert "VAT invoice" in text and "fakturownia" in text
    assert box.get_by_role("link", name="Open PDF").get_attribute("href").endswith("/invoices/7.pdf")
    assert "accepted by KSeF" in text and "5260250274-20261123-ABCDEF-12" in text
    assert "hs-991" in text
    item = box.locator(f"li[data-event-id='{event_id}']")
    assert "order.paid" in item.inner_text()
    assert "invoice.issue" in item.inner_text() and "Invoice FV 7/11/2026 issued" in item.inner_text()
    box.screenshot(path=str(SHOTS / "bpm-admin-order-box.png"))

    # Under HPOS WooCommerce hands the box the WC_Order itself instead of the post: same content.
    html = site.php(f"\\BPM_Bridge\\Admin\\Order_Box::render( wc_get_order( {order_id} ) );")
    assert "FV 7/11/2026" in html and f'data-event-id="{event_id}"' in html

    # A document the sidecar is still creating carries a "pending:" marker instead of a number.
    pending = site.php(
        order_with_meta({"_bpm_invoice_id": "pending:fakturownia:wc-1-vat:1763900000"})
        + " \\BPM_Bridge\\Admin\\Order_Box::render( wc_get_order( $o->get_id() ) );"
    )
    assert "being issued" in pending and "pending:" not in pending


def test_form_input_and_validation_edge_cases(site):
    # What stands between $_POST and the options: the form's translation of posted data into section input
    # (Settings_Fields::input) and the one validation (Options::validate), checked directly.
    def clean(screen: str, posted: dict) -> dict:
        payload = json.dumps(posted).replace("\\", "\\\\").replace("'", "\\'")
        return site.php_json(
            "use BPM_Bridge\\Admin\\Settings_Fields; use BPM_Bridge\\Options;"
            " use BPM_Bridge\\Settings\\Fields;"
            f" $input = Settings_Fields::input( Settings_Fields::for_section( '{screen}' ),"
            f" json_decode( '{payload}', true ) ); $out = array();"
            " foreach ( $input as $section => $values ) {"
            " $out[ '' === $section ? 'general' : $section ] = '' === $section"
            " ? array( 'url' => Fields::url( (string) $values['sidecar_url'] ) )"
            " : array( 'input' => $values ) + Options::validate( $section, $values ); }"
            " echo wp_json_encode( $out );"
        )

    assert clean("", {"sidecar_url": "http://10.0.0.5:8000/?x=1"})["general"]["url"] is None
    assert clean("", {"sidecar_url": " https://bpm.internal:8443/base/ "})["general"]["url"] == (
        "https://bpm.internal:8443/base"
    )
    assert clean("", {"sidecar_url": "javascript:alert(1)"})["general"]["url"] is None

    result = clean(
        "invoicing",
        {
            "invoicing.provider": "evil",
            "invoicing.fakturownia.domain": "https://Firma-1.fakturownia.pl/invoices",
            "invoicing.fakturownia.api_token": "has space inside",
            "invoicing.fakturownia.department_id": "12abc",
            "invoicing.infakt.api_key": "",
            "invoicing.trigger": {
                "default": "completed",
                "by_payment_method": {"COD": "completed", "bacs": "paid", "stripe": ""},
                "extra_gateway": "<script>",
                "extra_trigger": "paid",
            },
            "invoicing.exemption_reason": "<b>art. 43</b>",
        },
    )["invoicing"]
    values, errors = result["values"], result["errors"]
    assert "send_email" not in result["input"] or result["input"]["send_email"] is False  # unticked box
    assert "api_key" not in result["input"].get("infakt", {})  # empty = keep the saved one
    assert values["provider"] == "fakturownia"  # not one of the choices: refused, left unchanged
    assert any(e.startswith("Invoicing system must be one of: none, fakturownia, infakt") for e in errors)
    assert values["fakturownia"]["domain"] == "firma-1"
    assert any("Fakturownia API token looks wrong" in e for e in errors)  # refused, naming the field
    assert any("Fakturownia department ID must be a whole number" in e for e in errors)
    assert values["fakturownia"]["department_id"] == 42  # the saved one
    # Overrides equal to the default and "as for all payment methods" are dropped; ids are sanitised.
    assert values["trigger"] == {
        "default": "completed",
        "by_payment_method": {"bacs": "paid", "script": "paid"},
    }
    assert values["exemption_reason"] == "art. 43"
    assert len(errors) == 3, errors

    forged = clean(
        "invoicing", {"invoicing.trigger": {"default": "paid", "by_payment_method": {"x": "never"}}}
    )
    assert forged["invoicing"]["errors"] == [
        "Each payment method needs one of the triggers: paid, completed."
    ]


def test_polish_translation(page, site):
    site.php("update_user_meta( 1, 'locale', 'pl_PL' );")
    try:
        open_section(page, site)
        links = [t.strip() for t in page.locator("ul.subsubsub a").all_inner_texts()]
        assert links == ["Ogólne", "Fakturowanie", "CRM", "Zwroty", "Zdarzenia"]
        assert page.get_by_role("button", name="Testuj połączenie").count() == 1
        shot(page, "general-pl")
        open_section(page, site, "events")
        assert page.get_by_role("button", name="Ponów wszystkie nieudane").count() == 1
        shot(page, "events-pl")
    finally:
        site.php("delete_user_meta( 1, 'locale' );")
