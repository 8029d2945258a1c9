r"""A return's whole journey on real WooCommerce (WordPress 7.0 + WooCommerce 9.2, HPOS, Apache + mod_php):
the plugin, the real sidecar (gunicorn + an RQ worker on Redis), the InPost ShipX and Fakturownia
simulators, and the shop's staff in a real browser (Playwright + Debian's chromium) on WooCommerce → Returns.

A paid B2B order gets its invoice; the customer's return (``BPM_Bridge\Rma::create``, what the customer's form
calls — that form has its own browser test) is **approved** on the return's screen; the plugin's outbox tells
the sidecar, which buys one InPost label, attaches it through the plugin's route and moves the return to
label_ready (the screen shows the label and the tracking link); the ShipX simulator delivers the parcel and
the sidecar marks the return arrived; staff **mark it received** and **refund** it on the same screen, and the
correction invoice of that refund appears in Fakturownia. Without chromium the same three staff steps go
through the PHP calls the screen makes (Rma::set_status, Returns\Refund::issue).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress
from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port, wait_until
from wp_fixtures import wp_sites

from sidecar.sandbox import ServedApp
from sidecar.sandbox.fakturownia import create_app as fakturownia_app
from sidecar.sandbox.shipx import create_app as shipx_app
from sidecar.signing import new_secret

pytestmark = [pytest.mark.wordpress]

CHROMIUM = Path("/usr/bin/chromium")
SCREEN = "/wp-admin/admin.php?page=bpm-bridge-returns&rma={rma}"
# The staff steps without a browser: what the return screen's forms run.
PHP_STEPS = {
    "approve": "$r = \\BPM_Bridge\\Rma::set_status( {rma}, 'requested', 'approved', '', 'staff' );",
    "receive": "$r = \\BPM_Bridge\\Rma::set_status( {rma}, 'arrived', 'received', '', 'staff' );",
    "refund": "$r = \\BPM_Bridge\\Returns\\Refund::issue( {rma}, false );",
}

__all__ = ["wp_sites"]

CONFIG = ("wp70-wc92", True)
KEPT = "array( 'bpm_bridge_invoicing', 'bpm_bridge_carrier', 'bpm_bridge_rma', 'bpm_bridge_sidecar_url' )"
FAKTUROWNIA_TOKEN = "journey-fakturownia-token"
INPOST_TOKEN, INPOST_ORG = "journey-inpost-token", 5150
NIP = "5260250274"
BUYER = {
    "first_name": "Jan",
    "last_name": "Kowalski",
    "company": "Kowalski Sp. z o.o.",
    "address_1": "ul. Polna 1",
    "city": "Kraków",
    "postcode": "30-001",
    "country": "PL",
    "email": "jan.kowalski@example.test",
    "phone": "+48500100200",
}


@dataclass
class Journey:
    site: wordpress.Site
    admin: tuple[str, str]
    shipx: ServedApp
    fakturownia: ServedApp
    group: ProcessGroup

    def php(self, code: str) -> Any:
        return self.site.php_json(code)

    def rma(self, rma_id: int) -> dict[str, Any]:
        return self.php(f"echo wp_json_encode( \\BPM_Bridge\\Rma::get( {rma_id}, true ) );")

    def wait_status(self, rma_id: int, status: str, timeout: float = 40) -> dict[str, Any]:
        try:
            return wait_until(
                lambda: (r := self.rma(rma_id))["status"] == status and r, timeout=timeout, interval=0.5,
                what=f"return {rma_id} {status}",
            )  # fmt: skip
        except TimeoutError:
            pytest.fail(f"return {rma_id} never reached {status}: {self.rma(rma_id)}\n{self.logs()}")

    def shipments(self, number: str) -> list[dict[str, Any]]:
        """The return's shipments, any attempt: the reference is ``<site>-RMA-000042-<n>``."""
        found = requests.get(f"{self.shipx.url}/_sandbox/documents", timeout=10).json()["shipments"]
        pattern = re.compile(rf"[0-9A-F]{{6}}-{re.escape(number)}-\d+")
        return [s for s in found if pattern.fullmatch(str(s["reference"] or ""))]

    def documents(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.fakturownia.url}/_sandbox/documents", timeout=10).json()["documents"]

    def logs(self) -> str:
        return self.group.logs() + "\n----- WordPress debug.log -----\n" + self.site.php_errors()

    def staff(self, page: Any, rma_id: int, action: str) -> None:
        """One click of staff on the return's screen (or, without a browser, the call behind it)."""
        if page is None:
            check = " if ( is_wp_error( $r ) ) { throw new Exception( $r->get_error_message() ); } echo 1;"
            self.php(PHP_STEPS[action].format(rma=rma_id) + check)
            return
        page.goto(self.site.url + SCREEN.format(rma=rma_id))
        with page.expect_navigation():
            page.locator(f"form.bpm-bridge-rma-action--{action} button[type=submit]").click()


