"""The deadline sweep of returns: how many are overdue, due within 3 days, or approved without a label.

Polish law gives the shop 14 days to answer a complaint (after that it is deemed accepted) and 14 days to
refund after a withdrawal; the plugin stores each return's legal deadline as ``due_at``. The sweep lists
the open returns due before now + 3 days (``POST bpm-bridge/v1/rmas/search``: ids, statuses, kinds and
dates only — no personal data) and the approved returns still waiting for a label, and replaces the
``bpm_rma_returns`` gauges with what it counted (sidecar/metrics.py). It runs with every scheduled
reconciliation sweep (sidecar/engine/reconcile.py), so the gauges are at most one interval old; the
``bpm_rma_deadlines_refreshed_timestamp_seconds`` gauge says when.

A return in ``received`` still counts: the refund is what the withdrawal deadline is about.

The same sweep gives a return its job back when nothing is working on it any more (:func:`resume`): an
approved return without a label, or a label_ready one whose parcel nobody follows, with no ``rma.process`` /
``rma.track`` job of its own queued, scheduled or running. That happens when Redis lost its data while a
label was being confirmed or a parcel followed — the event's outcome was reported already, so the plugin
does not send it again. The job is queued with a synthetic event (sidecar/jobs/synthetic.py: no outbox row,
its id fixed per order and day); the actions are state-based, so a return whose label is in fact there is
only re-read. Returns older than :data:`RESUME_DAYS` are left to staff.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import redis
from rq.job import Job

from sidecar.engine import dead_letters, queueing
from sidecar.errors import BridgeError
from sidecar.jobs import synthetic
from sidecar.metrics import RMA_KINDS, Metrics
from sidecar.store import RmaRoutes

if TYPE_CHECKING:
    from sidecar.config import Settings
    from sidecar.store import StoreClient

log = logging.getLogger(__name__)

SOON = timedelta(days=3)
OPEN = ("requested", "approved", "label_ready", "arrived", "received")
RESUME_DAYS = 30
# The statuses in which the shop still owes what the deadline is about (the plugin's Deadlines::RUNNING):
# a complaint is answered by approving or rejecting it, a withdrawal settled by the refund or a rejection.
RUNNING = {"complaint": ("requested",), "withdrawal": OPEN}
# An approved return gets its label within seconds; only one still without it after this is stuck.
LABEL_STUCK = timedelta(minutes=30)
# A return changed this recently still has its own event on the way.
SETTLE = timedelta(minutes=10)
RESUMED = {"approved": "rma.process", "label_ready": "rma.track"}
RESUMED_KEY = "bpm:rma:resumed"  # + ":<rma id>:<day>": a return is given its job back once a day


@dataclass(frozen=True)
class Deadlines:
    counts: dict[tuple[str, str], int]

    def total(self, state: str) -> int:
        return sum(n for (s, _), n in self.counts.items() if s == state)


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def count(store: StoreClient, now: datetime) -> Deadlines:
    routes = RmaRoutes(store)
    counts: Counter[tuple[str, str]] = Counter()
    for rma in routes.iter_search(OPEN, due_before=now + SOON):
        due = _when(rma.get("due_at"))
        kind = str(rma.get("kind") or "withdrawal")
        kind = kind if kind in RMA_KINDS else "withdrawal"
        if due is None or str(rma.get("status")) not in RUNNING[kind]:
            continue  # an answered complaint's deadline is met
        counts[("overdue" if due <= now else "due_soon", kind)] += 1
    for rma in routes.iter_search(("approved",)):
        changed = _when(rma.get("updated_at") or rma.get("created_at"))
        if not rma.get("has_label") and changed is not None and changed < now - LABEL_STUCK:
            kind = str(rma.get("kind") or "withdrawal")
            counts[("awaiting_label", kind if kind in RMA_KINDS else "withdrawal")] += 1
    return Deadlines(dict(counts))


def refresh(
    conn: redis.Redis, store: StoreClient, now: datetime | None = None, settings: Settings | None = None
) -> Deadlines | None:
    """Count and publish (and, given the settings, :func:`resume` stalled returns); None (gauges left as
    they were, their timestamp says how old) when the store cannot answer — a failed count never shows as
    "nothing overdue"."""
    moment = now or datetime.now(UTC)
    try:
        found = count(store, moment)
        if settings is not None:
            resume(conn, settings, store, moment)
    except BridgeError as exc:
        log.warning("return deadlines not refreshed: %s", exc.reason)
        return None
    Metrics(conn).rma_deadlines(found.counts, moment.timestamp())
    log.info(
        "return deadlines: %s overdue, %s due within 3 days, %s awaiting a label",
        found.total("overdue"),
        found.total("due_soon"),
        found.total("awaiting_label"),
    )
    return found


def _busy(conn: redis.Redis, settings: Settings) -> set[int]:
    """Returns that have an RMA job queued, scheduled (waiting for a retry or a follow-up) or running."""
    queue = queueing.queue_for(conn, settings)
    ids = [
        *queue.job_ids,
        *queue.scheduled_job_registry.get_job_ids(),
        *queue.started_job_registry.get_job_ids(),
    ]
    wanted = [j for j in ids if j.endswith(tuple("_" + a.replace(".", "-") for a in RESUMED.values()))]
    busy = set()
    for job in Job.fetch_many(wanted, connection=conn):
        if job is None:  # finished and expired between the listing and the fetch
            continue
        try:
            busy.add(int(job.args[0]["data"]["rma_id"]))
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            continue
    return busy


def _dead_lettered(conn: redis.Redis, settings: Settings) -> set[int]:
    """Returns whose job is a dead letter: staff decide (replay), the sweep does not try again."""
    found = set()
    for entry in dead_letters.entries(conn, settings):
        try:
            found.add(int(entry.event["data"]["rma_id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return found


def resume(conn: redis.Redis, settings: Settings, store: StoreClient, now: datetime | None = None) -> int:
    """Queue the job of every recent approved / label_ready return nothing works on (not a dead letter,
    not a PDF slip, at most once a day per return); returns how many."""
    moment = now or datetime.now(UTC)
    busy = _busy(conn, settings) | _dead_lettered(conn, settings)
    routes, queued = RmaRoutes(store), 0
    for status, action in RESUMED.items():
        for rma in routes.iter_search((status,)):
            created = _when(rma.get("created_at"))
            if int(rma["id"]) in busy or created is None or created < moment - timedelta(days=RESUME_DAYS):
                continue
            if status == "approved" and rma.get("has_label"):
                continue  # labelled, the status step follows with its own event
            if status == "label_ready" and rma.get("carrier") in ("return_slip", ""):
                continue  # a PDF slip has no parcel to follow
            if created > moment - SETTLE:
                continue
            order_id = int(rma["order_id"])
            occurred_at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            day_key = f"{RESUMED_KEY}:{int(rma['id'])}:{occurred_at[:10]}"
            if not conn.set(day_key, "1", nx=True, ex=2 * 86400):
                continue  # resumed once today already
            envelope = {
                "id": synthetic.event_id(settings.store_url, order_id, occurred_at[:10], int(rma["id"])),
                "type": "rma.updated",
                "occurred_at": occurred_at,
                "store": settings.store_url.rstrip("/"),
                "data": {"rma_id": int(rma["id"]), "order_id": order_id, "status": status},
            }
            queueing.enqueue_one(conn, settings, envelope, action)
            queued += 1
            log.info(
                "return %s (%s): nothing worked on it, %s queued again", rma.get("number"), status, action
            )
    return queued
