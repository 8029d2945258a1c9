"""The shop admin's "Retry": an event re-delivered with a new ``redelivery`` counter re-runs what failed.

The plugin counts the Retry presses of an outbox row and sends the counter as the envelope's
``redelivery`` (docs/contract.md §2). The intake sees the event id again (a duplicate) and hands it here:

- a counter not higher than the highest one recorded for the event is a plain duplicate;
- otherwise every action of the event whose job did not finish with a resolved outcome (done/skipped) is
  queued again as a fresh run: a dead letter (finished ``failed`` by the runner, or left in RQ's failed
  registry), a stopped/cancelled job, a job that only waits to report an old failure, or a job that is
  gone. Queued, scheduled and started runs are left alone: pushing the id again would run it twice.

Exactly once per counter, without a compensating write when Redis fails half-way (that is when writes
fail): a short claim keeps concurrent copies out; every job queued here carries the counter in its meta,
so a second attempt after a failure skips what the first one already queued; the counter is recorded
last. Only RQ's public API is used (Job.fetch, get_status, return_value, meta, delete, enqueue,
FailedJobRegistry.remove).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from sidecar import contract
from sidecar.engine import dead_letters, queueing

if TYPE_CHECKING:
    from sidecar.config import Settings

SEEN_KEY = "bpm:event:{}:redelivery"  # the highest counter handled for an event id
CLAIM_KEY = "bpm:event:{}:redelivery:{}"  # SET NX: one request handles a counter at a time
CLAIM_TTL = 30  # seconds; a request that died half-way frees the counter for the plugin's next try
META = "redelivery"

# Record a counter only when it is higher than the one recorded (two counters may race).
_RECORD_MAX = """
local seen = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if n > seen then seen = n end
redis.call('SET', KEYS[1], seen, 'EX', ARGV[2])
return seen
"""

_PENDING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


class RedeliveryBusy(RuntimeError):
    """Another request is handling the same counter right now; the plugin should deliver again later."""


def seen(conn: redis.Redis, event_id: str) -> int:
    raw = conn.get(SEEN_KEY.format(event_id))
    return int(raw) if raw is not None else 0


def record(conn: redis.Redis, event_id: str, counter: int, ttl: int) -> None:
    """Remember ``counter`` as handled (or a higher one already recorded). Works inside a MULTI too."""
    conn.eval(_RECORD_MAX, 1, SEEN_KEY.format(event_id), str(counter), str(ttl))


def redeliver(
    conn: redis.Redis,
    settings: Settings,
    envelope: Mapping[str, Any],
    actions: Iterable[str],
    counter: int,
) -> list[str] | None:
    """Re-queue the unfinished actions for a new Retry counter; None when the counter is not new.

    Raises :class:`RedeliveryBusy` while another request handles the same counter, and Redis errors as
    they come (the counter is then not recorded, so the plugin's next delivery finishes the work).
    """
    event_id = str(envelope["id"])
    if counter <= seen(conn, event_id):
        return None
    if not conn.set(CLAIM_KEY.format(event_id, counter), "1", nx=True, ex=CLAIM_TTL):
        raise RedeliveryBusy(f"Retry {counter} of event {event_id} is being handled by another request")
    requeued = [a for a in actions if _requeue_if_unfinished(conn, settings, envelope, a, counter)]
    record(conn, event_id, counter, settings.dedupe_ttl)
    return requeued


def _requeue_if_unfinished(
    conn: redis.Redis, settings: Settings, envelope: Mapping[str, Any], action: str, counter: int
) -> bool:
    jid = queueing.job_id(str(envelope["id"]), action)
    try:
        job: Job | None = Job.fetch(jid, connection=conn)
    except NoSuchJobError:
        job = None
    if job is not None and not _needs_rerun(job, counter):
        return False
    if job is not None:
        # enqueue_one keeps a pending job instead of replacing it; one that only waits to report an
        # old failure must go, or the Retry would be swallowed by that report.
        job.delete(remove_from_queue=True)
    queueing.enqueue_one(
        conn, settings, envelope, action, meta={META: counter, "redelivered_at": time.time()}
    )
    queueing.failed_registry(conn, settings).remove(jid)
    conn.hdel(dead_letters.KEY, jid)
    return True


def _needs_rerun(job: Job, counter: int) -> bool:
    if int(job.meta.get(META, 0)) >= counter:
        return False  # queued for this counter (or a later one) already
    status = job.get_status()
    if status == JobStatus.STARTED:
        return False
    if status in _PENDING:
        return _reports_a_failure(job)
    if status == JobStatus.FINISHED:
        result = job.return_value()
        return not (isinstance(result, dict) and result.get("status") in contract.load()["resolved_outcomes"])
    return True  # failed (RQ gave up), stopped, cancelled, or a status this module does not know


def _reports_a_failure(job: Job) -> bool:
    """A pending run that already failed for good and only retries telling the store (runner._deliver)."""
    pending = job.meta.get("pending")
    return isinstance(pending, dict) and pending.get("status") == "failed"
