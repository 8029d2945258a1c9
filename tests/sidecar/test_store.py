"""StoreClient against the WooCommerce simulator, and the cached runtime configuration."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import redis
from sandbox_client import WooSandbox
from support import Woo

from sidecar.audit import AuditLog
from sidecar.config import Settings, load_settings
from sidecar.engine import runtime_config
from sidecar.errors import ConflictError, EventNotFound, PermanentError, TransientError
from sidecar.signing import new_secret
from sidecar.store import StoreClient


def settings_for(woo: Woo, redis_url: str = "redis://127.0.0.1:6379/0", **extra: str) -> Settings:
    return load_settings(woo.env(redis_url, **extra))


def test_reads_and_writes_go_through_signed_basic_auth_requests(woo: Woo, tmp_path) -> None:
    settings = settings_for(woo, BPM_AUDIT_DIR=str(tmp_path))
    store = StoreClient(settings, AuditLog(settings.audit_dir))
    order = woo.admin.create_order()
    assert store.get_order(order["id"])["total"] == order["total"]
    assert store.add_note(order["id"], "BPM Bridge: test")["order_id"] == order["id"]
    assert (
        store.set_meta(order["id"], {"_bpm_crm_id": "c1"}, expect={"_bpm_crm_id": ""})["_bpm_crm_id"] == "c1"
    )
    assert store.get_meta(order["id"])["_bpm_crm_id"] == "c1"
    assert store.read_order(order["id"]).meta["_bpm_crm_id"] == "c1"
    assert store.ping() is True
    # The audit trail has every call (the REST-root discovery first), and neither the password nor the note.
    lines = [json.loads(line) for f in tmp_path.glob("audit-*.jsonl") for line in f.read_text().splitlines()]
    assert len(lines) == 7 and all(200 <= r["status"] < 300 for r in lines)
    assert "abcd" not in json.dumps(lines).lower() and "BPM Bridge: test" not in json.dumps(lines)


def test_signs_with_the_current_secret_only(woo: Woo) -> None:
    rotated = settings_for(woo, BPM_WEBHOOK_SECRETS=f"{woo.secret} {new_secret()}")
    assert StoreClient(rotated, AuditLog(None)).get_config()["version"] >= 1
    # The store knows only woo.secret; a sidecar whose *current* secret is another one is refused,
    # even though it also holds woo.secret as an older one.
    stale = settings_for(woo, BPM_WEBHOOK_SECRETS=f"{new_secret()} {woo.secret}")
    with pytest.raises(PermanentError, match="refused our credentials"):
        StoreClient(stale, AuditLog(None)).get_config()


def test_errors_map_to_the_error_vocabulary(woo: Woo) -> None:
    store = StoreClient(settings_for(woo), AuditLog(None))
    with pytest.raises(PermanentError, match="order 424242 not found in the store"):
        store.get_order(424242)
    order = woo.admin.create_order()
    store.set_meta(order["id"], {"_bpm_invoice_id": "1"})
    with pytest.raises(ConflictError) as conflict:
        store.set_meta(order["id"], {"_bpm_invoice_id": "2"}, expect={"_bpm_invoice_id": ""})
    assert conflict.value.current == {"_bpm_invoice_id": "1"}
    with pytest.raises(PermanentError, match="bpm_bridge_meta_not_allowed"):
        store.set_meta(order["id"], {"_order_total": "0"})
    with pytest.raises(ConflictError) as moved:  # someone put the order on hold meanwhile
        WooSandbox(woo.url).set_status(order["id"], "on-hold")
        store.set_status(order["id"], "processing", "completed")
    assert moved.value.current == {"status": "on-hold"}
    woo.admin.fault(503, count=1, retry_after=42)
    with pytest.raises(TransientError) as busy:
        store.get_order(order["id"])
    assert busy.value.retry_after == 42
    woo.admin.fault(429, count=1)
    with pytest.raises(TransientError):
        store.add_note(order["id"], "x")
    with pytest.raises(EventNotFound, match="no outbox row"):
        store.report_outcome("unknown", "invoice.issue", "done", "m", order["id"])
    bad = StoreClient(
        replace(settings_for(woo), store_app_password="wrongwrongwrongwrongwron"), AuditLog(None)
    )
    with pytest.raises(PermanentError, match="BPM_STORE_APP_PASSWORD"):
        bad.get_order(order["id"])


def test_unreachable_store_is_transient_and_ping_says_why(woo: Woo) -> None:
    store = StoreClient(settings_for(woo), AuditLog(None))
    woo.served.stop()
    with pytest.raises(TransientError, match="did not answer"):
        store.get_order(1)
    assert store.ping() is False and "did not answer" in (store.last_error or "")
    woo.served = type(woo.served)(woo.served.app).start()  # let the fixture's teardown stop something


def test_refuses_plain_http_unless_allowed(woo: Woo) -> None:
    insecure = replace(settings_for(woo), allow_insecure_store=False)
    with pytest.raises(PermanentError, match="must be https"):
        StoreClient(insecure, AuditLog(None))


def test_runtime_config_is_cached_merged_and_invalidated(
    woo: Woo, redis_url: str, redis_conn: redis.Redis
) -> None:
    settings = settings_for(woo, redis_url, BPM_CONFIG__INVOICING__PROVIDER="infakt", BPM_CONFIG_TTL="60")
    store = StoreClient(settings, AuditLog(None))
    woo.admin.config({"invoicing": {"provider": "fakturownia", "send_email": False}})

    def config_calls() -> int:
        return sum(r["path"].endswith("/config") for r in woo.admin.requests())

    first = runtime_config.get_config(redis_conn, settings, store)
    assert first["invoicing"]["provider"] == "infakt"  # the operator's override wins
    assert first["invoicing"]["send_email"] is False and first["invoicing"]["trigger"]["default"] == "paid"
    runtime_config.get_config(redis_conn, settings, store)
    assert config_calls() == 1
    assert 0 < redis_conn.ttl(runtime_config.CACHE_KEY) <= 60
    woo.admin.config({"invoicing": {"send_email": True}})
    runtime_config.invalidate(redis_conn)
    assert runtime_config.get_config(redis_conn, settings, store)["invoicing"]["send_email"] is True
    assert config_calls() == 2


def test_two_stores_on_one_redis_keep_their_own_rest_roots(woo: Woo, redis_conn: redis.Redis) -> None:
    """A root cached for another shop (another sidecar, or a test run before the demo) is never borrowed."""
    from sidecar import composition

    other = Woo()
    try:
        assert composition.store_client(settings_for(other), None, AuditLog(None), conn=redis_conn).ping()
    finally:
        other.served.stop()  # its root, still cached, now leads nowhere
    assert composition.store_client(settings_for(woo), None, AuditLog(None), conn=redis_conn).ping() is True
