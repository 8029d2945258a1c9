"""An erasure that runs while ``crm.sync_order`` is inside its CRM call: the erasure deletes the person, the
sync then re-creates them. The sync looks once more (only when its CRM call made a new contact) and erases
the contact again instead of writing the CRM ids back.

The CRM is a fake here on purpose: the race is between two jobs, and the fake lets the erasure land
exactly between the sync's read and its provider call's answer."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError, TransientError
from sidecar.jobs import crm
from sidecar.jobs.base import JobContext
from sidecar.providers.crm.base import Contact, Deal, Known, Synced
from sidecar.store import OrderState

ORDER = {
    "id": 31,
    "number": "31",
    "status": "processing",
    "currency": "PLN",
    "total": "10.00",
    "billing": {"email": "ola@example.com", "first_name": "Ola", "last_name": "Lis"},
}
CONFIG = {"crm": {"provider": "hubspot", "hubspot": {"access_token": "pat-x"}}}


class Store:
    """Reads of one order; ``erase()`` is the plugin's eraser marking it (consent.crm_suppressed)."""

    def __init__(self) -> None:
        self.erased = False
        self.reads = 0

    def read_order(self, order_id: int) -> OrderState:
        self.reads += 1
        return OrderState(dict(ORDER), {}, [], {"marketing": False, "crm_suppressed": self.erased})


class Provider:
    """A CRM whose contact is erased (by the other job) while the sync's request is in flight."""

    def __init__(self, store: Store, created: bool, fail: bool = False) -> None:
        self.store, self.created, self.fail = store, created, fail
        self.erased: list[str] = []

    def sync_order(self, contact: Contact, deal: Deal, known: Known) -> Synced:
        self.store.erased = True  # privacy.erase ran meanwhile
        return Synced("c1", "d1", "", "contractsent", created=self.created)

    def erase(self, email: str) -> str:
        if self.fail:
            raise TransientError("HubSpot answered HTTP 503", None)
        self.erased.append(email)
        return "HubSpot deleted the contact."


def run(store: Store, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(crm, "provider_for", lambda *a, **k: provider)
    ctx = JobContext(
        event={"id": "e1", "type": "order.paid", "data": {"order_id": 31}},
        action="crm.sync_order",
        store=store,  # type: ignore[arg-type]
        config=CONFIG,
        audit=AuditLog(None),
        ensure_lock=lambda: None,
        fencing_token=1,
        attempt=1,
    )
    return crm.sync_order(ctx)


def test_a_contact_created_after_the_erasure_is_erased_again(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store()
    provider = Provider(store, created=True)
    outcome = run(store, provider, monkeypatch)
    assert provider.erased == ["ola@example.com"]
    assert outcome.status == "skipped" and outcome.write is None and not outcome.note
    assert "erased on request while this order was being sent to HubSpot" in outcome.message
    assert "HubSpot deleted the contact." in outcome.message


def test_an_existing_contact_costs_no_second_read(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store()
    provider = Provider(store, created=False)
    outcome = run(store, provider, monkeypatch)
    assert store.reads == 1 and provider.erased == [] and outcome.status == "done"


def test_a_failed_second_erase_is_a_permanent_error_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store()
    with pytest.raises(PermanentError, match="erase the person in HubSpot by hand"):
        run(store, Provider(store, created=True, fail=True), monkeypatch)