@pytest.fixture(scope="module")
def journey(wp_sites, redis_url: str) -> Iterator[Journey]:
    site = wp_sites.get(CONFIG[0], hpos=CONFIG[1], permalinks="pretty")
    redis.Redis.from_url(redis_url).flushdb()
    # The site is shared by the session: its settings are put back afterwards.
    saved = site.php(
        f"echo base64_encode( serialize( array_map( 'get_option', array_combine( {KEPT}, {KEPT} ) ) ) );"
    )
    secret = new_secret()
    sidecar_port = free_port()
    shipx = ServedApp(shipx_app(INPOST_TOKEN, INPOST_ORG)).start()
    fakturownia = ServedApp(fakturownia_app(token=FAKTUROWNIA_TOKEN)).start()
    requests.post(f"{fakturownia.url}/_sandbox/ksef", json={"mode": "off"}, timeout=10).raise_for_status()
    setup = site.php(
        f"""
        $api = \\BPM_Bridge\\Role::ensure_api_user();
        if ( is_wp_error( $api ) ) {{ throw new Exception( $api->get_error_message() ); }}
        $checks = array(
            \\BPM_Bridge\\Options::set_secrets( '{secret}' ),
            \\BPM_Bridge\\Options::set_sidecar_url( 'http://127.0.0.1:{sidecar_port}' ),
            \\BPM_Bridge\\Options::set( 'invoicing', array(
                'provider' => 'fakturownia',
                'trigger' => array( 'default' => 'paid', 'by_payment_method' => array() ),
                'b2c_document' => 'invoice',
                'fakturownia' => array( 'domain' => 'sandbox', 'api_token' => '{FAKTUROWNIA_TOKEN}',
                    'base_url' => '{fakturownia.url}' ) ) ),
            \\BPM_Bridge\\Options::set( 'carrier', array(
                'provider' => 'inpost',
                'inpost' => array( 'api_token' => '{INPOST_TOKEN}', 'organization_id' => '{INPOST_ORG}',
                    'parcel_template' => 'small', 'base_url' => '{shipx.url}' ) ) ),
            \\BPM_Bridge\\Options::set( 'rma', array(
                'enabled' => true, 'auto_approve_withdrawals' => false,
                'return_name' => 'Sklep Testowy', 'return_street' => 'Piotrkowska',
                'return_building' => '100', 'return_postcode' => '90-001', 'return_city' => 'Łódź',
                'return_phone' => '600700800',
                'return_email' => 'zwroty@sklep.example', 'return_locker' => 'WAW123' ), true ),
        );
        foreach ( $checks as $check ) {{
            if ( is_wp_error( $check ) ) {{ throw new Exception( $check->get_error_message() ); }}
        }}
        echo wp_json_encode( $api );
        """
    )
    api = json.loads(setup.strip().splitlines()[-1])
    env = process_env(
        redis_url, site.url, secret, api["password"], user=api["login"],
        extra={
            "BPM_BIND": f"127.0.0.1:{sidecar_port}",
            "BPM_WEB_WORKERS": "1",
            "BPM_RECONCILE_INTERVAL": "0",
            # Poll ShipX every second (production: 5 s, then slower; every 30 min once the parcel travels).
            "BPM_CONFIG__CARRIER__INPOST__POLL_SECONDS": "1",
            "BPM_CONFIG__CARRIER__INPOST__TRACK_SECONDS": "1",
        },
    )  # fmt: skip
    with ProcessGroup() as group:
        group.start("web", sidecar_cmd("serve"), env)
        group.start("worker", sidecar_cmd("worker", "--name", f"journey-{sidecar_port}"), env)
        wait_for_port(sidecar_port, timeout=30)
        try:
            yield Journey(site, (site.admin_user, wp_sites.admin_password(site)), shipx, fakturownia, group)
        finally:
            shipx.stop()
            fakturownia.stop()
            kept = saved.strip().splitlines()[-1]
            site.php(
                f"foreach ( unserialize( base64_decode( '{kept}' ) ) as $k => $v ) {{"
                " false === $v ? delete_option( $k ) : update_option( $k, $v ); }"
            )


@pytest.fixture(scope="module")
def page(journey: Journey) -> Iterator[Any]:
    """The shop's administrator logged in, in chromium; None (the PHP calls instead) without one."""
    try:
        sync_api = __import__("playwright.sync_api", fromlist=["sync_playwright"])
    except ImportError:
        sync_api = None
    if sync_api is None or not CHROMIUM.exists():
        yield None
        return
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="en-US")
        context.set_default_timeout(20_000)
        tab = context.new_page()
        tab.goto(f"{journey.site.url}/wp-login.php")
        tab.fill("#user_login", journey.site.admin_user)
        tab.fill("#user_pass", journey.site.admin_password)
        with tab.expect_navigation():
            tab.click("#wp-submit")
        yield tab
        context.close()
        browser.close()


