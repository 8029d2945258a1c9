"""The reconciliation sweep's CRM pass: orders changed in the window whose CRM record is missing or behind.

"Behind" is read from the search listing alone (ids, status, modification time and BPM meta; no order
is read here): no ``_bpm_crm_hash`` yet, or ``_bpm_crm_synced_at`` older than the order's last change —
any change, even one a second after the sync. Our own write-back changes the order too, a moment after
the sync time it records, so every order synced in the window is queued once (per day): a queued
``crm.sync_order`` that finds the payload unchanged costs one order read, no CRM call and no write (so it
does not make the order look changed again), which makes a false "behind" cheap; a missed one — an
invoice number written seconds after the sync — is not. The backfill, which walks a whole history,
passes :data:`WRITE_BACK_SLACK` instead: a re-run must not read every order it sent before, and the
sweep has looked at the orders changed just after their sync.

Like the invoicing pass, each order is queued at most once per UTC day: the synthetic envelope's id is
per (order, day) and a Redis claim per (envelope, action) makes two sweeps at the same moment agree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import redis

from sidecar.engine import queueing
from sidecar.jobs import synthetic

if TYPE_CHECKING:
    from sidecar.config import Settings
    from sidecar.engine.reconcile import Entry
    from sidecar.store import StoreClient

log = logging.getLogger(__name__)

ACTION = "crm.sync_order"
# Every status a deal can follow (the settings' stage map may add custom ones).
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
WRITE_BACK_SLACK = timedelta(seconds=60)
CLAIM_PREFIX = "bpm:reconcile:crm:"
CLAIM_TTL = 2 * 86400


def enabled(config: Mapping[str, Any]) -> bool:
    return str((config.get("crm") or {}).get("provider") or "none") != "none"


def statuses(config: Mapping[str, Any]) -> tuple[str, ...]:
    stages = (config.get("crm") or {}).get("stages")
    extra = [str(k) for k in stages] if isinstance(stages, Mapping) else []
    return tuple(dict.fromkeys([*STATUSES, *extra]))


def _moment(value: Any) -> datetime | None:
    text = str(value or "").strip().rstrip("Z")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def behind(order: Mapping[str, Any], slack: timedelta = timedelta(0)) -> str | None:
    """Why the listed order's CRM record needs a sync, or None when it is up to date (a change within
    ``slack`` after the sync does not count)."""
    meta = order.get("meta") or {}
    if not meta.get("_bpm_crm_hash"):
        return "not in the CRM yet"
    synced, modified = _moment(meta.get("_bpm_crm_synced_at")), _moment(order.get("date_modified_gmt"))
    if synced is None:
        return "the CRM sync time is unknown"
    if modified is None or modified <= synced + slack:
        return None
    if modified - synced <= WRITE_BACK_SLACK:
        return "changed just after its last CRM sync (perhaps only by the sync's own write-back)"
    return "changed since its last CRM sync"


def sweep(
    conn: redis.Redis,
    settings: Settings,
    store: StoreClient,
    config: Mapping[str, Any],
    since: datetime,
    until: datetime,
    now: datetime,
    dry_run: bool,
) -> list[Entry]:
    from sidecar.engine.reconcile import Entry

    entries = []
    for order in store.iter_orders(statuses(config), since, until):
        reason = behind(order)
        if reason is None:
            continue
        order_id, status = int(order["id"]), str(order.get("status") or "")
        envelope = synthetic.envelope(settings.store_url, {"id": order_id, "status": status}, now)
        if dry_run:
            entries.append(Entry(order_id, status, "would_queue", reason, envelope["id"], ACTION))
            continue
        queued = queueing.requeue_once(
            conn, settings, envelope, ACTION, f"{CLAIM_PREFIX}{envelope['id']}", CLAIM_TTL
        )
        result = "queued" if queued else "already_queued"
        if queued:
            log.info("reconciliation queued %s for order %s", ACTION, order_id, extra={"order_id": order_id})
        entries.append(Entry(order_id, status, result, reason, envelope["id"], ACTION))
    return entries


__all__ = ["behind", "enabled", "sweep"]
