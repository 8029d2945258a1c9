"""Real processes: gunicorn (``bpm-sidecar serve``), two RQ workers (``bpm-sidecar worker``) and the
WooCommerce simulator (``python -m sidecar.sandbox woo``), talking over loopback through real Redis.

The test action ``test.effect`` is routed to ``order.created`` through BPM_EXTRA_ACTIONS; it counts
every side effect in Redis, so "exactly once" is measured, not assumed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import requests
from rq import Queue, Worker
from support import WooAdmin
from support.actions import EXTRA_ACTIONS, effects_key, knobs_key
from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port, wait_until

from sidecar.signing import new_secret, signature_headers

QUEUE = "bpm"
PASSWORD = "AbcdEfghIjklMnopQrstUvwx"


@dataclass
class Stack:
    group: ProcessGroup
    intake: str
    woo: WooAdmin
    secret: str
    conn: redis.Redis
    env: dict[str, str]

    def send(self, order_id: int, event_id: str | None = None, sleep: float = 0) -> requests.Response:
        if sleep:
            self.conn.hset(knobs_key(order_id), "sleep", sleep)  # the intake drops unknown data keys
        event = {
            "id": event_id or str(uuid.uuid4()),
            "type": "order.created",
            "occurred_at": "2026-11-22T12:00:00Z",
            "store": "https://shop.example",
            "data": {"order_id": order_id},
        }
        self.woo.register_event(event["id"], ["test.effect"])
        body = json.dumps(event).encode()
        headers = {
            **signature_headers([self.secret], body, msg_id=event["id"]),
            "Content-Type": "application/json",
        }
        return requests.post(f"{self.intake}/v1/events", data=body, headers=headers, timeout=10)

    def effects(self, order_id: int) -> int:
        return int(self.conn.get(effects_key(order_id)) or 0)

    def worker(self, name: str):
        return self.group.start(name, sidecar_cmd("worker", "--name", name), self.env)


@pytest.fixture
def stack(redis_url: str, redis_conn: redis.Redis) -> Iterator[Stack]:
    secret = new_secret()
    woo_port, web_port = free_port(), free_port()
    woo_url = f"http://127.0.0.1:{woo_port}"
    env = process_env(
        redis_url, woo_url, secret, PASSWORD,
        extra={
            "BPM_EXTRA_ACTIONS": EXTRA_ACTIONS.replace(":effect", ":effect@order.created"),
            "BPM_BIND": f"127.0.0.1:{web_port}",
            "BPM_WEB_WORKERS": "2",
            "BPM_QUEUE": QUEUE,
            "BPM_LOCK_TTL": "20",
            # BPM_WORKER_TTL and BPM_MAINTENANCE_INTERVAL keep their defaults: the recovery time
            # measured below is the one production gets.
            "BPM_RETRY_SCHEDULE": "2,5,10",
        },
    )  # fmt: skip
    with ProcessGroup() as group:
        python = sidecar_cmd()[0].replace("bpm-sidecar", "python")
        group.start("woo", [python, "-m", "sidecar.sandbox", "woo", "--port", str(woo_port)], env)
        group.start("web", sidecar_cmd("serve"), env)
        stack = Stack(group, f"http://127.0.0.1:{web_port}", WooAdmin(woo_url), secret, redis_conn, env)
        try:
            wait_for_port(woo_port)
            wait_for_port(web_port)
            yield stack
        except BaseException:
            print(group.logs())
            raise


def effect_history(stack: Stack, event_id: str) -> list[dict]:
    """The test action's outcomes of an event (order events also route crm.sync_order, skipped here)."""
    return [h for h in stack.woo.event(event_id)["history"] if h["action"] == "test.effect"]


def workers_ready(conn: redis.Redis, count: int) -> bool:
    return len(Worker.all(queue=Queue(QUEUE, connection=conn))) >= count


def test_the_same_event_delivered_twice_runs_once(stack: Stack) -> None:
    stack.worker("w1")
    stack.worker("w2")
    order = stack.woo.create_order()
    event_id = str(uuid.uuid4())
    first = stack.send(order["id"], event_id)
    second = stack.send(order["id"], event_id)
    assert (first.status_code, first.json()["duplicate"]) == (202, False)
    # crm.sync_order too unless the workers' cached configuration already shows the CRM off (decision 25).
    assert first.json()["actions"][-1:] == ["test.effect"]
    assert (second.status_code, second.json()["duplicate"]) == (200, True)
    wait_until(lambda: stack.woo.event(event_id)["status"] == "done", timeout=30, what="outcome done")
    time.sleep(1)  # give a (wrong) second run the chance to show up
    assert stack.effects(order["id"]) == 1
    assert len(stack.woo.notes(order["id"])) == 1
    assert [h["status"] for h in effect_history(stack, event_id)] == ["done"]


def test_two_workers_racing_on_one_order_do_it_once(stack: Stack) -> None:
    """RQ's failure mode: one job id pushed twice (reliability.md §1.5), so both workers run it at once."""
    stack.worker("w1")
    stack.worker("w2")
    wait_until(lambda: workers_ready(stack.conn, 2), timeout=30, what="two workers")
    order = stack.woo.create_order()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    queue = Queue(QUEUE, connection=stack.conn)
    # Each run sleeps 1.5 s before its side effect, so both runs are inside the action together.
    assert stack.send(order["id"], first, sleep=1.5).status_code == 202
    queue.push_job_id(f"{first}_test-effect")
    wait_until(lambda: len(effect_history(stack, first)) == 2, timeout=60, what="both runs reported")
    # A later event for the same order finds the work done (state-based, not event-based).
    stack.conn.delete(knobs_key(order["id"]))
    assert stack.send(order["id"], second).status_code == 202
    wait_until(lambda: stack.woo.event(second)["status"] == "done", timeout=60, what="second event done")
    assert stack.effects(order["id"]) == 1
    assert sorted(o["status"] for o in effect_history(stack, first)) == ["done", "skipped"]
    assert [o["status"] for o in effect_history(stack, second)] == ["skipped"]
    assert int(stack.conn.get(f"bpm:fence:order:{order['id']}:test")) >= 3  # three runs took the lock


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_replaced_within_two_minutes(stack: Stack) -> None:
    victim = stack.worker("victim")
    wait_until(lambda: workers_ready(stack.conn, 1), timeout=30, what="victim worker")
    order = stack.woo.create_order()
    event_id = str(uuid.uuid4())
    assert stack.send(order["id"], event_id, sleep=10).status_code == 202
    job_id = f"{event_id}_test-effect"
    queue = Queue(QUEUE, connection=stack.conn)
    wait_until(lambda: job_id in queue.started_job_registry.get_job_ids(), timeout=30, what="job started")
    time.sleep(1)
    # The worker, its work horse and its scheduler process, like an OOM kill of the container.
    killed = victim.kill_hard()
    assert len(killed) >= 2, "expected the worker and its horse"
    killed_at = time.monotonic()
    stack.worker("survivor")
    wait_until(
        lambda: stack.woo.event(event_id)["status"] == "done", timeout=150, interval=1, what="recovered"
    )
    recovered_in = time.monotonic() - killed_at
    assert recovered_in < 120, f"recovered after {recovered_in:.0f} s"
    time.sleep(2)
    assert stack.effects(order["id"]) == 1
    assert stack.conn.lrange(f"{effects_key(order['id'])}:tokens", 0, -1) != []
    print(f"recovered {recovered_in:.0f} s after SIGKILL")
