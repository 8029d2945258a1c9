"""Fakturownia client (public API documentation: the fakturownia/API repository, README and KSeF.md).

- Host ``https://{domain}.fakturownia.pl``; JSON resources with a ``.json`` suffix.
- Authentication: ``api_token`` as a query parameter on GETs and as a sibling of the resource in
  POST bodies — the two forms the README documents for every endpoint.
- No duplicates: each document carries its own ``oid`` (``wc-<order>-vat``, ``wc-<order>-kor-<refund>``)
  with ``oid_unique: "yes"``, so Fakturownia itself refuses a second one; and when an earlier attempt
  may have committed we look the oid up first (``GET /invoices.json?oid=…&period=all``, matched exactly
  on our side because the filter's exactness is undocumented).
- Money: strings with a dot in responses; we send gross totals as strings and let Fakturownia derive
  net and VAT per position (``calculating_strategy`` ``keep_gross``), then compare its total with ours.
- Errors: 401/403 token, 404, 422 ``{"code": "error", "message": {field: [messages]}}``; the shape is
  inconsistent across endpoints, so :func:`error_text` reads ``message``, ``error`` and ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import requests

from sidecar.errors import PermanentError, TransientError
from sidecar.http import HttpClient, is_transient_status, retry_after_seconds
from sidecar.invoicing.document import Correction, Document, Position
from sidecar.providers.invoicing.base import Attempt, InvoicingProvider, Issued, KsefState

SETTINGS_HINT = "WooCommerce → Settings → BPM Bridge → Invoicing"
_PAYMENT_TYPES = {
    "transfer": "transfer",
    "card": "card",
    "cash": "cash",
    "cash_on_delivery": "cash_on_delivery",
    "cheque": "cheque",
    "paypal": "paypal",
    "payu": "payu",
    "przelewy24": "Przelewy24",  # free text is allowed for gateways without an enum value
    "tpay": "Tpay",
    "dotpay": "Dotpay",
}
_ACCEPTED = ("ok", "demo_ok")
_PENDING = ("processing", "demo_processing")
_RETRIGGER = ("server_error", "demo_server_error")  # "Fakturownia nie ponawia wysyłki": we must ask again
_NOT_APPLICABLE = (None, "", "not_applicable", "demo_not_applicable", "not_connected", "demo_not_connected")


def error_text(response: requests.Response) -> str:
    """The provider's own words, flattened to one line: ``field: message; …``."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:300]
    if not isinstance(body, dict):
        return str(body)[:300]
    parts: list[str] = []
    for key in ("message", "error", "errors"):
        value = body.get(key)
        if isinstance(value, dict):
            for field, messages in value.items():
                text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
                parts.append(f"{field} {text}".strip())
        elif isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(str(value))
    return "; ".join(parts)[:600] or f"HTTP {response.status_code}"


def amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else "0").replace(",", "."))
    except InvalidOperation:
        return Decimal("0")


