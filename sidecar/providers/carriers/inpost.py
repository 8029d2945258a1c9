"""InPost ShipX client for return labels (reference notes: returns_crm.md §1.1).

- Base ``{base_url}/v1/``, ``Authorization: Bearer <token>``, the organization id in the create and
  search paths.
- A return is a new shipment with the customer as sender and the shop as receiver: to the shop's own
  locker (``inpost_locker_standard``, ``target_point``) or, without one, by courier to the shop's address
  (``inpost_courier_standard``; the customer posts it at a locker, or a courier collects it from the
  customer's address for a pick-up return). ``reference`` = the RMA number.
- Creation is asynchronous: ``created`` → ``confirmed`` with ``tracking_number``; the label (PDF, A6) is
  refused before that. ``reference`` does not de-duplicate, and the search may ignore the ``reference``
  filter, so :meth:`InpostCarrier.find` re-checks every row for an exact match on our side.
- Errors: ``{status, error, message, details}`` with ``details`` flat (``{"phone": ["invalid"]}``) or
  nested (``{"custom_attributes": [{"target_point": ["does_not_exist"]}]}``); some come back as HTTP 200
  with a numeric ``status`` in the body; the sandbox sometimes answers an empty body. 429 and 5xx (and a
  200-with-error-body of status ≥ 500) are transient; validation, 401 and 403 are a definite refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import requests

from sidecar.errors import PermanentError, TransientError
from sidecar.http import is_transient_status, retry_after_seconds
from sidecar.providers.carriers.base import (
    Carrier,
    CarrierRefused,
    NotCreated,
    Party,
    Progress,
    ReturnParcel,
    Search,
    Shipment,
)

DEFAULT_BASE_URL = "https://api-shipx-pl.easypack24.net"
TRACKING_PAGE = "https://inpost.pl/sledzenie-przesylek?number={number}"
SETTINGS_HINT = "WooCommerce → Settings → BPM Bridge → Returns"
PENDING = ("created", "offers_prepared", "offer_selected")
STOPPED = (
    "canceled",
    "returned_to_sender",
    "rejected_by_receiver",
    "undelivered",
    "undelivered_wrong_address",
    "undelivered_cod_cash_receiver",
)
# Every status the notes list: anything else is logged as unknown (and treated as moving, not terminal).
_MOVING = """
confirmed dispatched_by_sender dispatched_by_sender_to_pok collected_from_sender taken_by_courier
taken_by_courier_from_pok adopted_at_source_branch sent_from_source_branch adopted_at_sorting_center
taken_by_courier_from_customer_service_point out_for_delivery out_for_delivery_to_address ready_to_pickup
ready_to_pickup_from_pok ready_to_pickup_from_branch pickup_reminder_sent pickup_reminder_sent_address avizo
readdressed redirect_to_box oversized delay_in_delivery stack_in_customer_service_point
unstack_from_customer_service_point courier_avizo_in_customer_service_point stack_in_box_machine
unstack_from_box_machine claimed canceled_redirect_to_box pickup_time_expired stack_parcel_pickup_time_expired
stack_parcel_in_box_machine_pickup_time_expired
"""
# Waiting at the shop's locker (or a branch) for the shop to collect it; "*_expired": not collected in time.
COLLECT = (
    "ready_to_pickup",
    "ready_to_pickup_from_pok",
    "ready_to_pickup_from_branch",
    "pickup_reminder_sent",
    "pickup_reminder_sent_address",
    "avizo",
)
KNOWN = frozenset((*PENDING, *STOPPED, "delivered", *_MOVING.split()))
# Courier parcels need sizes and a weight: the template's box and a weight it certainly stays under.
COURIER_PARCELS = {
    "small": ((640, 380, 80), "5.00"),
    "medium": ((640, 380, 190), "10.00"),
    "large": ((640, 380, 410), "20.00"),
}
SEARCH_PAGE = 25
SEARCH_PAGES = 8  # at most 200 recent shipments are looked through for one reference

# A refused field in the shop admin's words: path prefix → (what, who fixes it). {value} is the value sent
# (only for point codes: never personal data in a message).
FIELD_WORDS: tuple[tuple[str, str, str], ...] = (
    ("custom_attributes.target_point", "the locker code {value} (the shop's return locker)", "shop"),
    ("custom_attributes.dropoff_point", "the locker code {value}", "customer"),
    ("custom_attributes.sending_method", "the way the parcel is posted", "shop"),
    ("sender.address", "the customer's address ({field})", "customer"),
    ("sender.phone", "the customer's phone number", "customer"),
    ("sender.email", "the customer's e-mail address", "customer"),
    ("sender", "the customer's name ({field})", "customer"),
    ("receiver.address", "the shop's return address ({field})", "shop"),
    ("receiver.phone", "the shop's return phone number", "shop"),
    ("receiver.email", "the shop's return e-mail address", "shop"),
    ("receiver", "the shop's return name ({field})", "shop"),
    ("parcels", "the parcel size ({field})", "shop"),
    ("service", "the InPost service", "shop"),
)
FIXES = {
    "shop": f"correct it in {SETTINGS_HINT}",
    "customer": (
        "correct the customer's details on the order for the next returns; this one gets the PDF return slip "
        "(or print an InPost label in Manager Paczek and send it to the customer)"
    ),
}


def phone_digits(value: str) -> str:
    """A Polish number as ShipX takes it: nine digits, no +48 and no spaces."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 11 and digits.startswith("48"):
        return digits[2:]
    if len(digits) == 13 and digits.startswith("0048"):
        return digits[4:]
    return digits


