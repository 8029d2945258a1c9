"""ShipX's API routes (``/v1/…``) over one :class:`~sidecar.sandbox.shipx.state.State`."""

from __future__ import annotations

import copy
import io
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request
from reportlab.graphics.barcode import code128
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from sidecar.sandbox.shipx.rules import SERVICES, validate
from sidecar.sandbox.shipx.state import CANCELLABLE, State, error, not_found, public, validation_failed

DEFAULT_PER_PAGE, MAX_PER_PAGE = 25, 100  # UNCONFIRMED
FILTERS = ("id", "tracking_number", "status", "external_customer_id", "reference")
# Filters shipx-php-sdk's list does not name: with ``search.ignore_unsupported`` on they are ignored and
# the page comes back unfiltered, as openlinker guards against.
UNSUPPORTED = ("reference",)
LABEL_FORMATS = ("pdf", "zpl", "epl")
LABEL_TYPES = ("normal", "a6", "a4")


def _base() -> str:
    return request.host_url.rstrip("/")


def _page() -> tuple[int, int] | Response:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        return validation_failed({"page": ["invalid"]})
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        return validation_failed({"page" if page < 1 else "per_page": ["invalid"]})
    return page, per_page


def collection(items: list[dict[str, Any]], page: int, per_page: int, total: int) -> Response:
    """ShipX's list shape (shipx-php-sdk ``AbstractCollection``): ``{href, count, page, per_page, items}``."""
    return jsonify({"href": request.url, "count": total, "page": page, "per_page": per_page, "items": items})


def render_label(shipment: Mapping[str, Any], kind: str) -> bytes:
    receiver = shipment.get("receiver") or {}
    sender = shipment.get("sender") or {}
    attrs = shipment["custom_attributes"]

    def who(party: Mapping[str, Any]) -> str:
        name = party.get("company_name") or " ".join(
            str(party.get(k) or "") for k in ("first_name", "last_name")
        )
        return f"{name.strip() or '-'} {party.get('phone') or ''}"

    lines = [
        f"InPost {shipment['service']} ({'A6' if kind == 'a6' else 'A4'})",
        f"Numer przesylki: {shipment['tracking_number']}",
        f"Nadawca: {who(sender)}",
        f"Odbiorca: {who(receiver)}",
    ]
    if attrs.get("target_point"):
        lines.append(f"Paczkomat docelowy: {attrs['target_point']}")
    elif isinstance(receiver.get("address"), Mapping):
        a = receiver["address"]
        lines.append(
            f"Adres: {a.get('street')} {a.get('building_number')}, {a.get('post_code')} {a.get('city')}"
        )
    lines.append(f"Referencja: {shipment.get('reference') or '-'}")
    return _label_pdf(lines, str(shipment["tracking_number"]), A6 if kind == "a6" else A4)


def _ascii(text: str) -> str:
    # The standard PDF fonts have no Polish letters.
    return (
        unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
        .encode("ascii", "ignore")
        .decode()
    )


