"""``privacy.erase`` against the WooCommerce simulator's erasure routes and the HubSpot, Pipedrive and
webhook simulators: the person is removed in every configured CRM and each outcome is recorded on the
request; a transient failure retries only what is left; a wrong hash or a gone request erases nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from pipedrive_harness import TOKEN, PipedriveSandbox, Shop, WebhookSink

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError, TransientError
from sidecar.jobs.erase import email_hash, erase
from sidecar.providers.crm import build_provider
from sidecar.providers.crm.base import Contact, Deal, Known
from sidecar.sandbox import ServedApp, load_factory
from sidecar.signing import new_secret

HUBSPOT_TOKEN = "pat-na1-erasure-test"
EMAIL = "anna.nowak@example.com"
ANNA = Contact(EMAIL, "Anna", "Nowak", "", "", False, "", None)
DEAL = Deal(
    order_id=41, number="41", name="Order #41", amount=Decimal("99.00"), currency="PLN", status="processing",
    stage="", pipeline="default", close_date=None, created_at=None, invoice_number="", invoice_url="",
    return_state="", line_items=(),
)  # fmt: skip
WEBHOOK_SECRET = new_secret()


class Servers:
    def __init__(self) -> None:
        secret = new_secret()
        self.woo = ServedApp(
            load_factory("woo")([secret], "bpm-api", Shop.PASSWORD, "http://127.0.0.1")
        ).start()
        self.hubspot = ServedApp(load_factory("hubspot")(token=HUBSPOT_TOKEN)).start()
        self.pipedrive = ServedApp(load_factory("pipedrive")(token=TOKEN)).start()
        self.sink = ServedApp(load_factory("webhook")(secret=WEBHOOK_SECRET)).start()
        self.shop = Shop(self.woo.url, secret)

    def stop(self) -> None:
        for served in (self.woo, self.hubspot, self.pipedrive, self.sink):
            served.stop()

    def crm(self, *only: str, **override: Any) -> dict[str, Any]:
        blocks = {
            "hubspot": {
                "access_token": HUBSPOT_TOKEN,
                "portal_id": "144000001",
                "base_url": self.hubspot.url,
            },
            "pipedrive": {"api_token": TOKEN, "company_domain": "sklep", "base_url": self.pipedrive.url},
            "webhook": {"url": f"{self.sink.url}/hooks/n8n", "secret": WEBHOOK_SECRET},
        }
        chosen = {
            name: {**block, **override.get(name, {})}
            for name, block in blocks.items()
            if not only or name in only
        }
        return {"provider": "pipedrive", "pipeline": "default", **chosen}


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    running = Servers()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def world(servers: Servers) -> Servers:
    for url in (servers.hubspot.url, servers.pipedrive.url, servers.sink.url):
        PipedriveSandbox(url).reset()
    crm = servers.crm()
    for name in ("hubspot", "pipedrive"):  # Anna bought once while each CRM was connected
        build_provider(name, crm, AuditLog(None)).sync_order(ANNA, DEAL, Known())
    servers.shop.admin.config({"crm": crm})
    return servers


def file_request(world: Servers, email: str = EMAIL, **spec: Any) -> int:
    answer = requests.post(f"{world.woo.url}/sandbox/erasures", json={"email": email, **spec}, timeout=10)
    answer.raise_for_status()
    return int(answer.json()["request_id"])


def request_view(world: Servers, request_id: int) -> dict[str, Any]:
    return requests.get(f"{world.woo.url}/sandbox/erasures/{request_id}", timeout=10).json()


def run(world: Servers, request_id: int, email: str = EMAIL) -> Any:
    data = {"email_hash": email_hash(email), "request_id": request_id}
    return world.shop.run(erase, "customer.erasure_requested", data)


def hubspot(world: Servers) -> dict[str, Any]:
    return PipedriveSandbox(world.hubspot.url).snapshot()


def test_every_crm_forgets_the_person_and_each_outcome_is_recorded(world: Servers) -> None:
    request_id = file_request(world)
    outcome = run(world, request_id)
    assert outcome.status == "done" and "Invoices are kept" in outcome.message
    assert PipedriveSandbox(world.pipedrive.url).records("persons") == []
    snapshot = hubspot(world)
    assert [c for c in snapshot["contacts"] if c["properties"].get("email") == EMAIL] == []
    assert EMAIL in snapshot["blocklist"]  # HubSpot will not let the address be re-imported
    [notice] = WebhookSink(world.sink.url).deliveries()
    assert notice["body"]["customer"] == {"email_hash": email_hash(EMAIL)}
    outcomes = request_view(world, request_id)["outcomes"]
    assert {k: v["status"] for k, v in outcomes.items()} == {
        "hubspot": "done",
        "pipedrive": "done",
        "webhook": "done",
    }
    assert "do not import this e-mail address into Pipedrive again" in outcomes["pipedrive"]["message"]
    assert EMAIL not in json.dumps(outcome.details) + outcome.message  # the outbox keeps no address


def test_a_transient_failure_retries_only_what_is_left(world: Servers) -> None:
    request_id = file_request(world)
    PipedriveSandbox(world.pipedrive.url).fault(mode="503", match="GET /api/v2/persons/search")
    with pytest.raises(TransientError, match="Pipedrive could not finish yet"):
        run(world, request_id)
    view = request_view(world, request_id)
    assert view["outcomes"]["pipedrive"]["status"] == "failed"
    assert "tries again" in view["outcomes"]["pipedrive"]["message"]
    assert {view["outcomes"][n]["status"] for n in ("hubspot", "webhook")} == {"done"}
    assert len(PipedriveSandbox(world.pipedrive.url).records("persons")) == 1  # still there

    assert run(world, request_id).status == "done"  # the framework's retry
    reports = [r["destination"] for r in request_view(world, request_id)["reports"]]
    assert sorted(reports) == ["hubspot", "pipedrive", "pipedrive", "webhook"]  # done ones not repeated
    assert len(hubspot(world)["gdpr_deleted"]) == 1
    sink = WebhookSink(world.sink.url).snapshot()
    assert len(sink["deliveries"]) == 1 and sink["duplicates"] == 0
    assert PipedriveSandbox(world.pipedrive.url).records("persons") == []


def test_a_refusal_is_recorded_in_plain_words_and_the_rest_still_done(world: Servers) -> None:
    world.shop.admin.config({"crm": world.crm(pipedrive={"api_token": "revoked"})})
    request_id = file_request(world)
    with pytest.raises(PermanentError, match="Pipedrive: Pipedrive refused the API token"):
        run(world, request_id)
    outcomes = request_view(world, request_id)["outcomes"]
    assert outcomes["pipedrive"]["status"] == "failed" and "API token" in outcomes["pipedrive"]["message"]
    assert outcomes["hubspot"]["status"] == outcomes["webhook"]["status"] == "done"


def test_only_configured_crms_are_asked(world: Servers) -> None:
    world.shop.admin.config({"crm": {"hubspot": {"access_token": ""}, "webhook": {"url": "", "secret": ""}}})
    request_id = file_request(world)
    assert run(world, request_id).status == "done"
    assert set(request_view(world, request_id)["outcomes"]) == {"pipedrive"}
    assert [c for c in hubspot(world)["contacts"] if c["properties"].get("email") == EMAIL]  # untouched


def test_a_hash_that_does_not_match_erases_nothing(world: Servers) -> None:
    request_id = file_request(world, "someone.else@example.com")
    with pytest.raises(PermanentError, match="hashes differ"):
        run(world, request_id, email=EMAIL)
    assert request_view(world, request_id)["outcomes"] == {}
    assert len(PipedriveSandbox(world.pipedrive.url).records("persons")) == 1


def test_a_request_gone_from_wordpress_fails_in_plain_words(world: Servers) -> None:
    """The event names the request: when WordPress no longer answers for it, the person may still be in a
    CRM, so the job fails (dead letter, shown on the Events screen) instead of skipping quietly."""
    long_ago = file_request(world, status="completed", completed_days_ago=31)
    for request_id in (long_ago, 999_999):
        with pytest.raises(
            PermanentError, match="nothing was erased in the CRM: erase the person there by hand"
        ):
            run(world, request_id)
    assert len(PipedriveSandbox(world.pipedrive.url).records("persons")) == 1


def test_a_request_deleted_before_the_crm_erasure_finished_is_still_carried_out(world: Servers) -> None:
    request_id = file_request(world)
    deleted = requests.delete(f"{world.woo.url}/sandbox/erasures/{request_id}", timeout=10).json()
    assert deleted == {"request_id": request_id, "kept": True}
    outcome = run(world, request_id)
    assert outcome.status == "done"
    view = request_view(world, request_id)
    assert view["status"] == "deleted" and view["outcomes"]["pipedrive"]["status"] == "done"
    assert PipedriveSandbox(world.pipedrive.url).records("persons") == []


def test_the_erasure_event_routes_to_this_job() -> None:
    from sidecar.jobs import registry

    data = {"email_hash": email_hash(EMAIL), "request_id": 9001}
    assert registry.actions_for("customer.erasure_requested", data) == ("privacy.erase",)
    assert registry.resolve("privacy.erase") is erase
