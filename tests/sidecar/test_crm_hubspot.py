"""crm.sync_order / crm.sync_contact into the HubSpot simulator: buyers, statuses, refunds, replays, consent.

Every test reads what HubSpot holds through the simulator (contacts, deals, line items, associations) and
what the shop holds (meta, notes); the job runs as the worker runs it (crm_harness.CrmShop.run).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
import requests
from crm_harness import (
    PORTAL,
    TOKEN,
    VALID_NIP,
    CrmShop,
    crm_config,
    crm_fixture,
    servers_fixture,
    unique_email,
)

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError, TransientError
from sidecar.jobs import crm as crm_jobs

FIXTURES = (crm_fixture, servers_fixture)  # imported for pytest

TRANSACTIONAL = {"email", "firstname", "lastname", "woo_marketing_consent"}
MARKETING = {"woo_consent_version", "woo_consent_at"}
CRM_META = (
    "_bpm_crm_id",
    "_bpm_crm_contact_id",
    "_bpm_crm_provider",
    "_bpm_crm_url",
    "_bpm_crm_stage",
    "_bpm_crm_hash",
    "_bpm_crm_synced_at",
)


SYSTEM = {"createdate", "hs_object_id", "lastmodifieddate", "hs_lastmodifieddate"}


def stored_contact(crm: CrmShop) -> dict:
    """The one contact's properties as HubSpot holds them, without the ones HubSpot sets itself: after a
    first upsert, exactly what was sent."""
    [contact] = crm.hubspot.contacts()
    return {k: v for k, v in contact["properties"].items() if k not in SYSTEM and v is not None}


def test_a_new_buyer_becomes_one_contact_and_one_deal_with_its_products(crm: CrmShop) -> None:
    email = unique_email("new")
    order = crm.order(
        billing={"email": email, "first_name": "Anna", "last_name": "Nowak"},
        items=[
            {"name": "Kawa ziarnista 1 kg", "price": "89.99", "qty": 2, "sku": "KAWA-1"},
            {"name": "Herbata", "price": "24.50", "qty": 1, "tax": "8", "sku": "HERB-1"},
        ],
    )
    outcome = crm.sync(order["id"])
    assert outcome.status == "done" and outcome.note

    [contact] = crm.hubspot.contacts()
    assert contact["properties"]["email"] == email
    assert (contact["properties"]["firstname"], contact["properties"]["lastname"]) == ("Anna", "Nowak")
    assert "company" not in contact["properties"] and "woo_nip" not in contact["properties"]
    [deal] = crm.hubspot.deals(order["id"])
    props = deal["properties"]
    assert props["dealname"] == f"Order #{order['number']}"
    assert Decimal(props["amount"]) == Decimal(order["total"])
    assert (props["pipeline"], props["dealstage"], props["deal_currency_code"]) == (
        "default",
        "contractsent",
        "PLN",
    )
    assert deal["associations"]["contacts"] == [contact["id"]]
    items = {i["properties"]["hs_sku"]: i for i in crm.hubspot.line_items()}
    assert set(items) == {"KAWA-1", "HERB-1"}
    assert (items["KAWA-1"]["properties"]["quantity"], items["KAWA-1"]["properties"]["price"]) == (
        "2",
        "89.99",
    )
    assert sorted(deal["associations"]["line_items"]) == sorted(i["id"] for i in items.values())

    meta = crm.meta(order["id"])
    assert meta["_bpm_crm_id"] == deal["id"] and meta["_bpm_crm_contact_id"] == contact["id"]
    assert meta["_bpm_crm_provider"] == "hubspot" and meta["_bpm_crm_stage"] == "contractsent"
    assert meta["_bpm_crm_url"] == f"https://app.hubspot.com/contacts/{PORTAL}/record/0-3/{deal['id']}"
    assert all(meta.get(k) for k in CRM_META)
    assert crm.notes(order["id"]) == [outcome.message] and deal["id"] in outcome.message


def test_a_returning_buyer_keeps_one_contact_with_two_deals(crm: CrmShop) -> None:
    email = unique_email("again")
    first = crm.order(billing={"email": email})
    second = crm.order(billing={"email": email.upper()})  # HubSpot compares e-mails case-insensitively
    crm.sync(first["id"])
    crm.sync(second["id"])
    [contact] = crm.hubspot.contacts()
    deals = crm.hubspot.deals()
    assert sorted(d["properties"]["woo_order_id"] for d in deals) == sorted(
        [str(first["id"]), str(second["id"])]
    )
    assert all(d["associations"]["contacts"] == [contact["id"]] for d in deals)
    assert crm.meta(first["id"])["_bpm_crm_contact_id"] == crm.meta(second["id"])["_bpm_crm_contact_id"]
    # The provider says whether the contact was new (the job then checks for an erasure meanwhile).
    hubspot = crm_jobs.provider_for("hubspot", crm.store.get_config(), AuditLog(None))
    state = crm.store.read_order(second["id"])
    payload = crm_jobs.build_payload(state, crm.store.get_config())
    assert hubspot.sync_order(payload.contact, payload.deal, payload.known).created is False
    fresh = crm_jobs.build_payload(
        crm.store.read_order(crm.order(billing={"email": unique_email("n")})["id"]), crm.store.get_config()
    )
    assert hubspot.sync_order(fresh.contact, fresh.deal, fresh.known).created is True


def test_a_business_buyer_carries_company_and_nip(crm: CrmShop) -> None:
    order = crm.order(billing={"email": unique_email("b2b"), "company": "Kowalski Sp. z o.o."}, nip=VALID_NIP)
    crm.sync(order["id"])
    [contact] = crm.hubspot.contacts()
    assert contact["properties"]["company"] == "Kowalski Sp. z o.o."
    assert contact["properties"]["woo_nip"] == VALID_NIP


def test_a_consumer_who_typed_a_company_is_a_contact_without_it(crm: CrmShop) -> None:
    order = crm.order(billing={"email": unique_email("b2c"), "company": "Mój Dom"})
    crm.sync(order["id"])
    assert "company" not in stored_contact(crm)
    [upsert] = crm.sent("/crm/v3/objects/contacts/batch/upsert")
    assert "company" not in upsert["inputs"][0]["properties"]


def test_the_deal_follows_the_order_through_every_status(crm: CrmShop) -> None:
    order = crm.order(billing={"email": unique_email("flow")}, status="pending", paid=False)
    stages = []
    for status in ("pending", "on-hold", "processing", "completed"):
        crm.shop.set_status(order["id"], status)
        crm.sync(order["id"])
        [deal] = crm.hubspot.deals(order["id"])
        stages.append(deal["properties"]["dealstage"])
    assert stages == ["appointmentscheduled", "qualifiedtobuy", "contractsent", "closedwon"]
    assert len(crm.hubspot.deals()) == 1
    # One note for the first sync, one per stage change; nothing else.
    assert len(crm.notes(order["id"])) == 4
    assert crm.meta(order["id"])["_bpm_crm_stage"] == "closedwon"


def test_an_unmapped_status_leaves_the_deal_where_it_is(crm: CrmShop) -> None:
    crm.configure({"crm": {"stages": {"on-hold": ""}}})
    order = crm.order(billing={"email": unique_email("unmapped")})
    crm.sync(order["id"])
    crm.shop.set_status(order["id"], "on-hold")
    assert crm.sync(order["id"]).note is False  # no stage change, no note
    [deal] = crm.hubspot.deals(order["id"])
    assert deal["properties"]["dealstage"] == "contractsent"
    fresh = crm.order(billing={"email": unique_email("unmapped-new")}, status="on-hold", paid=False)
    crm.sync(fresh["id"])
    [new_deal] = crm.hubspot.deals(fresh["id"])
    assert new_deal["properties"]["dealstage"] == "appointmentscheduled"  # the pipeline's first stage
    crm.configure({"crm": {"stages": {"on-hold": "qualifiedtobuy"}}})


def test_a_refund_lowers_the_amount_and_a_full_refund_loses_the_deal(crm: CrmShop) -> None:
    order = crm.order(
        billing={"email": unique_email("refund")}, items=[{"name": "Kubek", "price": "50.00", "qty": 2}]
    )
    crm.sync(order["id"])
    line = order["line_items"][0]["id"]
    crm.shop.refund(order["id"], {"items": [{"line_item_id": line, "qty": 1}], "reason": "damaged"})
    crm.sync(order["id"])
    [deal] = crm.hubspot.deals(order["id"])
    assert Decimal(deal["properties"]["amount"]) == Decimal("50.00")
    assert deal["properties"]["dealstage"] == "contractsent"
    crm.shop.refund(order["id"], {"items": [{"line_item_id": line, "qty": 1}], "reason": "damaged"})
    crm.sync(order["id"])  # the second refund took the rest: WooCommerce made the order "refunded"
    [deal] = crm.hubspot.deals(order["id"])
    assert (Decimal(deal["properties"]["amount"]), deal["properties"]["dealstage"]) == (
        Decimal("0.00"),
        "closedlost",
    )


def test_a_cancelled_order_is_a_lost_deal(crm: CrmShop) -> None:
    order = crm.order(billing={"email": unique_email("cancel")}, status="pending", paid=False)
    crm.sync(order["id"])
    crm.shop.set_status(order["id"], "cancelled")
    crm.sync(order["id"])
    [deal] = crm.hubspot.deals(order["id"])
    assert deal["properties"]["dealstage"] == "closedlost"
    assert "closedate" not in deal["properties"]  # never paid, never completed


def test_invoice_number_and_return_state_reach_the_deal(crm: CrmShop) -> None:
    order = crm.order(billing={"email": unique_email("invoice")})
    crm.sync(order["id"])
    pdf = "https://sandbox.fakturownia.pl/invoices/1.pdf"
    crm.shop.put_meta(order["id"], {"_bpm_invoice_number": "FV 1/12/2026", "_bpm_invoice_url": pdf})
    crm.shop.put_meta(order["id"], {"_bpm_rma_state": "approved"})
    crm.sync(order["id"])
    [deal] = crm.hubspot.deals(order["id"])
    assert deal["properties"]["woo_invoice_number"] == "FV 1/12/2026"
    assert deal["properties"]["woo_invoice_url"] == pdf
    assert deal["properties"]["woo_return_state"] == "approved"


def test_a_replayed_event_costs_no_hubspot_request_and_a_lost_write_back_no_second_deal(crm: CrmShop) -> None:
    order = crm.order(billing={"email": unique_email("replay")})
    crm.sync(order["id"])
    before = crm.hubspot.limits()["requests"]
    again = crm.sync(order["id"])  # the same event delivered twice
    assert again.status == "skipped" and not again.note
    assert crm.hubspot.limits()["requests"] == before  # identical payload: HubSpot is not called
    # ... and nothing is written: a write would change the order and make the sweep take it for behind.
    assert again.write is None
    # The write-back of an earlier run was lost: no ids, no hash on the order; the upserts find the records.
    crm.shop.put_meta(order["id"], {k: "" for k in CRM_META})
    crm.sync(order["id"])
    assert len(crm.hubspot.deals(order["id"])) == 1
    assert len(crm.hubspot.contacts()) == 1
    assert len(crm.hubspot.line_items()) == 1  # upserted by woo_line_key, not added again


def test_products_off_sends_no_line_items(crm: CrmShop) -> None:
    crm.configure({"crm": {"line_items": False}})
    try:
        order = crm.order(billing={"email": unique_email("lines")})
        crm.sync(order["id"])
        [deal] = crm.hubspot.deals(order["id"])
        assert crm.hubspot.line_items() == [] and "line_items" not in deal["associations"]
    finally:
        crm.configure({"crm": {"line_items": True}})


@pytest.mark.parametrize("granted", [False, True], ids=["no-consent", "consent"])
def test_consent_decides_exactly_which_contact_properties_are_sent(crm: CrmShop, granted: bool) -> None:
    """Fails on any extra property in the contact payload — the data-minimisation contract."""
    consent = {"granted": granted, "version": "v2", "at": "2026-12-01T10:00:00Z", "source": "checkout"}
    order = crm.order(billing={"email": unique_email("consent"), "phone": "+48500100200"}, consent=consent)
    crm.sync(order["id"])
    [upsert] = crm.sent("/crm/v3/objects/contacts/batch/upsert")
    [contact] = upsert["inputs"]
    assert set(contact) == {"idProperty", "id", "properties"}
    # The consent's version and time are always sent: empty ("" clears a HubSpot property) without consent.
    assert set(contact["properties"]) == TRANSACTIONAL | MARKETING
    stored = stored_contact(crm)  # and HubSpot holds exactly that
    assert {k for k, v in stored.items() if v} == TRANSACTIONAL | (MARKETING if granted else set())
    assert stored["woo_marketing_consent"] == ("true" if granted else "false")
    expected = ("v2", "2026-12-01T10:00:00Z") if granted else ("", "")
    assert (stored.get("woo_consent_version", ""), stored.get("woo_consent_at", "")) == expected


def test_a_withdrawn_consent_updates_the_contact(crm: CrmShop) -> None:
    customer = 4242
    consent = {"granted": True, "version": "v1", "source": "checkout"}
    order = crm.order(billing={"email": unique_email("withdraw")}, customer_id=customer, consent=consent)
    crm.sync(order["id"])
    assert stored_contact(crm)["woo_consent_version"] == "v1"  # the consent HubSpot held before
    crm.shop._call("PUT", f"/customers/{customer}/consent", {"granted": False, "source": "my-account"})
    outcome = crm.run("crm.sync_contact", order["id"], customer_id=customer)
    assert outcome.status == "done" and "withdrawn" in outcome.message
    stored = stored_contact(crm)  # the contact HubSpot holds now: no trace of the withdrawn consent
    assert stored["woo_marketing_consent"] == "false"
    assert (stored.get("woo_consent_version", ""), stored.get("woo_consent_at", "")) == ("", "")  # cleared
    last = crm.sent("/crm/v3/objects/contacts/batch/upsert")[-1]["inputs"][0]["properties"]
    assert (last["woo_consent_version"], last["woo_consent_at"]) == ("", "")  # "" clears them


def test_a_refused_e_mail_is_told_in_plain_words(crm: CrmShop) -> None:
    order = crm.order(billing={"email": "not-an-email"})
    with pytest.raises(PermanentError) as refused:
        crm.sync(order["id"])
    assert refused.value.reason.startswith(
        "HubSpot refused the contact: Property values were not valid: email"
    )
    assert crm.hubspot.deals(order["id"]) == []


def test_a_wrong_token_is_named(crm: CrmShop) -> None:
    crm.configure({"crm": {"hubspot": {"access_token": "pat-na1-wrong"}}})
    try:
        order = crm.order(billing={"email": unique_email("token")})
        with pytest.raises(PermanentError, match="HubSpot refused the access token"):
            crm.sync(order["id"])
    finally:
        crm.configure(crm_config(crm.hub.url))


def test_crm_off_is_skipped_without_a_note(crm: CrmShop) -> None:
    crm.configure({"crm": {"provider": "none"}})
    try:
        order = crm.order(billing={"email": unique_email("off")})
        outcome = crm.sync(order["id"])
        assert outcome.status == "skipped" and not outcome.note and outcome.write is None
        assert crm.hubspot.limits()["requests"] == 0
    finally:
        crm.configure(crm_config(crm.hub.url))


def test_a_daily_limit_is_a_long_wait_in_plain_words(crm: CrmShop) -> None:
    crm.hubspot.set_limits(daily_max=0)
    try:
        order = crm.order(billing={"email": unique_email("daily")})
        with pytest.raises(TransientError) as waiting:
            crm.sync(order["id"])
        assert "daily API limit" in waiting.value.reason and (waiting.value.retry_after or 0) >= 60
    finally:
        crm.hubspot.set_limits(daily_max=250000)


def test_a_status_change_costs_five_hubspot_requests(crm: CrmShop) -> None:
    """Contact upsert, deal upsert, line items upsert, their links (idempotent: a lost link comes back)
    and the read of the keys past the order's lines (a removed line is archived)."""
    order = crm.order(billing={"email": unique_email("cost")})
    crm.sync(order["id"])
    before = crm.hubspot.limits()["requests"]
    crm.shop.set_status(order["id"], "completed")
    crm.sync(order["id"])
    assert crm.hubspot.limits()["requests"] - before == 5
    [deal] = crm.hubspot.deals(order["id"])
    assert len(deal["associations"]["line_items"]) == 1 and len(deal["associations"]["contacts"]) == 1


