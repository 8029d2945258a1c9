"""The Pipedrive simulator's control client and the settings the CRM tests share (Pipedrive, webhook,
erasure): one simulator per test module, served on a free port in a thread."""

from __future__ import annotations

from typing import Any

import requests
from sandbox_client import InvoicingSandbox

TOKEN = "pipedrive-test-token"
HEADERS = {"x-api-token": TOKEN}


class PipedriveSandbox(InvoicingSandbox):
    """``/_sandbox/`` of the Pipedrive simulator (``sidecar/sandbox/pipedrive``)."""

    def records(self, kind: str, deleted: bool = False) -> list[dict[str, Any]]:
        """``persons`` | ``organizations`` | ``deals`` | ``products`` | ``deal_products``."""
        rows = self.snapshot()[kind]
        return [r for r in rows if deleted or not r.get("is_deleted")]

    def counts(self) -> dict[str, int]:
        return self.snapshot()["counts"]

    def lag(self, seconds: float) -> dict[str, Any]:
        return self.setting("search", lag_seconds=seconds)

    def limits(self, **values: Any) -> dict[str, Any]:
        return self.setting("limits", **values)

    def plan(self, deals_limit: int) -> dict[str, Any]:
        return self.setting("plan", deals_limit=deals_limit)

    def add_pipeline(self, name: str, stages: list[str]) -> dict[str, Any]:
        return self._call("POST", "/pipelines", {"name": name, "stages": stages})


class Api:
    """Plain calls to the simulator's API, as a client that knows nothing of BPM Bridge would make them."""

    def __init__(self, url: str, token: str = TOKEN) -> None:
        self.url = url.rstrip("/")
        self.headers = {"x-api-token": token}

    def __call__(self, method: str, path: str, json: Any = None, **params: Any) -> requests.Response:
        return requests.request(
            method, f"{self.url}{path}", json=json, params=params or None, headers=self.headers, timeout=10
        )


class WebhookSink(InvoicingSandbox):
    """``/_sandbox/`` of the webhook receiver (``sidecar/sandbox/webhook_sink``)."""

    def deliveries(self) -> list[dict[str, Any]]:
        return self.snapshot()["deliveries"]

    def receiver(self, **values: Any) -> dict[str, Any]:
        """``secret`` (the ``whsec_`` secret it verifies with), ``status`` (forced answer, 0 = none)."""
        return self.setting("receiver", **values)


class Shop:
    """The WooCommerce simulator with a real, signed StoreClient, and the actions run as a worker runs
    them (one JobContext per run, the config read from the store each time)."""

    PASSWORD = "abcd efgh ijkl mnop qrst uvwx"

    def __init__(self, woo_url: str, secret: str) -> None:
        from sandbox_client import WooSandbox

        from sidecar.audit import AuditLog
        from sidecar.config import Settings
        from sidecar.store import StoreClient

        self.url = woo_url
        self.admin = WooSandbox(woo_url)
        settings = Settings(
            webhook_secrets=(secret,),
            store_url=woo_url,
            store_user="bpm-api",
            store_app_password=self.PASSWORD,
            allow_insecure_store=True,
        )
        self.store = StoreClient(settings, AuditLog(None))

    def run(self, action: Any, event_type: str, data: dict[str, Any], attempt: int = 1) -> Any:
        """``action(ctx)`` for one event of ``event_type`` (``action`` is the job function)."""
        import time
        import uuid
        from datetime import UTC, datetime

        from sidecar.audit import AuditLog
        from sidecar.jobs.base import JobContext

        event = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "store": self.url,
            "data": data,
        }
        ctx = JobContext(
            event=event,
            action=f"{action.__module__.rsplit('.', 1)[-1]}.{action.__name__}",
            store=self.store,
            config=self.store.get_config(),
            audit=AuditLog(None),
            ensure_lock=lambda: None,
            fencing_token=1,
            attempt=attempt,
            first_run_at=time.time(),
        )
        return action(ctx)
