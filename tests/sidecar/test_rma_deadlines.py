"""The deadline gauges of returns: overdue, due within 3 days and approved without a label, counted from
the shop's open returns (POST rmas/search on the WooCommerce simulator) and exported on /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rma_harness import Harness, Servers

from sidecar.engine import rma_deadlines
from sidecar.metrics import render


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    served = Servers()
    yield served
    served.stop()


def gauge(text: str, state: str, kind: str) -> float:
    found = re.search(rf'^bpm_rma_returns\{{kind="{kind}",state="{state}"\}} (\S+)$', text, re.M)
    assert found, text
    return float(found.group(1))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_gauges_count_open_returns_by_deadline(servers: Servers, redis_conn: redis.Redis) -> None:
    h = Harness(servers)
    now = datetime.now(UTC).replace(microsecond=0)
    h.rma(status="requested", kind="complaint", due_at=iso(now - timedelta(days=1)))  # overdue
    h.rma(status="received", kind="withdrawal", due_at=iso(now - timedelta(hours=1)))  # refund overdue
    h.rma(status="approved", kind="withdrawal", due_at=iso(now + timedelta(days=2)))  # soon, no label
    h.rma(status="label_ready", kind="complaint", due_at=iso(now - timedelta(days=2)))  # answered: no
    h.rma(status="requested", kind="complaint", due_at=iso(now + timedelta(days=2, hours=23)))  # soon
    h.rma(status="requested", kind="complaint", due_at=iso(now + timedelta(days=4)))  # not yet
    h.rma(status="refunded", kind="withdrawal", due_at=iso(now - timedelta(days=30)))  # done: not counted
    h.rma(status="rejected", kind="complaint", due_at=iso(now - timedelta(days=30)))  # done: not counted
    found = rma_deadlines.refresh(redis_conn, h.store, now)
    assert found is not None
    text = render(redis_conn).decode()
    assert gauge(text, "overdue", "complaint") == 1
    assert gauge(text, "overdue", "withdrawal") == 1
    assert gauge(text, "due_soon", "withdrawal") == 1
    assert gauge(text, "due_soon", "complaint") == 1
    assert gauge(text, "awaiting_label", "withdrawal") == 0  # approved a moment ago: its label is coming
    assert gauge(text, "awaiting_label", "complaint") == 0
    stuck = rma_deadlines.count(h.store, now + timedelta(minutes=31)).counts
    assert stuck[("awaiting_label", "withdrawal")] == 1 and ("awaiting_label", "complaint") not in stuck
    stamp = re.search(r"^bpm_rma_deadlines_refreshed_timestamp_seconds (\S+)$", text, re.M)
    assert stamp and float(stamp.group(1)) == pytest.approx(now.timestamp())


def test_a_store_that_cannot_answer_leaves_the_last_count(servers: Servers, redis_conn: redis.Redis) -> None:
    h = Harness(servers)
    now = datetime.now(UTC)
    h.rma(status="requested", kind="complaint", due_at=iso(now - timedelta(days=1)))
    assert rma_deadlines.refresh(redis_conn, h.store, now) is not None
    before = gauge(render(redis_conn).decode(), "overdue", "complaint")
    assert before >= 1
    h.shop.fault(status=503, count=5, path="/wp-json/bpm-bridge/v1/rmas/search")
    try:
        assert rma_deadlines.refresh(redis_conn, h.store, now + timedelta(days=30)) is None
    finally:
        h.shop.clear_faults()
    assert gauge(render(redis_conn).decode(), "overdue", "complaint") == before


def test_before_any_sweep_the_gauges_are_zero(redis_conn: redis.Redis) -> None:
    text = render(redis_conn).decode()
    assert gauge(text, "overdue", "complaint") == 0
    assert "bpm_rma_deadlines_refreshed_timestamp_seconds 0.0" in text


def test_the_alert_rules_use_only_metrics_the_sidecar_exports(redis_conn: redis.Redis) -> None:
    import yaml

    rules = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "alerts.yml").read_text())["groups"]
    exported = set(re.findall(r"^# TYPE (\S+) ", render(redis_conn).decode(), re.M))
    used = {
        name for group in rules for rule in group["rules"] for name in re.findall(r"bpm_\w+", rule["expr"])
    }
    assert used and used <= exported, used - exported
    assert {r["alert"] for g in rules for r in g["rules"]} >= {"BpmReturnsOverdue", "BpmReturnLabelsStuck"}


def test_the_sweep_gives_stalled_returns_their_job_back(servers: Servers, redis_conn: redis.Redis) -> None:
    from rq import Queue

    from sidecar.engine import queueing
    from sidecar.jobs import synthetic

    h = Harness(servers)
    h.shipx.setting("confirmation", reads=0, seconds=0)  # the label stays unconfirmed: the chain is "lost"
    stalled = h.rma(status="approved")
    h.run("rma.process", stalled)  # shipment bought, its follow-up never ran (Redis lost it)
    following = h.rma(
        status="label_ready", label={"carrier": "inpost", "tracking_number": "6", "url": "https://x.test/6"}
    )
    busy = h.rma(status="approved")
    labelled = h.rma(
        status="approved", label={"carrier": "inpost", "tracking_number": "7", "url": "https://x.test/7"}
    )
    h.rma(status="requested")
    queue = Queue(h.settings.queue, connection=redis_conn)
    data = {"rma_id": busy, "order_id": 1, "status": "approved"}
    envelope = {"id": "live-event", "type": "rma.updated", "occurred_at": "2026-12-03T10:00:00Z",
                "store": h.settings.store_url, "data": data}  # fmt: skip
    queueing.enqueue_one(redis_conn, h.settings, envelope, "rma.process", delay=600)  # its retry is waiting
    later = datetime.now(UTC) + timedelta(hours=1)

    mine = {stalled, following, busy, labelled}
    assert rma_deadlines.resume(redis_conn, h.settings, h.store, later) >= 2
    jobs = {(j.args[1], j.args[0]["data"]["rma_id"]) for j in queue.jobs}
    assert {job for job in jobs if job[1] in mine} == {("rma.process", stalled), ("rma.track", following)}
    assert all(synthetic.is_synthetic(j.args[0]) for j in queue.jobs)  # no outbox row to report to
    assert rma_deadlines.resume(redis_conn, h.settings, h.store, later) == 0  # now they are queued
    # Too recent (its own event is on the way) or too old (staff's) returns are left alone.
    queue.empty()
    assert rma_deadlines.resume(redis_conn, h.settings, h.store, datetime.now(UTC)) == 0
    assert rma_deadlines.resume(redis_conn, h.settings, h.store, later + timedelta(days=31)) == 0


def test_the_sweep_skips_dead_letters_and_slips_and_resumes_once_a_day(
    servers: Servers, redis_conn: redis.Redis
) -> None:
    from rq import Queue

    from sidecar.engine import dead_letters

    h = Harness(servers)
    first = h.rma(status="approved")
    order_id = h.view(first)["order_id"]
    second = int(h.shop.create_rma(order_id, status="approved", method="locker")["id"])  # same order
    slip = h.rma(
        status="label_ready", label={"carrier": "return_slip", "tracking_number": "RMA-1", "url": ""}
    )
    dead = h.rma(status="approved")
    event = {"id": "dead-event", "type": "rma.updated", "occurred_at": "2026-12-03T10:00:00Z",
             "store": h.settings.store_url, "data": {"rma_id": dead, "order_id": 1}}  # fmt: skip
    dead_letters.add(redis_conn, event, "rma.process", "InPost may already have shipment …", 5, 1)
    later = datetime.now(UTC) + timedelta(hours=1)
    rma_deadlines.resume(redis_conn, h.settings, h.store, later)
    queue = Queue(h.settings.queue, connection=redis_conn)
    queued = {j.args[0]["data"]["rma_id"] for j in queue.jobs}
    assert {first, second} <= queued  # two returns of one order: two jobs
    assert slip not in queued and dead not in queued
    queue.empty()
    assert (
        rma_deadlines.resume(redis_conn, h.settings, h.store, later + timedelta(hours=2)) == 0
    )  # today: done
    assert rma_deadlines.resume(redis_conn, h.settings, h.store, later + timedelta(days=1)) >= 2  # next day


def test_the_stale_alert_fires_when_never_refreshed_and_counts_are_not_summed_across_targets() -> None:
    import yaml

    rules = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "alerts.yml").read_text())["groups"]
    exprs = {r["alert"]: " ".join(r["expr"].split()) for g in rules for r in g["rules"]}
    stale = exprs["BpmReturnDeadlinesStale"]
    assert "> 0 and" not in stale  # a timestamp of 0 (never refreshed) must fire, not be filtered out
    assert "absent(bpm_rma_deadlines_refreshed_timestamp_seconds)" in stale
    assert "time() - max(bpm_rma_deadlines_refreshed_timestamp_seconds) > 3600" in stale
    for name in ("BpmReturnsOverdue", "BpmReturnsDueSoon", "BpmReturnLabelsStuck"):
        assert exprs[name].startswith("max(sum by (instance) (bpm_rma_returns{"), exprs[name]
