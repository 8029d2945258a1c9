"""``bpm-sidecar demo``: the whole sidecar against the simulators, telling one order's story.

Starts every registered simulator (sidecar/sandbox/registry.py), ``bpm-sidecar serve`` and one
``bpm-sidecar worker`` as subprocesses with a generated secret, creates a paid order in the WooCommerce
simulator, sends it as a signed ``order.paid`` event, waits for the outcome and prints a timeline
(event accepted → actions → outcomes → order notes → ``_bpm_*`` meta); then the same for a refund.
Actions registered later (a new provider, CRM, …) show up on their own. Everything it started is
stopped on exit, Ctrl-C included.

It uses its own queue name and no configuration cache, so it does not disturb other users of the
Redis database it is given (default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import requests
from rq import Queue

from sidecar.sandbox.registry import SIMULATORS
from sidecar.signing import new_secret, signature_headers

DEMO_ORDER: dict[str, Any] = {
    "items": [
        {"name": "Kawa ziarnista 1 kg", "price": "89.99", "qty": 2, "tax": "23"},
        {"name": "Herbata zielona", "price": "24.50", "qty": 1, "tax": "8"},
        {"name": "Kurs online (zw)", "price": "100.00", "qty": 1, "tax": "zw"},
    ],
    "shipping": {"method": "InPost Paczkomat", "price": "15.99", "tax": "23"},
    "coupon": {"code": "RABAT10", "percent": 10},
    "nip": "5260250274",
    "status": "processing",
    "payment_method": "przelewy24",
}
WAIT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f} s")


class Processes:
    """Subprocesses in their own sessions, logging to files; stopped (whole groups) in reverse order."""

    def __init__(self) -> None:
        self.logdir = Path(tempfile.mkdtemp(prefix="bpm-demo-"))
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child until it exits
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
        self.procs.append((name, proc))

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}; see {self.logdir / (name + '.log')}"
                )

    def stop(self) -> None:
        """Idempotent: the demo calls it on success and again in its ``finally``."""
        for _, proc in reversed(self.procs):
            if proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class Timeline:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.2f}s] {text}", flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(redis_url: str = "redis://127.0.0.1:6379/0", keep: bool = False) -> int:
    procs = Processes()
    tl = Timeline()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill <demo>` cleans up like Ctrl-C does
    try:
        _run(redis_url, procs, tl, keep)
        procs.stop()
        shutil.rmtree(procs.logdir, ignore_errors=True)  # kept only when something went wrong
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (TimeoutError, RuntimeError, requests.RequestException) as exc:
        print(f"\ndemo failed: {exc}\nlogs: {procs.logdir}", file=sys.stderr)
        return 1
    finally:
        procs.stop()


def _run(redis_url: str, procs: Processes, tl: Timeline, keep: bool) -> None:
    secret = new_secret()
    password = secrets.token_urlsafe(18)[:24]
    ports = {name: _free_port() for name in SIMULATORS}
    web_port = _free_port()
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    woo, intake = urls["woo"], f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "BPM_REDIS_URL": redis_url,
        "BPM_WEBHOOK_SECRETS": secret,
        "BPM_STORE_URL": woo,
        "BPM_STORE_USER": "bpm-api",
        "BPM_STORE_APP_PASSWORD": password,
        "BPM_ALLOW_INSECURE_STORE": "true",
        "BPM_BIND": f"127.0.0.1:{web_port}",
        "BPM_WEB_WORKERS": "2",
        "BPM_QUEUE": f"bpm-demo-{uuid.uuid4().hex[:8]}",
        "BPM_CONFIG_TTL": "0",
        "BPM_AUDIT_DIR": str(procs.logdir / "audit"),
        "BPM_RETRY_SCHEDULE": "2,5,10,30",
    }
    python = sys.executable
    cli = str(Path(sys.executable).with_name("bpm-sidecar"))
    for name, port in ports.items():
        procs.start(name, [python, "-m", "sidecar.sandbox", name, "--port", str(port)], env)
    procs.start("web", [cli, "serve"], env)
    procs.start("worker", [cli, "worker", "--name", f"demo-{uuid.uuid4().hex[:6]}"], env)
    for port in [*ports.values(), web_port]:
        _wait_port(port)
    tl.say(f"simulators up: {', '.join(f'{n} {u}' for n, u in urls.items())}")
    tl.say(f"sidecar intake {intake} (gunicorn) and one RQ worker; logs in {procs.logdir}")

    _configure_store(woo, urls)
    order = requests.post(f"{woo}/sandbox/orders", json=DEMO_ORDER, timeout=10).json()
    total = f"{order['total']} {order['currency']}"
    tl.say(f"order #{order['id']} paid: {total}, buyer NIP 5260250274, status {order['status']}")
    ctx = {"intake": intake, "woo": woo, "secret": secret, "conn": redis.Redis.from_url(redis_url),
           "queue": env["BPM_QUEUE"]}  # fmt: skip
    _story(ctx, procs, tl, "order.paid", {"order_id": order["id"], "from": "pending", "to": "processing"})
    _crm_step(ctx, procs, tl, urls, order)

    refund_item = order["line_items"][0]
    refund = requests.post(
        f"{woo}/sandbox/orders/{order['id']}/refunds",
        json={"items": [{"line_item_id": refund_item["id"], "qty": 1}], "reason": "damaged in transit"},
        timeout=10,
    ).json()
    tl.say(f"refund #{refund['id']} of {refund['amount']} PLN for 1 x {refund_item['name']}")
    refunded = {"order_id": order["id"], "refund_id": refund["id"], "amount": refund["amount"]}
    _story(ctx, procs, tl, "order.refunded", refunded)

    shown = requests.get(f"{woo}/sandbox/orders/{order['id']}", timeout=10).json()
    print("\norder notes (what the shop admin reads):")
    for note in shown["notes"]:
        print(f"  - {note['note']}")
    print("_bpm_* meta:")
    for key, value in sorted(shown["meta"].items()):
        print(f"  {key} = {value}")
    _return_journey(ctx, procs, tl, urls, order)
    if keep:
        tl.say("everything keeps running; Ctrl-C stops it")
        while True:
            time.sleep(3600)


def _configure_store(woo: str, urls: dict[str, str]) -> None:
    """Point the store's configuration at the simulators (what the shop admin enters in wp-admin)."""
    invoicing: dict[str, Any] = {}
    if "fakturownia" in urls:
        invoicing = {
            "provider": "fakturownia",
            "fakturownia": {
                "domain": "sandbox",
                "api_token": "sandbox-fakturownia-token",
                "base_url": urls["fakturownia"],
            },
        }
    if "infakt" in urls:
        invoicing["infakt"] = {"api_key": "sandbox-infakt-key", "base_url": urls["infakt"]}
    if invoicing:
        requests.put(f"{woo}/sandbox/config", json={"invoicing": invoicing}, timeout=10).raise_for_status()


