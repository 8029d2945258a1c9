"""inFakt API v3 routes over one :class:`~sidecar.sandbox.infakt.state.State`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sidecar.sandbox import pdf
from sidecar.sandbox.faults import lost_response
from sidecar.sandbox.infakt.rules import DOCUMENT_TYPES, PRINT_TYPES, VAT_EXEMPTIONS, valid_date
from sidecar.sandbox.infakt.state import NOT_FOUND, RESOURCES, State, error, ksef_body, public, task_body

View = Callable[..., Response]


def render_pdf(doc: Mapping[str, Any]) -> Response:
    lines = [
        f"{'Faktura korygujaca' if doc['kind'] == 'correction' else 'Faktura VAT'} {doc['number']}",
        f"Data wystawienia: {doc['invoice_date']}",
        f"Nabywca: {doc.get('client_company_name') or '-'} NIP: {doc.get('client_tax_code') or '-'}",
    ]
    for s in doc["services"]:
        lines.append(
            f"{s['name']}  {s.get('quantity', 1)} x  {s['tax_symbol']}  {s['gross_price'] / 100:.2f}"
        )
    lines.append(f"Razem brutto: {doc['gross_price'] / 100:.2f} {doc['currency']}")
    return Response(pdf.render(lines, doc["number"]), mimetype="application/pdf")


def guard(state: State) -> Callable[[], Response | None]:
    """Before every request: faults, background tasks, the API key, rate limits, JSON bodies."""

    def check() -> Response | None:
        fault = state.faults.before()
        if fault is not None:
            return fault
        with state.lock:
            state.run_due_tasks()
        if not request.path.startswith("/api/v3/"):
            return None
        offered = request.headers.get("X-inFakt-ApiKey", "")
        if not offered or not secrets.compare_digest(offered, state.key):
            return error({"error": "Brak autoryzacji: nieprawidłowy klucz API."}, 401)
        with state.lock:
            wait = state.over_limit(request.method)
        if wait is not None:
            response = error({"error": "Przekroczono limit zapytań."}, 429)
            response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
            return response
        if request.method in ("POST", "PUT") and request.content_length and not request.is_json:
            return error({"error": "Niepoprawny typ danych: wymagany application/json."}, 406)
        return None

    return check


class DocumentViews:
    """The per-resource views (``invoices`` and ``corrective_invoices`` answer alike)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def accept(self, resource: str) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("invoice"), dict):
            return error({"error": "Nieprawidłowa wartość parametru: invoice"}, 400)
        with self.state.lock:
            ref, task = self.state.accept(resource, body["invoice"])
        if self.state.faults.drop_after_commit():
            return lost_response()
        accepted = {k: v for k, v in task_body(ref, task).items() if k != "timestamps"}
        response = jsonify(accepted | {"timestamps": {"task_created_at": task["created_at"]}})
        response.status_code = 202
        return response

    def status(self, resource: str, ref: str) -> Response:
        with self.state.lock:
            task = self.state.poll(resource, ref)
            return jsonify(task_body(ref, task)) if task else error({"error": NOT_FOUND}, 404)

    def listing(self, resource: str) -> Response:
        try:
            offset = max(0, int(request.args.get("offset", 0)))
            limit = int(request.args.get("limit", 10))
        except ValueError:
            return error({"error": "Nieprawidłowa wartość parametru: offset/limit"}, 400)
        if not 1 <= limit <= 100:
            return error({"error": "Nieprawidłowa wartość parametru: limit (maksymalnie 100)"}, 400)
        with self.state.lock:
            docs = self.state.listing(resource, request.args)
            chunk = [public(d) for d in docs[offset : offset + limit]]
        base = request.base_url
        more = offset + limit < len(docs)
        metainfo = {
            "count": len(chunk),
            "total_count": len(docs),
            "next": f"{base}?offset={offset + limit}&limit={limit}" if more else None,
            "previous": f"{base}?offset={max(0, offset - limit)}&limit={limit}" if offset else None,
        }
        return jsonify({"metainfo": metainfo, "entities": chunk})

    def show(self, resource: str, doc_uuid: str) -> Response:
        with self.state.lock:
            doc = self.state.document(resource, doc_uuid)
            return jsonify(public(doc)) if doc else error({"error": NOT_FOUND}, 404)

    def pdf(self, resource: str, doc_uuid: str) -> Response:
        if request.args.get("document_type") not in DOCUMENT_TYPES:
            return error({"error": "Nieprawidłowa wartość parametru: document_type"}, 400)
        with self.state.lock:
            doc = self.state.document(resource, doc_uuid)
            if doc is None:
                return error({"error": NOT_FOUND}, 404)
            if doc["status"] == "draft":
                doc["status"] = "printed"
            return render_pdf(doc)

    def paid(self, resource: str, doc_uuid: str) -> Response:
        body = request.get_json(silent=True) or {}
        with self.state.lock:
            doc = self.state.document(resource, doc_uuid)
            if doc is None:
                return error({"error": NOT_FOUND}, 404)
            paid_date = body.get("paid_date") or date.today().isoformat()
            if not valid_date(paid_date) or paid_date < doc["invoice_date"]:
                return error(
                    {"errors": {"paid_date": ["nie może być wcześniejsza niż data wystawienia"]}}, 422
                )
            doc.update(status="paid", paid_date=paid_date, left_to_pay=0)
        response = jsonify({"processing_code": 201, "processing_description": "Zlecenie przyjęte"})
        response.status_code = 201
        return response

    def email(self, resource: str, doc_uuid: str) -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("print_type") not in PRINT_TYPES:
            return error({"errors": {"print_type": ["nie może być puste"]}}, 422)
        with self.state.lock:
            doc = self.state.document(resource, doc_uuid)
            if doc is None:
                return error({"error": NOT_FOUND}, 404)
            recipient = body.get("recipient") or doc.get("client_email")
            if not recipient:
                return error({"errors": {"recipient": ["nie może być puste"]}}, 422)
            doc["_emails"].append({"to": recipient, "print_type": body["print_type"]})
            doc["status"] = "sent" if doc["status"] != "paid" else "paid"
        return jsonify({})

    def share(self, resource: str, doc_uuid: str) -> Response:
        with self.state.lock:
            doc = self.state.document(resource, doc_uuid)
            if doc is None:
                return error({"error": NOT_FOUND}, 404)
            if request.method == "POST" and doc["_share"] is None:
                doc["_share"] = {
                    "token": secrets.token_urlsafe(16),
                    "expiration_date": (date.today() + timedelta(days=30)).isoformat(),
                }
            share = doc["_share"]
            response = jsonify(
                {
                    "share_link": f"{request.host_url}app/twoja-faktura/{share['token']}" if share else None,
                    "expiration_date": share["expiration_date"] if share else None,
                }
            )
            response.status_code = 201 if request.method == "POST" else 200
            return response