def flatten(details: Any, path: str = "") -> Iterator[tuple[str, list[str]]]:
    """``(field path, [codes])`` for both ``details`` shapes (flat per field, or lists of objects)."""
    if isinstance(details, Mapping):
        for key, value in details.items():
            yield from flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(details, list):
        codes = [str(v) for v in details if isinstance(v, str | int | float)]
        if codes:
            yield path, codes
        for entry in details:
            if isinstance(entry, Mapping | list):
                yield from flatten(entry, path)
    elif details is not None:
        yield path, [str(details)]


def refusal_words(details: Any, sent: Mapping[str, Any]) -> str:
    """ "InPost refused the locker code WAW999: does_not_exist; …" with what to do about it."""
    parts, fixes = [], []
    for path, codes in flatten(details):
        words, who = f"the field {path}", "shop"
        for prefix, text, owner in FIELD_WORDS:
            if path == prefix or path.startswith(prefix + "."):
                field = path[len(prefix) + 1 :] or path.rsplit(".", 1)[-1]
                words = text.format(value=_sent_value(sent, path) or "?", field=field.replace(".", " "))
                who = owner
                break
        parts.append(f"{words}: {', '.join(codes)}")
        if FIXES[who] not in fixes:
            fixes.append(FIXES[who])
    if not parts:
        return ""
    return f"InPost refused {'; '.join(parts)} — {'; '.join(fixes)}"


def _sent_value(sent: Mapping[str, Any], path: str) -> str:
    value: Any = sent
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return str(value) if isinstance(value, str | int) else ""


_FLAT = re.compile(r"^(?:m\.?|lok\.?|lokal|mieszkanie|apt\.?|flat|/)?\s*(\d+[A-Za-z]?)$", re.IGNORECASE)


def _split_street(address_1: str, address_2: str) -> tuple[str, str]:
    """WooCommerce keeps "ul. Długa 3/5" in one line; ShipX wants the street and the building apart. The
    second line is kept: a flat number ("5", "m. 5") joins the building as "3/5", anything else ("piętro 2")
    follows the street, so a courier finds the door."""
    line, extra = " ".join(address_1.split()), " ".join(address_2.split())
    found = re.match(r"^(.*?\D)[\s,]+(\d+[A-Za-z]?(?:\s*[/m]\s*\d+[A-Za-z]?)?)$", line)
    if not found:
        return line, extra
    street, building = found.group(1).strip(" ,"), found.group(2).replace(" ", "")
    flat = _FLAT.match(extra)
    if flat and "/" not in building:
        return street, f"{building}/{flat.group(1)}"
    if extra:
        street = f"{street}, {extra}"
    return street, building


