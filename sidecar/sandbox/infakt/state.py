"""One simulated inFakt account: documents, asynchronous creation tasks, rate limits, KSeF and faults."""

from __future__ import annotations

import re
import threading
import time
import uuid as uuidlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from flask import Response, jsonify

from sidecar.sandbox.faults import Faults
from sidecar.sandbox.infakt.rules import net_of, validate
from sidecar.sandbox.ksef import SELLER_NIP, ksef_number

RESOURCES = ("invoices", "corrective_invoices")
KINDS = {"invoices": "vat", "corrective_invoices": "correction"}
PROCESSING = (
    (100, "Zlecenie przyjęte"),
    (120, "Zlecenie czeka na przetworzenie"),
    (140, "Zlecenie jest w trakcie przetwarzania"),
)
RUNNING = tuple(code for code, _ in PROCESSING)
KSEF_OUTCOMES = ("success", "error")
NOT_FOUND = "Zasób którego szukasz nie został znaleziony."


def now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def error(body: Any, status: int) -> Response:
    """inFakt's error body: ``{"error": "…"}`` (or a given ``{"errors": {…}}``)."""
    response = jsonify(body if isinstance(body, dict) else {"error": body})
    response.status_code = status
    return response


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def task_body(ref: str, task: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "invoice_task_reference_number": ref,
        "processing_code": task["code"],
        "processing_description": task["description"],
        "timestamps": {"task_created_at": task["created_at"], "task_finished_at": task.get("finished_at")},
    }
    if task["code"] == 201:
        body["invoice_uuid"] = task["invoice_uuid"]
    if task["code"] == 422:
        body["invoice_errors"] = task["errors"]
    return body


def ksef_body(doc: Mapping[str, Any]) -> dict[str, Any]:
    kind = "vat" if doc["kind"] == "vat" else "corrective_invoice"
    return {"invoice_uuid": doc["uuid"], "invoice_kind": kind, **doc["ksef_data"]}


