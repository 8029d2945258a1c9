"""A webhook destination (n8n, Zapier, Make or anything that takes an HTTPS POST): one signed JSON message
per change of an order, documented field by field in docs/contract.md ("CRM webhook messages").

- The body is built only from the :class:`Contact` and :class:`Deal` the job made with
  :func:`sidecar.privacy.for_crm`, key by key (:func:`order_message`): nothing else about the order can
  reach it.
- It is signed with Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) using
  the webhook's own secret (``config.crm.webhook.secret``), never the shop's event secret.
- ``webhook-id`` is stable for one message: a digest of the order, the body and the id of the message sent
  before it (``Known.deal_id``). A retry of the same send carries the same id, so a receiver that remembers
  ids drops the copy; a later change back to an earlier state still gets a new id.
- 2xx is done; 408, 425, 429, 5xx, timeouts and cut connections are retried by the job framework (after
  ``Retry-After`` when given); a redirect or another 4xx is permanent, with the status in the message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sidecar.errors import PermanentError, TransientError
from sidecar.http import HttpClient, retry_after_seconds
from sidecar.providers.crm.base import Contact, Deal, Known, Pipeline, Synced, fingerprint
from sidecar.signing import secret_key, signature_headers

VERSION = 1
SETTINGS_PATH = "WooCommerce → Settings → BPM Bridge → CRM"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
RETRIED = (408, 425, 429)


def email_hash(email: str) -> str:
    """The plugin's ``email_hash``: SHA-256 of the trimmed, lower-case address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def customer(contact: Contact) -> dict[str, Any]:
    return {
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "company": contact.company,
        "nip": contact.nip,
        "marketing_consent": contact.marketing,
        "consent_version": contact.consent_version or None,
        "consent_at": contact.consent_at,
    }


def order_message(contact: Contact, deal: Deal) -> dict[str, Any]:
    """``order.synced`` version 1 (docs/contract.md): money as decimal strings, dates ISO-8601 UTC."""
    return {
        "type": "order.synced",
        "version": VERSION,
        "order": {
            "id": deal.order_id,
            "number": deal.number,
            "status": deal.status,
            "stage": deal.stage,
            "total": str(deal.amount),
            "currency": deal.currency,
            "created_at": deal.created_at,
            "closed_at": deal.close_date,
            "invoice_number": deal.invoice_number,
            "invoice_url": deal.invoice_url,
            "return_state": deal.return_state,
            "items": [
                {"name": i.name, "quantity": i.quantity, "unit_price": str(i.unit_price), "sku": i.sku}
                for i in deal.line_items
            ],
        },
        "customer": customer(contact),
    }


def contact_message(contact: Contact) -> dict[str, Any]:
    return {"type": "contact.synced", "version": VERSION, "customer": customer(contact)}


def erased_message(email: str) -> dict[str, Any]:
    return {"type": "customer.erased", "version": VERSION, "customer": {"email_hash": email_hash(email)}}


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def message_id(*parts: str) -> str:
    return "msg_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class WebhookProvider:
    name: ClassVar[str] = "webhook"
    label: ClassVar[str] = "Webhook"

    def __init__(self, settings: Mapping[str, Any], http: HttpClient, *, limiter: Any = None) -> None:
        block = settings.get("webhook") or {}
        self.url = str(block.get("url") or "").strip()
        self.secret = str(block.get("secret") or "").strip()
        self.http = http
        parts = urlsplit(self.url)
        if not parts.netloc:
            raise PermanentError(
                f"the CRM webhook has no URL: enter the flow's webhook address in {SETTINGS_PATH}"
            )
        if parts.scheme != "https" and (parts.scheme != "http" or parts.hostname not in LOOPBACK):
            # The body carries names and e-mail addresses; plain http only to this machine itself.
            raise PermanentError(f"the CRM webhook URL must start with https:// ({SETTINGS_PATH})")
        try:
            secret_key(self.secret)
        except ValueError as exc:
            raise PermanentError(
                f"the CRM webhook secret is not usable ({exc}): generate a new one in {SETTINGS_PATH} and "
                "enter the same secret in the receiving flow"
            ) from None

    @staticmethod
    def account(settings: Mapping[str, Any]) -> str:
        """The flow (its URL): another flow gets every order again."""
        return fingerprint("url", str((settings.get("webhook") or {}).get("url") or ""))

    # -- the interface ------------------------------------------------------------------------------
    def sync_order(self, contact: Contact, deal: Deal, known: Known) -> Synced:
        body = encode(order_message(contact, deal))
        msg_id = message_id("order", str(deal.order_id), hashlib.sha256(body).hexdigest(), known.deal_id)
        self._send(body, msg_id, f"order {deal.number}")
        return Synced("", msg_id, "", deal.stage)

    def sync_contact(self, contact: Contact, known: Known) -> str:
        body = encode(contact_message(contact))
        # The ids of the messages before it make a withdrawal after a re-consent a new message, not a copy.
        previous = (known.contact_id, known.deal_id)
        msg_id = message_id("contact", email_hash(contact.email), hashlib.sha256(body).hexdigest(), *previous)
        self._send(body, msg_id, "the customer's consent")
        return msg_id

    def erase(self, email: str) -> str:
        msg_id = message_id("erase", email_hash(email))
        self._send(encode(erased_message(email)), msg_id, "the erasure notice")
        return (
            f"The webhook flow was told to erase the customer (customer.erased, message {msg_id}); it got "
            "only the e-mail address's hash, so the flow must delete the person wherever it copied them."
        )

    def pipelines(self) -> tuple[Pipeline, ...]:
        return ()  # a flow has no pipelines: the stage map's values are passed on as written

    # -- sending -------------------------------------------------------------------------------------
    def _send(self, body: bytes, msg_id: str, what: str) -> None:
        headers = signature_headers([self.secret], body, msg_id=msg_id)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "BPM-Bridge-Webhook/1"
        response = self.http.request("POST", self.url, data=body, headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            return
        host = urlsplit(self.url).netloc
        if status in RETRIED or status >= 500:
            raise TransientError(
                f"the CRM webhook at {host} answered HTTP {status} to {what}; it is sent again later",
                retry_after_seconds(response),
            )
        if 300 <= status < 400:
            where = response.headers.get("Location", "another address")
            raise PermanentError(
                f"the CRM webhook at {host} redirects (HTTP {status}) to {where}: enter the final URL in "
                f"{SETTINGS_PATH}"
            )
        raise PermanentError(
            f"the CRM webhook at {host} refused {what} with HTTP {status}: check the flow (is it active, "
            "does it use the same secret?) and retry"
        )
