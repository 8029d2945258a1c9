"""The HubSpot CRM simulator answers as the reference notes say: private-app auth, contact upsert by e-mail
with per-input errors, the 409 "Existing ID" conflict, unique deal properties, deal stages of the pipeline,
properties, pipelines, associations and line items, search lag, GDPR delete, rate limits and faults."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_client import HubspotSandbox

from sidecar.sandbox import ServedApp, load_factory
from sidecar.sandbox.hubspot.limits import Limits

TOKEN, OTHER_TOKEN = "pat-na1-test-hubspot-0001", "pat-na1-test-hubspot-0002"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
WOO_ORDER_ID = {
    "name": "woo_order_id",
    "label": "WooCommerce order ID",
    "type": "string",
    "fieldType": "text",
    "groupName": "dealinformation",
    "hasUniqueValue": True,
}
STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
]


@pytest.fixture(scope="module")
def served() -> Iterator[ServedApp]:
    with ServedApp(load_factory("hubspot")(token=TOKEN, others=(OTHER_TOKEN,))) as running:
        yield running


@pytest.fixture
def sandbox(served: ServedApp) -> HubspotSandbox:
    control = HubspotSandbox(served.url)
    control.reset()
    control.search_lag(0)
    return control


@pytest.fixture
def url(sandbox: HubspotSandbox) -> str:
    return sandbox.url


def call(url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    return requests.request(
        method, f"{url}{path}", json=body, headers=AUTH if headers is None else headers, timeout=5
    )


def upsert(url: str, kind: str, id_property: str, *entries: tuple[str, dict[str, Any]]) -> requests.Response:
    inputs = [{"idProperty": id_property, "id": key, "properties": props} for key, props in entries]
    return call(url, "POST", f"/crm/v3/objects/{kind}/batch/upsert", {"inputs": inputs})


def with_order_property(url: str) -> None:
    assert call(url, "POST", "/crm/v3/properties/deals", WOO_ORDER_ID).status_code == 201


def deal(url: str, order_id: str, **props: Any) -> requests.Response:
    return upsert(
        url,
        "deals",
        "woo_order_id",
        (order_id, {"dealname": f"Order {order_id}", "dealstage": "appointmentscheduled", **props}),
    )


def validation_results(message: str) -> list[dict[str, Any]]:
    head, _, rest = message.partition(": ")
    assert head == "Property values were not valid", message
    return json.loads(rest)


def test_bearer_token(url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer pat-na1-wrong"}, {"Authorization": TOKEN}):
        refused = call(url, "GET", "/crm/v3/pipelines/deals", headers=headers)
        body = refused.json()
        assert refused.status_code == 401, body
        assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found")
        assert UUID.match(body["correlationId"])
    assert call(url, "GET", "/crm/v3/pipelines/deals").status_code == 200
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}  # a second private app of the same account
    assert call(url, "GET", "/crm/v3/pipelines/deals", headers=other).status_code == 200


def test_missing_scope_is_403(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.account(scopes_missing=["crm.objects.deals.write"])
    refused = call(url, "POST", "/crm/v3/objects/deals", {"properties": {"dealstage": "closedwon"}})
    assert refused.status_code == 403 and refused.json()["category"] == "MISSING_SCOPES"
    context = refused.json()["errors"][0]["context"]
    assert context == {"requiredGranularScopes": ["crm.objects.deals.write"]}
    assert call(url, "GET", "/crm/v3/pipelines/deals").status_code == 200


def test_contact_upsert_by_email_case_insensitive(url: str, sandbox: HubspotSandbox) -> None:
    first = upsert(url, "contacts", "email", ("Jan@Example.PL", {"firstname": "Jan", "lastname": "Kowalski"}))
    body = first.json()
    assert first.status_code == 200, body
    assert body["status"] == "COMPLETE" and {"requestedAt", "startedAt", "completedAt"} <= set(body)
    assert "errors" not in body and "numErrors" not in body
    (created,) = body["results"]
    assert created["new"] is True and created["archived"] is False
    assert created["properties"]["email"] == "jan@example.pl"
    assert created["properties"]["hs_object_id"] == created["id"]
    again = upsert(url, "contacts", "email", ("jan@example.pl", {"company": "Kawa sp. z o.o."})).json()
    (updated,) = again["results"]
    assert updated["id"] == created["id"] and updated["new"] is False
    (held,) = sandbox.contacts()
    assert held["properties"]["company"] == "Kawa sp. z o.o." and held["properties"]["firstname"] == "Jan"
    assert sandbox.counts()["contacts"] == 1


def test_batch_upsert_reports_each_bad_input(url: str, sandbox: HubspotSandbox) -> None:
    answer = upsert(
        url,
        "contacts",
        "email",
        ("ok@example.pl", {"firstname": "Ok"}),
        ("not-an-address", {"firstname": "Bad"}),
        ("extra@example.pl", {"favourite_colour": "blue"}),
    )
    body = answer.json()
    assert answer.status_code == 207, body
    assert body["status"] == "COMPLETE" and body["numErrors"] == 2
    assert [r["properties"]["email"] for r in body["results"]] == ["ok@example.pl"]
    by_id = {e["context"]["ids"][0]: e for e in body["errors"]}
    assert set(by_id) == {"not-an-address", "extra@example.pl"}
    for entry in body["errors"]:
        assert entry["status"] == "error" and entry["category"] == "VALIDATION_ERROR"
    (email,) = validation_results(by_id["not-an-address"]["message"])
    assert email == {
        "isValid": False,
        "message": "Email address not-an-address is invalid",
        "error": "INVALID_EMAIL",
        "name": "email",
    }
    (unknown,) = validation_results(by_id["extra@example.pl"]["message"])
    assert unknown["error"] == "PROPERTY_DOESNT_EXIST" and unknown["name"] == "favourite_colour"
    assert by_id["extra@example.pl"]["context"]["propertyName"] == ["favourite_colour"]
    assert [c["properties"]["email"] for c in sandbox.contacts()] == ["ok@example.pl"]


def test_whole_batch_mode_refuses_everything(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.batch(errors="whole_batch")
    answer = upsert(url, "contacts", "email", ("ok@example.pl", {}), ("bad", {}))
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"
    assert sandbox.contacts() == []


def test_batch_limits_and_duplicate_ids(url: str) -> None:
    many = [(f"c{i}@example.pl", {}) for i in range(101)]
    too_many = upsert(url, "contacts", "email", *many)
    assert too_many.status_code == 400 and too_many.json()["category"] == "VALIDATION_ERROR"
    assert "100" in too_many.json()["message"]
    doubled = upsert(url, "contacts", "email", ("a@example.pl", {}), ("A@example.pl", {}))
    assert doubled.status_code == 400 and "Duplicate IDs" in doubled.json()["message"]
    assert upsert(url, "contacts", "email", *many[:100]).status_code == 200


def test_create_duplicate_contact_is_409_with_the_existing_id(url: str) -> None:
    created = call(url, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "anna@example.pl"}})
    assert created.status_code == 201, created.json()
    existing = created.json()["id"]
    again = call(url, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "ANNA@example.pl"}})
    body = again.json()
    assert again.status_code == 409, body
    assert body["status"] == "error" and body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {existing}"
    assert UUID.match(body["correlationId"])
    batch = call(
        url,
        "POST",
        "/crm/v3/objects/contacts/batch/create",
        {
            "inputs": [
                {"properties": {"email": "new@example.pl"}},
                {"properties": {"email": "anna@example.pl"}},
            ]
        },
    )
    assert batch.status_code == 409 and f"Existing ID: {existing}" in batch.json()["message"]
    missing = call(url, "GET", "/crm/v3/objects/contacts/new@example.pl?idProperty=email")
    assert missing.status_code == 404  # a batch create is all or nothing


def test_contact_read_and_patch_by_email(url: str) -> None:
    upsert(url, "contacts", "email", ("ewa@example.pl", {"firstname": "Ewa"}))
    read = call(url, "GET", "/crm/v3/objects/contacts/EWA@example.pl?idProperty=email")
    assert read.status_code == 200 and read.json()["properties"]["firstname"] == "Ewa"
    assert set(read.json()["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    patched = call(
        url,
        "PATCH",
        "/crm/v3/objects/contacts/ewa@example.pl?idProperty=email",
        {"properties": {"city": "Gdańsk"}},
    )
    assert patched.status_code == 200 and patched.json()["properties"]["city"] == "Gdańsk"
    by_id = call(url, "GET", f"/crm/v3/objects/contacts/{read.json()['id']}?properties=city,nosuch")
    assert by_id.json()["properties"] == {"city": "Gdańsk"}
    bad = call(url, "PATCH", f"/crm/v3/objects/contacts/{read.json()['id']}", {"properties": {"nope": "1"}})
    assert bad.status_code == 400 and validation_results(bad.json()["message"])[0]["name"] == "nope"
    assert call(url, "PATCH", "/crm/v3/objects/contacts/999", {"properties": {}}).status_code == 404


def test_property_values_are_checked_by_type(url: str) -> None:
    with_order_property(url)
    refused = deal(url, "7", amount="12,50", closedate="tomorrow", hs_object_id="5")
    errors = {r["name"]: r["error"] for r in validation_results(refused.json()["errors"][0]["message"])}
    assert errors == {
        "amount": "INVALID_FLOAT",
        "closedate": "INVALID_DATE",
        "hs_object_id": "READ_ONLY_VALUE",
    }
    spaced = deal(url, "7", closedate="2026-12-03 10:00:00").json()  # ISO 8601 or epoch ms only
    assert validation_results(spaced["errors"][0]["message"])[0]["error"] == "INVALID_DATE"
    ok = deal(url, "7", amount="12.50", closedate="2026-12-03T10:00:00Z", deal_currency_code="PLN")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["results"][0]["properties"]["amount"] == "12.50"
    currency = deal(url, "7", deal_currency_code="JPY").json()
    assert currency["numErrors"] == 1 and "deal_currency_code" in currency["errors"][0]["message"]


def test_properties_api_and_unique_values(url: str, sandbox: HubspotSandbox) -> None:
    path = "/crm/v3/properties/deals/woo_order_id"
    missing = call(url, "GET", path)
    assert missing.status_code == 404 and missing.json()["status"] == "error"
    created = call(url, "POST", "/crm/v3/properties/deals", WOO_ORDER_ID)
    assert created.status_code == 201 and created.json()["hasUniqueValue"] is True
    assert call(url, "GET", path).json()["name"] == "woo_order_id"
    assert call(url, "POST", "/crm/v3/properties/deals", WOO_ORDER_ID).status_code == 409
    incomplete = call(url, "POST", "/crm/v3/properties/contacts", {"name": "woo_nip", "label": "NIP"})
    assert incomplete.status_code == 400 and incomplete.json()["category"] == "VALIDATION_ERROR"
    first = call(
        url,
        "POST",
        "/crm/v3/objects/deals",
        {"properties": {"woo_order_id": "42", "dealname": "A", "dealstage": "closedwon"}},
    )
    assert first.status_code == 201
    second = call(
        url,
        "POST",
        "/crm/v3/objects/deals",
        {"properties": {"woo_order_id": "42", "dealname": "B", "dealstage": "closedwon"}},
    )
    assert second.status_code == 409, second.json()
    assert second.json()["message"] == f"Deal already exists. Existing ID: {first.json()['id']}"
    other = call(
        url,
        "POST",
        "/crm/v3/objects/deals",
        {"properties": {"woo_order_id": "43", "dealname": "C", "dealstage": "closedwon"}},
    )
    taken = call(
        url, "PATCH", f"/crm/v3/objects/deals/{other.json()['id']}", {"properties": {"woo_order_id": "42"}}
    )
    assert taken.status_code == 409
    assert sandbox.counts()["deals"] == 2
    assert "woo_order_id" in sandbox.snapshot()["custom_properties"]["deals"]


def test_deal_upsert_needs_an_existing_unique_property(url: str, sandbox: HubspotSandbox) -> None:
    absent = deal(url, "1")
    assert absent.status_code == 400 and absent.json()["category"] == "VALIDATION_ERROR"
    assert "woo_order_id" in absent.json()["message"] and "does not exist" in absent.json()["message"]
    plain = {**WOO_ORDER_ID, "hasUniqueValue": False}
    assert call(url, "POST", "/crm/v3/properties/deals", plain).status_code == 201
    not_unique = deal(url, "1")
    assert not_unique.status_code == 400 and "not a unique property" in not_unique.json()["message"]
    assert sandbox.deals() == []


def test_deal_upsert_is_idempotent_by_order_id(url: str, sandbox: HubspotSandbox) -> None:
    with_order_property(url)
    first = deal(url, "1001", amount="100").json()["results"][0]
    again = deal(url, "1001", amount="120", dealstage="closedwon").json()["results"][0]
    assert (first["new"], again["new"]) == (True, False) and first["id"] == again["id"]
    (held,) = sandbox.deals()
    assert held["properties"]["amount"] == "120" and held["properties"]["pipeline"] == "default"
    read = call(url, "GET", f"/crm/v3/objects/deals/{first['id']}").json()
    assert read["properties"]["dealstage"] == "closedwon"


def test_deal_stage_must_belong_to_its_pipeline(url: str, sandbox: HubspotSandbox) -> None:
    with_order_property(url)
    wrong = deal(url, "5", dealstage="shipped").json()
    assert wrong["numErrors"] == 1
    (result,) = validation_results(wrong["errors"][0]["message"])
    assert result["name"] == "dealstage" and result["error"] == "INVALID_OPTION"
    no_stage = call(url, "POST", "/crm/v3/objects/deals", {"properties": {"dealname": "x"}})
    assert no_stage.status_code == 400 and "dealstage" in no_stage.json()["message"]
    sandbox.add_pipeline("ecommerce", "Ecommerce", [{"id": "shipped", "label": "Shipped", "closed": True}])
    moved = deal(url, "5", pipeline="ecommerce", dealstage="shipped")
    assert moved.status_code == 200, moved.json()
    created = moved.json()["results"][0]["id"]
    back = call(url, "PATCH", f"/crm/v3/objects/deals/{created}", {"properties": {"pipeline": "default"}})
    assert back.status_code == 400  # "shipped" is not a stage of the default pipeline
    unknown = call(url, "PATCH", f"/crm/v3/objects/deals/{created}", {"properties": {"pipeline": "x"}})
    assert validation_results(unknown.json()["message"])[0]["name"] == "pipeline"


def test_default_pipeline(url: str) -> None:
    answer = call(url, "GET", "/crm/v3/pipelines/deals")
    (pipeline,) = answer.json()["results"]
    assert pipeline["id"] == "default" and pipeline["label"] == "Sales Pipeline"
    assert [s["id"] for s in pipeline["stages"]] == STAGES
    assert [s["displayOrder"] for s in pipeline["stages"]] == list(range(7))
    won = pipeline["stages"][5]
    assert won["label"] == "Closed Won" and won["metadata"] == {"probability": "1.0", "isClosed": "true"}
    assert pipeline["stages"][0]["metadata"]["isClosed"] == "false"
    assert call(url, "GET", "/crm/v3/pipelines/deals/default").json()["id"] == "default"
    assert call(url, "GET", "/crm/v3/pipelines/deals/nope").status_code == 404


def test_associations_v4_and_line_items(url: str, sandbox: HubspotSandbox) -> None:
    with_order_property(url)
    contact = upsert(url, "contacts", "email", ("jan@example.pl", {})).json()["results"][0]["id"]
    deal_id = deal(url, "9").json()["results"][0]["id"]
    path = f"/crm/v4/objects/deals/{deal_id}/associations/default/contacts/{contact}"
    for _ in range(2):  # idempotent
        linked = call(url, "PUT", path)
        assert linked.status_code == 200 and linked.json()["status"] == "COMPLETE"
        specs = {r["associationSpec"]["associationTypeId"] for r in linked.json()["results"]}
        assert specs == {3, 4}
    listed = call(url, "GET", f"/crm/v4/objects/contacts/{contact}/associations/deals").json()["results"]
    assert listed == [
        {
            "toObjectId": int(deal_id),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 4, "label": None}],
        }
    ]
    missing = call(url, "PUT", f"/crm/v4/objects/deals/{deal_id}/associations/default/contacts/1")
    assert missing.status_code == 404
    to_deal = [
        {
            "to": {"id": deal_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 20}],
        }
    ]
    items = call(
        url,
        "POST",
        "/crm/v3/objects/line_items/batch/create",
        {
            "inputs": [
                {"properties": {"name": "Kawa", "quantity": "2", "price": "89.99"}, "associations": to_deal},
                {"properties": {"name": "Kubek", "quantity": "1", "price": "25"}, "associations": to_deal},
            ]
        },
    )
    assert items.status_code == 201, items.json()
    ids = [r["id"] for r in items.json()["results"]]
    on_deal = call(url, "GET", f"/crm/v4/objects/deals/{deal_id}/associations/line_items").json()["results"]
    assert [r["toObjectId"] for r in on_deal] == [int(i) for i in ids]
    assert all(r["associationTypes"][0]["typeId"] == 19 for r in on_deal)
    read = call(
        url,
        "POST",
        "/crm/v3/objects/line_items/batch/read",
        {"inputs": [{"id": i} for i in ids], "properties": ["name", "amount"]},
    ).json()
    assert [r["properties"] for r in read["results"]] == [
        {"name": "Kawa", "amount": "179.98"},
        {"name": "Kubek", "amount": "25"},
    ]
    wrong_type = [
        {"to": {"id": deal_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}
    ]
    refused = call(
        url, "POST", "/crm/v3/objects/line_items", {"properties": {"name": "x"}, "associations": wrong_type}
    )
    assert refused.status_code == 400
    archived = call(url, "POST", "/crm/v3/objects/line_items/batch/archive", {"inputs": [{"id": ids[0]}]})
    assert archived.status_code == 204
    on_deal = call(url, "GET", f"/crm/v4/objects/deals/{deal_id}/associations/line_items").json()["results"]
    assert [r["toObjectId"] for r in on_deal] == [int(ids[1])]
    assert [i["properties"]["name"] for i in sandbox.line_items()] == ["Kubek"]


def test_search_lags_behind_writes(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.search_lag(0.4)
    sandbox.limits(search_per_second=100)  # the poll below asks faster than the Search API's 5/s
    query = {
        "filterGroups": [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": "Lag@example.pl"}]}
        ],
        "properties": ["email", "firstname"],
    }
    written = time.monotonic()
    upsert(url, "contacts", "email", ("lag@example.pl", {"firstname": "Old"}))
    first = call(url, "POST", "/crm/v3/objects/contacts/search", query).json()
    assert first == {"total": 0, "results": []}
    while time.monotonic() - written < 3:
        found = call(url, "POST", "/crm/v3/objects/contacts/search", query).json()
        if found["total"]:
            break
        time.sleep(0.05)
    assert time.monotonic() - written >= 0.4 and found["total"] == 1
    assert found["results"][0]["properties"] == {"email": "lag@example.pl", "firstname": "Old"}
    upsert(url, "contacts", "email", ("lag@example.pl", {"firstname": "New"}))
    stale = call(url, "POST", "/crm/v3/objects/contacts/search", query).json()
    assert stale["results"][0]["properties"]["firstname"] == "Old"  # the index still has the last version
    bad = call(
        url,
        "POST",
        "/crm/v3/objects/contacts/search",
        {"filterGroups": [{"filters": [{"operator": "LIKE"}]}]},
    )
    assert bad.status_code == 400


def test_gdpr_delete_removes_and_blocklists(url: str, sandbox: HubspotSandbox) -> None:
    upsert(url, "contacts", "email", ("gone@example.pl", {"firstname": "Gone"}))
    erase = {"objectId": "Gone@example.pl", "idProperty": "email"}
    answer = call(url, "POST", "/crm/v3/objects/contacts/gdpr-delete", erase)
    assert answer.status_code == 204 and answer.content == b""
    assert sandbox.contacts() == []
    unknown = call(
        url,
        "POST",
        "/crm/v3/objects/contacts/gdpr-delete",
        {"objectId": "never@example.pl", "idProperty": "email"},
    )
    assert unknown.status_code == 204
    assert sandbox.blocklist() == ["gone@example.pl", "never@example.pl"]
    again = upsert(url, "contacts", "email", ("never@example.pl", {"firstname": "Back"})).json()
    assert again["numErrors"] == 1 and again["results"] == []
    assert "blocklisted" in again["errors"][0]["message"]
    created = call(url, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "gone@example.pl"}})
    assert created.status_code == 400 and sandbox.contacts() == []


def test_rate_limit_headers_and_429(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.limits(ten_second_max=5)
    remaining = []
    for _ in range(5):
        answer = call(url, "GET", "/crm/v3/pipelines/deals")
        assert answer.status_code == 200
        assert answer.headers["X-HubSpot-RateLimit-Max"] == "5"
        assert answer.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert answer.headers["X-HubSpot-RateLimit-Daily"] == "250000"
        remaining.append(int(answer.headers["X-HubSpot-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}  # the limit is the account's, not the app's
    refused = call(url, "GET", "/crm/v3/pipelines/deals", headers=other)
    body = refused.json()
    assert refused.status_code == 429, body
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert UUID.match(body["correlationId"]) and body["requestId"]
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    stats = sandbox.limit_stats()
    assert (stats["requests"], stats["served"], stats["rejected_429"]) == (6, 5, 1)
    assert stats["max_in_window"] == 5 and stats["by_policy"]["TEN_SECONDLY_ROLLING"] == 1
    assert stats["buckets"] == [5]  # served per consecutive 10 s


def test_daily_limit(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.limits(daily_max=2)
    daily = [call(url, "GET", "/crm/v3/pipelines/deals") for _ in range(3)]
    assert [a.status_code for a in daily] == [200, 200, 429]
    assert daily[1].headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert daily[2].json()["policyName"] == "DAILY"
    assert daily[2].json()["message"] == "You have reached your daily limit."


def test_rolling_window_counts() -> None:
    now = [0.0]
    limits = Limits(clock=lambda: now[0])
    limits.settings["ten_second_max"] = 3
    answers = []
    for at in (0.0, 1.0, 2.0, 9.9, 10.0, 10.5, 11.0, 12.1):
        now[0] = at
        answers.append(limits.admit()[0])
    # 9.9 is refused (three in the last 10 s); at 10.0 the first left the window, at 11.0 the second.
    assert answers == [None, None, None, "TEN_SECONDLY_ROLLING", None, "TEN_SECONDLY_ROLLING", None, None]
    stats = limits.snapshot()
    assert stats["max_in_window"] == 3 and stats["rejected_429"] == 2 and stats["served"] == 6


def test_search_has_its_own_per_token_limit(url: str, sandbox: HubspotSandbox) -> None:
    assert sandbox.limits()["search_per_second"] == 4  # HubSpot changelog: four a second per token
    sandbox.limits(search_per_second=2)
    answers = [call(url, "POST", "/crm/v3/objects/contacts/search", {}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["errorType"] == "RATE_LIMIT"
    assert call(url, "GET", "/crm/v3/pipelines/deals").status_code == 200
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    assert call(url, "POST", "/crm/v3/objects/contacts/search", {}, headers=other).status_code == 200


def test_transient_500s_under_load(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.limits(ten_second_max=10)
    sandbox.load(error_rate=1.0, above=0.5)
    answers = [upsert(url, "contacts", "email", (f"l{i}@example.pl", {})) for i in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 500, 500]
    assert answers[4].json()["status"] == "error" and UUID.match(answers[4].json()["correlationId"])
    assert sandbox.counts()["contacts"] == 4  # a 500 under load wrote nothing
    stats = sandbox.limit_stats()
    assert stats["load_errors"] == 2 and stats["buckets"] == [6]


def test_faults(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.fault(mode="500", match="POST /crm/v3/objects/contacts", count=1)
    failed = upsert(url, "contacts", "email", ("f@example.pl", {}))
    assert failed.status_code == 500 and failed.json()["status"] == "error"
    assert sandbox.contacts() == []
    sandbox.fault(mode="drop_after_commit", match="POST /crm/v3/objects/contacts/batch/upsert")
    with pytest.raises(requests.ConnectionError):
        upsert(url, "contacts", "email", ("f@example.pl", {}))
    (kept,) = sandbox.contacts()  # the write happened; only its answer was lost
    retried = upsert(url, "contacts", "email", ("f@example.pl", {})).json()["results"][0]
    assert retried["id"] == kept["id"] and retried["new"] is False


def test_missing_object_is_404_in_hubspot_words(url: str) -> None:
    missing = call(url, "GET", "/crm/v3/objects/contacts/nobody@example.pl?idProperty=email")
    body = missing.json()
    assert missing.status_code == 404 and body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"] == "Object not found.  objectId are usually numeric."
    assert body["context"] == {"id": ["nobody@example.pl"]}


def test_v4_batch_associations(url: str, sandbox: HubspotSandbox) -> None:
    with_order_property(url)
    contact = upsert(url, "contacts", "email", ("b@example.pl", {})).json()["results"][0]["id"]
    deals = [deal(url, str(n)).json()["results"][0]["id"] for n in (1, 2)]

    def typed(type_id: int, *ids: str) -> dict[str, Any]:
        specs = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]
        return {"inputs": [{"from": {"id": d}, "to": {"id": contact}, "types": specs} for d in ids]}

    wrong = call(url, "POST", "/crm/v4/associations/deals/contacts/batch/create", typed(20, *deals))
    assert wrong.status_code == 400 and sandbox.associations() == []
    half = call(url, "POST", "/crm/v4/associations/deals/contacts/batch/create", typed(3, deals[0], "999"))
    assert half.status_code == 404 and sandbox.associations() == []  # checked before anything is written
    made = call(url, "POST", "/crm/v4/associations/deals/contacts/batch/create", typed(3, *deals))
    assert made.status_code == 201 and [r["toObjectId"] for r in made.json()["results"]] == [int(contact)] * 2
    listed = call(url, "GET", f"/crm/v4/objects/contacts/{contact}/associations/deals").json()["results"]
    assert [r["toObjectId"] for r in listed] == [int(d) for d in deals]
    gone = {"inputs": [{"from": {"id": deals[0]}, "to": [{"id": contact}]}]}
    assert call(url, "POST", "/crm/v4/associations/deals/contacts/batch/archive", gone).status_code == 204
    default = {"inputs": [{"from": {"id": deals[0]}, "to": {"id": contact}}]}
    again = call(url, "POST", "/crm/v4/associations/deals/contacts/batch/associate/default", default)
    assert again.status_code == 200 and again.json()["status"] == "COMPLETE"
    assert {r["associationSpec"]["associationTypeId"] for r in again.json()["results"]} == {3, 4}
    assert len(sandbox.associations()) == 4  # two deals, both directions


def test_fault_429_storm_in_hubspot_shape(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.fault(mode="429", count=2)
    sandbox.fault(mode="429", policy="DAILY", retry_after=30)
    answers = [call(url, "GET", "/crm/v3/pipelines/deals") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    assert [a.json().get("policyName") for a in answers[:3]] == ["TEN_SECONDLY_ROLLING"] * 2 + ["DAILY"]
    assert "Retry-After" not in answers[0].headers and answers[2].headers["Retry-After"] == "30"
    assert answers[0].json()["errorType"] == "RATE_LIMIT"


def test_upsert_racing_a_create_can_conflict(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.batch(conflict_seconds=5)
    first = upsert(url, "contacts", "email", ("race@example.pl", {}))
    assert first.status_code == 200
    raced = upsert(url, "contacts", "email", ("race@example.pl", {"firstname": "Second"}))
    body = raced.json()
    assert raced.status_code == 409 and body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first.json()['results'][0]['id']}"
    sandbox.batch(conflict_seconds=0)
    assert upsert(url, "contacts", "email", ("race@example.pl", {})).json()["results"][0]["new"] is False


def test_search_filters_sorts_and_pages(url: str, sandbox: HubspotSandbox) -> None:
    for i, city in enumerate(("Kraków", "Gdańsk", "Kraków")):
        upsert(url, "contacts", "email", (f"s{i}@example.pl", {"city": city, "firstname": f"N{i}"}))
    krakow = {"propertyName": "city", "operator": "EQ", "value": "kraków"}
    query = {
        "filterGroups": [{"filters": [krakow]}],
        "sorts": ["-email"],
        "limit": 1,
        "properties": ["email"],
    }
    page = call(url, "POST", "/crm/v3/objects/contacts/search", query).json()
    assert page["total"] == 2 and [r["properties"]["email"] for r in page["results"]] == ["s2@example.pl"]
    rest = call(
        url, "POST", "/crm/v3/objects/contacts/search", {**query, "after": page["paging"]["next"]["after"]}
    )
    assert [r["properties"]["email"] for r in rest.json()["results"]] == ["s0@example.pl"]
    assert "paging" not in rest.json()
    either = {"filterGroups": [{"filters": [krakow]}, {"filters": [{**krakow, "value": "Gdańsk"}]}]}
    assert call(url, "POST", "/crm/v3/objects/contacts/search", either).json()["total"] == 3
    none = {"filterGroups": [{"filters": [{"propertyName": "phone", "operator": "NOT_HAS_PROPERTY"}]}]}
    assert call(url, "POST", "/crm/v3/objects/contacts/search", none).json()["total"] == 3


def test_batch_results_in_reversed_order_on_request(url: str, sandbox: HubspotSandbox) -> None:
    sandbox.batch(order="reversed")
    answer = upsert(url, "contacts", "email", ("r1@example.pl", {}), ("r2@example.pl", {}))
    assert [r["properties"]["email"] for r in answer.json()["results"]] == ["r2@example.pl", "r1@example.pl"]
