"""How many WordPress requests an invoiced order costs the shop (issue 7, item 6: at most three).

Every request the sidecar makes is a full WordPress bootstrap on the shop's own server. One paid order
is one ``invoice.issue`` job (the contract routes ``order.status_changed`` to it only on the way to
``completed``) and the job makes: the read (``GET orders/{id}``), the intent (``apply`` with meta and
expect) and the result (``apply`` with meta, expect, note and outcome). The shop's configuration and the
REST root are cached in Redis for every job, so they are counted once per burst, not per order.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
from invoicing_tests.invoicing_harness import ADAPTERS, PASSWORD, VALID_NIP, Harness, serve_simulator
from rq import Retry

from sidecar import composition
from sidecar.config import Settings
from sidecar.engine import runtime_config
from sidecar.engine.runner import Runner
from sidecar.jobs import registry
from sidecar.sandbox import ServedApp
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret
from sidecar.store import RestRoot

ITEMS = [{"name": "Kawa", "price": "49.99", "qty": 2}]
BUDGET = 3


@pytest.fixture(params=list(ADAPTERS))
def shop(request: pytest.FixtureRequest) -> Iterator[Harness]:
    secret = new_secret()
    woo = ServedApp(woo_app([secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    sim = serve_simulator(request.param)
    harness = Harness(request.param, woo, sim, secret)
    harness.adapter.prepare(harness.sandbox)
    yield harness
    woo.stop()
    sim.stop()


@pytest.fixture
def settings(shop: Harness, redis_url: str) -> Settings:
    return dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)


def store_requests(shop: Harness) -> list[dict[str, Any]]:
    return shop.shop.requests()


def invoicing_actions(event_type: str, data: dict[str, Any]) -> list[str]:
    """The invoicing actions an event routes (the CRM's cost is counted in test_crm_budget.py)."""
    return [a for a in registry.actions_for(event_type, data) if a.startswith("invoice.")]


def event_for(shop: Harness, event_type: str, **data: Any) -> dict[str, Any]:
    """An event as the plugin writes it (with its outbox row), routed by the contract."""
    event = {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "store": shop.woo.url,
        "data": data,
    }
    actions = invoicing_actions(event_type, data)
    shop.shop.register_event(event["id"], actions)
    return event


def run_jobs(conn: redis.Redis, settings: Settings, event: dict[str, Any]) -> list[str]:
    done = []
    for action in invoicing_actions(event["type"], event["data"]):
        result = Runner(conn, settings, None).run(event, action)
        assert not isinstance(result, Retry) and result["status"] in ("done", "skipped"), result
        done.append(action)
    return done


def warm(conn: redis.Redis, settings: Settings) -> None:
    """What the first job of a burst pays once: the configuration and the REST root."""
    store = composition.services(settings, conn).store
    runtime_config.get_config(conn, settings, store)
    store.rest_root()


@pytest.mark.parametrize("nip", ["", VALID_NIP], ids=["b2c", "b2b"])
def test_an_invoiced_order_costs_at_most_three_wordpress_requests(
    shop: Harness, settings: Settings, redis_conn: redis.Redis, nip: str
) -> None:
    warm(redis_conn, settings)
    order = shop.order(items=ITEMS, nip=nip) if nip else shop.order(items=ITEMS)
    before = len(store_requests(shop))

    # WooCommerce sends both for one paid order: the status change to processing and the payment.
    paid = event_for(shop, "order.paid", order_id=order["id"], to="processing")
    moved = event_for(
        shop, "order.status_changed", order_id=order["id"], **{"from": "pending"}, to="processing"
    )
    assert run_jobs(redis_conn, settings, paid) == ["invoice.issue"]
    assert run_jobs(redis_conn, settings, moved) == []

    made = store_requests(shop)[before:]
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in made] == [
        ("GET", str(order["id"])),
        ("POST", "apply"),
        ("POST", "apply"),
    ]
    assert len(made) <= BUDGET
    meta = shop.meta(order["id"])
    assert meta["_bpm_invoice_number"] and not meta["_bpm_invoice_id"].startswith("pending:")
    assert any(meta["_bpm_invoice_number"] in n for n in shop.notes(order["id"]))
    outbox = shop.shop.event(paid["id"])
    assert outbox["status"] == "done"
    assert len(shop.documents(order["id"])) == 1