def _crm_step(
    ctx: dict[str, Any], procs: Processes, tl: Timeline, urls: dict[str, str], order: dict[str, Any]
) -> None:
    """The shop connects HubSpot: the order becomes a contact and a deal, and its stage follows the order."""
    hub = urls.get("hubspot")
    if hub is None:
        return
    woo, oid = ctx["woo"], order["id"]
    account: dict[str, Any] = {
        "access_token": os.environ.get("BPM_SANDBOX_HUBSPOT_TOKEN", "pat-na1-sandbox-hubspot-token"),
        "portal_id": os.environ.get("BPM_SANDBOX_HUBSPOT_PORTAL", "144000001"),
        "base_url": hub,
    }
    crm: dict[str, Any] = {
        "provider": "hubspot",
        "line_items": True,
        "pipeline": "default",
        "hubspot": account,
    }
    requests.put(f"{woo}/sandbox/config", json={"crm": crm}, timeout=10).raise_for_status()
    tl.say("HubSpot connected (WooCommerce → Settings → BPM Bridge → CRM); the order is sent to it")
    _story(ctx, procs, tl, "order.created", {"order_id": oid, "status": order["status"]})

    def deal() -> dict[str, Any]:
        held = requests.get(f"{hub}/_sandbox/documents", timeout=10).json()
        found = [d for d in held["deals"] if d["properties"].get("woo_order_id") == str(oid)]
        contacts = {c["id"]: c["properties"] for c in held["contacts"]}
        for d in found:
            who = [contacts.get(c, {}).get("email") for c in d.get("associations", {}).get("contacts", [])]
            tl.say(f"  HubSpot deal {d['id']} \"{d['properties'].get('dealname')}\" "
                   f"{d['properties'].get('amount')} {d['properties'].get('deal_currency_code')}, stage "
                   f"{d['properties'].get('dealstage')}, contact {', '.join(filter(None, who))}, "
                   f"{len(d.get('associations', {}).get('line_items', []))} line item(s)")  # fmt: skip
        return found[0] if found else {}

    deal()
    requests.post(f"{woo}/sandbox/orders/{oid}/status", json={"status": "completed"}, timeout=10)
    tl.say(f"order #{oid} completed (shipped)")
    completed = {"order_id": oid, "from": order["status"], "to": "completed"}
    _story(ctx, procs, tl, "order.status_changed", completed)
    deal()


