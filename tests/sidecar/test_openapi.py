"""Schemathesis over sidecar/openapi.yaml against the real app (in-process WSGI, real Redis).

Two runs per operation: requests as generated (mostly refused at the signature: 401 must still be a
documented problem), and the same requests signed by a test middleware, so generated envelopes reach
the parser, the validator and Redis. In both: no 5xx, every status/content type/body/header documented.
"""

from __future__ import annotations

import http.server
import io
import json
import threading
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from sidecar.app import create_app
from sidecar.config import load_settings
from sidecar.signing import new_secret, signature_headers

SPEC = Path(__file__).resolve().parents[2] / "sidecar" / "openapi.yaml"
SECRET = new_secret()
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"mode": "all", "max-examples": 40, "database": "none", "deterministic": True}}
)
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class SigningMiddleware:
    """Signs /v1/events requests as the plugin would, using the envelope's id as webhook-id when usable."""

    def __init__(self, app, secret: str) -> None:
        self.app = app
        self.secret = secret

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/v1/events":
            body = environ["wsgi.input"].read()
            msg_id = environ.get("HTTP_WEBHOOK_ID") or "generated"
            try:
                candidate = json.loads(body).get("id")
            except (ValueError, AttributeError):
                candidate = None
            if isinstance(candidate, str) and candidate.isascii() and candidate.isprintable() and candidate:
                msg_id = candidate
            if "." in msg_id or not msg_id.isascii():
                msg_id = "generated"
            for name, value in signature_headers([self.secret], body, msg_id=msg_id).items():
                environ["HTTP_" + name.upper().replace("-", "_")] = value
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


class _StoreIndex(http.server.BaseHTTPRequestHandler):
    """Just enough of WordPress for /readyz: the home page's REST link and the plugin's route index."""

    def do_GET(self):
        if self.path == "/":
            self.send_response(200)
            host = f"http://{self.headers['Host']}"
            self.send_header("Link", f'<{host}/wp-json/>; rel="https://api.w.org/"')
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>shop</html>")
            return
        self.send_response(200 if self.path == "/wp-json/bpm-bridge/v1" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"namespace": "bpm-bridge/v1", "routes": {}}')

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def store_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StoreIndex)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def app(redis_url, redis_conn, store_url):
    settings = load_settings(
        {
            "BPM_WEBHOOK_SECRETS": SECRET,
            "BPM_STORE_URL": store_url,
            "BPM_STORE_USER": "u",
            "BPM_STORE_APP_PASSWORD": "p",
            "BPM_ALLOW_INSECURE_STORE": "true",
            "BPM_REDIS_URL": redis_url,
            "BPM_QUEUE": "bpm-openapi-test",
            "BPM_AUDIT_DIR": "",
            "BPM_LOG_LEVEL": "WARNING",
        }
    )
    return create_app(settings)


# One app (and one flushed Redis DB) per operation is the point: the fixture is shared on purpose.
SHARED_FIXTURE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@schema.parametrize()
@SHARED_FIXTURE
def test_api_as_generated(case, app):
    case.call_and_validate(app=app, checks=[*CONFORMANCE, missing_required_header, unsupported_method])


@schema.include(path="/v1/events").parametrize()
@SHARED_FIXTURE
def test_events_signed(case, app):
    case.call_and_validate(app=SigningMiddleware(app, SECRET), checks=CONFORMANCE)


def test_signed_run_reaches_past_the_signature(app, redis_conn):
    # Guards the guard: if the middleware stopped producing valid signatures, the run above would only
    # ever see 401s and prove nothing about the parser and validator.
    body = json.dumps(
        {
            "id": "0193a4c2-7d1e-4c3a-9b7e-2f4c1d9e8a10",
            "type": "ping",
            "occurred_at": "2026-11-22T12:00:00Z",
            "store": "https://shop.example",
            "data": {},
        }
    ).encode()
    client = app.test_client()
    client.application.wsgi_app = SigningMiddleware(client.application.wsgi_app, SECRET)
    response = client.post("/v1/events", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.get_json()


def test_the_app_serves_this_document(app):
    response = app.test_client().get("/v1/openapi.yaml")
    assert response.status_code == 200 and response.mimetype == "application/yaml"
    assert response.get_data(as_text=True) == SPEC.read_text(encoding="utf-8")
