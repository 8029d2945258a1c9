"""Order → provider-neutral document, with exact Decimal money.

WooCommerce's REST v3 order already holds every amount the shopper paid, after coupons, rounded to the
grosz: a line's ``total``/``total_tax`` (net and VAT after discounts), the same for shipping and fees.
A position's gross is ``total + total_tax`` — exactly what was charged, so the invoice never re-computes
prices (re-computing from unit prices is where rounding drift comes from). The sum of the positions must
equal the order's ``total`` to the grosz; if it does not, the order is not invoiced automatically:
a silently wrong invoice is worse than a visible failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sidecar import nip as nip_rules
from sidecar.errors import PermanentError

WARSAW = ZoneInfo("Europe/Warsaw")
CENT = Decimal("0.01")
ZERO = Decimal("0")
RATES = ("23", "8", "5", "0", "zw")
_ZW_LABEL = re.compile(r"^\s*(zw|zw\.|zwolnion\w*|exempt\w*)\s*$", re.IGNORECASE)

DocumentKind = Literal["vat", "receipt"]

# WooCommerce gateway id → provider-neutral payment type. Unknown gateways are paid online → transfer.
_GATEWAYS: dict[str, str] = {
    "bacs": "transfer",
    "cod": "cash_on_delivery",
    "cheque": "cheque",
    "paypal": "paypal",
    "ppcp-gateway": "paypal",
    "ppec_paypal": "paypal",
    "payu": "payu",
    "payustandard": "payu",
    "przelewy24": "przelewy24",
    "tpay": "tpay",
    "dotpay": "dotpay",
    "stripe": "card",
    "stripe_cc": "card",
    "woocommerce_payments": "card",
    "cash": "cash",
}


def payment_type(gateway: str | None) -> str:
    gateway = (gateway or "").strip().lower()
    if gateway in _GATEWAYS:
        return _GATEWAYS[gateway]
    if gateway.startswith("stripe") or "card" in gateway:
        return "card"
    if gateway.startswith("payu"):
        return "payu"
    if gateway.startswith("przelewy24") or gateway.startswith("p24"):
        return "przelewy24"
    return "transfer"


@dataclass(frozen=True)
class Buyer:
    company: bool  # a business buyer identified by NIP (B2B)
    name: str  # company name, or the person's full name
    first_name: str
    last_name: str
    nip: str
    street: str
    post_code: str
    city: str
    country: str
    email: str


@dataclass(frozen=True)
class Position:
    name: str
    quantity: Decimal
    total_net: Decimal
    total_gross: Decimal
    tax: str  # one of RATES
    source: str  # "item" | "shipping" | "fee" | "refund"
    source_id: int | None = None
    discount_gross: Decimal = ZERO  # informational: coupon discount already deducted from the totals

    @property
    def total_tax(self) -> Decimal:
        return self.total_gross - self.total_net


@dataclass(frozen=True)
class Document:
    kind: DocumentKind
    key: str  # idempotency key, e.g. "wc-123-vat" (Fakturownia oid)
    order_id: int
    order_number: str
    currency: str
    issue_date: date
    sell_date: date
    payment_type: str
    paid: bool
    paid_date: date | None
    buyer: Buyer
    positions: tuple[Position, ...]
    total_gross: Decimal
    exemption_reason: str | None = None
    coupons: tuple[str, ...] = ()

    @property
    def b2b(self) -> bool:
        return self.buyer.company

    @property
    def total_net(self) -> Decimal:
        return sum((p.total_net for p in self.positions), ZERO)


@dataclass(frozen=True)
class CorrectionLine:
    """One corrected position: its state before this correction and after it (both as totals)."""

    name: str
    tax: str
    before_quantity: Decimal
    before_gross: Decimal
    before_net: Decimal
    after_quantity: Decimal
    after_gross: Decimal
    after_net: Decimal

    @property
    def quantity_diff(self) -> Decimal:
        return self.after_quantity - self.before_quantity

    @property
    def gross_diff(self) -> Decimal:
        return self.after_gross - self.before_gross

    @property
    def net_diff(self) -> Decimal:
        return self.after_net - self.before_net


@dataclass(frozen=True)
class OriginalDocument:
    id: str
    number: str
    ksef_number: str = ""


@dataclass(frozen=True)
class Correction:
    key: str  # "wc-<order>-kor-<refund>"
    order_id: int
    refund_id: int
    currency: str
    issue_date: date
    reason: str
    original: OriginalDocument
    buyer: Buyer
    lines: tuple[CorrectionLine, ...]
    total_gross: Decimal  # the change: negative for a refund
    exemption_reason: str | None = None


# -- helpers -----------------------------------------------------------------------------------------


def money(value: Any, what: str) -> Decimal:
    if value in (None, ""):
        return ZERO
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PermanentError(f"{what}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise PermanentError(f"{what}: {value!r} is not an amount")
    return amount


def cents(value: Any, what: str) -> Decimal:
    """An amount that must already be whole grosze (WooCommerce rounds line totals to 2 places)."""
    amount = money(value, what)
    if amount != amount.quantize(CENT):
        raise PermanentError(f"{what}: {value} has more than 2 decimal places")
    return amount.quantize(CENT)


def warsaw_date(value: str | None) -> date | None:
    """A WooCommerce ``*_gmt`` timestamp (no offset, UTC) as a calendar date in Europe/Warsaw."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(WARSAW).date()


