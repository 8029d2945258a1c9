"""Putting actions on the RQ queue, and the numbers about it.

One RQ job per (event, action). RQ refuses ``:`` and ``.`` in job ids, so the id is
``{event_id}_{action with '.' → '-'}`` (see :func:`job_id`); it is stable, so a re-delivered event
finds its jobs again (:func:`requeue_missing`).

Retries of a failing action are the runner's business (it returns ``rq.Retry`` with its own growing
delay, honouring ``Retry-After``). The ``Retry`` given here at enqueue time only covers a run that
never finished: a worker killed mid-job (``AbandonedJobError``) or a hard job timeout. RQ reads an
enqueue-time interval list right-aligned (reliability.md §1.1), so exactly ``max`` intervals are given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

if TYPE_CHECKING:
    from sidecar.config import Settings

RUNNER = "sidecar.engine.runner.run_action"
JOB_TIMEOUT = 600  # a provider's async create + polling stays well under this; the lock is renewed meanwhile
# One value per retry (RQ aligns the list to the right); the first re-run of an abandoned job is
# immediate, because detecting the abandonment already took over a minute.
ABANDON_RETRY_INTERVALS = [0, 60, 300]
RESULT_TTL = 7 * 86400  # keep finished jobs so a re-delivery within a week is recognised as done
# A dead letter is kept for a year for a Retry; an erasure's names the person (the e-mail's hash and the
# request): 30 days, as long as WordPress shows the request's outcome.
FAILURE_TTL = {"privacy.erase": 30 * 86400}


def job_id(event_id: str, action: str) -> str:
    return f"{event_id}_{action.replace('.', '-')}"


def queue_for(conn: redis.Redis, settings: Settings) -> Queue:
    return Queue(settings.queue, connection=conn)


def _job_kwargs(
    envelope: Mapping[str, Any], action: str, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "args": (dict(envelope), action),
        "job_id": job_id(str(envelope["id"]), action),
        "timeout": JOB_TIMEOUT,
        "result_ttl": RESULT_TTL,
        "failure_ttl": FAILURE_TTL.get(action, 365 * 86400),
        "retry": Retry(max=len(ABANDON_RETRY_INTERVALS), interval=list(ABANDON_RETRY_INTERVALS)),
        "meta": {"event_id": str(envelope["id"]), "action": action, **(meta or {})},
        "description": f"{action} for event {envelope['id']} ({envelope.get('type')})",
    }


def enqueue_actions(
    conn: redis.Redis,
    settings: Settings,
    envelope: Mapping[str, Any],
    actions: Iterable[str],
    pipeline: redis.client.Pipeline | None = None,
) -> None:
    """Queue one job per action in a single MULTI/EXEC: all of them, or (on a Redis error) none.

    With ``pipeline`` (already in MULTI) the jobs join the caller's transaction, which executes them:
    the intake claims the event id in the same EXEC (sidecar/api/events.py).
    """
    actions = list(actions)
    if not actions:
        return
    queue = queue_for(conn, settings)
    data = [Queue.prepare_data(RUNNER, **_job_kwargs(envelope, action)) for action in actions]
    if pipeline is not None:
        queue.enqueue_many(data, pipeline=pipeline)
        return
    with conn.pipeline() as pipe:
        queue.enqueue_many(data, pipeline=pipe)
        pipe.execute()


def enqueue_one(
    conn: redis.Redis,
    settings: Settings,
    envelope: Mapping[str, Any],
    action: str,
    delay: float = 0,
    meta: dict[str, Any] | None = None,
) -> Job:
    """Queue (or schedule) one action: follow-ups and dead-letter replays.

    A job id is reused, so an old finished/failed run of the same id is deleted first; a run that is
    still pending (queued, scheduled, started) is left alone and returned instead: pushing the id a
    second time would make RQ run it twice (reliability.md §1.5).
    """
    queue = queue_for(conn, settings)
    kwargs = _job_kwargs(envelope, action, meta)
    args = kwargs.pop("args")
    existing = _fetch(conn, kwargs["job_id"])
    if existing is not None:
        if existing.get_status(refresh=False) in _PENDING:
            return existing
        existing.delete(remove_from_queue=True)
    if delay > 0:
        return queue.enqueue_in(timedelta(seconds=delay), RUNNER, *args, **_enqueue_names(kwargs))
    return queue.enqueue(RUNNER, *args, **_enqueue_names(kwargs))


_PENDING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}


def _fetch(conn: redis.Redis, jid: str) -> Job | None:
    try:
        return Job.fetch(jid, connection=conn)
    except NoSuchJobError:
        return None


def _enqueue_names(kwargs: dict[str, Any]) -> dict[str, Any]:
    # prepare_data calls it ``timeout``; enqueue()/enqueue_in() call it ``job_timeout``.
    renamed = dict(kwargs)
    renamed["job_timeout"] = renamed.pop("timeout")
    return renamed


def requeue_missing(
    conn: redis.Redis, settings: Settings, envelope: Mapping[str, Any], actions: Iterable[str]
) -> list[str]:
    """Re-queue only the actions whose job no longer exists in Redis (Redis was wiped); return them."""
    event_id = str(envelope["id"])
    missing = [a for a in actions if not conn.exists(Job.key_for(job_id(event_id, a)))]
    enqueue_actions(conn, settings, envelope, missing)
    return missing


def requeue_once(
    conn: redis.Redis, settings: Settings, envelope: Mapping[str, Any], action: str, claim: str, ttl: int
) -> bool:
    """Queue ``action`` for a sweep's synthetic event unless ``claim`` was taken before or its job exists.

    The claim makes "once per order and day" hold even for two sweeps at the same moment (the CLI and the
    schedule): RQ would push a repeated job id twice; :func:`requeue_missing` still checks the job itself.
    """
    claimed = conn.set(claim, "1", nx=True, ex=ttl)
    try:
        return bool(claimed) and bool(requeue_missing(conn, settings, envelope, [action]))
    except redis.RedisError:
        # Unclaimed again, or the day's claim would make the next sweeps report a job that never existed.
        with contextlib.suppress(redis.RedisError):
            conn.delete(claim)
        raise


def queue_counts(conn: redis.Redis, settings: Settings) -> dict[str, int]:
    """Jobs waiting, scheduled and running; :func:`sidecar.engine.dead_letters.queue_stats` adds the rest."""
    queue = queue_for(conn, settings)
    return {
        "queued": queue.count,
        "scheduled": ScheduledJobRegistry(queue=queue).count,
        "started": StartedJobRegistry(queue=queue).count,
    }


def failed_registry(conn: redis.Redis, settings: Settings) -> FailedJobRegistry:
    return FailedJobRegistry(queue=queue_for(conn, settings))
