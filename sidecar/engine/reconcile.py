"""The reconciliation sweep: orders due a document that have none are queued again (DESIGN §3).

Events can be lost in ways the outbox cannot see (a plugin deactivated for an hour, a hook that never
fired, a Redis wiped after the 202). The sweep does not trust events: it lists the orders modified in a
window straight from the store (``POST bpm-bridge/v1/orders/search``: ids and BPM meta only), reads
each one without a document, asks :func:`sidecar.invoicing.rules.decide` whether each one is due a
document, and queues ``invoice.issue`` for every due order whose ``_bpm_invoice_id`` is empty or a
``pending:`` intent (resumable, docs/invoicing.md). The action itself re-checks everything under the
order lock, so a sweep racing a live event costs one extra "skipped" run, never a second document.

Each queued job carries a synthetic ``order.status_changed`` envelope whose id is deterministic per
(order, UTC day) (sidecar/jobs/synthetic.py): a sweep every 15 minutes queues an order at most once a
day, and the runner knows not to report the outcome to an outbox row that does not exist.

Scheduling: every worker's maintenance pass calls :func:`maybe_schedule`; a Redis ``SET NX EX`` lets
exactly one of them enqueue the sweep job per ``BPM_RECONCILE_INTERVAL``; the sweep runs as an RQ job
(:func:`run_scheduled`). ``bpm-sidecar reconcile`` runs one in-process and prints the report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from sidecar.engine import queueing, reconcile_crm, rma_deadlines
from sidecar.errors import PermanentError
from sidecar.invoicing import rules
from sidecar.jobs import synthetic
from sidecar.metrics import Metrics
from sidecar.providers.invoicing.base import Intent

if TYPE_CHECKING:
    from sidecar.config import Settings
    from sidecar.store import StoreClient

log = logging.getLogger(__name__)

ACTION = "invoice.issue"
WINDOW = timedelta(hours=24)
# The scheduled sweep looks back a little further than a day so an order modified just before a
# missed (or slow) sweep is still seen by the next one.
OVERLAP = timedelta(hours=1)
# Orders modified this recently are left to their own events, which are most likely still on the way.
SETTLE = timedelta(minutes=5)
# The only statuses in which rules.decide can find a document due.
STATUSES = ("processing", "completed")
INVOICE_KEY = "_bpm_invoice_id"
MISSING = ("queued", "already_queued", "would_queue")

SCHEDULE_KEY = "bpm:reconcile:scheduled"
CLAIM_PREFIX = "bpm:reconcile:event:"
CLAIM_TTL = 2 * 86400  # longer than the UTC day the synthetic event id stands for
SWEEP_JOB = "sidecar.engine.reconcile.run_scheduled"
NOT_DUE_PREFIX = "bpm:reconcile:not_due:"  # order id -> {"fingerprint", "reason"} of its last "not due"
NOT_DUE_TTL = 2 * 86400  # longer than the window: an order leaves the window before its entry expires
SWEEP_TIMEOUT = 1800
SWEEP_RESULT_TTL = 86400


@dataclass(frozen=True)
class Entry:
    order_id: int
    status: str
    result: str  # queued | already_queued | would_queue | skipped | error
    reason: str
    event_id: str | None = None
    action: str = ACTION


@dataclass
class Report:
    since: str
    until: str
    dry_run: bool
    listed: int = 0
    disabled: str | None = None  # why nothing was looked at (invoicing switched off)
    entries: list[Entry] = field(default_factory=list)

    @property
    def missing(self) -> list[Entry]:
        return [e for e in self.entries if e.result in MISSING and e.action == ACTION]

    @property
    def queued(self) -> list[Entry]:
        return [e for e in self.entries if e.result == "queued" and e.action == ACTION]

    @property
    def crm_behind(self) -> list[Entry]:
        """Orders whose CRM record is missing or older than the order (sidecar/engine/reconcile_crm.py)."""
        return [e for e in self.entries if e.result in MISSING and e.action != ACTION]

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "entries"},
            "missing": len(self.missing),
            "queued": len(self.queued),
            "crm_behind": len(self.crm_behind),
            "entries": [asdict(e) for e in self.entries],
        }

    def render(self) -> str:
        """The operator's summary: every order found missing, the skipped ones counted by reason."""
        mode = " (dry run: nothing queued)" if self.dry_run else ""
        lines = [f"Reconciliation of orders modified {self.since} … {self.until}{mode}"]
        if self.disabled:
            lines.append(f"Nothing to do: {self.disabled}.")
            return "\n".join(lines)
        lines.append(
            f"{self.listed} order(s) listed, {len(self.missing)} due a document without one, "
            f"{len(self.queued)} queued."
        )
        if self.crm_behind:
            lines.append(f"{len(self.crm_behind)} order(s) missing or behind in the CRM.")
        for e in self.entries:
            if e.result != "skipped":
                what = "" if e.action == ACTION else f" {e.action}"
                lines.append(f"  order {e.order_id} ({e.status}): {e.result}{what} — {e.reason}")
        skipped = Counter(_reason_kind(e.reason) for e in self.entries if e.result == "skipped")
        for kind, number in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  skipped {number}: {kind}")
        return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    # Group "order 123 is not paid yet (on-hold)" and "order 124 …" under one line of the summary.
    words = reason.split(" ", 2)
    if len(words) == 3 and words[0] == "order" and words[1].isdigit():
        return words[2]
    return reason


