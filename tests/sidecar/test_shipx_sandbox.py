"""The InPost ShipX simulator answers as the reference notes say: auth and organisation, both create bodies
and both ``details`` shapes, asynchronous confirmation, label refusal then a PDF, no de-duplication by
reference, search and its quirks, status progression and tracking, cancel, faults and webhooks."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, Response, request
from sandbox_client import ShipxSandbox

from sidecar.sandbox import ServedApp, load_factory

TOKEN, ORG = "shipx-test-token", 4321
OTHER_TOKEN, OTHER_ORG = "shipx-other-token", 9876
TRACKING = re.compile(r"^\d{24}$")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOCKER_RETURN = {
    # A locker return: the customer is the sender, the shop (at its own locker) the receiver.
    "sender": {
        "first_name": "Jan",
        "last_name": "Kowalski",
        "email": "jan@example.com",
        "phone": "600700800",
    },
    "receiver": {"company_name": "Sklep", "email": "zwroty@sklep.example", "phone": "500100200"},
    "parcels": {"template": "small"},
    "service": "inpost_locker_standard",
    "reference": "RMA-000001",
    "is_return": True,
    "custom_attributes": {"sending_method": "parcel_locker", "target_point": "WAW123"},
}
SHOP_ADDRESS = {
    "street": "Długa",
    "building_number": "3",
    "city": "Kraków",
    "post_code": "30-001",
    "country_code": "PL",
}
COURIER_RETURN = {
    # A courier return: picked up at the customer's address (dispatch_order), delivered to the shop.
    "sender": {
        "first_name": "Jan",
        "last_name": "Kowalski",
        "email": "jan@example.com",
        "phone": "600700800",
        "address": {**SHOP_ADDRESS, "street": "Polna", "city": "Warszawa", "post_code": "00-950"},
    },
    "receiver": {
        "company_name": "Sklep",
        "email": "zwroty@sklep.example",
        "phone": "500100200",
        "address": SHOP_ADDRESS,
    },
    "parcels": [
        {
            "dimensions": {"length": "300", "width": "200", "height": "100", "unit": "mm"},
            "weight": {"amount": "2.00", "unit": "kg"},
            "is_non_standard": False,
        }
    ],
    "service": "inpost_courier_standard",
    "reference": "RMA-000002",
    "custom_attributes": {"sending_method": "dispatch_order"},
}


@pytest.fixture(scope="module")
def served() -> Iterator[ServedApp]:
    app = load_factory("inpost")(token=TOKEN, organization_id=ORG, others={OTHER_TOKEN: OTHER_ORG})
    with ServedApp(app) as running:
        yield running


@pytest.fixture
def url(served: ServedApp) -> str:
    ShipxSandbox(served.url).reset()
    return served.url


def body(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with path changes (``receiver__phone=…``; None removes the key)."""
    out = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = out
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return out


