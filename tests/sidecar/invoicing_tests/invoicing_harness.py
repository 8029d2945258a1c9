"""Invoicing test harness: the real WooCommerce simulator, a real StoreClient and every provider
simulator, each served on a free port in a thread. Nothing is mocked: every call crosses HTTP.

Each provider has one :class:`ProviderAdapter` here (listed in ``ADAPTERS``): how to start its
simulator and configure the shop for it, and how to read the documents it holds as a
:class:`DocumentView`. The tests are parametrized over ``ADAPTERS`` and never ask which provider they
run against; where a provider's contract differs (receipts, refusing a copy), the adapter declares a
capability and the test selects the adapters that have it (:func:`having`).

This directory is a package (``__init__.py``) so that pytest imports its ``conftest`` as
``invoicing_tests.conftest`` and never shadows ``tests/conftest.py`` (``from conftest import …``); it is
not called ``invoicing`` because under pytest's default import mode that would shadow the
``sidecar.invoicing`` package.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

from sandbox_client import InfaktSandbox, InvoicingSandbox, WooSandbox

from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.jobs import invoice as invoice_jobs
from sidecar.jobs.base import JobContext, Outcome
from sidecar.sandbox import ServedApp, load_factory
from sidecar.sandbox.infakt.rules import VAT_EXEMPTIONS
from sidecar.store import StoreClient

PASSWORD = "abcd efgh ijkl mnop qrst uvwx"
FAKTUROWNIA_TOKEN = "test-token-123"
INFAKT_KEY = "test-infakt-key"
VALID_NIP = "5252445767"
ACTIONS = {
    "invoice.issue": invoice_jobs.issue,
    "invoice.correct": invoice_jobs.correct,
    "invoice.ksef": invoice_jobs.ksef,
}


class LineChange(NamedTuple):
    """One line of a correction: quantity and gross before and after it."""

    before_qty: Decimal
    before_gross: Decimal
    after_qty: Decimal
    after_gross: Decimal


@dataclass(frozen=True)
class DocumentView:
    """A provider's document in the terms the tests assert on (money in złoty, rates as the shop's)."""

    id: str  # what the sidecar stores in ``_bpm_invoice_id``
    number: str
    kind: str  # "vat" | "receipt" | "correction"
    key: str  # the sidecar's idempotency key the document carries, e.g. "wc-12-vat"
    total: Decimal  # gross; a correction's is the change it makes (negative for a refund)
    currency: str
    status: str
    buyer_name: str
    buyer_first_name: str
    buyer_nip: str
    company: bool
    rates: tuple[str, ...]  # sorted
    exemption: str  # the VAT exemption's legal basis as text ("" when none)
    emails: tuple[str, ...]  # recipients it was e-mailed to
    corrects: str  # a correction: the id of the corrected document ("" otherwise)
    changes: tuple[LineChange, ...]  # a correction: each corrected line, in order
    raw: Mapping[str, Any]


class ProviderAdapter:
    """What the invoicing tests need to know about one provider and its simulator."""

    name: ClassVar[str]
    sandbox_class: ClassVar[type[InvoicingSandbox]] = InvoicingSandbox
    simulator_args: ClassVar[dict[str, Any]]  # create_app(**…): the simulator's credentials
    create_route: ClassVar[str]  # "METHOD /path" prefix of the call that creates an invoice
    correct_route: ClassVar[str]  # … and of the one that creates a correction
    issues_receipts: ClassVar[bool]
    refuses_copies: ClassVar[bool]  # the create call itself refuses a second document for a key
    ksef_rejects: ClassVar[dict[str, Any]]  # sandbox KSeF settings under which KSeF rejects documents
    ksef_disconnected: ClassVar[dict[str, Any]]  # … under which the account is not connected to KSeF
    refused_order: ClassVar[tuple[dict[str, Any], str]]  # an order spec the provider refuses + a word of why

    def settings(self, url: str) -> dict[str, Any]:
        """The provider's section of the plugin's invoicing settings, pointing at ``url``."""
        raise NotImplementedError

    def wrong_credentials(self) -> dict[str, Any]:
        raise NotImplementedError

    def prepare(self, sandbox: InvoicingSandbox) -> None:
        """After a reset: the simulator's timing for fast tests."""

    def view(self, doc: Mapping[str, Any]) -> DocumentView:
        raise NotImplementedError


