"""inFakt API v3 simulator, faithful to the public documentation (infakt/API readme.md and ksef.md).

What it checks and answers as documented:
- ``X-inFakt-ApiKey`` on every call (401 otherwise); JSON bodies (406 for another content type);
- asynchronous creation: ``POST /api/v3/async/invoices.json`` (and ``corrective_invoices``) → 202
  ``{invoice_task_reference_number, processing_code: 100, processing_description, timestamps}``;
  ``GET …/async/invoices/status/{ref}.json`` moves 100 → 120 → 140 → 201 (``invoice_uuid``) or 422
  (``invoice_errors``). Tasks also finish on their own after a short time, as in the real service, so a
  task whose 202 was lost still creates its document;
- validation when the task runs: ``services`` required, each with ``name`` and a ``tax_symbol`` from the
  VAT rate list, money as **integer grosze**, ``vat_exemption_reason`` (an id of
  ``/vat_exemptions.json``) for ``zw`` positions, client name/country, NIP format for a business,
  payment method from the documented list; corrections need ``corrected_invoice_uuid`` of an existing
  invoice, a ``correction_reason`` and services in before/after pairs per ``group``;
- no idempotency: a second identical POST creates a second document (that is the real contract);
- documents are created as ``draft``; ``POST …/async/invoices/{uuid}/paid.json`` (201) marks them paid,
  ``pdf.json`` (``document_type`` required) returns a PDF and sets ``printed``,
  ``deliver_via_email.json`` (``print_type`` required) sets ``sent``; share links; list with
  ``metainfo``/``entities``, ``offset``/``limit`` ≤ 100 and ``q[…]`` filters;
- KSeF 2.0: ``/ksef2/integration.json``, ``/ksef2/documents/{uuid}/send.json`` (422 when the account is
  not integrated), ``/ksef2/documents/{uuid}/status.json`` sent → success (valid KSeF number) | error.

Sandbox-only endpoints under ``/_sandbox/``: ``GET documents``, ``POST faults`` (as the Fakturownia
simulator), ``POST ksef`` (active, polls, outcome), ``POST tasks`` (polls, seconds), ``POST limits``
(``{"enabled": true}`` enforces the documented 300 GET / 150 writes per 60 s with 429 + Retry-After),
``POST reset``.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
import uuid as uuidlib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from sidecar.sandbox import pdf
from sidecar.sandbox.fakturownia import Faults, ksef_number, lost_response

VAT_RATES = ("23", "22", "8", "7", "5", "4", "3", "0", "zw", "np", "oo", "0 WDT", "0 EXP")
PAYMENT_METHODS = (
    "transfer",
    "cash",
    "card",
    "barter",
    "check",
    "bill_of_sale",
    "delivery",
    "compensation",
    "accredited",
    "paypal",
    "instalment_sale",
    "payu",
    "tpay",
    "przelewy24",
    "dotpay",
    "other",
)
VAT_EXEMPTIONS = (
    {
        "id": 1,
        "name": "Zwolnienie ze względu na rodzaj prowadzonej działalności "
        "(art. 43 ust. 1 pkt 2 ustawy o VAT)",
    },
    {
        "id": 2,
        "name": "Zwolnienie ze względu na nieprzekroczenie limitu obrotu (art. 113 ust. 1 i 9 ustawy o VAT)",
    },
    {"id": 3, "name": "Zwolnienie na mocy rozporządzenia MF (art. 82 ust. 3 ustawy o VAT)"},
)
PROCESSING = (
    (100, "Zlecenie przyjęte"),
    (120, "Zlecenie czeka na przetworzenie"),
    (140, "Zlecenie jest w trakcie przetwarzania"),
)
DOCUMENT_TYPES = (
    "original_copy",
    "original",
    "copy",
    "original_duplicate",
    "copy_duplicate",
    "duplicate",
    "regular",
    "double_regular",
)
NIP = re.compile(r"^\d{10}$")
SELLER_NIP = "5252445767"
RESOURCES = ("invoices", "corrective_invoices")
NOT_FOUND = "Zasób którego szukasz nie został znaleziony."


def _now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def _error(body: Any, status: int) -> Response:
    response = jsonify(body if isinstance(body, dict) else {"error": body})
    response.status_code = status
    return response


def _is_grosze(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
        return True
    except ValueError:
        return False


class State:
    def __init__(self, key: str) -> None:
        self.key = key
        self.lock = threading.Lock()
        self.faults = Faults()
        self.reset()

    def reset(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.next_id = 5001
        self.ksef = {"active": True, "polls": 1, "outcome": "success"}
        self.task_rules = {"polls": 2, "seconds": 0.5}
        # Documented limits per IP and 60 s: GET 300, POST/PUT/DELETE 150. Off unless a test turns it on.
        self.limits = {"enabled": False, "GET": 300, "WRITE": 150, "window": 60.0}
        self.hits: dict[str, list[float]] = {"GET": [], "WRITE": []}
        self.faults.clear()

    def over_limit(self, method: str) -> float | None:
        """Seconds until the next request of this class is allowed, or None when it is allowed now."""
        if not self.limits["enabled"]:
            return None
        kind = "GET" if method == "GET" else "WRITE"
        now, window = time.monotonic(), float(self.limits["window"])
        hits = [t for t in self.hits[kind] if now - t < window]
        self.hits[kind] = hits
        if len(hits) >= int(self.limits[kind]):
            return window - (now - hits[0])
        hits.append(now)
        return None


def _net(gross: int, symbol: str) -> int:
    if not symbol.isdigit() or symbol == "0":
        return gross
    return round(gross * 100 / (100 + int(symbol)))


def create_app(api_key: str | None = None) -> Flask:
    app = Flask("infakt_sandbox")
    state = State(api_key or os.environ.get("BPM_SANDBOX_INFAKT_KEY", "sandbox-infakt-key"))
    app.extensions["infakt_sandbox"] = state
    api = Blueprint("api", __name__, url_prefix="/api/v3")

    @app.before_request
    def _guard() -> Response | None:
        fault = state.faults.before()
        if fault is not None:
            return fault
        with state.lock:
            _run_due_tasks()
        if request.path.startswith("/api/v3/"):
            offered = request.headers.get("X-inFakt-ApiKey", "")
            if not offered or not secrets.compare_digest(offered, state.key):
                return _error({"error": "Brak autoryzacji: nieprawidłowy klucz API."}, 401)
            with state.lock:
                wait = state.over_limit(request.method)
            if wait is not None:
                response = _error({"error": "Przekroczono limit zapytań."}, 429)
                response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                return response
            if request.method in ("POST", "PUT") and request.content_length and not request.is_json:
                return _error({"error": "Niepoprawny typ danych: wymagany application/json."}, 406)
        return None

    # -- tasks -----------------------------------------------------------------------------------------
    def _validate(inv: Mapping[str, Any], resource: str) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        services = inv.get("services")
        if not isinstance(services, list) or not services:
            add("services", "nie może być puste")
            services = []
        for i, s in enumerate(services):
            where = f"services[{i}]"
            if not isinstance(s, dict):
                add(where, "jest nieprawidłowe")
                continue
            name = str(s.get("name") or "").strip()
            if not name:
                add(f"{where}.name", "nie może być puste")
            elif len(name) > 256:
                add(f"{where}.name", "jest za długie (maksymalnie 256 znaków)")
            if str(s.get("tax_symbol")) not in VAT_RATES:
                add(f"{where}.tax_symbol", "nie znajduje się na liście stawek VAT")
            for money in ("gross_price", "net_price", "unit_net_price"):
                if money in s and not _is_grosze(s[money]):
                    add(f"{where}.{money}", "musi być liczbą całkowitą (grosze)")
            if not any(k in s for k in ("gross_price", "net_price", "unit_net_price")):
                add(f"{where}.gross_price", "nie może być puste")
            quantity = s.get("quantity", 1)
            if isinstance(quantity, bool) or not isinstance(quantity, (int, float)) or quantity < 0:
                add(f"{where}.quantity", "musi być liczbą nieujemną")
            if str(s.get("tax_symbol")) == "zw" and inv.get("vat_exemption_reason") not in {
                e["id"] for e in VAT_EXEMPTIONS
            }:
                add("vat_exemption_reason", "musi wskazywać podstawę zwolnienia z VAT")
        named = inv.get("client_id") or str(inv.get("client_company_name") or "").strip()
        if not named and not (inv.get("client_first_name") and inv.get("client_last_name")):
            add("client_company_name", "nie może być puste")
        country = str(inv.get("client_country") or "")
        if not re.fullmatch(r"[A-Z]{2}", country):
            add("client_country", "musi być kodem kraju (Alpha-2)")
        tax_code = str(inv.get("client_tax_code") or "")
        if tax_code and country == "PL" and not NIP.match(tax_code):
            add("client_tax_code", "jest nieprawidłowy")
        if inv.get("client_business_activity_kind") not in (
            None,
            "private_person",
            "self_employed",
            "other_business",
        ):
            add("client_business_activity_kind", "jest nieprawidłowe")
        if inv.get("payment_method") not in (None, *PAYMENT_METHODS):
            add("payment_method", "nie znajduje się na liście metod płatności")
        for field in ("invoice_date", "sale_date", "payment_date", "paid_date", "corrected_invoice_date"):
            if inv.get(field) and not _valid_date(inv[field]):
                add(field, "ma nieprawidłowy format (RRRR-MM-DD)")
        if inv.get("currency") and not re.fullmatch(r"[A-Z]{3}", str(inv["currency"])):
            add("currency", "jest nieprawidłowa")
        if len(str(inv.get("notes") or "")) > 3500:
            add("notes", "jest za długie (maksymalnie 3500 znaków)")
        if resource == "corrective_invoices":
            original = state.documents.get(str(inv.get("corrected_invoice_uuid") or ""))
            if original is None or original["kind"] != "vat":
                add("corrected_invoice_uuid", "nie wskazuje faktury VAT")
            if not str(inv.get("correction_reason") or "").strip():
                add("correction_reason", "nie może być puste")
            groups: dict[Any, list[bool]] = {}
            for s in services:
                if isinstance(s, dict):
                    groups.setdefault(s.get("group"), []).append(bool(s.get("correction")))
            for group, flags in groups.items():
                if group is None or sorted(flags) != [False, True]:
                    add(
                        "services",
                        f"grupa {group}: wymagana para pozycji przed (correction: false) i po korekcie",
                    )
        return errors

    def _create(inv: Mapping[str, Any], resource: str) -> dict[str, Any]:
        kind = "vat" if resource == "invoices" else "correction"
        today = date.today().isoformat()
        invoice_date = inv.get("invoice_date") or today
        month = invoice_date[:7]
        counter = state.counters.get((kind, month), 0) + 1
        state.counters[(kind, month)] = counter
        number = f"{counter}/{month[5:7]}/{month[:4]}"
        if kind == "correction":
            number = f"KOR/{number}"
        services = []
        for s in inv["services"]:
            gross = s.get("gross_price")
            if gross is None:
                net = s.get("net_price", s.get("unit_net_price", 0) * s.get("quantity", 1))
                symbol = str(s["tax_symbol"])
                gross = net + (round(net * int(symbol) / 100) if symbol.isdigit() else 0)
            net = _net(gross, str(s["tax_symbol"]))
            services.append({**s, "gross_price": gross, "net_price": net, "tax_price": gross - net})
        sign = {True: 1, False: -1}
        if kind == "correction":
            total = sum(sign[bool(s.get("correction"))] * s["gross_price"] for s in services)
            net_total = sum(sign[bool(s.get("correction"))] * s["net_price"] for s in services)
        else:
            total = sum(s["gross_price"] for s in services)
            net_total = sum(s["net_price"] for s in services)
        doc_uuid = str(uuidlib.uuid4())
        doc = {
            **{k: v for k, v in inv.items() if k != "services"},
            "id": state.next_id,
            "uuid": doc_uuid,
            "kind": kind,
            "number": number,
            "status": "draft",
            "currency": inv.get("currency") or "PLN",
            "invoice_date": invoice_date,
            "sale_date": inv.get("sale_date") or invoice_date,
            "paid_date": None,
            "net_price": net_total,
            "tax_price": total - net_total,
            "gross_price": total,
            "left_to_pay": total,
            "services": services,
            "ksef_number": None,
            "ksef_data": None,
            "created_at": datetime.now().astimezone().isoformat(),
            "_emails": [],
            "_share": None,
        }
        state.next_id += 1
        state.documents[doc_uuid] = doc
        return doc

    def _finish_task(task: dict[str, Any]) -> None:
        errors = _validate(task["payload"], task["resource"])
        if errors:
            task.update(code=422, description="Nie udało się stworzyć faktury", errors=errors)
        else:
            doc = _create(task["payload"], task["resource"])
            task.update(code=201, description="Faktura stworzona", invoice_uuid=doc["uuid"])
        task["finished_at"] = _now()

    def _run_due_tasks() -> None:
        # inFakt processes accepted tasks in the background: a task nobody polls still completes.
        for task in state.tasks.values():
            if (
                task["code"] in (100, 120, 140)
                and time.monotonic() - task["accepted"] >= state.task_rules["seconds"]
            ):
                _finish_task(task)

    def _task_body(ref: str, task: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "invoice_task_reference_number": ref,
            "processing_code": task["code"],
            "processing_description": task["description"],
            "timestamps": {
                "task_created_at": task["created_at"],
                "task_finished_at": task.get("finished_at"),
            },
        }
        if task["code"] == 201:
            body["invoice_uuid"] = task["invoice_uuid"]
        if task["code"] == 422:
            body["invoice_errors"] = task["errors"]
        return body

    def _accept(resource: str) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("invoice"), dict):
            return _error({"error": "Nieprawidłowa wartość parametru: invoice"}, 400)
        ref = str(uuidlib.uuid4())
        with state.lock:
            state.tasks[ref] = {
                "resource": resource,
                "payload": body["invoice"],
                "code": 100,
                "description": PROCESSING[0][1],
                "polls": 0,
                "accepted": time.monotonic(),
                "created_at": _now(),
            }
            task = dict(state.tasks[ref])
        if state.faults.drop_after_commit():
            return lost_response()
        response = jsonify(
            {k: v for k, v in _task_body(ref, task).items() if k != "timestamps"}
            | {"timestamps": {"task_created_at": task["created_at"]}}
        )
        response.status_code = 202
        return response

    def _status(resource: str, ref: str) -> Response:
        with state.lock:
            task = state.tasks.get(ref)
            if task is None or task["resource"] != resource:
                return _error({"error": NOT_FOUND}, 404)
            if task["code"] in (100, 120, 140):
                task["polls"] += 1
                if task["polls"] >= state.task_rules["polls"]:
                    _finish_task(task)
                else:
                    task["code"], task["description"] = PROCESSING[min(task["polls"], 2)]
            return jsonify(_task_body(ref, task))

    for resource in RESOURCES:
        api.add_url_rule(
            f"/async/{resource}.json", f"accept_{resource}", lambda r=resource: _accept(r), methods=["POST"]
        )
        api.add_url_rule(
            f"/async/{resource}/status/<ref>.json",
            f"status_{resource}",
            lambda ref, r=resource: _status(r, ref),
        )

    # -- documents -------------------------------------------------------------------------------------
    def _public(doc: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    def _doc(resource: str, doc_uuid: str) -> dict[str, Any] | None:
        doc = state.documents.get(doc_uuid)
        kind = "vat" if resource == "invoices" else "correction"
        return doc if doc is not None and doc["kind"] == kind else None

    def _list(resource: str) -> Response:
        try:
            offset = max(0, int(request.args.get("offset", 0)))
            limit = int(request.args.get("limit", 10))
        except ValueError:
            return _error({"error": "Nieprawidłowa wartość parametru: offset/limit"}, 400)
        if not 1 <= limit <= 100:
            return _error({"error": "Nieprawidłowa wartość parametru: limit (maksymalnie 100)"}, 400)
        kind = "vat" if resource == "invoices" else "correction"
        with state.lock:
            docs = [d for d in state.documents.values() if d["kind"] == kind]
            for key, value in request.args.items():
                match = re.fullmatch(r"q\[(\w+?)_(eq|cont|gteq|lteq|gt|lt|null)\]", key)
                if not match:
                    continue
                field, op = match.groups()
                if field == "clean_client_nip":
                    field = "client_tax_code"
                docs = [d for d in docs if _matches(d.get(field), op, value)]
            docs.sort(
                key=lambda d: (d["invoice_date"], d["id"]), reverse="desc" in request.args.get("order", "")
            )
            chunk = docs[offset : offset + limit]
            base = request.base_url
            return jsonify(
                {
                    "metainfo": {
                        "count": len(chunk),
                        "total_count": len(docs),
                        "next": f"{base}?offset={offset + limit}&limit={limit}"
                        if offset + limit < len(docs)
                        else None,
                        "previous": f"{base}?offset={max(0, offset - limit)}&limit={limit}"
                        if offset
                        else None,
                    },
                    "entities": [{k: v for k, v in _public(d).items()} for d in chunk],
                }
            )

    def _show(resource: str, doc_uuid: str) -> Response:
        with state.lock:
            doc = _doc(resource, doc_uuid)
            return jsonify(_public(doc)) if doc else _error({"error": NOT_FOUND}, 404)

    def _pdf_of(doc: Mapping[str, Any]) -> Response:
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

    def _pdf(resource: str, doc_uuid: str) -> Response:
        if request.args.get("document_type") not in DOCUMENT_TYPES:
            return _error({"error": "Nieprawidłowa wartość parametru: document_type"}, 400)
        with state.lock:
            doc = _doc(resource, doc_uuid)
            if doc is None:
                return _error({"error": NOT_FOUND}, 404)
            if doc["status"] == "draft":
                doc["status"] = "printed"
            return _pdf_of(doc)

    def _paid(resource: str, doc_uuid: str) -> Response:
        body = request.get_json(silent=True) or {}
        with state.lock:
            doc = _doc(resource, doc_uuid)
            if doc is None:
                return _error({"error": NOT_FOUND}, 404)
            paid_date = body.get("paid_date") or date.today().isoformat()
            if not _valid_date(paid_date) or paid_date < doc["invoice_date"]:
                return _error(
                    {"errors": {"paid_date": ["nie może być wcześniejsza niż data wystawienia"]}}, 422
                )
            doc.update(status="paid", paid_date=paid_date, left_to_pay=0)
        response = jsonify({"processing_code": 201, "processing_description": "Zlecenie przyjęte"})
        response.status_code = 201
        return response

    def _email(resource: str, doc_uuid: str) -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("print_type") not in (
            "original",
            "copy",
            "original_duplicate",
            "copy_duplicate",
            "duplicate",
            "regular",
        ):
            return _error({"errors": {"print_type": ["nie może być puste"]}}, 422)
        with state.lock:
            doc = _doc(resource, doc_uuid)
            if doc is None:
                return _error({"error": NOT_FOUND}, 404)
            recipient = body.get("recipient") or doc.get("client_email")
            if not recipient:
                return _error({"errors": {"recipient": ["nie może być puste"]}}, 422)
            doc["_emails"].append({"to": recipient, "print_type": body["print_type"]})
            doc["status"] = "sent" if doc["status"] != "paid" else "paid"
        return jsonify({})

    def _share(resource: str, doc_uuid: str) -> Response:
        with state.lock:
            doc = _doc(resource, doc_uuid)
            if doc is None:
                return _error({"error": NOT_FOUND}, 404)
            if request.method == "POST" and doc["_share"] is None:
                doc["_share"] = {
                    "token": secrets.token_urlsafe(16),
                    "expiration_date": (date.today() + timedelta(days=30)).isoformat(),
                }
            share = doc["_share"]
            body = {
                "share_link": f"{request.host_url}app/twoja-faktura/{share['token']}" if share else None,
                "expiration_date": share["expiration_date"] if share else None,
            }
            response = jsonify(body)
            response.status_code = 201 if request.method == "POST" else 200
            return response

    for resource in RESOURCES:
        api.add_url_rule(f"/{resource}.json", f"list_{resource}", lambda r=resource: _list(r))
        api.add_url_rule(
            f"/{resource}/<doc_uuid>.json",
            f"show_{resource}",
            lambda doc_uuid, r=resource: _show(r, doc_uuid),
        )
        api.add_url_rule(
            f"/{resource}/<doc_uuid>/pdf.json",
            f"pdf_{resource}",
            lambda doc_uuid, r=resource: _pdf(r, doc_uuid),
        )
        api.add_url_rule(
            f"/async/{resource}/<doc_uuid>/paid.json",
            f"paid_{resource}",
            lambda doc_uuid, r=resource: _paid(r, doc_uuid),
            methods=["POST"],
        )
        api.add_url_rule(
            f"/{resource}/<doc_uuid>/deliver_via_email.json",
            f"email_{resource}",
            lambda doc_uuid, r=resource: _email(r, doc_uuid),
            methods=["POST"],
        )
        api.add_url_rule(
            f"/{resource}/<doc_uuid>/share_links.json",
            f"share_{resource}",
            lambda doc_uuid, r=resource: _share(r, doc_uuid),
            methods=["GET", "POST"],
        )

    @api.get("/vat_exemptions.json")
    def vat_exemptions() -> Response:
        entities = list(VAT_EXEMPTIONS)
        return jsonify(
            {"metainfo": {"count": len(entities), "total_count": len(entities)}, "entities": entities}
        )

    # -- KSeF ------------------------------------------------------------------------------------------
    @api.get("/ksef2/integration.json")
    def ksef_integration() -> Response:
        return jsonify(
            {"active": state.ksef["active"], "incomes_last_fetched_at": None, "costs_last_fetched_at": None}
        )

    def _ksef_body(doc: Mapping[str, Any]) -> dict[str, Any]:
        kind = "vat" if doc["kind"] == "vat" else "corrective_invoice"
        return {"invoice_uuid": doc["uuid"], "invoice_kind": kind, **doc["ksef_data"]}

    @api.post("/ksef2/documents/<doc_uuid>/send.json")
    def ksef_send(doc_uuid: str) -> Response:
        with state.lock:
            doc = state.documents.get(doc_uuid)
            if doc is None:
                return _error({"error": NOT_FOUND}, 404)
            if not state.ksef["active"]:
                return _error({"error": "Użytkownik nie jest zintegrowany z KSeF."}, 422)
            if doc["ksef_data"] is not None:
                return _error({"error": "Faktura została już wysłana do KSeF."}, 422)
            doc["ksef_data"] = {
                "request_uuid": str(uuidlib.uuid4()),
                "ksef_number": None,
                "status": "sent",
                "status_description": "Faktura została wysłana do przetworzenia w KSeF.",
                "timestamps": {"request_created_at": _now(), "request_finished_at": None},
            }
            doc["_ksef_reads"] = 0
            return jsonify(_ksef_body(doc))

    @api.get("/ksef2/documents/<doc_uuid>/status.json")
    def ksef_status(doc_uuid: str) -> Response:
        with state.lock:
            doc = state.documents.get(doc_uuid)
            if doc is None or doc["ksef_data"] is None:
                return _error({"error": NOT_FOUND}, 404)
            data = doc["ksef_data"]
            if data["status"] == "sent":
                doc["_ksef_reads"] += 1
                if doc["_ksef_reads"] >= int(state.ksef["polls"]):
                    finished = {
                        "request_created_at": data["timestamps"]["request_created_at"],
                        "request_finished_at": _now(),
                    }
                    if state.ksef["outcome"] == "success":
                        number = ksef_number(SELLER_NIP, date.today())
                        data.update(
                            status="success",
                            ksef_number=number,
                            status_description="Faktura została przetworzona.",
                        )
                        doc["ksef_number"] = number
                    else:
                        data.update(
                            status="error", status_description="Błąd weryfikacji semantyki dokumentu faktury"
                        )
                    data["timestamps"] = finished
            return jsonify(_ksef_body(doc))

    app.register_blueprint(api)

    @app.get("/app/twoja-faktura/<token>")
    def shared(token: str) -> Response:
        with state.lock:
            doc = next(
                (d for d in state.documents.values() if d["_share"] and d["_share"]["token"] == token), None
            )
            return _pdf_of(doc) if doc else _error({"error": NOT_FOUND}, 404)

    # -- sandbox-only ------------------------------------------------------------------------------------
    @app.get("/_sandbox/documents")
    def sandbox_documents() -> Response:
        with state.lock:
            docs = [{**_public(d), "emails": list(d["_emails"])} for d in state.documents.values()]
            tasks = {ref: {k: t[k] for k in ("resource", "code")} for ref, t in state.tasks.items()}
        return jsonify({"documents": docs, "tasks": tasks})

    @app.post("/_sandbox/faults")
    def sandbox_faults() -> Response:
        body = request.get_json(silent=True) or {}
        try:
            for rule in body.get("rules") or [body]:
                state.faults.add(rule)
        except ValueError as exc:
            return _error({"error": str(exc)}, 400)
        return jsonify({"rules": state.faults.rules})

    @app.delete("/_sandbox/faults")
    def sandbox_faults_clear() -> Response:
        state.faults.clear()
        return jsonify({"rules": []})

    @app.post("/_sandbox/ksef")
    def sandbox_ksef() -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("outcome") not in (None, "success", "error"):
            return _error({"error": "outcome: success | error"}, 400)
        with state.lock:
            state.ksef.update({k: body[k] for k in ("active", "polls", "outcome") if k in body})
            return jsonify(state.ksef)

    @app.post("/_sandbox/tasks")
    def sandbox_tasks() -> Response:
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.task_rules.update({k: body[k] for k in ("polls", "seconds") if k in body})
            return jsonify(state.task_rules)

    @app.post("/_sandbox/limits")
    def sandbox_limits() -> Response:
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.limits.update({k: body[k] for k in ("enabled", "GET", "WRITE", "window") if k in body})
            state.hits = {"GET": [], "WRITE": []}
            return jsonify(state.limits)

    @app.post("/_sandbox/reset")
    def sandbox_reset() -> Response:
        with state.lock:
            state.reset()
        return jsonify({"ok": True})

    return app


def _matches(actual: Any, op: str, wanted: str) -> bool:
    if op == "null":
        return (actual in (None, "")) == (wanted.lower() == "true")
    if actual is None:
        return False
    text = str(actual)
    return {
        "eq": text == wanted,
        "cont": wanted.lower() in text.lower(),
        "gteq": text >= wanted,
        "lteq": text <= wanted,
        "gt": text > wanted,
        "lt": text < wanted,
    }[op]