def _label_pdf(lines: list[str], tracking: str, size: tuple[float, float]) -> bytes:
    """A label page of the size asked for (A6 or A4) with the tracking number as a Code 128 barcode;
    page streams uncompressed so a test can find the number in the bytes."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=size, pageCompression=0)
    page.setTitle(f"InPost {tracking}")
    width, height = size
    y = height - 14 * mm
    page.setFont("Helvetica-Bold", 11)
    for line in lines:
        page.drawString(8 * mm, y, _ascii(line))
        page.setFont("Helvetica", 9)
        y -= 5 * mm
    barcode = code128.Code128(tracking, barHeight=18 * mm, barWidth=0.28 * mm)
    barcode.drawOn(page, max(2 * mm, (width - barcode.width) / 2), y - 24 * mm)
    page.drawCentredString(width / 2, y - 29 * mm, tracking)
    page.showPage()
    page.save()
    return out.getvalue()


def api_blueprint(state: State) -> Blueprint:
    api = Blueprint("shipx_api", __name__)

    @api.before_app_request
    def _faults() -> Response | None:
        return state.quirks.before()

    def authenticated(view: Callable[..., Response]) -> Callable[..., Response]:
        """Bearer token → the caller's organisation, passed to the view as ``org``."""

        def wrapper(**kwargs: Any) -> Response:
            header = request.headers.get("Authorization", "")
            token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
            org = state.organization(token) if token else None
            if org is None:
                # UNCONFIRMED message wording; the key ``unauthorized`` is in the notes.
                return error(401, "unauthorized", "Token is missing or invalid.")
            if "org_id" in kwargs and kwargs.pop("org_id") != org:
                # UNCONFIRMED: another organisation's path answers 403 (the notes list 403 among the codes
                # clients handle); a shipment of another organisation is simply not found (404).
                return error(403, "access_forbidden", "You are not allowed to access this organization.")
            return view(org=org, **kwargs)

        wrapper.__name__ = view.__name__
        return wrapper

    def own(shipment_id: int, org: int) -> dict[str, Any] | None:
        shipment = state.shipments.get(shipment_id)
        return shipment if shipment is not None and state.visible(shipment, org) else None

    @api.get("/v1/organizations/<int:org_id>")
    @authenticated
    def organization(org: int) -> Response:
        # A cheap authenticated probe ("test connection"): the fields are a subset of ShipX's.
        return jsonify(
            {
                "href": f"{_base()}/v1/organizations/{org}",
                "id": org,
                "name": f"Sandbox organization {org}",
                "status": "confirmed",
                "services": list(SERVICES),
            }
        )

    @api.post("/v1/organizations/<int:org_id>/shipments")
    @authenticated
    def create(org: int) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return validation_failed({"shipment": ["invalid"]})  # UNCONFIRMED: the body is not a JSON object
        with state.lock:
            details = validate(body, state.points)
            if details:
                return validation_failed(details)
            shipment = state.create(org, body, _base())
            answer = copy.deepcopy(public(shipment))  # answered after the lock is released
        lost = state.quirks.lost()
        if lost is not None:
            return lost
        response = jsonify(answer)
        response.status_code = 201  # UNCONFIRMED: 201 Created (clients accept any 2xx)
        return response

    @api.get("/v1/organizations/<int:org_id>/shipments")
    @authenticated
    def search(org: int) -> Response:
        paging = _page()
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        with state.lock:
            quirks = state.search
            filters = {k: request.args[k] for k in FILTERS if request.args.get(k)}
            if quirks["ignore_unsupported"]:
                filters = {k: v for k, v in filters.items() if k not in UNSUPPORTED}
            found = []
            for shipment in state.shipments.values():
                if not state.visible(shipment, org):
                    continue
                state.settle(shipment)
                if state.lagging(shipment):
                    continue  # search lag: a new shipment is not indexed yet
                if "id" in filters and quirks["misses_by_id"]:
                    continue  # "the sandbox search often cannot find shipment by ID"
                if all(_matches(shipment, k, v, quirks["reference_match"]) for k, v in filters.items()):
                    found.append(public(shipment))
            reverse = request.args.get("sort_order", "desc") != "asc"
            key = request.args.get("sort_by", "id")
            found.sort(key=lambda s: (str(s.get(key)) if key != "id" else "", s["id"]), reverse=reverse)
            chunk = found[(page - 1) * per_page : page * per_page]
            return collection(chunk, page, per_page, len(found))

    @api.get("/v1/shipments/<int:shipment_id>")
    @authenticated
    def show(shipment_id: int, org: int) -> Response:
        with state.lock:
            shipment = own(shipment_id, org)
            if shipment is None:
                return not_found()
            state.settle(shipment, read=True)
            return jsonify(public(shipment))

    @api.delete("/v1/shipments/<int:shipment_id>")
    @authenticated
    def cancel(shipment_id: int, org: int) -> Response:
        with state.lock:
            shipment = own(shipment_id, org)
            if shipment is None:
                return not_found()
            state.settle(shipment)
            if shipment["status"] not in CANCELLABLE:
                # The notes: cancel after ``confirmed`` answers ``invalid_action`` (message UNCONFIRMED).
                return error(
                    400, "invalid_action", f"Action cancel is not allowed in status {shipment['status']}."
                )
            state.move(shipment, "canceled")
        return Response(status=204)

    @api.get("/v1/shipments/<int:shipment_id>/label")
    @authenticated
    def label(shipment_id: int, org: int) -> Response:
        fmt = request.args.get("format", "pdf").lower()
        kind = request.args.get("type", "normal").lower()
        if fmt not in LABEL_FORMATS or kind not in LABEL_TYPES:
            return validation_failed({"format" if fmt not in LABEL_FORMATS else "type": ["invalid"]})
        with state.lock:
            shipment = own(shipment_id, org)
            if shipment is None:
                return not_found()
            state.settle(shipment)
            if shipment["status"] in ("created", "offers_prepared", "offer_selected", "canceled"):
                # UNCONFIRMED shape: the notes only say the label "returns an error" before confirmed.
                return error(400, "invalid_action", "Shipment is not confirmed.")
            shipment["_labels"] += 1
            state.label_fetches += 1
            snapshot = dict(shipment)
        if fmt == "pdf":
            return Response(render_label(snapshot, kind), mimetype="application/pdf")
        zpl = f"^XA^FO50,50^A0N,40,40^FD{snapshot['tracking_number']}^FS^XZ"  # a minimal printer label
        return Response(zpl.encode("ascii"), mimetype="text/plain")

    @api.get("/v1/tracking/<number>")
    def tracking(number: str) -> Response:
        with state.lock:
            shipment = state.by_tracking(number)
            return jsonify(state.tracking(shipment)) if shipment is not None else not_found()

    @api.get("/v1/statuses")
    def statuses() -> Response:
        lang = request.args.get("lang", "pl")
        return jsonify({"href": request.url, "items": state.statuses(lang)})

    @api.get("/v1/points")
    def points() -> Response:
        paging = _page()
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        names = {n.strip() for n in request.args.get("name", "").split(",") if n.strip()}
        city, code = request.args.get("city"), request.args.get("post_code")
        with state.lock:
            found = [
                _point(p)
                for p in state.points.values()
                if (not names or p["name"] in names)
                and (not city or p["address_details"]["city"].lower() == city.lower())
                and (not code or p["address_details"]["post_code"] == code)
            ]
        return collection(found[(page - 1) * per_page : page * per_page], page, per_page, len(found))

    @api.get("/v1/points/<name>")
    def point(name: str) -> Response:
        with state.lock:
            found = state.points.get(name)
            return jsonify(_point(found)) if found else not_found()

    return api


