"""Runs one action for one event: the RQ job function ``run_action(envelope, action)``.

What the framework guarantees around an action (sidecar/jobs/base.py):
- it runs under the per-(order, lock group) lock (sidecar/engine/locks.py) with a fencing token, and so
  does its write-back;
- ``Outcome`` done/skipped → one ``POST orders/{id}/apply`` carrying the action's final meta write
  (``Outcome.write``), the order note (when asked) and the outcome (sidecar/engine/write_back.py);
- ``TransientError`` (incl. ``LockLost``) → retried after the next step of ``settings.retry_schedule``
  (never sooner than the error's ``retry_after``, up to a day), reported as ``retrying``; when the
  schedule is used up (≥ 72 h) → dead letter;
- ``PermanentError`` → dead letter at once, reported as ``failed``, and the reason written on the order;
- ``ConflictError`` → the state changed under us: the action runs once more at once;
- ``Outcome.follow_up`` → the named action is queued for the same event after the delay.

Reporting is separate from doing: the finished outcome is kept in the job's meta *before* the store is
told, so when the store is down only the reporting is retried, never the side effect.

Retries are scheduled by returning ``rq.Retry`` (RQ's "job-returned retry") with the delay computed
here, so the job keeps its id while it waits and a re-delivered event finds it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
from rq import Retry, get_current_job

from sidecar import composition
from sidecar.config import load_settings
from sidecar.engine import dead_letters, queueing
from sidecar.engine.locks import OrderLock, order_scope
from sidecar.engine.runtime_config import get_config
from sidecar.engine.write_back import apply_write_back
from sidecar.errors import BridgeError, ConflictError, LockLost, PermanentError, TransientError
from sidecar.jobs import registry, synthetic
from sidecar.jobs.base import JobContext, Outcome
from sidecar.logs import scrub

if TYPE_CHECKING:
    from rq.job import Job

    from sidecar.config import Settings


log = logging.getLogger(__name__)

# Returned-Retry bookkeeping in RQ counts every retry; our own schedule decides when to stop.
_UNLIMITED = 10**9
# Retry-After is honoured up to a day (daily API quotas reset within one); beyond that it is a broken
# header, and honouring it would park the job for good.
MAX_RETRY_AFTER = 86400

# What a failed action did not do, for the order note a shop admin reads.
FAILURE_WORDING: dict[str, str] = {
    "invoice.issue": "invoice not issued",
    "invoice.correct": "invoice correction not issued",
    "invoice.ksef": "invoice not confirmed in KSeF",
    "rma.process": "return not processed",
    "rma.track": "return parcel not followed",
    "crm.sync_order": "order not sent to the CRM",
    "crm.sync_contact": "customer's consent not sent to the CRM",
    "privacy.erase": "personal data not erased in the CRM",
}


def run_action(envelope: dict[str, Any], action: str) -> dict[str, Any] | Retry:
    """RQ entry point. Settings come from the worker's environment, like every other process."""
    settings = load_settings(os.environ)
    job = get_current_job()
    conn = job.connection if job is not None else composition.worker_redis(settings)
    return Runner(conn, settings, job).run(envelope, action)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Runner:
    def __init__(self, conn: redis.Redis, settings: Settings, job: Job | None) -> None:
        services = composition.services(settings, conn)
        self.conn = conn
        self.settings = settings
        self.job = job
        self.meta: dict[str, Any] = job.meta if job is not None else {}
        self.metrics = services.metrics
        self.audit = services.audit
        self.store = services.store

    # -- bookkeeping ------------------------------------------------------------------------------
    def _save(self) -> None:
        if self.job is not None:
            self.job.save_meta()

    def _log(self, level: int, msg: str, *args: Any) -> None:
        scrubbed = tuple(scrub(a) if isinstance(a, str) else a for a in args)
        log.log(level, msg, *scrubbed, extra=self.log_extra)

    # -- the run ----------------------------------------------------------------------------------
    def run(self, envelope: Mapping[str, Any], action: str) -> dict[str, Any] | Retry:
        self.event = dict(envelope)
        self.action = action
        self.order_id = _order_id(self.event)
        self.log_extra = {"event_id": self.event["id"], "order_id": self.order_id, "action": action}
        # A reconciliation event has no outbox row: its outcome is not reported (only noted).
        self.synthetic = synthetic.is_synthetic(self.event)
        fresh = self.meta.get("pending") is None
        if fresh:
            self.meta.setdefault("first_run_at", time.time())
            self.meta["attempt"] = int(self.meta.get("attempt", 0)) + 1
            self._save()
        started = time.monotonic()
        # The lock covers the action *and* its write-back: the final meta write travels with the outcome,
        # and a second run must not read the order between the two.
        scope = order_scope(self.order_id, registry.lock_group(action), f"event:{self.event['id']}")
        lock = OrderLock(self.conn, scope, ttl=self.settings.lock_ttl)
        try:
            lock.acquire()
        except LockLost as exc:
            if fresh:
                return self._transient(exc, self.meta["attempt"], started)
            return self._retry_delivery(self.meta["pending"], exc)
        try:
            if fresh:
                result = self._perform(self.meta["attempt"], lock, started)
                if isinstance(result, Retry):
                    return result
                self.meta["pending"] = result
                self._save()
            else:
                self._log(logging.INFO, "outcome already known; retrying its report only")
            return self._deliver(self.meta["pending"], lock)
        finally:
            lock.release_quietly()

    def _perform(self, attempt: int, lock: OrderLock, started: float) -> dict[str, Any] | Retry:
        try:
            outcome = self._run_action(attempt, lock)
        except TransientError as exc:
            return self._transient(exc, attempt, started)
        except PermanentError as exc:
            return self._failed(exc.reason, attempt, started)
        except ConflictError as exc:
            # Twice in a row: somebody keeps changing the order; back off like any transient failure.
            return self._transient(TransientError(exc.reason), attempt, started)
        except registry.UnknownAction as exc:
            return self._failed(str(exc), attempt, started)
        except Exception as exc:  # a bug or an unexpected library error: retry, a human will see it
            log.exception("action raised %s", type(exc).__name__, extra=self.log_extra)
            return self._transient(TransientError(f"internal error ({type(exc).__name__})"), attempt, started)
        self.metrics.job(self.action, outcome.status, time.monotonic() - started)
        self._log(logging.INFO, "action %s: %s", outcome.status, outcome.message)
        write = outcome.write
        return {
            "status": outcome.status,
            "message": outcome.message,
            "details": dict(outcome.details),
            "note": outcome.message if outcome.note else None,
            "follow_up": list(outcome.follow_up) if outcome.follow_up else None,
            "write": {"meta": dict(write.meta), "expect": dict(write.expect)} if write else None,
            "report": outcome.report,
        }

    def _run_action(self, attempt: int, lock: OrderLock) -> Outcome:
        func = registry.resolve(self.action)
        config = get_config(self.conn, self.settings, self.store)
        assert lock.token is not None
        ctx = JobContext(
            event=self.event,
            action=self.action,
            store=self.store,
            config=config,
            audit=self.audit,
            ensure_lock=lock.ensure,
            observe=self.metrics.provider_call,
            fencing_token=lock.token,
            attempt=attempt,
            first_run_at=float(self.meta["first_run_at"]),
        )
        try:
            return func(ctx)
        except ConflictError as exc:
            self._log(logging.INFO, "state changed under us (%s); running once more", exc.reason)
            return func(ctx)

    def _transient(self, exc: TransientError, attempt: int, started: float) -> dict[str, Any] | Retry:
        schedule = self.settings.retry_schedule
        if attempt > len(schedule):
            hours = sum(schedule) / 3600
            reason = f"gave up after {attempt} attempts over {hours:.0f} h: {exc.reason}"
            return self._failed(reason, attempt, started)
        delay = _delay(schedule[attempt - 1], exc)
        next_at = iso(time.time() + delay)
        self.metrics.job(self.action, "retrying", time.monotonic() - started)
        self._log(logging.WARNING, "attempt %s failed (%s); next attempt at %s", attempt, exc.reason, next_at)
        try:  # best effort: the retry happens whether or not the store hears about it
            if not self.synthetic:
                self.store.report_outcome(
                    self.event["id"],
                    self.action,
                    "retrying",
                    exc.reason,
                    self.order_id,
                    next_attempt_at=next_at,
                )
        except BridgeError as report_error:
            self._log(logging.WARNING, "could not report 'retrying': %s", report_error.reason)
        self.meta["last_error"] = exc.reason
        self.meta["next_attempt_at"] = next_at
        self._save()
        return Retry(max=_UNLIMITED, interval=delay)

    def _failed(self, reason: str, attempt: int, started: float) -> dict[str, Any]:
        self.metrics.job(self.action, "failed", time.monotonic() - started)
        self._log(logging.ERROR, "action failed permanently: %s", reason)
        what = FAILURE_WORDING.get(self.action, f"{self.action} failed")
        return {
            "status": "failed",
            "message": reason,
            "details": {"attempts": attempt},
            "note": f"BPM Bridge: {what} — {reason}",
            "follow_up": None,
            "write": None,
            "attempts": attempt,
        }

    # -- telling the store ------------------------------------------------------------------------
    def _deliver(self, pending: dict[str, Any], lock: OrderLock) -> dict[str, Any] | Retry:
        """Dead-letter entry, then the write-back (meta + note + outcome), then the follow-up: each once."""
        if pending["status"] == "failed" and not pending.get("dead_lettered"):
            dead_letters.add(
                self.conn, self.event, self.action, pending["message"], pending["attempts"], self.order_id
            )
            pending["dead_lettered"] = True
            self._save()
        if not pending.get("applied"):
            try:
                lock.ensure()  # a run that lost its lock leaves the write-back to the one that took it
                self._write_back(pending)
            except TransientError as exc:
                return self._retry_delivery(pending, exc)
            except PermanentError as exc:
                # The store will never take it (e.g. the order was deleted); the outbox re-sends the
                # event if it still cares, and the action is idempotent.
                self._log(logging.ERROR, "giving up on the write-back: %s", exc.reason)
            pending["applied"] = True
            self._save()
        follow_up = pending.get("follow_up")
        if follow_up and not pending.get("followed"):
            return self._follow(follow_up[0], float(follow_up[1]), pending)
        return {k: pending[k] for k in ("status", "message", "details")}

    def _write_back(self, pending: dict[str, Any]) -> None:
        """One request: the action's final meta, the order note and the outcome (docs/contract.md §3)."""
        outcome = None if self.synthetic or not pending.get("report", True) else self._outcome(pending)
        if self.order_id is None:
            if outcome is not None:
                self.store.report_outcome(**outcome, order_id=None)
            return
        write = pending.get("write") or {}
        note = self._note(pending["note"]) if pending.get("note") else None
        apply_write_back(self.store, self.order_id, write, note, outcome, self._log)

    def _outcome(self, pending: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": self.event["id"],
            "action": self.action,
            "status": pending["status"],
            "message": pending["message"],
            "details": pending["details"],
        }

    def _note(self, text: str) -> str:
        if self.synthetic:
            return f"{text} (Found by the reconciliation sweep: the order's event never arrived.)"
        return text

    def _retry_delivery(self, pending: dict[str, Any], exc: TransientError) -> dict[str, Any] | Retry:
        tries = int(pending.get("report_attempts", 0)) + 1
        pending["report_attempts"] = tries
        self._save()
        schedule = self.settings.retry_schedule
        if tries > len(schedule):
            self._log(logging.ERROR, "gave up reporting the outcome after %s tries: %s", tries, exc.reason)
            return {k: pending[k] for k in ("status", "message", "details")}
        delay = _delay(schedule[tries - 1], exc)
        self._log(logging.WARNING, "reporting failed (%s); trying again in %s s", exc.reason, delay)
        return Retry(max=_UNLIMITED, interval=delay)

    def _follow(self, action: str, delay: float, pending: dict[str, Any]) -> dict[str, Any] | Retry:
        summary = {k: pending[k] for k in ("status", "message", "details")}
        if action == self.action:
            # Following itself (e.g. polling KSeF): the same job runs again later as a fresh attempt.
            self.meta.pop("pending", None)
            self.meta["attempt"] = 0
            self._save()
            self._log(logging.INFO, "following up in %s s", delay)
            return Retry(max=_UNLIMITED, interval=math.ceil(delay))
        queueing.enqueue_one(self.conn, self.settings, self.event, action, delay=delay)
        pending["followed"] = True  # only once it is queued: a crash before re-runs the delivery
        self._save()
        self._log(logging.INFO, "queued follow-up %s in %s s", action, delay)
        return summary


def _delay(step: float, exc: TransientError) -> int:
    """The schedule's step, or longer when the other side asked for it (``Retry-After``)."""
    return math.ceil(max(float(step), min(float(exc.retry_after or 0), MAX_RETRY_AFTER)))


def _order_id(event: Mapping[str, Any]) -> int | None:
    value = (event.get("data") or {}).get("order_id")
    return int(value) if value is not None else None
