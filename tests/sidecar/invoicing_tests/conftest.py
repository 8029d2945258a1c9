"""Fixtures: the WooCommerce simulator and both provider simulators, served once per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sidecar.sandbox import ServedApp
from sidecar.sandbox.fakturownia import create_app as fakturownia_app
from sidecar.sandbox.infakt import create_app as infakt_app
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import new_secret

from .invoicing_harness import FAKTUROWNIA_TOKEN, INFAKT_KEY, PASSWORD, Harness


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    secret = new_secret()
    woo = ServedApp(woo_app([secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    fakt = ServedApp(fakturownia_app(token=FAKTUROWNIA_TOKEN)).start()
    infakt = ServedApp(infakt_app(api_key=INFAKT_KEY)).start()
    yield {"secret": secret, "woo": woo, "fakturownia": fakt, "infakt": infakt}
    for served in (woo, fakt, infakt):
        served.stop()


@pytest.fixture(params=["fakturownia", "infakt"])
def shop(request: pytest.FixtureRequest, servers: dict[str, Any]) -> Harness:
    name = request.param
    sim = servers[name]
    requests.post(f"{sim.url}/_sandbox/reset", timeout=5).raise_for_status()
    if name == "infakt":
        requests.post(f"{sim.url}/_sandbox/tasks", json={"polls": 2, "seconds": 0.3}, timeout=5)
    return Harness(name, servers["woo"], sim, servers["secret"])


@pytest.fixture
def fakturownia(servers: dict[str, Any]) -> Harness:
    sim = servers["fakturownia"]
    requests.post(f"{sim.url}/_sandbox/reset", timeout=5).raise_for_status()
    return Harness("fakturownia", servers["woo"], sim, servers["secret"])


@pytest.fixture
def infakt(servers: dict[str, Any]) -> Harness:
    sim = servers["infakt"]
    requests.post(f"{sim.url}/_sandbox/reset", timeout=5).raise_for_status()
    requests.post(f"{sim.url}/_sandbox/tasks", json={"polls": 2, "seconds": 0.3}, timeout=5)
    return Harness("infakt", servers["woo"], sim, servers["secret"])
