"""A failed erasure is not kept as a dead letter for a year: its envelope names the person (the e-mail's
hash, the erasure request), so it goes after 30 days — as long as WordPress shows the request's outcome."""

from __future__ import annotations

import uuid

from sidecar.engine import queueing


def test_an_erasure_dead_letter_lapses_after_30_days(redis_conn, sidecar_env) -> None:
    event = {
        "id": str(uuid.uuid4()),
        "type": "customer.erasure_requested",
        "occurred_at": "2026-12-03T10:00:00Z",
        "store": "http://127.0.0.1",
        "data": {"email_hash": "0" * 64, "request_id": 12},
    }
    queueing.enqueue_actions(redis_conn, sidecar_env, event, ["privacy.erase", "crm.sync_contact"])
    queue = queueing.queue_for(redis_conn, sidecar_env)
    erase, other = (
        queue.fetch_job(queueing.job_id(event["id"], a)) for a in ("privacy.erase", "crm.sync_contact")
    )
    assert erase.failure_ttl == 30 * 86400
    assert other.failure_ttl == 365 * 86400
    replay = queueing.enqueue_one(redis_conn, sidecar_env, event, "privacy.erase", delay=60)
    assert replay.failure_ttl == 30 * 86400