def today_in_warsaw(now: datetime | None = None) -> date:
    return (now or datetime.now(tz=ZoneInfo("UTC"))).astimezone(WARSAW).date()


def _rate_table(tax_lines: Iterable[Mapping[str, Any]]) -> dict[str, tuple[Decimal | None, str]]:
    table = {}
    for t in tax_lines:
        percent = t.get("rate_percent")
        table[str(t.get("rate_id"))] = (
            None if percent in (None, "") else money(percent, "tax rate"),
            str(t.get("label") or ""),
        )
    return table


def _tax_symbol(
    row: Mapping[str, Any],
    rates: Mapping[str, tuple[Decimal | None, str]],
    what: str,
    net: Decimal,
    tax: Decimal,
) -> str:
    taxes = [t for t in row.get("taxes") or () if isinstance(t, Mapping)]
    charged = {str(t.get("id")) for t in taxes if money(t.get("total"), what) != ZERO}
    ids = charged or {str(t.get("id")) for t in taxes}
    if not ids:
        if tax != ZERO:
            raise PermanentError(f"{what} carries VAT {tax} but names no tax rate")
        return "zw"
    if len(ids) > 1:
        raise PermanentError(f"{what} has several tax rates at once (compound taxes cannot be invoiced)")
    rate_id = next(iter(ids))
    percent, label = rates.get(rate_id, (None, ""))
    if _ZW_LABEL.match(label):
        if tax != ZERO:
            raise PermanentError(f"{what} is taxed with the exempt rate {label!r} but carries VAT {tax}")
        return "zw"
    if percent is None:
        # Older WooCommerce omits rate_percent: infer it from the amounts. Only one rate may fit; on small
        # amounts several do, and picking one would print a wrong rate on the invoice.
        fits = [c for c in ("23", "8", "5", "0") if vat_of(net, c) == tax]
        if len(fits) != 1:
            raise PermanentError(
                f"{what}: cannot tell its VAT rate (tax line {rate_id} has no rate_percent"
                + (f"; {tax} fits {' and '.join(f + '%' for f in fits)})" if fits else ")")
            )
        return fits[0]
    symbol = format(percent.normalize(), "f")
    if symbol not in RATES:
        raise PermanentError(
            f"{what} is taxed at {symbol}%, which is not a Polish VAT rate (23/8/5/0/zw); "
            "OSS and foreign rates are not invoiced automatically"
        )
    return symbol


