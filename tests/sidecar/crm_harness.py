"""CRM test harness: the WooCommerce simulator, the HubSpot simulator and a real StoreClient, each served
on a free port in a thread. Nothing is mocked: every call crosses HTTP, and the HubSpot simulator checks
every request as HubSpot documents it (auth, property values, unique properties, limits).

:class:`CrmShop` drives the CRM actions the way the worker does (the job function, then the write-back
of its ``Outcome.write`` and note), and reads what HubSpot holds through the simulator's ``/_sandbox/``.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox_client import WooSandbox

from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.jobs import crm as crm_jobs
from sidecar.jobs.base import JobContext, Outcome
from sidecar.sandbox import ServedApp, load_factory
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret
from sidecar.store import StoreClient

PASSWORD = "abcd efgh ijkl mnop qrst uvwx"
TOKEN = "pat-na1-test-token-0001"
PORTAL = 144000777
VALID_NIP = "5252445767"
ACTIONS = {"crm.sync_order": crm_jobs.sync_order, "crm.sync_contact": crm_jobs.sync_contact}
EVENT_TYPES = {"crm.sync_order": "order.status_changed", "crm.sync_contact": "customer.consent_changed"}
TIMEOUT = 10


class HubSpotSandbox:
    """``/_sandbox/`` of the HubSpot simulator."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox{path}", json=json, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def snapshot(self) -> dict[str, Any]:
        return self._call("GET", "/documents")

    def contacts(self) -> list[dict[str, Any]]:
        return self.snapshot()["contacts"]

    def deals(self, order_id: int | None = None) -> list[dict[str, Any]]:
        deals = self.snapshot()["deals"]
        if order_id is None:
            return deals
        return [d for d in deals if d["properties"].get("woo_order_id") == str(order_id)]

    def line_items(self) -> list[dict[str, Any]]:
        return self.snapshot()["line_items"]

    def limits(self) -> dict[str, Any]:
        return self._call("GET", "/limits")

    def set_limits(self, **values: Any) -> dict[str, Any]:
        return self._call("POST", "/limits", values)

    def fault(self, **rule: Any) -> Any:
        return self._call("POST", "/faults", rule)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def reset(self) -> None:
        self._call("POST", "/reset")


class CrmShop:
    """One shop + the HubSpot simulator, driven the way the worker drives them."""

    def __init__(self, woo: ServedApp, hub: ServedApp, secret: str) -> None:
        self.woo, self.hub, self.secret = woo, hub, secret
        self.shop = WooSandbox(woo.url)
        self.hubspot = HubSpotSandbox(hub.url)
        self.settings = Settings(
            webhook_secrets=(secret,),
            store_url=woo.url,
            store_user="bpm-api",
            store_app_password=PASSWORD,
            allow_insecure_store=True,
        )
        self.store = StoreClient(self.settings, AuditLog(None))
        # The sidecar's audit trail of HubSpot calls: bodies with personal values redacted, keys kept.
        self.audit_dir = Path(tempfile.mkdtemp(prefix="bpm-crm-audit-"))
        self.configure(crm_config(hub.url))

    def configure(self, overrides: dict[str, Any]) -> None:
        self.shop.config(overrides)

    def order(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault(
            "items", [{"name": "Kawa ziarnista 1 kg", "price": "89.99", "qty": 2, "sku": "KAWA-1"}]
        )
        return self.shop.create_order(spec)

    def meta(self, order_id: int) -> dict[str, str]:
        return self.shop.meta(order_id)

    def notes(self, order_id: int) -> list[str]:
        return self.shop.note_texts(order_id)

    def run(self, action: str, order_id: int | None, **data: Any) -> Outcome:
        event = {
            "id": str(uuid.uuid4()),
            "type": EVENT_TYPES[action],
            "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "store": self.woo.url,
            "data": {**({"order_id": order_id} if order_id is not None else {}), **data},
        }
        ctx = JobContext(
            event=event,
            action=action,
            store=self.store,
            config=self.store.get_config(),
            audit=AuditLog(self.audit_dir),
            ensure_lock=lambda: None,
            fencing_token=1,
            attempt=1,
        )
        outcome = ACTIONS[action](ctx)
        if order_id is not None and (outcome.write is not None or outcome.note):
            self.store.apply(
                order_id,
                meta=dict(outcome.write.meta) if outcome.write else None,
                note=outcome.message if outcome.note else None,
            )
        return outcome

    def sync(self, order_id: int) -> Outcome:
        return self.run("crm.sync_order", order_id)

    def sent(self, path: str) -> list[Any]:
        """The bodies the sidecar sent to ``path`` on HubSpot, oldest first (from its audit trail)."""
        records = [json.loads(line) for f in sorted(self.audit_dir.glob("*.jsonl")) for line in f.open()]
        return [
            r["request_body"] for r in records if r.get("provider") == "hubspot" and r["url"].endswith(path)
        ]


def crm_config(url: str, **more: Any) -> dict[str, Any]:
    return {
        "crm": {
            "provider": "hubspot",
            "line_items": True,
            "pipeline": "default",
            "stages": dict(crm_jobs.DEFAULT_STAGES),
            "hubspot": {"access_token": TOKEN, "portal_id": str(PORTAL), "base_url": url},
            **more,
        }
    }


def serve_hubspot() -> ServedApp:
    return ServedApp(load_factory("hubspot")(token=TOKEN, portal_id=PORTAL)).start()


@pytest.fixture(scope="module", name="servers")
def servers_fixture() -> Iterator[dict[str, Any]]:
    secret = new_secret()
    woo = ServedApp(woo_app([secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    hub = serve_hubspot()
    yield {"secret": secret, "woo": woo, "hub": hub}
    woo.stop()
    hub.stop()


@pytest.fixture(name="crm")
def crm_fixture(
    servers: dict[str, Any], redis_url: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> CrmShop:
    """A fresh HubSpot account (the shop's orders stay: every test makes its own, with its own e-mail).

    The account's shared budget lives in the test's Redis, as it does in a worker (BPM_REDIS_URL)."""
    monkeypatch.setenv("BPM_REDIS_URL", redis_url)
    shop = CrmShop(servers["woo"], servers["hub"], servers["secret"])
    shop.hubspot.reset()
    return shop


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.com"
