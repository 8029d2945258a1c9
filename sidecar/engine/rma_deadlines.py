"""The deadline sweep of returns: how many are overdue, due within 3 days, or approved without a label.

Polish law gives the shop 14 days to answer a complaint (after that it is deemed accepted) and 14 days to
refund after a withdrawal; the plugin stores each return's legal deadline as ``due_at``. The sweep lists
the open returns due before now + 3 days (``POST bpm-bridge/v1/rmas/search``: ids, statuses, kinds and
dates only — no personal data) and the approved returns still waiting for a label, and replaces the
``bpm_rma_returns`` gauges with what it counted (sidecar/metrics.py). It runs with every scheduled
reconciliation sweep (sidecar/engine/reconcile.py), so the gauges are at most one interval old; the
``bpm_rma_deadlines_refreshed_timestamp_seconds`` gauge says when.

A return in ``received`` still counts: the refund is what the withdrawal deadline is about.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import redis

from sidecar.errors import BridgeError
from sidecar.metrics import RMA_KINDS, Metrics
from sidecar.store import RmaRoutes

if TYPE_CHECKING:
    from sidecar.store import StoreClient

log = logging.getLogger(__name__)

SOON = timedelta(days=3)
OPEN = ("requested", "approved", "label_ready", "arrived", "received")


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
        if due is None:
            continue
        kind = str(rma.get("kind") or "withdrawal")
        counts[("overdue" if due <= now else "due_soon", kind if kind in RMA_KINDS else "withdrawal")] += 1
    for rma in routes.iter_search(("approved",)):
        if not rma.get("has_label"):
            kind = str(rma.get("kind") or "withdrawal")
            counts[("awaiting_label", kind if kind in RMA_KINDS else "withdrawal")] += 1
    return Deadlines(dict(counts))


def refresh(conn: redis.Redis, store: StoreClient, now: datetime | None = None) -> Deadlines | None:
    """Count and publish; None (gauges left as they were, their timestamp says how old) when the store
    cannot answer — a failed count never shows as "nothing overdue"."""
    moment = now or datetime.now(UTC)
    try:
        found = count(store, moment)
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