def _story(
    ctx: dict[str, Any],
    procs: Processes,
    tl: Timeline,
    type_: str,
    data: dict[str, Any],
    during: Callable[[], None] | None = None,
) -> None:
    """Send one signed event the way the plugin's outbox does and narrate what happens to it.

    ``during`` runs on every look at the outcomes: what the outside world does meanwhile (a parcel moves)."""
    intake, woo, secret = ctx["intake"], ctx["woo"], ctx["secret"]
    conn, queue_name = ctx["conn"], ctx["queue"]
    table = requests.get(f"{intake}/v1/meta", timeout=10).json()["event_types"]
    event = {
        "id": str(uuid.uuid4()),
        "type": type_,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "store": woo,
        "data": data,
    }
    # The plugin writes its outbox row first; outcomes are recorded against it.
    requests.post(
        f"{woo}/sandbox/events", json={"id": event["id"], "actions": table.get(type_, [])}, timeout=10
    )
    body = json.dumps(event).encode()
    headers = {**signature_headers([secret], body, msg_id=event["id"]), "Content-Type": "application/json"}
    answer = requests.post(f"{intake}/v1/events", data=body, headers=headers, timeout=10)
    accepted = answer.json()
    queued = accepted.get("actions") or "no actions"
    tl.say(f"{type_} {event['id'][:8]}… → HTTP {answer.status_code}, queued {queued}")
    if not accepted.get("actions"):
        tl.say("  (no action is registered for this event type yet)")
        return

    # Print outcomes as they arrive, until no job of this event is queued, scheduled or running
    # (follow-ups such as the KSeF status check belong to the same event).
    queue = Queue(queue_name, connection=conn)
    shown, deadline = 0, time.monotonic() + WAIT_SECONDS * 2
    while True:
        row = requests.get(f"{woo}/sandbox/events/{event['id']}", timeout=10).json()
        for outcome in row["history"][shown:]:
            extra = f" (next attempt {outcome['next_attempt_at']})" if outcome.get("next_attempt_at") else ""
            tl.say(f"  {outcome['action']}: {outcome['status']} — {outcome['message']}{extra}")
        shown = len(row["history"])
        pending = [
            jid
            for jid in queue.job_ids
            + queue.scheduled_job_registry.get_job_ids()
            + queue.started_job_registry.get_job_ids()
            if jid.startswith(event["id"])
        ]
        if row["status"] in ("done", "failed") and not pending:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for the outcome of {type_}")
        if during is not None:
            during()
        procs.check()
        time.sleep(0.3)
    tl.say(f"outbox row {row['status']}")