class Fakturownia(ProviderAdapter):
    name = "fakturownia"
    simulator_args: ClassVar[dict[str, Any]] = {"token": FAKTUROWNIA_TOKEN}
    create_route = "POST /invoices.json"
    correct_route = "POST /invoices.json"
    issues_receipts = True
    refuses_copies = True  # oid_unique
    ksef_rejects: ClassVar[dict[str, Any]] = {"outcome": "send_error"}
    ksef_disconnected: ClassVar[dict[str, Any]] = {"mode": "off"}
    # Fakturownia accepts a free-form country; a missing buyer name is what it refuses.
    refused_order = ({"billing": {"first_name": "", "last_name": "", "company": ""}}, "buyer")

    def settings(self, url: str) -> dict[str, Any]:
        return {"fakturownia": {"domain": "sandbox", "api_token": FAKTUROWNIA_TOKEN, "base_url": url}}

    def wrong_credentials(self) -> dict[str, Any]:
        return {"fakturownia": {"api_token": "wrong"}}

    def view(self, doc: Mapping[str, Any]) -> DocumentView:
        positions = doc["positions"]
        return DocumentView(
            id=str(doc["id"]),
            number=doc["number"],
            kind=doc["kind"],
            key=str(doc.get("oid") or ""),
            total=Decimal(doc["price_gross"]),
            currency=doc["currency"],
            status=doc["status"],
            buyer_name=doc["buyer_name"] or "",
            buyer_first_name=doc.get("buyer_first_name") or "",
            buyer_nip=doc.get("buyer_tax_no") or "",
            company=doc["buyer_company"],
            rates=tuple(sorted(p["tax"] for p in positions)),
            exemption=doc.get("exempt_tax_kind") or "",
            emails=tuple(e["to"] for e in doc.get("emails", ())),
            corrects=str(doc.get("invoice_id") or ""),
            changes=tuple(
                LineChange(
                    *(
                        Decimal(p[side][field])
                        for side in ("correction_before_attributes", "correction_after_attributes")
                        for field in ("quantity", "total_price_gross")
                    )
                )
                for p in positions
                if p.get("correction_before_attributes")
            ),
            raw=doc,
        )


class Infakt(ProviderAdapter):
    name = "infakt"
    sandbox_class = InfaktSandbox
    simulator_args: ClassVar[dict[str, Any]] = {"api_key": INFAKT_KEY}
    create_route = "POST /api/v3/async/invoices.json"
    correct_route = "POST /api/v3/async/corrective_invoices.json"
    issues_receipts = False  # inFakt has no receipt API
    refuses_copies = False  # no idempotency key at all
    ksef_rejects: ClassVar[dict[str, Any]] = {"outcome": "error"}
    ksef_disconnected: ClassVar[dict[str, Any]] = {"active": False}
    refused_order = ({"billing": {"country": "Polska"}}, "client_country")  # not an ISO 3166 code
    EXEMPTIONS: ClassVar[dict[Any, str]] = {e["id"]: str(e["name"]) for e in VAT_EXEMPTIONS}

    def settings(self, url: str) -> dict[str, Any]:
        return {"infakt": {"api_key": INFAKT_KEY, "base_url": url, "poll_delays": [0.05] * 8}}

    def wrong_credentials(self) -> dict[str, Any]:
        return {"infakt": {"api_key": "wrong"}}

    def prepare(self, sandbox: InvoicingSandbox) -> None:
        assert isinstance(sandbox, InfaktSandbox)
        sandbox.task_timing(polls=2, seconds=0.3)

    def view(self, doc: Mapping[str, Any]) -> DocumentView:
        services = doc["services"]
        tagged = re.search(r"\[(wc-[^\]]+)\]", str(doc.get("notes") or ""))
        name = doc.get("client_company_name") or " ".join(
            str(doc.get(k) or "") for k in ("client_first_name", "client_last_name")
        )
        # A corrected line is a pair of services in one group: before (correction: false) and after.
        groups: dict[Any, dict[bool, tuple[Decimal, Decimal]]] = {}
        for s in services:
            if "group" in s:
                pair = groups.setdefault(s["group"], {})
                pair[bool(s.get("correction"))] = (
                    Decimal(str(s["quantity"])),
                    Decimal(s["gross_price"]) / 100,
                )
        return DocumentView(
            id=doc["uuid"],
            number=doc["number"],
            kind=doc["kind"],
            key=tagged.group(1) if tagged else "",
            total=Decimal(doc["gross_price"]) / 100,
            currency=doc["currency"],
            status=doc["status"],
            buyer_name=name.strip(),
            buyer_first_name=doc.get("client_first_name") or "",
            buyer_nip=doc.get("client_tax_code") or "",
            company=doc.get("client_business_activity_kind") == "other_business",
            rates=tuple(sorted(s["tax_symbol"] for s in services)),
            exemption=self.EXEMPTIONS.get(doc.get("vat_exemption_reason"), ""),
            emails=tuple(e["to"] for e in doc.get("emails", ())),
            corrects=str(doc.get("corrected_invoice_uuid") or ""),
            changes=tuple(LineChange(*pair[False], *pair[True]) for _, pair in sorted(groups.items())),
            raw=doc,
        )