def refunded_order(shop: Harness, conn: redis.Redis, settings: Settings) -> tuple[dict, dict]:
    warm(conn, settings)
    order = shop.order(items=ITEMS)  # B2C: its correction need not wait for a KSeF number
    run_jobs(conn, settings, event_for(shop, "order.paid", order_id=order["id"]))
    refund = shop.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    return order, refund


def test_a_refund_correction_costs_three_requests(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    order, refund = refunded_order(shop, redis_conn, settings)
    before = len(store_requests(shop))
    event = event_for(
        shop, "order.refunded", order_id=order["id"], refund_id=refund["id"], amount=refund["amount"]
    )
    assert run_jobs(redis_conn, settings, event) == ["invoice.correct"]
    assert len(store_requests(shop)[before:]) <= BUDGET
    [correction] = shop.documents(order["id"], kind="correction")
    assert shop.total(correction) == -Decimal(refund["amount"]) == Decimal("-49.99")


def test_a_refund_amount_the_store_contradicts_fails_with_both_numbers(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    """The event carries what WooCommerce CRUD said when the refund happened; the store must agree."""
    order, refund = refunded_order(shop, redis_conn, settings)
    event = event_for(shop, "order.refunded", order_id=order["id"], refund_id=refund["id"], amount="99.98")
    result = Runner(redis_conn, settings, None).run(event, "invoice.correct")
    assert not isinstance(result, Retry) and result["status"] == "failed"
    assert (
        "the refund event says 99.98 was refunded, but the store's refund now says 49.99" in result["message"]
    )
    assert shop.documents(order["id"], kind="correction") == []
    assert any("99.98" in n and "49.99" in n for n in shop.notes(order["id"]))


def test_plain_permalinks_cost_the_same(shop: Harness, settings: Settings, redis_conn: redis.Redis) -> None:
    """Under "Plain" permalinks /wp-json/ is the home page; the client finds ?rest_route= by itself."""
    shop.shop.permalinks("plain")
    warm(redis_conn, settings)
    order = shop.order(items=ITEMS)
    before = len(store_requests(shop))
    assert run_jobs(redis_conn, settings, event_for(shop, "order.paid", order_id=order["id"])) == [
        "invoice.issue"
    ]
    made = store_requests(shop)[before:]
    assert len(made) == BUDGET
    root = RestRoot.decode(redis_conn.get(composition.rest_root_key(settings.store_url)) or b"")
    assert root is not None and root.query_mode  # …/?rest_route=/bpm-bridge/v1/…, found on the home page
    assert shop.meta(order["id"])["_bpm_invoice_number"]
    assert len(shop.documents(order["id"])) == 1


def test_a_ksef_poll_that_finds_no_change_costs_one_read(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    shop.ksef(polls=3)  # KSeF keeps the invoice "processing" for a few reads
    warm(redis_conn, settings)
    order = shop.order(items=ITEMS, nip=VALID_NIP)
    event = event_for(shop, "order.paid", order_id=order["id"])
    run_jobs(redis_conn, settings, event)
    if shop.meta(order["id"])["_bpm_ksef_status"] != "pending":
        pytest.skip(f"{shop.provider} confirmed KSeF at once")
    before = len(store_requests(shop))
    polled = Runner(redis_conn, settings, None).run(event, "invoice.ksef")
    assert isinstance(polled, Retry)  # polled again later
    assert [r["method"] for r in store_requests(shop)[before:]] == ["GET"]  # the meta, nothing written
