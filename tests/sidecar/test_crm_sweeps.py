"""The CRM around the live events: the settings' "Load stages" endpoint, the reconciliation's CRM pass and
``bpm-sidecar crm backfill`` — against the WooCommerce and HubSpot simulators, on real Redis."""

from __future__ import annotations

import dataclasses
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from crm_harness import PASSWORD, CrmShop, crm_config, crm_fixture, servers_fixture, unique_email
from rq import Queue

from sidecar import crm_backfill
from sidecar.app import create_app
from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.engine import queueing, reconcile
from sidecar.sandbox import ServedApp
from sidecar.sandbox.woo import create_app as woo_app
from sidecar.signing import signature_headers

FIXTURES = (crm_fixture, servers_fixture)  # imported for pytest
QUEUE = "bpm-crm-sweeps"


def settings_for(crm: CrmShop, redis_url: str) -> Settings:
    return dataclasses.replace(crm.settings, redis_url=redis_url, queue=QUEUE, audit_dir=None, config_ttl=0)


# -- POST /v1/crm/pipelines ---------------------------------------------------------------------------


def ask_pipelines(crm: CrmShop, redis_url: str, secret: str | None = None) -> Any:
    client = create_app(settings_for(crm, redis_url)).test_client()
    body = b"{}"
    headers = {
        **signature_headers([secret or crm.secret], body, msg_id=f"msg_{uuid.uuid4().hex}"),
        "Content-Type": "application/json",
    }
    return client.post("/v1/crm/pipelines", data=body, headers=headers), headers, client


@pytest.fixture(name="shared")
def shared_fixture(crm: CrmShop) -> CrmShop:
    return crm


