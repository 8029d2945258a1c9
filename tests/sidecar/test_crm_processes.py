"""Real processes against the HubSpot simulator: gunicorn intake and two RQ workers, through real Redis.

A doubled event (order.paid and order.status_changed for one payment), the same event delivered twice,
and one job pushed twice so both workers run it at the same moment: one contact, one deal, one set of
line items, one "sent" note. The framework's per-order lock serialises the runs; the upserts by e-mail
and by ``woo_order_id`` make whatever still overlaps update instead of create.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from crm_harness import PASSWORD, HubSpotSandbox, crm_config, serve_hubspot, unique_email
from rq import Queue, Worker
from support import WooAdmin
from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port, wait_until

from sidecar.jobs import registry
from sidecar.sandbox import ServedApp
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret, signature_headers

QUEUE = "bpm-crm"


class CrmStack:
    def __init__(self, group: ProcessGroup, intake: str, woo: WooAdmin, hub: HubSpotSandbox, secret: str,
                 conn: redis.Redis) -> None:  # fmt: skip
        self.group, self.intake, self.woo, self.hub, self.secret, self.conn = (
            group,
            intake,
            woo,
            hub,
            secret,
            conn,
        )

    def send(self, event_type: str, data: dict[str, Any], event_id: str | None = None) -> requests.Response:
        event = {
            "id": event_id or str(uuid.uuid4()),
            "type": event_type,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "store": "https://shop.example",
            "data": data,
        }
        self.woo.register_event(event["id"], list(registry.actions_for(event_type, data)))
        body = json.dumps(event).encode()
        headers = {
            **signature_headers([self.secret], body, msg_id=event["id"]),
            "Content-Type": "application/json",
        }
        return requests.post(f"{self.intake}/v1/events", data=body, headers=headers, timeout=10)

    def done(self, event_id: str) -> bool:
        return self.woo.event(event_id)["status"] in ("done", "failed")


@pytest.fixture
def stack(redis_url: str, redis_conn: redis.Redis) -> Iterator[CrmStack]:
    secret = new_secret()
    woo = ServedApp(woo_app([secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    hub = serve_hubspot()
    admin = WooAdmin(woo.url)
    admin.config(crm_config(hub.url))
    web_port = free_port()
    env = process_env(
        redis_url, woo.url, secret, PASSWORD,
        extra={"BPM_BIND": f"127.0.0.1:{web_port}", "BPM_WEB_WORKERS": "2", "BPM_QUEUE": QUEUE,
               "BPM_LOCK_TTL": "20", "BPM_RETRY_SCHEDULE": "1,1,2,5", "BPM_CONFIG_TTL": "0"},
    )  # fmt: skip
    try:
        with ProcessGroup() as group:
            group.start("web", sidecar_cmd("serve"), env)
            for name in ("w1", "w2"):
                group.start(name, sidecar_cmd("worker", "--name", f"{name}-{uuid.uuid4().hex[:4]}"), env)
            stack = CrmStack(
                group, f"http://127.0.0.1:{web_port}", admin, HubSpotSandbox(hub.url), secret, redis_conn
            )
            try:
                wait_for_port(web_port)
                wait_until(
                    lambda: len(Worker.all(queue=Queue(QUEUE, connection=redis_conn))) >= 2,
                    30,
                    what="workers",
                )
                yield stack
            except BaseException:
                print(group.logs())
                raise
    finally:
        woo.stop()
        hub.stop()


def test_doubled_replayed_and_racing_events_make_one_contact_and_one_deal(stack: CrmStack) -> None:
    email = unique_email("race")
    order = stack.woo.create_order(
        {"items": [{"name": "Kawa", "price": "89.99", "qty": 2}], "billing": {"email": email}}
    )
    oid = order["id"]
    # Every HubSpot answer takes a while, so the runs overlap inside the action.
    stack.hub.fault(mode="latency", seconds=0.05, count=200)
    paid = str(uuid.uuid4())
    assert stack.send("order.paid", {"order_id": oid, "to": "processing"}, paid).status_code == 202
    assert (
        stack.send("order.paid", {"order_id": oid, "to": "processing"}, paid).status_code == 200
    )  # a re-delivery
    moved = stack.send("order.status_changed", {"order_id": oid, "from": "pending", "to": "processing"})
    assert moved.status_code == 202
    # RQ's failure mode (one job id pushed twice): both workers run the same job at once.
    Queue(QUEUE, connection=stack.conn).push_job_id(f"{paid}_crm-sync_order")
    try:
        both = lambda: stack.done(paid) and stack.done(moved.json()["id"])  # noqa: E731
        wait_until(both, timeout=60, what="both events done")
    except TimeoutError:
        print(stack.woo.event(paid), stack.woo.event(moved.json()["id"]), stack.group.logs())
        raise
    time.sleep(0.5)
    stack.hub.clear_faults()

    assert [c["properties"]["email"] for c in stack.hub.contacts()] == [email]
    [deal] = stack.hub.deals(oid)
    assert len(stack.hub.deals()) == 1 and len(stack.hub.line_items()) == 1
    assert deal["associations"]["contacts"] == [stack.hub.contacts()[0]["id"]]
    assert stack.woo.meta(oid)["_bpm_crm_id"] == deal["id"]
    sent = [n for n in stack.woo.notes(oid) if "sent to HubSpot" in n["note"]]
    assert len(sent) == 1, stack.woo.notes(oid)
    outcomes = [
        h
        for e in (paid, moved.json()["id"])
        for h in stack.woo.event(e)["history"]
        if h["action"] == "crm.sync_order"
    ]
    assert sorted(o["status"] for o in outcomes if o["status"] != "retrying").count("done") == 1
