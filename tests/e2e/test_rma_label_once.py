"""A return label is bought exactly once, with real processes: gunicorn (``bpm-sidecar serve``), an RQ worker
(``bpm-sidecar worker``), real Redis, the WooCommerce and ShipX simulators on loopback.

1. The work horse is SIGKILLed after ShipX committed the shipment and before the sidecar stored its id
   (the intent is on the return, the id is not): RQ re-runs the job, the run finds the intent, looks the
   shipment up by its reference and uses it.
2. ShipX's answer to the create is lost after the commit (the connection is cut): the retry does the same.

Either way the simulator holds exactly one shipment for the return and the return exactly one label. The
moment of the kill is made exact by a wrapper of ``rma.process`` (``BPM_EXTRA_ACTIONS`` replaces the built
action): in the work horse it lets the real create run, then records its pid and waits to be killed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from sidecar.providers.invoicing.base import Intent
from sidecar.sandbox import ServedApp
from sidecar.sandbox.shipx import create_app as shipx_app
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret, signature_headers

pytestmark = pytest.mark.slow

QUEUE = "bpm-rma"
PASSWORD = "AbcdEfghIjklMnopQrstUvwx"
TOKEN, ORG = "label-once-token", 2468
PAUSE_KEY = "test:rma:pause"  # the RMA id whose create pauses (once)
PAUSED_KEY = "test:rma:paused"  # the pausing horse's pid, once ShipX has committed


def pausing_process(ctx: Any) -> Any:
    """``rma.process`` whose first InPost create for the marked return stops after ShipX committed."""
    from sidecar.jobs import rma
    from sidecar.providers.carriers.inpost import InpostCarrier

    conn = redis.Redis.from_url(os.environ["BPM_REDIS_URL"])
    real = InpostCarrier.create

    def create(self: InpostCarrier, parcel: Any) -> Any:
        shipment = real(self, parcel)
        marked = conn.get(PAUSE_KEY)
        if marked is not None and int(marked) == parcel.rma_id and conn.set(PAUSED_KEY, os.getpid(), nx=True):
            time.sleep(120)  # SIGKILLed here: the shipment exists, its id is not stored
        return shipment

    InpostCarrier.create = create  # type: ignore[method-assign]  # this work horse only (forked per job)
    return rma.process(ctx)


@dataclass
class Stack:
    intake: str
    woo: ServedApp
    shipx: ServedApp
    secret: str
    conn: redis.Redis

    def sandbox(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.woo.url}/sandbox{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def shipx_control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.shipx.url}/_sandbox{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def approved_return(self) -> dict[str, Any]:
        order = self.sandbox("POST", "/orders", {"items": [{"name": "Kubek", "price": "30.00", "qty": 1}],
                                                  "status": "completed"})  # fmt: skip
        return self.sandbox(
            "POST", "/rmas", {"order_id": order["id"], "status": "approved", "method": "locker"}
        )

    def send(self, rma: dict[str, Any]) -> None:
        event = {
            "id": str(uuid.uuid4()),
            "type": "rma.created",
            "occurred_at": "2026-12-03T10:00:00Z",
            "store": self.woo.url,
            "data": {"rma_id": rma["id"], "order_id": rma["order_id"], "status": "approved"},
        }
        self.sandbox("POST", "/events", {"id": event["id"], "actions": ["rma.process"]})
        body = json.dumps(event).encode()
        headers = {
            **signature_headers([self.secret], body, msg_id=event["id"]),
            "Content-Type": "application/json",
        }
        assert (
            requests.post(f"{self.intake}/v1/events", data=body, headers=headers, timeout=10).status_code
            == 202
        )

    def rma(self, rma_id: int) -> dict[str, Any]:
        return self.sandbox("GET", f"/rmas/{rma_id}")

    def shipments(self, number: str) -> list[dict[str, Any]]:
        """Every shipment of the return, whatever its attempt (``<site>-RMA-000042-<n>``), live or not."""
        pattern = re.compile(rf"[0-9A-F]{{6}}-{re.escape(number)}-\d+")
        return [
            s
            for s in self.shipx_control("GET", "/documents")["shipments"]
            if pattern.fullmatch(str(s["reference"] or ""))
        ]


@pytest.fixture(scope="module")
def stack(redis_url: str) -> Iterator[Stack]:
    from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port, wait_until

    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    secret = new_secret()
    woo = ServedApp(woo_app([secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    shipx = ServedApp(shipx_app(TOKEN, ORG)).start()
    requests.put(f"{woo.url}/sandbox/config", timeout=10, json={
        "carrier": {"provider": "inpost", "inpost": {"api_token": TOKEN, "organization_id": str(ORG),
                    "base_url": shipx.url, "parcel_template": "small", "poll_seconds": 0.2,
                    "recovery_seconds": 3}},
        "rma": {"enabled": True, "return_name": "Sklep", "return_email": "zwroty@sklep.example",
                "return_phone": "600700800", "return_locker": "WAW123"},
    }).raise_for_status()  # fmt: skip
    # Pessimistic ShipX: the reference filter ignored (only our exact match counts) and a search lag, so a
    # retry soon after a lost create does not see it yet and must wait instead of buying again.
    requests.post(f"{shipx.url}/_sandbox/search", json={"ignore_unsupported": True, "lag_seconds": 1.0},
                  timeout=10).raise_for_status()  # fmt: skip
    web_port = free_port()
    env = process_env(
        redis_url, woo.url, secret, PASSWORD,
        extra={
            "BPM_EXTRA_ACTIONS": "rma.process=test_rma_label_once:pausing_process",
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(Path(__file__).parents[1]),
                                           str(Path(__file__).parents[2])]),
            "BPM_BIND": f"127.0.0.1:{web_port}",
            "BPM_WEB_WORKERS": "1",
            "BPM_QUEUE": QUEUE,
            "BPM_LOCK_TTL": "2",
            "BPM_RETRY_SCHEDULE": "1,1,1,2,2,3,3,5,5,5",
            "BPM_RECONCILE_INTERVAL": "0",
        },
    )  # fmt: skip
    with ProcessGroup() as group:
        group.start("web", sidecar_cmd("serve"), env)
        worker = group.start("worker", sidecar_cmd("worker", "--name", f"rma-{uuid.uuid4().hex[:6]}"), env)
        try:
            wait_for_port(web_port)
            from rq import Queue, Worker

            wait_until(lambda: Worker.all(queue=Queue(QUEUE, connection=conn)), timeout=30, what="worker")
            yield Stack(f"http://127.0.0.1:{web_port}", woo, shipx, secret, conn)
            assert worker.alive(), worker.tail()
        except BaseException:
            print(group.logs())
            raise
        finally:
            woo.stop()
            shipx.stop()
            conn.flushdb()


def wait_label_ready(stack: Stack, rma_id: int, timeout: float = 40) -> dict[str, Any]:
    from support.processes import wait_until

    return wait_until(
        lambda: (r := stack.rma(rma_id))["status"] == "label_ready" and r, timeout=timeout, interval=0.2,
        what=f"return {rma_id} label_ready",
    )  # fmt: skip


def assert_one_label(stack: Stack, rma: dict[str, Any]) -> None:
    number = f"RMA-{rma['id']:06d}"
    # The label is attached, so the job chain has passed its create; a retry still queued behind it would
    # only re-read the return (it has a shipment id). 1.5 s lets such a straggler run before we count.
    time.sleep(1.5)
    shipments = stack.shipments(number)
    assert len(shipments) == 1, shipments
    final = stack.rma(rma["id"])
    assert final["_labels"] == 1
    assert final["meta"]["_bpm_shipment_id"] == str(shipments[0]["id"])
    assert final["label"]["tracking_number"] == shipments[0]["tracking_number"]


def test_a_work_horse_killed_after_shipx_committed_buys_no_second_label(stack: Stack) -> None:
    from support.processes import wait_until

    rma = stack.approved_return()
    stack.conn.set(PAUSE_KEY, rma["id"])
    started = time.monotonic()
    stack.send(rma)
    pid = int(wait_until(lambda: stack.conn.get(PAUSED_KEY), timeout=30, what="create committed"))
    number = f"RMA-{rma['id']:06d}"
    assert len(stack.shipments(number)) == 1
    assert Intent.decode(stack.rma(rma["id"])["meta"]["_bpm_shipment_id"]) is not None  # id not stored yet
    os.kill(pid, signal.SIGKILL)
    wait_label_ready(stack, rma["id"])
    print(f"label after the SIGKILL: {time.monotonic() - started:.1f} s from the event")
    assert_one_label(stack, rma)


def test_a_create_answer_lost_after_commit_buys_no_second_label(stack: Stack) -> None:
    rma = stack.approved_return()
    stack.shipx_control("POST", "/faults", {"mode": "drop_after_commit", "match": "POST /v1/organizations"})
    stack.send(rma)
    wait_label_ready(stack, rma["id"])
    assert_one_label(stack, rma)
