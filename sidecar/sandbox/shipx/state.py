"""One simulated ShipX service: organisations' shipments, their asynchronous confirmation and status
progression, the points table, the status dictionary, ShipX's quirks and faults."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request

from sidecar.sandbox.faults import Faults
from sidecar.sandbox.shipx.rules import (
    COURIER_SERVICES,
    POINTS,
    STATUSES,
    TEMPLATE_SIZES,
    TITLES,
    point_record,
)

VALIDATION_MESSAGE = "There are some validation errors. Check details object for more info."
# Statuses a shipment can be cancelled in (the notes: "only before confirmed").
CANCELLABLE = ("created", "offers_prepared", "offer_selected")
# The everyday path after confirmation, which the control API's "next" walks.
FLOW = (
    "confirmed",
    "dispatched_by_sender",
    "collected_from_sender",
    "taken_by_courier",
    "adopted_at_sorting_center",
    "out_for_delivery",
    "delivered",
)
TERMINAL = ("delivered", "canceled", "returned_to_sender")


def error(status: int, key: str, message: str, details: Any = None) -> Response:
    """ShipX's error body: ``{status, error, message, details}``."""
    body: dict[str, Any] = {"status": status, "error": key, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def validation_failed(details: Mapping[str, Any]) -> Response:
    return error(400, "validation_failed", VALIDATION_MESSAGE, dict(details))


def not_found() -> Response:
    # UNCONFIRMED key (the notes mark ``resource_not_found`` so).
    return error(404, "resource_not_found", "Resource not found")


def _fault_error(message: str, status: int) -> Response:
    keys = {429: "too_many_requests", 500: "internal_server_error", 502: "bad_gateway"}
    return error(status, keys.get(status, "service_unavailable"), message)


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


class ShipxFaults(Faults):
    """The shared faults plus ShipX's own: ``429`` with a ``Retry-After`` only when the rule gives one
    (UNCONFIRMED whether ShipX sends it), ``502``, ``200_error`` (HTTP 200 with ``{status, key, error}``,
    the inconsistency shipx-php-sdk's ErrorProcessor handles), ``empty`` (an error status, empty body, as
    the sandbox sometimes answers) and ``drop_after_commit`` with ``"as": "close"`` (default: the
    connection is cut), ``"as": "502"`` (a gateway error without the body) or ``"as": "500"`` (ShipX's
    own 500 error body although the shipment was made)."""

    MODES = ("503", "500", "502", "429", "latency", "drop_after_commit", "200_error", "empty")

    def add(self, rule: Mapping[str, Any]) -> None:
        mode = str(rule.get("mode") or "")
        if mode not in self.MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        with self.lock:
            self.rules.append({"count": 1, "match": "", **rule, "mode": mode})

    def before(self) -> Response | None:
        if request.path.startswith("/_sandbox/"):
            return None
        rule = self.take(("latency",))
        if rule:
            time.sleep(float(rule.get("seconds") or 1))
        rule = self.take(("503", "500", "502", "429", "200_error", "empty"))
        if rule is None:
            return None
        mode = rule["mode"]
        if mode == "200_error":
            # shipx-php-sdk recognises ``status: 400`` with ``key`` and ``error``; the status is settable.
            body = {
                "status": int(rule.get("status") or 400),
                "key": str(rule.get("key") or "internal_error"),
                "error": str(rule.get("error") or "Something went wrong"),
            }
            return jsonify(body)
        if mode == "empty":
            return Response(b"", status=int(rule.get("status") or 500))
        response = self.error("simulated fault", int(mode))
        if mode == "429" and rule.get("retry_after") is not None:
            response.headers["Retry-After"] = str(rule["retry_after"])
        return response

    def lost(self) -> Response | None:
        """After a commit: the response to send instead of the real one, or None to answer normally."""
        rule = self.take(("drop_after_commit",))
        if rule is None:
            return None
        how = str(rule.get("as") or "close")
        if how == "500":
            # Made, yet answered with ShipX's own error body: an error body does not prove nothing was bought.
            return self.error("Internal server error", 500)
        if how == "close":
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        response = Response(b"", status=502)  # only reaches a client that has no socket to lose
        response.headers["Connection"] = "close"
        return response


class State:
    def __init__(self, accounts: Mapping[str, int]) -> None:
        self.accounts = dict(accounts)  # token → organization id
        self.lock = threading.Lock()
        # ``faults`` is what the shared control API knows; ``quirks`` the same object with ShipX's extras.
        self.quirks = ShipxFaults(_fault_error)
        self.faults: Faults = self.quirks
        self.reset()

    def reset(self) -> None:
        self.shipments: dict[int, dict[str, Any]] = {}
        self.next_id = 7_000_001
        self.points: dict[str, dict[str, Any]] = {p["name"]: point_record(p, "") for p in POINTS}
        self.confirmation: dict[str, Any] = {"reads": 2, "seconds": 0.0}
        self.search: dict[str, Any] = {
            "ignore_unsupported": False,
            "lag_seconds": 0.0,
            "misses_by_id": False,
            "reference_match": "exact",  # or "substring": the notes do not say how the filter matches
        }
        self.webhook: dict[str, Any] = {"url": "", "secret": "", "signature": "body", "auto": False}
        self.creates = 0
        self.label_fetches = 0
        self.webhooks_sent: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []  # webhooks to send once the request is answered
        self.faults.clear()

    def snapshot(self) -> dict[str, Any]:
        by_reference: dict[str, int] = {}
        for s in self.shipments.values():
            if s["reference"] is not None:
                by_reference[str(s["reference"])] = by_reference.get(str(s["reference"]), 0) + 1
        shipments = [
            {**public(s), "organization_id": s["_org"], "label_fetches": s["_labels"], "reads": s["_reads"]}
            for s in self.shipments.values()
        ]
        return {
            "shipments": shipments,
            "by_reference": by_reference,
            "creates": self.creates,
            "label_fetches": self.label_fetches,
            "webhooks": list(self.webhooks_sent),
        }

    def organization(self, token: str) -> int | None:
        for known, org in self.accounts.items():
            if secrets.compare_digest(known, token):
                return org
        return None

    # -- shipments ---------------------------------------------------------------------------------
    def create(self, org: int, body: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        shipment_id = self.next_id
        self.next_id += 1
        service = str(body["service"])
        stamp = now()
        shipment: dict[str, Any] = {
            "href": f"{base_url}/v1/shipments/{shipment_id}",
            "id": shipment_id,
            "status": "created",
            "tracking_number": None,
            "service": service,
            "reference": body.get("reference"),
            "is_return": bool(body.get("is_return", False)),
            "sender": body.get("sender"),
            "receiver": body.get("receiver"),
            "parcels": self._parcels(shipment_id, body["parcels"], service),
            "custom_attributes": dict(body.get("custom_attributes") or {}),
            "cod": body.get("cod"),
            "insurance": body.get("insurance"),
            "additional_services": list(body.get("additional_services") or []),
            "external_customer_id": body.get("external_customer_id"),
            "mpk": body.get("mpk"),
            "comments": body.get("comments"),
            "end_of_week_collection": bool(body.get("end_of_week_collection", False)),
            "offers": [],
            "selected_offer": None,
            "transactions": [],
            "created_by_id": org,
            "created_at": stamp,
            "updated_at": stamp,
            "_org": org,
            "_reads": 0,
            "_born": time.monotonic(),
            "_labels": 0,
            "_history": [{"status": "created", "origin_status": "CRE", "agency": None, "datetime": stamp}],
        }
        self.shipments[shipment_id] = shipment
        self.creates += 1
        return shipment

    def _parcels(self, shipment_id: int, parcels: Any, service: str) -> list[dict[str, Any]]:
        if service in COURIER_SERVICES:
            given = list(parcels)
        else:
            height, width, length = TEMPLATE_SIZES[parcels["template"]]
            size = {"length": length, "width": width, "height": height, "unit": "mm"}
            given = [{**parcels, "dimensions": size, "weight": {"amount": 25.0, "unit": "kg"}}]
        return [
            {
                "id": shipment_id * 10 + i,
                "template": p.get("template"),
                "dimensions": p.get("dimensions"),
                "weight": p.get("weight"),
                "is_non_standard": bool(p.get("is_non_standard", False)),
                "tracking_number": None,
            }
            for i, p in enumerate(given)
        ]

    def visible(self, shipment: Mapping[str, Any], org: int) -> bool:
        return shipment["_org"] == org

    def settle(self, shipment: dict[str, Any], read: bool = False) -> None:
        """Asynchronous processing: ``created`` becomes ``confirmed`` after ``reads`` reads by id, or on
        its own ``seconds`` after creation (0 = never on its own)."""
        if shipment["status"] != "created":
            return
        if read:
            shipment["_reads"] += 1
        reads, seconds = int(self.confirmation["reads"]), float(self.confirmation["seconds"])
        if shipment["_reads"] >= reads > 0 or (0 < seconds <= time.monotonic() - shipment["_born"]):
            self.confirmation_due(shipment)

    def confirmation_due(self, shipment: dict[str, Any]) -> None:
        """ShipX has processed the shipment: a tracking number is minted and it is ``confirmed``."""
        shipment["tracking_number"] = self._tracking_number()
        for parcel in shipment["parcels"]:
            parcel["tracking_number"] = shipment["tracking_number"]
        shipment["transactions"] = [{"id": secrets.token_hex(8), "status": "success"}]
        self.move(shipment, "confirmed")

    def lagging(self, shipment: Mapping[str, Any]) -> bool:
        """Search lag: a shipment younger than ``search.lag_seconds`` is not found by the search yet."""
        return time.monotonic() - shipment["_born"] < float(self.search["lag_seconds"])

    def advance(self, shipment: dict[str, Any], wanted: str) -> str:
        """The carrier moves a shipment on (``next`` = the following step of :data:`FLOW`); steps of the
        flow in between are recorded too. Answers a problem, or "" when done."""
        current = shipment["status"]
        if current in TERMINAL:
            return f"shipment {shipment['id']} is {current}: it moves no further"
        if wanted == "next":
            if current not in FLOW:
                return f"no next step after {current}; name the status"
            wanted = FLOW[FLOW.index(current) + 1]
        if wanted not in STATUSES:
            return f"unknown status {wanted!r}"
        if wanted in CANCELLABLE:
            return f"{wanted} is a step before confirmation: a shipment never goes back to it"
        if current == "created" and wanted != "canceled":
            self.confirmation_due(shipment)
            current = "confirmed"
        if current in FLOW and wanted in FLOW:
            if FLOW.index(wanted) <= FLOW.index(current):
                return f"{wanted} is not after {current}"
            for step in FLOW[FLOW.index(current) + 1 : FLOW.index(wanted) + 1]:
                self.move(shipment, step)
        elif wanted != current:
            self.move(shipment, wanted)
        return ""

    def add_point(self, spec: Mapping[str, Any]) -> None:
        self.points[str(spec["name"])] = point_record(spec, "")

    def event(self, shipment: Mapping[str, Any], name: str = "shipment_status_changed") -> dict[str, Any]:
        """The webhook body the notes give (``Shipment.Tracking`` events)."""
        return {
            "event_ts": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z"),
            "event": name,
            "organization_id": shipment["_org"],
            "payload": {
                "shipment_id": shipment["id"],
                "status": shipment["status"],
                "tracking_number": shipment["tracking_number"],
            },
        }

    def _tracking_number(self) -> str:
        # InPost numbers are 24 digits; the ones seen start with 6.
        taken = {s["tracking_number"] for s in self.shipments.values()}
        while True:
            number = "6" + "".join(str(secrets.randbelow(10)) for _ in range(23))
            if number not in taken:
                return number

    def move(self, shipment: dict[str, Any], status: str) -> None:
        stamp = now()
        shipment["status"] = status
        shipment["updated_at"] = stamp
        origin = status[:3].upper()
        shipment["_history"].append(
            {"status": status, "origin_status": origin, "agency": None, "datetime": stamp}
        )
        if self.webhook["auto"] and self.webhook["url"]:
            self.pending.append(self.event(shipment))

    def by_tracking(self, number: str) -> dict[str, Any] | None:
        return next((s for s in self.shipments.values() if s["tracking_number"] == number), None)

    def tracking(self, shipment: Mapping[str, Any]) -> dict[str, Any]:
        attrs = shipment["custom_attributes"]
        return {
            "tracking_number": shipment["tracking_number"],
            "type": "courier" if shipment["service"] in COURIER_SERVICES else "parcel_locker",
            "service": shipment["service"],
            "custom_attributes": {
                "target_machine_id": attrs.get("target_point"),
                "dropoff_machine_id": attrs.get("dropoff_point"),
            },
            "status": shipment["status"],
            "created_at": shipment["created_at"],
            "updated_at": shipment["updated_at"],
            "tracking_details": list(reversed(shipment["_history"])),  # newest first
            "expected_flow": [],
        }

    def statuses(self, lang: str) -> list[dict[str, str]]:
        polish = lang.lower().startswith("pl")
        items = []
        for name in STATUSES:
            pl, en = TITLES.get(name, (name.replace("_", " ").capitalize() + ".",) * 2)
            title = pl if polish else en
            items.append({"name": name, "title": title, "description": title})
        return items


def public(shipment: Mapping[str, Any]) -> dict[str, Any]:
    """A shipment as the API shows it (the simulator's own ``_`` fields left out)."""
    return {k: v for k, v in shipment.items() if not k.startswith("_")}
