"""The webhook destination against the webhook receiver simulator: a signed, verifiable, minimised and
documented message per order change, retried on 5xx with the same ``webhook-id`` (so the receiver drops
the copy), permanent on other 4xx, the erasure notice with the e-mail hash only; and the whole path from a
WooCommerce order through ``crm.sync_order``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from pipedrive_harness import Shop, WebhookSink

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError, TransientError
from sidecar.jobs import crm
from sidecar.providers.crm import build_provider
from sidecar.providers.crm.base import Contact, Deal, Known, LineItem
from sidecar.providers.crm.webhook import email_hash
from sidecar.sandbox import ServedApp, load_factory
from sidecar.signing import new_secret, verify

SECRET = new_secret()
JAN = Contact("jan@example.com", "Jan", "Kowalski", "", "", False, "", None)
DEAL = Deal(
    order_id=7, number="7", name="Order #7", amount=Decimal("203.48"), currency="PLN", status="processing",
    stage="contractsent", pipeline="default", close_date=None, created_at="2026-12-01T10:00:00Z",
    invoice_number="FV 1/12/2026", invoice_url="https://faktury.example/1.pdf", return_state="",
    line_items=(LineItem("Kawa", 2, Decimal("89.99"), "KAWA-1"),),
)  # fmt: skip
# The documented message (docs/contract.md "CRM webhook messages"): a new key must be documented first.
ORDER_KEYS = {
    "id", "number", "status", "stage", "total", "currency", "created_at", "closed_at", "invoice_number",
    "invoice_url", "return_state", "items",
}  # fmt: skip
CUSTOMER_KEYS = {
    "email",
    "first_name",
    "last_name",
    "company",
    "nip",
    "marketing_consent",
    "consent_version",
    "consent_at",
}
ITEM_KEYS = {"name", "quantity", "unit_price", "sku"}


@pytest.fixture(scope="module")
def sink_app() -> Iterator[ServedApp]:
    with ServedApp(load_factory("webhook")(secret=SECRET)) as app:
        yield app


@pytest.fixture
def sink(sink_app: ServedApp) -> WebhookSink:
    box = WebhookSink(sink_app.url)
    box.reset()
    return box


def crm_settings(url: str, secret: str = SECRET) -> dict[str, Any]:
    return {"provider": "webhook", "webhook": {"url": url, "secret": secret}}


def provider(sink: WebhookSink, **override: Any) -> Any:
    return build_provider("webhook", crm_settings(f"{sink.url}/hooks/n8n", **override), AuditLog(None))


def test_message_is_signed_and_verifiable_with_the_webhooks_own_secret(sink: WebhookSink) -> None:
    synced = provider(sink).sync_order(JAN, DEAL, Known())
    [delivery] = sink.deliveries()
    headers = delivery["headers"]
    raw = json.dumps(delivery["body"], ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    assert verify([SECRET], headers, raw) == synced.deal_id == headers["webhook-id"]
    with pytest.raises(Exception, match="no signature matches"):
        verify([new_secret()], headers, raw)  # the event secret (or any other) does not verify it
    body = delivery["body"]
    assert (body["type"], body["version"]) == ("order.synced", 1)
    assert body["order"]["total"] == "203.48" and body["order"]["items"][0]["unit_price"] == "89.99"


def test_a_receiver_refuses_a_wrong_secret(sink: WebhookSink) -> None:
    sink.receiver(secret=new_secret())
    with pytest.raises(PermanentError, match="HTTP 401"):
        provider(sink).sync_order(JAN, DEAL, Known())
    assert sink.snapshot()["refused"][0]["reason"] == "no signature matches a configured secret"


def test_payload_is_exactly_the_documented_minimised_fields() -> None:
    """From a fully populated WooCommerce order through privacy.for_crm and the job's mapping: an extra
    key anywhere fails, and nothing of the address, phone, note or IP appears."""
    from sidecar.providers.crm.webhook import order_message
    from sidecar.store import OrderState

    order = {
        "id": 7, "number": "7", "status": "processing", "currency": "PLN", "total": "203.48",
        "date_created_gmt": "2026-12-01T10:00:00", "date_paid_gmt": None, "date_completed_gmt": None,
        "customer_note": "Zostawić u sąsiada", "customer_ip_address": "203.0.113.9",
        "billing": {"first_name": "Jan", "last_name": "Kowalski", "company": "Kowalski sp. z o.o.",
                    "email": "Jan@Example.com", "phone": "+48 501 202 303", "address_1": "ul. Długa 3/5",
                    "city": "Kraków", "postcode": "30-001", "country": "PL"},
        "shipping": {"address_1": "ul. Krótka 1", "phone": "+48 600 700 800"},
        "meta_data": [{"key": "_billing_nip", "value": "5260250274"}],
        "line_items": [{"name": "Kawa", "quantity": 2, "total": "146.33", "total_tax": "33.65", "sku": "K1",
                        "meta_data": [{"key": "Grawer", "value": "Dla Ani"}]}],
    }  # fmt: skip
    state = OrderState(order, {"_bpm_invoice_number": "FV 1"}, [], {"marketing": False})
    payload = crm.build_payload(state, {"crm": {"provider": "webhook"}})
    message = order_message(payload.contact, payload.deal)
    assert set(message) == {"type", "version", "order", "customer"}
    assert set(message["order"]) == ORDER_KEYS
    assert set(message["customer"]) == CUSTOMER_KEYS
    assert {k for item in message["order"]["items"] for k in item} == ITEM_KEYS
    text = json.dumps(message, ensure_ascii=False)
    for private in (
        "501 202",
        "600 700",
        "Długa",
        "Krótka",
        "Kraków",
        "30-001",
        "sąsiada",
        "203.0.113",
        "Ani",
    ):
        assert private not in text
    assert message["customer"]["nip"] == "5260250274" and message["customer"]["email"] == "jan@example.com"
    assert message["customer"]["marketing_consent"] is False and message["customer"]["consent_at"] is None


def test_5xx_is_retried_with_the_same_id_and_the_receiver_drops_the_copy(sink: WebhookSink) -> None:
    sink.fault(mode="503")
    with pytest.raises(TransientError, match="HTTP 503"):
        provider(sink).sync_order(JAN, DEAL, Known())
    sink.fault(mode="drop_after_commit")  # delivered, but the answer never came back
    with pytest.raises(TransientError):
        provider(sink).sync_order(JAN, DEAL, Known())
    synced = provider(sink).sync_order(JAN, DEAL, Known())  # the framework's next retry
    [delivery] = sink.deliveries()
    assert delivery["id"] == synced.deal_id and sink.snapshot()["duplicates"] == 1


def test_429_waits_for_retry_after_and_other_4xx_are_permanent(sink: WebhookSink) -> None:
    sink.fault(mode="429", retry_after=7)
    with pytest.raises(TransientError) as caught:
        provider(sink).sync_order(JAN, DEAL, Known())
    assert caught.value.retry_after == 7
    sink.receiver(status=410)
    with pytest.raises(PermanentError, match="refused order 7 with HTTP 410"):
        provider(sink).sync_order(JAN, DEAL, Known())


def test_ids_stay_for_one_message_and_change_with_the_next(sink: WebhookSink) -> None:
    first = provider(sink).sync_order(JAN, DEAL, Known())
    assert provider(sink).sync_order(JAN, DEAL, Known()).deal_id == first.deal_id  # the same send again
    second = provider(sink).sync_order(JAN, replace(DEAL, status="completed"), Known("", first.deal_id))
    back = provider(sink).sync_order(JAN, DEAL, Known("", second.deal_id))  # back to the first state
    assert len({first.deal_id, second.deal_id, back.deal_id}) == 3
    assert len(sink.deliveries()) == 3


def test_erasure_notice_carries_only_the_email_hash(sink: WebhookSink) -> None:
    said = provider(sink).erase("Jan@Example.com")
    [delivery] = sink.deliveries()
    assert delivery["body"] == {
        "type": "customer.erased",
        "version": 1,
        "customer": {"email_hash": email_hash("jan@example.com")},
    }
    assert "jan@example.com" not in json.dumps(delivery).lower()
    assert delivery["id"] in said


def test_unusable_settings_are_plain_permanent_errors(sink: WebhookSink) -> None:
    with pytest.raises(PermanentError, match="must start with https://"):
        build_provider("webhook", crm_settings("http://flows.example.com/hook"), AuditLog(None))
    with pytest.raises(PermanentError, match="secret is not usable"):
        build_provider("webhook", crm_settings(f"{sink.url}/hooks/n8n", "not-a-secret"), AuditLog(None))
    with pytest.raises(PermanentError, match="has no URL"):
        build_provider("webhook", crm_settings(""), AuditLog(None))


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    secret = new_secret()
    app = load_factory("woo")([secret], "bpm-api", Shop.PASSWORD, "http://127.0.0.1")
    with ServedApp(app) as served:
        yield Shop(served.url, secret)


def test_an_order_reaches_the_flow_through_the_sync_job(shop: Shop, sink: WebhookSink) -> None:
    shop.admin.config({"crm": crm_settings(f"{sink.url}/hooks/n8n") | {"stages": {"processing": "paid"}}})
    order = shop.admin.create_order({"items": [{"name": "Kawa", "price": "89.99", "qty": 2, "tax": "23"}]})
    outcome = shop.run(crm.sync_order, "order.paid", {"order_id": order["id"]})
    assert outcome.status == "done"
    [delivery] = sink.deliveries()
    assert delivery["body"]["order"]["id"] == order["id"] and delivery["body"]["order"]["stage"] == "paid"
    assert outcome.write.meta["_bpm_crm_id"] == delivery["id"]


def test_consent_on_or_off_changes_exactly_the_consent_fields() -> None:
    from sidecar.providers.crm.webhook import order_message
    from sidecar.store import OrderState

    billing = {"first_name": "Ewa", "last_name": "Lis", "email": "ewa@example.com"}
    order = {
        "id": 8,
        "number": "8",
        "status": "processing",
        "currency": "PLN",
        "total": "10.00",
        "billing": billing,
    }
    consent = {"marketing": True, "version": "v2", "at": "2026-12-01T10:00:00Z", "source": "checkout"}

    def message(record: dict[str, Any]) -> dict[str, Any]:
        payload = crm.build_payload(OrderState(order, {}, [], record), {"crm": {"provider": "webhook"}})
        return order_message(payload.contact, payload.deal)

    with_consent, without = message(consent), message({"marketing": False, "version": "v2", "at": None})
    assert (
        with_consent["customer"] | {"marketing_consent": False, "consent_version": None, "consent_at": None}
        == (without["customer"])
    )
    assert (with_consent["customer"]["consent_version"], with_consent["customer"]["consent_at"]) == (
        "v2",
        "2026-12-01T10:00:00Z",
    )
    assert with_consent["order"] == without["order"]


def test_a_consumer_who_typed_a_company_is_sent_without_it_and_consent_needs_its_time() -> None:
    """Company only for a B2B buyer (a NIP on the order); marketing only with a recorded consent time."""
    from sidecar.providers.crm.webhook import order_message
    from sidecar.store import OrderState

    billing = {"first_name": "Ewa", "last_name": "Lis", "email": "ewa@example.com", "company": "Dom"}
    order = {
        "id": 9,
        "number": "9",
        "status": "processing",
        "currency": "PLN",
        "total": "1.00",
        "billing": billing,
    }
    untimed = {"marketing": True, "version": "v2", "at": None, "source": "checkout"}
    payload = crm.build_payload(OrderState(order, {}, [], untimed), {"crm": {"provider": "webhook"}})
    customer = order_message(payload.contact, payload.deal)["customer"]
    assert customer["company"] == "" and customer["nip"] == ""
    assert (customer["marketing_consent"], customer["consent_version"], customer["consent_at"]) == (
        False,
        None,
        None,
    )
    b2b = order | {"meta_data": [{"key": "_billing_nip", "value": "5252344078"}]}
    payload = crm.build_payload(OrderState(b2b, {}, [], {}), {"crm": {"provider": "webhook"}})
    assert (payload.contact.company, payload.contact.nip) == ("Dom", "5252344078")


def test_ids_of_another_account_or_flow_are_not_known() -> None:
    from sidecar.store import OrderState

    order = {"id": 5, "number": "5", "status": "processing", "currency": "PLN", "total": "1.00"}
    order["billing"] = {"email": "ewa@example.com"}
    config = {"crm": {"provider": "webhook", "webhook": {"url": "https://flows.example/a"}}}
    account = crm.build_payload(OrderState(order, {}, [], {}), config).digest.partition(".")[0]
    meta = {"_bpm_crm_provider": "webhook", "_bpm_crm_id": "msg_1"}

    def known(stored_hash: str) -> str:
        state = OrderState(order, {**meta, "_bpm_crm_hash": stored_hash}, [], {})
        return crm.build_payload(state, config).known.deal_id

    assert known(f"{account}.abc") == "msg_1"
    assert known("abc") == "msg_1"  # a hash from before accounts were recorded
    assert known("0123456789ab.abc") == ""  # another flow's message ids


def test_consent_flips_are_new_messages(sink: WebhookSink) -> None:
    on = replace(JAN, marketing=True, consent_version="v1", consent_at="2026-12-01T10:00:00Z")
    first = provider(sink).sync_contact(JAN, Known("", "msg_order"))
    second = provider(sink).sync_contact(on, Known(first, "msg_order"))
    third = provider(sink).sync_contact(JAN, Known(second, "msg_order"))  # withdrawn again
    assert len({first, second, third}) == 3 and len(sink.deliveries()) == 3
    assert [d["body"]["type"] for d in sink.deliveries()] == ["contact.synced"] * 3
