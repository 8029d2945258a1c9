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
    h.rma(status="label_ready", kind="complaint", due_at=iso(now + timedelta(days=2, hours=23)))  # soon
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
    assert gauge(text, "awaiting_label", "withdrawal") == 1
    assert gauge(text, "awaiting_label", "complaint") == 0
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