def party(source: Mapping[str, Any], *, company: str = "") -> Party:
    """A :class:`Party` from ``privacy.for_carrier``'s customer or the shop's return settings."""
    street, building = str(source.get("street") or ""), str(source.get("building_number") or "")
    if not street and source.get("address_1"):
        street, building = _split_street(str(source["address_1"]), str(source.get("address_2") or ""))
    return Party(
        first_name=str(source.get("first_name") or "").strip(),
        last_name=str(source.get("last_name") or "").strip(),
        company_name=company.strip(),
        email=str(source.get("email") or "").strip(),
        phone=phone_digits(str(source.get("phone") or "")),
        street=street.strip(),
        building_number=building.strip(),
        city=str(source.get("city") or "").strip(),
        post_code=str(source.get("post_code") or source.get("postcode") or "").strip(),
        country_code=(
            str(source.get("country_code") or source.get("country") or "PL").strip() or "PL"
        ).upper(),
    )


class InpostCarrier(Carrier):
    name = "inpost"
    label = "InPost"
    recovery_window = 120.0

    def _base(self) -> str:
        return str(self.settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    def _org(self, refused: type[PermanentError] = PermanentError) -> str:
        org = str(self.settings.get("organization_id") or "").strip()
        if not org.isdigit():
            raise refused(f"the InPost organization id is not set: enter it in {SETTINGS_HINT}")
        return org

    def _headers(self, refused: type[PermanentError]) -> dict[str, str]:
        token = str(self.settings.get("api_token") or "").strip()
        if not token:
            raise refused(f"the InPost API token is not set: enter it in {SETTINGS_HINT}")
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _send(self, method: str, path: str, what: str, accept: str = "", **kwargs: Any) -> requests.Response:
        """A ShipX request; only a create's missing token is a :class:`CarrierRefused` (nothing bought)."""
        assert self.http is not None
        headers = self._headers(CarrierRefused if "json" in kwargs else PermanentError)
        if "json" in kwargs:
            headers["Content-Type"] = "application/json"
        if accept:
            headers["Accept"] = accept
        return self.http.request(method, f"{self._base()}/v1/{path}", headers=headers, **kwargs)

    def _json(self, response: requests.Response, what: str, sent: Mapping[str, Any] | None = None) -> Any:
        status = response.status_code
        body: Any = None
        if response.content.strip():
            try:
                body = response.json()
            except ValueError:
                body = None
        if status < 300 and isinstance(body, Mapping) and _numeric(body.get("status")) not in (None, 200):
            status = int(body["status"])  # ShipX's HTTP 200 carrying an error
        elif status < 300:
            if body is None:
                raise TransientError(f"InPost answered {what} with an empty or unreadable body")
            return body
        text = _error_text(body)
        if status == 429 or is_transient_status(status):
            # Only a 429 in ShipX's own words says the create was not processed; a 5xx (even with an error
            # body) or no body at all may follow a shipment that was made.
            definite = (
                sent is not None and status == 429 and isinstance(body, Mapping) and bool(body.get("error"))
            )
            error = NotCreated if definite else TransientError
            raise error(f"InPost answered {what} with HTTP {status}{text}", retry_after_seconds(response))
        # Only a refused create proves nothing was bought; a refused read (a token revoked after a lost
        # create) says nothing about the shipment, so it is a plain PermanentError that keeps the intent.
        refused = CarrierRefused if sent is not None else PermanentError
        if status in (401, 403):
            raise refused(
                f"InPost refused the API token (HTTP {status}) for {what}: check the token and the "
                f"organization id in {SETTINGS_HINT}"
            )
        if isinstance(body, Mapping) and body.get("details"):
            words = refusal_words(body["details"], sent or {})
            if words:
                raise refused(words)
        if status == 404 and sent is None:
            raise PermanentError(f"InPost: {what} not found (HTTP 404)")
        if sent is None and status != 400:  # a read refused for a reason of its own: ask again later
            raise TransientError(f"InPost answered {what} with HTTP {status}{text}")
        raise refused(f"InPost refused {what} (HTTP {status}){text}")

    # -- the interface ----------------------------------------------------------------------------
    def body(self, parcel: ReturnParcel) -> dict[str, Any]:
        """The create body: the customer sends, the shop receives; nothing else about anyone."""
        size = parcel.size if parcel.size in COURIER_PARCELS else "small"
        to_locker = parcel.method == "locker" and bool(parcel.target_point)
        pickup = parcel.method == "courier"
        body: dict[str, Any] = {
            "sender": _party_body(parcel.sender, address=pickup),
            "receiver": _party_body(parcel.receiver, address=not to_locker),
            "reference": parcel.reference,
        }
        if to_locker:
            body["service"] = "inpost_locker_standard"
            body["parcels"] = {"template": size}
            attrs = {"sending_method": "parcel_locker", "target_point": parcel.target_point}
        else:
            (length, width, height), kg = COURIER_PARCELS[size]
            body["service"] = "inpost_courier_standard"
            body["parcels"] = [
                {
                    "dimensions": {
                        "length": str(length),
                        "width": str(width),
                        "height": str(height),
                        "unit": "mm",
                    },
                    "weight": {"amount": kg, "unit": "kg"},
                    "is_non_standard": False,
                }
            ]
            attrs = {"sending_method": "dispatch_order" if pickup else "parcel_locker"}
        if parcel.method == "locker" and parcel.dropoff_point:
            attrs["dropoff_point"] = parcel.dropoff_point
        body["custom_attributes"] = attrs
        return body

    def create(self, parcel: ReturnParcel) -> Shipment:
        body = self.body(parcel)
        what = f"the return shipment {parcel.reference}"
        response = self._send("POST", f"organizations/{self._org(CarrierRefused)}/shipments", what, json=body)
        return _shipment(self._json(response, what, body), what)

    def find(self, parcel: ReturnParcel, created_after: float) -> Search:
        """Newest first, up to :data:`SEARCH_PAGES` pages. Certain only when the answer's ``count`` was
        seen in full, a short page ended the list, or rows sorted by ``created_at`` reached ones older
        than the intent; the reference filter may be ignored, so every row is checked here."""
        org, reference = self._org(), parcel.reference
        what = f"the search for shipment {reference}"
        matches: list[Shipment] = []
        seen, ordered, last = 0, True, float("inf")
        for page in range(1, SEARCH_PAGES + 1):
            params = {
                "reference": reference,
                "per_page": SEARCH_PAGE,
                "page": page,
                "sort_by": "created_at",
                "sort_order": "desc",
            }
            found = self._json(self._send("GET", f"organizations/{org}/shipments", what, params=params), what)
            items = found.get("items") if isinstance(found, Mapping) else None
            if not isinstance(items, list):
                raise TransientError(f"InPost answered {what} without a shipment list")
            per_page = _numeric(found.get("per_page")) or SEARCH_PAGE
            count = _numeric(found.get("count"))
            for item in items:
                moment = _unix(item.get("created_at")) if isinstance(item, Mapping) else None
                if moment is None or moment > last:
                    ordered = False  # not sorted as asked: "older rows reached" proves nothing
                last = moment if moment is not None else last
                if isinstance(item, Mapping) and _ours(item, parcel, created_after, moment):
                    matches.append(_shipment(item, what))
            seen += len(items)
            if count is not None and seen >= count:
                return Search(tuple(matches), certain=True)
            if len(items) < per_page:
                return Search(tuple(matches), certain=count is None)
            if ordered and last < created_after:
                return Search(tuple(matches), certain=True)
        return Search(tuple(matches), certain=False)  # looked at N pages without reaching older ones

    def cancel(self, shipment_id: str) -> bool:
        what = f"the cancel of shipment {shipment_id}"
        response = self._send("DELETE", f"shipments/{shipment_id}", what)
        if response.status_code in (200, 202, 204):
            return True
        try:
            self._json(response, what)
        except PermanentError:
            if response.status_code in (401, 403):
                raise
            return False  # invalid_action: confirmed already (or gone)
        return True  # a 200 without an error in it

    def status(self, shipment_id: str) -> Shipment:
        what = f"shipment {shipment_id}"
        return _shipment(self._json(self._send("GET", f"shipments/{shipment_id}", what), what), what)

    def label_pdf(self, shipment: Shipment, parcel: ReturnParcel) -> bytes:
        what = f"the label of shipment {shipment.id}"
        response = self._send(
            "GET",
            f"shipments/{shipment.id}/label",
            what,
            accept="application/pdf",
            params={"format": "pdf", "type": "A6"},
        )
        if response.status_code < 300 and response.content.startswith(b"%PDF-"):
            return response.content
        if response.status_code < 300:
            self._json(response, what)  # a 200 with an error body raises here
            raise TransientError(f"InPost answered {what} with something that is not a PDF")
        try:
            self._json(response, what)
        except PermanentError as exc:
            if response.status_code in (401, 403, 404):
                raise
            # Refused before confirmation (or a label not made yet): ask again later.
            raise TransientError(f"InPost has no label for shipment {shipment.id} yet ({exc})") from None
        raise TransientError(f"InPost has no label for shipment {shipment.id} yet")

    def progress(self, status: str) -> Progress:
        if status in PENDING:
            return "pending"
        if status == "delivered":
            return "delivered"
        if status in STOPPED:
            return "stopped"
        return "moving"

    def attention(self, status: str) -> Literal["", "collect", "expired"]:
        if status.endswith("_expired"):
            return "expired"
        return "collect" if status in COLLECT else ""

    def known(self, status: str) -> bool:
        return status in KNOWN

    def tracking_url(self, tracking_number: str) -> str:
        return TRACKING_PAGE.format(number=tracking_number) if tracking_number else ""


def _party_body(p: Party, *, address: bool) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in (("first_name", p.first_name), ("last_name", p.last_name)) if v}
    if p.company_name:
        out["company_name"] = p.company_name
    out.update({k: v for k, v in (("email", p.email), ("phone", p.phone)) if v})  # absent, not ""
    if address:
        out["address"] = {
            "street": p.street,
            "building_number": p.building_number,
            "city": p.city,
            "post_code": p.post_code,
            "country_code": p.country_code,
        }
    return out


