"""The InPost ShipX client against the ShipX simulator: what it sends (and only that), how it reads ShipX's
answers — both ``details`` shapes in the shop admin's words, 401/403, 429 with and without Retry-After, 5xx,
the 200-with-error-body quirk, empty bodies — and the carrier privacy allow-list."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from rma_harness import ORG, SHOP_LOCKER, TOKEN, ShipxSandbox

from sidecar import privacy
from sidecar.audit import AuditLog
from sidecar.errors import PermanentError, TransientError
from sidecar.http import HttpClient
from sidecar.providers.carriers import CARRIERS, build_carrier, carrier_class
from sidecar.providers.carriers.base import Carrier, CarrierRefused, NotCreated, Party, ReturnParcel
from sidecar.providers.carriers.inpost import InpostCarrier, party, phone_digits, refusal_words
from sidecar.sandbox import ServedApp
from sidecar.sandbox.shipx import create_app

CONTACT = {"first_name", "last_name", "email", "phone"}
ADDRESS = {"address_1", "address_2", "city", "postcode", "country"}
# GET rmas/{id} with every field a return can carry filled in, plus fields that must never reach a carrier.
FULL_RMA = {
    "id": 42,
    "number": "RMA-000042",
    "order_id": 7,
    "order_number": "7",
    "status": "approved",
    "kind": "complaint",
    "method": "locker",
    "point": "KRA010",
    "items": [{"order_item_id": 1, "product_id": 2, "quantity": 1, "reason": "Defect", "name": "Kawa"}],
    "customer_note": "The handle broke off",
    "iban": "PL61109010140000071219812874",
    "photos": ["a.jpg"],
    "meta": {},
    "customer": {
        "first_name": "Anna",
        "last_name": "Nowak",
        "email": "anna@example.com",
        "phone": "+48 501 202 303",
        "address_1": "ul. Długa 3/5",
        "address_2": "",
        "city": "Kraków",
        "postcode": "30-001",
        "country": "PL",
        "company": "Nowak Design",
        "nip": "5252445767",
        "birthday": "1990-01-01",
    },
}
SHOP = Party(
    company_name="Sklep",
    email="zwroty@sklep.example",
    phone="600700800",
    street="Piotrkowska",
    building_number="100",
    city="Łódź",
    post_code="90-001",
)


@pytest.fixture(scope="module")
def shipx() -> Iterator[ServedApp]:
    with ServedApp(create_app(TOKEN, ORG, others={"other-token": 999})) as served:
        yield served


@pytest.fixture
def sandbox(shipx: ServedApp) -> ShipxSandbox:
    box = ShipxSandbox(shipx.url)
    box.reset()
    return box


def inpost(shipx: ServedApp, **settings: str) -> InpostCarrier:
    config = {"api_token": TOKEN, "organization_id": str(ORG), "base_url": shipx.url, **settings}
    carrier = build_carrier("inpost", {"inpost": config}, AuditLog(None))
    assert isinstance(carrier, InpostCarrier)
    return carrier


def parcel(
    method: str = "locker", target: str = SHOP_LOCKER, reference: str = "RMA-000042", **rma: object
) -> ReturnParcel:
    view = {**FULL_RMA, "method": method, **rma}
    customer = privacy.for_carrier(view)
    return ReturnParcel(
        rma_id=42,
        reference=reference,
        order_number="7",
        method="courier" if method == "courier" else "locker",
        sender=party(customer),
        receiver=SHOP,
        target_point=target,
        dropoff_point=customer.get("point", ""),
    )


# -- privacy -------------------------------------------------------------------------------------------


def test_the_carrier_gets_name_phone_email_and_locker_only() -> None:
    assert set(privacy.for_carrier(FULL_RMA)) == CONTACT | {"point"}
    assert set(privacy.for_carrier({**FULL_RMA, "method": "courier"})) == CONTACT | ADDRESS
    assert set(privacy.for_carrier({**FULL_RMA, "method": "own"})) == CONTACT


def test_the_shipx_body_holds_exactly_the_allowed_keys(shipx: ServedApp) -> None:
    carrier = inpost(shipx)
    locker = carrier.body(parcel())
    assert set(locker) == {"sender", "receiver", "reference", "service", "parcels", "custom_attributes"}
    assert set(locker["sender"]) == CONTACT
    assert locker["sender"]["phone"] == "501202303"
    assert set(locker["custom_attributes"]) == {"sending_method", "target_point", "dropoff_point"}
    courier = carrier.body(parcel("courier"))
    assert set(courier["sender"]) == CONTACT | {"address"}
    assert set(courier["sender"]["address"]) == {
        "street",
        "building_number",
        "city",
        "post_code",
        "country_code",
    }
    text = repr(locker) + repr(courier)
    for secret in ("5252445767", "Nowak Design", "1990-01-01", "PL611090", "handle broke", "Kawa"):
        assert secret not in text


# -- the interface ---------------------------------------------------------------------------------------


def test_a_carrier_is_one_line_and_one_class() -> None:
    for name in CARRIERS:
        cls = carrier_class(name)
        assert issubclass(cls, Carrier) and cls.name == name
    with pytest.raises(PermanentError, match="unknown carrier"):
        carrier_class("furgonetka")


def test_phone_numbers_as_shipx_takes_them() -> None:
    assert phone_digits("+48 501 202 303") == "501202303"
    assert phone_digits("0048501202303") == "501202303"
    assert phone_digits("501-202-303") == "501202303"


def test_street_and_building_are_split() -> None:
    assert (
        party({"address_1": "ul. Długa 3/5"}).street,
        party({"address_1": "ul. Długa 3/5"}).building_number,
    ) == (
        "ul. Długa",
        "3/5",
    )
    odd = party({"address_1": "Rynek", "address_2": "12A"})
    assert (odd.street, odd.building_number) == ("Rynek", "12A")


@pytest.mark.parametrize(
    ("line_2", "street", "building"),
    [
        ("5", "ul. Krótka", "7/5"),
        ("m. 5", "ul. Krótka", "7/5"),
        ("lok. 12B", "ul. Krótka", "7/12B"),
        ("piętro 2, domofon 15", "ul. Krótka, piętro 2, domofon 15", "7"),
    ],
    ids=["flat", "m-flat", "lok-flat", "other"],
)
def test_the_second_address_line_is_kept_for_the_courier(line_2: str, street: str, building: str) -> None:
    split = party({"address_1": "ul. Krótka 7", "address_2": line_2})
    assert (split.street, split.building_number) == (street, building)


# -- ShipX's answers --------------------------------------------------------------------------------------


def test_create_status_and_label(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    carrier = inpost(shipx)
    made = carrier.create(parcel())
    assert made.status == "created" and made.tracking_number == ""
    with pytest.raises(TransientError, match="not confirmed"):
        carrier.label_pdf(made, parcel())
    seen = carrier.status(made.id)
    while not carrier.ready(seen):
        seen = carrier.status(made.id)
    assert seen.status == "confirmed" and len(seen.tracking_number) == 24
    assert carrier.label_pdf(seen, parcel()).startswith(b"%PDF-")
    assert carrier.tracking_url(seen.tracking_number).startswith(
        "https://inpost.pl/sledzenie-przesylek?number="
    )


def test_find_matches_the_reference_exactly_even_when_the_filter_is_ignored(
    shipx: ServedApp, sandbox: ShipxSandbox
) -> None:
    carrier = inpost(shipx)
    ours = carrier.create(parcel(reference="RMA-000042"))
    carrier.create(parcel(reference="RMA-0000421"))  # a longer number that contains ours
    carrier.create(parcel(reference="RMA-000043"))
    sandbox.setting("search", ignore_unsupported=True)
    found = carrier.find(parcel(reference="RMA-000042"), 0)
    assert [s.id for s in found.shipments] == [ours.id]
    absent = carrier.find(parcel(reference="RMA-000044"), 0)
    assert absent.shipments == () and absent.certain  # the whole (short) list was seen


def test_find_is_unsure_when_newer_shipments_hide_the_old_ones(
    shipx: ServedApp, sandbox: ShipxSandbox
) -> None:
    """The filter ignored and 205 newer shipments: 8 pages never reach older rows, so "not found" is
    not "absent"."""
    carrier = inpost(shipx)
    started = time.time() - 60
    carrier.create(parcel(reference="RMA-000042"))
    sandbox.setting("search", ignore_unsupported=True)
    for n in range(205):
        carrier.create(parcel(reference=f"RMA-9{n:05d}"))
    result = carrier.find(parcel(reference="RMA-000099"), started)
    assert result.shipments == () and not result.certain
    # With the filter honoured, ShipX's count (0) makes the same question certain.
    sandbox.setting("search", ignore_unsupported=False)
    assert carrier.find(parcel(reference="RMA-000099"), started).certain


def test_find_adopts_only_our_shipment(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    """Same reference, but made before our intent or for another shop's locker / another customer."""
    carrier = inpost(shipx)
    before = carrier.create(parcel(reference="SITE-RMA-000042-1"))
    time.sleep(0.01)
    started = time.time()
    other_point = carrier.create(parcel(reference="SITE-RMA-000042-1", target="KRA010"))
    other_customer = carrier.create(
        parcel(reference="SITE-RMA-000042-1", customer={**FULL_RMA["customer"], "email": "x@example.org"})
    )
    ours = carrier.create(parcel(reference="SITE-RMA-000042-1"))
    found = carrier.find(parcel(reference="SITE-RMA-000042-1"), started)
    assert [s.id for s in found.shipments] == [ours.id]
    assert {before.id, other_point.id, other_customer.id}.isdisjoint(s.id for s in found.shipments)


