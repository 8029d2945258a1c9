"""The whole stack: a paid order in real WordPress ends with an invoice number on it and its event `done`.

WordPress 6.1 + BPM Bridge + the WooCommerce double (php -S, MariaDB), the real sidecar (gunicorn intake + RQ
worker on Redis) and the Fakturownia simulator. The shop admin's configuration travels the real way: plugin
options → signed GET /bpm-bridge/v1/config → worker. Nothing in between is mocked.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from support.processes import (
    ProcessGroup,
    free_port,
    process_env,
    sidecar_cmd,
    wait_for_port,
    wait_until,
)
from wp_fixtures import wp_site

from sidecar.signing import new_secret

pytestmark = pytest.mark.wordpress

__all__ = ["wp_site"]

FAKTUROWNIA_TOKEN = "sandbox-fakturownia-token"  # the simulator's default account
NIP = "5260250274"


@dataclass
class Stack:
    site: object
    group: ProcessGroup
    fakturownia: str
    admin_auth: tuple[str, str]

    def rows(self, order_id: int) -> list[dict]:
        return self.site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::for_order( {order_id} ) );")

    def meta(self, order_id: int) -> dict[str, str]:
        order = requests.get(
            self.site.rest(f"/wc/v3/orders/{order_id}"), auth=self.admin_auth, timeout=30
        ).json()
        return {m["key"]: m["value"] for m in order["meta_data"]}

    def logs(self) -> str:
        return self.group.logs() + "\n----- WordPress debug.log -----\n" + self.site.php_errors()


@pytest.fixture(scope="module")
def stack(wp_site, redis_url: str) -> Iterator[Stack]:
    redis.Redis.from_url(redis_url).flushdb()  # the suite owns this database (tests/conftest.py)
    secret = new_secret()
    fakturownia_port, sidecar_port = free_port(), free_port()
    fakturownia = f"http://127.0.0.1:{fakturownia_port}"
    setup = wp_site.php(
        f"""
        $api_id = wp_insert_user( array( 'user_login' => 'bpm-api-e2e',
            'user_pass' => wp_generate_password( 32 ), 'role' => 'bpm_api',
            'user_email' => 'bpm-api-e2e@example.test' ) );
        list( $api_pw ) = WP_Application_Passwords::create_new_application_password( $api_id,
            array( 'name' => 'BPM Bridge sidecar' ) );
        list( $admin_pw ) = WP_Application_Passwords::create_new_application_password( 1,
            array( 'name' => 'e2e' ) );
        $checks = array(
            \\BPM_Bridge\\Options::set_secrets( '{secret}' ),
            \\BPM_Bridge\\Options::set_sidecar_url( 'http://127.0.0.1:{sidecar_port}' ),
            \\BPM_Bridge\\Options::set_invoicing( array(
                'provider' => 'fakturownia', 'trigger_default' => 'paid', 'b2c_document' => 'receipt',
                'fakturownia_domain' => 'sandbox', 'fakturownia_api_token' => '{FAKTUROWNIA_TOKEN}',
                'fakturownia_base_url' => '{fakturownia}' ) ),
        );
        foreach ( $checks as $check ) {{
            if ( is_wp_error( $check ) ) {{ throw new Exception( $check->get_error_message() ); }}
        }}
        echo wp_json_encode( array( 'api_pw' => $api_pw, 'admin_pw' => $admin_pw ) );
        """
    )
    creds = json.loads(setup.strip().splitlines()[-1])
    env = process_env(
        redis_url,
        wp_site.url,
        secret,
        creds["api_pw"],
        user="bpm-api-e2e",
        extra={"BPM_BIND": f"127.0.0.1:{sidecar_port}", "BPM_WEB_WORKERS": "1"},
    )
    with ProcessGroup() as group:
        python = sidecar_cmd()[0].replace("bpm-sidecar", "python")
        group.start(
            "fakturownia",
            [python, "-m", "sidecar.sandbox", "fakturownia", "--port", str(fakturownia_port)],
            env,
        )
        group.start("web", sidecar_cmd("serve"), env)
        group.start("worker", sidecar_cmd("worker", "--name", "e2e-worker"), env)
        try:
            wait_for_port(fakturownia_port)
            wait_for_port(sidecar_port)
        except TimeoutError:
            pytest.fail(f"the stack did not start:\n{group.logs()}")
        yield Stack(wp_site, group, fakturownia, (wp_site.admin_user, creds["admin_pw"]))


def _checkout(stack: Stack, **extra: object) -> int:
    body = {
        "paid": True,
        "payment_method": "przelewy24",
        "billing": {"company": "Kowalski Sp. z o.o."},
        "billing_nip": NIP,
        "items": [
            {"name": "Kubek ceramiczny", "quantity": 2, "total": "50.00", "rate": "23"},
            {"name": "Książka", "quantity": 1, "total": "40.00", "rate": "5"},
        ],
        **extra,
    }
    resp = requests.post(stack.site.rest("/wc-double/v1/checkout"), json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "processing"
    return resp.json()["order_id"]


def _documents(stack: Stack, order_id: int) -> list[dict]:
    docs = requests.get(f"{stack.fakturownia}/_sandbox/documents", timeout=30).json()["documents"]
    # The sidecar's idempotency key for an order's invoice (Fakturownia oid + oid_unique).
    return [d for d in docs if d.get("oid") == f"wc-{order_id}-vat"]


def _drain(stack: Stack) -> None:
    # What Action Scheduler's runner does on the next WP-Cron tick, now.
    requests.post(stack.site.rest("/wc-double/v1/run-queue"), timeout=60)


def test_a_paid_order_gets_its_invoice_and_the_event_is_done(stack: Stack):
    order_id = _checkout(stack)
    assert stack.meta(order_id)["_billing_nip"] == NIP  # saved by the plugin's checkout field

    def invoiced() -> dict | None:
        _drain(stack)
        meta = stack.meta(order_id)
        rows = {row["event_type"]: row for row in stack.rows(order_id)}
        paid = rows.get("order.paid")
        if meta.get("_bpm_invoice_number") and paid and paid["status"] == "done":
            return {"meta": meta, "rows": rows}
        return None

    try:
        result = wait_until(invoiced, timeout=90, interval=1.0, what="invoice number and a done event")
    except TimeoutError:
        pytest.fail(f"order {order_id}: rows {stack.rows(order_id)}\n{stack.logs()}")

    meta, rows = result["meta"], result["rows"]
    assert meta["_bpm_invoice_provider"] == "fakturownia"
    assert meta["_bpm_invoice_id"]
    assert rows["order.paid"]["outcomes"], rows["order.paid"]

    ours = _documents(stack, order_id)
    assert len(ours) == 1, ours  # exactly one invoice for the order
    invoice = ours[0]
    assert invoice["number"] == meta["_bpm_invoice_number"]
    assert invoice["buyer_tax_no"].replace("-", "") == NIP
    gross = sorted(str(p["total_price_gross"]) for p in invoice["positions"])
    assert gross == ["42.00", "61.50"]

    notes = requests.get(
        stack.site.rest(f"/wc/v3/orders/{order_id}/notes"), auth=stack.admin_auth, timeout=30
    )
    assert any(meta["_bpm_invoice_number"] in n["note"] for n in notes.json()), notes.text
