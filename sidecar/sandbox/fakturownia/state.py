"""One simulated Fakturownia account: its documents, their numbering, KSeF progression and faults."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, jsonify

from sidecar.sandbox.fakturownia.rules import KSEF_KINDS, decimal, is_company, money, net_of
from sidecar.sandbox.faults import Faults
from sidecar.sandbox.ksef import SELLER_NIP, ksef_number

PREFIXES = {"vat": "FV", "receipt": "PAR", "correction": "FK", "proforma": "PRO"}
KSEF_MODES = ("off", "pl_companies", "all_companies", "all")
KSEF_OUTCOMES = ("ok", "send_error", "server_error")
# Fields of the request copied onto the document as they are (absent = None).
COPIED = (
    "paid_date",
    "exchange_currency",
    "exchange_kind",
    "oid",
    "description",
    "buyer_first_name",
    "buyer_last_name",
    "buyer_tax_no",
    "buyer_street",
    "buyer_post_code",
    "buyer_city",
    "buyer_country",
    "buyer_email",
    "exempt_tax_kind",
    "correction_reason",
    "invoice_id",
    "from_invoice_id",
    "department_id",
    "gov_corrected_invoice_number",
)


def error(messages: Mapping[str, list[str]] | str, status: int = 422) -> Response:
    """Fakturownia's error body: ``{"code": "error", "message": …}``."""
    response = jsonify({"code": "error", "message": messages})
    response.status_code = status
    return response


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A document as the API shows it (the simulator's own ``_`` fields left out)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


class State:
    def __init__(self, token: str, domain: str) -> None:
        self.token = token
        self.domain = domain
        self.lock = threading.Lock()
        self.faults = Faults(lambda message, status: error(message, status))
        self.reset()

    def reset(self) -> None:
        self.documents: dict[int, dict[str, Any]] = {}
        self.next_id = 100001
        self.counters: dict[tuple[str, str], int] = {}
        self.ksef: dict[str, Any] = {"mode": "pl_companies", "polls": 1, "outcome": "ok", "validate": True}
        self.faults.clear()

    def snapshot(self) -> dict[str, Any]:
        docs = [{**public(d), "emails": list(d["_emails"])} for d in self.documents.values()]
        return {"documents": docs}

    def by_token(self, token: str) -> dict[str, Any] | None:
        return next((d for d in self.documents.values() if d["token"] == token), None)

    def needs_ksef_number(self, doc: Mapping[str, Any]) -> bool:
        """A company document KSeF must number before it may be e-mailed (KSeF.md)."""
        if self.ksef["mode"] == "off" or not doc["buyer_company"] or doc["kind"] not in KSEF_KINDS:
            return False
        return doc.get("gov_status") not in (None, "not_applicable") and not doc.get("gov_id")

    # -- KSeF --------------------------------------------------------------------------------------
    def _gov_status(self, kind: str, company: bool, country: str) -> str | None:
        mode = self.ksef["mode"]
        if mode == "off":
            return None
        if kind not in KSEF_KINDS:
            return "not_applicable"
        if mode == "all" or (company and (mode == "all_companies" or country == "PL")):
            return "processing"
        return None

    def ksef_read(self, doc: dict[str, Any]) -> None:
        """Reading a document in processing moves KSeF along (the real one needs seconds to minutes)."""
        if doc.get("gov_status") != "processing":
            return
        doc["_ksef_reads"] = doc.get("_ksef_reads", 0) + 1
        if doc["_ksef_reads"] < int(self.ksef["polls"]):
            return
        outcome = self.ksef["outcome"]
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

    def resend_to_ksef(self, doc: dict[str, Any]) -> bool:
        """``send_to_ksef=yes``: a failed (or never sent) document goes back to processing."""
        if doc.get("gov_status") not in ("server_error", "send_error", None):
            return False
        doc.update(gov_status="processing", gov_error_messages=None, _ksef_reads=0)
        return True

    # -- creation ----------------------------------------------------------------------------------
    def _number(self, kind: str, month: str) -> str:
        counter = self.counters.get((kind, month), 0) + 1
        self.counters[(kind, month)] = counter
        return f"{PREFIXES.get(kind, kind.upper())} {counter}/{month[5:7]}/{month[:4]}"

    def _positions(self, inv: Mapping[str, Any]) -> list[dict[str, Any]]:
        positions: list[dict[str, Any]] = []
        for p in inv["positions"]:
            gross = decimal(p["total_price_gross"]) or Decimal(0)
            tax = str(p.get("tax"))
            net = net_of(gross, tax)
            positions.append(
                {
                    "id": self.next_id * 10 + len(positions),
                    "name": p["name"],
                    "quantity": str(decimal(p.get("quantity")) or Decimal(1)),
                    "quantity_unit": p.get("quantity_unit") or "szt.",
                    "tax": tax,
                    "total_price_gross": money(gross),
                    "total_price_net": money(net),
                    "total_price_tax": money(gross - net),
                    "kind": p.get("kind") or "normal",
                    "correction_before_attributes": p.get("correction_before_attributes"),
                    "correction_after_attributes": p.get("correction_after_attributes"),
                }
            )
        return positions

    def create(self, inv: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        """Store a validated ``invoice`` and return it as Fakturownia answers it (money as strings)."""
        kind = inv.get("kind") or "vat"
        issue = inv.get("issue_date") or date.today().isoformat()
        number = inv.get("number") or self._number(kind, issue[:7])
        positions = self._positions(inv)
        gross_total = sum((Decimal(p["total_price_gross"]) for p in positions), Decimal(0))
        net_total = sum((Decimal(p["total_price_net"]) for p in positions), Decimal(0))
        company = is_company(inv)
        buyer_name = (
            inv.get("buyer_name")
            or " ".join(str(inv.get(k) or "") for k in ("buyer_first_name", "buyer_last_name")).strip()
        )
        doc_id = self.next_id
        self.next_id += 1
        token = secrets.token_urlsafe(14)
        doc: dict[str, Any] = {
            **{k: inv.get(k) for k in COPIED},
            "id": doc_id,
            "kind": kind,
            "number": number,
            "status": inv.get("status") or "issued",
            "issue_date": issue,
            "sell_date": inv.get("sell_date") or issue,
            "payment_to": inv.get("payment_to") or issue,
            "payment_type": inv.get("payment_type") or "transfer",
            "paid": money(decimal(inv.get("paid")) or Decimal(0)),
            "currency": inv.get("currency") or "PLN",
            "lang": inv.get("lang") or "pl",
            "price_net": money(net_total),
            "price_gross": money(gross_total),
            "price_tax": money(gross_total - net_total),
            "buyer_name": buyer_name,
            "buyer_company": company,
            "token": token,
            "view_url": f"{base_url}/f/{number.replace(' ', '-').replace('/', '-')}/{token}",
            "from_api": True,
            "income": True,
            "gov_status": self._gov_status(kind, company, inv.get("buyer_country", "PL")),
            "gov_id": None,
            "gov_error_messages": None,
            "created_at": datetime.now().astimezone().isoformat(),
            "positions": positions,
            "_emails": [],
        }
        self.documents[doc_id] = doc
        return doc
