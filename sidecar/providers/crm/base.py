"""The interface every CRM destination implements. A new CRM is one new file with a class that satisfies
:class:`CrmProvider` and one line in :data:`sidecar.providers.crm.PROVIDERS`.

The job (:mod:`sidecar.jobs.crm`) owns the order's state and decides *what* may be sent (through
:func:`sidecar.privacy.for_crm`); a provider only turns a :class:`Contact` and a :class:`Deal` into records
in its system. The one duty a provider cannot delegate is **no duplicates**: a retry, a replay or two
workers must end with one contact per e-mail and one deal per order (upsert by a unique key, or a lookup by
the ids in :class:`Known` before any create).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class Contact:
    email: str
    first_name: str
    last_name: str
    company: str  # B2B buyers only, else ""
    nip: str  # Polish tax id for B2B buyers, else ""
    marketing: bool  # recorded marketing consent; False → transactional properties only
    consent_version: str  # "" without consent
    consent_at: str | None  # ISO-8601 UTC, None without consent


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: int
    unit_price: Decimal  # gross, in the order's currency
    sku: str


@dataclass(frozen=True)
class Deal:
    order_id: int
    number: str  # the order number a shop admin sees ("1234")
    name: str  # "Order #1234"
    amount: Decimal
    currency: str
    status: str  # WooCommerce status slug without "wc-"
    stage: str  # the CRM's stage id ("" → the provider keeps the deal's stage / the pipeline's first)
    pipeline: str
    close_date: str | None  # ISO-8601 UTC (date paid or completed)
    created_at: str | None
    invoice_number: str
    invoice_url: str
    return_state: str  # latest RMA state, "" when there is no return
    line_items: tuple[LineItem, ...]  # empty when config.crm.line_items is off


@dataclass(frozen=True)
class Known:
    """Ids stored on the order by an earlier sync (``_bpm_crm_contact_id``, ``_bpm_crm_id``)."""

    contact_id: str = ""
    deal_id: str = ""


@dataclass(frozen=True)
class Synced:
    contact_id: str
    deal_id: str
    url: str  # a link a shop admin can open to the deal, "" when the CRM has none
    stage: str  # the stage the deal is in after the sync
    # The contact did not exist before this sync: an erasure that ran meanwhile may have missed it, so the
    # job looks once more whether the buyer was erased (crm.sync_order).
    created: bool = False


@dataclass(frozen=True)
class Stage:
    id: str
    label: str


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]


class CrmProvider(Protocol):
    name: ClassVar[str]
    label: ClassVar[str]  # as a shop admin knows it: "HubSpot"

    def sync_order(self, contact: Contact, deal: Deal, known: Known) -> Synced:
        """Upsert the contact and the order's deal, associate them; never a second deal for one order."""
        ...

    def sync_contact(self, contact: Contact, known: Known) -> str:
        """Upsert the contact alone (consent changes); returns the contact id."""
        ...

    def erase(self, email: str) -> str:
        """Delete the person (and keep them from being re-imported where the CRM can); a plain-words
        outcome. Raises TransientError / PermanentError."""
        ...

    def pipelines(self) -> tuple[Pipeline, ...]:
        """The CRM's deal pipelines and their stages, for the settings' stage mapping."""
        ...

    @staticmethod
    def account(settings: Mapping[str, Any]) -> str:
        """Which account of this CRM the settings (``config["crm"]``) point at, never a secret: ids
        stored on an order are used only while it stays the same (see sidecar/jobs/crm.py)."""
        ...


def fingerprint(*parts: str) -> str:
    """A short digest naming an account without revealing what it was made from (a token)."""
    return hashlib.sha256("|".join(p.strip().lower() for p in parts).encode()).hexdigest()[:12]
