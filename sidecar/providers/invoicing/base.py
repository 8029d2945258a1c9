"""The interface every invoicing system implements. A new system is one new file with a subclass of
:class:`InvoicingProvider` and one line in :data:`sidecar.providers.invoicing.PROVIDERS`.

The job (:mod:`sidecar.jobs.invoice`) owns the order's state; a provider only turns a
provider-neutral :class:`~sidecar.invoicing.document.Document` into a document in its system, and
back. The one duty a provider cannot delegate is **no duplicates**: before a create whose earlier
attempt may have committed (``attempt.prior`` is set) it must look the document up by its key.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

from sidecar.http import HttpClient
from sidecar.invoicing.document import Correction, Document

KsefStatus = Literal["pending", "accepted", "rejected", "not_applicable"]
INTENT_PREFIX = "pending:"


@dataclass(frozen=True)
class KsefState:
    status: KsefStatus
    number: str = ""
    reason: str = ""  # why KSeF rejected the document, in the provider's words


@dataclass(frozen=True)
class Issued:
    id: str
    number: str
    url: str  # a link to the PDF a shop admin (and the customer, if shared) can open
    total_gross: Decimal
    currency: str
    ksef: KsefState
    issue_date: str = ""


@dataclass(frozen=True)
class Intent:
    """A create that was started and may have committed, recorded on the order *before* the create.

    Written into the order meta (``_bpm_invoice_id`` or a ``_bpm_corrections`` entry) as
    ``pending:<provider>:<ref>:<unix seconds>``: ``ref`` is empty until the provider hands out a
    reference (inFakt's task number); the time lets a provider wait until an unacknowledged create
    would certainly be visible before deciding it never happened.
    """

    provider: str
    ref: str
    started: int

    def encode(self) -> str:
        return f"{INTENT_PREFIX}{self.provider}:{self.ref}:{self.started}"

    @classmethod
    def decode(cls, value: str | None) -> Intent | None:
        if not value or not value.startswith(INTENT_PREFIX):
            return None
        provider, _, rest = value[len(INTENT_PREFIX) :].partition(":")
        ref, _, started = rest.rpartition(":")
        try:
            return cls(provider, ref, int(started))
        except ValueError:
            return cls(provider, ref or started, 0)

    @classmethod
    def new(cls, provider: str, now: float | None = None) -> Intent:
        return cls(provider, "", int(now if now is not None else time.time()))

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.started


@dataclass
class Attempt:
    """What a provider needs from the job around one create."""

    prior: Intent | None  # set when an earlier run started this create: look up before creating
    # Hand over a provider reference (a task number) before waiting on it: the job records it on the
    # order if this run ends without the document, so the next run resumes instead of searching.
    checkpoint: Callable[[str], None]
    ensure_lock: Callable[[], None]  # call right before the irreversible create
    # Withdraw the intent: the provider answered the create with a definite "not done" (429, 503), so
    # the next attempt may create without waiting to rule out an unacknowledged success.
    release: Callable[[], None] = lambda: None
    # Set by the provider as soon as it knows the document exists: from then on a failure must keep the
    # intent (the next run resumes it) instead of withdrawing it.
    committed: bool = False


class InvoicingProvider(ABC):
    name: ClassVar[str]
    label: ClassVar[str]  # as a shop admin knows it: "Fakturownia"
    supports_receipts: ClassVar[bool] = True

    def __init__(
        self, settings: Mapping[str, Any], http: HttpClient, *, sleep: Callable[[float], None] = time.sleep
    ):
        self.settings = settings
        self.http = http
        self.sleep = sleep

    @abstractmethod
    def issue(self, document: Document, attempt: Attempt) -> Issued:
        """Create ``document`` (or find the one an earlier attempt created)."""

    @abstractmethod
    def correct(self, correction: Correction, attempt: Attempt) -> Issued:
        """Create a correction of ``correction.original`` (or find the one an earlier attempt created)."""

    @abstractmethod
    def ksef_state(self, document_id: str, *, correction: bool = False) -> KsefState:
        """The document's KSeF state now; re-triggers a send the provider gave up on."""

    @abstractmethod
    def send_email(self, document_id: str, email: str, *, correction: bool = False) -> None:
        """Let the provider e-mail the document to ``email``."""
