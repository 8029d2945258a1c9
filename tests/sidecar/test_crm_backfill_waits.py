"""``bpm-sidecar crm backfill`` when the CRM pushes back or a live worker races it: a wait is told and
waited out, only the orders without an answer are sent again, a wait of many minutes stops the run with
the time to run it again, and a worker's sync written meanwhile is not overwritten.

The CRM is a fake that scripts its answers (the real HubSpot path is in test_crm_sweeps.py); the shop is
the WooCommerce simulator, on real Redis."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
import redis
from crm_harness import PASSWORD, CrmShop, crm_fixture, servers_fixture, unique_email
from rq import Queue

from sidecar import crm_backfill
from sidecar.audit import AuditLog
from sidecar.errors import TransientError
from sidecar.providers.crm.base import Contact, Deal, Known, Synced
from sidecar.sandbox import ServedApp
from sidecar.sandbox.woo import create_app as woo_app

FIXTURES = (crm_fixture, servers_fixture)  # imported for pytest
QUEUE = "bpm-crm-backfill-waits"


class Scripted:
    """A batch CRM whose first answers are scripted: ``answers[n](items)`` answers the n-th batch."""

    name: ClassVar[str] = "hubspot"
    label: ClassVar[str] = "HubSpot"

    def __init__(self, answers: Sequence[Callable[[list[Any]], list[Any]]]) -> None:
        self.answers = list(answers)
        self.batches: list[list[int]] = []

    def sync_batch(self, items: Sequence[tuple[Contact, Deal, Known]]) -> list[Any]:
        self.batches.append([d.order_id for _, d, _ in items])
        if self.answers:
            return self.answers.pop(0)(list(items))
        return [ok(d) for _, d, _ in items]


def ok(deal: Deal) -> Synced:
    return Synced(f"c{deal.order_id}", f"d{deal.order_id}", "", "contractsent")


@pytest.fixture
def shop(crm: CrmShop) -> Iterator[CrmShop]:
    woo = ServedApp(woo_app([crm.secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    try:
        yield CrmShop(woo, crm.hub, crm.secret)
    finally:
        woo.stop()


def backfill(shop: CrmShop, redis_url: str, conn: redis.Redis, client: Scripted) -> tuple[Any, str, list]:
    settings = dataclasses.replace(shop.settings, redis_url=redis_url, queue=QUEUE, audit_dir=None)
    out, slept = io.StringIO(), []
    since = datetime.now(UTC) - timedelta(minutes=5)
    summary = crm_backfill.run(
        conn, settings, shop.store, shop.store.get_config(), since, audit=AuditLog(None), out=out,
        provider=client, sleep=slept.append,  # type: ignore[arg-type]
    )  # fmt: skip
    return summary, out.getvalue(), slept


def test_a_wait_is_told_and_only_the_orders_without_an_answer_are_sent_again(
    shop: CrmShop, redis_url: str, redis_conn: redis.Redis
) -> None:
    orders = [shop.order(billing={"email": unique_email(f"wait{n}")})["id"] for n in range(3)]

    def second_waits(items: list[Any]) -> list[Any]:
        return [
            TransientError("HubSpot's request limit was reached", 7) if n == 1 else ok(d)
            for n, (_, d, _) in enumerate(items)
        ]

    client = Scripted([second_waits])
    summary, said, slept = backfill(shop, redis_url, redis_conn, client)
    assert client.batches == [orders, [orders[1]]]  # the retry carries the one order alone
    assert "waiting 7 s for HubSpot's limit" in said and slept == [7.0]
    assert summary.sent == 3 and not summary.failed
    assert all(shop.meta(o)["_bpm_crm_id"] == f"d{o}" for o in orders)


def test_a_long_wait_stops_the_run_with_the_time_to_run_it_again(
    shop: CrmShop, redis_url: str, redis_conn: redis.Redis
) -> None:
    orders = [shop.order(billing={"email": unique_email(f"daily{n}")})["id"] for n in range(2)]

    def daily(items: list[Any]) -> list[Any]:
        return [ok(items[0][1]), TransientError("HubSpot's daily API limit is used up", 1800)]

    summary, _, slept = backfill(shop, redis_url, redis_conn, Scripted([daily]))
    assert slept == []  # half an hour is not waited out in the terminal
    assert re.search(r"run again after \d\d:\d\d UTC", summary.stopped)
    assert "Stopped early: HubSpot asks to wait 30 minutes" in summary.render("HubSpot")
    assert summary.sent == 1 and [f[0] for f in summary.failed] == [orders[1]]
    assert shop.meta(orders[0])["_bpm_crm_id"] == f"d{orders[0]}"  # what got through is written back
    assert "_bpm_crm_id" not in shop.meta(orders[1])


def test_a_sync_written_by_a_worker_meanwhile_is_kept_and_the_order_synced_once_more(
    shop: CrmShop, redis_url: str, redis_conn: redis.Redis
) -> None:
    order = shop.order(billing={"email": unique_email("raced")})["id"]
    Queue(QUEUE, connection=redis_conn).empty()

    def worker_meanwhile(items: list[Any]) -> list[Any]:
        shop.shop.put_meta(order, {"_bpm_crm_hash": "acct.worker", "_bpm_crm_id": "d-worker"})
        return [ok(d) for _, d, _ in items]

    summary, _, _ = backfill(shop, redis_url, redis_conn, Scripted([worker_meanwhile]))
    assert shop.meta(order)["_bpm_crm_id"] == "d-worker"  # the worker's write-back stays
    assert summary.requeued == 1 and not summary.failed
    queue = Queue(QUEUE, connection=redis_conn)
    jobs = [queue.fetch_job(j) for j in queue.job_ids]
    assert [j.args[0]["data"]["order_id"] for j in jobs if j and j.args[1] == "crm.sync_order"] == [order]