def _name(value: Any, fallback: str) -> str:
    text = " ".join(str(value or "").split())
    return (text or fallback)[:256]  # KSeF and both providers cap position names at 256 characters


def _position(
    row: Mapping[str, Any], source: str, rates: Mapping[str, tuple[Decimal | None, str]], name: str
) -> Position:
    what = f"{source} {name!r}"
    net = cents(row.get("total"), what)
    tax = cents(row.get("total_tax"), what)
    symbol = _tax_symbol(row, rates, what, net, tax)
    quantity = money(row.get("quantity", 1), what) if source == "item" else Decimal(1)
    discount = ZERO
    if source == "item" and row.get("subtotal") not in (None, ""):
        discount = cents(row.get("subtotal"), what) + cents(row.get("subtotal_tax"), what) - net - tax
    return Position(
        name=name,
        quantity=quantity,
        total_net=net,
        total_gross=net + tax,
        tax=symbol,
        source=source,
        source_id=int(row["id"]) if row.get("id") not in (None, "") else None,
        discount_gross=discount,
    )


def order_positions(facts: Mapping[str, Any]) -> list[Position]:
    rates = _rate_table(facts.get("tax_lines") or ())
    positions = [
        _position(row, "item", rates, _name(row.get("name"), "Produkt"))
        for row in facts.get("line_items") or ()
    ]
    positions += [
        _position(
            row, "shipping", rates, _name(f"Dostawa: {row.get('method_title') or ''}".strip(": "), "Dostawa")
        )
        for row in facts.get("shipping_lines") or ()
    ]
    positions += [
        _position(row, "fee", rates, _name(row.get("name"), "Opłata")) for row in facts.get("fee_lines") or ()
    ]
    return positions


def _buyer(raw: Mapping[str, str], kind: DocumentKind, b2b: bool) -> Buyer:
    first, last = raw.get("first_name", ""), raw.get("last_name", "")
    person = " ".join(p for p in (first, last) if p)
    company = raw.get("company", "")
    name = company if b2b and company else person or company
    if kind == "vat" and not name:
        raise PermanentError("the order has no billing name or company: an invoice needs a buyer name")
    street = " ".join(p for p in (raw.get("address_1", ""), raw.get("address_2", "")) if p)
    return Buyer(
        company=b2b,
        name=name,
        first_name=first,
        last_name=last,
        nip=raw.get("nip", "") if b2b else "",
        street=street,
        post_code=raw.get("postcode", ""),
        city=raw.get("city", ""),
        country=(raw.get("country") or "PL").upper(),
        email=raw.get("email", ""),
    )


def document_key(order_id: int, kind: DocumentKind) -> str:
    return f"wc-{int(order_id)}-{'vat' if kind == 'vat' else 'par'}"


def correction_key(order_id: int, refund_id: int) -> str:
    return f"wc-{int(order_id)}-kor-{int(refund_id)}"


def check_exemption(positions: Iterable[Position] | Iterable[CorrectionLine], reason: str | None) -> None:
    if any(p.tax == "zw" for p in positions) and not (reason or "").strip():
        raise PermanentError(
            "a position is VAT-exempt (zw) but no exemption reason is set: enter it in "
            "WooCommerce → Settings → BPM Bridge → Invoicing"
        )


