"""A buyer erased on request (the plugin's eraser marked their orders: ``consent.crm_suppressed``) is never
sent to the CRM again: no order sync, no contact update, not a single request to HubSpot."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta

import redis
from crm_harness import CrmShop, crm_fixture, servers_fixture, unique_email

from sidecar import crm_backfill
from sidecar.audit import AuditLog
from sidecar.jobs import crm as crm_jobs

FIXTURES = (crm_fixture, servers_fixture)  # imported for pytest


def hubspot_requests(crm: CrmShop) -> list[str]:
    records = [json.loads(line) for f in sorted(crm.audit_dir.glob("*.jsonl")) for line in f.open()]
    return [r["url"] for r in records if r.get("provider") == "hubspot"]


def test_a_suppressed_order_causes_no_crm_request(crm: CrmShop) -> None:
    email = unique_email("erased")
    order = crm.order(
        billing={"email": email},
        customer_id=0,
        consent={"granted": False, "version": "v1", "source": "checkout"},
        crm_erased=True,
    )
    assert crm.store.read_order(order["id"]).consent["crm_suppressed"] is True

    for action in ("crm.sync_order", "crm.sync_contact"):
        outcome = crm.run(action, order["id"])
        assert (outcome.status, outcome.message, outcome.note) == ("skipped", crm_jobs.ERASED, False)
    assert hubspot_requests(crm) == []
    assert crm.hubspot.contacts() == [] and crm.hubspot.deals() == []
    assert not any(k.startswith("_bpm_crm_") for k in crm.meta(order["id"]))


def test_an_order_not_erased_is_still_sent(crm: CrmShop) -> None:
    order = crm.order(billing={"email": unique_email("kept")})
    assert crm.store.read_order(order["id"]).consent["crm_suppressed"] is False
    assert crm.sync(order["id"]).status == "done"
    assert hubspot_requests(crm)


def test_the_backfill_leaves_a_suppressed_order_out(
    crm: CrmShop, redis_url: str, redis_conn: redis.Redis
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=30)
    erased = crm.order(billing={"email": unique_email("erased-bf")}, crm_erased=True)
    kept = crm.order(billing={"email": unique_email("kept-bf")})
    settings = dataclasses.replace(crm.settings, redis_url=redis_url, audit_dir=None, config_ttl=0)
    out = io.StringIO()
    summary = crm_backfill.run(
        redis_conn, settings, crm.store, crm.store.get_config(), since, audit=AuditLog(None), out=out
    )
    assert summary.erased >= 1 and not summary.failed
    assert crm.hubspot.deals(erased["id"]) == [] and len(crm.hubspot.deals(kept["id"])) == 1
    assert "not sent: their buyer's data was erased on request" in summary.render("HubSpot")
