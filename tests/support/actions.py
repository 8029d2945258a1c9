"""Test actions for the job framework, registered through ``BPM_EXTRA_ACTIONS`` (see EXTRA_ACTIONS).

They behave like real actions: state-based against the store (``_bpm_crm_id`` is the "already done"
marker, written with the ``expect`` compare-and-set), ``ensure_lock()`` right before the side effect,
and every side effect counted in Redis under ``test:effects:{order_id}`` so a test can prove
"exactly once". Knobs: ``sleep`` (seconds before the side effect), ``fail_times`` and ``retry_after``
(flaky), ``follow_delay`` (follow). They come from the event's ``data`` when the test enqueues directly,
or from the Redis hash ``knobs_key(order_id)`` when the event goes through the real intake, which
drops unknown ``data`` keys.
"""

from __future__ import annotations

import os
import time

import redis

from sidecar.errors import ConflictError, PermanentError, TransientError
from sidecar.jobs.base import JobContext, Outcome

# Named after however this module was imported (``support.actions`` under pytest, which puts tests/ on
# sys.path), so in-process runs and worker subprocesses (PYTHONPATH from support.processes) agree.
EXTRA_ACTIONS = ",".join(
    f"{name}={__name__}:{func}"
    for name, func in (
        ("test.effect", "effect"),
        ("test.flaky", "flaky"),
        ("test.permanent", "permanent"),
        ("test.conflict", "conflict_once"),
        ("test.follow", "follow"),
        ("test.effect_quiet", "effect_quiet"),
    )
)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["BPM_REDIS_URL"])


def effects_key(order_id: int) -> str:
    return f"test:effects:{order_id}"


def knobs_key(order_id: int | None) -> str:
    return f"test:knobs:{order_id}"


def knob(ctx: JobContext, name: str, default: float) -> float:
    if name in ctx.data:
        return float(ctx.data[name])
    value = _redis().hget(knobs_key(ctx.order_id), name)
    return float(value) if value is not None else default


def effect(ctx: JobContext) -> Outcome:
    order_id = ctx.order_id
    assert order_id is not None
    ctx.store.get_order(order_id)  # read the source of truth like a real action
    if ctx.store.get_meta(order_id).get("_bpm_crm_id"):
        return Outcome("skipped", f"order {order_id} already has its record")
    time.sleep(knob(ctx, "sleep", 0))
    ctx.ensure_lock()
    conn = _redis()
    count = conn.incr(effects_key(order_id))
    conn.rpush(f"{effects_key(order_id)}:tokens", ctx.fencing_token)
    ctx.store.set_meta(order_id, {"_bpm_crm_id": f"crm-{count}"}, expect={"_bpm_crm_id": ""})
    return Outcome("done", f"Record crm-{count} created (attempt {ctx.attempt}).", {"crm_id": f"crm-{count}"})


def effect_quiet(ctx: JobContext) -> Outcome:
    outcome = effect(ctx)
    return Outcome(outcome.status, outcome.message, outcome.details, note=False)


def flaky(ctx: JobContext) -> Outcome:
    if ctx.attempt <= knob(ctx, "fail_times", 1):
        wait = knob(ctx, "retry_after", 0) or None
        raise TransientError(f"provider busy (attempt {ctx.attempt})", wait)
    return effect(ctx)


def fixed_key(order_id: int | None) -> str:
    return f"test:fixed:{order_id}"


def permanent(ctx: JobContext) -> Outcome:
    """Fails for good until a "human" fixes the cause (sets ``fixed_key``); then behaves like ``effect``."""
    if not _redis().exists(fixed_key(ctx.order_id)):
        raise PermanentError("the buyer's NIP 1234567890 fails the checksum")
    return effect(ctx)


def conflict_once(ctx: JobContext) -> Outcome:
    conn = _redis()
    if conn.incr(f"test:conflicts:{ctx.event['id']}") == 1:
        raise ConflictError("meta changed meanwhile", {"_bpm_crm_id": "x"})
    return effect(ctx)


def follow(ctx: JobContext) -> Outcome:
    delay = knob(ctx, "follow_delay", 0)
    return Outcome("done", "first step done", follow_up=("test.effect", delay))