def _return_journey(
    ctx: dict[str, Any], procs: Processes, tl: Timeline, urls: dict[str, str], order: dict[str, Any]
) -> None:
    """A return of the order's second item from the customer's request to the refund: approved → an InPost
    label (the ShipX simulator; the PDF slip without it) → the parcel delivered to the shop → arrived →
    received → refunded, and the correction invoice of the refund. Staff's clicks in wp-admin are the
    simulator's sandbox routes."""
    woo = ctx["woo"]

    def call(method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{woo}/sandbox{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    shipx = urls.get("inpost")
    carrier: dict[str, Any] = {"provider": "none"}
    if shipx:
        carrier = {
            "provider": "inpost",
            "inpost": {"api_token": os.environ.get("BPM_SANDBOX_INPOST_TOKEN", "sandbox-inpost-token"),
                       "organization_id": os.environ.get("BPM_SANDBOX_INPOST_ORGANIZATION", "1234"),
                       "base_url": shipx, "parcel_template": "small", "poll_seconds": 1, "track_seconds": 1},
        }  # fmt: skip
    shop = {"enabled": True, "return_name": "Sklep Demo Sp. z o.o.", "return_street": "Piotrkowska",
            "return_building": "100", "return_postcode": "90-001", "return_city": "Łódź",
            "return_phone": "600700800", "return_email": "zwroty@sklep.example",
            "return_locker": "WAW123"}  # fmt: skip
    call("PUT", "/config", {"carrier": carrier, "rma": shop})
    print("\n— a return —")
    item = order["line_items"][1]
    rma = call("POST", "/rmas", {
        "order_id": order["id"], "status": "requested", "kind": "withdrawal", "method": "locker",
        "point": "KRA010",
        "items": [{"order_item_id": item["id"], "product_id": item["product_id"], "quantity": 1,
                   "reason": "Withdrawal within 14 days (odstąpienie od umowy)"}],
    })  # fmt: skip
    number = f"RMA-{rma['id']:06d}"
    ids = {"rma_id": rma["id"], "order_id": order["id"]}
    tl.say(f"the customer asks to return 1 x {item['name']}: {number}, to be posted at locker KRA010")
    _story(ctx, procs, tl, "rma.created", {**ids, "status": "requested"})
    call("POST", f"/rmas/{rma['id']}/status", {"status": "approved", "note": "Approved by staff."})
    tl.say(f"staff approve {number}")
    moved: list[str] = []

    def parcel_travels() -> None:
        """Once the label is there, the customer posts the parcel and InPost delivers it to the shop."""
        shown = call("GET", f"/rmas/{rma['id']}")
        shipment = (shown.get("meta") or {}).get("_bpm_shipment_id", "")
        if moved or not shipx or shown["status"] != "label_ready" or not shipment.isdigit():
            return
        moved.append(shipment)
        tl.say(
            f"  the customer downloads the label and posts the parcel; InPost delivers shipment {shipment}"
        )
        for status in ("dispatched_by_sender", "delivered"):
            requests.post(
                f"{shipx}/_sandbox/shipments/{shipment}/status", json={"status": status}, timeout=10
            )

    _story(ctx, procs, tl, "rma.updated", {**ids, "status": "approved"}, during=parcel_travels)
    words = "staff check the parcel and mark it received"
    call("POST", f"/rmas/{rma['id']}/status", {"status": "received", "note": words})
    tl.say(f"{number}: {words}")
    lines = {"items": [{"line_item_id": item["id"], "qty": 1}], "reason": f"Return {number}"}
    refund = call("POST", f"/orders/{order['id']}/refunds", lines)
    tl.say(f"staff refund {number}: refund #{refund['id']} of {refund['amount']} PLN")
    _story(ctx, procs, tl, "order.refunded", {"order_id": order["id"], "refund_id": refund["id"],
                                              "amount": refund["amount"]})  # fmt: skip
    call("POST", f"/rmas/{rma['id']}/status", {"status": "refunded", "note": f"Refund #{refund['id']}."})
    final = call("GET", f"/rmas/{rma['id']}")
    label = final.get("label") or {}
    print(
        f"\nreturn {number}: {final['status']}; label {label.get('carrier')} {label.get('tracking_number')}"
    )
    if label.get("url"):
        print(f"  tracking: {label['url']}")
    print("timeline (what the customer and the shop see):")
    for step in final.get("timeline") or ():
        print(f"  - [{step['actor']}] {step['message']}{'' if step['public'] else '  (staff only)'}")
    meta = {k: v for k, v in (final.get("meta") or {}).items() if v}
    print("return meta: " + ", ".join(f"{k} = {v}" for k, v in sorted(meta.items())))