# (path under /api/v3, view name, methods); ``{r}`` is the resource.
DOCUMENT_ROUTES = (
    ("/async/{r}.json", "accept", ["POST"]),
    ("/async/{r}/status/<ref>.json", "status", ["GET"]),
    ("/{r}.json", "listing", ["GET"]),
    ("/{r}/<doc_uuid>.json", "show", ["GET"]),
    ("/{r}/<doc_uuid>/pdf.json", "pdf", ["GET"]),
    ("/async/{r}/<doc_uuid>/paid.json", "paid", ["POST"]),
    ("/{r}/<doc_uuid>/deliver_via_email.json", "email", ["POST"]),
    ("/{r}/<doc_uuid>/share_links.json", "share", ["GET", "POST"]),
)


def _bound(view: View, resource: str) -> View:
    return lambda **kwargs: view(resource, **kwargs)


def api_blueprint(state: State) -> Blueprint:
    api = Blueprint("infakt_api", __name__, url_prefix="/api/v3")
    views = DocumentViews(state)
    for resource in RESOURCES:
        for path, name, methods in DOCUMENT_ROUTES:
            api.add_url_rule(
                path.format(r=resource),
                f"{name}_{resource}",
                _bound(getattr(views, name), resource),
                methods=methods,
            )

    @api.get("/vat_exemptions.json")
    def vat_exemptions() -> Response:
        entities = list(VAT_EXEMPTIONS)
        return jsonify(
            {"metainfo": {"count": len(entities), "total_count": len(entities)}, "entities": entities}
        )

    @api.get("/ksef2/integration.json")
    def ksef_integration() -> Response:
        return jsonify(
            {"active": state.ksef["active"], "incomes_last_fetched_at": None, "costs_last_fetched_at": None}
        )

    @api.post("/ksef2/documents/<doc_uuid>/send.json")
    def ksef_send(doc_uuid: str) -> Response:
        with state.lock:
            doc = state.documents.get(doc_uuid)
            if doc is None:
                return error({"error": NOT_FOUND}, 404)
            if not state.ksef["active"]:
                return error({"error": "Użytkownik nie jest zintegrowany z KSeF."}, 422)
            if doc["ksef_data"] is not None:
                return error({"error": "Faktura została już wysłana do KSeF."}, 422)
            state.ksef_send(doc)
            return jsonify(ksef_body(doc))

    @api.get("/ksef2/documents/<doc_uuid>/status.json")
    def ksef_status(doc_uuid: str) -> Response:
        with state.lock:
            doc = state.documents.get(doc_uuid)
            if doc is None or doc["ksef_data"] is None:
                return error({"error": NOT_FOUND}, 404)
            state.ksef_read(doc)
            return jsonify(ksef_body(doc))

    return api


def share_blueprint(state: State) -> Blueprint:
    """The public page a share link opens (outside the API: no key)."""
    shared = Blueprint("infakt_shared", __name__)

    @shared.get("/app/twoja-faktura/<token>")
    def page(token: str) -> Response:
        with state.lock:
            doc = state.shared(token)
            return render_pdf(doc) if doc else error({"error": NOT_FOUND}, 404)

    return shared
