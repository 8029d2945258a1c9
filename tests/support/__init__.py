"""Helpers shared by the test suites.

- ``support.processes``: start/stop real subprocesses, wait for ports, the sidecar environment;
- ``support.actions``: framework test actions, registered through ``BPM_EXTRA_ACTIONS``;
- :class:`WooAdmin` here: a client of the WooCommerce simulator's ``/sandbox/`` admin API.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sidecar.config import Settings, load_settings
from sidecar.sandbox import ServedApp
from sidecar.sandbox.woo import create_app
from sidecar.signing import new_secret

SAMPLE_ORDER: dict[str, Any] = {
    "items": [
        {"name": "Kawa ziarnista 1 kg", "price": "89.99", "qty": 2, "tax": "23"},
        {"name": "Książka: Pan Tadeusz", "price": "39.90", "qty": 1, "tax": "5"},
        {"name": "Herbata zielona", "price": "24.50", "qty": 1, "tax": "8"},
        {"name": "Kurs online (zw)", "price": "100.00", "qty": 1, "tax": "zw"},
    ],
    "shipping": {"method": "InPost Paczkomat", "price": "15.99", "tax": "23"},
    "coupon": {"code": "RABAT10", "percent": 10},
    "nip": "5260250274",
    "status": "processing",
    "payment_method": "przelewy24",
}


class WooAdmin:
    """The simulator's sandbox-only admin API (tests and the demo; never part of the contract)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/sandbox{path}", json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def create_order(self, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", "/orders", spec or SAMPLE_ORDER)

    def refund(self, order_id: int, spec: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/orders/{order_id}/refunds", spec)

    def order(self, order_id: int) -> dict[str, Any]:
        return self._call("GET", f"/orders/{order_id}")

    def notes(self, order_id: int) -> list[dict[str, Any]]:
        return self._call("GET", f"/orders/{order_id}/notes")

    def meta(self, order_id: int) -> dict[str, str]:
        return self._call("GET", f"/orders/{order_id}/meta")

    def register_event(self, event_id: str, actions: list[str]) -> dict[str, Any]:
        return self._call("POST", "/events", {"id": event_id, "actions": actions})

    def event(self, event_id: str) -> dict[str, Any]:
        return self._call("GET", f"/events/{event_id}")

    def fault(self, status: int = 503, count: int = 1, path: str = "/", retry_after: int | None = None):
        """The next ``count`` store calls under ``path`` answer ``status`` (with Retry-After if given)."""
        body = {"status": status, "count": count, "path": path, "retry_after": retry_after}
        self._call("POST", "/faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def config(self, update: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("PUT" if update else "GET", "/config", update)

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/requests")


# --- pytest fixtures (import them into a test module: ``from support import woo, sidecar_env``) ------


API_USER = "bpm-api"
APP_PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"  # WordPress shows Application Passwords in groups of four


class Woo:
    """A WooCommerce simulator served on a free port in a thread, with its secret and admin client."""

    def __init__(self) -> None:
        self.secret = new_secret()
        self.served = ServedApp(create_app([self.secret], API_USER, APP_PASSWORD)).start()
        self.url = self.served.url
        self.admin = WooAdmin(self.url)

    def env(self, redis_url: str, **extra: str) -> dict[str, str]:
        return {
            "BPM_WEBHOOK_SECRETS": self.secret,
            "BPM_STORE_URL": self.url,
            "BPM_STORE_USER": API_USER,
            "BPM_STORE_APP_PASSWORD": APP_PASSWORD.replace(" ", ""),
            "BPM_ALLOW_INSECURE_STORE": "true",
            "BPM_REDIS_URL": redis_url,
            "BPM_AUDIT_DIR": "",
            **extra,
        }


@pytest.fixture
def woo() -> Iterator[Woo]:
    shop = Woo()
    yield shop
    shop.served.stop()


@pytest.fixture
def sidecar_env(woo: Woo, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """os.environ of a worker talking to ``woo`` (the runner reads its settings from the environment)."""
    from support.actions import EXTRA_ACTIONS

    for name in [n for n in os.environ if n.startswith("BPM_")]:
        monkeypatch.delenv(name)
    env = woo.env(redis_url, BPM_EXTRA_ACTIONS=EXTRA_ACTIONS, BPM_RETRY_SCHEDULE="5,30,120", BPM_LOCK_TTL="5")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(os.environ)
