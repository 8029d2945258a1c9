"""The sidecar's store client against the real plugin on real WooCommerce (issue 7, items 4 to 6).

WooCommerce 7.8.2 with HPOS is the stack whose REST refund answers ``"amount": "0.00"`` (woocommerce issue
37697): the client must take the amount from the plugin's order read, which comes from CRUD. Both permalink
settings are tried on the same site: the client finds the REST root itself, and every route works alike.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Retry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from wp_fixtures import SiteRegistry

from sidecar import composition
from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.engine import runtime_config
from sidecar.engine.runner import Runner
from sidecar.errors import ConflictError, EventNotFound
from sidecar.sandbox import ServedApp
from sidecar.sandbox.fakturownia import create_app as fakturownia_app
from sidecar.signing import new_secret
from sidecar.store import StoreClient

pytestmark = pytest.mark.wordpress

STACK = "wp61-wc78"
INTENT = "pending:fakturownia::1796000000"
FAKTUROWNIA_TOKEN = "test-token-123"


@pytest.fixture(scope="module")
def shop() -> Iterator[dict[str, Any]]:
    registry = SiteRegistry()
    try:
        site = registry.get(STACK, hpos=True)
        secret = new_secret()
        made = site.php_json(
            f"""
            \\BPM_Bridge\\Options::set_secrets( '{secret}' );
            $api_id = wp_insert_user( array( 'user_login' => 'bpm-api-store', 'role' => 'bpm_api',
                'user_pass' => wp_generate_password( 32 ), 'user_email' => 'store@example.test' ) );
            list( $pw ) = WP_Application_Passwords::create_new_application_password( $api_id,
                array( 'name' => 'test' ) );
            $product = new WC_Product_Simple();
            $product->set_name( 'Kubek' );
            $product->set_regular_price( '30.75' );
            $order = wc_create_order();
            $order->add_product( wc_get_product( $product->save() ), 2 );
            $order->set_billing_last_name( 'Kowalska' );
            $order->calculate_totals();
            $order->set_status( 'processing' );
            $order->save();
            $items = $order->get_items();
            $refund = wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '30.75',
                'reason' => 'Zwrot', 'line_items' => array( key( $items ) => array( 'qty' => 1,
                'refund_total' => 30.75 ) ) ) );
            echo wp_json_encode( array( 'password' => $pw, 'order' => $order->get_id(),
                'refund' => $refund->get_id(), 'home' => home_url() ) );
            """
        )
        yield {"site": site, "server": registry._sites[(STACK, True)][1], "secret": secret, **made}
    finally:
        registry.close()


def settings_for(shop: dict[str, Any], **extra: Any) -> Settings:
    return Settings(
        (shop["secret"],), shop["home"], "bpm-api-store", shop["password"], allow_insecure_store=True, **extra
    )


def client(shop: dict[str, Any]) -> StoreClient:
    return StoreClient(settings_for(shop), AuditLog(None))


@pytest.mark.parametrize("permalinks", ["plain", "pretty"])
def test_the_client_reads_and_writes_back_through_the_plugin(shop: dict[str, Any], permalinks: str) -> None:
    shop["site"].set_permalinks(permalinks)
    store = client(shop)
    assert store.ping() is True, store.last_error
    assert store.rest_root().query_mode is (permalinks == "plain")
    order_id = shop["order"]

    state = store.read_order(order_id)
    assert state.order["id"] == order_id and state.order["total"] == "61.50"
    [refund] = state.refunds
    assert (refund["id"], refund["amount"], refund["reason"]) == (shop["refund"], "30.75", "Zwrot")
    assert len(refund["line_items"]) == 1 and "shipping_lines" in refund and "fee_lines" in refund
    # What WooCommerce 7.8 + HPOS says on its own REST route, and why the client never asks it:
    wc = store._call("GET", f"/wc/v3/orders/{order_id}/refunds/{shop['refund']}", what="the v3 refund")
    assert wc["amount"] == "0.00"

    store.apply(order_id, meta={"_bpm_invoice_id": ""})  # each parametrized run starts unclaimed
    store.apply(order_id, meta={"_bpm_invoice_id": INTENT}, expect={"_bpm_invoice_id": ""})
    with pytest.raises(ConflictError) as lost:
        store.apply(order_id, meta={"_bpm_invoice_id": "other"}, expect={"_bpm_invoice_id": ""})
    assert lost.value.current == {"_bpm_invoice_id": INTENT}
    outcome = {
        "event_id": "0193a4c2-7d1e-4c3a-9b7e-2f4c1d9e8a10",
        "action": "invoice.issue",
        "status": "done",
    }
    with pytest.raises(EventNotFound):  # no outbox row: nothing is written
        store.apply(
            order_id, meta={"_bpm_invoice_id": "9"}, expect={"_bpm_invoice_id": INTENT}, outcome=outcome
        )
    final = store.apply(
        order_id,
        meta={"_bpm_invoice_id": "9", "_bpm_invoice_number": "FV 9"},
        expect={"_bpm_invoice_id": INTENT},
        note="BPM Bridge: invoice FV 9",
    )
    assert final["meta"]["_bpm_invoice_number"] == "FV 9" and final["note_id"]

    since = datetime.now(UTC) - timedelta(hours=1)
    found = store.search_orders(
        ["processing"], since, modified_before=datetime.now(UTC) + timedelta(minutes=5)
    )
    assert [(o["id"], o["meta"]["_bpm_invoice_id"]) for o in found.orders] == [(order_id, "9")]


@pytest.fixture
def fakturownia() -> Iterator[ServedApp]:
    served = ServedApp(fakturownia_app(token=FAKTUROWNIA_TOKEN)).start()
    yield served
    served.stop()


@pytest.mark.parametrize("permalinks", ["plain", "pretty"])
def test_an_invoiced_order_costs_three_wordpress_requests(
    shop: dict[str, Any], fakturownia: ServedApp, redis_url: str, redis_conn: redis.Redis, permalinks: str
) -> None:
    """Counted in Apache's access log of the real site: the read, the intent and the write-back."""
    site = shop["site"]
    site.set_permalinks(permalinks)
    invoicing = {
        "provider": "fakturownia",
        "trigger": {"default": "paid"},
        "b2c_document": "invoice",
        "send_email": False,
        "fakturownia": {"domain": "sandbox", "api_token": FAKTUROWNIA_TOKEN, "base_url": fakturownia.url},
    }
    settings = settings_for(
        shop, redis_url=redis_url, audit_dir=None, config_overrides={"invoicing": invoicing}
    )
    # A paid order: WooCommerce's own status change makes the plugin write its order.paid outbox row.
    made = site.php_json(
        """
        $order = wc_create_order();
        $order->add_product( wc_get_product( wc_get_products( array( 'limit' => 1 ) )[0]->get_id() ), 1 );
        $order->set_billing_last_name( 'Nowak' );
        $order->calculate_totals();
        $order->payment_complete();
        $rows = array_values( array_filter( \\BPM_Bridge\\Outbox::for_order( $order->get_id() ),
            static function ( $row ) { return 'order.paid' === $row['event_type']; } ) );
        echo wp_json_encode( array( 'order' => $order->get_id(), 'total' => $order->get_total(),
            'event' => $rows ? $rows[0]['payload'] : null ) );
        """
    )
    assert made["event"], made
    envelope = json.loads(made["event"])
    services = composition.services(settings, redis_conn)  # the burst's first job reads these once
    runtime_config.get_config(redis_conn, settings, services.store)
    services.store.rest_root()

    log = Path(shop["server"].access_log)
    result = Runner(redis_conn, settings, None).run(envelope, "invoice.issue")
    assert not isinstance(result, Retry) and result["status"] == "done", result

    def requests_for_the_order() -> list[str]:
        # Apache writes a line after its answer, so the last ones may lag; the plugin's own loopback
        # kick (another user agent) may land meanwhile.
        route = f"/bpm-bridge/v1/orders/{made['order']}"
        return [line for line in log.read_text().splitlines() if route in line and "python-requests" in line]

    deadline = time.monotonic() + 5
    while len(requests_for_the_order()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    lines = requests_for_the_order()
    assert len(lines) == 3, lines  # GET orders/{id}, POST apply (intent), POST apply (result)

    state = services.store.read_order(made["order"])
    assert state.meta["_bpm_invoice_number"] and state.meta["_bpm_invoice_provider"] == "fakturownia"
    row = site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::get( '{envelope['id']}' ) );")
    # Never delivered by the plugin here (no sidecar URL), so the row stays pending; the outcome is on it.
    assert row["outcomes"]["invoice.issue"]["status"] == "done", row
