"""Dead letters: actions that will not succeed without a human, with the reason a human reads.

The runner writes an entry when an action fails permanently or exhausts its retry schedule. Jobs that
RQ itself gave up on (a worker died under them more often than the abandon-retries allow) sit in RQ's
FailedJobRegistry instead; :func:`entries` shows both, so ``bpm-sidecar dlq list`` is the one place
to look. Replaying queues the action again with a fresh attempt counter and removes the entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from sidecar.engine import queueing

if TYPE_CHECKING:
    from sidecar.config import Settings

KEY = "bpm:dlq"  # hash: entry id (= job id) -> JSON entry
# Jobs queued before the engine moved to sidecar/engine/ name the old runner and fail to import; they are
# listed here like any other, and a replay queues them under the current one.
RUNNERS = (queueing.RUNNER, "sidecar.jobs.runner.run_action")


class DeadLetterBusy(RuntimeError):
    """The entry's job is running right now (finishing its failure report): replay it once it stopped."""


@dataclass(frozen=True)
class DeadLetter:
    id: str
    event: dict[str, Any]
    action: str
    order_id: int | None
    reason: str
    failed_at: float
    attempts: int
    source: str = "runner"  # runner | rq (left in RQ's failed registry, e.g. abandoned by dead workers)

    @property
    def failed_at_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.failed_at))


def add(
    conn: redis.Redis, event: dict[str, Any], action: str, reason: str, attempts: int, order_id: int | None
) -> DeadLetter:
    entry = DeadLetter(
        id=queueing.job_id(str(event["id"]), action),
        event=dict(event),
        action=action,
        order_id=order_id,
        reason=reason,
        failed_at=time.time(),
        attempts=attempts,
    )
    conn.hset(KEY, entry.id, json.dumps(asdict(entry)))
    return entry


def entries(conn: redis.Redis, settings: Settings) -> list[DeadLetter]:
    """Every dead letter, oldest first."""
    found = {_text(k): DeadLetter(**json.loads(v)) for k, v in conn.hgetall(KEY).items()}
    registry = queueing.failed_registry(conn, settings)
    for jid in registry.get_job_ids():
        if jid in found:
            continue
        try:
            job = Job.fetch(jid, connection=conn)
        except NoSuchJobError:
            continue
        if job.func_name not in RUNNERS or len(job.args) != 2:
            continue
        event, action = job.args
        found[jid] = DeadLetter(
            id=jid,
            event=event,
            action=action,
            order_id=(event.get("data") or {}).get("order_id"),
            reason=_rq_reason(job),
            failed_at=(job.ended_at.timestamp() if job.ended_at else time.time()),
            attempts=int(job.meta.get("attempt", 0)),
            source="rq",
        )
    return sorted(found.values(), key=lambda e: e.failed_at)


def count(conn: redis.Redis, settings: Settings) -> int:
    return len(entries(conn, settings))


def queue_stats(conn: redis.Redis, settings: Settings) -> dict[str, int]:
    """The queue's numbers for /metrics, dead letters included (here, so queueing needs no dead letters)."""
    return {**queueing.queue_counts(conn, settings), "dead_letters": count(conn, settings)}


def get(conn: redis.Redis, settings: Settings, entry_id: str) -> DeadLetter | None:
    return next((e for e in entries(conn, settings) if e.id == entry_id), None)


def replay(conn: redis.Redis, settings: Settings, entry_id: str) -> DeadLetter:
    """Queue the action again (fresh attempt counter), then drop the entry. KeyError if unknown."""
    entry = get(conn, settings, entry_id)
    if entry is None:
        raise KeyError(entry_id)
    return _replay(conn, settings, entry)


def _replay(conn: redis.Redis, settings: Settings, entry: DeadLetter) -> DeadLetter:
    _drop_waiting_report(conn, entry.id)
    # Queue first, remove second: a crash in between leaves a stale entry, never a lost action.
    # enqueue_one replaces the old run of this job id.
    queueing.enqueue_one(conn, settings, entry.event, entry.action, meta={"replayed_at": time.time()})
    queueing.failed_registry(conn, settings).remove(entry.id)
    conn.hdel(KEY, entry.id)
    return entry


def _drop_waiting_report(conn: redis.Redis, entry_id: str) -> None:
    """Delete the entry's job if it only waits to retry reporting the failure (runner._deliver).

    The runner dead-letters before it notes and reports, so a store outage leaves the job scheduled
    with its failure still to tell. enqueue_one keeps a pending job instead of queueing a second one,
    so the replay would be swallowed: the old job would only report the old failure. The replay
    supersedes that report. A job that is running right now cannot be replaced safely.
    """
    try:
        job = Job.fetch(entry_id, connection=conn)
    except NoSuchJobError:
        return
    status = job.get_status(refresh=False)
    if status == JobStatus.STARTED:
        raise DeadLetterBusy(
            f"dead letter {entry_id} is still running (reporting its failure); replay it in a minute"
        )
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        job.delete(remove_from_queue=True)


def replay_all(conn: redis.Redis, settings: Settings) -> list[DeadLetter]:
    """Replay every entry; one whose job is running right now stays in the list for a later replay."""
    replayed = []
    for entry in entries(conn, settings):  # listed once: each replay() would list them all again
        try:
            replayed.append(_replay(conn, settings, entry))
        except DeadLetterBusy:
            continue
    return replayed


def _rq_reason(job: Job) -> str:
    # RQ records every failure as a Result; a job without one was never seen failing by a worker.
    result = job.latest_result()
    text = (result.exc_string or "" if result is not None else "").strip()
    if "AbandonedJobError" in text or not text:
        return "the worker running it died repeatedly (AbandonedJobError); check worker logs and memory"
    last = text.splitlines()[-1]
    return f"unexpected error: {last[:300]}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
