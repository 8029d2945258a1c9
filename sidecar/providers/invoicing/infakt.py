"""inFakt API v3 client (public API documentation: the infakt/API repository, readme.md and ksef.md).

- Host ``https://api.infakt.pl/api/v3``; header ``X-inFakt-ApiKey``; JSON bodies; money in integer grosze.
- Creating is asynchronous: ``POST /async/invoices.json`` answers 202 with an
  ``invoice_task_reference_number``; ``GET /async/invoices/status/{ref}.json`` moves through processing
  codes 100/120/140 to 201 (``invoice_uuid``) or 422 (``invoice_errors``).
- inFakt has no idempotency key. The job records an intent on the order before the create and hands
  over the task reference right after the 202 (``attempt.checkpoint``; recorded on the order when the
  run ends without the document); a retry resumes the recorded task instead of creating again. If
  the 202 was lost or the run was killed before the reference was recorded, the documents since the
  intent are listed and matched on the tag ``[wc-<order>-vat]`` we put in ``notes``; only when the
  intent is older than :data:`SETTLE_SECONDS` (every accepted task has finished by then) does "not
  found" mean "never created".
- A document is created as ``draft``; marking it paid is a separate asynchronous call
  (``POST /async/invoices/{uuid}/paid.json``). Every follow-up step is checked against the document's
  current state first, so a resumed run never repeats one.
- inFakt has no receipt (paragon) API: receipts come from the shop's cash register.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import requests

from sidecar.errors import PermanentError, TransientError
from sidecar.http import HttpClient, is_transient_status, retry_after_seconds
from sidecar.invoicing.document import Correction, Document
from sidecar.providers.invoicing.base import Attempt, InvoicingProvider, Issued, KsefState

DEFAULT_HOST = "https://api.infakt.pl"
API_PATH = "/api/v3"
SETTINGS_HINT = "WooCommerce → Settings → BPM Bridge → Invoicing"
SETTLE_SECONDS = 300
POLL_DELAYS = (0.2, 0.4, 0.8, 1.0, 1.5, 2.0, 2.0, 3.0, 3.0)  # ~14 s, well inside the per-order lock
_PROCESSING = (100, 120, 140)
_PAYMENT_METHODS = {
    "transfer": "transfer",
    "card": "card",
    "cash": "cash",
    "cash_on_delivery": "delivery",
    "cheque": "check",
    "paypal": "paypal",
    "payu": "payu",
    "przelewy24": "przelewy24",
    "tpay": "tpay",
    "dotpay": "dotpay",
}
_RESOURCES = {False: "invoices", True: "corrective_invoices"}


def grosze(value: Decimal) -> int:
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise PermanentError(f"{value} is not a whole number of grosze")
    return int(scaled)


def from_grosze(value: Any) -> Decimal:
    try:
        return Decimal(int(value or 0)) / 100
    except (TypeError, ValueError):
        return Decimal("0")


def error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:300] or f"HTTP {response.status_code}"
    return flatten(body)[:600] or f"HTTP {response.status_code}"


def flatten(value: Any) -> str:
    if isinstance(value, dict):
        parts = []
        for key, inner in value.items():
            text = flatten(inner)
            parts.append(
                text if key in ("error", "errors", "message", "invoice_errors") else f"{key}: {text}"
            )
        return "; ".join(p for p in parts if p)
    if isinstance(value, list):
        return ", ".join(flatten(v) for v in value)
    return "" if value is None else str(value)


def _tag(key: str) -> str:
    return f"[{key}]"


class InfaktProvider(InvoicingProvider):
    name = "infakt"
    label = "inFakt"
    supports_receipts = False

    def __init__(self, settings: Mapping[str, Any], http: HttpClient, **kwargs: Any) -> None:
        super().__init__(settings, http, **kwargs)
        self.key = str(settings.get("api_key") or "").strip()
        if not self.key:
            raise PermanentError(f"the inFakt API key is not set: enter it in {SETTINGS_HINT}")
        # base_url names the host (the sandbox simulator's, or a proxy); the API lives under /api/v3.
        host = str(settings.get("base_url") or DEFAULT_HOST).rstrip("/")
        self.base = host if host.endswith(API_PATH) else host + API_PATH
        self.correction_reason = str(settings.get("correction_reason") or "return_of_goods")
        self.poll_delays: tuple[float, ...] = tuple(settings.get("poll_delays") or POLL_DELAYS)

    # -- transport --------------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None
    ) -> requests.Response:
        headers = {"X-inFakt-ApiKey": self.key, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, f"{self.base}{path}", json=body, params=params, headers=headers)

    def _check(self, response: requests.Response, what: str) -> Any:
        status = response.status_code
        if status < 300:
            if status == 204 or not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                raise TransientError(f"inFakt answered {what} with something that is not JSON") from None
        text = error_text(response)
        if status in (401, 403):
            raise PermanentError(
                f"inFakt refused the API key (HTTP {status}: {text}) — check the key and its scopes "
                f"(api:invoices:read, api:invoices:write) in {SETTINGS_HINT}"
            )
        if is_transient_status(status):
            raise TransientError(
                f"inFakt is unavailable for {what} (HTTP {status})", retry_after_seconds(response)
            )
        if status == 402:
            raise PermanentError(f"inFakt refused {what}: the account's plan limit is exceeded ({text})")
        if status == 423:
            raise TransientError(f"inFakt has {what} locked ({text})", 60)
        if status == 404:
            raise PermanentError(f"inFakt: {what} not found (HTTP 404)")
        raise PermanentError(f"inFakt rejected {what} (HTTP {status}): {text}")

    # -- create / resume --------------------------------------------------------------------------
    def _await_task(self, ref: str, correction: bool, what: str) -> str | None:
        """The created document's uuid; ``None`` when inFakt does not know the task."""
        path = f"/async/{_RESOURCES[correction]}/status/{ref}.json"
        for delay in (0.0, *self.poll_delays):
            if delay:
                self.sleep(delay)
            response = self._request("GET", path)
            if response.status_code == 404:
                return None
            task = self._check(response, f"the status of {what}")
            code = int(task.get("processing_code") or 0)
            if code == 201 and task.get("invoice_uuid"):
                return str(task["invoice_uuid"])
            if code == 422:
                errors = (
                    flatten(task.get("invoice_errors")) or task.get("processing_description") or "no details"
                )
                raise PermanentError(f"inFakt could not create {what}: {errors}")
            if code not in _PROCESSING:
                raise TransientError(f"inFakt reports an unexpected state for {what}: {code}", 30)
        raise TransientError(f"inFakt is still processing {what} (task {ref}); checking again later", 30)

    def _find_tagged(self, key: str, since: date, correction: bool) -> str | None:
        """The uuid of the document whose notes carry our tag, issued on or after ``since``."""
        offset, tag = 0, _tag(key)
        while True:
            params = {
                "q[invoice_date_gteq]": since.isoformat(),
                "limit": 100,
                "offset": offset,
                "order": "invoice_date asc",
            }
            page = self._check(
                self._request("GET", f"/{_RESOURCES[correction]}.json", params=params), "the lookup"
            )
            entities = page.get("entities") or []
            for doc in entities:
                if tag in str(doc.get("notes") or ""):
                    return str(doc.get("uuid"))
            if len(entities) < 100:
                return None
            offset += 100

    def _create(
        self, payload: dict[str, Any], key: str, attempt: Attempt, correction: bool, what: str
    ) -> tuple[str, bool]:
        """(uuid, b2b?) of the document, created now or by an earlier attempt."""
        prior = attempt.prior
        if prior is not None:
            if prior.ref:
                uuid = self._await_task(prior.ref, correction, what)
                if uuid:
                    attempt.committed = True
                    return uuid, False
            since = date.fromtimestamp(prior.started or 0) - timedelta(days=1)
            uuid = self._find_tagged(key, since, correction)
            if uuid:
                attempt.committed = True
                return uuid, False
            if prior.age() < SETTLE_SECONDS:
                # An accepted task may still be queued: "not found" is not yet proof of "not created".
                raise TransientError(
                    f"an earlier attempt to create {what} is not confirmed yet; checking again shortly",
                    max(10.0, SETTLE_SECONDS - prior.age()),
                )
        attempt.ensure_lock()
        response = self._request("POST", f"/async/{_RESOURCES[correction]}.json", {"invoice": payload})
        if response.status_code in (429, 503):
            attempt.release()  # refused outright; a 500/502/504 or a timeout may hide an accepted task
        task = self._check(response, what)
        ref = str(task.get("invoice_task_reference_number") or "")
        if not ref:
            raise TransientError(f"inFakt accepted {what} without a task reference", 60)
        attempt.checkpoint(ref)
        uuid = self._await_task(ref, correction, what)
        if uuid is None:
            raise TransientError(f"inFakt lost track of task {ref} for {what}", 60)
        attempt.committed = True
        return uuid, True

    def issue(self, document: Document, attempt: Attempt) -> Issued:
        if document.kind == "receipt":
            raise PermanentError("inFakt cannot issue receipts through its API")
        what = f"the invoice for order {document.order_number}"
        uuid, _ = self._create(self.invoice_payload(document), document.key, attempt, False, what)
        return self._finish(
            uuid, correction=False, paid_date=document.paid_date if document.paid else None, b2b=document.b2b
        )

    def correct(self, correction: Correction, attempt: Attempt) -> Issued:
        what = f"the correction of {correction.original.number} for refund {correction.refund_id}"
        original = self._check(
            self._request("GET", f"/invoices/{correction.original.id}.json"),
            f"invoice {correction.original.number}",
        )
        payload = self.correction_payload(correction)
        # The correction must quote the corrected invoice exactly as inFakt holds it.
        payload["corrected_invoice_number"] = str(original.get("number") or correction.original.number)
        if original.get("invoice_date"):
            payload["corrected_invoice_date"] = original["invoice_date"]
        if original.get("sale_date"):
            payload["sale_date"] = original["sale_date"]
        uuid, _ = self._create(payload, correction.key, attempt, True, what)
        return self._finish(uuid, correction=True, paid_date=None, b2b=correction.buyer.company)

    def _finish(self, uuid: str, *, correction: bool, paid_date: date | None, b2b: bool) -> Issued:
        """Steps after the create, each skipped when the document already shows it done."""
        resource = _RESOURCES[correction]
        doc = self._check(self._request("GET", f"/{resource}/{uuid}.json"), f"document {uuid}")
        if paid_date and not correction and doc.get("status") != "paid" and not doc.get("paid_date"):
            body = {
                "paid_date": max(
                    paid_date, date.fromisoformat(doc.get("invoice_date") or paid_date.isoformat())
                ).isoformat()
            }
            self._check(
                self._request("POST", f"/async/{resource}/{uuid}/paid.json", body), f"marking {uuid} paid"
            )
        ksef = self._ksef_from(doc.get("ksef_data"))
        if b2b and doc.get("ksef_data") is None:
            ksef = self._send_to_ksef(uuid)
        response = self._request("GET", f"/{resource}/{uuid}/share_links.json")
        link = {} if response.status_code == 404 else self._check(response, "the share link")
        if not link.get("share_link"):
            link = self._check(
                self._request("POST", f"/{resource}/{uuid}/share_links.json", {}), "the share link"
            )
        return Issued(
            id=uuid,
            number=str(doc.get("number") or ""),
            url=str(link.get("share_link") or ""),
            total_gross=from_grosze(doc.get("gross_price")),
            currency=str(doc.get("currency") or "PLN"),
            ksef=ksef,
            issue_date=str(doc.get("invoice_date") or ""),
        )

    # -- KSeF -------------------------------------------------------------------------------------
    @staticmethod
    def _ksef_from(data: Any) -> KsefState:
        if not isinstance(data, dict):
            return KsefState("not_applicable")
        status = data.get("status")
        if status == "success":
            return KsefState("accepted", str(data.get("ksef_number") or ""))
        if status == "error":
            return KsefState("rejected", reason=str(data.get("status_description") or "no details"))
        return KsefState("pending")

    def _send_to_ksef(self, uuid: str) -> KsefState:
        response = self._request("POST", f"/ksef2/documents/{uuid}/send.json", {})
        if response.status_code == 422:
            # "Użytkownik nie jest zintegrowany z KSeF.": the account does not use KSeF (yet).
            return KsefState("not_applicable")
        return self._ksef_from(self._check(response, f"the KSeF send of {uuid}"))

    def ksef_state(self, document_id: str, *, correction: bool = False) -> KsefState:
        response = self._request("GET", f"/ksef2/documents/{document_id}/status.json")
        if response.status_code == 404:
            return KsefState("not_applicable")
        return self._ksef_from(self._check(response, f"the KSeF status of {document_id}"))

    def send_email(self, document_id: str, email: str, *, correction: bool = False) -> None:
        body = {"print_type": "original", "locale": "pl", "recipient": email, "send_copy": False}
        path = f"/{_RESOURCES[correction]}/{document_id}/deliver_via_email.json"
        self._check(self._request("POST", path, body), f"the e-mail of {document_id}")

    # -- mapping ----------------------------------------------------------------------------------
    def _client(self, document: Document | Correction) -> dict[str, Any]:
        b = document.buyer
        client: dict[str, Any] = {
            "client_company_name": b.name,
            "client_street": b.street,
            "client_city": b.city,
            "client_post_code": b.post_code,
            "client_country": b.country,
            "client_business_activity_kind": "other_business" if b.company else "private_person",
        }
        if b.company:
            client["client_tax_code"] = b.nip
        else:
            client["client_first_name"] = b.first_name
            client["client_last_name"] = b.last_name
        return client

    def _exemption(self, needed: bool, reason: str | None) -> dict[str, Any]:
        if not needed:
            return {}
        configured = self.settings.get("vat_exemption_id")
        if configured not in (None, ""):
            return {"vat_exemption_reason": int(configured)}
        listing = self._check(
            self._request("GET", "/vat_exemptions.json"), "the list of VAT exemption reasons"
        )
        rows = listing.get("entities") if isinstance(listing, dict) else listing
        wanted = _squash(reason or "")
        for row in rows or ():
            texts = " ".join(str(v) for k, v in row.items() if k != "id" and isinstance(v, str))
            if wanted and wanted in _squash(texts):
                return {"vat_exemption_reason": int(row["id"])}
        raise PermanentError(
            f"inFakt has no VAT exemption reason matching {reason!r}: "
            f"enter inFakt's exemption id in {SETTINGS_HINT}"
        )

    def invoice_payload(self, document: Document) -> dict[str, Any]:
        return {
            "currency": document.currency,
            "payment_method": _PAYMENT_METHODS.get(document.payment_type, "other"),
            "invoice_date": document.issue_date.isoformat(),
            "sale_date": document.sell_date.isoformat(),
            "payment_date": document.issue_date.isoformat(),
            "notes": f"Zamówienie nr {document.order_number} {_tag(document.key)}",
            "transaction_terms": {
                "orders": [{"number": document.order_number, "date": document.sell_date.isoformat()}]
            },
            "services": [
                {
                    "name": p.name,
                    "tax_symbol": p.tax,
                    "quantity": float(p.quantity)
                    if p.quantity != p.quantity.to_integral_value()
                    else int(p.quantity),
                    "unit": "szt.",
                    # gross_price without unit_net_price: inFakt derives net from the gross we charged.
                    "gross_price": grosze(p.total_gross),
                }
                for p in document.positions
            ],
            **self._client(document),
            **self._exemption(any(p.tax == "zw" for p in document.positions), document.exemption_reason),
        }

    def correction_payload(self, correction: Correction) -> dict[str, Any]:
        services = []
        for group, line in enumerate(correction.lines, start=1):
            for is_after, quantity, gross in (
                (False, line.before_quantity, line.before_gross),
                (True, line.after_quantity, line.after_gross),
            ):
                services.append(
                    {
                        "group": group,
                        "correction": is_after,
                        "name": line.name,
                        "tax_symbol": line.tax,
                        "quantity": int(quantity)
                        if quantity == quantity.to_integral_value()
                        else float(quantity),
                        "unit": "szt.",
                        "gross_price": grosze(gross),
                    }
                )
        payload: dict[str, Any] = {
            "currency": correction.currency,
            "invoice_date": correction.issue_date.isoformat(),
            "corrected_invoice_uuid": correction.original.id,
            "corrected_invoice_number": correction.original.number,
            "correction_reason": self.correction_reason,
            "notes": f"{correction.reason} {_tag(correction.key)}",
            "services": services,
            **self._client(correction),
            **self._exemption(any(x.tax == "zw" for x in correction.lines), correction.exemption_reason),
        }
        return payload


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-ząćęłńóśźż]+", "", text.lower())
