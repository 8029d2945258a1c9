"""What inFakt API v3 accepts, as its public documentation (infakt/API readme.md, ksef.md) states it:
the VAT rate and payment method lists, VAT exemption reasons, and the checks a creation task runs.

Errors are inFakt's task shape: ``{field: ["message"]}`` (``invoice_errors`` of a 422 task).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

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
PRINT_TYPES = ("original", "copy", "original_duplicate", "copy_duplicate", "duplicate", "regular")
ACTIVITY_KINDS = (None, "private_person", "self_employed", "other_business")
NIP = re.compile(r"^\d{10}$")
MONEY_FIELDS = ("gross_price", "net_price", "unit_net_price")

Errors = dict[str, list[str]]
Add = Callable[[str, str], None]


def is_grosze(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def net_of(gross: int, symbol: str) -> int:
    if not symbol.isdigit() or symbol == "0":
        return gross
    return round(gross * 100 / (100 + int(symbol)))


def validate(inv: Mapping[str, Any], resource: str, invoices: Mapping[str, Mapping[str, Any]]) -> Errors:
    """Every documented refusal of a task's ``invoice``; ``invoices`` are the account's documents."""
    errors: Errors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    services = inv.get("services")
    if not isinstance(services, list) or not services:
        add("services", "nie może być puste")
        services = []
    for i, s in enumerate(services):
        _validate_service(f"services[{i}]", s, inv, add)
    named = inv.get("client_id") or str(inv.get("client_company_name") or "").strip()
    if not named and not (inv.get("client_first_name") and inv.get("client_last_name")):
        add("client_company_name", "nie może być puste")
    country = str(inv.get("client_country") or "")
    if not re.fullmatch(r"[A-Z]{2}", country):
        add("client_country", "musi być kodem kraju (Alpha-2)")
    tax_code = str(inv.get("client_tax_code") or "")
    if tax_code and country == "PL" and not NIP.match(tax_code):
        add("client_tax_code", "jest nieprawidłowy")
    if inv.get("client_business_activity_kind") not in ACTIVITY_KINDS:
        add("client_business_activity_kind", "jest nieprawidłowe")
    if inv.get("payment_method") not in (None, *PAYMENT_METHODS):
        add("payment_method", "nie znajduje się na liście metod płatności")
    for field in ("invoice_date", "sale_date", "payment_date", "paid_date", "corrected_invoice_date"):
        if inv.get(field) and not valid_date(inv[field]):
            add(field, "ma nieprawidłowy format (RRRR-MM-DD)")
    if inv.get("currency") and not re.fullmatch(r"[A-Z]{3}", str(inv["currency"])):
        add("currency", "jest nieprawidłowa")
    if len(str(inv.get("notes") or "")) > 3500:
        add("notes", "jest za długie (maksymalnie 3500 znaków)")
    if resource == "corrective_invoices":
        _validate_correction(inv, services, invoices, add)
    return errors


def _validate_service(where: str, s: Any, inv: Mapping[str, Any], add: Add) -> None:
    if not isinstance(s, dict):
        add(where, "jest nieprawidłowe")
        return
    name = str(s.get("name") or "").strip()
    if not name:
        add(f"{where}.name", "nie może być puste")
    elif len(name) > 256:
        add(f"{where}.name", "jest za długie (maksymalnie 256 znaków)")
    if str(s.get("tax_symbol")) not in VAT_RATES:
        add(f"{where}.tax_symbol", "nie znajduje się na liście stawek VAT")
    for money in MONEY_FIELDS:
        if money in s and not is_grosze(s[money]):
            add(f"{where}.{money}", "musi być liczbą całkowitą (grosze)")
    if not any(k in s for k in MONEY_FIELDS):
        add(f"{where}.gross_price", "nie może być puste")
    quantity = s.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float)) or quantity < 0:
        add(f"{where}.quantity", "musi być liczbą nieujemną")
    if str(s.get("tax_symbol")) == "zw" and inv.get("vat_exemption_reason") not in {
        e["id"] for e in VAT_EXEMPTIONS
    }:
        add("vat_exemption_reason", "musi wskazywać podstawę zwolnienia z VAT")


def _validate_correction(
    inv: Mapping[str, Any], services: list[Any], invoices: Mapping[str, Mapping[str, Any]], add: Add
) -> None:
    original = invoices.get(str(inv.get("corrected_invoice_uuid") or ""))
    if original is None or original["kind"] != "vat":
        add("corrected_invoice_uuid", "nie wskazuje faktury VAT")
    if not str(inv.get("correction_reason") or "").strip():
        add("correction_reason", "nie może być puste")
    # Every corrected line is a pair in one ``group``: before (correction: false) and after (true).
    groups: dict[Any, list[bool]] = {}
    for s in services:
        if isinstance(s, dict):
            groups.setdefault(s.get("group"), []).append(bool(s.get("correction")))
    for group, flags in groups.items():
        if group is None or sorted(flags) != [False, True]:
            add("services", f"grupa {group}: wymagana para pozycji przed (correction: false) i po korekcie")
