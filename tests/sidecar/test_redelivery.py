"""The shop admin's Retry (plan §6, issue 8): a re-delivery with a new ``redelivery`` counter re-runs, once,
every action that did not finish done/skipped. The intake is the real app; the jobs run on RQ workers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from rq.job import Job, JobStatus
from support.actions import fixed_key
from test_jobs import effects, make_event, work

from sidecar.app import create_app
from sidecar.config import Settings
from sidecar.engine import dead_letters, queueing, redelivery
from sidecar.jobs import registry
from sidecar.signing import signature_headers

ACTIONS = ["test.effect", "test.permanent"]


@pytest.fixture
def intake(sidecar_env: Settings, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch):
    # Route the event to one action that succeeds and one that fails until a human fixes its cause.
    monkeypatch.setattr(registry, "actions_for", lambda event_type, data, environ=None: tuple(ACTIONS))
    return create_app(sidecar_env).test_client()


def post(client, secret: str, event: dict[str, Any], counter: int | None = None):
    sent = dict(event) if counter is None else {**event, "redelivery": counter}
    body = json.dumps(sent).encode()
    headers = {**signature_headers([secret], body, msg_id=event["id"]), "Content-Type": "application/json"}
    return client.post("/v1/events", data=body, headers=headers)


def job_status(conn: redis.Redis, event: dict[str, Any], action: str) -> JobStatus:
    return Job.fetch(queueing.job_id(event["id"], action), connection=conn).get_status()


def run_of(conn: redis.Redis, event: dict[str, Any], action: str) -> tuple[Any, Any]:
    """Which run a job is (when it ended, its counter) and what it returned."""
    job = Job.fetch(queueing.job_id(event["id"], action), connection=conn)
    return (job.ended_at, job.meta.get("redelivery")), (job.return_value() or {}).get("status")


def dead_lettered_event(client, conn: redis.Redis, settings: Settings, woo) -> tuple[dict[str, Any], int]:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    woo.admin.register_event(event["id"], ACTIONS)
    assert post(client, woo.secret, event).status_code == 202
    work(conn, settings)
    assert effects(conn, order["id"]) == 1  # test.effect done
    [entry] = dead_letters.entries(conn, settings)
    assert entry.action == "test.permanent"
    return event, order["id"]


def test_retry_re_runs_the_dead_letter_once_and_the_same_retry_again_is_a_duplicate(
    intake, redis_conn: redis.Redis, sidecar_env: Settings, woo
) -> None:
    event, order_id = dead_lettered_event(intake, redis_conn, sidecar_env, woo)
    plain = post(intake, woo.secret, event)  # an automatic re-delivery still does nothing
    assert plain.status_code == 200 and "redelivered" not in plain.get_json()

    redis_conn.set(fixed_key(order_id), 1)  # the shop admin corrected the NIP, then pressed Retry
    retry = post(intake, woo.secret, event, counter=1)
    assert retry.status_code == 202, retry.get_json()
    assert retry.get_json() == {
        "id": event["id"],
        "duplicate": True,
        "actions": ACTIONS,
        "redelivered": ["test.permanent"],
    }
    assert dead_letters.entries(redis_conn, sidecar_env) == []
    done_run = run_of(redis_conn, event, "test.effect")
    work(redis_conn, sidecar_env)
    # The fixed action ran (a fresh run: attempt 1; the record test.effect made is found, so skipped)...
    rerun, status = run_of(redis_conn, event, "test.permanent")
    assert rerun[1] == 1 and status == "skipped"
    assert woo.admin.event(event["id"])["outcomes"]["test.permanent"]["status"] == "skipped"
    # ...and the done one did not run again.
    assert run_of(redis_conn, event, "test.effect") == done_run
    assert effects(redis_conn, order_id) == 1

    again = post(intake, woo.secret, event, counter=1)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert "redelivered" not in again.get_json()
    assert queueing.queue_for(redis_conn, sidecar_env).count == 0
    work(redis_conn, sidecar_env)
    assert run_of(redis_conn, event, "test.permanent") == (rerun, status)

    later = post(intake, woo.secret, event, counter=2)  # a later Retry: everything is done now
    assert later.status_code == 202 and later.get_json()["redelivered"] == []


def test_an_older_counter_is_a_plain_duplicate(intake, redis_conn, sidecar_env, woo) -> None:
    event, _ = dead_lettered_event(intake, redis_conn, sidecar_env, woo)
    assert post(intake, woo.secret, event, counter=3).get_json()["redelivered"] == ["test.permanent"]
    work(redis_conn, sidecar_env)  # still broken: dead-lettered again
    assert len(dead_letters.entries(redis_conn, sidecar_env)) == 1
    older = post(intake, woo.secret, event, counter=2)
    assert older.status_code == 200 and "redelivered" not in older.get_json()
    assert queueing.queue_for(redis_conn, sidecar_env).count == 0


def test_queued_and_scheduled_runs_are_left_alone(intake, redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    woo.admin.register_event(event["id"], ACTIONS)
    assert post(intake, woo.secret, event).status_code == 202  # both queued, no worker yet
    retry = post(intake, woo.secret, event, counter=1)
    assert retry.status_code == 202 and retry.get_json()["redelivered"] == []
    assert queueing.queue_for(redis_conn, sidecar_env).count == 2  # not pushed twice
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1


def test_a_job_rq_gave_up_on_and_a_lost_job_are_queued_again(intake, redis_conn, sidecar_env, woo) -> None:
    order = woo.admin.create_order()
    event = make_event(order["id"])
    woo.admin.register_event(event["id"], ACTIONS)
    redis_conn.set(fixed_key(order["id"]), 1)
    assert post(intake, woo.secret, event).status_code == 202
    queue = queueing.queue_for(redis_conn, sidecar_env)
    abandoned = queue.fetch_job(queueing.job_id(event["id"], "test.effect"))
    queue.remove(abandoned)
    abandoned.set_status(JobStatus.FAILED)  # what RQ does with a job whose workers kept dying
    queueing.failed_registry(redis_conn, sidecar_env).add(abandoned, exc_string="AbandonedJobError")
    lost = queue.fetch_job(queueing.job_id(event["id"], "test.permanent"))
    lost.delete()  # e.g. Redis restored from an older snapshot
    retry = post(intake, woo.secret, event, counter=1)
    assert sorted(retry.get_json()["redelivered"]) == sorted(ACTIONS)
    assert queueing.failed_registry(redis_conn, sidecar_env).count == 0
    work(redis_conn, sidecar_env)
    assert effects(redis_conn, order["id"]) == 1
    assert {job_status(redis_conn, event, a) for a in ACTIONS} == {JobStatus.FINISHED}
    assert {run_of(redis_conn, event, a)[0][1] for a in ACTIONS} == {1}


def test_a_retry_whose_id_the_intake_forgot_still_skips_what_is_done(
    intake, redis_conn, sidecar_env, woo
) -> None:
    """The de-dup key lives a week, a dead letter a year: a late Retry must not re-run done actions."""
    event, order_id = dead_lettered_event(intake, redis_conn, sidecar_env, woo)
    redis_conn.delete(f"bpm:event:{event['id']}")
    redis_conn.set(fixed_key(order_id), 1)
    retry = post(intake, woo.secret, event, counter=1)
    assert retry.status_code == 202
    assert retry.get_json()["duplicate"] is False and retry.get_json()["redelivered"] == ["test.permanent"]
    done_run = run_of(redis_conn, event, "test.effect")
    work(redis_conn, sidecar_env)
    assert run_of(redis_conn, event, "test.effect") == done_run
    assert run_of(redis_conn, event, "test.permanent")[1] == "skipped"


def test_a_half_done_retry_is_finished_by_the_next_delivery_without_running_anything_twice(
    intake, redis_conn, sidecar_env, woo, monkeypatch
) -> None:
    event, _ = dead_lettered_event(intake, redis_conn, sidecar_env, woo)
    real = redelivery.record

    def redis_dies(*args: Any) -> None:
        raise redis.ConnectionError("gone")

    monkeypatch.setattr(redelivery, "record", redis_dies)
    assert post(intake, woo.secret, event, counter=1).status_code == 503
    work(redis_conn, sidecar_env)  # the re-queued action ran meanwhile, and failed again
    first_rerun = run_of(redis_conn, event, "test.permanent")
    assert first_rerun == ((first_rerun[0][0], 1), "failed")
    monkeypatch.setattr(redelivery, "record", real)
    redis_conn.delete(redelivery.CLAIM_KEY.format(event["id"], 1))  # the claim's 30 s are over
    again = post(intake, woo.secret, event, counter=1)
    assert again.status_code == 202 and again.get_json()["redelivered"] == []  # Retry 1 ran it once
    work(redis_conn, sidecar_env)
    assert run_of(redis_conn, event, "test.permanent") == first_rerun
    assert len(dead_letters.entries(redis_conn, sidecar_env)) == 1


def test_a_concurrent_copy_of_the_same_retry_is_told_to_come_back(intake, redis_conn, sidecar_env, woo):
    event, _ = dead_lettered_event(intake, redis_conn, sidecar_env, woo)
    redis_conn.set(redelivery.CLAIM_KEY.format(event["id"], 1), "1")  # another request holds it
    busy = post(intake, woo.secret, event, counter=1)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == str(redelivery.CLAIM_TTL)
    assert busy.get_json()["type"] == "urn:bpm-bridge:problem:redelivery-in-progress"
    assert queueing.queue_for(redis_conn, sidecar_env).count == 0
