"""POST /v1/events against a real Redis and the real RQ queueing (docs/contract.md §2, issue #2 intake).

"Nothing queued" is proven by looking at Redis itself: the RQ queue, job hashes and the de-dup key.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from conftest import free_port
from flask.testing import FlaskClient
from rq import Queue
from werkzeug.test import create_environ, run_wsgi_app

from sidecar.api.events import DEDUPE_KEY, MAX_BODY
from sidecar.app import create_app
from sidecar.config import Settings, load_settings
from sidecar.engine import queueing, runtime_config
from sidecar.jobs import registry
from sidecar.signing import new_secret, sign, signature_headers

ROOT = Path(__file__).resolve().parents[2]
NEW_SECRET = new_secret()
OLD_SECRET = new_secret()
# Routed actions for these tests, independent of which capabilities are built when they run.
ROUTED = {"invoice.issue": "sidecar.jobs.invoice:issue", "crm.sync_order": "sidecar.jobs.crm:sync_order"}


def env(redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "BPM_WEBHOOK_SECRETS": f"{NEW_SECRET} {OLD_SECRET}",
        "BPM_STORE_URL": "http://127.0.0.1:9",
        "BPM_STORE_USER": "bpm-api",
        "BPM_STORE_APP_PASSWORD": "abcd efgh ijkl mnop",
        "BPM_ALLOW_INSECURE_STORE": "true",
        "BPM_REDIS_URL": redis_url,
        "BPM_QUEUE": "bpm-test",
        "BPM_AUDIT_DIR": "",
        **extra,
    }


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return load_settings(env(redis_url))


class ClosingClient(FlaskClient):
    """Closes each response once read, as a WSGI server does: that runs its call_on_close hooks (metrics)."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(settings: Settings, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch):
    for name, target in ROUTED.items():
        monkeypatch.setitem(registry.ACTIONS, name, target)
    app = create_app(settings)
    app.test_client_class = ClosingClient
    return app.test_client()


def envelope(event_type: str = "order.paid", **data: object) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": "2026-11-22T12:00:00Z",
        "store": "https://shop.example",
        "data": data if data else {"order_id": 123, "from": "pending", "to": "processing"},
    }


