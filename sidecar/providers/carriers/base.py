"""The interface every carrier implements. A new carrier (Furgonetka, DPD…) is one new file with a subclass
of :class:`Carrier` and one line in :data:`sidecar.providers.carriers.CARRIERS`.

A carrier only turns a :class:`ReturnParcel` into a shipment and answers questions about it; the job
(:mod:`sidecar.jobs.rma`) owns the return's state, the intent written before a create and the recovery.
The one duty a carrier cannot delegate is :meth:`Carrier.find`: when a create's answer was lost, the job
asks for the shipment by its reference before it would ever create a second one, and only a search that
*certainly* saw everything (:attr:`Search.certain`) lets it try again, under a new reference.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from sidecar.errors import PermanentError, TransientError
from sidecar.http import HttpClient

Method = Literal["locker", "courier"]
# What the job does with a carrier status: wait for more, the parcel reached the shop, or it never will.
Progress = Literal["pending", "moving", "delivered", "stopped"]


@dataclass(frozen=True)
class Party:
    """One end of the parcel: the customer (sender) or the shop (receiver)."""

    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    email: str = ""
    phone: str = ""
    street: str = ""
    building_number: str = ""
    city: str = ""
    post_code: str = ""
    country_code: str = "PL"


@dataclass(frozen=True)
class ReturnParcel:
    """A return shipment: the customer sends, the shop receives. ``reference`` is the RMA number."""

    rma_id: int
    reference: str
    order_number: str
    method: Method
    sender: Party
    receiver: Party
    target_point: str = ""  # locker returns: the shop's own locker
    dropoff_point: str = ""  # locker returns: the locker the customer chose to post it at, if any
    size: str = "small"  # small | medium | large
    items: tuple[tuple[str, int], ...] = ()  # (name, quantity), for a slip


@dataclass(frozen=True)
class Shipment:
    id: str
    status: str  # the carrier's own word ("created", "confirmed", "delivered", …)
    tracking_number: str = ""
    reference: str = ""
    created_at: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Search:
    """A search for one reference answers three ways: found (``shipments``), certainly absent (none and
    ``certain``: every row that could be ours was looked at), or unknown (none, not ``certain``)."""

    shipments: tuple[Shipment, ...] = ()
    certain: bool = False


class CarrierRefused(PermanentError):
    """The carrier said a definite no to a create (a field it will not take, our credentials): nothing was
    bought, and retrying the same request cannot help. ``reason`` names the field in the shop's words.
    Raised only by :meth:`Carrier.create`: a refused *read* proves nothing about what was bought and is a
    plain :class:`PermanentError`."""


class NotCreated(TransientError):
    """A transient answer to a create that proves nothing was bought (a rate limit in the carrier's own
    words; never a 5xx or a lost answer): the job may withdraw its intent and create at the next attempt."""


class Carrier(ABC):
    name: ClassVar[str]
    label: ClassVar[str]  # as a shop admin knows it: "InPost"
    # Made locally at once (a PDF slip): no intent, no polling, no tracking.
    local: ClassVar[bool] = False
    # How long after an unanswered create the search is first trusted to show it (``recovery_seconds`` in
    # the carrier's settings overrides it: a test knob, like ``poll_seconds``).
    recovery_window: float = 120.0

    def __init__(
        self,
        settings: Mapping[str, Any],
        http: HttpClient | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **extra: Any,
    ) -> None:
        self.settings = settings
        if settings.get("recovery_seconds"):
            self.recovery_window = float(settings["recovery_seconds"])
        self.http = http
        self.sleep = sleep
        self.extra = extra

    @abstractmethod
    def create(self, parcel: ReturnParcel) -> Shipment:
        """Buy the shipment. Raises CarrierRefused (nothing bought) or TransientError (maybe bought)."""

    @abstractmethod
    def find(self, parcel: ReturnParcel, created_after: float) -> Search:
        """Every shipment that is certainly this parcel (``parcel.reference`` exactly, created after
        ``created_after`` (Unix time), the same target point and sender), and whether the search was
        complete."""

    @abstractmethod
    def cancel(self, shipment_id: str) -> bool:
        """Cancel a shipment not needed after all: False when the carrier no longer allows it."""

    @abstractmethod
    def status(self, shipment_id: str) -> Shipment:
        """The shipment now."""

    @abstractmethod
    def label_pdf(self, shipment: Shipment, parcel: ReturnParcel) -> bytes:
        """The label PDF; TransientError while the carrier has not made it yet."""

    @abstractmethod
    def progress(self, status: str) -> Progress:
        """What the carrier's status means for the return."""

    def attention(self, status: str) -> Literal["", "collect", "expired"]:
        """A status the shop must act on: the parcel waits to be collected, or was not collected in time."""
        return ""

    def ready(self, shipment: Shipment) -> bool:
        """Whether the label can be fetched now."""
        return bool(shipment.tracking_number) and self.progress(shipment.status) != "pending"

    def tracking_url(self, tracking_number: str) -> str:
        """The public page a customer follows the parcel on ("" when there is none)."""
        return ""

    def describe(self, status: str) -> str:
        """A status in the shop admin's words."""
        return status.replace("_", " ")
