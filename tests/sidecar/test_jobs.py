"""The job framework end to end in one process: RQ SimpleWorker + runner + the WooCommerce simulator.

Retries are asserted on the scheduled time RQ recorded, then released at once (no sleeping through
the schedule); everything else is the real code path, real Redis and real HTTP to the simulator.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest
import redis
from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from support import Woo
from support.actions import effects_key

from sidecar.config import Settings
from sidecar.engine import dead_letters, queueing
from sidecar.jobs import registry
from sidecar.jobs.base import JobContext, MetaWrite, Outcome
from sidecar.metrics import render


def make_event(order_id: int | None, type_: str = "order.paid", **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "occurred_at": "2026-11-22T12:00:00Z",
        "store": "https://shop.example",
        "data": {"order_id": order_id, **data} if order_id is not None else data,
    }


def deliver(
    conn: redis.Redis, settings: Settings, woo: Woo, event: dict[str, Any], actions: list[str]
) -> None:
    """What the plugin (outbox row) and the intake (enqueue) do for one event."""
    woo.admin.register_event(event["id"], actions)
    queueing.enqueue_actions(conn, settings, event, actions)


def work(conn: redis.Redis, settings: Settings) -> None:
    SimpleWorker([queueing.queue_for(conn, settings)], connection=conn).work(burst=True)


def scheduled(conn: redis.Redis, settings: Settings) -> dict[str, float]:
    reg = ScheduledJobRegistry(queue=queueing.queue_for(conn, settings))
    return {
        jid: float(score)
        for jid, score in conn.zrange(reg.key, 0, -1, withscores=True)
        for jid in [jid.decode()]
    }


def release(conn: redis.Redis, settings: Settings) -> list[str]:
    """Move every scheduled job to the queue now, as the scheduler would once its time came."""
    queue = queueing.queue_for(conn, settings)
    reg = ScheduledJobRegistry(queue=queue)
    ids = reg.get_job_ids()
    for jid in ids:
        reg.remove(jid)
        queue.enqueue_job(Job.fetch(jid, connection=conn))
    return ids


def effects(conn: redis.Redis, order_id: int) -> int:
    return int(conn.get(effects_key(order_id)) or 0)


def notes(woo: Woo, order_id: int) -> list[str]:
    return [n["note"] for n in woo.admin.notes(order_id)]


def test_enqueue_makes_one_job_per_action_with_a_stable_id(redis_conn, sidecar_env) -> None:
    event = make_event(7)
    queueing.enqueue_actions(redis_conn, sidecar_env, event, ["test.effect", "test.flaky"])
    queue = queueing.queue_for(redis_conn, sidecar_env)
    assert queue.job_ids == [f"{event['id']}_test-effect", f"{event['id']}_test-flaky"]
    job = queue.fetch_job(queue.job_ids[0])
    assert job.func_name == queueing.RUNNER and job.args == (event, "test.effect")
    # Exactly max intervals (RQ aligns a shorter list to the right) and an immediate first re-run.
    assert job.retries_left == 3 and job.retry_intervals == [0, 60, 300]
    assert dead_letters.queue_stats(redis_conn, sidecar_env) == {
        "queued": 2,
        "scheduled": 0,
        "started": 0,
        "dead_letters": 0,
    }


def test_requeue_missing_only_requeues_what_redis_lost(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["test.effect"])
    work(redis_conn, sidecar_env)
    assert queueing.requeue_missing(redis_conn, sidecar_env, event, ["test.effect"]) == []
    redis_conn.delete(Job.key_for(queueing.job_id(event["id"], "test.effect")))  # "Redis was wiped"
    assert queueing.requeue_missing(redis_conn, sidecar_env, event, ["test.effect"]) == ["test.effect"]
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1  # the re-run found the work done (state-based)
    assert woo.admin.event(event["id"])["outcomes"]["test.effect"]["status"] == "skipped"


def test_done_outcome_writes_a_note_and_reports(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["test.effect"])
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1
    assert woo.admin.meta(order["id"]) == {"_bpm_crm_id": "crm-1"}
    assert notes(woo, order["id"]) == ["Record crm-1 created (attempt 1)."]
    row = woo.admin.event(event["id"])
    assert row["status"] == "done"
    assert row["outcomes"]["test.effect"]["details"] == {"crm_id": "crm-1"}
    assert row["outcomes"]["test.effect"]["order_id"] == order["id"]
    assert 'bpm_jobs_total{action="test.effect",outcome="done"} 1.0' in render(redis_conn).decode()


def test_transient_failures_follow_the_growing_schedule(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"], fail_times=2)
    jid = queueing.job_id(event["id"], "test.flaky")
    deliver(redis_conn, sidecar_env, woo, event, ["test.flaky"])
    waits = []
    for _ in range(2):
        before = time.time()
        work(redis_conn, sidecar_env)
        at = scheduled(redis_conn, sidecar_env)[jid]
        waits.append(at - before)
        row = woo.admin.event(event["id"])
        assert row["status"] == "sent" and row["outcomes"]["test.flaky"]["status"] == "retrying"
        assert row["outcomes"]["test.flaky"]["next_attempt_at"].endswith("Z")
        release(redis_conn, sidecar_env)
    # BPM_RETRY_SCHEDULE=5,30,120; RQ stores whole seconds, hence the tolerance.
    assert waits == pytest.approx([5, 30], abs=1.5)
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1
    assert woo.admin.event(event["id"])["status"] == "done"
    assert notes(woo, order["id"]) == ["Record crm-1 created (attempt 3)."]


def test_retry_after_longer_than_the_step_is_honoured(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"], fail_times=1, retry_after=600)
    deliver(redis_conn, sidecar_env, woo, event, ["test.flaky"])
    before = time.time()
    work(redis_conn, sidecar_env)
    wait = scheduled(redis_conn, sidecar_env)[queueing.job_id(event["id"], "test.flaky")] - before
    assert wait == pytest.approx(600, abs=1.5)  # max(5 s step, 600 s Retry-After)


def test_an_absurd_retry_after_is_capped_at_a_day(redis_conn, sidecar_env, woo) -> None:
    """A proxy's "Retry-After: 1000000000" must not park the job for decades."""
    order = woo.admin.create_order()
    event = make_event(order["id"], fail_times=1, retry_after=10**9)
    deliver(redis_conn, sidecar_env, woo, event, ["test.flaky"])
    before = time.time()
    work(redis_conn, sidecar_env)
    wait = scheduled(redis_conn, sidecar_env)[queueing.job_id(event["id"], "test.flaky")] - before
    assert wait == pytest.approx(86400, abs=1.5)


