"""Metrics live in Redis, so every process adds to the same numbers; /metrics renders them."""

from __future__ import annotations

import http.server
import json
import logging
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import redis
from conftest import free_port
from prometheus_client.parser import text_string_to_metric_families
from redis.backoff import NoBackoff
from redis.retry import Retry

from sidecar.app import create_app
from sidecar.audit import AuditLog
from sidecar.config import load_settings
from sidecar.engine import queueing
from sidecar.errors import TransientError
from sidecar.http import HttpClient
from sidecar.metrics import Metrics, render
from sidecar.signing import new_secret

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def settings_for(redis_url: str):
    return load_settings(
        {
            "BPM_WEBHOOK_SECRETS": new_secret(),
            "BPM_STORE_URL": "http://127.0.0.1:9",
            "BPM_STORE_USER": "u",
            "BPM_STORE_APP_PASSWORD": "p",
            "BPM_ALLOW_INSECURE_STORE": "true",
            "BPM_REDIS_URL": redis_url,
            "BPM_QUEUE": "bpm-metrics-test",
            "BPM_AUDIT_DIR": "",
        }
    )


def test_event_and_job_counters(redis_conn):
    m = Metrics(redis_conn)
    m.event("order.paid", "accepted")
    m.event("order.paid", "accepted")
    m.event("unknown", "bad_signature")
    m.job("invoice.issue", "done", 0.3)
    m.job("invoice.issue", "retrying", 1.2)
    got = samples(render(redis_conn).decode())
    assert got[("bpm_events_total", (("result", "accepted"), ("type", "order.paid")))] == 2
    assert got[("bpm_events_total", (("result", "bad_signature"), ("type", "unknown")))] == 1
    assert got[("bpm_jobs_total", (("action", "invoice.issue"), ("outcome", "done")))] == 1
    assert got[("bpm_jobs_total", (("action", "invoice.issue"), ("outcome", "retrying")))] == 1


def test_histogram_is_cumulative_with_sum_and_count(redis_conn):
    m = Metrics(redis_conn)
    for seconds in (0.03, 0.7, 400.0):
        m.job("invoice.issue", "done", seconds)
    got = samples(render(redis_conn).decode())

    def bucket(le: str) -> float:
        return got[("bpm_job_duration_seconds_bucket", (("action", "invoice.issue"), ("le", le)))]

    assert bucket("0.05") == 1
    assert bucket("0.5") == 1
    assert bucket("1.0") == 2
    assert bucket("300.0") == 2
    assert bucket("+Inf") == 3
    assert got[("bpm_job_duration_seconds_count", (("action", "invoice.issue"),))] == 3
    assert got[("bpm_job_duration_seconds_sum", (("action", "invoice.issue"),))] == pytest.approx(400.73)


def test_counts_from_other_processes_add_up(redis_conn, redis_url):
    Metrics(redis_conn).event("ping", "accepted")
    code = (
        "import redis; from sidecar.metrics import Metrics; "
        f"m = Metrics(redis.Redis.from_url({redis_url!r})); "
        "[m.event('ping', 'accepted') for _ in range(3)]"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    got = samples(render(redis_conn).decode())
    assert got[("bpm_events_total", (("result", "accepted"), ("type", "ping")))] == 4


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/cut":  # the connection drops mid-body (a proxy restart, a crashed PHP worker)
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"id"')
            self.close_connection = True
            return
        status = 503 if self.path == "/down" else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_provider_calls_through_http_client_hook(redis_conn):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        client = HttpClient("fakturownia", AuditLog(None), observe=Metrics(redis_conn).provider_call)
        assert client.request("GET", base + "/ok").status_code == 200
        assert client.request("GET", base + "/down").status_code == 503
        with pytest.raises(TransientError):
            client.request("GET", f"http://127.0.0.1:{free_port()}/", timeout=1)
        with pytest.raises(TransientError, match="answer was cut off"):
            client.request("GET", base + "/cut")
    finally:
        server.shutdown()
    got = samples(render(redis_conn).decode())
    for status_class, count in (("2xx", 1), ("5xx", 1), ("error", 2)):
        labels = (("method", "GET"), ("provider", "fakturownia"), ("status_class", status_class))
        assert got[("bpm_provider_requests_total", labels)] == count
    assert got[("bpm_provider_request_duration_seconds_count", (("provider", "fakturownia"),))] == 4


def test_metric_writes_never_raise_when_redis_is_down(caplog):
    caplog.set_level(logging.WARNING)  # an app built by an earlier test may have raised the root level
    m = Metrics(redis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)))
    m.event("order.paid", "accepted")
    m.job("invoice.issue", "done", 1.0)
    m.provider_call("infakt", "POST", "2xx", 0.2)
    assert "metrics not recorded" in caplog.text


def test_label_values_are_bounded(redis_conn):
    Metrics(redis_conn).event("x" * 500, "invalid")
    (field,) = redis_conn.hkeys("bpm:metrics:events")
    assert len(json.loads(field)[0]) == 64


def test_metrics_endpoint_shows_queue_depth_and_dead_letters(redis_url, redis_conn):
    settings = settings_for(redis_url)
    envelope = {"id": str(uuid.uuid4()), "type": "order.paid", "data": {"order_id": 1}}
    queueing.enqueue_actions(redis_conn, settings, envelope, ["invoice.issue", "crm.sync_order"])
    client = create_app(settings).test_client()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    got = samples(response.get_data(as_text=True))
    assert got[("bpm_queue_depth", (("state", "queued"),))] == 2
    assert got[("bpm_queue_depth", (("state", "started"),))] == 0
    assert got[("bpm_dead_letters", ())] == 0


def test_metrics_endpoint_without_redis_is_503():
    client = create_app(settings_for(f"redis://127.0.0.1:{free_port()}/0")).test_client()
    response = client.get("/metrics")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"


def test_readyz_names_what_is_down_and_caches_the_store_check(redis_url, redis_conn):
    client = create_app(settings_for(redis_url)).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["redis"] == "ok" and body["checks"]["store"].startswith("down")
    assert "store" in body["detail"]
    assert redis_conn.ttl("bpm:readyz:store") > 0
    # A cached "ok" is trusted for its TTL: no store call, ready.
    redis_conn.set("bpm:readyz:store", "ok", ex=10)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {
        "status": "ready",
        "checks": {"redis": "ok", "store": "ok"},
    }


def test_readyz_and_healthz_without_redis():
    client = create_app(settings_for(f"redis://127.0.0.1:{free_port()}/0")).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"].startswith("down")
