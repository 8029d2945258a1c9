"""The invoicing actions under the real job runner (Redis lock, notes, outcome reports, follow-up)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import redis
import requests
from rq import Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from sidecar.jobs.queueing import queue_for
from sidecar.jobs.runner import Runner

from .invoicing_harness import VALID_NIP, Harness


def envelope(shop: Harness, event_type: str, **data: object) -> dict:
    event = {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "store": shop.woo.url,
        "data": data,
    }
    actions = {"order.paid": ["invoice.issue"], "order.refunded": ["invoice.correct"]}[event_type]
    requests.post(f"{shop.woo.url}/sandbox/events", json={"id": event["id"], "actions": actions}, timeout=5)
    return event


def outbox(shop: Harness, event_id: str) -> dict:
    return requests.get(f"{shop.woo.url}/sandbox/events/{event_id}", timeout=5).json()


def test_paid_order_gets_invoice_note_and_ksef_follow_up(
    shop: Harness, redis_conn: redis.Redis, redis_url: str
) -> None:
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)
    order = shop.order(nip=VALID_NIP, items=[{"name": "Kawa", "price": "49.99", "qty": 2}])
    event = envelope(shop, "order.paid", order_id=order["id"])

    result = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert not isinstance(result, Retry) and result["status"] == "done", result
    meta = shop.meta(order["id"])
    number = meta["_bpm_invoice_number"]
    assert any(number in note and "PDF" in note for note in shop.notes(order["id"]))
    assert outbox(shop, event["id"])["status"] == "done"
    # The KSeF follow-up was scheduled in RQ for the same event.
    registry = ScheduledJobRegistry(queue=queue_for(redis_conn, settings))
    scheduled = [Job.fetch(i, connection=redis_conn) for i in registry.get_job_ids()]
    assert [(j.args[0]["id"], j.args[1]) for j in scheduled] == [(event["id"], "invoice.ksef")]

    followed = Runner(redis_conn, settings, None).run(event, "invoice.ksef")
    assert not isinstance(followed, Retry) and followed["status"] == "done", followed
    assert shop.meta(order["id"])["_bpm_ksef_status"] == "accepted"
    assert any("KSeF accepted" in note for note in shop.notes(order["id"]))
    assert len(shop.documents(order["id"])) == 1

    # order.paid delivered again (the outbox re-sends): nothing new.
    again = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert not isinstance(again, Retry) and again["status"] == "skipped"
    assert len(shop.documents(order["id"])) == 1


def test_outage_is_retried_by_the_runner_then_succeeds(
    shop: Harness, redis_conn: redis.Redis, redis_url: str
) -> None:
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)
    order = shop.order(items=[{"name": "Kawa", "price": "49.99", "qty": 1}])
    event = envelope(shop, "order.paid", order_id=order["id"])
    create = {"fakturownia": "POST /invoices.json", "infakt": "POST /api/v3/async/invoices.json"}[
        shop.provider
    ]
    shop.fault(mode="503", match=create, count=1)
    first = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert isinstance(first, Retry)
    assert outbox(shop, event["id"])["outcomes"]["invoice.issue"]["status"] == "retrying"
    second = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert not isinstance(second, Retry) and second["status"] == "done", second
    assert len(shop.documents(order["id"])) == 1


def test_refund_correction_and_permanent_failure_note(
    shop: Harness, redis_conn: redis.Redis, redis_url: str
) -> None:
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)
    order = shop.order(items=[{"name": "Kawa", "price": "49.99", "qty": 2}])
    paid = envelope(shop, "order.paid", order_id=order["id"])
    assert Runner(redis_conn, settings, None).run(paid, "invoice.issue")["status"] == "done"
    refund = shop.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    refunded = envelope(shop, "order.refunded", order_id=order["id"], refund_id=refund["id"])
    result = Runner(redis_conn, settings, None).run(refunded, "invoice.correct")
    assert result["status"] == "done", result
    assert any("Correction" in note for note in shop.notes(order["id"]))
    assert len(shop.documents(order["id"], "correction")) == 1

    bad = shop.order(nip="5272616681", items=[{"name": "Kawa", "price": "49.99", "qty": 1}])
    failed = envelope(shop, "order.paid", order_id=bad["id"])
    outcome = Runner(redis_conn, settings, None).run(failed, "invoice.issue")
    assert outcome["status"] == "failed" and "5272616681" in outcome["message"]
    assert outbox(shop, failed["id"])["status"] == "failed"
    assert any("invoice not issued" in note and "NIP" in note for note in shop.notes(bad["id"]))