def test_exhausted_schedule_dead_letters_with_the_reason_on_the_order(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"], fail_times=99)
    deliver(redis_conn, sidecar_env, woo, event, ["test.flaky"])
    for _ in range(3):
        work(redis_conn, sidecar_env)
        assert release(redis_conn, sidecar_env)
    work(redis_conn, sidecar_env)  # 4th attempt: the 3-step schedule is used up
    assert scheduled(redis_conn, sidecar_env) == {}
    [entry] = dead_letters.entries(redis_conn, sidecar_env)
    assert entry.attempts == 4 and entry.reason.startswith("gave up after 4 attempts")
    assert notes(woo, order["id"]) == [f"BPM Bridge: test.flaky failed — {entry.reason}"]
    assert woo.admin.event(event["id"])["status"] == "failed"
    assert effects(redis_conn, order["id"]) == 0


def test_permanent_error_dead_letters_at_once(redis_conn, sidecar_env, woo, monkeypatch) -> None:
    # Run the failing test action under the real action's name to see the wording a shop admin reads.
    monkeypatch.setenv("BPM_EXTRA_ACTIONS", "invoice.issue=support.actions:permanent")
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["invoice.issue"])
    work(redis_conn, sidecar_env)
    assert notes(woo, order["id"]) == [
        "BPM Bridge: invoice not issued — the buyer's NIP 1234567890 fails the checksum"
    ]
    row = woo.admin.event(event["id"])
    assert row["status"] == "failed"
    assert row["outcomes"]["invoice.issue"]["message"] == "the buyer's NIP 1234567890 fails the checksum"
    [entry] = dead_letters.entries(redis_conn, sidecar_env)
    assert (entry.action, entry.order_id, entry.attempts) == ("invoice.issue", order["id"], 1)
    assert dead_letters.queue_stats(redis_conn, sidecar_env)["dead_letters"] == 1
    assert scheduled(redis_conn, sidecar_env) == {}


def test_conflict_reruns_the_action_once(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["test.conflict"])
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1
    assert woo.admin.event(event["id"])["outcomes"]["test.conflict"]["status"] == "done"
    assert scheduled(redis_conn, sidecar_env) == {}


def test_follow_up_queues_the_next_action_for_the_same_event(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"], follow_delay=90)
    deliver(redis_conn, sidecar_env, woo, event, ["test.follow"])
    before = time.time()
    work(redis_conn, sidecar_env)
    follow_id = queueing.job_id(event["id"], "test.effect")
    assert scheduled(redis_conn, sidecar_env)[follow_id] - before == pytest.approx(90, abs=1.5)
    release(redis_conn, sidecar_env)
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1
    outcomes = woo.admin.event(event["id"])["outcomes"]
    assert outcomes["test.follow"]["status"] == outcomes["test.effect"]["status"] == "done"


def effect_with_write(ctx: JobContext) -> Outcome:
    """Like support.actions.effect, but its meta write travels with the outcome (``Outcome.write``)."""
    order_id = ctx.order_id
    assert order_id is not None
    if ctx.store.read_order(order_id).meta.get("_bpm_crm_id"):
        return Outcome("skipped", f"order {order_id} already has its record")
    ctx.ensure_lock()
    count = redis.Redis.from_url(os.environ["BPM_REDIS_URL"]).incr(effects_key(order_id))
    write = MetaWrite({"_bpm_crm_id": f"crm-{count}"}, {"_bpm_crm_id": ""})
    return Outcome("done", f"Record crm-{count} created.", {"crm_id": f"crm-{count}"}, write=write)


@pytest.fixture
def with_write(sidecar_env: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(
        "BPM_EXTRA_ACTIONS", f"{os.environ['BPM_EXTRA_ACTIONS']},test.write={__name__}:effect_with_write"
    )
    return "test.write"


def test_meta_note_and_outcome_go_back_in_one_request(redis_conn, sidecar_env, woo, with_write) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, [with_write])
    before = len(woo.admin.requests())
    work(redis_conn, sidecar_env)
    made = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in woo.admin.requests()[before:]]
    assert made[-2:] == [("GET", str(order["id"])), ("POST", "apply")]  # after the configuration read
    assert woo.admin.meta(order["id"])["_bpm_crm_id"] == "crm-1"
    assert notes(woo, order["id"]) == ["Record crm-1 created."]
    assert woo.admin.event(event["id"])["status"] == "done"