def sweep(
    conn: redis.Redis,
    settings: Settings,
    store: StoreClient,
    config: Mapping[str, Any],
    since: datetime,
    dry_run: bool = False,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Report:
    """Find the orders modified in ``[since, until]`` that are due a document and have none; queue them.

    ``until`` defaults to now minus :data:`SETTLE`. Raises the store's errors (TransientError when it is
    down): a sweep that could not list the orders has found nothing, and says so by failing. An order
    the store refuses to show (deleted meanwhile) is reported as an ``error`` entry instead.
    """
    now = now or datetime.now(UTC)
    until = until or now - SETTLE
    report = Report(_iso(since), _iso(until), dry_run)
    invoicing = config.get("invoicing") or {}
    crm_on = reconcile_crm.enabled(config)
    if str(invoicing.get("provider") or "none") == "none":
        if not crm_on:
            report.disabled = "invoicing and the CRM are switched off in the BPM Bridge settings"
            return report
        report.entries += reconcile_crm.sweep(conn, settings, store, config, since, until, now, dry_run)
        return report
    for order in store.iter_orders(STATUSES, since, until):
        report.listed += 1
        try:
            entry = _examine(conn, settings, store, invoicing, order, now, dry_run)
        except PermanentError as exc:  # e.g. deleted since it was listed: the others still count
            entry = Entry(int(order["id"]), str(order.get("status") or ""), "error", exc.reason)
        report.entries.append(entry)
    if crm_on:
        report.entries += reconcile_crm.sweep(conn, settings, store, config, since, until, now, dry_run)
    if not dry_run:
        Metrics(conn).reconcile(len(report.missing), len(report.queued))
    if report.missing:
        log.warning(
            "reconciliation: %s order(s) due a document without one, %s queued",
            len(report.missing),
            len(report.queued),
        )
    return report


def _examine(
    conn: redis.Redis,
    settings: Settings,
    store: StoreClient,
    invoicing: Mapping[str, Any],
    order: Mapping[str, Any],
    now: datetime,
    dry_run: bool,
) -> Entry:
    order_id, status = int(order["id"]), str(order.get("status") or "")

    def skipped(reason: str) -> Entry:
        return Entry(order_id, status, "skipped", reason)

    # The search carries the order's BPM meta, so an invoiced order costs no further request.
    hint = str((order.get("meta") or {}).get(INVOICE_KEY) or "")
    if hint and Intent.decode(hint) is None:
        return skipped(f"order {order_id} already has a document")
    # An order found not due by an earlier sweep and not modified since (under the same settings) is not
    # due now either: a cash-on-delivery order waiting a week to be completed is read once, not 96 a day.
    fingerprint = _fingerprint(order, invoicing, now)
    if not hint and fingerprint and (known := _known_not_due(conn, order_id, fingerprint)) is not None:
        return skipped(known)
    # The rest are read whole (the decision needs the payment method, the payment date, the NIP), with
    # their current meta: the same read invoice.issue makes.
    state = store.read_order(order_id)
    status = str(state.order.get("status") or status)
    current = state.meta.get(INVOICE_KEY, "")
    intent = Intent.decode(current)
    if current and intent is None:
        return skipped(f"order {order_id} already has a document")
    decision = rules.decide(state.order, invoicing)
    if intent is None and not decision.due:
        if fingerprint:
            _remember_not_due(conn, order_id, fingerprint, decision.reason)
        return skipped(decision.reason)
    reason = (
        f"an issue started in {intent.provider} was never finished; resuming it"
        if intent is not None
        else "due a document and has none"
    )
    envelope = synthetic.envelope(settings.store_url, state.order, now)
    if dry_run:
        return Entry(order_id, status, "would_queue", reason, envelope["id"])
    requeued = queueing.requeue_once(
        conn, settings, envelope, ACTION, CLAIM_PREFIX + envelope["id"], CLAIM_TTL
    )
    if requeued:
        log.info("reconciliation queued %s for order %s", ACTION, order_id, extra={"order_id": order_id})
        return Entry(order_id, status, "queued", reason, envelope["id"])
    job_state = _job_state(conn, queueing.job_id(envelope["id"], ACTION))
    return Entry(order_id, status, "already_queued", f"{reason}; today's job is {job_state}", envelope["id"])


def _fingerprint(order: Mapping[str, Any], invoicing: Mapping[str, Any], now: datetime) -> str:
    """The listed order's modification time and the invoicing settings: what a "not due" depends on.

    Empty (nothing remembered) for an order modified in the last :data:`SETTLE`: modification times have
    whole seconds, so a change in the same second as the read could otherwise go unseen.
    """
    modified = str(order.get("date_modified_gmt") or "")
    try:
        at = datetime.fromisoformat(modified.rstrip("Z")).replace(tzinfo=UTC)
    except ValueError:
        return ""
    if at > now - SETTLE:
        return ""
    settings = json.dumps(invoicing, sort_keys=True, default=str).encode()
    return f"{modified}|{hashlib.sha256(settings).hexdigest()[:16]}"


def _known_not_due(conn: redis.Redis, order_id: int, fingerprint: str) -> str | None:
    raw = conn.get(NOT_DUE_PREFIX + str(order_id))
    try:
        known = json.loads(raw) if raw else None
    except ValueError:
        return None
    if isinstance(known, dict) and known.get("fingerprint") == fingerprint:
        return str(known.get("reason") or "not due")
    return None


def _remember_not_due(conn: redis.Redis, order_id: int, fingerprint: str, reason: str) -> None:
    value = json.dumps({"fingerprint": fingerprint, "reason": reason})
    conn.set(NOT_DUE_PREFIX + str(order_id), value, ex=NOT_DUE_TTL)


def _job_state(conn: redis.Redis, jid: str) -> str:
    try:
        status = Job.fetch(jid, connection=conn).get_status(refresh=False)
    except NoSuchJobError:
        return "gone"
    return str(getattr(status, "value", status) or "unknown")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- scheduling ------------------------------------------------------------------------------------


def maybe_schedule(conn: redis.Redis, settings: Settings, now: float | None = None) -> Job | None:
    """Enqueue a sweep job unless one was enqueued (by any worker) in the last interval."""
    interval = int(settings.reconcile_interval)
    if interval <= 0:
        return None
    stamp = int(now if now is not None else time.time())
    if not conn.set(SCHEDULE_KEY, str(stamp), nx=True, ex=interval):
        return None
    return queueing.queue_for(conn, settings).enqueue(
        SWEEP_JOB,
        job_id=f"reconcile-{stamp}",
        job_timeout=SWEEP_TIMEOUT,
        result_ttl=SWEEP_RESULT_TTL,
        failure_ttl=7 * 86400,
        description="reconciliation sweep",
    )


def run_scheduled() -> dict[str, Any]:
    """RQ entry point of the scheduled sweep: the last day (plus overlap) of orders."""
    from rq import get_current_job

    from sidecar import composition
    from sidecar.config import load_settings
    from sidecar.engine.runtime_config import get_config

    settings = load_settings(os.environ)
    job = get_current_job()
    run = composition.services(settings, job.connection if job else None)
    conn, store = run.redis, run.store
    now = datetime.now(UTC)
    report = sweep(conn, settings, store, get_config(conn, settings, store), now - WINDOW - OVERLAP, now=now)
    log.info("reconciliation sweep: %s", report.render().replace("\n", " | "))
    rma_deadlines.refresh(conn, store, now, settings)  # the returns' gauges and stalled labels, same schedule
    return report.to_dict()
