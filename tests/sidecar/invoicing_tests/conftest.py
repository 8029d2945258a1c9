"""Fixtures: the WooCommerce simulator and every provider simulator, served once per module.

``shop`` runs a test once per provider adapter (``invoicing_harness.ADAPTERS``); a test about one
capability narrows it with ``@pytest.mark.parametrize("shop", having(...), indirect=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sidecar.sandbox import ServedApp
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret

from .invoicing_harness import ADAPTERS, PASSWORD, Harness, serve_simulator


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    secret = new_secret()
    woo = ServedApp(woo_app([secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    simulators = {name: serve_simulator(name) for name in ADAPTERS}
    yield {"secret": secret, "woo": woo, **simulators}
    for served in (woo, *simulators.values()):
        served.stop()


def fresh(name: str, servers: dict[str, Any]) -> Harness:
    """A harness on a reset provider account (the shop's orders stay: every test makes its own)."""
    shop = Harness(name, servers["woo"], servers[name], servers["secret"])
    shop.sandbox.reset()
    shop.adapter.prepare(shop.sandbox)
    return shop


@pytest.fixture(params=list(ADAPTERS))
def shop(request: pytest.FixtureRequest, servers: dict[str, Any]) -> Harness:
    return fresh(request.param, servers)


@pytest.fixture
def fakturownia(servers: dict[str, Any]) -> Harness:
    return fresh("fakturownia", servers)


@pytest.fixture
def infakt(servers: dict[str, Any]) -> Harness:
    return fresh("infakt", servers)