def test_load_stages_lists_the_pipelines_of_the_crm(crm: CrmShop, redis_url: str) -> None:
    answer, headers, client = ask_pipelines(crm, redis_url)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["provider"] == "hubspot"
    [default] = [p for p in body["pipelines"] if p["id"] == "default"]
    assert default["label"] == "Sales Pipeline"
    assert [s["id"] for s in default["stages"]][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    assert {"id": "closedwon", "label": "Closed Won"} in default["stages"]
    replayed = client.post("/v1/crm/pipelines", data=b"{}", headers=headers)
    assert replayed.status_code == 401  # a captured request cannot be sent again


def test_load_stages_refuses_an_unsigned_request_and_names_a_wrong_token(
    crm: CrmShop, redis_url: str
) -> None:
    forged, _, _ = ask_pipelines(crm, redis_url, secret="whsec_" + "A" * 43 + "=")
    assert forged.status_code == 401
    crm.configure({"crm": {"hubspot": {"access_token": "pat-na1-wrong"}}})
    try:
        refused, _, _ = ask_pipelines(crm, redis_url)
        assert refused.status_code == 502
        assert refused.get_json()["detail"].startswith("HubSpot refused the access token")
    finally:
        crm.configure(crm_config(crm.hub.url))
    crm.configure({"crm": {"provider": "none"}})
    try:
        off, _, _ = ask_pipelines(crm, redis_url)
        assert off.status_code == 409 and "Choose a CRM" in off.get_json()["detail"]
    finally:
        crm.configure(crm_config(crm.hub.url))


# -- reconciliation -------------------------------------------------------------------------------------


def test_the_sweep_queues_orders_missing_or_behind_in_the_crm_once_a_day(
    crm: CrmShop, redis_url: str, redis_conn: redis.Redis
) -> None:
    settings = settings_for(crm, redis_url)
    synced = crm.order(billing={"email": unique_email("synced")}, age_seconds=3600)
    crm.sync(synced["id"])
    # Unchanged since its sync (the sync time is set after the order's last change: the sandbox's meta
    # route does not touch the order).
    crm.shop.put_meta(synced["id"], {"_bpm_crm_synced_at": "2099-01-01T00:00:00Z"})
    behind = crm.order(billing={"email": unique_email("behind")}, age_seconds=3600)
    crm.sync(behind["id"])
    # Changed well after its sync (the sync time is set back: the order changed two minutes later).
    crm.shop.put_meta(behind["id"], {"_bpm_crm_synced_at": "2020-01-01T00:00:00Z"})
    # Changed ten seconds after its sync (an invoice number written just after): queued too.
    just_after = crm.order(billing={"email": unique_email("just-after")})
    crm.sync(just_after["id"])
    modified = datetime.fromisoformat(crm.store.get_order(just_after["id"])["date_modified_gmt"])
    ten_before = (modified - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    crm.shop.put_meta(just_after["id"], {"_bpm_crm_synced_at": ten_before})
    missing = crm.order(billing={"email": unique_email("missing")}, age_seconds=3600)
    config = crm.store.get_config()
    now = datetime.now(UTC)
    since = now - timedelta(hours=25)
    report = reconcile.sweep(redis_conn, settings, crm.store, config, since, until=now, now=now)
    queued = {
        e.order_id: e.reason for e in report.entries if e.action == "crm.sync_order" and e.result == "queued"
    }
    assert set(queued) == {behind["id"], missing["id"], just_after["id"]}
    assert queued[missing["id"]] == "not in the CRM yet"
    assert queued[behind["id"]] == "changed since its last CRM sync"
    assert queued[just_after["id"]].startswith("changed just after its last CRM sync")
    assert "3 order(s) missing or behind in the CRM." in report.render()
    jobs = Queue(QUEUE, connection=redis_conn).job_ids
    assert sorted(j for j in jobs if j.endswith("_crm-sync_order")) == sorted(
        queueing.job_id(e.event_id or "", "crm.sync_order") for e in report.crm_behind
    )
    again = reconcile.sweep(redis_conn, settings, crm.store, config, since, until=now, now=now)
    assert not [e for e in again.entries if e.result == "queued"]  # once per order and day


# -- backfill -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("refusal", ["multi_status", "whole_batch"])
def test_the_backfill_sends_an_existing_history_in_batches_and_resumes(
    shared: CrmShop, redis_url: str, redis_conn: redis.Redis, refusal: str
) -> None:
    """HubSpot answers a batch with a refused input either per input (207) or by refusing the batch (400):
    either way the other orders go through and the refused one is told apart."""
    woo = ServedApp(woo_app([shared.secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    try:
        _backfill(CrmShop(woo, shared.hub, shared.secret), redis_url, redis_conn, refusal)
    finally:
        woo.stop()


def _backfill(crm: CrmShop, redis_url: str, redis_conn: redis.Redis, refusal: str) -> None:
    crm.hubspot._call("POST", "/batch", {"errors": refusal})
    settings = settings_for(crm, redis_url)
    since = datetime.now(UTC) - timedelta(minutes=5)
    emails = [unique_email(f"hist{n % 7}") for n in range(7)]
    orders = [
        crm.order(billing={"email": emails[n % 7]}, nip="5252445767" if n % 5 == 0 else None)
        for n in range(30)
    ]
    crm.shop.put_meta(orders[3]["id"], {"_bpm_crm_hash": "x", "_bpm_crm_synced_at": "2099-01-01T00:00:00Z"})
    bad = crm.order(billing={"email": "not-an-email"})
    out = io.StringIO()
    before = crm.hubspot.limits()["requests"]
    summary = crm_backfill.run(
        redis_conn,
        settings,
        crm.store,
        crm.store.get_config(),
        since,
        audit=AuditLog(None),
        batch=10,
        out=out,
    )
    requests_made = crm.hubspot.limits()["requests"] - before
    ids = [o["id"] for o in orders]
    assert summary.listed >= 31 and summary.sent == 29 and summary.already >= 1
    assert [f[0] for f in summary.failed] == [bad["id"]]
    assert "HubSpot refused the contact" in summary.failed[0][1]
    assert [len(crm.hubspot.deals(oid)) for oid in ids if oid != orders[3]["id"]] == [1] * 29
    assert crm.hubspot.deals(bad["id"]) == []  # no deal without its contact
    assert len(crm.hubspot.contacts()) == 7
    assert requests_made < 29 * 4  # batches: a few requests per 10 orders, not four or five per order
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith(f"{summary.done}/{summary.listed} orders") and "29 sent" in lines[-1]
    assert all(crm.meta(oid)["_bpm_crm_id"] for oid in ids if oid != orders[3]["id"])
    assert any("Sent by the CRM backfill" in n for n in crm.notes(ids[0]))
    rendered = summary.render("HubSpot")
    assert f"order {bad['id']}: HubSpot refused the contact" in rendered

    # Run again: everything sent is skipped without a read; only the refused order is tried again.
    config = crm.store.get_config()
    seen = len(crm.shop.requests())
    again = crm_backfill.run(
        redis_conn,
        settings,
        crm.store,
        config,
        since,
        audit=AuditLog(None),
        out=io.StringIO(),
    )
    assert again.sent == 0 and [f[0] for f in again.failed] == [bad["id"]]
    reads = [r["path"] for r in crm.shop.requests()[seen:] if r["method"] == "GET"]
    assert [p.rsplit("/", 1)[-1] for p in reads] == [str(bad["id"])]
    assert again.already + again.unchanged == again.listed - 1
    assert [len(crm.hubspot.deals(oid)) for oid in ids if oid != orders[3]["id"]] == [
        1
    ] * 29  # still one each


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_redraws_on_a_terminal_and_prints_lines_elsewhere() -> None:
    summary = crm_backfill.Summary("hubspot", "2026-01-01 00:00 UTC", listed=4, sent=1, already=1)
    screen, log = Terminal(), io.StringIO()
    for out in (screen, log):
        bar = crm_backfill.ProgressBar(out, 4)
        bar.show(summary)
        summary.sent += 1
        bar.show(summary)
        bar.close()
        summary.sent -= 1
    assert screen.getvalue().startswith(
        "\r[###############---------------] 2/4 orders · 1 sent · 1 up to date"
    )
    assert screen.getvalue().count("\r") == 2 and screen.getvalue().endswith("\n")
    assert log.getvalue().splitlines()[1].startswith("3/4 orders · 2 sent · 1 up to date · 0 failed")


def test_the_cli_runs_the_backfill_and_says_what_it_did(
    crm: CrmShop, redis_url: str, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from sidecar import cli

    for key, value in {
        "BPM_REDIS_URL": redis_url,
        "BPM_STORE_URL": crm.woo.url,
        "BPM_STORE_USER": "bpm-api",
        "BPM_STORE_APP_PASSWORD": PASSWORD,
        "BPM_WEBHOOK_SECRETS": crm.secret,
        "BPM_ALLOW_INSECURE_STORE": "true",
        "BPM_AUDIT_DIR": "",
        "BPM_CONFIG_TTL": "0",
    }.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["crm", "backfill", "--since", "yesterday"]) == 2
    assert "--since must be a date" in capsys.readouterr().err
    order = crm.order(billing={"email": unique_email("cli")})
    since = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    code = cli.main(["crm", "backfill", "--since", since])
    printed = capsys.readouterr()
    assert printed.out.startswith("Backfill into HubSpot of the orders changed since "), printed
    assert code in (0, 1)  # 1 when an older test's refused order is in the window
    assert len(crm.hubspot.deals(order["id"])) == 1


def test_the_backfill_can_leave_the_sending_to_the_workers(
    shared: CrmShop, redis_url: str, redis_conn: redis.Redis
) -> None:
    woo = ServedApp(woo_app([shared.secret], "bpm-api", PASSWORD, "http://127.0.0.1")).start()
    try:
        crm = CrmShop(woo, shared.hub, shared.secret)
        orders = [crm.order(billing={"email": unique_email(f"queued{n}")})["id"] for n in range(3)]
        since = datetime.now(UTC) - timedelta(minutes=5)
        settings = settings_for(crm, redis_url)
        summary = crm_backfill.run(
            redis_conn, settings, crm.store, crm.store.get_config(), since, audit=AuditLog(None), queue=True,
            out=io.StringIO(),
        )  # fmt: skip
        assert (summary.queued, summary.sent) == (3, 0)
        jobs = [
            Queue(QUEUE, connection=redis_conn).fetch_job(j)
            for j in Queue(QUEUE, connection=redis_conn).job_ids
        ]
        assert sorted(j.args[0]["data"]["order_id"] for j in jobs if j.args[1] == "crm.sync_order") == orders
        assert crm.hubspot.deals() == [] or all(not crm.hubspot.deals(o) for o in orders)  # nothing sent here
    finally:
        woo.stop()
