"""Fakturownia API simulator, faithful to the public documentation (fakturownia/API README and KSeF.md).

What it checks and answers as documented:
- authentication by ``api_token`` in the query, in the JSON body beside ``invoice``, or as
  ``Authorization: Bearer`` (the form the vendor's e-receipt API documents); otherwise 401;
- ``POST /invoices.json``: ``kind`` from the documented list, positions with name (≤ 256 characters),
  ``total_price_gross`` and a documented tax value; buyer name (or first and last name for
  ``buyer_company: false``); with KSeF on, a NIP in the documented format for company buyers and
  ``exempt_tax_kind`` when a position is ``zw``; ``oid_unique: "yes"`` refuses a second document with the
  same ``oid``; errors as 422 ``{"code": "error", "message": {field: ["- …"]}}``; 201 with the full
  document (money as strings, ``token``, ``view_url``, ``gov_*`` fields);
- corrections: ``invoice_id`` must exist, every position carries before/after attributes and its own
  values must be their difference;
- ``GET /invoices.json`` (``oid``, ``kind``, ``page``, ``per_page`` ≤ 100), ``GET /invoices/{id}.json``
  (``send_to_ksef=yes`` re-sends), ``GET /invoices/{id}.pdf``, the public ``GET /invoice/{token}.pdf``,
  ``POST /invoices/{id}/send_by_email.json`` (200 ``{"status": "error"}`` for a company document without
  a KSeF number, as KSeF.md describes);
- KSeF progression ``processing`` → ``ok`` (a 35-character KSeF number with a valid CRC-8) or
  ``send_error`` / ``server_error``, advanced by reads.

The ``oid`` filter of the list matches by substring on purpose: the documentation does not promise
exactness, so the client must match exactly itself.

Sandbox-only endpoints under ``/_sandbox/``: ``GET documents`` (everything held), ``POST faults`` (503,
429 with Retry-After, latency, ``drop_after_commit``), ``POST ksef`` (mode, polls, outcome), ``POST reset``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import Flask, Response, jsonify, request

from sidecar.sandbox import pdf

KINDS = (
    "vat",
    "proforma",
    "bill",
    "receipt",
    "advance",
    "final",
    "correction",
    "invoice_other",
    "vat_margin",
    "kp",
    "kw",
    "estimate",
    "vat_mp",
    "vat_rr",
    "correction_note",
    "accounting_note",
    "client_order",
    "dw",
    "wnt",
    "wdt",
    "import_service",
    "import_service_eu",
    "import_products",
    "export_products",
)
KSEF_KINDS = ("vat", "correction", "vat_mp", "vat_margin", "wdt", "export_products", "advance", "final")
TAXES = ("23", "22", "8", "7", "5", "3", "0", "zw", "np", "oo", "disabled")
NIP_FORMAT = re.compile(r"^(PL)?[1-9]((\d[1-9])|([1-9]\d))\d{7}$")
SELLER_NIP = "5252445767"
PREFIXES = {"vat": "FV", "receipt": "PAR", "correction": "FK", "proforma": "PRO"}
NOT_LOGGED_IN = "You must be logged in to gain access to the site"
CENT = Decimal("0.01")


# -- fault injection (shared with the inFakt simulator) ---------------------------------------------------


class Faults:
    """Sandbox fault rules: ``{"mode", "match", "count", "retry_after", "seconds"}``.

    ``mode``: ``503`` | ``500`` | ``429`` | ``latency`` | ``drop_after_commit``; ``match`` is a prefix of
    ``"METHOD /path"`` (empty = every request); ``count`` how many requests it hits (default 1).
    """

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, rule: Mapping[str, Any]) -> None:
        mode = str(rule.get("mode") or "")
        if mode not in ("503", "500", "429", "latency", "drop_after_commit"):
            raise ValueError(f"unknown fault mode {mode!r}")
        with self.lock:
            self.rules.append({"count": 1, "match": "", **rule, "mode": mode})

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def take(self, modes: tuple[str, ...]) -> dict[str, Any] | None:
        here = f"{request.method} {request.path}"
        with self.lock:
            for rule in self.rules:
                if rule["mode"] in modes and here.startswith(rule["match"]) and rule["count"] > 0:
                    rule["count"] -= 1
                    return dict(rule)
        return None

    def before(self) -> Response | None:
        """Faults that strike before the request is handled."""
        if request.path.startswith("/_sandbox/"):
            return None
        rule = self.take(("latency",))
        if rule:
            time.sleep(float(rule.get("seconds") or 1))
        rule = self.take(("503", "500", "429"))
        if rule is None:
            return None
        status = int(rule["mode"])
        response = jsonify({"code": "error", "message": "simulated fault"})
        response.status_code = status
        if status == 429:
            response.headers["Retry-After"] = str(int(rule.get("retry_after") or 1))
        return response

    def drop_after_commit(self) -> bool:
        """Call after committing: True when the response must be lost (the connection is cut)."""
        if self.take(("drop_after_commit",)) is None:
            return False
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return True


def lost_response() -> Response:
    # Where the server cannot cut the connection (not the werkzeug server), a gateway error stands in.
    response = Response("response lost (simulated)", status=502)
    response.headers["Connection"] = "close"
    return response


def ksef_number(nip: str, day: date) -> str:
    """A KSeF number in the official format: NIP-YYYYMMDD-12 hex-CRC-8 (poly 0x07, init 0)."""
    head = f"{nip}-{day:%Y%m%d}-{secrets.token_hex(6).upper()}"
    crc = 0
    for byte in head.encode("ascii"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return f"{head}-{crc:02X}"


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation:
        return None


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "yes", "True")


def _valid_date(value: Any, allow_month: bool = False) -> bool:
    text = str(value)
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return allow_month and re.fullmatch(r"\d{4}-\d{2}", text) is not None


class State:
    def __init__(self, token: str, domain: str) -> None:
        self.token = token
        self.domain = domain
        self.lock = threading.Lock()
        self.faults = Faults()
        self.reset()

    def reset(self) -> None:
        self.documents: dict[int, dict[str, Any]] = {}
        self.next_id = 100001
        self.counters: dict[tuple[str, str], int] = {}
        self.ksef = {"mode": "pl_companies", "polls": 1, "outcome": "ok", "validate": True}
        self.faults.clear()


def _error(messages: Mapping[str, list[str]] | str, status: int = 422) -> Response:
    response = jsonify({"code": "error", "message": messages})
    response.status_code = status
    return response


def _net(gross: Decimal, tax: str) -> Decimal:
    if not tax.isdigit() or tax == "0":
        return gross
    return (gross / (1 + Decimal(tax) / 100)).quantize(CENT, ROUND_HALF_UP)


def create_app(token: str | None = None, domain: str | None = None) -> Flask:
    app = Flask("fakturownia_sandbox")
    state = State(
        token or os.environ.get("BPM_SANDBOX_FAKTUROWNIA_TOKEN", "sandbox-fakturownia-token"),
        domain or os.environ.get("BPM_SANDBOX_FAKTUROWNIA_DOMAIN", "sandbox"),
    )
    app.extensions["fakturownia_sandbox"] = state

    def authorised(body: Mapping[str, Any] | None = None) -> bool:
        offered = request.args.get("api_token") or (body or {}).get("api_token")
        header = request.headers.get("Authorization", "")
        if not offered and header.startswith("Bearer "):
            offered = header[len("Bearer ") :]
        return bool(offered) and secrets.compare_digest(str(offered), state.token)

    @app.before_request
    def _faults() -> Response | None:
        return state.faults.before()

    def _public(doc: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    def _ksef_read(doc: dict[str, Any]) -> None:
        """Reading a document in processing moves KSeF along (the real one needs seconds to minutes)."""
        if doc.get("gov_status") != "processing":
            return
        doc["_ksef_reads"] = doc.get("_ksef_reads", 0) + 1
        if doc["_ksef_reads"] < int(state.ksef["polls"]):
            return
        outcome = state.ksef["outcome"]
        if outcome == "ok":
            doc.update(
                gov_status="ok",
                gov_id=ksef_number(SELLER_NIP, date.today()),
                gov_send_date=datetime.now().astimezone().isoformat(),
                gov_error_messages=None,
            )
            doc["gov_verification_link"] = f"https://ksef-test.mf.gov.pl/web/verify/{doc['gov_id']}"
        elif outcome == "send_error":
            doc.update(
                gov_status="send_error", gov_error_messages=["Błąd weryfikacji semantyki dokumentu faktury"]
            )
        else:
            doc.update(gov_status="server_error", gov_error_messages=["Błąd serwera KSeF"])

    def _validate(inv: Mapping[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(f"- {message}")

        kind = inv.get("kind") or "vat"
        if kind not in KINDS:
            add("kind", "jest nieprawidłowe")
        company = not ("buyer_company" in inv and not _truthy(inv.get("buyer_company")))
        if kind != "receipt" and not inv.get("client_id"):
            if company and not str(inv.get("buyer_name") or "").strip():
                add("buyer_name", "nie może być puste")
            if not company:
                for field in ("buyer_first_name", "buyer_last_name"):
                    if not str(inv.get(field) or "").strip():
                        add(field, "nie może być puste")
        ksef_on = state.ksef["mode"] != "off" and state.ksef["validate"] and kind in KSEF_KINDS
        tax_no = str(inv.get("buyer_tax_no") or "").replace("-", "").replace(" ", "")
        if ksef_on and company and kind != "receipt" and not _truthy(inv.get("disable_tax_no_validation")):
            if not tax_no:
                add("buyer_tax_no", "nie może być puste")
            elif not NIP_FORMAT.match(tax_no):
                add("buyer_tax_no", "jest nieprawidłowe")
        for field in ("issue_date", "payment_to", "paid_date"):
            if inv.get(field) and not _valid_date(inv[field]):
                add(field, "jest nieprawidłowe")
        if inv.get("sell_date") and not _valid_date(inv["sell_date"], allow_month=True):
            add("sell_date", "jest nieprawidłowe")
        if inv.get("currency") and not re.fullmatch(r"[A-Z]{3}", str(inv["currency"])):
            add("currency", "jest nieprawidłowe")
        if len(str(inv.get("buyer_email") or "")) > 255:
            add("buyer_email", "pole jest za długie (maksymalna ilość znaków: 255)")
        if len(str(inv.get("correction_reason") or "")) > 256:
            add("correction_reason", "pole jest za długie (maksymalna ilość znaków: 256)")
        positions = inv.get("positions")
        if not isinstance(positions, list) or not positions:
            add("positions", "nie może być puste")
            positions = []
        for i, p in enumerate(positions):
            where = f"positions[{i}]"
            if not isinstance(p, dict):
                add(where, "jest nieprawidłowe")
                continue
            name = str(p.get("name") or "").strip()
            if not name:
                add(f"{where}.name", "nie może być puste")
            elif len(name) > 256:
                add(f"{where}.name", "pole jest za długie (maksymalna ilość znaków: 256)")
            if _decimal(p.get("total_price_gross")) is None:
                add(f"{where}.total_price_gross", "nie może być puste")
            if p.get("quantity") is not None and _decimal(p.get("quantity")) is None:
                add(f"{where}.quantity", "nie jest liczbą")
            if str(p.get("tax")) not in TAXES:
                add(f"{where}.tax", "jest nieprawidłowe")
            if ksef_on and str(p.get("tax")) == "zw" and not str(inv.get("exempt_tax_kind") or "").strip():
                add("exempt_tax_kind", "nie może być puste")
            if kind == "correction":
                before, after = p.get("correction_before_attributes"), p.get("correction_after_attributes")
                if not isinstance(before, dict) or not isinstance(after, dict):
                    add(f"{where}.correction_before_attributes", "nie może być puste")
                    continue
                b, a, d = (_decimal(x.get("total_price_gross")) for x in (before, after, p))
                if None in (b, a, d) or a - b != d:  # type: ignore[operator]
                    add(f"{where}.total_price_gross", "musi być różnicą wartości po i przed korektą")
        if kind == "correction":
            original = (
                state.documents.get(int(inv.get("invoice_id") or 0))
                if str(inv.get("invoice_id") or "").isdigit()
                else None
            )
            if original is None:
                add("invoice_id", "nie istnieje")
        oid = inv.get("oid")
        if (
            _truthy(inv.get("oid_unique"))
            and oid
            and any(d.get("oid") == oid for d in state.documents.values())
        ):
            add("oid", "jest już zajęte")
        return errors

    def _create(inv: Mapping[str, Any]) -> dict[str, Any]:
        kind = inv.get("kind") or "vat"
        today = date.today()
        issue = inv.get("issue_date") or today.isoformat()
        month = issue[:7]
        number = inv.get("number")
        if not number:
            counter = state.counters.get((kind, month), 0) + 1
            state.counters[(kind, month)] = counter
            prefix = PREFIXES.get(kind, kind.upper())
            number = f"{prefix} {counter}/{month[5:7]}/{month[:4]}"
        positions = []
        for p in inv["positions"]:
            gross = _decimal(p["total_price_gross"]) or Decimal(0)
            tax = str(p.get("tax"))
            net = _net(gross, tax)
            quantity = _decimal(p.get("quantity")) or Decimal(1)
            positions.append(
                {
                    "id": state.next_id * 10 + len(positions),
                    "name": p["name"],
                    "quantity": str(quantity),
                    "quantity_unit": p.get("quantity_unit") or "szt.",
                    "tax": tax,
                    "total_price_gross": _money(gross),
                    "total_price_net": _money(net),
                    "total_price_tax": _money(gross - net),
                    "kind": p.get("kind") or "normal",
                    "correction_before_attributes": p.get("correction_before_attributes"),
                    "correction_after_attributes": p.get("correction_after_attributes"),
                }
            )
        gross_total = sum((Decimal(p["total_price_gross"]) for p in positions), Decimal(0))
        net_total = sum((Decimal(p["total_price_net"]) for p in positions), Decimal(0))
        company = not ("buyer_company" in inv and not _truthy(inv.get("buyer_company")))
        buyer_name = (
            inv.get("buyer_name")
            or " ".join(str(inv.get(k) or "") for k in ("buyer_first_name", "buyer_last_name")).strip()
        )
        doc_id = state.next_id
        state.next_id += 1
        token = secrets.token_urlsafe(14)
        gov_status: str | None = None
        mode = state.ksef["mode"]
        if mode != "off":
            if kind not in KSEF_KINDS:
                gov_status = "not_applicable"
            elif mode == "all" or (
                company and (mode == "all_companies" or inv.get("buyer_country", "PL") == "PL")
            ):
                gov_status = "processing"
        base = request.host_url.rstrip("/")
        doc: dict[str, Any] = {
            "id": doc_id,
            "kind": kind,
            "number": number,
            "status": inv.get("status") or "issued",
            "issue_date": issue,
            "sell_date": inv.get("sell_date") or issue,
            "payment_to": inv.get("payment_to") or issue,
            "payment_type": inv.get("payment_type") or "transfer",
            "paid": _money(_decimal(inv.get("paid")) or Decimal(0)),
            "paid_date": inv.get("paid_date"),
            "currency": inv.get("currency") or "PLN",
            "exchange_currency": inv.get("exchange_currency"),
            "exchange_kind": inv.get("exchange_kind"),
            "lang": inv.get("lang") or "pl",
            "price_net": _money(net_total),
            "price_gross": _money(gross_total),
            "price_tax": _money(gross_total - net_total),
            "oid": inv.get("oid"),
            "description": inv.get("description"),
            "buyer_name": buyer_name,
            "buyer_first_name": inv.get("buyer_first_name"),
            "buyer_last_name": inv.get("buyer_last_name"),
            "buyer_company": company,
            "buyer_tax_no": inv.get("buyer_tax_no"),
            "buyer_street": inv.get("buyer_street"),
            "buyer_post_code": inv.get("buyer_post_code"),
            "buyer_city": inv.get("buyer_city"),
            "buyer_country": inv.get("buyer_country"),
            "buyer_email": inv.get("buyer_email"),
            "exempt_tax_kind": inv.get("exempt_tax_kind"),
            "correction_reason": inv.get("correction_reason"),
            "invoice_id": inv.get("invoice_id"),
            "from_invoice_id": inv.get("from_invoice_id"),
            "department_id": inv.get("department_id"),
            "token": token,
            "view_url": f"{base}/f/{number.replace(' ', '-').replace('/', '-')}/{token}",
            "from_api": True,
            "income": True,
            "gov_status": gov_status,
            "gov_id": None,
            "gov_error_messages": None,
            "gov_corrected_invoice_number": inv.get("gov_corrected_invoice_number"),
            "created_at": datetime.now().astimezone().isoformat(),
            "positions": positions,
            "_emails": [],
        }
        state.documents[doc_id] = doc
        return doc

    # -- API ---------------------------------------------------------------------------------------------
    @app.post("/invoices.json")
    def create() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            body = {}
        if not authorised(body):
            return _error(NOT_LOGGED_IN, 401)
        inv = body.get("invoice")
        if not isinstance(inv, dict):
            return _error({"invoice": ["- nie może być puste"]})
        with state.lock:
            errors = _validate(inv)
            if errors:
                return _error(errors)
            doc = _create(inv)
        if state.faults.drop_after_commit():
            return lost_response()
        response = jsonify(_public(doc))
        response.status_code = 201
        return response

    @app.get("/invoices.json")
    def listing() -> Response:
        if not authorised():
            return _error(NOT_LOGGED_IN, 401)
        try:
            page = max(1, int(request.args.get("page", 1)))
            per_page = min(100, max(1, int(request.args.get("per_page", 25))))
        except ValueError:
            return _error({"page": ["- jest nieprawidłowe"]})
        oid, kind = request.args.get("oid"), request.args.get("kind")
        with state.lock:
            docs = [d for d in state.documents.values() if not oid or oid in str(d.get("oid") or "")]
            docs = [d for d in docs if not kind or d["kind"] == kind]
            docs.sort(key=lambda d: d["id"], reverse=True)
            chunk = docs[(page - 1) * per_page : page * per_page]
            return jsonify([{k: v for k, v in _public(d).items() if k != "positions"} for d in chunk])

    def _find(doc_id: int) -> dict[str, Any] | None:
        return state.documents.get(doc_id)

    @app.get("/invoices/<int:doc_id>.json")
    def show(doc_id: int) -> Response:
        if not authorised():
            return _error(NOT_LOGGED_IN, 401)
        with state.lock:
            doc = _find(doc_id)
            if doc is None:
                return _error("Not Found", 404)
            if request.args.get("send_to_ksef") in ("yes", "1", "true") and doc.get("gov_status") in (
                "server_error",
                "send_error",
                None,
            ):
                doc.update(gov_status="processing", gov_error_messages=None, _ksef_reads=0)
            else:
                _ksef_read(doc)
            return jsonify(_public(doc))

    def _pdf(doc: Mapping[str, Any]) -> Response:
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

    @app.get("/invoices/<int:doc_id>.pdf")
    def pdf_private(doc_id: int) -> Response:
        if not authorised():
            return _error(NOT_LOGGED_IN, 401)
        with state.lock:
            doc = _find(doc_id)
            return _pdf(doc) if doc else _error("Not Found", 404)

    @app.get("/invoice/<token>.pdf")
    def pdf_public(token: str) -> Response:
        with state.lock:
            doc = next((d for d in state.documents.values() if d["token"] == token), None)
            return _pdf(doc) if doc else _error("Not Found", 404)

    @app.post("/invoices/<int:doc_id>/send_by_email.json")
    def send_by_email(doc_id: int) -> Response:
        body = request.get_json(silent=True) or {}
        if not authorised(body if isinstance(body, dict) else {}):
            return _error(NOT_LOGGED_IN, 401)
        with state.lock:
            doc = _find(doc_id)
            if doc is None:
                return _error("Not Found", 404)
            needs_ksef = state.ksef["mode"] != "off" and doc["buyer_company"] and doc["kind"] in KSEF_KINDS
            if needs_ksef and doc.get("gov_status") not in (None, "not_applicable") and not doc.get("gov_id"):
                return jsonify(
                    {"message": "Faktura nie może zostać wysłana - brak numeru KSeF", "status": "error"}
                )
            recipients = request.args.get("email_to") or doc.get("buyer_email")
            if not recipients:
                return jsonify({"message": "Brak adresu e-mail nabywcy", "status": "error"})
            doc["_emails"].append({"to": recipients, "pdf": request.args.get("email_pdf") == "true"})
            doc["status"] = "sent" if doc["status"] == "issued" else doc["status"]
            return jsonify({"status": "ok"})

    # -- sandbox-only ------------------------------------------------------------------------------------
    @app.get("/_sandbox/documents")
    def sandbox_documents() -> Response:
        with state.lock:
            docs = [{**_public(d), "emails": list(d["_emails"])} for d in state.documents.values()]
        return jsonify({"documents": docs})

    @app.post("/_sandbox/faults")
    def sandbox_faults() -> Response:
        body = request.get_json(silent=True) or {}
        try:
            for rule in body.get("rules") or [body]:
                state.faults.add(rule)
        except ValueError as exc:
            return _error(str(exc), 400)
        return jsonify({"rules": state.faults.rules})

    @app.delete("/_sandbox/faults")
    def sandbox_faults_clear() -> Response:
        state.faults.clear()
        return jsonify({"rules": []})

    @app.post("/_sandbox/ksef")
    def sandbox_ksef() -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("mode") not in (None, "off", "pl_companies", "all_companies", "all"):
            return _error("mode: off | pl_companies | all_companies | all", 400)
        if body.get("outcome") not in (None, "ok", "send_error", "server_error"):
            return _error("outcome: ok | send_error | server_error", 400)
        with state.lock:
            state.ksef.update({k: body[k] for k in ("mode", "polls", "outcome", "validate") if k in body})
            return jsonify(state.ksef)

    @app.post("/_sandbox/reset")
    def sandbox_reset() -> Response:
        with state.lock:
            state.reset()
        return jsonify({"ok": True})

    return app
