"""The Pipedrive destination against the Pipedrive simulator (real HTTP, the worker's Redis for the shared
records): new and returning buyers, B2B, status → stage and won/lost, replays, a lost create answer, the
search-lag race, 429s, products, plain-words refusals and erasure."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import redis
from pipedrive_harness import TOKEN, PipedriveSandbox

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError, TransientError
from sidecar.providers.crm import build_provider
from sidecar.providers.crm.base import Contact, Deal, Known, LineItem
from sidecar.providers.crm.limits import RateLimiter
from sidecar.providers.crm.pipedrive import LocalMemory, PipedriveProvider
from sidecar.sandbox import ServedApp, load_factory

JAN = Contact("jan@example.com", "Jan", "Kowalski", "", "", False, "", None)
ACME = replace(
    JAN,
    email="anna@acme.pl",
    first_name="Anna",
    last_name="Nowak",
    company="ACME sp. z o.o.",
    nip="5260250274",
)


def deal(order_id: int, status: str = "processing", stage: str = "", **extra: Any) -> Deal:
    fields: dict[str, Any] = {
        "order_id": order_id,
        "number": str(order_id),
        "name": f"Order #{order_id}",
        "amount": Decimal("203.48"),
        "currency": "PLN",
        "status": status,
        "stage": stage,
        "pipeline": "default",
        "close_date": None,
        "created_at": "2026-12-01T10:00:00Z",
        "invoice_number": "",
        "invoice_url": "",
        "return_state": "",
        "line_items": (),
        **extra,
    }
    return Deal(**fields)


@pytest.fixture(scope="module")
def served() -> Iterator[ServedApp]:
    with ServedApp(load_factory("pipedrive")(token=TOKEN)) as app:
        yield app


@pytest.fixture
def sandbox(served: ServedApp) -> PipedriveSandbox:
    box = PipedriveSandbox(served.url)
    box.reset()
    return box


def settings(url: str, **extra: Any) -> dict[str, Any]:
    block = {"api_token": TOKEN, "company_domain": "sklep", "base_url": url, "search_lag_seconds": 2, **extra}
    return {"provider": "pipedrive", "pipeline": "default", "line_items": True, "pipedrive": block}


@pytest.fixture
def make(served: ServedApp, sandbox: PipedriveSandbox, redis_conn: redis.Redis) -> Any:
    """A fresh provider per call, as every job run builds one; the shared records live in Redis."""

    def build(**extra: Any) -> PipedriveProvider:
        limiter = RateLimiter(redis_conn, "pipedrive:test", default_max=1000, default_interval_ms=1000)
        provider = build_provider("pipedrive", settings(served.url, **extra), AuditLog(None), limiter=limiter)
        assert isinstance(provider, PipedriveProvider)
        return provider

    return build


def test_new_buyer_becomes_a_person_and_a_deal(make: Any, sandbox: PipedriveSandbox) -> None:
    synced = make().sync_order(JAN, deal(101), Known())
    [person] = sandbox.records("persons")
    assert person["name"] == "Jan Kowalski"
    assert person["emails"] == [{"value": "jan@example.com", "primary": True, "label": "work"}]
    assert "marketing_status" not in person  # no consent: transactional only
    [made] = sandbox.records("deals")
    assert (made["title"], made["value"], made["currency"], made["status"]) == (
        "Order #101",
        203.48,
        "PLN",
        "open",
    )
    assert made["person_id"] == person["id"] and made["stage_id"] == 1  # the pipeline's first stage
    assert (synced.contact_id, synced.deal_id, synced.stage) == (str(person["id"]), str(made["id"]), "1")
    assert synced.url == f"https://sklep.pipedrive.com/deal/{made['id']}"


def test_returning_buyer_one_person_two_deals(make: Any, sandbox: PipedriveSandbox) -> None:
    first = make().sync_order(JAN, deal(101), Known())
    second = make().sync_order(replace(JAN, last_name="Kowalski-Nowak"), deal(102), Known())
    assert first.contact_id == second.contact_id
    # Only a sync that made the person says so (the job then checks for an erasure that ran meanwhile).
    assert (first.created, second.created) == (True, False)
    [person] = sandbox.records("persons")
    assert person["name"] == "Jan Kowalski-Nowak"
    assert sorted(d["title"] for d in sandbox.records("deals")) == ["Order #101", "Order #102"]


def test_consent_sets_marketing_status_and_withdrawal_unsubscribes(
    make: Any, sandbox: PipedriveSandbox
) -> None:
    consenting = replace(JAN, marketing=True, consent_version="v1", consent_at="2026-12-01T10:00:00Z")
    person_id = make().sync_order(consenting, deal(101), Known()).contact_id
    assert sandbox.records("persons")[0]["marketing_status"] == "subscribed"
    assert make().sync_contact(JAN, Known(contact_id=person_id)) == person_id
    assert sandbox.records("persons")[0]["marketing_status"] == "unsubscribed"


def test_b2b_buyer_gets_one_organization(make: Any, sandbox: PipedriveSandbox) -> None:
    make().sync_order(ACME, deal(201), Known())
    make().sync_order(replace(ACME, email="piotr@acme.pl", first_name="Piotr"), deal(202), Known())
    [org] = sandbox.records("organizations")
    assert org["name"] == "ACME sp. z o.o."
    assert {p["org_id"] for p in sandbox.records("persons")} == {org["id"]}
    assert {d["org_id"] for d in sandbox.records("deals")} == {org["id"]}
    assert "5260250274" not in str(sandbox.snapshot())  # the NIP is not sent


def test_status_moves_stage_and_won_lost(make: Any, sandbox: PipedriveSandbox) -> None:
    [pipeline] = make().pipelines()
    assert (pipeline.id, pipeline.label) == ("1", "Pipeline")
    assert [s.label for s in pipeline.stages][:2] == ["Qualified", "Contact Made"]
    stage = {s.label: s.id for s in pipeline.stages}
    known = Known()
    for status, label, expected in (
        ("pending", "Qualified", "open"),
        ("processing", "Proposal Made", "open"),
        ("completed", "Negotiations Started", "won"),
        ("refunded", "Negotiations Started", "lost"),
        ("processing", "Proposal Made", "open"),  # a refund reversed: the deal re-opens
        ("cancelled", "Proposal Made", "lost"),
    ):
        synced = make().sync_order(JAN, deal(301, status, stage[label]), known)
        known = Known(synced.contact_id, synced.deal_id)
        [record] = sandbox.records("deals")
        assert (record["stage_id"], record["status"], synced.stage) == (
            int(stage[label]),
            expected,
            stage[label],
        )
    assert sandbox.counts()["deals_created"] == 1


def test_unknown_or_foreign_stage_is_a_plain_permanent_error(make: Any, sandbox: PipedriveSandbox) -> None:
    with pytest.raises(
        PermanentError, match='"closedwon" mapped to order status "completed" is not a Pipedrive'
    ):
        make().sync_order(JAN, deal(401, "completed", "closedwon"), Known())
    with pytest.raises(PermanentError, match='no stage 999 in pipeline "default"'):
        make().sync_order(JAN, deal(401, "completed", "999"), Known())
    other = sandbox.add_pipeline("Ecommerce", ["Paid", "Shipped"])
    foreign = str(other["stages"][0]["id"])
    with pytest.raises(PermanentError, match=f'no stage {foreign} in pipeline "1"'):
        make_one = make()
        make_one.pipeline = "1"
        make_one.sync_order(JAN, deal(401, "completed", foreign), Known())
    assert sandbox.records("deals") == []


def test_replay_and_lost_write_back_keep_one_deal(make: Any, sandbox: PipedriveSandbox) -> None:
    synced = make().sync_order(JAN, deal(501), Known())
    make().sync_order(JAN, deal(501), Known(synced.contact_id, synced.deal_id))  # a replayed event
    make().sync_order(JAN, deal(501), Known())  # the write-back was lost: nothing stored on the order
    assert len(sandbox.records("deals")) == 1 and len(sandbox.records("persons")) == 1


def test_lost_create_answer_is_recovered_not_duplicated(
    make: Any, sandbox: PipedriveSandbox, redis_conn: redis.Redis
) -> None:
    sandbox.lag(30)  # the search index does not have the deal for the whole test
    sandbox.fault(mode="drop_after_commit", match="POST /api/v2/deals")
    with pytest.raises(TransientError):
        make().sync_order(JAN, deal(601), Known())
    [claim] = [redis_conn.get(k).decode() for k in redis_conn.keys("bpm:crm:pipedrive:*:deal:*")]
    assert claim.startswith("lost:")  # the create went out and its answer was lost
    # The retry looks at the listing of recent deals (not the lagging search index) and finds it at once.
    synced = make().sync_order(JAN, deal(601), Known())
    [record] = sandbox.records("deals")
    assert synced.deal_id == str(record["id"])
    assert sandbox.counts()["deals_created"] == 1


def test_a_claim_is_stamped_when_the_create_goes_out_in_redis_time(
    make: Any, sandbox: PipedriveSandbox, redis_conn: redis.Redis
) -> None:
    """A create that waited for the rate limit must not look old to another worker: the claim's time is
    taken after the limiter's wait, from Redis' clock."""
    provider = make()
    waited_until: list[float] = []
    acquire = provider.limiter.acquire

    def slow_acquire() -> Any:
        slot = acquire()
        seconds, micros = redis_conn.time()
        waited_until.append(seconds + micros / 1e6)
        return slot

    provider.limiter.acquire = slow_acquire  # type: ignore[method-assign]
    sandbox.fault(mode="503", match="POST /api/v2/persons", count=1)
    with pytest.raises(TransientError):
        provider.sync_order(JAN, deal(611), Known())
    [claim] = [redis_conn.get(k).decode() for k in redis_conn.keys("bpm:crm:pipedrive:*:person:*")]
    state, _, at = claim.partition(":")
    assert state == "lost" and float(at) >= waited_until[-1] - 0.001


def test_search_lag_second_order_of_a_new_buyer_reuses_the_person(
    make: Any, sandbox: PipedriveSandbox
) -> None:
    sandbox.lag(30)  # the index does not catch up during the test
    make().sync_order(JAN, deal(701), Known())
    make().sync_order(JAN, deal(702), Known())  # another order: another lock, nothing stored on it
    assert len(sandbox.records("persons")) == 1 and len(sandbox.records("deals")) == 2


def test_search_lag_without_the_shared_record_would_duplicate(
    served: ServedApp, sandbox: PipedriveSandbox
) -> None:
    """The guard above is what makes the difference: without the shared record the race is real."""
    sandbox.lag(30)
    for order_id in (711, 712):
        provider = build_provider("pipedrive", settings(served.url), AuditLog(None))
        assert isinstance(provider, PipedriveProvider) and isinstance(provider.memory, LocalMemory)
        provider.sync_order(JAN, deal(order_id), Known())
    assert len(sandbox.records("persons")) == 2  # what the simulator's lag does to a naive client


def test_two_workers_racing_on_one_new_buyer_create_one_person(make: Any, sandbox: PipedriveSandbox) -> None:
    sandbox.lag(30)
    sandbox.fault(mode="latency", seconds=0.5, match="POST /api/v2/persons")
    results: dict[int, Any] = {}

    def run(order_id: int) -> None:
        try:
            results[order_id] = make().sync_order(JAN, deal(order_id), Known())
        except TransientError as exc:
            results[order_id] = exc

    threads = [threading.Thread(target=run, args=(order_id,)) for order_id in (801, 802)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    waited = [order_id for order_id, r in results.items() if isinstance(r, TransientError)]
    assert len(waited) == 1  # the second worker waited for the first one's create
    make().sync_order(JAN, deal(waited[0]), Known())  # its retry
    assert len(sandbox.records("persons")) == 1 and len(sandbox.records("deals")) == 2


def test_burst_limit_is_kept_and_a_429_storm_ridden_out(make: Any, sandbox: PipedriveSandbox) -> None:
    sandbox.limits(max=7, window_seconds=1)
    started = time.monotonic()
    for order_id in range(901, 903):
        make().sync_order(replace(JAN, email=f"buyer{order_id}@example.com"), deal(order_id), Known())
    # ``x-ratelimit-remaining: 0`` pauses the account until ``x-ratelimit-reset``: never over the limit.
    assert sandbox.counts()["rate_limited"] == 0
    assert len(sandbox.records("deals")) == 2
    sandbox.limits(max=0)
    sandbox.fault(mode="429", count=2, retry_after=1, match="POST /api/v2/deals")
    make().sync_order(JAN, deal(904), Known())  # two 429s with Retry-After, answered in-process
    assert len(sandbox.records("deals")) == 3
    sandbox.fault(mode="429", count=3, retry_after=1, match="POST /api/v2/deals")
    with pytest.raises(TransientError, match="request limit") as caught:
        make().sync_order(JAN, deal(905), Known())
    assert caught.value.retry_after == 1  # the framework retries later, after Retry-After
    assert time.monotonic() - started < 20


def test_the_burst_limit_is_learnt_from_pipedrives_headers(
    make: Any, sandbox: PipedriveSandbox, redis_conn: redis.Redis
) -> None:
    """Every worker paces by the limit Pipedrive states (``x-ratelimit-limit`` per its 2 s window)."""
    sandbox.limits(max=9, window_seconds=2)
    provider = make()
    provider.sync_order(JAN, deal(951), Known())
    conf = redis_conn.hgetall(provider.limiter.conf_key)
    assert (conf[b"max"], conf[b"interval"]) == (b"9", b"2000")
    for order_id in (952, 953):
        make().sync_order(JAN, deal(order_id), Known())
    assert sandbox.counts()["rate_limited"] == 0


def test_person_already_in_pipedrive_is_found_by_search(make: Any, sandbox: PipedriveSandbox) -> None:
    from pipedrive_harness import Api

    Api(sandbox.url)("POST", "/api/v2/persons", {"name": "Jan K.", "emails": [{"value": "JAN@example.com"}]})
    Api(sandbox.url)("POST", "/api/v2/products", {"name": "Kawa", "code": "KAWA-1"})
    coffee = LineItem("Kawa ziarnista 1 kg", 1, Decimal("89.99"), "KAWA-1")
    make().sync_order(JAN, deal(951, line_items=(coffee,)), Known())
    assert len(sandbox.records("persons")) == 1 and len(sandbox.records("products")) == 1
    assert sandbox.records("persons")[0]["name"] == "Jan Kowalski"


def test_line_items_become_products_reconciled_on_every_sync(make: Any, sandbox: PipedriveSandbox) -> None:
    coffee = LineItem("Kawa ziarnista 1 kg", 2, Decimal("89.99"), "KAWA-1")
    tea = LineItem("Herbata zielona", 1, Decimal("23.50"), "")
    synced = make().sync_order(JAN, deal(1001, line_items=(coffee, tea)), Known())
    known = Known(synced.contact_id, synced.deal_id)
    rows = sandbox.records("deal_products")
    assert sorted((r["item_price"], r["quantity"]) for r in rows) == [(23.5, 1), (89.99, 2)]
    make().sync_order(JAN, deal(1001, line_items=(coffee, tea)), known)  # replay: nothing added
    assert len(sandbox.records("deal_products")) == 2
    make().sync_order(JAN, deal(1001, line_items=(replace(coffee, quantity=3),)), known)
    [row] = sandbox.records("deal_products")
    assert row["quantity"] == 3
    make().sync_order(JAN, deal(1002, line_items=(coffee,)), Known())  # another order, same SKU
    assert sorted(p["name"] for p in sandbox.records("products")) == [
        "Herbata zielona",
        "Kawa ziarnista 1 kg",
    ]


def test_plan_cap_and_bad_token_are_plain_permanent_errors(make: Any, sandbox: PipedriveSandbox) -> None:
    sandbox.plan(1)
    make().sync_order(JAN, deal(1101), Known())
    with pytest.raises(PermanentError, match="plan allows no more open deals"):
        make().sync_order(JAN, deal(1102), Known())
    with pytest.raises(PermanentError, match="refused the API token"):
        make(api_token="wrong").sync_order(JAN, deal(1103), Known())


def test_erase_deletes_the_person_even_before_the_index_has_it(make: Any, sandbox: PipedriveSandbox) -> None:
    sandbox.lag(30)
    make().sync_order(JAN, deal(1201), Known())
    assert "deleted person" in make().erase("jan@example.com")
    assert sandbox.records("persons") == [] and sandbox.records("deals")[0]["person_id"] is None
    assert "no person with this e-mail" in make().erase("jan@example.com")


def test_erase_deletes_the_organization_made_for_the_buyer_alone(
    make: Any, sandbox: PipedriveSandbox
) -> None:
    make().sync_order(ACME, deal(1301), Known())
    [org] = sandbox.records("organizations")
    said = make().erase(ACME.email)
    assert f"organization {org['id']}" in said and "trash for 30 days" in said
    assert sandbox.records("organizations") == [] and sandbox.records("persons") == []


def test_erase_keeps_an_organization_other_people_belong_to(make: Any, sandbox: PipedriveSandbox) -> None:
    make().sync_order(ACME, deal(1311), Known())
    make().sync_order(replace(ACME, email="piotr@acme.pl", first_name="Piotr"), deal(1312), Known())
    assert "organization" not in make().erase(ACME.email)
    [org] = sandbox.records("organizations")
    assert [p["org_id"] for p in sandbox.records("persons")] == [org["id"]]  # Piotr's company stays
    found = make()._call("GET", f"/organizations/{org['id']}", what="the organization")
    assert found["name"] == ACME.company


def test_the_invoice_and_the_return_are_one_deal_note_updated_in_place(
    make: Any, sandbox: PipedriveSandbox
) -> None:
    make().sync_order(JAN, deal(1401), Known())
    assert sandbox.snapshot()["notes"] == []  # nothing to say yet: no note
    pdf = "https://faktury.example/1.pdf?a=1&b=2"
    invoiced = deal(1401, invoice_number="FV 1/12/2026", invoice_url=pdf)
    synced = make().sync_order(JAN, invoiced, Known())
    [note] = sandbox.snapshot()["notes"]
    assert note["deal_id"] == int(synced.deal_id) and note["pinned_to_deal_flag"] is True
    assert (
        "Invoice: FV 1/12/2026" in note["content"]
        and 'href="https://faktury.example/1.pdf?a=1&amp;b=2"' in note["content"]
    )
    make().sync_order(JAN, replace(invoiced, return_state="approved"), Known())
    [note] = sandbox.snapshot()["notes"]  # the same note, updated
    assert "Return: approved" in note["content"] and "Invoice: FV 1/12/2026" in note["content"]


@pytest.fixture(scope="module")
def shop() -> Iterator[Any]:
    from pipedrive_harness import Shop

    from sidecar.signing import new_secret

    secret = new_secret()
    with ServedApp(load_factory("woo")([secret], "bpm-api", Shop.PASSWORD, "http://127.0.0.1")) as served:
        yield Shop(served.url, secret)


def test_an_order_through_the_sync_job_moves_its_one_deal(
    shop: Any, served: ServedApp, sandbox: PipedriveSandbox
) -> None:
    """crm.sync_order on a WooCommerce order: created, paid, completed, replayed — one person, one deal."""
    from sidecar.jobs import crm

    stages = {"pending": "1", "processing": "4", "completed": "5"}
    shop.admin.config({"crm": settings(served.url) | {"stages": stages}})
    coffee = {"name": "Kawa", "price": "89.99", "qty": 2, "tax": "23", "sku": "KAWA-1"}
    order = shop.admin.create_order({"status": "pending", "items": [coffee]})
    for status, stage, state in (("pending", 1, "open"), ("processing", 4, "open"), ("completed", 5, "won")):
        shop.admin.set_status(order["id"], status)
        outcome = shop.run(crm.sync_order, "order.status_changed", {"order_id": order["id"]})
        assert outcome.status == "done", outcome.message
        shop.store.apply(order["id"], meta=outcome.write.meta)  # what the runner's write-back does
        [deal_record] = sandbox.records("deals")
        assert (deal_record["stage_id"], deal_record["status"]) == (stage, state)
    replay = shop.run(crm.sync_order, "order.status_changed", {"order_id": order["id"]})
    assert replay.status == "skipped"  # nothing changed: no Pipedrive call at all
    meta = shop.admin.meta(order["id"])
    assert meta["_bpm_crm_provider"] == "pipedrive" and meta["_bpm_crm_stage"] == "5"
    assert meta["_bpm_crm_url"] == f"https://sklep.pipedrive.com/deal/{deal_record['id']}"
    assert len(sandbox.records("persons")) == 1 and sandbox.counts()["deals_created"] == 1
    assert [r["quantity"] for r in sandbox.records("deal_products")] == [2]


def test_pipelines_load_from_v1_where_v2_has_none(make: Any, sandbox: PipedriveSandbox) -> None:
    sandbox.add_pipeline("Ecommerce", ["Paid", "Shipped"])
    from_v2 = make().pipelines()
    sandbox.setting("api", v2_pipelines=False)
    assert make().pipelines() == from_v2
    assert [p.label for p in from_v2] == ["Pipeline", "Ecommerce"]
    assert [s.label for s in from_v2[1].stages] == ["Paid", "Shipped"]
