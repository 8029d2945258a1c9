"""Invoicing test harness: the real WooCommerce simulator, a real StoreClient and both provider
simulators, each served on a free port in a thread. Nothing is mocked: every call crosses HTTP.

This directory is a package (``__init__.py``) so that pytest imports its ``conftest`` as
``invoicing_tests.conftest`` and never shadows ``tests/conftest.py`` (``from conftest import …``); it is
not called ``invoicing`` because under pytest's default import mode that would shadow the
``sidecar.invoicing`` package.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.jobs import invoice as invoice_jobs
from sidecar.jobs.base import JobContext, Outcome
from sidecar.sandbox import ServedApp
from sidecar.store import StoreClient

PASSWORD = "abcd efgh ijkl mnop qrst uvwx"
FAKTUROWNIA_TOKEN = "test-token-123"
INFAKT_KEY = "test-infakt-key"
VALID_NIP = "5252445767"
ACTIONS = {
    "invoice.issue": invoice_jobs.issue,
    "invoice.correct": invoice_jobs.correct,
    "invoice.ksef": invoice_jobs.ksef,
}


class Harness:
    """One shop + one invoicing provider, driven the way the worker drives them."""

    def __init__(self, provider: str, woo: ServedApp, sim: ServedApp, secret: str) -> None:
        self.provider = provider
        self.woo = woo
        self.sim = sim
        self.secret = secret
        self.settings = Settings(
            webhook_secrets=(secret,),
            store_url=woo.url,
            store_user="bpm-api",
            store_app_password=PASSWORD,
            allow_insecure_store=True,
        )
        self.store = StoreClient(self.settings, AuditLog(None))
        credentials: dict[str, Any] = (
            {"fakturownia": {"domain": "sandbox", "api_token": FAKTUROWNIA_TOKEN, "base_url": sim.url}}
            if provider == "fakturownia"
            else {"infakt": {"api_key": INFAKT_KEY, "base_url": sim.url, "poll_delays": [0.05] * 8}}
        )
        baseline = {
            "provider": provider,
            "trigger": {"default": "paid", "by_payment_method": {"cod": "completed"}},
            "b2c_document": "invoice",
            "send_email": True,
            "exemption_reason": "art. 43 ust. 1 pkt 2 ustawy o VAT",
        }
        self.configure({"invoicing": {**baseline, **credentials}})

    # -- the shop ---------------------------------------------------------------------------------
    def configure(self, overrides: dict[str, Any]) -> None:
        requests.put(f"{self.woo.url}/sandbox/config", json=overrides, timeout=5).raise_for_status()

    def order(self, **spec: Any) -> dict[str, Any]:
        response = requests.post(f"{self.woo.url}/sandbox/orders", json=spec, timeout=5)
        response.raise_for_status()
        return response.json()

    def refund(self, order_id: int, **spec: Any) -> dict[str, Any]:
        response = requests.post(f"{self.woo.url}/sandbox/orders/{order_id}/refunds", json=spec, timeout=5)
        response.raise_for_status()
        return response.json()

    def set_status(self, order_id: int, status: str) -> None:
        requests.post(f"{self.woo.url}/sandbox/orders/{order_id}/status", json={"status": status}, timeout=5)

    def meta(self, order_id: int) -> dict[str, str]:
        return requests.get(f"{self.woo.url}/sandbox/orders/{order_id}/meta", timeout=5).json()

    def put_meta(self, order_id: int, meta: dict[str, str]) -> None:
        requests.put(
            f"{self.woo.url}/sandbox/orders/{order_id}/meta", json=meta, timeout=5
        ).raise_for_status()

    def notes(self, order_id: int) -> list[str]:
        return [
            n["note"]
            for n in requests.get(f"{self.woo.url}/sandbox/orders/{order_id}/notes", timeout=5).json()
        ]

    # -- the provider -----------------------------------------------------------------------------
    def documents(self, order_id: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        docs = requests.get(f"{self.sim.url}/_sandbox/documents", timeout=5).json()["documents"]
        if order_id is not None:
            docs = [d for d in docs if self.belongs(d, order_id)]
        if kind is not None:
            docs = [d for d in docs if d["kind"] == kind]
        return docs

    def belongs(self, doc: dict[str, Any], order_id: int) -> bool:
        if self.provider == "fakturownia":
            return str(doc.get("oid") or "").startswith(f"wc-{order_id}-")
        return f"[wc-{order_id}-" in str(doc.get("notes") or "")

    def total(self, doc: dict[str, Any]) -> Decimal:
        if self.provider == "fakturownia":
            return Decimal(doc["price_gross"])
        return Decimal(doc["gross_price"]) / 100

    def fault(self, **rule: Any) -> None:
        requests.post(f"{self.sim.url}/_sandbox/faults", json=rule, timeout=5).raise_for_status()

    def ksef(self, **settings: Any) -> None:
        requests.post(f"{self.sim.url}/_sandbox/ksef", json=settings, timeout=5).raise_for_status()

    # -- the worker -------------------------------------------------------------------------------
    def run(self, action: str, order_id: int, attempt: int = 1, **data: Any) -> Outcome:
        event = {
            "id": str(uuid.uuid4()),
            "type": {"invoice.correct": "order.refunded"}.get(action, "order.paid"),
            "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "store": self.woo.url,
            "data": {"order_id": order_id, **data},
        }
        ctx = JobContext(
            event=event,
            action=action,
            store=self.store,
            config=self.store.get_config(),
            audit=AuditLog(None),
            ensure_lock=lambda: None,
            fencing_token=1,
            attempt=attempt,
        )
        return ACTIONS[action](ctx)