def test_store_down_while_reporting_retries_the_report_not_the_side_effect(
    redis_conn, sidecar_env, woo, with_write
) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, [with_write])
    woo.admin.fault(503, count=1, path=f"/wp-json/bpm-bridge/v1/orders/{order['id']}/apply")
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1
    assert woo.admin.event(event["id"])["outcomes"] == {}  # the write-back bounced
    assert woo.admin.meta(order["id"]).get("_bpm_crm_id", "") == ""
    assert len(scheduled(redis_conn, sidecar_env)) == 1
    release(redis_conn, sidecar_env)
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1  # not done again
    assert len(notes(woo, order["id"])) == 1  # the note is not written twice either
    assert woo.admin.meta(order["id"])["_bpm_crm_id"] == "crm-1"
    assert woo.admin.event(event["id"])["status"] == "done"


def test_store_down_before_the_action_is_a_transient_failure(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["test.effect"])
    woo.admin.fault(503, count=1, path="/wp-json/bpm-bridge/v1/config", retry_after=45)
    before = time.time()
    work(redis_conn, sidecar_env)
    [when] = scheduled(redis_conn, sidecar_env).values()
    assert when - before == pytest.approx(45, abs=1.5)
    assert (
        woo.admin.event(event["id"])["outcomes"]["test.effect"]["message"]
        == "the store answered HTTP 503 to the sidecar configuration"
    )


def test_unknown_action_is_permanent(redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["test.nonexistent"])
    work(redis_conn, sidecar_env)
    [entry] = dead_letters.entries(redis_conn, sidecar_env)
    assert "no action named 'test.nonexistent'" in entry.reason


def test_routing_table_follows_the_contract_and_registration() -> None:
    assert set(registry.EVENT_ACTIONS) >= {"order.paid", "order.refunded", "ping", "config.updated"}
    assert registry.EVENT_ACTIONS["order.paid"] == ("invoice.issue", "crm.sync_order")
    for event_type in registry.EVENT_ACTIONS:
        assert set(registry.actions_for(event_type, {"to": "completed"})) <= set(registry.ACTIONS)
    assert registry.actions_for("ping", {}) == () and registry.actions_for("nope", {}) == ()
    with pytest.raises(ValueError, match="BPM_EXTRA_ACTIONS"):
        registry.extra_actions({"BPM_EXTRA_ACTIONS": "broken"})
    env = {"BPM_EXTRA_ACTIONS": "a.b=m:f, c.d=n:g@order.created|ping"}
    assert registry.extra_actions(env) == {"a.b": "m:f", "c.d": "n:g"}
    assert registry.actions_for("ping", {}, env) == ("c.d",)
    assert registry.actions_for("order.paid", {}, env) == tuple(
        a for a in ("invoice.issue", "crm.sync_order") if a in registry.ACTIONS
    )


def test_one_paid_order_queues_one_invoicing_job() -> None:
    """order.paid issues; order.status_changed issues only on the way to completed (contract conditions)."""
    paid = registry.actions_for("order.paid", {"order_id": 1, "to": "processing"})
    assert paid == ("invoice.issue", "crm.sync_order")  # the CRM follows every order event
    paid_transition = {"order_id": 1, "from": "pending", "to": "processing"}
    assert "invoice.issue" not in registry.actions_for("order.status_changed", paid_transition)
    completed = {"order_id": 1, "from": "processing", "to": "completed"}
    assert registry.actions_for("order.status_changed", completed).count("invoice.issue") == 1


def test_an_outcome_the_store_refuses_for_good_is_not_retried(redis_conn, sidecar_env, woo) -> None:
    """No outbox row for the event (404): the note is still written, the job ends, nothing loops."""
    order = woo.admin.create_order()
    event = make_event(order["id"])
    queueing.enqueue_actions(redis_conn, sidecar_env, event, ["test.effect"])  # no register_event
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1
    assert notes(woo, order["id"]) == ["Record crm-1 created (attempt 1)."]
    assert scheduled(redis_conn, sidecar_env) == {}
    job = Job.fetch(queueing.job_id(event["id"], "test.effect"), connection=redis_conn)
    assert job.get_status() == "finished" and job.meta["pending"]["applied"] is True
