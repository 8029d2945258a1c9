"""The reconciliation sweep against the real WooCommerce and Fakturownia simulators and real Redis.

An order whose event was lost is found by listing the store, queued once per day under a synthetic
event, and issued exactly once through the real runner; what must not be queued is not.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from invoicing_tests.invoicing_harness import PASSWORD, VALID_NIP, Harness, serve_simulator
from rq import Retry, SimpleWorker
from rq.job import Job
from sandbox_client import InvoicingSandbox

from sidecar import cli, metrics
from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.engine import queueing, reconcile
from sidecar.engine.runner import Runner
from sidecar.engine.worker import build_worker
from sidecar.errors import PermanentError, TransientError
from sidecar.jobs import synthetic
from sidecar.sandbox import ServedApp
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret
from sidecar.store import StoreClient

ITEMS = [{"name": "Kawa", "price": "49.99", "qty": 2}]


@pytest.fixture(scope="module")
def fakturownia() -> Iterator[ServedApp]:
    served = serve_simulator("fakturownia")
    yield served
    served.stop()


@pytest.fixture
def shop(fakturownia: ServedApp) -> Iterator[Harness]:
    # A fresh store per test: a sweep lists *every* order of the window.
    secret = new_secret()
    woo = ServedApp(woo_app([secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    InvoicingSandbox(fakturownia.url).reset()
    yield Harness("fakturownia", woo, fakturownia, secret)
    woo.stop()


@pytest.fixture
def settings(shop: Harness, redis_url: str) -> Settings:
    return dataclasses.replace(shop.settings, redis_url=redis_url, audit_dir=None)


def sweep(conn: redis.Redis, settings: Settings, shop: Harness, **kwargs: Any) -> reconcile.Report:
    now = datetime.now(UTC)
    kwargs.setdefault("until", now + timedelta(minutes=1))  # include orders touched a moment ago
    return reconcile.sweep(
        conn, settings, shop.store, shop.store.get_config(), now - timedelta(hours=1), now=now, **kwargs
    )


def queued_jobs(conn: redis.Redis, settings: Settings) -> list[Job]:
    queue = queueing.queue_for(conn, settings)
    return [Job.fetch(jid, connection=conn) for jid in queue.get_job_ids()]


def run_queued(conn: redis.Redis, settings: Settings) -> list[dict[str, Any]]:
    """Run every queued job through the real runner, as a worker would (with the job's own meta)."""
    results = []
    for job in queued_jobs(conn, settings):
        result = Runner(conn, settings, job).run(*job.args)
        assert not isinstance(result, Retry), job.meta
        results.append(result)
    return results


def outcome_reports(shop: Harness) -> list[dict[str, Any]]:
    """Outcome reports, and write-backs the store refused (an outcome for an unknown event is a 404)."""
    log = shop.shop.requests()
    return [r for r in log if "/events/" in r["path"] or ("/apply" in r["path"] and r["status"] != 200)]


def by_order(report: reconcile.Report) -> dict[int, reconcile.Entry]:
    return {e.order_id: e for e in report.entries}


# -- the sweep ---------------------------------------------------------------------------------------


def test_paid_order_whose_event_was_lost_gets_exactly_one_invoice(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    order = shop.order(items=ITEMS)  # paid (processing), and no event ever reached the sidecar
    report = sweep(redis_conn, settings, shop)
    entry = by_order(report)[order["id"]]
    assert (entry.result, report.listed, len(report.missing)) == ("queued", 1, 1), report.render()

    [job] = queued_jobs(redis_conn, settings)
    event, action = job.args
    assert action == "invoice.issue" and event["id"] == entry.event_id
    assert event["type"] == "order.status_changed" and event["data"]["order_id"] == order["id"]
    assert event["store"] == settings.store_url and synthetic.is_synthetic(event)

    [result] = run_queued(redis_conn, settings)
    assert result["status"] == "done", result
    [doc] = shop.documents(order["id"])
    meta = shop.meta(order["id"])
    assert meta["_bpm_invoice_number"] == doc["number"]
    # The note says where it came from; no outcome report went to an outbox row that does not exist.
    assert any(doc["number"] in n and "reconciliation sweep" in n for n in shop.notes(order["id"]))
    assert outcome_reports(shop) == []

    again = sweep(redis_conn, settings, shop)
    assert by_order(again)[order["id"]].result == "skipped" and not again.missing
    assert len(shop.documents(order["id"])) == 1


def test_invoiced_order_is_not_queued(shop: Harness, settings: Settings, redis_conn: redis.Redis) -> None:
    order = shop.order(items=ITEMS)
    shop.put_meta(order["id"], {"_bpm_invoice_id": "4711", "_bpm_invoice_number": "FV 1/11/2026"})
    report = sweep(redis_conn, settings, shop)
    entry = by_order(report)[order["id"]]
    assert entry.result == "skipped" and "already has a document" in entry.reason
    assert queued_jobs(redis_conn, settings) == []


def test_pending_marker_is_resumed_without_a_second_document(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    order = shop.order(nip=VALID_NIP, items=ITEMS)
    # The create commits at Fakturownia but its answer is lost, and then the job is lost too.
    shop.fault(mode="drop_after_commit", match="POST /invoices.json", count=1)
    with pytest.raises(TransientError):
        shop.run("invoice.issue", order["id"])
    assert shop.meta(order["id"])["_bpm_invoice_id"].startswith("pending:")
    assert len(shop.documents(order["id"])) == 1

    report = sweep(redis_conn, settings, shop)
    entry = by_order(report)[order["id"]]
    assert entry.result == "queued" and "resuming" in entry.reason
    [result] = run_queued(redis_conn, settings)
    assert result["status"] == "done", result
    [doc] = shop.documents(order["id"])
    assert shop.meta(order["id"])["_bpm_invoice_id"] == str(doc["id"])


def test_cod_order_not_yet_completed_is_not_queued(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    cod = shop.order(items=ITEMS, payment_method="cod", payment_method_title="Za pobraniem", paid=False)
    on_hold = shop.order(items=ITEMS, status="on-hold", paid=False)
    report = sweep(redis_conn, settings, shop)
    entry = by_order(report)[cod["id"]]
    assert entry.result == "skipped" and "completed" in entry.reason, entry
    # Only statuses that can be due are listed at all.
    assert on_hold["id"] not in by_order(report) and report.listed == 1
    assert queued_jobs(redis_conn, settings) == []

    shop.set_status(cod["id"], "completed")
    assert by_order(sweep(redis_conn, settings, shop))[cod["id"]].result == "queued"


def test_an_order_not_due_and_unchanged_is_read_once(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    """Every sweep lists it, only the first reads it: a COD order may wait days to be completed."""
    cod = shop.order(items=ITEMS, payment_method="cod", paid=False, age_seconds=900)

    def reads() -> int:
        log = shop.shop.requests()
        return sum(r["method"] == "GET" and r["path"].endswith(f"/orders/{cod['id']}") for r in log)

    first = by_order(sweep(redis_conn, settings, shop))[cod["id"]]
    assert first.result == "skipped" and "completed" in first.reason and reads() == 1
    again = by_order(sweep(redis_conn, settings, shop))[cod["id"]]
    assert (again.result, again.reason) == (first.result, first.reason) and reads() == 1
    # Other settings: decided again.
    changed = {
        **shop.store.get_config(),
        "invoicing": {**shop.store.get_config()["invoicing"], "trigger": {}},
    }
    now = datetime.now(UTC)
    report = reconcile.sweep(
        redis_conn,
        settings,
        shop.store,
        changed,
        now - timedelta(hours=1),
        now=now,
        until=now + timedelta(minutes=1),
    )
    assert by_order(report)[cod["id"]].result == "queued" and reads() == 2


def test_two_sweeps_in_one_day_queue_one_job(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    order = shop.order(items=ITEMS)
    first = sweep(redis_conn, settings, shop)
    second = sweep(redis_conn, settings, shop)
    assert by_order(first)[order["id"]].result == "queued"
    entry = by_order(second)[order["id"]]
    assert entry.result == "already_queued" and "queued" in entry.reason
    assert entry.event_id == by_order(first)[order["id"]].event_id
    assert len(queued_jobs(redis_conn, settings)) == 1
    # Another day is another synthetic event: the order would be queued again if still missing.
    tomorrow = synthetic.envelope(settings.store_url, order, datetime.now(UTC) + timedelta(days=1))
    assert tomorrow["id"] != entry.event_id and synthetic.is_synthetic(tomorrow)
    # The missing-orders metric counts each sweep's findings.
    text = metrics.render(redis_conn).decode()
    assert 'bpm_reconcile_orders_total{result="missing"} 2.0' in text
    assert 'bpm_reconcile_orders_total{result="queued"} 1.0' in text


def test_a_sweep_that_could_not_queue_leaves_the_order_to_the_next_one(
    shop: Harness, settings: Settings, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis failing between the day's claim and the enqueue must not hide the order until tomorrow."""
    order = shop.order(items=ITEMS)
    real = queueing.enqueue_actions

    def flaky_enqueue(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(queueing, "enqueue_actions", real)
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr(queueing, "enqueue_actions", flaky_enqueue)
    with pytest.raises(redis.ConnectionError):
        sweep(redis_conn, settings, shop)
    assert queued_jobs(redis_conn, settings) == []
    retried = sweep(redis_conn, settings, shop)
    assert by_order(retried)[order["id"]].result == "queued", retried.render()
    assert len(queued_jobs(redis_conn, settings)) == 1


def test_switched_off_invoicing_looks_at_nothing(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    shop.order(items=ITEMS)
    shop.configure({"invoicing": {"provider": "none"}})
    report = sweep(redis_conn, settings, shop)
    assert report.disabled and report.listed == 0 and queued_jobs(redis_conn, settings) == []


def test_recent_orders_are_left_to_their_own_events(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    fresh = shop.order(items=ITEMS)
    old = shop.order(items=ITEMS, age_seconds=1200)
    report = sweep(redis_conn, settings, shop, until=None)  # default: now minus the settle time
    assert set(by_order(report)) == {old["id"]}, report.render()
    assert fresh["id"] not in by_order(report)


def test_plugin_event_ids_are_never_taken_for_synthetic_ones(shop: Harness) -> None:
    order = shop.order(items=ITEMS)
    event = synthetic.envelope("https://shop.example", order, datetime.now(UTC))
    assert synthetic.is_synthetic(event)
    assert not synthetic.is_synthetic({**event, "id": "0193a4c2-7d1e-4c3a-9b7e-2f4c1d9e8a10"})
    assert not synthetic.is_synthetic({**event, "data": {"order_id": order["id"] + 1}})
    assert not synthetic.is_synthetic({**event, "occurred_at": "2020-01-01T00:00:00Z"})
    assert not synthetic.is_synthetic({"id": event["id"], "type": "ping"})


# -- CLI -----------------------------------------------------------------------------------------------


def cli_env(monkeypatch: pytest.MonkeyPatch, shop: Harness, redis_url: str, **extra: str) -> None:
    env = {
        "BPM_WEBHOOK_SECRETS": shop.secret,
        "BPM_STORE_URL": shop.woo.url,
        "BPM_STORE_USER": "bpm-api",
        "BPM_STORE_APP_PASSWORD": PASSWORD,
        "BPM_ALLOW_INSECURE_STORE": "true",
        "BPM_REDIS_URL": redis_url,
        "BPM_AUDIT_DIR": "",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_cli_dry_run_reports_and_queues_nothing(
    shop: Harness,
    settings: Settings,
    redis_conn: redis.Redis,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_env(monkeypatch, shop, redis_url)
    missing = shop.order(items=ITEMS, age_seconds=900)
    shop.order(items=ITEMS, payment_method="cod", paid=False, age_seconds=900)
    assert cli.main(["reconcile", "--hours", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and f"order {missing['id']} (processing): would_queue" in out, out
    assert "1 due a document without one, 0 queued" in out
    assert "skipped 1: (cod) is invoiced when completed; it is processing" in out
    assert queued_jobs(redis_conn, settings) == []

    assert cli.main(["reconcile", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["missing"], data["queued"]) == (1, 1)
    assert len(queued_jobs(redis_conn, settings)) == 1


def test_cli_says_when_the_store_is_unreachable(
    shop: Harness, redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env(monkeypatch, shop, redis_url)
    shop.shop.fault(503, count=5, path="/wp-json/bpm-bridge/v1/orders/search")
    assert cli.main(["reconcile"]) == 1
    assert "reconciliation failed: the store answered HTTP 503" in capsys.readouterr().err


# -- scheduling ------------------------------------------------------------------------------------------


def test_one_of_two_workers_enqueues_the_sweep_and_a_worker_runs_it(
    shop: Harness,
    settings: Settings,
    redis_conn: redis.Redis,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli_env(monkeypatch, shop, redis_url)
    order = shop.order(items=ITEMS, age_seconds=3600)  # its event was lost an hour ago
    workers = [build_worker(settings, redis_conn, name=f"w{i}") for i in (1, 2)]
    for worker in workers * 2:  # both workers' maintenance passes, twice
        worker.run_maintenance_tasks()
    [sweep_job] = queued_jobs(redis_conn, settings)
    assert sweep_job.func_name == reconcile.SWEEP_JOB
    assert 0 < redis_conn.ttl(reconcile.SCHEDULE_KEY) <= settings.reconcile_interval

    # The sweep runs as a job; the job it queues runs in the same burst.
    SimpleWorker([queueing.queue_for(redis_conn, settings)], connection=redis_conn).work(burst=True)
    swept = Job.fetch(sweep_job.id, connection=redis_conn).return_value()
    assert (swept["missing"], swept["queued"]) == (1, 1), swept
    assert len(shop.documents(order["id"])) == 1
    assert shop.meta(order["id"])["_bpm_invoice_number"]


def test_interval_zero_disables_the_schedule(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    off = dataclasses.replace(settings, reconcile_interval=0)
    build_worker(off, redis_conn, name="w-off").run_maintenance_tasks()
    assert reconcile.maybe_schedule(redis_conn, off) is None
    assert queued_jobs(redis_conn, off) == [] and not redis_conn.exists(reconcile.SCHEDULE_KEY)


# -- the order list: simulator and client ----------------------------------------------------------------


def test_order_search_pages_by_id_with_bpm_state_only(shop: Harness) -> None:
    ids = [shop.order(items=ITEMS)["id"] for _ in range(5)]
    shop.order(items=ITEMS, status="cancelled", paid=False)
    since = datetime.now(UTC) - timedelta(hours=1)
    page = shop.store.search_orders(["processing", "completed"], since, page=2, per_page=2)
    assert [o["id"] for o in page.orders] == ids[2:4] and (page.total, page.total_pages) == (5, 3)
    assert set(page.orders[0]) == {"id", "status", "date_modified_gmt", "meta"}  # no personal data
    assert [o["id"] for o in shop.store.iter_orders(["processing"], since, per_page=2)] == ids
    assert list(shop.store.iter_orders(["processing"], datetime.now(UTC) + timedelta(minutes=1))) == []


def test_order_search_needs_the_credentials(shop: Harness) -> None:
    store = StoreClient(dataclasses.replace(shop.settings, store_app_password="wrong"), AuditLog(None))
    with pytest.raises(PermanentError, match="refused our credentials"):
        store.search_orders(["processing"], datetime.now(UTC))


def test_an_order_the_store_refuses_is_reported_and_the_others_still_swept(
    shop: Harness, settings: Settings, redis_conn: redis.Redis
) -> None:
    gone, fine = shop.order(items=ITEMS), shop.order(items=ITEMS)
    shop.shop.fault(404, count=1, path=f"/wp-json/bpm-bridge/v1/orders/{gone['id']}")
    report = sweep(redis_conn, settings, shop)
    assert by_order(report)[gone["id"]].result == "error"
    assert by_order(report)[fine["id"]].result == "queued"
    assert f"order {gone['id']} (processing): error" in report.render()