# Every adapter defined above, by provider name: a new provider's class is all it takes.
ADAPTERS: dict[str, ProviderAdapter] = {cls.name: cls() for cls in ProviderAdapter.__subclasses__()}


def serve_simulator(provider: str) -> ServedApp:
    """The provider's simulator (from ``sidecar.sandbox.registry``) with the test credentials, started."""
    return ServedApp(load_factory(provider)(**ADAPTERS[provider].simulator_args)).start()


def having(**capabilities: Any) -> list[str]:
    """Names of the providers whose adapter has every given capability, for ``parametrize``."""
    return [n for n, a in ADAPTERS.items() if all(getattr(a, k) == v for k, v in capabilities.items())]


class Harness:
    """One shop + one invoicing provider, driven the way the worker drives them."""

    def __init__(self, provider: str, woo: ServedApp, sim: ServedApp, secret: str) -> None:
        self.provider = provider
        self.adapter = ADAPTERS[provider]
        self.woo = woo
        self.sim = sim
        self.secret = secret
        self.shop = WooSandbox(woo.url)
        self.sandbox = self.adapter.sandbox_class(sim.url)
        self.settings = Settings(
            webhook_secrets=(secret,),
            store_url=woo.url,
            store_user="bpm-api",
            store_app_password=PASSWORD,
            allow_insecure_store=True,
        )
        self.store = StoreClient(self.settings, AuditLog(None))
        baseline = {
            "provider": provider,
            "trigger": {"default": "paid", "by_payment_method": {"cod": "completed"}},
            "b2c_document": "invoice",
            "send_email": True,
            "exemption_reason": "art. 43 ust. 1 pkt 2 ustawy o VAT",
        }
        self.configure({"invoicing": {**baseline, **self.adapter.settings(sim.url)}})

    # -- the shop ---------------------------------------------------------------------------------
    def configure(self, overrides: dict[str, Any]) -> None:
        self.shop.config(overrides)

    def order(self, **spec: Any) -> dict[str, Any]:
        return self.shop.create_order(spec)

    def refund(self, order_id: int, **spec: Any) -> dict[str, Any]:
        return self.shop.refund(order_id, spec)

    def set_status(self, order_id: int, status: str) -> None:
        self.shop.set_status(order_id, status)

    def meta(self, order_id: int) -> dict[str, str]:
        return self.shop.meta(order_id)

    def put_meta(self, order_id: int, meta: dict[str, str]) -> None:
        self.shop.put_meta(order_id, meta)

    def notes(self, order_id: int) -> list[str]:
        return self.shop.note_texts(order_id)

    # -- the provider -----------------------------------------------------------------------------
    def views(self, order_id: int | None = None, kind: str | None = None) -> list[DocumentView]:
        """The provider's documents (of one order, of one kind), oldest first."""
        views = [self.adapter.view(d) for d in self.sandbox.documents()]
        if order_id is not None:
            views = [v for v in views if v.key.startswith(f"wc-{order_id}-")]
        return [v for v in views if kind is None or v.kind == kind]

    def documents(self, order_id: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """The same as the provider's own JSON."""
        return [dict(v.raw) for v in self.views(order_id, kind)]

    def total(self, doc: Mapping[str, Any]) -> Decimal:
        return self.adapter.view(doc).total

    def fault(self, **rule: Any) -> None:
        self.sandbox.fault(**rule)

    def ksef(self, **settings: Any) -> None:
        self.sandbox.ksef(**settings)

    # -- the worker -------------------------------------------------------------------------------
    def run(self, action: str, order_id: int, attempt: int = 1, **data: Any) -> Outcome:
        event = {
            "id": str(uuid.uuid4()),
            "type": {"invoice.correct": "order.refunded"}.get(action, "order.paid"),
            "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "store": self.woo.url,
            "data": {"order_id": order_id, **data},
        }
        ctx = JobContext(
            event=event,
            action=action,
            store=self.store,
            config=self.store.get_config(),
            audit=AuditLog(None),
            ensure_lock=lambda: None,
            fencing_token=1,
            attempt=attempt,
        )
        outcome = ACTIONS[action](ctx)
        if outcome.write is not None:  # the runner sends the final write with the note and the outcome
            self.store.apply(order_id, meta=outcome.write.meta, expect=outcome.write.expect)
        return outcome
