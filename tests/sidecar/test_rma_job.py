"""``rma.process`` / ``rma.track`` against the WooCommerce and ShipX simulators: a label exactly once,
the intent before the create, recovery of a lost answer, the slip when InPost refuses, tracking to arrival."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rma_harness import FULL_BILLING, SHOP_LOCKER, Harness, Servers

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError, TransientError
from sidecar.jobs import rma as rma_jobs
from sidecar.providers.invoicing.base import Intent
from sidecar.store import RmaRoutes


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    served = Servers()
    yield served
    served.stop()


@pytest.fixture
def h(servers: Servers) -> Harness:
    return Harness(servers)


def number(rma_id: int) -> str:
    return f"RMA-{rma_id:06d}"


def test_an_approved_locker_return_gets_one_inpost_label_and_arrives(h: Harness) -> None:
    rma_id = h.rma(point="KRA010")
    outcomes = h.settle(rma_id)
    rma = h.view(rma_id)
    assert rma["status"] == "label_ready"
    shipments = h.shipx.shipments(number(rma_id))
    assert len(shipments) == 1
    shipment = shipments[0]
    assert shipment["custom_attributes"] == {
        "sending_method": "parcel_locker",
        "target_point": SHOP_LOCKER,
        "dropoff_point": "KRA010",
    }
    assert rma["meta"]["_bpm_shipment_id"] == str(shipment["id"])
    assert rma["label"]["carrier"] == "inpost"
    assert rma["label"]["tracking_number"] == shipment["tracking_number"]
    assert (
        rma["label"]["url"] == f"https://inpost.pl/sledzenie-przesylek?number={shipment['tracking_number']}"
    )
    assert base64.b64decode(rma["_pdf"]).startswith(b"%PDF-")
    assert rma["_labels"] == 1
    assert outcomes[0].follow_up and outcomes[0].follow_up[0] == "rma.track"
    assert "ready" in outcomes[-1].message
    # Following the parcel: nothing changes the return until ShipX says delivered.
    h.shipx.move(shipment["id"], "dispatched_by_sender")
    moving = h.run("rma.track", rma_id)
    assert moving.follow_up and not moving.report
    assert h.view(rma_id)["meta"]["_bpm_shipment_status"] == "dispatched_by_sender"
    h.shipx.move(shipment["id"], "delivered")
    arrived = h.run("rma.track", rma_id)
    assert arrived.follow_up is None
    assert h.view(rma_id)["status"] == "arrived"
    assert h.run("rma.track", rma_id).status == "skipped"
    assert h.run("rma.process", rma_id).status == "skipped"
    assert len(h.shipx.shipments(number(rma_id))) == 1


def test_the_shipment_id_is_stored_before_any_polling(h: Harness) -> None:
    h.shipx.setting("confirmation", reads=0, seconds=0)  # never confirms on its own
    rma_id = h.rma()
    outcome = h.run("rma.process", rma_id)
    assert outcome.follow_up and outcome.follow_up[0] == "rma.track"
    assert outcome.report and "ordered from InPost" in outcome.message  # the event's row hears of it
    meta = h.view(rma_id)["meta"]
    assert meta["_bpm_shipment_id"] == str(h.shipx.shipments(number(rma_id))[0]["id"])
    assert h.view(rma_id)["label"] is None


def test_a_lost_create_answer_is_recovered_by_reference_not_bought_twice(h: Harness) -> None:
    h.shipx.setting("search", ignore_unsupported=True)  # the reference filter is ignored: exact match is ours
    rma_id = h.rma()
    h.shipx.fault(mode="drop_after_commit", match="POST /v1/organizations")
    with pytest.raises(TransientError):
        h.run("rma.process", rma_id)
    h.settle(h.rma())  # another return's shipment, newer, heads the unfiltered search page
    intent = Intent.decode(h.view(rma_id)["meta"]["_bpm_shipment_id"])
    assert intent is not None and intent.provider == "inpost" and intent.ref == ref(h, rma_id, 1)
    assert len(h.shipx.shipments(number(rma_id))) == 1
    h.settle(rma_id)
    assert h.view(rma_id)["status"] == "label_ready"
    ours = h.shipx.shipments(number(rma_id))
    assert len(ours) == 1
    assert h.view(rma_id)["meta"]["_bpm_shipment_id"] == str(ours[0]["id"])
    assert h.view(rma_id)["label"]["tracking_number"] == ours[0]["tracking_number"]
    assert list(h.shipx.snapshot()["by_reference"].values()).count(1) >= 1
    assert h.view(rma_id)["_labels"] == 1


@pytest.mark.parametrize("lost_as", ["500", "502"])
def test_a_server_error_after_the_commit_keeps_the_intent(h: Harness, lost_as: str) -> None:
    rma_id = h.rma()
    h.shipx.fault(mode="drop_after_commit", match="POST /v1/organizations", **{"as": lost_as})
    with pytest.raises(TransientError):
        h.run("rma.process", rma_id)
    assert Intent.decode(h.view(rma_id)["meta"]["_bpm_shipment_id"]) is not None
    h.settle(rma_id)
    assert len(h.shipx.shipments(number(rma_id))) == 1
    assert h.view(rma_id)["status"] == "label_ready"


def test_an_unfound_intent_waits_out_the_recovery_window_before_creating_again(h: Harness) -> None:
    h.shipx.setting("search", lag_seconds=30)  # a fresh shipment is not searchable yet
    rma_id = h.rma()
    h.shipx.fault(mode="drop_after_commit", match="POST /v1/organizations")
    with pytest.raises(TransientError):
        h.run("rma.process", rma_id)
    with pytest.raises(TransientError, match="looking again"):
        h.run("rma.process", rma_id)
    assert len(h.shipx.shipments(number(rma_id))) == 1
    h.shipx.setting("search", lag_seconds=0)
    h.settle(rma_id)
    assert len(h.shipx.shipments(number(rma_id))) == 1


def test_an_intent_older_than_the_window_with_nothing_found_creates(h: Harness) -> None:
    rma_id = h.rma()
    stale = Intent("inpost", number(rma_id), int(time.time()) - 3600).encode()
    RmaRoutes(h.store).set_meta(rma_id, {"_bpm_shipment_id": stale}, {"_bpm_shipment_id": ""})
    h.settle(rma_id)
    assert h.view(rma_id)["status"] == "label_ready"
    assert len(h.shipx.shipments(number(rma_id))) == 1


def test_a_429_with_shipx_error_body_withdraws_the_intent_and_the_retry_creates_once(h: Harness) -> None:
    rma_id = h.rma()
    h.shipx.fault(mode="429", match="POST /v1/organizations", retry_after=3)
    with pytest.raises(TransientError) as caught:
        h.run("rma.process", rma_id)
    assert caught.value.retry_after == 3
    assert h.view(rma_id)["meta"].get("_bpm_shipment_id", "") == ""
    h.settle(rma_id)
    assert len(h.shipx.shipments(number(rma_id))) == 1


def test_a_refused_locker_code_falls_back_to_the_return_slip_in_plain_words(h: Harness) -> None:
    h.shop.config({"rma": {"return_locker": "WAW999"}})
    try:
        rma_id = h.rma()
        outcome = h.run("rma.process", rma_id)
    finally:
        h.shop.config({"rma": {"return_locker": SHOP_LOCKER}})
    rma = h.view(rma_id)
    assert h.shipx.shipments(number(rma_id)) == []
    assert (
        "InPost refused the locker code WAW999 (the shop's return locker): does_not_exist" in outcome.message
    )
    assert "PDF return slip" in outcome.message
    assert rma["status"] == "label_ready"
    assert rma["label"] == {"carrier": "return_slip", "tracking_number": number(rma_id), "url": ""}
    assert rma["meta"]["_bpm_carrier"] == "return_slip"
    assert "WAW999" in rma["meta"]["_bpm_carrier_error"]
    assert rma["meta"].get("_bpm_shipment_id", "") == ""
    assert base64.b64decode(rma["_pdf"]).startswith(b"%PDF-")
    assert any(t["event"] == "carrier_error" and not t["public"] for t in rma["timeline"])
    assert h.run("rma.process", rma_id).status == "skipped"


def test_a_refused_token_falls_back_to_the_slip(h: Harness) -> None:
    h.carrier("inpost", api_token="wrong")
    rma_id = h.rma()
    outcome = h.run("rma.process", rma_id)
    assert "InPost refused the API token (HTTP 401)" in outcome.message
    assert h.view(rma_id)["label"]["carrier"] == "return_slip"
    assert h.shipx.snapshot()["creates"] == 0


def test_a_customer_phone_inpost_will_not_take_names_the_field_not_the_value(h: Harness) -> None:
    rma_id = h.rma(billing={"phone": "12"})
    outcome = h.run("rma.process", rma_id)
    assert "the customer's phone number: invalid" in outcome.message
    assert "12" not in outcome.message.split("invalid")[0].split("number")[0]
    assert h.view(rma_id)["label"]["carrier"] == "return_slip"


def test_no_carrier_and_own_shipments_get_the_slip(h: Harness) -> None:
    h.carrier("none")
    rma_id = h.rma()
    outcome = h.run("rma.process", rma_id)
    assert outcome.status == "done" and outcome.follow_up is None
    assert h.view(rma_id)["label"]["carrier"] == "return_slip"
    h.carrier("inpost")
    own = h.rma(method="own")
    h.run("rma.process", own)
    assert h.view(own)["label"]["carrier"] == "return_slip"
    assert h.shipx.snapshot()["creates"] == 0


def test_a_courier_pickup_sends_the_customer_address_split_for_shipx(h: Harness) -> None:
    h.shop.config({"rma": {"return_locker": ""}})
    try:
        rma_id = h.rma(method="courier")
        h.settle(rma_id)
    finally:
        h.shop.config({"rma": {"return_locker": SHOP_LOCKER}})
    shipment = h.shipx.shipments(number(rma_id))[0]
    assert shipment["service"] == "inpost_courier_standard"
    assert shipment["custom_attributes"] == {"sending_method": "dispatch_order"}
    assert shipment["sender"]["address"] == {
        "street": "ul. Długa, piętro 2",  # the second line kept for the courier
        "building_number": "3/5",
        "city": "Kraków",
        "post_code": "30-001",
        "country_code": "PL",
    }
    assert shipment["receiver"]["address"]["city"] == "Łódź"
    assert h.view(rma_id)["status"] == "label_ready"


def test_a_parcel_returned_to_sender_stops_tracking_visibly(h: Harness) -> None:
    rma_id = h.rma()
    h.settle(rma_id)
    shipment = h.shipx.shipments(number(rma_id))[0]
    h.shipx.move(shipment["id"], "returned_to_sender")
    with pytest.raises(PermanentError, match="returned to sender"):
        h.run("rma.track", rma_id)
    rma = h.view(rma_id)
    assert rma["status"] == "label_ready"
    assert rma["meta"]["_bpm_shipment_status"] == "returned_to_sender"
    assert any(t["event"] == "parcel_stopped" and t["public"] for t in rma["timeline"])
    again = h.run("rma.track", rma_id)  # a later look (the sweep's) is quiet: told once is enough
    assert again.status == "skipped" and again.follow_up is None


@pytest.mark.parametrize(
    "rule",
    [
        {"mode": "503"},
        {"mode": "empty", "status": 500},
        {"mode": "200_error", "status": 500},
        {"mode": "latency", "seconds": 0.1},
    ],
    ids=["503", "empty-500", "200-with-error-500", "latency"],
)
def test_transient_answers_while_polling_are_retried_not_failed(h: Harness, rule: dict) -> None:
    rma_id = h.rma()
    h.run("rma.process", rma_id)
    h.shipx.fault(match="GET /v1/shipments", **rule)
    if rule["mode"] != "latency":
        with pytest.raises(TransientError):
            h.run("rma.track", rma_id)
    h.settle(rma_id)
    assert h.view(rma_id)["status"] == "label_ready"
    assert len(h.shipx.shipments(number(rma_id))) == 1


def test_returns_not_approved_are_left_alone(h: Harness) -> None:
    rma_id = h.rma(status="requested")
    outcome = h.run("rma.process", rma_id)
    assert outcome.status == "skipped" and outcome.report and not outcome.note
    assert h.shipx.snapshot()["creates"] == 0


def test_the_actions_are_registered() -> None:
    from sidecar.jobs import registry

    assert registry.resolve("rma.process") is rma_jobs.process
    assert registry.resolve("rma.track") is rma_jobs.track
    assert "rma.process" in registry.actions_for("rma.created", {"rma_id": 1, "order_id": 1})


def test_a_shipment_inpost_never_confirms_gets_the_slip_after_two_days(h: Harness) -> None:
    h.shipx.setting("confirmation", reads=0, seconds=0)
    rma_id = h.rma()
    h.run("rma.process", rma_id)
    assert h.run("rma.track", rma_id).follow_up  # still waiting
    outcome = h.run("rma.track", rma_id, first_run_at=time.time() - 3 * 86400)
    rma = h.view(rma_id)
    assert "has not confirmed shipment" in outcome.message and "PDF return slip" in outcome.message
    assert rma["label"]["carrier"] == "return_slip" and rma["status"] == "label_ready"
    assert rma["meta"]["_bpm_shipment_id"] == str(
        h.shipx.shipments(number(rma_id))[0]["id"]
    )  # kept on record
    assert "it was cancelled" in outcome.message
    assert h.shipx.shipments(number(rma_id))[0]["status"] == "canceled"  # no late second label


def test_a_parcel_stopped_before_any_label_gets_the_slip(h: Harness) -> None:
    h.shipx.setting("confirmation", reads=0, seconds=0)
    rma_id = h.rma()
    h.run("rma.process", rma_id)
    shipment = h.shipx.shipments(number(rma_id))[0]
    h.shipx.move(shipment["id"], "canceled")  # cancelled in Manager Paczek before it was confirmed
    outcome = h.run("rma.track", rma_id)
    rma = h.view(rma_id)
    assert "before its label was made" in outcome.message and "PDF return slip" in outcome.message
    assert rma["label"]["carrier"] == "return_slip" and rma["status"] == "label_ready"


# -- one label whatever the search says (recovery) ---------------------------------------------------


def ref(h: Harness, rma_id: int, attempt: int) -> str:
    return f"{rma_jobs.site_prefix(h.store.base)}-{number(rma_id)}-{attempt}"


def lose_create(h: Harness, rma_id: int, age: float = 600) -> str:
    """A create whose answer was lost, its intent then ``age`` seconds old (past the recovery window)."""
    h.shipx.fault(mode="drop_after_commit", match="POST /v1/organizations")
    with pytest.raises(TransientError):
        h.run("rma.process", rma_id)
    current = h.view(rma_id)["meta"]["_bpm_shipment_id"]
    intent = Intent.decode(current)
    assert intent is not None and intent.ref == ref(h, rma_id, 1)
    stale = Intent(intent.provider, intent.ref, int(intent.started - age)).encode()
    RmaRoutes(h.store).set_meta(rma_id, {"_bpm_shipment_id": stale}, {"_bpm_shipment_id": current})
    return stale


def test_search_lag_longer_than_the_window_still_leaves_one_shipment(h: Harness) -> None:
    h.shipx.setting("search", lag_seconds=600)  # the lost shipment stays unsearchable past the window
    rma_id = h.rma()
    lose_create(h, rma_id)
    h.settle(rma_id)
    rma = h.view(rma_id)
    assert rma["status"] == "label_ready"
    second = h.shipx.shipments(number(rma_id))[-1]
    assert second["reference"] == ref(h, rma_id, 2)  # a new attempt has its own reference
    assert rma["meta"]["_bpm_shipment_id"] == str(second["id"])
    h.shipx.setting("search", lag_seconds=0)  # attempt 1 turns up: it is cancelled, not kept
    outcome = h.run("rma.track", rma_id)
    assert "was cancelled" in outcome.message and outcome.report
    live = h.shipx.shipments(number(rma_id), live=True)
    assert [s["id"] for s in live] == [second["id"]]
    first = next(s for s in h.shipx.shipments(number(rma_id)) if s["reference"] == ref(h, rma_id, 1))
    assert first["status"] == "canceled"
    assert str(first["id"]) in h.view(rma_id)["meta"]["_bpm_shipment_extras"]
    assert h.run("rma.track", rma_id).report is False  # told once


def test_an_unsure_search_never_buys_a_second_label(h: Harness) -> None:
    """The reference filter ignored and 205 newer shipments: the lost one is beyond the pages looked at."""
    h.shipx.setting("search", ignore_unsupported=True)
    rma_id = h.rma()
    lose_create(h, rma_id)
    for n in range(205):
        h.shipx.create(f"OTHER-{n}")
    with pytest.raises(TransientError, match="could not tell"):
        h.run("rma.process", rma_id)
    assert len(h.shipx.shipments(number(rma_id))) == 1
    kept = h.view(rma_id)["meta"]["_bpm_shipment_id"]
    with pytest.raises(PermanentError, match=r"may already have shipment .* check Manager Paczek"):
        h.run("rma.process", rma_id, first_run_at=time.time() - 2 * 86400)  # a day of not knowing
    assert len(h.shipx.shipments(number(rma_id))) == 1
    assert h.view(rma_id)["meta"]["_bpm_shipment_id"] == kept  # kept for the replay


def test_another_shops_shipment_with_our_reference_is_not_adopted(h: Harness) -> None:
    rma_id = h.rma()
    foreign = h.shipx.create(ref(h, rma_id, 1), sender_email="someone@other.example", point="KRA010")
    stale = Intent("inpost", ref(h, rma_id, 1), int(time.time()) - 600).encode()
    RmaRoutes(h.store).set_meta(rma_id, {"_bpm_shipment_id": stale}, {"_bpm_shipment_id": ""})
    h.settle(rma_id)
    meta = h.view(rma_id)["meta"]
    assert meta["_bpm_shipment_id"] != str(foreign)
    ours = next(s for s in h.shipx.shipments(number(rma_id)) if s["id"] != foreign)
    assert meta["_bpm_shipment_id"] == str(ours["id"]) and ours["reference"] == ref(h, rma_id, 2)
    assert h.view(rma_id)["status"] == "label_ready"


def test_two_shipments_for_one_attempt_keep_one_and_cancel_the_other(h: Harness) -> None:
    rma_id = h.rma()
    lose_create(h, rma_id, age=0)
    twin = h.shipx.create(ref(h, rma_id, 1))  # the same attempt twice (a retried request)
    outcome = h.run("rma.process", rma_id)
    assert "more than one shipment" in outcome.message and "was cancelled" in outcome.message
    live = h.shipx.shipments(number(rma_id), live=True)
    assert len(live) == 1 and live[0]["id"] != twin
    assert h.view(rma_id)["meta"]["_bpm_shipment_id"] == str(live[0]["id"])


def test_a_lock_lost_after_the_intent_write_buys_nothing(h: Harness) -> None:
    from sidecar.errors import LockLost

    calls: list[int] = []

    def ensure_lock() -> None:
        calls.append(1)
        if len(calls) > 1:
            raise LockLost("another run holds the return")

    rma_id = h.rma()
    with pytest.raises(LockLost):
        h.run("rma.process", rma_id, ensure_lock=ensure_lock)
    assert h.shipx.snapshot()["creates"] == 0
    assert Intent.decode(h.view(rma_id)["meta"]["_bpm_shipment_id"]) is not None


def test_a_token_revoked_after_a_lost_create_keeps_the_intent_and_no_slip(h: Harness) -> None:
    rma_id = h.rma()
    stale = lose_create(h, rma_id)
    h.carrier("inpost", api_token="revoked")
    try:
        with pytest.raises(PermanentError, match="refused the API token") as caught:
            h.run("rma.process", rma_id)
    finally:
        h.carrier("inpost")
    assert not isinstance(caught.value, rma_jobs.CarrierRefused)
    rma = h.view(rma_id)
    assert rma["label"] is None and rma["status"] == "approved"
    assert rma["meta"]["_bpm_shipment_id"] == stale and rma["meta"]["_bpm_carrier"] == "inpost"
    h.settle(rma_id)  # the token fixed: the lost shipment is found, not bought again
    assert len(h.shipx.shipments(number(rma_id))) == 1
    assert h.view(rma_id)["label"]["carrier"] == "inpost"


def test_a_shipment_whose_id_cannot_be_stored_is_cancelled_not_lost(h: Harness) -> None:
    """The compare-and-set after a good create fails (another run rewrote the meta meanwhile)."""
    import threading

    rma_id = h.rma()
    h.shipx.fault(mode="latency", match="POST /v1/organizations", seconds=0.6)

    def another_run() -> None:
        deadline = time.time() + 5
        while time.time() < deadline:
            current = h.view(rma_id)["meta"].get("_bpm_shipment_id", "")
            if Intent.decode(current):
                RmaRoutes(h.store).set_meta(
                    rma_id, {"_bpm_shipment_id": "7999999"}, {"_bpm_shipment_id": current}
                )
                return
            time.sleep(0.02)

    thread = threading.Thread(target=another_run)
    thread.start()
    try:
        with pytest.raises(TransientError, match="changed while its label was bought"):
            h.run("rma.process", rma_id)
    finally:
        thread.join()
    made = h.shipx.shipments(number(rma_id))
    assert len(made) == 1 and made[0]["status"] == "canceled"
    meta = h.view(rma_id)["meta"]
    assert meta["_bpm_shipment_id"] == "7999999"
    assert meta["_bpm_shipment_extras"] == str(made[0]["id"])
    assert any("was cancelled" in t["message"] for t in h.view(rma_id)["timeline"])


def test_the_audit_trail_of_a_courier_return_holds_no_customer_data(h: Harness, tmp_path: Path) -> None:
    """Requests, answers and search pages (other returns' shipments too) through HttpClient's audit."""
    audit = AuditLog(tmp_path)
    h.shipx.setting("search", ignore_unsupported=True)  # search pages carry every recent shipment
    h.shop.config({"rma": {"return_locker": ""}})
    try:
        other = h.rma(method="courier", billing={**FULL_BILLING, "first_name": "Zofia", "phone": "602111222"})
        h.settle(other, audit=audit)
        rma_id = h.rma(method="courier")
        h.shipx.fault(mode="drop_after_commit", match="POST /v1/organizations")
        with pytest.raises(TransientError):
            h.run("rma.process", rma_id, audit=audit)
        h.settle(rma_id, audit=audit)
    finally:
        h.shop.config({"rma": {"return_locker": SHOP_LOCKER}})
    assert h.view(rma_id)["status"] == "label_ready"
    lines = [line for f in sorted(tmp_path.glob("audit-*.jsonl")) for line in f.read_text().splitlines()]
    records = [json.loads(line) for line in lines]
    assert any(r["method"] == "GET" and "/shipments" in r["url"] and r["response_body"] for r in records)
    assert any(r["method"] == "POST" and r["request_body"] for r in records)
    text = "\n".join(lines)
    values = [v for k, v in FULL_BILLING.items() if k != "country"] + ["Zofia", "501202303", "602111222"]
    values += ["Długa", "3/5", "Piotrkowska", "zwroty@sklep.example", "600700800"]  # the shop's own too
    for value in values:
        assert value not in text, value


def test_a_label_too_big_or_not_a_pdf_is_stopped_before_the_shop_in_plain_words() -> None:
    from sidecar.providers.carriers import build_carrier
    from sidecar.providers.carriers.base import Shipment

    carrier = build_carrier("inpost", {"inpost": {}}, AuditLog(None))
    shipment = Shipment(id="7000001", status="confirmed", tracking_number="620000000000000000000001")
    assert rma_jobs.checked_pdf(b"%PDF-1.4 small", carrier, shipment) == b"%PDF-1.4 small"
    with pytest.raises(PermanentError, match=r"is 5\.0 MiB, more than .* Manager Paczek"):
        rma_jobs.checked_pdf(b"%PDF-" + b"x" * (5 * 1024 * 1024), carrier, shipment)
    with pytest.raises(PermanentError, match="is not a PDF"):
        rma_jobs.checked_pdf(b"<html>", carrier, shipment)


def test_a_parcel_waiting_in_the_shops_locker_asks_staff_to_collect_it(h: Harness) -> None:
    rma_id = h.rma()
    h.settle(rma_id)
    shipment = h.shipx.shipments(number(rma_id))[0]
    h.shipx.move(shipment["id"], "ready_to_pickup")
    waiting = h.run("rma.track", rma_id)
    assert "collect it" in waiting.message and waiting.note and waiting.follow_up
    assert any("collect it" in t["message"] and not t["public"] for t in h.view(rma_id)["timeline"])
    assert h.run("rma.track", rma_id).note is False  # said once
    h.shipx.move(shipment["id"], "pickup_time_expired")
    with pytest.raises(PermanentError, match="not collected in time"):
        h.run("rma.track", rma_id)


def test_the_slip_falls_back_to_the_woocommerce_store_address(h: Harness, tmp_path: Path) -> None:
    import subprocess

    h.carrier("none")
    h.shop.config(
        {"rma": {"return_street": "", "return_building": "", "return_city": "", "return_postcode": ""}}
    )
    try:
        rma_id = h.rma()
        h.run("rma.process", rma_id)
    finally:
        h.shop.config({"rma": {"return_street": "Piotrkowska", "return_building": "100",
                               "return_city": "Łódź", "return_postcode": "90-001"}})  # fmt: skip
    path = tmp_path / "slip.pdf"
    path.write_bytes(base64.b64decode(h.view(rma_id)["_pdf"]))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "ul. Magazynowa 12" in text and "60-001 Poznań" in text


def test_one_track_chain_per_return(h: Harness) -> None:
    """Another event's rma.process on a return whose shipment is stored starts no second rma.track chain."""
    h.shipx.setting("confirmation", reads=0, seconds=0)
    rma_id = h.rma()
    first = h.run("rma.process", rma_id)
    assert first.follow_up and first.follow_up[0] == "rma.track"  # the chain
    again = h.run("rma.process", rma_id)  # e.g. staff edited the approved return: rma.updated
    assert again.follow_up is None and again.report
    assert len(h.shipx.shipments(number(rma_id))) == 1


def test_the_sweeps_resumed_process_restarts_the_lost_chain(h: Harness) -> None:
    from sidecar.jobs import synthetic
    from sidecar.jobs.base import JobContext

    h.shipx.setting("confirmation", reads=0, seconds=0)
    rma_id = h.rma()
    h.run("rma.process", rma_id)  # its follow-up was lost with Redis
    view = h.view(rma_id)
    day = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event = {
        "id": synthetic.event_id(h.store.base, view["order_id"], day[:10], rma_id),
        "type": "rma.updated",
        "occurred_at": day,
        "store": h.store.base,
        "data": {"rma_id": rma_id, "order_id": view["order_id"], "status": "approved"},
    }
    ctx = JobContext(event=event, action="rma.process", store=h.store, config=h.store.get_config(),
                     audit=AuditLog(None), ensure_lock=lambda: None, fencing_token=1, attempt=1,
                     first_run_at=time.time())  # fmt: skip
    resumed = rma_jobs.process(ctx)
    assert resumed.follow_up and resumed.follow_up[0] == "rma.track"
