"""What ShipX accepts in ``POST /v1/organizations/{org}/shipments`` and how it words a refusal.

Facts from the project's ShipX reference notes (returns_crm.md, 1.1-1.2): the locker and courier bodies, the
``validation_failed`` error and its two ``details`` shapes — flat per field (``{"receiver": {"phone":
["invalid"]}}``, ``{"service": ["invalid"]}``) and lists of objects for ``custom_attributes`` and ``parcels``
(``{"custom_attributes": [{"target_point": ["does_not_exist"]}]}``, ``{"parcels": [{"weight":
["required"]}, {}]}``). Where the notes are silent the choice is marked UNCONFIRMED.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

LOCKER_SERVICES = ("inpost_locker_standard",)
COURIER_SERVICES = ("inpost_courier_standard",)
# UNCONFIRMED: the simulated contract allows only the two standard services; every other code (the notes
# list more, from a third-party source) is refused as ``{"service": ["invalid"]}``.
SERVICES = LOCKER_SERVICES + COURIER_SERVICES
TEMPLATES = ("small", "medium", "large")
# Template parcel sizes (mm) and the weight limit a locker compartment takes, shown on the stored parcels.
TEMPLATE_SIZES = {"small": (80, 380, 640), "medium": (190, 380, 640), "large": (410, 380, 640)}
LOCKER_SENDING = ("parcel_locker", "dispatch_order", "pop", "pok", "any_point")
COURIER_SENDING = ("dispatch_order", "parcel_locker", "pop", "pok", "any_point")
# The customer hands the parcel to a courier at the sender's address: that address is where it is collected.
PICKUP_SENDING = ("dispatch_order",)
# UNCONFIRMED limits: 25 kg for a standard courier parcel, 50 kg when ``is_non_standard``.
MAX_KG, MAX_KG_NON_STANDARD = Decimal(25), Decimal(50)
MAX_REFERENCE = 100  # UNCONFIRMED
# UNCONFIRMED: a Polish mobile/landline number as 9 digits, no +48 prefix, no spaces (clients strip them).
PHONE = re.compile(r"^\d{9}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
POST_CODE = re.compile(r"^\d{2}-\d{3}$")
ADDRESS_FIELDS = ("street", "building_number", "city", "post_code", "country_code")
COUNTRIES = ("PL",)  # domestic services only

# The full list (openlinker's table, "verified against the ShipX Statuses doc", per the notes).
STATUSES = (
    "created",
    "offers_prepared",
    "offer_selected",
    "confirmed",
    "dispatched_by_sender",
    "dispatched_by_sender_to_pok",
    "collected_from_sender",
    "taken_by_courier",
    "taken_by_courier_from_pok",
    "adopted_at_source_branch",
    "sent_from_source_branch",
    "adopted_at_sorting_center",
    "taken_by_courier_from_customer_service_point",
    "out_for_delivery",
    "out_for_delivery_to_address",
    "ready_to_pickup",
    "ready_to_pickup_from_pok",
    "ready_to_pickup_from_branch",
    "pickup_reminder_sent",
    "pickup_reminder_sent_address",
    "avizo",
    "readdressed",
    "redirect_to_box",
    "oversized",
    "delay_in_delivery",
    "stack_in_customer_service_point",
    "unstack_from_customer_service_point",
    "courier_avizo_in_customer_service_point",
    "stack_in_box_machine",
    "unstack_from_box_machine",
    "claimed",
    "delivered",
    "canceled",
    "canceled_redirect_to_box",
    "returned_to_sender",
    "rejected_by_receiver",
    "undelivered",
    "undelivered_wrong_address",
    "undelivered_cod_cash_receiver",
    "pickup_time_expired",
    "stack_parcel_pickup_time_expired",
    "stack_parcel_in_box_machine_pickup_time_expired",
)
# Titles for the common statuses; UNCONFIRMED wording (the real dictionary is richer), others derived.
TITLES = {
    "created": ("Przesyłka utworzona.", "Shipment created."),
    "confirmed": ("Przygotowana przez Nadawcę.", "Prepared by sender."),
    "dispatched_by_sender": ("Paczka nadana w automacie Paczkomat.", "Parcel posted in a parcel locker."),
    "collected_from_sender": ("Odebrana od klienta.", "Collected from sender."),
    "taken_by_courier": ("Odebrana od Nadawcy.", "Taken by courier."),
    "adopted_at_sorting_center": ("Przyjęta w Sortowni.", "Adopted at sorting center."),
    "out_for_delivery": ("Wydana do doręczenia.", "Out for delivery."),
    "delivered": ("Dostarczona.", "Delivered."),
    "canceled": ("Anulowano etykietę.", "Label canceled."),
    "returned_to_sender": ("Zwrot do nadawcy.", "Returned to sender."),
}
POINTS: tuple[dict[str, Any], ...] = (
    # name, city, post code, street, building, latitude, longitude
    {
        "name": "WAW123",
        "city": "Warszawa",
        "post_code": "01-234",
        "street": "Marszałkowska",
        "building": "10",
    },
    {"name": "WAW01M", "city": "Warszawa", "post_code": "00-001", "street": "Nowy Świat", "building": "5"},
    {"name": "KRA010", "city": "Kraków", "post_code": "30-001", "street": "Długa", "building": "3"},
    {"name": "GDA05A", "city": "Gdańsk", "post_code": "80-001", "street": "Grunwaldzka", "building": "100"},
    {"name": "POZ08M", "city": "Poznań", "post_code": "60-001", "street": "Głogowska", "building": "21"},
    # A locker out of service: a shipment to it is refused like an unknown point.
    {
        "name": "LOD99X",
        "city": "Łódź",
        "post_code": "90-001",
        "street": "Piotrkowska",
        "building": "1",
        "status": "NonOperating",
    },
)

Details = dict[str, Any]


def point_record(spec: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A point as ``GET /v1/points`` shows it (a subset of ShipX's fields)."""
    name = str(spec["name"])
    return {
        "href": f"{base_url}/v1/points/{name}",
        "name": name,
        "type": ["parcel_locker"],
        "status": spec.get("status", "Operating"),
        "location": {"latitude": 52.2297, "longitude": 21.0122},
        "location_type": "Outdoor",
        "location_description": f"{spec['street']} {spec['building']}",
        "opening_hours": "24/7",
        "address": {
            "line1": f"{spec['street']} {spec['building']}",
            "line2": f"{spec['post_code']} {spec['city']}",
        },
        "address_details": {
            "city": spec["city"],
            "province": "",
            "post_code": spec["post_code"],
            "street": spec["street"],
            "building_number": spec["building"],
            "flat_number": None,
        },
        "functions": list(
            spec.get("functions", ("parcel_collect", "parcel_send", "parcel_reverse_return_send"))
        ),
        "partner_id": 0,
        "payment_available": True,
        "location_247": True,
    }