def _point(point: Mapping[str, Any]) -> dict[str, Any]:
    return {**point, "href": f"{_base()}/v1/points/{point['name']}"}


def _matches(shipment: Mapping[str, Any], key: str, wanted: str, reference_match: str) -> bool:
    value = shipment.get(key)
    if key in ("id", "status"):  # comma-separated lists
        return str(value) in {w.strip() for w in wanted.split(",")}
    if value is None:
        return False
    if key == "reference" and reference_match == "substring":
        return wanted in str(value)
    return str(value) == wanted


def sandbox_blueprint(state: State, send: Callable[[dict[str, Any]], None]) -> Blueprint:
    """Sandbox-only control beyond :mod:`sidecar.sandbox.control`: move a shipment along its statuses (as the
    carrier would; ``webhook: true`` nudges once even without ``auto``), add a point, send a webhook now.
    ``send`` delivers a webhook (outside the lock)."""
    control = Blueprint("shipx_control", __name__, url_prefix="/_sandbox")

    @control.post("/shipments/<int:shipment_id>/status")
    def move(shipment_id: int) -> Response:
        body = request.get_json(silent=True) or {}
        wanted = str(body.get("status") or "next")
        with state.lock:
            shipment = state.shipments.get(shipment_id)
            if shipment is None:
                return not_found()
            state.settle(shipment)
            if shipment["status"] == "created" and wanted in ("next", "confirmed"):
                state.confirmation_due(shipment)
            else:
                problem = state.advance(shipment, wanted)
                if problem:
                    return error(409, "invalid_action", problem)
            if body.get("webhook") and not state.webhook["auto"]:
                state.pending.append(state.event(shipment))  # one nudge for the final status
            return jsonify(public(shipment))

    @control.post("/points")
    def add_point() -> Response:
        body = request.get_json(silent=True) or {}
        missing = [k for k in ("name", "city", "post_code", "street", "building") if not body.get(k)]
        if missing:
            return error(400, "validation_failed", f"missing: {', '.join(missing)}")
        with state.lock:
            state.add_point(body)
            return jsonify(_point(state.points[str(body["name"])]))

    @control.post("/webhook/send")
    def webhook_send() -> Response:
        body = request.get_json(silent=True) or {}
        with state.lock:
            shipment = state.shipments.get(int(body.get("shipment_id") or 0))
            if shipment is None:
                return not_found()
            event = state.event(shipment, str(body.get("event") or "shipment_status_changed"))
        if not state.webhook["url"]:
            return error(400, "invalid_action", "no webhook url configured (POST /_sandbox/webhook)")
        send(event)
        return jsonify(event)

    return control