def test_a_return_from_approval_to_label_arrival_refund_and_correction(journey: Journey, page: Any) -> None:
    started = time.monotonic()
    site = journey.site
    body = {
        "payment_method": "bacs",
        "set_paid": True,
        "billing": BUYER,
        "shipping": {k: v for k, v in BUYER.items() if k not in ("email", "phone")},
        "meta_data": [{"key": "_billing_nip", "value": NIP}],
        "line_items": [
            {"product_id": site.products["KUB-1"], "quantity": 2},
            {"product_id": site.products["KSI-1"], "quantity": 1},
        ],
    }
    made = requests.post(site.rest("/wc/v3/orders"), json=body, auth=journey.admin, timeout=60)
    assert made.status_code == 201, made.text[:500]
    order = made.json()
    wait_until(lambda: [d for d in journey.documents() if d["kind"] == "vat"], timeout=40, what="the invoice")

    item = order["line_items"][0]
    rma_id = int(
        journey.php(
            f"""$id = \\BPM_Bridge\\Rma::create( {order["id"]}, array( array( 'order_item_id' => {item["id"]},
                'product_id' => {item["product_id"]}, 'quantity' => 1, 'reason' => 'Wrong item' ) ),
                array( 'kind' => 'withdrawal', 'method' => 'locker', 'point' => 'KRA010',
                       'email' => '{BUYER["email"]}' ) );
            if ( is_wp_error( $id ) ) {{ throw new Exception( $id->get_error_message() ); }}
            echo wp_json_encode( $id );"""
        )
    )
    number = f"RMA-{rma_id:06d}"
    journey.staff(page, rma_id, "approve")

    ready = journey.wait_status(rma_id, "label_ready")
    shipments = journey.shipments(number)
    assert len(shipments) == 1, shipments
    shipment = shipments[0]
    assert shipment["custom_attributes"]["target_point"] == "WAW123"
    assert shipment["custom_attributes"]["dropoff_point"] == "KRA010"
    assert set(shipment["sender"]) == {"first_name", "last_name", "email", "phone"}  # privacy.for_carrier
    assert ready["label"]["carrier"] == "inpost"
    assert ready["label"]["tracking_number"] == shipment["tracking_number"]
    assert (
        ready["label"]["url"] == f"https://inpost.pl/sledzenie-przesylek?number={shipment['tracking_number']}"
    )
    assert ready["meta"]["_bpm_shipment_id"] == str(shipment["id"])
    pdf = journey.php(f"echo wp_json_encode( substr( \\BPM_Bridge\\Rma::label_pdf( {rma_id} ), 0, 8 ) );")
    assert pdf.startswith("%PDF-"), pdf  # the PDF My Account serves
    label_step = [t for t in ready["timeline"] if t["event"] == "label"]
    assert label_step and label_step[0]["public"]
    if page is not None:  # the return's screen shows the label the sidecar attached
        page.goto(journey.site.url + SCREEN.format(rma=rma_id))
        assert page.locator(f"a[href='{ready['label']['url']}']").count() == 1
        assert shipment["tracking_number"] in page.content()

    for status in ("dispatched_by_sender", "delivered"):
        requests.post(f"{journey.shipx.url}/_sandbox/shipments/{shipment['id']}/status",
                      json={"status": status}, timeout=10).raise_for_status()  # fmt: skip
    arrived = journey.wait_status(rma_id, "arrived")
    assert arrived["meta"]["_bpm_shipment_status"] == "delivered"
    assert any(t["event"] == "arrived" and t["actor"] == "carrier" for t in arrived["timeline"])

    journey.staff(page, rma_id, "receive")
    journey.staff(page, rma_id, "refund")
    refunded = journey.rma(rma_id)
    assert refunded["status"] == "refunded" and refunded["refund_id"]
    refund_id = refunded["refund_id"]
    amount = journey.php(
        f"echo wp_json_encode( wc_format_decimal( wc_get_order( {refund_id} )->get_amount(), 2 ) );"
    )
    corrections = wait_until(
        lambda: [d for d in journey.documents() if d["kind"] == "correction"],
        timeout=40,
        what="the correction",
    )
    assert len(corrections) == 1
    assert abs(Decimal(str(corrections[0]["price_gross"]))) == Decimal(amount)
    assert corrections[0]["oid"] == f"wc-{order['id']}-kor-{refund_id}"
    assert len(journey.shipments(number)) == 1
    way = "in chromium" if page is not None else "through PHP (no chromium)"
    print(f"return journey on real WooCommerce, staff {way}: {time.monotonic() - started:.1f} s")
