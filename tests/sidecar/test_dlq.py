"""Dead letters: listed with a human-readable reason, replayed with a fresh attempt counter."""

from __future__ import annotations

import redis
from rq.job import Job, JobStatus
from support.actions import effects_key, fixed_key
from test_jobs import deliver, make_event, notes, scheduled, work

from sidecar.engine import dead_letters, queueing


def test_replay_requeues_with_a_fresh_attempt_and_removes_the_entry(
    redis_conn: redis.Redis, sidecar_env, woo
) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["test.permanent"])
    work(redis_conn, sidecar_env)
    [entry] = dead_letters.entries(redis_conn, sidecar_env)
    assert entry.id == queueing.job_id(event["id"], "test.permanent")
    assert entry.event == event and entry.reason == "the buyer's NIP 1234567890 fails the checksum"
    assert entry.failed_at_iso.endswith("Z")

    redis_conn.set(fixed_key(order["id"]), 1)  # the shop admin corrected the NIP
    replayed = dead_letters.replay(redis_conn, sidecar_env, entry.id)
    assert replayed.id == entry.id
    assert dead_letters.entries(redis_conn, sidecar_env) == []
    job = Job.fetch(entry.id, connection=redis_conn)
    assert job.get_status() == "queued" and "attempt" not in job.meta
    work(redis_conn, sidecar_env)
    assert int(redis_conn.get(effects_key(order["id"]))) == 1
    assert notes(woo, order["id"])[-1] == "Record crm-1 created (attempt 1)."
    assert woo.admin.event(event["id"])["outcomes"]["test.permanent"]["status"] == "done"


def test_replay_all_and_unknown_ids(redis_conn: redis.Redis, sidecar_env, woo) -> None:
    for _ in range(2):
        order = woo.admin.create_order()
        deliver(redis_conn, sidecar_env, woo, make_event(order["id"]), ["test.permanent"])
    work(redis_conn, sidecar_env)
    assert len(dead_letters.entries(redis_conn, sidecar_env)) == 2
    try:
        dead_letters.replay(redis_conn, sidecar_env, "no-such-id")
        raise AssertionError("expected KeyError")
    except KeyError:
        pass
    assert len(dead_letters.replay_all(redis_conn, sidecar_env)) == 2
    assert dead_letters.count(redis_conn, sidecar_env) == 0
    assert queueing.queue_for(redis_conn, sidecar_env).count == 2
    work(redis_conn, sidecar_env)  # still broken: back in the dead-letter list, nothing lost
    assert dead_letters.count(redis_conn, sidecar_env) == 2


def test_jobs_rq_gave_up_on_are_listed_too(redis_conn: redis.Redis, sidecar_env) -> None:
    """A job whose workers kept dying sits in RQ's failed registry; the list shows it with a reason."""
    event = make_event(5)
    queueing.enqueue_actions(redis_conn, sidecar_env, event, ["test.effect"])
    queue = queueing.queue_for(redis_conn, sidecar_env)
    job = queue.fetch_job(queue.job_ids[0])
    queue.remove(job)
    job.set_status(JobStatus.FAILED)  # what RQ's registry cleanup does with an abandoned job
    registry = queueing.failed_registry(redis_conn, sidecar_env)
    registry.add(job, exc_string="Traceback...\nrq.exceptions.AbandonedJobError: Job abandoned")
    [entry] = dead_letters.entries(redis_conn, sidecar_env)
    assert entry.source == "rq" and entry.order_id == 5 and "worker running it died" in entry.reason
    dead_letters.replay(redis_conn, sidecar_env, entry.id)
    assert registry.count == 0 and queue.job_ids == [job.id]


def test_replay_while_the_failure_report_waits_runs_the_action_again(
    redis_conn: redis.Redis, sidecar_env, woo
) -> None:
    """The runner dead-letters before it reports; a replay during a report retry must not be swallowed."""
    order = woo.admin.create_order()
    event = make_event(order["id"])
    deliver(redis_conn, sidecar_env, woo, event, ["test.permanent"])
    woo.admin.fault(503, count=1, path=f"/wp-json/bpm-bridge/v1/orders/{order['id']}/apply")
    work(redis_conn, sidecar_env)
    [entry] = dead_letters.entries(redis_conn, sidecar_env)
    assert len(scheduled(redis_conn, sidecar_env)) == 1  # the failure report waits for its retry

    redis_conn.set(fixed_key(order["id"]), 1)
    dead_letters.replay(redis_conn, sidecar_env, entry.id)
    assert scheduled(redis_conn, sidecar_env) == {}
    work(redis_conn, sidecar_env)
    assert int(redis_conn.get(effects_key(order["id"])) or 0) == 1
    assert woo.admin.event(event["id"])["outcomes"]["test.permanent"]["status"] == "done"
    assert dead_letters.entries(redis_conn, sidecar_env) == []


def test_replay_of_a_job_that_is_running_keeps_the_entry(redis_conn: redis.Redis, sidecar_env) -> None:
    event = make_event(6)
    dead_letters.add(redis_conn, event, "test.effect", "broken", 1, 6)
    queueing.enqueue_actions(redis_conn, sidecar_env, event, ["test.effect"])
    job = Job.fetch(queueing.job_id(event["id"], "test.effect"), connection=redis_conn)
    job.set_status(JobStatus.STARTED)
    try:
        dead_letters.replay(redis_conn, sidecar_env, job.id)
        raise AssertionError("expected DeadLetterBusy")
    except dead_letters.DeadLetterBusy as exc:
        assert "running" in str(exc)
    assert [e.id for e in dead_letters.entries(redis_conn, sidecar_env)] == [job.id]


def test_a_job_queued_under_the_old_runner_path_is_listed_and_replayed(
    redis_conn: redis.Redis, sidecar_env, woo
) -> None:
    """Jobs queued before the engine moved (sidecar.jobs.runner) fail to import; the replay heals them."""
    order = woo.admin.create_order()
    event = make_event(order["id"])
    woo.admin.register_event(event["id"], ["test.effect"])
    queue = queueing.queue_for(redis_conn, sidecar_env)
    queue.enqueue(
        "sidecar.jobs.runner.run_action",
        event,
        "test.effect",
        job_id=queueing.job_id(event["id"], "test.effect"),
    )
    work(redis_conn, sidecar_env)
    [entry] = dead_letters.entries(redis_conn, sidecar_env)
    assert entry.source == "rq" and entry.action == "test.effect"
    dead_letters.replay(redis_conn, sidecar_env, entry.id)
    work(redis_conn, sidecar_env)
    assert woo.admin.event(event["id"])["status"] == "done"
    assert dead_letters.entries(redis_conn, sidecar_env) == []