def test_lines_are_linked_every_time_and_removed_lines_archived(crm: CrmShop) -> None:
    order = crm.order(
        billing={"email": unique_email("lines")},
        items=[{"name": f"Kubek {n}", "price": "10.00", "qty": 1, "sku": f"K-{n}"} for n in range(1, 4)],
    )
    crm.sync(order["id"])
    config = crm.store.get_config()
    hubspot = crm_jobs.provider_for("hubspot", config, AuditLog(None))
    payload = crm_jobs.build_payload(crm.store.read_order(order["id"]), config)
    [deal] = crm.hubspot.deals(order["id"])
    lost = crm.hubspot.line_items()[0]["id"]  # a link removed in HubSpot (or lost with an answer)
    gone = requests.delete(
        f"{crm.hub.url}/crm/v4/objects/line_items/{lost}/associations/deals/{deal['id']}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert gone.status_code == 204, gone.text
    shorter = dataclasses.replace(payload.deal, line_items=payload.deal.line_items[:2])  # an edited order
    hubspot.sync_order(payload.contact, shorter, payload.known)
    [deal] = crm.hubspot.deals(order["id"])
    kept = sorted(i["properties"]["woo_line_key"] for i in crm.hubspot.line_items())
    assert kept == [f"{order['id']}-1", f"{order['id']}-2"]  # the third line is archived
    assert sorted(deal["associations"]["line_items"]) == sorted(i["id"] for i in crm.hubspot.line_items())


def test_a_conflict_on_a_batch_of_lines_is_resolved_input_by_input(crm: CrmShop) -> None:
    """HubSpot may answer an upsert racing a fresh create with 409 for the whole batch: the lines are sent
    again in halves down to the one that conflicts, whose 409 names the record to update."""
    order = crm.order(
        billing={"email": unique_email("conflict")},
        items=[{"name": f"Kawa {n}", "price": "20.00", "qty": 1, "sku": f"KW-{n}"} for n in range(1, 3)],
    )
    crm.sync(order["id"])
    crm.hubspot._call("POST", "/batch", {"conflict_seconds": 30})
    try:
        crm.shop.set_status(order["id"], "completed")
        assert crm.sync(order["id"]).status == "done"
    finally:
        crm.hubspot._call("POST", "/batch", {"conflict_seconds": 0})
    assert len(crm.hubspot.line_items()) == 2 and len(crm.hubspot.deals(order["id"])) == 1
    [deal] = crm.hubspot.deals(order["id"])
    assert deal["properties"]["dealstage"] == "closedwon"


@pytest.mark.parametrize("fault", ["503", "drop_after_commit"])
def test_a_failed_or_lost_deal_write_is_retried_into_the_same_deal(crm: CrmShop, fault: str) -> None:
    """HubSpot down for a moment, or the deal written and its answer lost on the way: the retry upserts
    by woo_order_id again and finds the one deal."""
    order = crm.order(billing={"email": unique_email(f"lost-{fault}")})
    crm.hubspot.fault(mode=fault, match="POST /crm/v3/objects/deals/batch/upsert", count=1)
    with pytest.raises(TransientError):
        crm.sync(order["id"])
    assert crm.meta(order["id"]).get("_bpm_crm_id", "") == ""  # nothing written back: the job is retried
    assert len(crm.hubspot.deals(order["id"])) == (1 if fault == "drop_after_commit" else 0)
    assert crm.sync(order["id"]).status == "done"
    assert len(crm.hubspot.deals(order["id"])) == 1 and len(crm.hubspot.contacts()) == 1


def test_a_batch_with_one_conflicting_contact_is_split_not_sent_order_by_order(crm: CrmShop) -> None:
    """The backfill's batches: a 409 for one just-created contact halves the contacts' batch down to that
    one; the deals still go in one batch request."""
    first = crm.order(billing={"email": unique_email("split")})
    crm.sync(first["id"])
    email = crm.store.read_order(first["id"]).order["billing"]["email"]
    orders = [crm.order(billing={"email": email})] + [
        crm.order(billing={"email": unique_email(f"split-{n}")}) for n in range(3)
    ]
    config = crm.store.get_config()
    hubspot = crm_jobs.provider_for("hubspot", config, AuditLog(crm.audit_dir))
    items = []
    for order in orders:
        payload = crm_jobs.build_payload(crm.store.read_order(order["id"]), config)
        items.append((payload.contact, payload.deal, payload.known))
    deal_batches = len(crm.sent("/crm/v3/objects/deals/batch/upsert"))
    crm.hubspot._call("POST", "/batch", {"conflict_seconds": 30})
    try:
        results = hubspot.sync_batch(items)
    finally:
        crm.hubspot._call("POST", "/batch", {"conflict_seconds": 0})
    assert all(not isinstance(r, Exception) for r in results), results
    assert len(crm.sent("/crm/v3/objects/deals/batch/upsert")) - deal_batches == 1
    assert len(crm.hubspot.contacts()) == 4 and len(crm.hubspot.deals()) == 5


def test_moving_to_another_hubspot_account_sends_the_order_again(crm: CrmShop) -> None:
    """The account (portal) is part of what was sent: another portal gets the order again, and the ids of
    the old portal's records are not handed to the new one as known."""
    order = crm.order(billing={"email": unique_email("moved")})
    crm.sync(order["id"])
    assert crm.sync(order["id"]).status == "skipped"  # unchanged, same portal
    crm.configure({"crm": {"hubspot": {"portal_id": "999000111"}}})
    try:
        payload = crm_jobs.build_payload(crm.store.read_order(order["id"]), crm.store.get_config())
        assert payload.known == crm_jobs.Known()
        assert crm.sync(order["id"]).status == "done"
        assert crm.sync(order["id"]).status == "skipped"  # and then it is known there
    finally:
        crm.configure(crm_config(crm.hub.url))
