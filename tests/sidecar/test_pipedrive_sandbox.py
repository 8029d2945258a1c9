"""The Pipedrive simulator answers as the reference notes say: token auth (header and legacy query), the v2
error envelope, schema validation, the search shape with exact matching and its lag, deals tied to existing
persons and stages of their pipeline, the plan cap, products on deals, the burst limit with its headers, and
faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from pipedrive_harness import TOKEN, Api, PipedriveSandbox

from sidecar.sandbox import ServedApp, load_factory

ENVELOPE = {"success", "error", "error_info", "data", "additional_data"}


@pytest.fixture(scope="module")
def served() -> Iterator[ServedApp]:
    with ServedApp(load_factory("pipedrive")(token=TOKEN)) as app:
        yield app


@pytest.fixture
def sandbox(served: ServedApp) -> PipedriveSandbox:
    box = PipedriveSandbox(served.url)
    box.reset()
    return box


@pytest.fixture
def api(served: ServedApp, sandbox: PipedriveSandbox) -> Api:
    return Api(served.url)


def person(api: Api, email: str = "jan@example.com", name: str = "Jan Kowalski") -> dict:
    answer = api("POST", "/api/v2/persons", {"name": name, "emails": [{"value": email, "primary": True}]})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_token_in_header_or_legacy_query_else_401(served: ServedApp, sandbox: PipedriveSandbox) -> None:
    url = f"{served.url}/api/v2/pipelines"
    assert requests.get(url, headers={"x-api-token": TOKEN}, timeout=5).status_code == 200
    assert requests.get(url, params={"api_token": TOKEN}, timeout=5).status_code == 200
    refused = requests.get(url, headers={"x-api-token": "wrong"}, timeout=5)
    assert refused.status_code == 401
    body = refused.json()
    assert set(body) >= ENVELOPE and body["success"] is False and body["data"] is None
    assert requests.get(url, timeout=5).status_code == 401


def test_person_schema_is_enforced(api: Api) -> None:
    missing = api("POST", "/api/v2/persons", {"emails": [{"value": "a@b.pl"}]})
    assert missing.status_code == 400 and "name" in missing.json()["error"]
    unknown = api("POST", "/api/v2/persons", {"name": "A", "email": "a@b.pl"})  # v1's field name
    assert unknown.status_code == 400 and "email" in unknown.json()["error"]
    bad_label = api("POST", "/api/v2/persons", {"name": "A", "emails": [{"value": "a@b.pl", "label": "x"}]})
    assert bad_label.status_code == 400
    created = person(api)
    assert created["emails"] == [{"value": "jan@example.com", "primary": True, "label": "work"}]
    assert (created["first_name"], created["last_name"]) == ("Jan", "Kowalski")


def test_search_shape_exact_match_and_cursor(api: Api) -> None:
    person(api, "jan@example.com")
    person(api, "janina@example.com", "Janina Nowak")
    exact = api("GET", "/api/v2/persons/search", term="JAN@example.com", fields="email", exact_match="true")
    body = exact.json()
    assert body["success"] is True and body["additional_data"] == {"next_cursor": None}
    [hit] = body["data"]["items"]
    assert hit["result_score"] == 1.0 and hit["item"]["emails"] == ["jan@example.com"]
    assert hit["item"]["type"] == "person"
    loose = api("GET", "/api/v2/persons/search", term="example.com", fields="email", limit=1)
    page = loose.json()
    assert len(page["data"]["items"]) == 1 and page["additional_data"]["next_cursor"]
    rest = api(
        "GET", "/api/v2/persons/search", term="example.com", cursor=page["additional_data"]["next_cursor"]
    )
    assert len(rest.json()["data"]["items"]) == 1
    assert api("GET", "/api/v2/persons/search", term="x").status_code == 400  # 2 characters without exact
    assert api("GET", "/api/v2/persons/search", term="jan", fields="title").status_code == 400


def test_search_lags_behind_creates(api: Api, sandbox: PipedriveSandbox) -> None:
    sandbox.lag(0.6)
    person(api)
    query = {"term": "jan@example.com", "fields": "email", "exact_match": "true"}
    assert api("GET", "/api/v2/persons/search", **query).json()["data"]["items"] == []
    time.sleep(0.7)
    assert len(api("GET", "/api/v2/persons/search", **query).json()["data"]["items"]) == 1


def test_deal_links_and_stages_are_checked(api: Api, sandbox: PipedriveSandbox) -> None:
    other = sandbox.add_pipeline("Ecommerce", ["Paid", "Shipped"])
    foreign_stage = other["stages"][0]["id"]
    owner = person(api)
    assert api("POST", "/api/v2/deals", {"title": "Order #1", "person_id": 999}).status_code == 400
    wrong = api("POST", "/api/v2/deals", {"title": "Order #1", "pipeline_id": 1, "stage_id": foreign_stage})
    assert wrong.status_code == 400 and "stage_id" in wrong.json()["error"]
    assert api("POST", "/api/v2/deals", {"title": "Order #1", "stage_id": 9999}).status_code == 400
    made = api("POST", "/api/v2/deals", {"title": "Order #1", "person_id": owner["id"], "value": 10.5,
                                          "currency": "PLN"})  # fmt: skip
    deal = made.json()["data"]
    assert (deal["pipeline_id"], deal["stage_id"], deal["status"]) == (1, 1, "open")
    moved = api("PATCH", f"/api/v2/deals/{deal['id']}", {"stage_id": foreign_stage, "status": "won"}).json()
    assert moved["data"]["pipeline_id"] == other["pipeline"]["id"] and moved["data"]["won_time"]
    found = api("GET", "/api/v2/deals/search", term="Order #1", fields="title", exact_match="true").json()
    assert found["data"]["items"][0]["item"]["person"] == {"id": owner["id"], "name": "Jan Kowalski"}
    stages = api("GET", "/api/v2/stages", pipeline_id=1).json()["data"]
    assert [s["order_nr"] for s in stages] == [1, 2, 3, 4, 5]


def test_deleting_a_person_unlinks_deals_and_404s(api: Api) -> None:
    owner = person(api)
    deal = api("POST", "/api/v2/deals", {"title": "Order #2", "person_id": owner["id"]}).json()["data"]
    assert api("DELETE", f"/api/v2/persons/{owner['id']}").json() == {
        "success": True,
        "data": {"id": owner["id"]},
    }
    assert api("GET", f"/api/v2/persons/{owner['id']}").status_code == 404
    assert api("PATCH", f"/api/v2/persons/{owner['id']}", {"name": "X"}).status_code == 404
    assert api("GET", f"/api/v2/deals/{deal['id']}").json()["data"]["person_id"] is None


def test_plan_cap_is_403_feature_capping(api: Api, sandbox: PipedriveSandbox) -> None:
    sandbox.plan(1)
    assert api("POST", "/api/v2/deals", {"title": "Order #1"}).status_code == 200
    capped = api("POST", "/api/v2/deals", {"title": "Order #2"})
    assert capped.status_code == 403 and capped.json()["code"] == "feature_capping_deals_limit"
    assert api("POST", "/api/v2/deals", {"title": "Order #3", "status": "won"}).status_code == 200


def test_products_on_a_deal(api: Api) -> None:
    deal = api("POST", "/api/v2/deals", {"title": "Order #4", "currency": "PLN"}).json()["data"]
    product = api("POST", "/api/v2/products", {"name": "Kawa", "code": "KAWA-1"}).json()["data"]
    path = f"/api/v2/deals/{deal['id']}/products"
    assert api("POST", path, {"product_id": product["id"], "quantity": 2}).status_code == 400  # no price
    assert api("POST", path, {"product_id": 999, "item_price": 1, "quantity": 1}).status_code == 400
    row = api("POST", path, {"product_id": product["id"], "item_price": 89.99, "quantity": 2})
    assert row.status_code == 201 and row.json()["data"]["sum"] == 179.98
    assert len(api("GET", path).json()["data"]) == 1
    assert api("DELETE", f"{path}/{row.json()['data']['id']}").status_code == 200
    assert api("GET", path).json()["data"] == []


def test_burst_limit_headers_and_429(api: Api, sandbox: PipedriveSandbox) -> None:
    sandbox.limits(max=2, window_seconds=5)
    first = api("GET", "/api/v2/pipelines")
    assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-remaining"] == "1"
    api("GET", "/api/v2/pipelines")
    over = api("GET", "/api/v2/pipelines")
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
    assert over.json()["success"] is False
    assert sandbox.counts()["rate_limited"] == 1


def test_faults_and_lost_response_after_commit(api: Api, sandbox: PipedriveSandbox) -> None:
    sandbox.fault(mode="503", match="POST /api/v2/persons")
    assert api("POST", "/api/v2/persons", {"name": "A"}).status_code == 503
    sandbox.fault(mode="drop_after_commit", match="POST /api/v2/persons")
    with pytest.raises(requests.ConnectionError):
        api("POST", "/api/v2/persons", {"name": "B"})
    assert [p["name"] for p in sandbox.records("persons")] == ["B"]  # created, though nobody heard of it


def test_pipelines_and_stages_in_v2_and_v1_shapes(api: Api, sandbox: PipedriveSandbox) -> None:
    v2 = api("GET", "/api/v2/pipelines").json()
    assert v2["data"][0]["name"] == "Pipeline" and v2["additional_data"] == {"next_cursor": None}
    v1 = api("GET", "/api/v1/stages", pipeline_id=1).json()
    assert v1["additional_data"]["pagination"]["more_items_in_collection"] is False
    assert v1["data"][0]["pipeline_name"] == "Pipeline" and v1["data"][0]["active_flag"] is True
    sandbox.setting("api", v2_pipelines=False)
    assert api("GET", "/api/v2/pipelines").status_code == 404
    assert api("GET", "/api/v1/pipelines").json()["data"][0]["url_title"] == "pipeline"


def test_the_listing_has_a_new_record_before_the_search_does(api: Api, sandbox: PipedriveSandbox) -> None:
    """``GET /api/v2/persons`` reads the records, not the lagging index; updated_since, sort_by and
    sort_direction as v2 documents them (products take no updated_since)."""
    sandbox.lag(30)
    first, second = person(api, "a@example.com", "A"), person(api, "b@example.com", "B")
    found = api("GET", "/api/v2/persons/search", term="a@example.com", fields="email", exact_match="true")
    assert found.json()["data"]["items"] == []  # the index has not caught up
    listing = api("GET", "/api/v2/persons", sort_by="add_time", sort_direction="desc", limit="1")
    assert listing.status_code == 200
    assert [p["id"] for p in listing.json()["data"]] == [second["id"]]
    cursor = listing.json()["additional_data"]["next_cursor"]
    rest = api("GET", "/api/v2/persons", sort_by="add_time", sort_direction="desc", limit="1", cursor=cursor)
    assert [p["id"] for p in rest.json()["data"]] == [first["id"]]
    later = api("GET", "/api/v2/persons", updated_since="2999-01-01T00:00:00Z")
    assert later.json()["data"] == []
    for bad in ({"updated_since": "yesterday"}, {"sort_by": "name"}, {"sort_direction": "up"}):
        assert api("GET", "/api/v2/persons", **bad).status_code == 400
    assert api("GET", "/api/v2/products", updated_since="2026-01-01T00:00:00Z").status_code == 400
