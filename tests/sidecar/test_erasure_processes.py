"""Real processes (gunicorn intake, two RQ workers, real Redis) against the Pipedrive simulator and the
webhook receiver: two orders of a new buyer paid at the same moment while Pipedrive's search lags make one
person (the workers share the "being created" record through Redis), and the buyer's erasure request,
delivered as a signed event, removes that person and records both outcomes on the request."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from pipedrive_harness import TOKEN, PipedriveSandbox, Shop, WebhookSink
from rq import Queue, Worker
from support import WooAdmin
from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port, wait_until

from sidecar.jobs import registry
from sidecar.jobs.erase import email_hash
from sidecar.sandbox import ServedApp, load_factory
from sidecar.signing import new_secret, signature_headers

QUEUE = "bpm-erasure"
EMAIL = "nowy.klient@example.com"


class Stack:
    def __init__(self, intake: str, woo: ServedApp, secret: str, pipedrive: str, sink: str) -> None:
        self.intake, self.woo, self.secret = intake, woo, secret
        self.admin = WooAdmin(woo.url)
        self.pipedrive = PipedriveSandbox(pipedrive)
        self.sink = WebhookSink(sink)

    def send(self, event_type: str, data: dict[str, Any], order_id: int | None = None) -> str:
        event = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "store": "https://shop.example",
            "data": data,
        }
        actions = list(registry.actions_for(event_type, data))
        self.admin._call("POST", "/events", {"id": event["id"], "actions": actions, "order_id": order_id})
        body = json.dumps(event).encode()
        headers = {
            **signature_headers([self.secret], body, msg_id=event["id"]),
            "Content-Type": "application/json",
        }
        assert (
            requests.post(f"{self.intake}/v1/events", data=body, headers=headers, timeout=10).status_code
            == 202
        )
        return str(event["id"])

    def done(self, event_id: str) -> bool:
        return self.admin.event(event_id)["status"] in ("done", "failed")


@pytest.fixture
def stack(redis_url: str, redis_conn: redis.Redis) -> Iterator[Stack]:
    secret, hook_secret = new_secret(), new_secret()
    woo = ServedApp(load_factory("woo")([secret], "bpm-api", Shop.PASSWORD, "http://127.0.0.1")).start()
    pipedrive = ServedApp(load_factory("pipedrive")(token=TOKEN)).start()
    sink = ServedApp(load_factory("webhook")(secret=hook_secret)).start()
    crm = {
        "provider": "pipedrive",
        "pipeline": "default",
        "stages": {"processing": "2"},
        "pipedrive": {"api_token": TOKEN, "company_domain": "sklep", "base_url": pipedrive.url,
                      "search_lag_seconds": 5},
        "webhook": {"url": f"{sink.url}/hooks/n8n", "secret": hook_secret},
    }  # fmt: skip
    WooAdmin(woo.url).config({"crm": crm})
    web_port = free_port()
    env = process_env(
        redis_url, woo.url, secret, Shop.PASSWORD,
        extra={"BPM_BIND": f"127.0.0.1:{web_port}", "BPM_WEB_WORKERS": "1", "BPM_QUEUE": QUEUE,
               "BPM_LOCK_TTL": "20", "BPM_RETRY_SCHEDULE": "1,1,2,5", "BPM_CONFIG_TTL": "0"},
    )  # fmt: skip
    try:
        with ProcessGroup() as group:
            group.start("web", sidecar_cmd("serve"), env)
            for name in ("w1", "w2"):
                group.start(name, sidecar_cmd("worker", "--name", f"{name}-{uuid.uuid4().hex[:4]}"), env)
            try:
                wait_for_port(web_port)
                wait_until(
                    lambda: len(Worker.all(queue=Queue(QUEUE, connection=redis_conn))) >= 2,
                    30,
                    what="workers",
                )
                yield Stack(f"http://127.0.0.1:{web_port}", woo, secret, pipedrive.url, sink.url)
            except BaseException:
                print(group.logs())
                raise
    finally:
        for served in (woo, pipedrive, sink):
            served.stop()


def test_racing_orders_make_one_person_and_the_erasure_removes_it(stack: Stack) -> None:
    stack.pipedrive.lag(60)  # Pipedrive's search does not see new persons during the test
    stack.pipedrive.fault(mode="latency", seconds=0.4, match="POST /api/v2/persons", count=5)
    orders = [
        stack.admin.create_order(
            {"items": [{"name": "Kawa", "price": "49.00", "qty": 1}], "billing": {"email": EMAIL}}
        )
        for _ in range(2)
    ]
    events = [stack.send("order.paid", {"order_id": o["id"], "to": "processing"}, o["id"]) for o in orders]
    wait_until(lambda: all(stack.done(e) for e in events), timeout=60, what="both orders synced")
    assert [stack.admin.event(e)["status"] for e in events] == ["done", "done"]
    [person] = stack.pipedrive.records("persons")
    deals = stack.pipedrive.records("deals")
    assert len(deals) == 2 and {d["person_id"] for d in deals} == {person["id"]}
    assert {d["stage_id"] for d in deals} == {2}

    filed = requests.post(f"{stack.woo.url}/sandbox/erasures", json={"email": EMAIL}, timeout=10).json()
    request_id = int(filed["request_id"])
    erasure = stack.send(
        "customer.erasure_requested", {"email_hash": email_hash(EMAIL), "request_id": request_id}
    )
    wait_until(lambda: stack.done(erasure), timeout=60, what="the erasure")
    assert stack.admin.event(erasure)["status"] == "done"
    view = requests.get(f"{stack.woo.url}/sandbox/erasures/{request_id}", timeout=10).json()
    assert {k: v["status"] for k, v in view["outcomes"].items()} == {"pipedrive": "done", "webhook": "done"}
    assert stack.pipedrive.records("persons") == []
    [notice] = [d for d in stack.sink.deliveries() if d["body"]["type"] == "customer.erased"]
    assert notice["body"]["customer"]["email_hash"] == email_hash(EMAIL)
