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
