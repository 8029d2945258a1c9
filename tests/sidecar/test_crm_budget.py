"""What the CRM costs the shop in WordPress requests, per order event (the invoicing budget is in
test_request_budget.py): every request is a WordPress bootstrap on the shop's own server.

Through the real runner (lock, write-back, outcome) on real Redis, with the configuration and REST root
cached as in a worker: a sync is one read and one write-back (meta + note + outcome together), plus one
read when it made a new contact (the erasure check); an event
that changes nothing the CRM holds is one read and the outcome; the CRM switched off is the outcome alone.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import redis
from crm_harness import CrmShop, crm_fixture, servers_fixture, unique_email
from rq import Retry

from sidecar import composition
from sidecar.config import Settings
from sidecar.engine import runtime_config
from sidecar.engine.runner import Runner

FIXTURES = (crm_fixture, servers_fixture)  # imported for pytest
ACTION = "crm.sync_order"


def run(crm: CrmShop, conn: redis.Redis, settings: Settings, order_id: int) -> tuple[dict[str, Any], list]:
    event = {
        "id": str(uuid.uuid4()),
        "type": "order.status_changed",
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "store": crm.woo.url,
        "data": {"order_id": order_id, "from": "pending", "to": "processing"},
    }
    crm.shop.register_event(event["id"], [ACTION])
    before = len(crm.shop.requests())
    result = Runner(conn, settings, None).run(event, ACTION)
    assert not isinstance(result, Retry), result
    made = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in crm.shop.requests()[before:]]
    assert crm.shop.event(event["id"])["status"] == "done"
    return result, made


def test_a_crm_sync_costs_two_wordpress_requests(
    crm: CrmShop, redis_url: str, redis_conn: redis.Redis
) -> None:
    settings = dataclasses.replace(crm.settings, redis_url=redis_url, audit_dir=None)
    store = composition.services(settings, redis_conn).store
    runtime_config.get_config(redis_conn, settings, store)  # what the first job of a burst pays once
    store.rest_root()
    order = crm.order(billing={"email": unique_email("budget")})

    first, made = run(crm, redis_conn, settings, order["id"])
    assert first["status"] == "done"
    # A new buyer's contact was just made: the order is read once more, in case the buyer was erased
    # while the sync ran (crm.erased_meanwhile).
    assert made == [("GET", str(order["id"])), ("GET", str(order["id"])), ("POST", "apply")]
    crm.shop.set_status(order["id"], "completed")
    moved, made = run(crm, redis_conn, settings, order["id"])
    assert moved["status"] == "done"
    assert made == [("GET", str(order["id"])), ("POST", "apply")]  # a known buyer: one read
    unchanged, made = run(crm, redis_conn, settings, order["id"])
    assert unchanged["status"] == "skipped"
    assert made == [("GET", str(order["id"])), ("POST", "apply")]

    crm.configure({"crm": {"provider": "none"}})
    runtime_config.invalidate(redis_conn)  # a config.updated event does this
    runtime_config.get_config(redis_conn, settings, store)
    try:
        off, made = run(crm, redis_conn, settings, order["id"])
        assert off["status"] == "skipped" and made == [("POST", "apply")]  # no read: only the outcome
    finally:
        crm.configure({"crm": {"provider": "hubspot"}})
        runtime_config.invalidate(redis_conn)