class FakturowniaProvider(InvoicingProvider):
    name = "fakturownia"
    label = "Fakturownia"

    def __init__(self, settings: Mapping[str, Any], http: HttpClient, **kwargs: Any) -> None:
        super().__init__(settings, http, **kwargs)
        self.token = str(settings.get("api_token") or "").strip()
        if not self.token:
            raise PermanentError(f"the Fakturownia API token is not set: enter it in {SETTINGS_HINT}")
        domain = str(settings.get("domain") or "").strip()
        if not domain and "/" in self.token:
            domain = self.token.rsplit("/", 1)[1]  # tokens issued "with prefix" end in /<domain>
        base = str(settings.get("base_url") or "").rstrip("/")
        if not base:
            if not domain:
                raise PermanentError(
                    f"the Fakturownia account domain is not set: enter it in {SETTINGS_HINT}"
                )
            base = f"https://{domain}.fakturownia.pl"
        self.base = base
        self.department_id = settings.get("department_id")

    # -- transport --------------------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        query = {**(params or {}), "api_token": self.token}
        return self.http.request(
            "GET", f"{self.base}{path}", params=query, headers={"Accept": "application/json"}
        )

    def _post(
        self, path: str, body: dict[str, Any], params: dict[str, Any] | None = None
    ) -> requests.Response:
        return self.http.request(
            "POST",
            f"{self.base}{path}",
            params=params,
            json={"api_token": self.token, **body},
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )

    def _check(self, response: requests.Response, what: str) -> Any:
        status = response.status_code
        if status < 300:
            try:
                return response.json()
            except ValueError:
                raise TransientError(f"Fakturownia answered {what} with something that is not JSON") from None
        text = error_text(response)
        if status in (401, 403):
            raise PermanentError(
                f"Fakturownia refused the API token (HTTP {status}: {text}) — check the token and "
                f"the account domain in {SETTINGS_HINT}"
            )
        if is_transient_status(status):
            raise TransientError(
                f"Fakturownia is unavailable for {what} (HTTP {status})", retry_after_seconds(response)
            )
        if status == 422 and "Brak konta" in text:
            raise PermanentError(
                f"Fakturownia does not know the account domain ({text}) — check it in {SETTINGS_HINT}"
            )
        if status == 404:
            raise PermanentError(f"Fakturownia: {what} not found (HTTP 404)")
        raise PermanentError(f"Fakturownia rejected {what} (HTTP {status}): {text}")

    # -- documents --------------------------------------------------------------------------------
    def find_by_oid(self, oid: str, kind: str) -> dict[str, Any] | None:
        """The document with exactly this oid (the oldest if, despite everything, there are several)."""
        params = {"oid": oid, "period": "all", "kind": kind, "per_page": 100, "page": 1}
        found = self._check(self._get("/invoices.json", params), f"the lookup of {oid}")
        matches = [d for d in found or () if isinstance(d, dict) and d.get("oid") == oid]
        return min(matches, key=lambda d: int(d.get("id") or 0)) if matches else None

    def _create(self, invoice: dict[str, Any], oid: str, attempt: Attempt, what: str) -> Issued:
        existing = self.find_by_oid(oid, invoice["kind"]) if attempt.prior is not None else None
        if existing is None:
            attempt.ensure_lock()
            response = self._post("/invoices.json", {"invoice": invoice})
            if response.status_code == 422 and '"oid"' in response.text:
                # oid_unique refused: the document exists (a parallel or an unrecorded earlier create).
                existing = self.find_by_oid(oid, invoice["kind"])
            if existing is None:
                existing = self._check(response, what)
        attempt.committed = True
        return self._issued(existing)

    def issue(self, document: Document, attempt: Attempt) -> Issued:
        what = (
            f"the {'receipt' if document.kind == 'receipt' else 'invoice'} for order {document.order_number}"
        )
        return self._create(self.invoice_payload(document), document.key, attempt, what)

    def correct(self, correction: Correction, attempt: Attempt) -> Issued:
        what = f"the correction of {correction.original.number} for refund {correction.refund_id}"
        return self._create(self.correction_payload(correction), correction.key, attempt, what)

    def ksef_state(self, document_id: str, *, correction: bool = False) -> KsefState:
        data = self._check(self._get(f"/invoices/{int(document_id)}.json"), f"document {document_id}")
        state = self.ksef_of(data)
        if data.get("gov_status") in _RETRIGGER:
            params = {"send_to_ksef": "yes"}
            self._check(
                self._get(f"/invoices/{int(document_id)}.json", params), f"the KSeF send of {document_id}"
            )
        return state

    def send_email(self, document_id: str, email: str, *, correction: bool = False) -> None:
        params = {"api_token": self.token, "email_to": email, "email_pdf": "true"}
        response = self.http.request(
            "POST",
            f"{self.base}/invoices/{int(document_id)}/send_by_email.json",
            params=params,
            headers={"Accept": "application/json"},
        )
        body = self._check(response, f"the e-mail of document {document_id}")
        # KSeF accounts answer 200 with status "error" (e.g. no KSeF number yet): read the body.
        if isinstance(body, dict) and body.get("status") == "error":
            raise PermanentError(
                f"Fakturownia did not send the e-mail: {body.get('message') or 'no reason given'}"
            )

    # -- mapping ----------------------------------------------------------------------------------
    def _buyer(self, document: Document | Correction) -> dict[str, Any]:
        b = document.buyer
        fields: dict[str, Any] = {
            "buyer_company": b.company,
            "buyer_name": b.name,
            "buyer_street": b.street,
            "buyer_post_code": b.post_code,
            "buyer_city": b.city,
            "buyer_country": b.country,
        }
        if b.company:
            fields["buyer_tax_no"] = b.nip
        else:
            fields["buyer_first_name"] = b.first_name or b.name
            fields["buyer_last_name"] = b.last_name or "-"
        if b.email:
            fields["buyer_email"] = b.email
        return fields

    def _common(self, currency: str, exemption_reason: str | None, has_zw: bool) -> dict[str, Any]:
        common: dict[str, Any] = {
            "currency": currency,
            "lang": "pl",
            # WooCommerce charged gross amounts: keep them, let Fakturownia derive net and VAT.
            "calculating_strategy": {
                "position": "keep_gross",
                "sum": "keep_gross",
                "invoice_form_price_kind": "gross",
            },
        }
        if currency != "PLN":
            common.update({"exchange_currency": "PLN", "exchange_kind": "nbp"})
        if has_zw and exemption_reason:
            common["exempt_tax_kind"] = exemption_reason
        if self.department_id:
            common["department_id"] = self.department_id
        return common

    @staticmethod
    def _position(p: Position) -> dict[str, Any]:
        return {
            "name": p.name,
            "quantity": str(p.quantity.normalize()),
            "quantity_unit": "szt.",
            "total_price_gross": str(p.total_gross),
            "tax": p.tax,
        }

    def invoice_payload(self, document: Document) -> dict[str, Any]:
        invoice: dict[str, Any] = {
            "kind": document.kind,
            "number": None,
            "issue_date": document.issue_date.isoformat(),
            "sell_date": document.sell_date.isoformat(),
            "payment_to_kind": "other_date",
            "payment_to": document.issue_date.isoformat(),
            "payment_type": _PAYMENT_TYPES.get(document.payment_type, document.payment_type),
            "oid": document.key,
            "oid_unique": "yes",
            "description": _description(document),
            "positions": [self._position(p) for p in document.positions],
            **self._buyer(document),
            **self._common(
                document.currency, document.exemption_reason, any(p.tax == "zw" for p in document.positions)
            ),
        }
        if document.paid:
            invoice.update({"status": "paid", "paid": str(document.total_gross)})
            if document.paid_date:
                invoice["paid_date"] = document.paid_date.isoformat()
        return invoice

    def correction_payload(self, correction: Correction) -> dict[str, Any]:
        positions = []
        for line in correction.lines:
            before = {
                "name": line.name,
                "quantity": str(line.before_quantity.normalize()),
                "total_price_gross": str(line.before_gross),
                "tax": line.tax,
                "kind": "correction_before",
            }
            after = {
                **before,
                "quantity": str(line.after_quantity.normalize()),
                "total_price_gross": str(line.after_gross),
            }
            after["kind"] = "correction_after"
            positions.append(
                {
                    "name": line.name,
                    "quantity": str(line.quantity_diff.normalize()),
                    "total_price_gross": str(line.gross_diff),
                    "tax": line.tax,
                    "kind": "correction",
                    "correction_before_attributes": before,
                    "correction_after_attributes": after,
                }
            )
        invoice: dict[str, Any] = {
            "kind": "correction",
            "correction_reason": correction.reason,
            "invoice_id": correction.original.id,
            "from_invoice_id": correction.original.id,
            "issue_date": correction.issue_date.isoformat(),
            "oid": correction.key,
            "oid_unique": "yes",
            "positions": positions,
            **self._buyer(correction),
            **self._common(
                correction.currency, correction.exemption_reason, any(x.tax == "zw" for x in correction.lines)
            ),
        }
        if correction.original.ksef_number:
            invoice["gov_corrected_invoice_number"] = correction.original.ksef_number
        return invoice

    def ksef_of(self, data: dict[str, Any]) -> KsefState:
        status = data.get("gov_status")
        if status in _ACCEPTED:
            return KsefState("accepted", str(data.get("gov_id") or ""))
        if status in _PENDING or status in _RETRIGGER:
            return KsefState("pending")
        if status in _NOT_APPLICABLE:
            return KsefState("not_applicable")
        if "error" in str(status):
            messages = data.get("gov_error_messages")
            reason = "; ".join(map(str, messages)) if isinstance(messages, list) else str(messages or status)
            return KsefState("rejected", reason=reason)
        return KsefState("pending")  # an undocumented state (offline modes, …): keep following it

    def _issued(self, data: dict[str, Any]) -> Issued:
        token = str(data.get("token") or "")
        url = f"{self.base}/invoice/{quote(token)}.pdf" if token else str(data.get("view_url") or "")
        return Issued(
            id=str(data["id"]),
            number=str(data.get("number") or ""),
            url=url,
            total_gross=amount(data.get("price_gross")),
            currency=str(data.get("currency") or "PLN"),
            ksef=self.ksef_of(data),
            issue_date=str(data.get("issue_date") or ""),
        )


def _description(document: Document) -> str:
    text = f"Zamówienie nr {document.order_number}"
    if document.coupons:
        text += f"; rabat (kupony: {', '.join(document.coupons)}) uwzględniony w cenach pozycji"
    return text
