"""``customer.consent_changed`` from a guest (the withdrawal link: ``order_id`` only) and from nowhere."""

from __future__ import annotations

import pytest
from crm_harness import CrmShop, crm_fixture, servers_fixture, unique_email

from sidecar import contract
from sidecar.errors import PermanentError

FIXTURES = (crm_fixture, servers_fixture)  # imported for pytest


def test_the_contract_takes_a_guest_consent_change_with_the_order_only() -> None:
    spec = contract.event_spec("customer.consent_changed")
    assert (spec["required"], spec["optional"]) == ([], ["customer_id", "order_id"])


def test_a_guest_withdrawal_updates_the_contact_by_its_order(crm: CrmShop) -> None:
    email = unique_email("guest")
    order = crm.order(
        billing={"email": email}, customer_id=0, consent={"granted": False, "source": "email-link"}
    )
    outcome = crm.run("crm.sync_contact", order["id"])
    assert outcome.status == "done" and "marketing consent withdrawn" in outcome.message
    [contact] = crm.hubspot.contacts()
    assert contact["properties"]["email"] == email


def test_a_consent_change_naming_nobody_fails_in_plain_words(crm: CrmShop) -> None:
    with pytest.raises(PermanentError, match="names neither a customer nor an order"):
        crm.run("crm.sync_contact", None)
    assert crm.hubspot.contacts() == []