def test_cancel_before_confirmation_only(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    carrier = inpost(shipx)
    first, second = carrier.create(parcel()), carrier.create(parcel())
    assert carrier.cancel(first.id) is True
    assert carrier.status(first.id).status == "canceled"
    sandbox.move(second.id, "confirmed")
    assert carrier.cancel(second.id) is False


def test_refused_reads_are_permanent_not_a_create_refusal(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    made = inpost(shipx).create(parcel())
    revoked = inpost(shipx, api_token="wrong")
    for read in (
        lambda: revoked.status(made.id),
        lambda: revoked.find(parcel(), 0),
        lambda: revoked.label_pdf(made, parcel()),
    ):
        with pytest.raises(PermanentError, match="refused the API token") as caught:
            read()
        assert not isinstance(caught.value, CarrierRefused)


@pytest.mark.parametrize(
    ("rma", "target", "words"),
    [
        ({}, "WAW999", "InPost refused the locker code WAW999 (the shop's return locker): does_not_exist"),
        ({}, "LOD99X", "the locker code LOD99X (the shop's return locker): does_not_exist"),
        ({"point": "XXX000"}, SHOP_LOCKER, "InPost refused the locker code XXX000: does_not_exist"),
        (
            {"customer": {**FULL_RMA["customer"], "email": "nope"}},
            SHOP_LOCKER,
            "the customer's e-mail address: invalid",
        ),
    ],
    ids=["shop-locker", "locker-out-of-service", "customer-locker", "customer-email"],
)
def test_validation_refusals_in_the_shop_admins_words(
    shipx: ServedApp, sandbox: ShipxSandbox, rma: dict, target: str, words: str
) -> None:
    with pytest.raises(CarrierRefused) as refused:
        inpost(shipx).create(parcel(target=target, **rma))
    assert words in refused.value.reason
    assert sandbox.snapshot()["creates"] == 0


def test_both_details_shapes_are_read() -> None:
    flat = refusal_words({"receiver": {"phone": ["invalid"]}, "service": ["invalid"]}, {})
    assert flat.startswith(
        "InPost refused the shop's return phone number: invalid; the InPost service: invalid"
    )
    nested = refusal_words({"parcels": [{"weight": ["required"]}, {"weight": ["too_heavy"]}]}, {})
    assert "the parcel size (weight): required" in nested and "too_heavy" in nested
    listed = refusal_words({"custom_attributes": [{"target_point": ["does_not_exist"]}]},
                           {"custom_attributes": {"target_point": "WAW999"}})  # fmt: skip
    assert "the locker code WAW999 (the shop's return locker): does_not_exist" in listed
    assert "WooCommerce → Settings → BPM Bridge → Returns" in listed


def test_credentials_refused(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    with pytest.raises(CarrierRefused, match=r"refused the API token \(HTTP 401\)"):
        inpost(shipx, api_token="wrong").create(parcel())
    with pytest.raises(CarrierRefused, match=r"HTTP 403"):
        inpost(shipx, api_token="other-token").create(parcel())  # another organisation's path
    with pytest.raises(CarrierRefused, match="organization id is not set"):
        inpost(shipx, organization_id="").create(parcel())


@pytest.mark.parametrize("retry_after", [7, None])
def test_a_429_on_create_is_a_definite_not_now(
    shipx: ServedApp, sandbox: ShipxSandbox, retry_after: int | None
) -> None:
    sandbox.fault(
        mode="429", match="POST /v1/organizations", **({"retry_after": retry_after} if retry_after else {})
    )
    with pytest.raises(NotCreated) as caught:
        inpost(shipx).create(parcel())
    assert caught.value.retry_after == retry_after
    assert sandbox.snapshot()["creates"] == 0


@pytest.mark.parametrize(
    "rule",
    [
        {"mode": "503"},
        {"mode": "500"},
        {"mode": "empty", "status": 503},
        {"mode": "200_error", "status": 500},
        {"mode": "drop_after_commit"},
    ],
    ids=["503", "500", "empty", "200-error-500", "dropped"],
)
def test_server_trouble_on_create_may_have_bought_it(
    shipx: ServedApp, sandbox: ShipxSandbox, rule: dict
) -> None:
    sandbox.fault(match="POST /v1/organizations", **rule)
    with pytest.raises(TransientError) as caught:
        inpost(shipx).create(parcel())
    assert not isinstance(caught.value, NotCreated)


def test_a_200_with_an_error_body_of_a_4xx_is_a_refusal(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    sandbox.fault(
        mode="200_error", status=400, key="invalid_data", error="Something is wrong", match="POST /v1/"
    )
    with pytest.raises(CarrierRefused, match="HTTP 400"):
        inpost(shipx).create(parcel())


def test_reads_retry_on_empty_bodies_and_429(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    carrier = inpost(shipx)
    made = carrier.create(parcel())
    for rule in ({"mode": "empty", "status": 200}, {"mode": "429"}, {"mode": "200_error", "status": 502}):
        sandbox.fault(match="GET /v1/shipments", **rule)
        with pytest.raises(TransientError):
            carrier.status(made.id)
    assert carrier.status(made.id).id == made.id
    with pytest.raises(PermanentError, match="not found"):
        carrier.status("1")


def test_statuses_the_job_acts_on(shipx: ServedApp) -> None:
    carrier = inpost(shipx)
    assert carrier.progress("created") == "pending"
    assert carrier.progress("delivered") == "delivered"
    assert carrier.progress("returned_to_sender") == "stopped"
    assert carrier.progress("canceled") == "stopped"
    assert carrier.progress("some_new_status") == "moving" and not carrier.known("some_new_status")
    assert carrier.known("out_for_delivery")


def test_the_audit_trail_never_holds_the_token(shipx: ServedApp, sandbox: ShipxSandbox) -> None:
    records: list[dict] = []

    class Audit(AuditLog):
        def record(self, **entry: object) -> None:
            records.append(dict(entry))

    carrier = InpostCarrier({"api_token": TOKEN, "organization_id": str(ORG), "base_url": shipx.url},
                            HttpClient("inpost", Audit(None)))  # fmt: skip
    carrier.create(parcel())
    assert records and TOKEN not in repr(records)


def test_the_audit_redacts_whole_parties_and_points() -> None:
    from sidecar.audit import REDACTED, redact

    body = inpost_body_for_audit()
    out = redact(body)
    assert out["sender"] == {"first_name": REDACTED, "email": REDACTED, "phone": REDACTED}
    assert set(out["receiver"]["address"].values()) == {REDACTED}
    assert out["custom_attributes"] == {
        "sending_method": "parcel_locker",
        "target_point": REDACTED,
        "dropoff_point": REDACTED,
    }
    assert out["reference"] == "RMA-000042" and out["parcels"] == {"template": "small"}


def inpost_body_for_audit() -> dict:
    return {
        "sender": {"first_name": "Anna", "email": "anna@example.com", "phone": "501202303"},
        "receiver": {"address": {"street": "Piotrkowska", "building_number": "100", "flat": 4, "line2": "x"}},
        "parcels": {"template": "small"},
        "reference": "RMA-000042",
        "custom_attributes": {
            "sending_method": "parcel_locker",
            "target_point": "WAW1",
            "dropoff_point": "KRA0",
        },
    }
