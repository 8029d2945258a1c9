"""The invoicing actions under the real job runner (Redis lock, notes, outcome reports, follow-up)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from sidecar.config import Settings
from sidecar.engine.queueing import queue_for
from sidecar.engine.runner import Runner

from .invoicing_harness import VALID_NIP, Harness


def envelope(shop: Harness, event_type: str, **data: object) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "store": shop.woo.url,
        "data": data,
    }
    actions = {"order.paid": ["invoice.issue"], "order.refunded": ["invoice.correct"]}[event_type]
    shop.shop.register_event(event["id"], actions)
    return event


def outbox(shop: Harness, event_id: str) -> dict:
    return shop.shop.event(event_id)


def finished(result: dict[str, Any] | Retry) -> dict[str, Any]:
    """A run that ended (not one the runner scheduled again)."""
    assert not isinstance(result, Retry), result
    return result


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
    assert len(shop.views(order["id"])) == 1

    # order.paid delivered again (the outbox re-sends): nothing new.
    again = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert not isinstance(again, Retry) and again["status"] == "skipped"
    assert len(shop.views(order["id"])) == 1


def test_outage_is_retried_by_the_runner_then_succeeds(
    shop: Harness, redis_conn: redis.Redis, redis_url: str
) -> None:
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)
    order = shop.order(items=[{"name": "Kawa", "price": "49.99", "qty": 1}])
    event = envelope(shop, "order.paid", order_id=order["id"])
    shop.fault(mode="503", match=shop.adapter.create_route, count=1)
    first = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert isinstance(first, Retry)
    assert outbox(shop, event["id"])["outcomes"]["invoice.issue"]["status"] == "retrying"
    second = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert not isinstance(second, Retry) and second["status"] == "done", second
    assert len(shop.views(order["id"])) == 1


def test_refund_correction_and_permanent_failure_note(
    shop: Harness, redis_conn: redis.Redis, redis_url: str
) -> None:
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)
    order = shop.order(items=[{"name": "Kawa", "price": "49.99", "qty": 2}])
    paid = envelope(shop, "order.paid", order_id=order["id"])
    assert finished(Runner(redis_conn, settings, None).run(paid, "invoice.issue"))["status"] == "done"
    refund = shop.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    refunded = envelope(shop, "order.refunded", order_id=order["id"], refund_id=refund["id"])
    result = finished(Runner(redis_conn, settings, None).run(refunded, "invoice.correct"))
    assert result["status"] == "done", result
    assert any("Correction" in note for note in shop.notes(order["id"]))
    assert len(shop.views(order["id"], "correction")) == 1

    bad = shop.order(nip="5272616681", items=[{"name": "Kawa", "price": "49.99", "qty": 1}])
    failed = envelope(shop, "order.paid", order_id=bad["id"])
    outcome = finished(Runner(redis_conn, settings, None).run(failed, "invoice.issue"))
    assert outcome["status"] == "failed" and "5272616681" in outcome["message"]
    assert outbox(shop, failed["id"])["status"] == "failed"
    assert any("invoice not issued" in note and "NIP" in note for note in shop.notes(bad["id"]))


def test_ksef_patience_counts_from_the_issue_not_from_the_event(
    shop: Harness, redis_conn: redis.Redis, redis_url: str
) -> None:
    """A dead letter replayed a week after its event: KSeF still gets its seven days to confirm."""
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)
    shop.ksef(polls=1000)  # KSeF keeps the invoice "processing"
    order = shop.order(nip=VALID_NIP, items=[{"name": "Kawa", "price": "49.99", "qty": 1}])
    event = envelope(shop, "order.paid", order_id=order["id"])
    event["occurred_at"] = (datetime.now(UTC) - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    issued = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert not isinstance(issued, Retry) and issued["status"] == "done", issued
    assert shop.meta(order["id"])["_bpm_ksef_status"] == "pending"

    [job] = [Job.fetch(i, connection=redis_conn) for i in _scheduled_ids(redis_conn, settings)]
    assert job.args[1] == "invoice.ksef"
    followed = Runner(redis_conn, settings, None).run(event, "invoice.ksef")
    # Still waiting, polled again soon: the invoice was issued a moment ago.
    assert isinstance(followed, Retry) and followed.intervals == [20], followed

    # Seven days after the first poll it gives up with a reason the shop admin can act on.
    meta = {"first_run_at": time.time() - 8 * 86400}
    gave_up = Runner(redis_conn, settings, _FakeJob(meta)).run(event, "invoice.ksef")  # type: ignore[arg-type]
    assert not isinstance(gave_up, Retry) and gave_up["status"] == "failed"
    assert "has not confirmed invoice" in gave_up["message"]


class _FakeJob:
    """Just the job meta the runner keeps between the runs of one job."""

    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def save_meta(self) -> None:
        pass


def _scheduled_ids(conn: redis.Redis, settings: Settings) -> list[str]:
    return ScheduledJobRegistry(queue=queue_for(conn, settings)).get_job_ids()


def test_pdf_links_and_e_mails_stay_out_of_the_logs_and_the_audit_trail(
    shop: Harness, redis_conn: redis.Redis, redis_url: str, caplog, tmp_path
) -> None:
    """The PDF link opens the invoice (name, address, NIP) for anyone holding it: notes yes, logs no."""
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=str(tmp_path))
    order = shop.order(items=[{"name": "Kawa", "price": "49.99", "qty": 1}])
    event = envelope(shop, "order.paid", order_id=order["id"])
    with caplog.at_level("INFO"):
        result = Runner(redis_conn, settings, None).run(event, "invoice.issue")
    assert not isinstance(result, Retry) and result["status"] == "done", result
    url = shop.meta(order["id"])["_bpm_invoice_url"]
    assert any(url in note for note in shop.notes(order["id"]))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sidecar"))
    assert "action done" in logged
    assert url not in logged and "@" not in logged
    audit = "\n".join(f.read_text() for f in tmp_path.glob("audit-*.jsonl"))
    assert '"method": "POST"' in audit
    secret_part = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".pdf")
    assert secret_part not in audit and "jan.kowalski@" not in audit
