"""Returns test harness: the WooCommerce simulator, the ShipX simulator and a real StoreClient, each served
on a free port in a thread; the RMA actions run the way the worker runs them (follow-ups included).
Nothing is mocked: every call crosses HTTP, and the ShipX simulator validates what it gets as ShipX does.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
import sandbox_client
from sandbox_client import WooSandbox

from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.jobs import rma as rma_jobs
from sidecar.jobs.base import JobContext, Outcome
from sidecar.sandbox import ServedApp
from sidecar.sandbox.shipx import create_app as shipx_app
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret
from sidecar.store import StoreClient

PASSWORD = "abcd efgh ijkl mnop qrst uvwx"
TOKEN = "rma-test-token"
ORG = 4321
SHOP_LOCKER = "WAW123"
ACTIONS = {"rma.process": rma_jobs.process, "rma.track": rma_jobs.track}
RETURN_ADDRESS = {
    "return_name": "Sklep Testowy Sp. z o.o.",
    "return_street": "Piotrkowska",
    "return_building": "100",
    "return_postcode": "90-001",
    "return_city": "Łódź",
    "return_phone": "600700800",
    "return_email": "zwroty@sklep.example",
    "return_locker": SHOP_LOCKER,
}
# A fully populated order: everything a carrier must never see is filled in.
FULL_BILLING = {
    "first_name": "Anna",
    "last_name": "Nowak",
    "company": "Nowak Design",
    "address_1": "ul. Długa 3/5",
    "address_2": "piętro 2",
    "city": "Kraków",
    "postcode": "30-001",
    "country": "PL",
    "email": "anna@example.com",
    "phone": "+48 501 202 303",
}


class ShipxSandbox(sandbox_client.ShipxSandbox):
    """The ShipX simulator's control client, with a return's every create attempt and direct creates."""

    def shipments(self, reference: str | None = None, live: bool = False) -> list[dict[str, Any]]:
        """Shipments of one return: ``RMA-000042`` matches every attempt ``<site>-RMA-000042-<n>``;
        ``live`` leaves out cancelled ones."""
        found = self.snapshot()["shipments"]
        pattern = re.compile(rf"(?:[0-9A-F]{{6}}-)?{re.escape(reference or '')}(?:-\d+)?")
        return [
            s
            for s in found
            if (reference is None or pattern.fullmatch(str(s.get("reference") or "")))
            and not (live and s["status"] == "canceled")
        ]

    def create(self, reference: str, sender_email: str = "anna@example.com", point: str = SHOP_LOCKER) -> int:
        """A shipment made straight through the API (another shop's, or a duplicate of ours)."""
        body = {
            "sender": {"first_name": "Anna", "email": sender_email, "phone": "501202303"},
            "receiver": {"company_name": "Sklep", "email": "zwroty@sklep.example", "phone": "600700800"},
            "parcels": {"template": "small"},
            "service": "inpost_locker_standard",
            "reference": reference,
            "custom_attributes": {"sending_method": "parcel_locker", "target_point": point},
        }
        response = requests.post(
            f"{self.url}/v1/organizations/{ORG}/shipments",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        response.raise_for_status()
        return int(response.json()["id"])


class Servers:
    def __init__(self) -> None:
        self.secret = new_secret()
        self.woo = ServedApp(woo_app([self.secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
        self.shipx = ServedApp(shipx_app(TOKEN, ORG)).start()

    def stop(self) -> None:
        self.woo.stop()
        self.shipx.stop()


class Harness:
    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.shop = WooSandbox(servers.woo.url)
        self.shipx = ShipxSandbox(servers.shipx.url)
        self.shipx.reset()
        settings = Settings(
            webhook_secrets=(servers.secret,),
            store_url=servers.woo.url,
            store_user="bpm-api",
            store_app_password=PASSWORD,
            allow_insecure_store=True,
        )
        self.settings = settings
        self.store = StoreClient(settings, AuditLog(None))
        self.carrier("inpost")
        self.shop.config({"rma": {"enabled": True, **RETURN_ADDRESS}})

    def carrier(self, provider: str, **inpost: Any) -> None:
        settings = {
            "api_token": TOKEN,
            "organization_id": str(ORG),
            "parcel_template": "small",
            "base_url": self.servers.shipx.url,
            "poll_seconds": 0.05,
            **inpost,
        }
        self.shop.config({"carrier": {"provider": provider, "inpost": settings}})

    # -- the shop ---------------------------------------------------------------------------------
    def rma(self, status: str = "approved", billing: dict[str, Any] | None = None, **spec: Any) -> int:
        order = self.shop.create_order(
            {
                "items": [
                    {"name": "Kawa ziarnista 1 kg", "price": "89.99", "qty": 2, "tax": "23"},
                    {"name": "Herbata zielona", "price": "24.50", "qty": 1, "tax": "8"},
                ],
                "status": "completed",
                "billing": billing or FULL_BILLING,
            }
        )
        spec.setdefault("method", "locker")
        return int(self.shop.create_rma(order["id"], status=status, **spec)["id"])

    def view(self, rma_id: int) -> dict[str, Any]:
        """The return as the shop holds it (label PDF and timeline included)."""
        return self.shop._call("GET", f"/rmas/{rma_id}")

    # -- the worker -------------------------------------------------------------------------------
    def run(
        self,
        action: str,
        rma_id: int,
        first_run_at: float | None = None,
        ensure_lock: Callable[[], None] | None = None,
        audit: AuditLog | None = None,
    ) -> Outcome:
        rma = self.view(rma_id)
        event = {
            "id": str(uuid.uuid4()),
            "type": "rma.updated",
            "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "store": self.servers.woo.url,
            "data": {"rma_id": rma_id, "order_id": rma["order_id"], "status": rma["status"]},
        }
        ctx = JobContext(
            event=event,
            action=action,
            store=self.store,
            config=self.store.get_config(),
            audit=audit or AuditLog(None),
            ensure_lock=ensure_lock or (lambda: None),
            fencing_token=1,
            attempt=1,
            first_run_at=first_run_at or time.time(),
        )
        return ACTIONS[action](ctx)

    def settle(
        self, rma_id: int, until: str = "label_ready", steps: int = 20, audit: AuditLog | None = None
    ) -> list[Outcome]:
        """``rma.process``, then its follow-ups, until the return reaches ``until`` or nothing follows."""
        # The worker retries the job that failed: rma.track once a shipment is stored (its own chain).
        shipment = str(self.view(rma_id)["meta"].get("_bpm_shipment_id") or "")
        first = "rma.track" if shipment and not shipment.startswith("pending:") else "rma.process"
        outcomes = [self.run(first, rma_id, audit=audit)]
        started = time.time()
        while outcomes[-1].follow_up and self.view(rma_id)["status"] != until and len(outcomes) < steps:
            outcomes.append(self.run(outcomes[-1].follow_up[0], rma_id, first_run_at=started, audit=audit))
        return outcomes
