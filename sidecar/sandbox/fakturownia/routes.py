"""Fakturownia's API routes over one :class:`~sidecar.sandbox.fakturownia.state.State`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sidecar.sandbox import pdf
from sidecar.sandbox.fakturownia.rules import validate
from sidecar.sandbox.fakturownia.state import State, error, public
from sidecar.sandbox.faults import lost_response

NOT_LOGGED_IN = "You must be logged in to gain access to the site"


def render_pdf(doc: Mapping[str, Any]) -> Response:
    lines = [
        f"{'Paragon' if doc['kind'] == 'receipt' else 'Faktura'} {doc['number']}",
        f"Data wystawienia: {doc['issue_date']}",
        f"Nabywca: {doc.get('buyer_name') or '-'} NIP: {doc.get('buyer_tax_no') or '-'}",
    ]
    lines += [
        f"{p['name']}  {p['quantity']} x  {p['tax']}%  {p['total_price_gross']}" for p in doc["positions"]
    ]
    lines.append(f"Razem brutto: {doc['price_gross']} {doc['currency']}")
    if doc.get("gov_id"):
        lines.append(f"Numer KSeF: {doc['gov_id']}")
    return Response(pdf.render(lines, doc["number"]), mimetype="application/pdf")


def api_blueprint(state: State) -> Blueprint:
    api = Blueprint("fakturownia_api", __name__)

    def authorised(body: Mapping[str, Any] | None = None) -> bool:
        # The token in the query, in the JSON body beside ``invoice``, or as a Bearer header.
        offered = request.args.get("api_token") or (body or {}).get("api_token")
        header = request.headers.get("Authorization", "")
        if not offered and header.startswith("Bearer "):
            offered = header[len("Bearer ") :]
        return bool(offered) and secrets.compare_digest(str(offered), state.token)

    @api.before_app_request
    def _faults() -> Response | None:
        return state.faults.before()

    @api.post("/invoices.json")
    def create() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            body = {}
        if not authorised(body):
            return error(NOT_LOGGED_IN, 401)
        inv = body.get("invoice")
        if not isinstance(inv, dict):
            return error({"invoice": ["- nie może być puste"]})
        with state.lock:
            errors = validate(inv, state.ksef, state.documents)
            if errors:
                return error(errors)
            doc = state.create(inv, request.host_url.rstrip("/"))
        if state.faults.drop_after_commit():
            return lost_response()
        response = jsonify(public(doc))
        response.status_code = 201
        return response

    @api.get("/invoices.json")
    def listing() -> Response:
        if not authorised():
            return error(NOT_LOGGED_IN, 401)
        try:
            page = max(1, int(request.args.get("page", 1)))
            per_page = min(100, max(1, int(request.args.get("per_page", 25))))
        except ValueError:
            return error({"page": ["- jest nieprawidłowe"]})
        # ``oid`` matches by substring on purpose: the documentation does not promise exactness.
        oid, kind = request.args.get("oid"), request.args.get("kind")
        with state.lock:
            docs = [d for d in state.documents.values() if not oid or oid in str(d.get("oid") or "")]
            docs = [d for d in docs if not kind or d["kind"] == kind]
            docs.sort(key=lambda d: d["id"], reverse=True)
            chunk = docs[(page - 1) * per_page : page * per_page]
            return jsonify([{k: v for k, v in public(d).items() if k != "positions"} for d in chunk])

    @api.get("/invoices/<int:doc_id>.json")
    def show(doc_id: int) -> Response:
        if not authorised():
            return error(NOT_LOGGED_IN, 401)
        with state.lock:
            doc = state.documents.get(doc_id)
            if doc is None:
                return error("Not Found", 404)
            resend = request.args.get("send_to_ksef") in ("yes", "1", "true")
            if not (resend and state.resend_to_ksef(doc)):
                state.ksef_read(doc)
            return jsonify(public(doc))

    @api.get("/invoices/<int:doc_id>.pdf")
    def pdf_private(doc_id: int) -> Response:
        if not authorised():
            return error(NOT_LOGGED_IN, 401)
        with state.lock:
            doc = state.documents.get(doc_id)
            return render_pdf(doc) if doc else error("Not Found", 404)

    @api.get("/invoice/<token>.pdf")
    def pdf_public(token: str) -> Response:
        with state.lock:
            doc = state.by_token(token)
            return render_pdf(doc) if doc else error("Not Found", 404)

    @api.post("/invoices/<int:doc_id>/send_by_email.json")
    def send_by_email(doc_id: int) -> Response:
        body = request.get_json(silent=True) or {}
        if not authorised(body if isinstance(body, dict) else {}):
            return error(NOT_LOGGED_IN, 401)
        with state.lock:
            doc = state.documents.get(doc_id)
            if doc is None:
                return error("Not Found", 404)
            if state.needs_ksef_number(doc):  # KSeF.md: 200 with status "error", not an HTTP error
                return jsonify(
                    {"message": "Faktura nie może zostać wysłana - brak numeru KSeF", "status": "error"}
                )
            recipients = request.args.get("email_to") or doc.get("buyer_email")
            if not recipients:
                return jsonify({"message": "Brak adresu e-mail nabywcy", "status": "error"})
            doc["_emails"].append({"to": recipients, "pdf": request.args.get("email_pdf") == "true"})
            doc["status"] = "sent" if doc["status"] == "issued" else doc["status"]
            return jsonify({"status": "ok"})

    return api