class State:
    def __init__(self, key: str) -> None:
        self.key = key
        self.lock = threading.Lock()
        self.faults = Faults(lambda message, status: error(message, status))
        self.reset()

    def reset(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.next_id = 5001
        self.ksef: dict[str, Any] = {"active": True, "polls": 1, "outcome": "success"}
        self.task_rules: dict[str, Any] = {"polls": 2, "seconds": 0.5}
        # Documented limits per IP and 60 s: GET 300, POST/PUT/DELETE 150. Off unless a test turns it on.
        self.limits: dict[str, Any] = {"enabled": False, "GET": 300, "WRITE": 150, "window": 60.0}
        self.clear_hits()
        self.faults.clear()

    def clear_hits(self) -> None:
        self.hits: dict[str, list[float]] = {"GET": [], "WRITE": []}

    def snapshot(self) -> dict[str, Any]:
        docs = [{**public(d), "emails": list(d["_emails"])} for d in self.documents.values()]
        tasks = {ref: {k: t[k] for k in ("resource", "code")} for ref, t in self.tasks.items()}
        return {"documents": docs, "tasks": tasks}

    def over_limit(self, method: str) -> float | None:
        """Seconds until the next request of this class is allowed, or None when it is allowed now."""
        if not self.limits["enabled"]:
            return None
        kind = "GET" if method == "GET" else "WRITE"
        moment, window = time.monotonic(), float(self.limits["window"])
        hits = [t for t in self.hits[kind] if moment - t < window]
        self.hits[kind] = hits
        if len(hits) >= int(self.limits[kind]):
            return window - (moment - hits[0])
        hits.append(moment)
        return None

    def document(self, resource: str, doc_uuid: str) -> dict[str, Any] | None:
        doc = self.documents.get(doc_uuid)
        return doc if doc is not None and doc["kind"] == KINDS[resource] else None

    def shared(self, token: str) -> dict[str, Any] | None:
        return next(
            (d for d in self.documents.values() if d["_share"] and d["_share"]["token"] == token), None
        )

    # -- creation tasks ----------------------------------------------------------------------------
    def accept(self, resource: str, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ref = str(uuidlib.uuid4())
        self.tasks[ref] = {
            "resource": resource,
            "payload": payload,
            "code": 100,
            "description": PROCESSING[0][1],
            "polls": 0,
            "accepted": time.monotonic(),
            "created_at": now(),
        }
        return ref, dict(self.tasks[ref])

    def poll(self, resource: str, ref: str) -> dict[str, Any] | None:
        """A status read: moves the task 100 → 120 → 140 → finished after the configured polls."""
        task = self.tasks.get(ref)
        if task is None or task["resource"] != resource:
            return None
        if task["code"] in RUNNING:
            task["polls"] += 1
            if task["polls"] >= self.task_rules["polls"]:
                self._finish(task)
            else:
                task["code"], task["description"] = PROCESSING[min(task["polls"], 2)]
        return task

    def run_due_tasks(self) -> None:
        # inFakt processes accepted tasks in the background: a task nobody polls still completes.
        for task in self.tasks.values():
            if task["code"] in RUNNING and time.monotonic() - task["accepted"] >= self.task_rules["seconds"]:
                self._finish(task)

    def _finish(self, task: dict[str, Any]) -> None:
        errors = validate(task["payload"], task["resource"], self.documents)
        if errors:
            task.update(code=422, description="Nie udało się stworzyć faktury", errors=errors)
        else:
            doc = self._create(task["payload"], task["resource"])
            task.update(code=201, description="Faktura stworzona", invoice_uuid=doc["uuid"])
        task["finished_at"] = now()

    def _create(self, inv: Mapping[str, Any], resource: str) -> dict[str, Any]:
        kind = KINDS[resource]
        invoice_date = inv.get("invoice_date") or date.today().isoformat()
        month = invoice_date[:7]
        counter = self.counters.get((kind, month), 0) + 1
        self.counters[(kind, month)] = counter
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
            net = net_of(gross, str(s["tax_symbol"]))
            services.append({**s, "gross_price": gross, "net_price": net, "tax_price": gross - net})
        # A correction's totals are after minus before: the change it makes.
        signs = [-1 if kind == "correction" and not s.get("correction") else 1 for s in services]
        total = sum(sign * s["gross_price"] for sign, s in zip(signs, services, strict=True))
        net_total = sum(sign * s["net_price"] for sign, s in zip(signs, services, strict=True))
        doc_uuid = str(uuidlib.uuid4())
        doc = {
            **{k: v for k, v in inv.items() if k != "services"},
            "id": self.next_id,
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
        self.next_id += 1
        self.documents[doc_uuid] = doc
        return doc

    # -- listing -----------------------------------------------------------------------------------
    def listing(self, resource: str, args: Mapping[str, str]) -> list[dict[str, Any]]:
        """Documents of ``resource`` matching every ``q[field_op]`` filter, in the requested order."""
        docs = [d for d in self.documents.values() if d["kind"] == KINDS[resource]]
        for key, value in args.items():
            match = re.fullmatch(r"q\[(\w+?)_(eq|cont|gteq|lteq|gt|lt|null)\]", key)
            if not match:
                continue
            field, op = match.groups()
            if field == "clean_client_nip":
                field = "client_tax_code"
            docs = [d for d in docs if _matches(d.get(field), op, value)]
        docs.sort(key=lambda d: (d["invoice_date"], d["id"]), reverse="desc" in args.get("order", ""))
        return docs

    # -- KSeF --------------------------------------------------------------------------------------
    def ksef_send(self, doc: dict[str, Any]) -> None:
        doc["ksef_data"] = {
            "request_uuid": str(uuidlib.uuid4()),
            "ksef_number": None,
            "status": "sent",
            "status_description": "Faktura została wysłana do przetworzenia w KSeF.",
            "timestamps": {"request_created_at": now(), "request_finished_at": None},
        }
        doc["_ksef_reads"] = 0

    def ksef_read(self, doc: dict[str, Any]) -> None:
        """A status read of a sent document: success (a KSeF number) or error after the set polls."""
        data = doc["ksef_data"]
        if data["status"] != "sent":
            return
        doc["_ksef_reads"] += 1
        if doc["_ksef_reads"] < int(self.ksef["polls"]):
            return
        finished = {
            "request_created_at": data["timestamps"]["request_created_at"],
            "request_finished_at": now(),
        }
        if self.ksef["outcome"] == "success":
            number = ksef_number(SELLER_NIP, date.today())
            data.update(
                status="success", ksef_number=number, status_description="Faktura została przetworzona."
            )
            doc["ksef_number"] = number
        else:
            data.update(status="error", status_description="Błąd weryfikacji semantyki dokumentu faktury")
        data["timestamps"] = finished


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