def signed(
    body: bytes,
    msg_id: str,
    secrets: tuple[str, ...] = (NEW_SECRET,),
    now: float | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    headers = signature_headers(list(secrets), body, msg_id=msg_id, now=now)
    headers["Content-Type"] = content_type
    return headers


def post(client, event: dict, **kwargs):
    body = json.dumps(event).encode()
    return client.post("/v1/events", data=body, headers=signed(body, event["id"], **kwargs))


def queued(conn: redis.Redis, settings: Settings) -> int:
    return Queue(settings.queue, connection=conn).count


def assert_nothing_queued(conn: redis.Redis, settings: Settings) -> None:
    assert queued(conn, settings) == 0
    assert conn.keys("rq:job:*") == []
    assert conn.keys(DEDUPE_KEY.format("*")) == []


def events_metric(conn: redis.Redis) -> dict[tuple[str, str], int]:
    return {tuple(json.loads(k)): int(v) for k, v in conn.hgetall("bpm:metrics:events").items()}


def test_accepted_event_queues_one_job_per_action(client, redis_conn, settings):
    event = envelope()
    response = post(client, event)
    assert response.status_code == 202
    assert response.get_json() == {
        "id": event["id"],
        "duplicate": False,
        "actions": ["invoice.issue", "crm.sync_order"],
    }
    assert queued(redis_conn, settings) == 2
    key = DEDUPE_KEY.format(event["id"])
    assert json.loads(redis_conn.get(key)) == ["invoice.issue", "crm.sync_order"]
    assert settings.dedupe_ttl - 5 < redis_conn.ttl(key) <= settings.dedupe_ttl
    # The queued job carries the validated envelope, and nothing the plugin did not send.
    job_args = Queue(settings.queue, connection=redis_conn).jobs[0].args
    assert job_args[0]["data"] == event["data"]
    assert events_metric(redis_conn) == {("order.paid", "accepted"): 1}


def test_duplicate_id_is_queued_once(client, redis_conn, settings):
    event = envelope()
    assert post(client, event).status_code == 202
    again = post(client, event)
    assert again.status_code == 200
    assert again.get_json() == {
        "id": event["id"],
        "duplicate": True,
        "actions": ["invoice.issue", "crm.sync_order"],
    }
    assert queued(redis_conn, settings) == 2
    assert events_metric(redis_conn) == {("order.paid", "accepted"): 1, ("order.paid", "duplicate"): 1}


def test_duplicate_requeues_jobs_lost_with_redis(client, redis_conn, settings):
    event = envelope()
    assert post(client, event).status_code == 202
    # Redis lost the jobs but kept the de-dup key (e.g. a partial restore): the re-delivery heals it.
    queue = Queue(settings.queue, connection=redis_conn)
    for job in queue.jobs:
        job.delete()
    assert queued(redis_conn, settings) == 0
    again = post(client, event)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert sorted(j.id for j in queue.jobs) == sorted(
        queueing.job_id(event["id"], a) for a in ("invoice.issue", "crm.sync_order")
    )


def test_upper_case_id_is_the_same_event(client, redis_conn, settings):
    event = envelope()
    assert post(client, event).status_code == 202
    upper = dict(event, id=event["id"].upper())
    assert post(client, upper).status_code == 200
    assert queued(redis_conn, settings) == 2


def _bad_signature_cases() -> Iterator[tuple[str, object]]:
    yield "tampered body", lambda body, eid: (body.replace(b"123", b"124"), signed(body, eid))
    yield "unknown secret", lambda body, eid: (body, signed(body, eid, secrets=(new_secret(),)))
    yield "stale timestamp", lambda body, eid: (body, signed(body, eid, now=time.time() - 301))
    yield "future timestamp", lambda body, eid: (body, signed(body, eid, now=time.time() + 301))
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        yield (
            f"missing {header}",
            lambda body, eid, h=header: (
                body,
                {k: v for k, v in signed(body, eid).items() if k != h},
            ),
        )
    yield (
        "signature of another id",
        lambda body, eid: (body, {**signed(body, str(uuid.uuid4())), "webhook-id": eid}),
    )
    yield (
        "non-v1 scheme",
        lambda body, eid: (
            body,
            {
                **signed(body, eid),
                "webhook-signature": signed(body, eid)["webhook-signature"].replace("v1,", "v1a,"),
            },
        ),
    )
    yield (
        "timestamp not an integer",
        lambda body, eid: (body, {**signed(body, eid), "webhook-timestamp": "1e9"}),
    )


@pytest.mark.parametrize(
    ("case", "make"), list(_bad_signature_cases()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_bad_signature_is_401_and_queues_nothing(client, redis_conn, settings, case, make):
    event = envelope()
    body, headers = make(json.dumps(event).encode(), event["id"])
    response = client.post("/v1/events", data=body, headers=headers)
    assert response.status_code == 401, case
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "urn:bpm-bridge:problem:bad-signature"
    assert problem["status"] == 401 and problem["detail"]
    assert_nothing_queued(redis_conn, settings)
    assert events_metric(redis_conn) == {("unknown", "bad_signature"): 1}


def test_refusals_are_logged_with_their_reason(client, redis_conn, settings, caplog):
    """A secret rotated on one side only shows up as 401s: the operator needs the reason in the log."""
    event = envelope()
    with caplog.at_level("WARNING", logger="sidecar.api.events"):
        assert post(client, event, secrets=(new_secret(),)).status_code == 401
        assert post(client, dict(envelope(), type="order.teleported")).status_code == 422
    messages = [r.getMessage() for r in caplog.records if r.name == "sidecar.api.events"]
    assert messages == [
        "event refused (401): no signature matches a configured secret",
        "event refused (422): invalid type",
    ]


def test_timestamp_inside_tolerance_is_accepted(client, redis_conn, settings):
    for offset in (-290, 290):
        assert post(client, envelope(), now=time.time() + offset).status_code == 202


@pytest.mark.parametrize(
    "secrets", [(NEW_SECRET,), (OLD_SECRET,), (NEW_SECRET, OLD_SECRET), (new_secret(), OLD_SECRET)]
)
def test_rotated_secrets_all_verify(client, redis_conn, settings, secrets):
    # The plugin signs with new and old during rotation; any entry matching any configured secret wins.
    assert post(client, envelope(), secrets=secrets).status_code == 202


def _sized_event(size: int) -> tuple[dict, bytes]:
    event = envelope()
    body = json.dumps(event).encode()
    # Pad with JSON whitespace so the body is still the same valid envelope.
    return event, body[:-1] + b" " * (size - len(body)) + b"}"


def test_body_of_exactly_64_kib_is_accepted(client, redis_conn, settings):
    event, body = _sized_event(MAX_BODY)
    assert len(body) == MAX_BODY
    response = client.post("/v1/events", data=body, headers=signed(body, event["id"]))
    assert response.status_code == 202


def test_body_over_64_kib_is_413_and_queues_nothing(client, redis_conn, settings):
    event, body = _sized_event(MAX_BODY + 1)
    response = client.post("/v1/events", data=body, headers=signed(body, event["id"]))
    assert response.status_code == 413
    assert response.get_json()["type"] == "urn:bpm-bridge:problem:payload-too-large"
    assert_nothing_queued(redis_conn, settings)
    assert events_metric(redis_conn) == {("unknown", "too_large"): 1}


def test_declared_length_over_limit_is_refused_before_reading(client, redis_conn, settings):
    class Exploding:
        def read(self, *args):
            raise AssertionError("the body must not be read")

    environ = create_environ("/v1/events", method="POST", content_type="application/json")
    environ["CONTENT_LENGTH"] = str(10 * MAX_BODY)
    environ["wsgi.input"] = Exploding()
    response = run_wsgi_app(client.application, environ, buffered=True)
    assert response[1].startswith("413")


def _without_length(client, body: bytes, headers: dict[str, str]) -> str:
    """Run a request the way a server hands over a chunked body: no CONTENT_LENGTH, input terminated."""
    import io

    environ = create_environ("/v1/events", method="POST", headers=headers)
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    return run_wsgi_app(client.application, environ, buffered=True)[1]


@pytest.mark.parametrize(("size", "status"), [(MAX_BODY, "202"), (MAX_BODY + 1, "413")])
def test_body_without_content_length_is_limited_while_reading(client, redis_conn, settings, size, status):
    event, body = _sized_event(size)
    assert _without_length(client, body, signed(body, event["id"])).startswith(status)
    if status == "413":
        assert_nothing_queued(redis_conn, settings)


def test_non_json_content_type_is_415(client, redis_conn, settings):
    event = envelope()
    response = post(client, event, content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json()["type"] == "urn:bpm-bridge:problem:unsupported-media-type"
    assert_nothing_queued(redis_conn, settings)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe{}", b'{"a": NaN}', b""])
def test_body_that_is_not_a_json_object_is_400(client, redis_conn, settings, body):
    msg_id = str(uuid.uuid4())
    response = client.post("/v1/events", data=body, headers=signed(body, msg_id))
    assert response.status_code == 400
    assert response.get_json()["type"] == "urn:bpm-bridge:problem:malformed-json"
    assert_nothing_queued(redis_conn, settings)


def test_unknown_type_is_422_naming_type(client, redis_conn, settings):
    response = post(client, dict(envelope(), type="order.teleported"))
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"] == "urn:bpm-bridge:problem:invalid-envelope"
    assert list(problem["errors"]) == ["type"]
    assert "order.paid" in problem["errors"]["type"][0]
    assert problem["detail"].startswith("type: ")
    assert_nothing_queued(redis_conn, settings)
    assert events_metric(redis_conn) == {("unknown", "invalid"): 1}


def test_missing_order_id_is_422_naming_it(client, redis_conn, settings):
    response = post(client, envelope("order.paid", to="processing"))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"data.order_id": ["Missing data for required field."]}
    assert response.get_json()["detail"] == "data.order_id: Missing data for required field."
    assert_nothing_queued(redis_conn, settings)
    assert events_metric(redis_conn) == {("order.paid", "invalid"): 1}


def test_every_bad_field_is_named(client, redis_conn, settings):
    event = dict(
        envelope("order.refunded", order_id=0), occurred_at="2026-11-22T13:00:00+01:00", store="ftp://x"
    )
    response = post(client, event)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {
        "occurred_at",
        "store",
        "data.order_id",
        "data.refund_id",
        "data.amount",  # required since contract revision 2
    }


def test_envelope_id_must_be_the_signed_webhook_id(client, redis_conn, settings):
    event = envelope()
    body = json.dumps(event).encode()
    response = client.post("/v1/events", data=body, headers=signed(body, str(uuid.uuid4())))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["id"]
    assert_nothing_queued(redis_conn, settings)


def test_unrouted_types_are_accepted_with_no_actions(client, redis_conn, settings):
    response = post(client, envelope("ping"))
    assert response.status_code == 202 and response.get_json()["actions"] == []
    assert queued(redis_conn, settings) == 0


def test_config_updated_drops_the_cached_configuration(client, redis_conn, settings):
    redis_conn.set(runtime_config.CACHE_KEY, json.dumps({"version": 1}))
    response = post(client, envelope("config.updated", version=2))
    assert response.status_code == 202
    assert redis_conn.get(runtime_config.CACHE_KEY) is None


def test_redis_down_is_503_with_retry_after(redis_url, monkeypatch):
    app = create_app(load_settings(env(f"redis://127.0.0.1:{free_port()}/0")))
    response = post(app.test_client(), envelope())
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["type"] == "urn:bpm-bridge:problem:unavailable"


def test_failed_enqueue_forgets_the_id_so_redelivery_is_new(client, redis_conn, settings, monkeypatch):
    real = queueing.enqueue_actions

    def broken(*args, **kwargs):
        raise redis.ConnectionError("connection reset")

    monkeypatch.setattr(queueing, "enqueue_actions", broken)
    event = envelope()
    assert post(client, event).status_code == 503
    assert_nothing_queued(redis_conn, settings)
    monkeypatch.setattr(queueing, "enqueue_actions", real)
    response = post(client, event)
    assert response.status_code == 202 and response.get_json()["duplicate"] is False
    assert queued(redis_conn, settings) == 2


def test_meta_lists_the_routing_table(client):
    body = client.get("/v1/meta").get_json()
    assert body["event_types"]["order.paid"] == ["invoice.issue", "crm.sync_order"]
    assert body["event_types"]["ping"] == []
    assert set(body["event_types"]) == set(registry.EVENT_ACTIONS)
    assert body["version"]


def test_unknown_route_and_method_answer_problem_json(client):
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    wrong = client.get("/v1/events")
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]
    assert wrong.get_json()["type"] == "urn:bpm-bridge:problem:method-not-allowed"


def test_unexpected_error_is_500_problem_without_internals(client, monkeypatch):
    def crash(event_type):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(registry, "actions_for", crash)
    response = post(client, envelope())
    assert response.status_code == 500
    assert response.content_type == "application/problem+json"
    assert "internals" not in response.get_data(as_text=True)


# --- the same intake behind a real gunicorn ---------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn(redis_url: str) -> Iterator[str]:
    # One server for the module: the tests' redis_conn fixture flushes the DB between them.
    port = free_port()
    # A temp file, not a pipe: a pipe nobody reads fills up and blocks gunicorn.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "1",
                "-k",
                "sidecar.serving.IntakeWorker",  # the production worker class
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "sidecar.app:create_app()",
            ],
            cwd=ROOT,
            env={**os.environ, **env(redis_url)},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass  # not listening yet, or a worker still booting on a busy machine
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("gunicorn did not start: " + log.read().decode()[-2000:])
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            proc.wait(10)


def test_gunicorn_serves_the_intake(gunicorn, redis_conn):
    event = envelope("ping")
    body = json.dumps(event).encode()
    response = requests.post(gunicorn + "/v1/events", data=body, headers=signed(body, event["id"]), timeout=5)
    assert response.status_code == 202, response.text
    assert redis_conn.exists(DEDUPE_KEY.format(event["id"]))
    assert requests.post(
        gunicorn + "/v1/events", data=body, headers=signed(body, event["id"]), timeout=5
    ).json()["duplicate"]


def test_gunicorn_refuses_an_oversized_chunked_body(gunicorn, redis_conn):
    event, body = _sized_event(4 * MAX_BODY)
    host, port = gunicorn.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    conn.request("POST", "/v1/events", body=chunks, headers=signed(body, event["id"]), encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["type"] == "urn:bpm-bridge:problem:payload-too-large"
    assert redis_conn.keys(DEDUPE_KEY.format("*")) == []


def test_gunicorn_accepts_a_chunked_body_within_the_limit(gunicorn, redis_conn):
    event = envelope("ping")
    body = json.dumps(event).encode()
    host, port = gunicorn.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request(
        "POST",
        "/v1/events",
        body=iter([body[:10], body[10:]]),
        headers=signed(body, event["id"]),
        encode_chunked=True,
    )
    assert conn.getresponse().status == 202


def test_signature_uses_the_exact_raw_bytes(client, redis_conn, settings):
    # Re-serialising the JSON (other spacing) must not verify: the HMAC covers the bytes sent.
    event = envelope()
    sent = json.dumps(event, indent=2).encode()
    ts = int(time.time())
    headers = {
        "webhook-id": event["id"],
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(NEW_SECRET, event["id"], ts, json.dumps(event).encode()),
        "Content-Type": "application/json",
    }
    assert client.post("/v1/events", data=sent, headers=headers).status_code == 401


@pytest.mark.parametrize("bad_type", [{}, [], None, 7, True])
def test_non_string_type_is_422_not_a_crash(client, redis_conn, settings, bad_type):
    # Found by schemathesis: an unhashable "type" once crashed the validator with a 500.
    response = post(client, dict(envelope(), type=bad_type))
    assert response.status_code == 422
    assert "type" in response.get_json()["errors"]
    assert_nothing_queued(redis_conn, settings)


def test_logs_are_json_lines_with_ids(client, redis_conn, settings):
    import io

    from sidecar.logs import configure_logging

    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        event = envelope("order.paid", order_id=77)
        assert post(client, event).status_code == 202
        post(client, dict(envelope(), type="nope"))
    finally:
        configure_logging("WARNING")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    accepted = [line for line in lines if line.get("event_id") == event["id"]]
    assert accepted, lines
    assert accepted[0]["level"] == "INFO" and accepted[0]["logger"] == "sidecar.api.events"
    assert accepted[0]["order_id"] == 77 and accepted[0]["event_type"] == "order.paid"
    assert accepted[0]["ts"].endswith("Z")


# --- issue 8: nesting, the redelivery counter, refund amounts ----------------------------------------


@pytest.mark.parametrize("depth", [30_000, 200, 9])
def test_deeply_nested_json_is_400_not_500(client, redis_conn, settings, depth):
    event = envelope()
    nested = "[" * depth + "]" * depth
    body = json.dumps(event).encode()[:-1] + b', "extra": ' + nested.encode() + b"}"
    response = client.post("/v1/events", data=body, headers=signed(body, event["id"]))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["type"] == "urn:bpm-bridge:problem:malformed-json"
    assert "deeper than" in response.get_json()["detail"]
    assert_nothing_queued(redis_conn, settings)


def test_nesting_within_the_limit_is_fine(client, redis_conn, settings):
    event = dict(envelope(), extra=[[[[["ok"]]]]])  # unknown keys are dropped, not refused
    assert post(client, event).status_code == 202


@pytest.mark.parametrize("value", [0, -1, True, 1.0, "1", None, 10**6 + 1, 10**30])
def test_redelivery_must_be_a_positive_integer(client, redis_conn, settings, value):
    response = post(client, dict(envelope(), redelivery=value))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["redelivery"]
    assert_nothing_queued(redis_conn, settings)


def test_a_first_delivery_with_a_redelivery_counter_is_queued_and_remembered(client, redis_conn, settings):
    from sidecar.engine import redelivery

    event = dict(envelope(), redelivery=2)
    assert post(client, event).status_code == 202
    assert redelivery.seen(redis_conn, event["id"]) == 2
    again = post(client, event)  # the same counter: a plain duplicate
    assert again.status_code == 200 and "redelivered" not in again.get_json()


def test_order_refunded_requires_the_amount(client, redis_conn, settings):
    response = post(client, envelope("order.refunded", order_id=5, refund_id=6))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"data.amount": ["Missing data for required field."]}
    ok = post(client, envelope("order.refunded", order_id=5, refund_id=6, amount="10.00"))
    assert ok.status_code == 202


def test_event_types_and_their_keys_come_from_the_contract():
    from sidecar import contract, events

    assert contract.event_types() == events.EVENT_TYPES
    for event_type in contract.event_types():
        spec = contract.event_spec(event_type)
        declared = events.data_schema(event_type).fields
        assert set(declared) == set(spec["required"]) | set(spec["optional"])
        assert {k for k, f in declared.items() if f.required} == set(spec["required"])


def test_routing_goes_through_the_registry_with_the_data(client, redis_conn, settings):
    # order.status_changed queues invoice.issue only when "to" is completed (contract conditions).
    shipped = post(
        client, envelope("order.status_changed", order_id=1, **{"from": "processing", "to": "on-hold"})
    )
    done = post(
        client, envelope("order.status_changed", order_id=1, **{"from": "processing", "to": "completed"})
    )
    assert "invoice.issue" not in shipped.get_json()["actions"]
    assert "invoice.issue" in done.get_json()["actions"]


def test_a_redis_error_mid_transaction_leaves_nothing_and_writes_nothing(
    client, redis_conn, settings, monkeypatch
):
    import redis.client

    def fail(self, *args, **kwargs):
        raise redis.ConnectionError("gone")

    event = envelope()
    writes: list[str] = []
    monkeypatch.setattr(redis.client.Pipeline, "execute", fail)
    real = redis.Redis.execute_command

    def spy(self, *args, **kwargs):
        writes.append(str(args[0]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", spy)
    response = post(client, event)
    assert response.status_code == 503
    # The failed transaction is the last thing sent to Redis: no compensation, no metric write.
    written = {"SET", "DEL", "UNLINK", "HINCRBY", "HSET", "EVAL", "EVALSHA", "EXEC", "SADD", "RPUSH", "ZADD"}
    assert not [w for w in writes if w.upper() in written], writes
    monkeypatch.undo()
    assert_nothing_queued(redis_conn, settings)
    assert events_metric(redis_conn) == {}


def test_a_redis_answering_each_command_slowly_is_a_503_within_a_second(
    client, redis_conn, settings, monkeypatch
):
    """Each command within the 0.5 s socket timeout, but together too slow: the budget stops the next one."""
    import redis.connection

    real = redis.connection.Connection.read_response

    def slow(self, *args, **kwargs):
        time.sleep(0.3)
        return real(self, *args, **kwargs)

    assert post(client, envelope()).status_code == 202  # pooled connection, as in production
    monkeypatch.setattr(redis.connection.Connection, "read_response", slow)
    started = time.perf_counter()
    response = post(client, envelope())
    elapsed = time.perf_counter() - started
    monkeypatch.undo()
    assert response.status_code == 503 and elapsed < 1.0, (response.status_code, elapsed)
    assert queued(redis_conn, settings) == 2  # the first event's jobs only


def test_the_metric_is_written_after_the_answer(settings, redis_conn, monkeypatch):
    from sidecar.metrics import Metrics

    order: list[str] = []
    monkeypatch.setattr(Metrics, "event", lambda self, *args, **kwargs: order.append("metric"))
    app = create_app(settings)
    environ = create_environ("/v1/events", method="POST", data=b"{}", content_type="application/json")
    app_iter = app(environ, lambda status, headers: order.append(status))
    body = b"".join(app_iter)
    assert order == ["401 UNAUTHORIZED"] and body
    app_iter.close()  # the server has sent the answer
    assert order == ["401 UNAUTHORIZED", "metric"]


@pytest.mark.parametrize(
    ("cached", "expected"),
    [
        (None, ["invoice.issue", "crm.sync_order"]),
        ({"invoicing": {"provider": "fakturownia"}, "crm": {"provider": "none"}}, ["invoice.issue"]),
        ({"invoicing": {"provider": "none"}, "crm": {"provider": "hubspot"}}, ["crm.sync_order"]),
        (
            {"invoicing": {"provider": "infakt"}, "crm": {"provider": "pipedrive"}},
            ["invoice.issue", "crm.sync_order"],
        ),
    ],
    ids=["no-cache", "crm-off", "invoicing-off", "both-on"],
)
def test_actions_of_switched_off_sections_are_not_queued(client, redis_conn, settings, cached, expected):
    """Each would only report "skipped", at the cost of a request to the shop (decision 25)."""
    if cached is not None:
        redis_conn.set(runtime_config.CACHE_KEY, json.dumps(cached))
    response = post(client, envelope())
    assert response.status_code == 202 and response.get_json()["actions"] == expected
    assert queued(redis_conn, settings) == len(expected)
    # A refund's correction is queued even with invoicing off: a document issued before needs it.
    redis_conn.set(runtime_config.CACHE_KEY, json.dumps({"invoicing": {"provider": "none"}}))
    refund = post(client, envelope("order.refunded", order_id=5, refund_id=6, amount="10.00"))
    assert "invoice.correct" in refund.get_json()["actions"]