def _ours(item: Mapping[str, Any], parcel: ReturnParcel, created_after: float, moment: float | None) -> bool:
    """Exactly our reference, made after our intent, to our point from our customer: a reinstall's, a
    staging copy's or another shop's shipment with the same number is never adopted."""
    if str(item.get("reference") or "") != parcel.reference or moment is None or moment < created_after:
        return False
    attrs = item.get("custom_attributes")
    point = attrs.get("target_point") if isinstance(attrs, Mapping) else None
    if parcel.method == "locker" and parcel.target_point and str(point or "") != parcel.target_point:
        return False
    sender = item.get("sender")
    email = str(sender.get("email") or "") if isinstance(sender, Mapping) else ""
    return not parcel.sender.email or email.casefold() == parcel.sender.email.casefold()


def _numeric(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _error_text(body: Any) -> str:
    if not isinstance(body, Mapping):
        return ""
    words = " ".join(str(body.get(k) or "") for k in ("error", "key", "message") if body.get(k)).strip()
    return f": {words[:200]}" if words else ""


def _shipment(body: Any, what: str) -> Shipment:
    if not isinstance(body, Mapping) or body.get("id") in (None, ""):
        raise TransientError(f"InPost answered {what} without a shipment id")
    tracking = body.get("tracking_number") or ""
    if not tracking:
        parcels = body.get("parcels")
        if isinstance(parcels, list) and parcels and isinstance(parcels[0], Mapping):
            tracking = parcels[0].get("tracking_number") or ""
    return Shipment(
        id=str(body["id"]),
        status=str(body.get("status") or ""),
        tracking_number=str(tracking),
        reference=str(body.get("reference") or ""),
        created_at=str(body.get("created_at") or ""),
        raw=body,
    )


def _unix(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):
        return None