def build_document(
    invoice_data: Mapping[str, Any],
    kind: DocumentKind,
    *,
    exemption_reason: str | None = None,
    now: datetime | None = None,
) -> Document:
    """``invoice_data`` is :func:`sidecar.privacy.for_invoice`'s output; raises PermanentError when it
    cannot be invoiced exactly."""
    facts = invoice_data["order"]
    raw_buyer = invoice_data["buyer"]
    order_id = int(facts["id"])
    b2b = bool(raw_buyer.get("nip"))
    if b2b:
        try:
            nip = nip_rules.validate(raw_buyer["nip"])
        except ValueError as exc:
            raise PermanentError(f"order {order_id}: {exc}; correct the NIP on the order") from None
        raw_buyer = {**raw_buyer, "nip": nip}
    if b2b and kind != "vat":
        kind = "vat"  # a buyer with a NIP always gets a VAT invoice
    currency = str(facts.get("currency") or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise PermanentError(f"order {order_id} has no valid currency ({facts.get('currency')!r})")
    positions = order_positions(facts)
    if not positions:
        raise PermanentError(f"order {order_id} has no items to invoice")
    check_exemption(positions, exemption_reason)
    total = cents(facts.get("total"), f"order {order_id} total")
    summed = sum((p.total_gross for p in positions), ZERO)
    if summed != total:
        raise PermanentError(
            f"order {order_id}: the positions add up to {summed} {currency} but the order total is {total} "
            f"{currency} (difference {total - summed}); the invoice was not issued — check the order's "
            "taxes and rounding settings (WooCommerce → Settings → Tax) and issue it by hand"
        )
    today = today_in_warsaw(now)
    paid_date = warsaw_date(facts.get("date_paid_gmt"))
    sell_date = (
        paid_date
        or warsaw_date(facts.get("date_completed_gmt"))
        or warsaw_date(facts.get("date_created_gmt"))
    )
    return Document(
        kind=kind,
        key=document_key(order_id, kind),
        order_id=order_id,
        order_number=str(facts.get("number") or order_id),
        currency=currency,
        issue_date=today,
        sell_date=min(sell_date or today, today),
        payment_type=payment_type(facts.get("payment_method")),
        paid=paid_date is not None or facts.get("status") == "completed",
        paid_date=min(paid_date or today, today)
        if (paid_date or facts.get("status") == "completed")
        else None,
        buyer=_buyer(raw_buyer, kind, b2b),
        positions=tuple(positions),
        total_gross=total,
        exemption_reason=(exemption_reason or "").strip() or None,
        coupons=tuple(str(c.get("code")) for c in facts.get("coupon_lines") or () if c.get("code")),
    )


# -- corrections ----------------------------------------------------------------------------------------


def _refunded_item_id(row: Mapping[str, Any]) -> int | None:
    for m in row.get("meta_data") or ():
        if m.get("key") == "_refunded_item_id" and str(m.get("value") or "").isdigit():
            return int(m["value"])
    return None


def _refund_amounts(
    refund: Mapping[str, Any], order_positions_by_id: Mapping[tuple[str, int], Position]
) -> dict:
    """``{(source, order line id): (quantity, net, gross)}`` refunded (positive numbers)."""
    amounts: dict[tuple[str, int], tuple[Decimal, Decimal, Decimal]] = {}
    for source, rows in (
        ("item", refund.get("line_items")),
        ("shipping", refund.get("shipping_lines")),
        ("fee", refund.get("fee_lines")),
    ):
        for row in rows or ():
            line_id = _refunded_item_id(row)
            what = f"refund {refund.get('id')} {source} {row.get('name') or row.get('method_title') or ''!r}"
            if line_id is None or (source, line_id) not in order_positions_by_id:
                raise PermanentError(f"{what} does not point to a line of the order (_refunded_item_id)")
            net = -cents(row.get("total"), what)
            gross = net - cents(row.get("total_tax"), what)
            quantity = -money(row.get("quantity"), what) if source == "item" else ZERO
            q0, n0, g0 = amounts.get((source, line_id), (ZERO, ZERO, ZERO))
            amounts[(source, line_id)] = (q0 + quantity, n0 + net, g0 + gross)
    return amounts


def build_correction(
    order_facts: Mapping[str, Any],
    refund: Mapping[str, Any],
    earlier_refunds: Sequence[Mapping[str, Any]],
    original: OriginalDocument,
    buyer_data: Mapping[str, str],
    *,
    exemption_reason: str | None = None,
    now: datetime | None = None,
) -> Correction:
    """A correction for exactly what ``refund`` gave back, relative to the order minus earlier refunds."""
    order_id = int(order_facts["id"])
    refund_id = int(refund["id"])
    positions = order_positions(order_facts)
    by_id = {(p.source, p.source_id): p for p in positions if p.source_id is not None}
    earlier: dict[tuple[str, int], tuple[Decimal, Decimal, Decimal]] = {}
    for previous in earlier_refunds:
        for k, (q, n, g) in _refund_amounts(previous, by_id).items():
            q0, n0, g0 = earlier.get(k, (ZERO, ZERO, ZERO))
            earlier[k] = (q0 + q, n0 + n, g0 + g)
    refunded = _refund_amounts(refund, by_id)
    amount = cents(refund.get("amount"), f"refund {refund_id} amount")
    lines: list[CorrectionLine] = []
    if refunded:
        for key, (q, n, g) in refunded.items():
            p = by_id[key]
            eq, en, eg = earlier.get(key, (ZERO, ZERO, ZERO))
            before_q = p.quantity - eq if p.source == "item" else Decimal(1)
            after_q = before_q - q if p.source == "item" else (Decimal(1) if g < p.total_gross - eg else ZERO)
            lines.append(
                CorrectionLine(
                    name=p.name,
                    tax=p.tax,
                    before_quantity=before_q,
                    before_gross=p.total_gross - eg,
                    before_net=p.total_net - en,
                    after_quantity=after_q,
                    after_gross=p.total_gross - eg - g,
                    after_net=p.total_net - en - n,
                )
            )
    else:
        # A refund of an amount without items: exact only when the whole order has one VAT rate.
        rates = {p.tax for p in positions}
        if len(rates) != 1:
            raise PermanentError(
                f"refund {refund_id} of {amount} names no items and the order mixes VAT rates "
                f"({', '.join(sorted(rates))}): refund by items in WooCommerce or correct the invoice by hand"
            )
        rate = rates.pop()
        gross_before = sum((p.total_gross for p in positions), ZERO) - sum(
            (g for _, _, g in earlier.values()), ZERO
        )
        net_before = sum((p.total_net for p in positions), ZERO) - sum(
            (n for _, n, _ in earlier.values()), ZERO
        )
        after_gross = gross_before - amount
        after_net = _net_of(after_gross, rate)
        lines.append(
            CorrectionLine(
                name=_name(refund.get("reason"), "Zwrot części należności"),
                tax=rate,
                before_quantity=Decimal(1),
                before_gross=gross_before,
                before_net=net_before,
                after_quantity=Decimal(1),
                after_gross=after_gross,
                after_net=after_net,
            )
        )
    total = sum((line.gross_diff for line in lines), ZERO)
    if total != -amount:
        raise PermanentError(
            f"refund {refund_id}: the refunded lines add up to {-total} but the refund amount is {amount}; "
            "the correction was not issued — correct the invoice by hand"
        )
    check_exemption(lines, exemption_reason)
    b2b = bool(buyer_data.get("nip"))
    return Correction(
        key=correction_key(order_id, refund_id),
        order_id=order_id,
        refund_id=refund_id,
        currency=str(order_facts.get("currency") or "PLN").upper(),
        issue_date=today_in_warsaw(now),
        reason=_name(refund.get("reason"), "Zwrot towaru")[:256],
        original=original,
        buyer=_buyer(buyer_data, "vat", b2b),
        lines=tuple(lines),
        total_gross=total,
        exemption_reason=(exemption_reason or "").strip() or None,
    )


def to_grosz(amount: Decimal) -> Decimal:
    """Half a grosz and more rounds up (art. 106e ust. 11 of the VAT act; WooCommerce's PHP round() too).

    ``quantize`` alone would round half to even and disagree with both on exact half grosze.
    """
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_of(net: Decimal, rate: str) -> Decimal:
    return to_grosz(net * Decimal(rate) / 100)


def _net_of(gross: Decimal, rate: str) -> Decimal:
    if rate in ("zw", "0"):
        return gross
    return to_grosz(gross / (1 + Decimal(rate) / 100))