def amount(value: Any) -> Decimal | None:
    """A positive number given as a JSON number or a numeric string ("2.00"), else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _address(address: Any) -> Details:
    if not isinstance(address, Mapping):
        return {"address": ["required"]}
    errors: Details = {}
    for key in ADDRESS_FIELDS:
        if not _text(address.get(key)):
            errors[key] = ["required"]
    code = _text(address.get("post_code"))
    if code and not POST_CODE.match(code):
        errors["post_code"] = ["invalid"]
    country = _text(address.get("country_code"))
    if country and country.upper() not in COUNTRIES:
        errors["country_code"] = ["invalid"]
    return {"address": errors} if errors else {}


def _party(party: Any, *, contact: bool, address: bool, name: bool) -> Details | list[str]:
    """Errors of a sender/receiver object (``contact``: email + phone required; ``name``: a person or
    company name required), or ``["required"]`` when it is missing altogether."""
    if not isinstance(party, Mapping):
        return ["required"]
    errors: Details = {}
    for key, pattern in (("email", EMAIL), ("phone", PHONE)):
        value = _text(party.get(key))
        if not value:
            if contact:
                errors[key] = ["required"]
        elif not pattern.match(value):
            errors[key] = ["invalid"]
    if name and not _text(party.get("company_name")):
        for key in ("first_name", "last_name"):
            if not _text(party.get(key)):
                errors[key] = ["required"]
    if address:
        errors.update(_address(party.get("address")))
    elif party.get("address") is not None and isinstance(party.get("address"), Mapping):
        errors.update(_address(party["address"]))  # an address given is still checked
    return errors


def _courier_parcel(parcel: Any) -> Details:
    if not isinstance(parcel, Mapping):
        return {"dimensions": ["required"], "weight": ["required"]}
    errors: Details = {}
    dims = parcel.get("dimensions")
    if not isinstance(dims, Mapping):
        errors["dimensions"] = ["required"]
    else:
        sub: Details = {k: ["invalid"] for k in ("length", "width", "height") if amount(dims.get(k)) is None}
        if dims.get("unit", "mm") != "mm":
            sub["unit"] = ["invalid"]
        if sub:
            errors["dimensions"] = sub
    weight = parcel.get("weight")
    if not isinstance(weight, Mapping) or weight.get("amount") is None:
        errors["weight"] = ["required"]
    else:
        kg = amount(weight.get("amount"))
        limit = MAX_KG_NON_STANDARD if parcel.get("is_non_standard") is True else MAX_KG
        if kg is None or weight.get("unit", "kg") != "kg":
            errors["weight"] = ["invalid"]
        elif kg > limit:
            errors["weight"] = ["too_heavy"]
    return errors


def _money(value: Any, field: str) -> Details:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return {field: ["invalid"]}
    errors: Details = {}
    # A JSON number, as the notes say; a string amount is refused (UNCONFIRMED how strictly ShipX checks).
    raw = value.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        errors["amount"] = ["invalid"]
    if value.get("currency", "PLN") != "PLN":
        errors["currency"] = ["invalid"]
    return {field: errors} if errors else {}


def validate(body: Mapping[str, Any], points: Mapping[str, Mapping[str, Any]]) -> Details:
    """Every refusal of a create body (empty = valid), in ShipX's ``details`` shapes."""
    errors: Details = {}
    service = body.get("service")
    if service is None:
        # Offer mode (no service) is for prepaid accounts; the simulated contract account has none.
        errors["service"] = ["required"]
    elif service not in SERVICES:
        errors["service"] = ["invalid"]
    locker = service in LOCKER_SERVICES
    courier = service in COURIER_SERVICES
    attrs = body.get("custom_attributes")
    attr_errors: Details = {}
    if attrs is not None and not isinstance(attrs, Mapping):
        errors["custom_attributes"] = ["invalid"]
        attrs = {}
    attrs = attrs or {}
    sending = attrs.get("sending_method")
    if not sending:
        attr_errors["sending_method"] = ["required"]
    elif (locker and sending not in LOCKER_SENDING) or (courier and sending not in COURIER_SENDING):
        attr_errors["sending_method"] = ["invalid"]
    if locker:
        target = attrs.get("target_point")
        if not target:
            attr_errors["target_point"] = ["required"]
        elif not _collects(points.get(str(target))):
            attr_errors["target_point"] = ["does_not_exist"]
    dropoff = attrs.get("dropoff_point")
    if dropoff and not _sends(points.get(str(dropoff))):
        attr_errors["dropoff_point"] = ["does_not_exist"]
    if attr_errors and "custom_attributes" not in errors:
        errors["custom_attributes"] = [attr_errors]

    pickup = courier and sending in PICKUP_SENDING
    sender = body.get("sender")
    if sender is not None or pickup:
        # Without a sender ShipX uses the organisation's own data; a courier pick-up needs the address.
        found = _party(sender, contact=pickup, address=pickup, name=pickup)
        if found:
            errors["sender"] = found
    receiver = _party(body.get("receiver"), contact=True, address=courier, name=courier)
    if receiver:
        errors["receiver"] = receiver

    parcels = body.get("parcels")
    if parcels is None:
        errors["parcels"] = ["required"]
    elif locker:
        # Locker parcels are one object ``{"template": …}``, not an array (the notes); errors as a list.
        if not isinstance(parcels, Mapping):
            errors["parcels"] = ["invalid"]
        elif parcels.get("template") not in TEMPLATES:
            errors["parcels"] = [{"template": ["required" if not parcels.get("template") else "invalid"]}]
    elif courier:
        if not isinstance(parcels, list) or not parcels:
            errors["parcels"] = ["required" if not parcels else "invalid"]
        else:
            found_parcels = [_courier_parcel(p) for p in parcels]
            if any(found_parcels):
                errors["parcels"] = found_parcels

    errors.update(_money(body.get("cod"), "cod"))
    errors.update(_money(body.get("insurance"), "insurance"))
    reference = body.get("reference")
    if reference is not None and (
        not isinstance(reference, str | int) or len(str(reference)) > MAX_REFERENCE
    ):
        errors["reference"] = ["invalid"]
    if body.get("is_return") not in (None, True, False):
        errors["is_return"] = ["invalid"]
    return errors


def _collects(point: Mapping[str, Any] | None) -> bool:
    return point is not None and point["status"] == "Operating" and "parcel_collect" in point["functions"]


def _sends(point: Mapping[str, Any] | None) -> bool:
    return point is not None and point["status"] == "Operating" and "parcel_send" in point["functions"]