def create(url: str, payload: dict[str, Any], org: int = ORG, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", AUTH)
    return requests.post(
        f"{url}/v1/organizations/{org}/shipments", json=payload, headers=headers, timeout=5, **kwargs
    )


def get(url: str, path: str, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", AUTH)
    return requests.get(f"{url}{path}", headers=headers, timeout=5, **kwargs)


def details(response: requests.Response) -> dict[str, Any]:
    payload = response.json()
    assert response.status_code == 400, payload
    assert payload["error"] == "validation_failed", payload
    assert payload["message"] == "There are some validation errors. Check details object for more info."
    assert payload["status"] == 400
    return payload["details"]


def test_bearer_token_and_organisation(url: str) -> None:
    missing = create(url, LOCKER_RETURN, headers={})
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert missing.json()["status"] == 401
    wrong = create(url, LOCKER_RETURN, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    basic = create(url, LOCKER_RETURN, headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert create(url, LOCKER_RETURN, org=OTHER_ORG).status_code == 403  # not the token's organisation
    made = create(url, LOCKER_RETURN)
    assert made.status_code == 201
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    # Another organisation's shipment is not found; its own search does not show it.
    assert get(url, f"/v1/shipments/{made.json()['id']}", headers=other).status_code == 404
    assert get(url, f"/v1/organizations/{OTHER_ORG}/shipments", headers=other).json()["count"] == 0
    # Tracking, statuses and points need no token.
    assert requests.get(f"{url}/v1/statuses", timeout=5).status_code == 200
    assert requests.get(f"{url}/v1/points", params={"name": "WAW123"}, timeout=5).json()["count"] == 1
    assert get(url, f"/v1/shipments/{made.json()['id']}", headers={}).status_code == 401
    wrong_method = requests.put(f"{url}/v1/shipments/{made.json()['id']}", headers=AUTH, timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.json()["status"] == 405
    probe = get(url, f"/v1/organizations/{ORG}").json()
    assert probe["id"] == ORG and "inpost_locker_standard" in probe["services"]
    assert get(url, f"/v1/organizations/{ORG}", headers=other).status_code == 403


def test_locker_and_courier_returns_are_accepted(url: str) -> None:
    for payload in (LOCKER_RETURN, COURIER_RETURN, body(LOCKER_RETURN, sender=None)):
        made = create(url, payload)
        assert made.status_code == 201, made.json()
        shown = made.json()
        assert shown["status"] == "created" and shown["tracking_number"] is None
        assert shown["service"] == payload["service"] and shown["reference"] == payload["reference"]
        assert shown["href"].endswith(f"/v1/shipments/{shown['id']}")
        assert isinstance(shown["parcels"], list) and shown["parcels"][0]["tracking_number"] is None
    assert len(ShipxSandbox(url).shipments()) == 3


def test_flat_details(url: str) -> None:
    cases = {
        "phone format": (
            body(LOCKER_RETURN, receiver__phone="+48 500 100 200"),
            {"receiver": {"phone": ["invalid"]}},
        ),
        "email missing": (body(LOCKER_RETURN, receiver__email=None), {"receiver": {"email": ["required"]}}),
        "receiver missing": (body(LOCKER_RETURN, receiver=None), {"receiver": ["required"]}),
        "unknown service": (body(LOCKER_RETURN, service="inpost_teleport"), {"service": ["invalid"]}),
        "no service": (body(LOCKER_RETURN, service=None), {"service": ["required"]}),
        "locker parcels as a list": (
            body(LOCKER_RETURN, parcels=[{"template": "small"}]),
            {"parcels": ["invalid"]},
        ),
        "post code": (
            body(COURIER_RETURN, receiver__address__post_code="30001"),
            {"receiver": {"address": {"post_code": ["invalid"]}}},
        ),
        "building number": (
            body(COURIER_RETURN, receiver__address__building_number=None),
            {"receiver": {"address": {"building_number": ["required"]}}},
        ),
        "courier receiver name": (
            body(COURIER_RETURN, receiver__company_name=None),
            {"receiver": {"first_name": ["required"], "last_name": ["required"]}},
        ),
        "pick-up address": (
            body(COURIER_RETURN, sender__address=None),
            {"sender": {"address": ["required"]}},
        ),
        "courier sender missing": (body(COURIER_RETURN, sender=None), {"sender": ["required"]}),
        "insurance amount a string": (
            body(LOCKER_RETURN, insurance={"amount": "100", "currency": "PLN"}),
            {"insurance": {"amount": ["invalid"]}},
        ),
    }
    for name, (payload, expected) in cases.items():
        assert details(create(url, payload)) == expected, name
    assert ShipxSandbox(url).shipments() == []  # nothing refused was created


def test_nested_list_details(url: str) -> None:
    unknown_point = body(LOCKER_RETURN, custom_attributes__target_point="XXX999")
    assert details(create(url, unknown_point)) == {
        "custom_attributes": [{"target_point": ["does_not_exist"]}]
    }
    closed = body(LOCKER_RETURN, custom_attributes__target_point="LOD99X")  # not operating
    assert details(create(url, closed)) == {"custom_attributes": [{"target_point": ["does_not_exist"]}]}
    no_point = body(LOCKER_RETURN, custom_attributes__target_point=None)
    assert details(create(url, no_point)) == {"custom_attributes": [{"target_point": ["required"]}]}
    no_method = body(LOCKER_RETURN, custom_attributes__sending_method=None)
    assert details(create(url, no_method)) == {"custom_attributes": [{"sending_method": ["required"]}]}
    template = body(LOCKER_RETURN, parcels={"template": "huge"})
    assert details(create(url, template)) == {"parcels": [{"template": ["invalid"]}]}
    good = COURIER_RETURN["parcels"][0]
    parcels = [
        {"dimensions": good["dimensions"]},
        good,
        {**good, "weight": {"amount": "31", "unit": "kg"}},
        {**good, "dimensions": {**good["dimensions"], "unit": "cm"}},
    ]
    assert details(create(url, body(COURIER_RETURN, parcels=parcels))) == {
        "parcels": [
            {"weight": ["required"]},
            {},
            {"weight": ["too_heavy"]},
            {"dimensions": {"unit": ["invalid"]}},
        ]
    }
    heavy_ok = body(
        COURIER_RETURN, parcels=[{**good, "is_non_standard": True, "weight": {"amount": 31, "unit": "kg"}}]
    )
    assert create(url, heavy_ok).status_code == 201


def test_points_added_by_the_sandbox_are_valid_targets(url: str) -> None:
    sandbox = ShipxSandbox(url)
    payload = body(LOCKER_RETURN, custom_attributes__target_point="SHOP01A")
    assert details(create(url, payload)) == {"custom_attributes": [{"target_point": ["does_not_exist"]}]}
    sandbox.add_point("SHOP01A")
    assert create(url, payload).status_code == 201
    point = requests.get(f"{url}/v1/points/SHOP01A", timeout=5).json()
    assert point["name"] == "SHOP01A" and point["status"] == "Operating"
    listed = requests.get(f"{url}/v1/points", params={"name": "SHOP01A,WAW123"}, timeout=5).json()
    assert {p["name"] for p in listed["items"]} == {"SHOP01A", "WAW123"}
    assert requests.get(f"{url}/v1/points/NOPE00", timeout=5).status_code == 404


def test_confirmation_is_asynchronous_and_the_label_waits_for_it(url: str) -> None:
    sandbox = ShipxSandbox(url)
    shipment = create(url, LOCKER_RETURN).json()
    path = f"/v1/shipments/{shipment['id']}"
    refused = get(url, f"{path}/label", params={"format": "pdf", "type": "normal"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_action"
    first = get(url, path).json()
    assert first["status"] == "created" and first["tracking_number"] is None
    second = get(url, path).json()
    assert second["status"] == "confirmed" and TRACKING.match(second["tracking_number"])
    assert second["parcels"][0]["tracking_number"] == second["tracking_number"]
    assert sandbox.label_fetches() == 0
    for kind, media_box in (("normal", b"0 0 595.2756 841.8898"), ("A6", b"0 0 297.6378 419.5276")):
        label = get(url, f"{path}/label", params={"format": "pdf", "type": kind})
        assert label.status_code == 200 and label.headers["Content-Type"] == "application/pdf"
        assert label.content.startswith(b"%PDF-") and label.content.rstrip().endswith(b"%%EOF")
        assert b"/MediaBox [ " + media_box + b" ]" in label.content  # an A6 label is an A6 page
        assert second["tracking_number"].encode() in label.content
    assert sandbox.label_fetches() == 2
    bad = get(url, f"{path}/label", params={"format": "docx"})
    assert details(bad) == {"format": ["invalid"]}
    assert get(url, "/v1/shipments/1/label").status_code == 404


def test_confirmation_timing_is_configurable(url: str) -> None:
    sandbox = ShipxSandbox(url)
    sandbox.confirmation(reads=1)
    shipment = create(url, LOCKER_RETURN).json()
    assert get(url, f"/v1/shipments/{shipment['id']}").json()["status"] == "confirmed"
    sandbox.confirmation(reads=0, seconds=0.2)
    later = create(url, LOCKER_RETURN).json()
    assert get(url, f"/v1/shipments/{later['id']}").json()["status"] == "created"
    time.sleep(0.25)
    assert get(url, f"/v1/shipments/{later['id']}/label").status_code == 200  # confirmed on its own


def test_reference_does_not_deduplicate(url: str) -> None:
    sandbox = ShipxSandbox(url)
    first, second = create(url, LOCKER_RETURN).json(), create(url, LOCKER_RETURN).json()
    assert first["id"] != second["id"]
    assert sandbox.by_reference("RMA-000001") == 2 and sandbox.snapshot()["creates"] == 2
    assert [s["id"] for s in sandbox.shipments("RMA-000001")] == [first["id"], second["id"]]
    assert sandbox.shipments("RMA-00000") == []


def search(url: str, org: int = ORG, **params: Any) -> dict[str, Any]:
    response = get(url, f"/v1/organizations/{org}/shipments", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_search_filters_and_pages(url: str) -> None:
    made = [create(url, body(LOCKER_RETURN, reference=f"RMA-00000{i}")).json() for i in range(1, 4)]
    page = search(url, reference="RMA-000002")
    assert set(page) == {"href", "count", "page", "per_page", "items"}
    assert page["count"] == 1 and page["items"][0]["id"] == made[1]["id"]
    assert search(url, reference="RMA-00000")["count"] == 0  # exact, when honoured
    assert search(url, id=str(made[0]["id"]))["items"][0]["reference"] == "RMA-000001"
    two = search(url, per_page=2, page=1)
    assert two["count"] == 3 and len(two["items"]) == 2 and two["per_page"] == 2
    assert len(search(url, per_page=2, page=2)["items"]) == 1
    assert [s["id"] for s in two["items"]] == [made[2]["id"], made[1]["id"]]  # newest first
    ids = [m["id"] for m in made]
    by_time = search(url, sort_by="created_at", sort_order="desc")["items"]
    assert [s["id"] for s in by_time] == ids[::-1]  # also when creates share a millisecond
    assert [s["id"] for s in search(url, sort_by="created_at", sort_order="asc")["items"]] == ids
    get(url, f"/v1/shipments/{made[0]['id']}")
    confirmed = get(url, f"/v1/shipments/{made[0]['id']}").json()
    assert search(url, tracking_number=confirmed["tracking_number"])["items"][0]["id"] == made[0]["id"]
    assert search(url, status="confirmed")["count"] == 1
    assert details(get(url, f"/v1/organizations/{ORG}/shipments", params={"per_page": 1000})) == {
        "per_page": ["invalid"]
    }


def test_search_quirks(url: str) -> None:
    sandbox = ShipxSandbox(url)
    create(url, body(LOCKER_RETURN, reference="RMA-000010"))
    create(url, body(LOCKER_RETURN, reference="RMA-000011"))
    sandbox.search(ignore_unsupported=True)
    unfiltered = search(url, reference="RMA-000011", per_page=10)
    # The filter is ignored: an unfiltered page; matching the reference exactly is the client's job.
    assert unfiltered["count"] == 2
    sandbox.search(ignore_unsupported=False, reference_match="substring")
    assert search(url, reference="RMA-00001")["count"] == 2  # RMA-000010 and RMA-000011
    sandbox.search(reference_match="exact", misses_by_id=True)
    shipment_id = sandbox.shipments()[0]["id"]
    assert search(url, id=str(shipment_id))["count"] == 0
    assert get(url, f"/v1/shipments/{shipment_id}").status_code == 200  # GET by id still works
    sandbox.search(misses_by_id=False, lag_seconds=0.3)
    fresh = create(url, body(LOCKER_RETURN, reference="RMA-000012")).json()
    assert search(url, reference="RMA-000012")["count"] == 0  # not indexed yet
    time.sleep(0.35)
    assert search(url, reference="RMA-000012")["items"][0]["id"] == fresh["id"]


def test_cancel_only_before_confirmed(url: str) -> None:
    early = create(url, LOCKER_RETURN).json()
    cancelled = requests.delete(f"{url}/v1/shipments/{early['id']}", headers=AUTH, timeout=5)
    assert cancelled.status_code == 204
    assert get(url, f"/v1/shipments/{early['id']}").json()["status"] == "canceled"
    assert get(url, f"/v1/shipments/{early['id']}/label").status_code == 400
    late = create(url, LOCKER_RETURN).json()
    ShipxSandbox(url).move(late["id"], "confirmed")
    refused = requests.delete(f"{url}/v1/shipments/{late['id']}", headers=AUTH, timeout=5)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_action"


def test_status_progression_and_tracking(url: str) -> None:
    sandbox = ShipxSandbox(url)
    shipment = create(url, COURIER_RETURN).json()
    assert sandbox.move(shipment["id"])["status"] == "confirmed"
    assert sandbox.move(shipment["id"])["status"] == "dispatched_by_sender"
    with pytest.raises(requests.HTTPError):
        sandbox.move(shipment["id"], "created")  # never back before confirmation
    moved = sandbox.move(shipment["id"], "out_for_delivery")
    number = moved["tracking_number"]
    tracked = requests.get(f"{url}/v1/tracking/{number}", timeout=5).json()
    assert tracked["status"] == "out_for_delivery" and tracked["service"] == "inpost_courier_standard"
    assert [d["status"] for d in tracked["tracking_details"]] == [
        "out_for_delivery",
        "adopted_at_sorting_center",
        "taken_by_courier",
        "collected_from_sender",
        "dispatched_by_sender",
        "confirmed",
        "created",
    ]
    assert sandbox.move(shipment["id"])["status"] == "delivered"
    with pytest.raises(requests.HTTPError):
        sandbox.move(shipment["id"], "returned_to_sender")  # delivered is terminal
    assert requests.get(f"{url}/v1/tracking/{'0' * 24}", timeout=5).status_code == 404
    names = {s["name"] for s in requests.get(f"{url}/v1/statuses", timeout=5).json()["items"]}
    assert {"created", "confirmed", "delivered", "canceled", "returned_to_sender"} <= names


def test_faults_and_quirks(url: str) -> None:
    sandbox = ShipxSandbox(url)
    sandbox.fault(mode="200_error", match="POST /v1/organizations", status=400, key="k", error="e")
    quirk = create(url, LOCKER_RETURN)
    assert quirk.status_code == 200 and quirk.json() == {"status": 400, "key": "k", "error": "e"}
    sandbox.fault(mode="empty", status=500)
    empty = create(url, LOCKER_RETURN)
    assert empty.status_code == 500 and empty.content == b""
    sandbox.fault(mode="429", retry_after=7)
    limited = create(url, LOCKER_RETURN)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["status"] == 429
    sandbox.fault(mode="429")
    bare = create(url, LOCKER_RETURN)
    assert bare.status_code == 429 and "Retry-After" not in bare.headers
    for status in ("500", "502", "503"):
        sandbox.fault(mode=status, match="GET /v1/statuses")
        assert requests.get(f"{url}/v1/statuses", timeout=5).status_code == int(status)
    sandbox.fault(mode="latency", seconds=0.3)
    started = time.monotonic()
    assert requests.get(f"{url}/v1/statuses", timeout=5).ok
    assert time.monotonic() - started >= 0.3
    assert sandbox.shipments() == []  # no fault above created anything
    with pytest.raises(requests.HTTPError):
        sandbox.fault(mode="teapot")


def test_response_lost_after_commit(url: str) -> None:
    sandbox = ShipxSandbox(url)
    sandbox.fault(mode="drop_after_commit", match="POST /v1/organizations")
    with pytest.raises(requests.ConnectionError):
        create(url, LOCKER_RETURN)
    sandbox.fault(mode="drop_after_commit", match="POST /v1/organizations", **{"as": "502"})
    gateway = create(url, LOCKER_RETURN)
    assert gateway.status_code == 502 and gateway.content == b""
    sandbox.fault(mode="drop_after_commit", match="POST /v1/organizations", **{"as": "500"})
    shipx_error = create(url, LOCKER_RETURN)
    assert shipx_error.status_code == 500 and shipx_error.json()["status"] == 500
    # All three were created: a client recovers by searching for its reference.
    assert sandbox.by_reference("RMA-000001") == 3
    assert search(url, reference="RMA-000001")["count"] == 3


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []
    app = Flask("webhook_receiver")

    @app.post("/hook")
    def hook() -> Response:
        got.append({"body": request.get_data(), "headers": dict(request.headers)})
        return Response("ok")

    with ServedApp(app) as running:
        yield f"{running.url}/hook", got


def test_webhook_nudge_is_signed(url: str, receiver: tuple[str, list[dict[str, Any]]]) -> None:
    hook, got = receiver
    sandbox = ShipxSandbox(url)
    sandbox.webhook(url=hook, secret="whsec-shipx", signature="body", auto=False)
    shipment = create(url, LOCKER_RETURN).json()
    sandbox.move(shipment["id"], "confirmed", webhook=True)
    assert len(got) == 1
    raw = got[0]["body"]
    expected = base64.b64encode(hmac.new(b"whsec-shipx", raw, hashlib.sha256).digest()).decode()
    assert got[0]["headers"]["X-Inpost-Signature"] == expected
    event = json.loads(raw)
    assert event["event"] == "shipment_status_changed" and event["organization_id"] == ORG
    assert event["payload"]["shipment_id"] == shipment["id"] and event["payload"]["status"] == "confirmed"
    assert TRACKING.match(event["payload"]["tracking_number"])
    sandbox.webhook(signature="timestamp", auto=True)
    sandbox.move(shipment["id"])
    stamp = got[1]["headers"]["X-Inpost-Timestamp"]
    signed = f"{stamp}.".encode() + got[1]["body"]
    expected = base64.b64encode(hmac.new(b"whsec-shipx", signed, hashlib.sha256).digest()).decode()
    assert got[1]["headers"]["X-Inpost-Signature"] == expected
    sandbox.send_webhook(shipment["id"], "shipment_confirmed")
    assert len(got) == 3 and [w["answer"] for w in sandbox.webhooks()] == [200, 200, 200]
    # With ``auto`` the confirmation that reads bring about nudges too.
    later = create(url, COURIER_RETURN).json()
    get(url, f"/v1/shipments/{later['id']}")
    assert len(got) == 3
    get(url, f"/v1/shipments/{later['id']}")
    last = json.loads(got[3]["body"])
    assert last["payload"]["shipment_id"] == later["id"] and last["payload"]["status"] == "confirmed"
