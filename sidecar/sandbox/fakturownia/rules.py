"""What Fakturownia accepts, as its public documentation (API README, KSeF.md) states it: the document
kinds, tax values, NIP format, and the checks ``POST /invoices.json`` makes before it creates anything.

Errors are Fakturownia's own shape: ``{field: ["- message"]}`` (answered as 422 by the routes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

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
CENT = Decimal("0.01")
TOO_LONG = "pole jest za długie (maksymalna ilość znaków: {})"

Errors = dict[str, list[str]]


def decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation:
        return None


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "yes", "True")


def is_company(inv: Mapping[str, Any]) -> bool:
    # A company buyer unless ``buyer_company`` is present and false, as the documentation reads.
    return not ("buyer_company" in inv and not truthy(inv.get("buyer_company")))


def net_of(gross: Decimal, tax: str) -> Decimal:
    if not tax.isdigit() or tax == "0":
        return gross
    return (gross / (1 + Decimal(tax) / 100)).quantize(CENT, ROUND_HALF_UP)


def _valid_date(value: Any, allow_month: bool = False) -> bool:
    text = str(value)
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return allow_month and re.fullmatch(r"\d{4}-\d{2}", text) is not None


def validate(
    inv: Mapping[str, Any], ksef: Mapping[str, Any], documents: Mapping[int, Mapping[str, Any]]
) -> Errors:
    """Every documented refusal of ``inv``, given the account's KSeF settings and its documents."""
    errors: Errors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(f"- {message}")

    kind = inv.get("kind") or "vat"
    if kind not in KINDS:
        add("kind", "jest nieprawidłowe")
    company = is_company(inv)
    if kind != "receipt" and not inv.get("client_id"):
        if company and not str(inv.get("buyer_name") or "").strip():
            add("buyer_name", "nie może być puste")
        if not company:
            for field in ("buyer_first_name", "buyer_last_name"):
                if not str(inv.get(field) or "").strip():
                    add(field, "nie może być puste")
    ksef_on = ksef["mode"] != "off" and ksef["validate"] and kind in KSEF_KINDS
    tax_no = str(inv.get("buyer_tax_no") or "").replace("-", "").replace(" ", "")
    if ksef_on and company and kind != "receipt" and not truthy(inv.get("disable_tax_no_validation")):
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
        add("buyer_email", TOO_LONG.format(255))
    if len(str(inv.get("correction_reason") or "")) > 256:
        add("correction_reason", TOO_LONG.format(256))
    positions = inv.get("positions")
    if not isinstance(positions, list) or not positions:
        add("positions", "nie może być puste")
        positions = []
    for i, p in enumerate(positions):
        _validate_position(f"positions[{i}]", p, inv, kind, ksef_on, add)
    if kind == "correction":
        ref = str(inv.get("invoice_id") or "")
        if not ref.isdigit() or int(ref) not in documents:
            add("invoice_id", "nie istnieje")
    oid = inv.get("oid")
    if truthy(inv.get("oid_unique")) and oid and any(d.get("oid") == oid for d in documents.values()):
        add("oid", "jest już zajęte")
    return errors


def _validate_position(
    where: str,
    p: Any,
    inv: Mapping[str, Any],
    kind: str,
    ksef_on: bool,
    add: Callable[[str, str], None],
) -> None:
    if not isinstance(p, dict):
        add(where, "jest nieprawidłowe")
        return
    name = str(p.get("name") or "").strip()
    if not name:
        add(f"{where}.name", "nie może być puste")
    elif len(name) > 256:
        add(f"{where}.name", TOO_LONG.format(256))
    if decimal(p.get("total_price_gross")) is None:
        add(f"{where}.total_price_gross", "nie może być puste")
    if p.get("quantity") is not None and decimal(p.get("quantity")) is None:
        add(f"{where}.quantity", "nie jest liczbą")
    if str(p.get("tax")) not in TAXES:
        add(f"{where}.tax", "jest nieprawidłowe")
    if ksef_on and str(p.get("tax")) == "zw" and not str(inv.get("exempt_tax_kind") or "").strip():
        add("exempt_tax_kind", "nie może być puste")
    if kind == "correction":
        before, after = p.get("correction_before_attributes"), p.get("correction_after_attributes")
        if not isinstance(before, dict) or not isinstance(after, dict):
            add(f"{where}.correction_before_attributes", "nie może być puste")
            return
        b, a, d = (decimal(x.get("total_price_gross")) for x in (before, after, p))
        if b is None or a is None or d is None or a - b != d:
            add(f"{where}.total_price_gross", "musi być różnicą wartości po i przed korektą")
