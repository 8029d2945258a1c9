"""The outbox over real HTTP: checkout never waits for the sidecar, and nothing is lost while it is down.

The "checkout" is the WooCommerce double's anonymous sandbox route, which creates and pays an order in the
request the way a gateway does, so the plugin's order hooks run inside that request. A site-local must-use
plugin logs every outbound HTTP call WordPress makes with the URI of the request that made it, so "no connect
attempt in the shopper's request" is checked directly, not inferred from timing alone.
"""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from sidecar.signing import SignatureError, new_secret, verify

pytestmark = pytest.mark.wordpress

HTTP_LOGGER = """<?php
// Test-only (tests/wp-plugin/test_outbox_http.py): log every outbound HTTP request and who made it.
add_filter( 'pre_http_request', static function ( $preempt, $args, $url ) {
	$line = wp_json_encode( array( 'uri' => $_SERVER['REQUEST_URI'] ?? 'cli', 'url' => $url,
		't' => microtime( true ) ) );
	file_put_contents( WP_CONTENT_DIR . '/bpm-http-log.jsonl', $line . "\\n", FILE_APPEND | LOCK_EX );
	return $preempt;
}, PHP_INT_MAX, 3 );
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HangingSidecar:
    """Accepts connections and never answers; closes each after ``hold`` seconds (a wedged sidecar)."""

    def __init__(self, port: int, hold: float = 3.0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.hold = hold
        self.accepted = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            threading.Timer(self.hold, conn.close).start()

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


class Receiver:
    """A signature-verifying POST /v1/events endpoint answering like the sidecar (docs/contract.md §2)."""

    def __init__(self, port: int, secret: str) -> None:
        events: list[dict] = []
        self.events = events

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path != "/v1/events":
                    return self._answer(404, {"title": "Not found"})
                if not headers.get("content-type", "").startswith("application/json"):
                    return self._answer(415, {"title": "Unsupported media type"})
                try:
                    verify([secret], headers, body)
                except SignatureError as exc:
                    return self._answer(401, {"title": "Bad signature", "detail": str(exc)})
                envelope = json.loads(body)
                duplicate = any(e["id"] == envelope["id"] for e in events)
                events.append(envelope)
                actions = ["invoice.issue"] if envelope["type"] == "order.paid" else []
                self._answer(
                    200 if duplicate else 202,
                    {"id": envelope["id"], "duplicate": duplicate, "actions": actions},
                )

            def _answer(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                ctype = "application/json" if status < 300 else "application/problem+json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def outbox_site(wp_site) -> Iterator:
    logger = Path(wp_site.dir) / "wp-content" / "mu-plugins" / "zz-bpm-http-log.php"
    logger.write_text(HTTP_LOGGER)
    secret = new_secret()
    wp_site.php(f"\\BPM_Bridge\\Options::set_secrets( '{secret}' );")
    yield wp_site, secret
    logger.unlink()


def _set_sidecar(site, port: int) -> None:
    result = site.php(
        f"$r = \\BPM_Bridge\\Options::set_sidecar_url( 'http://127.0.0.1:{port}' );"
        " echo is_wp_error( $r ) ? $r->get_error_message() : 'ok';"
    )
    assert result.strip().endswith("ok"), result


def _checkout(site) -> tuple[int, float]:
    started = time.monotonic()
    resp = requests.post(
        site.rest("/wc-double/v1/checkout"), json={"paid": True, "payment_method": "przelewy24"}, timeout=30
    )
    elapsed = time.monotonic() - started
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "processing"
    return resp.json()["order_id"], elapsed


def _rows(site, order_id: int) -> list[dict]:
    return site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::for_order( {order_id} ) );")  # type: ignore[return-value]


def _http_log(site) -> list[dict]:
    path = Path(site.dir) / "wp-content" / "bpm-http-log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_checkout_adds_no_network_wait_while_the_sidecar_hangs_or_is_down(outbox_site):
    site, secret = outbox_site
    timings: dict[str, list[float]] = {}
    orders: list[int] = []

    up_port = _free_port()
    receiver = Receiver(up_port, secret)
    try:
        _set_sidecar(site, up_port)
        _checkout(site)  # warm-up: opcache, first cron spawn
        timings["up"] = [_checkout(site)[1] for _ in range(3)]
    finally:
        receiver.close()

    hanging_port = _free_port()
    hanging = HangingSidecar(hanging_port)
    try:
        _set_sidecar(site, hanging_port)
        for _ in range(3):
            order_id, elapsed = _checkout(site)
            orders.append(order_id)
            timings.setdefault("hanging", []).append(elapsed)
    finally:
        hanging.close()

    closed_port = _free_port()  # nothing listens: connection refused
    _set_sidecar(site, closed_port)
    for _ in range(3):
        order_id, elapsed = _checkout(site)
        orders.append(order_id)
        timings.setdefault("down", []).append(elapsed)

    # A synchronous send to the wedged sidecar would take its 3 s hold (the plugin's timeout is 5 s).
    assert max(timings["hanging"]) < 1.5, timings
    assert max(timings["down"]) < 1.5, timings
    up = statistics.median(timings["up"])
    assert statistics.median(timings["hanging"]) < up + 0.5, timings
    assert statistics.median(timings["down"]) < up + 0.5, timings

    # No request to any sidecar was made from inside a checkout request.
    sidecar_ports = {f":{up_port}/", f":{hanging_port}/", f":{closed_port}/"}
    from_checkout = [
        e
        for e in _http_log(site)
        if "/wc-double/v1/checkout" in e["uri"] and any(p in e["url"] for p in sidecar_ports)
    ]
    assert from_checkout == []

    # Every checkout still wrote its events: created and paid, waiting in the outbox.
    for order_id in orders:
        types = {row["event_type"] for row in _rows(site, order_id)}
        assert {"order.created", "order.paid"} <= types, (order_id, types)


def test_rows_are_delivered_after_the_sidecar_recovers(outbox_site):
    site, secret = outbox_site
    port = _free_port()
    _set_sidecar(site, port)
    order_id, _ = _checkout(site)
    assert all(row["status"] == "pending" for row in _rows(site, order_id))

    # The hook scheduled an async drain; running the queue (as Action Scheduler's runner does) fails against
    # the dead sidecar, and the rows wait for a retry instead of being dropped or disabled.
    actions = requests.get(
        site.rest("/wc-double/v1/actions"), params={"hook": "bpm_bridge_drain"}, timeout=30
    )
    assert any(a["status"] in ("pending", "complete") for a in actions.json()), actions.text
    requests.post(site.rest("/wc-double/v1/run-queue"), timeout=60)
    site.php("\\BPM_Bridge\\Dispatcher::drain( 5 );")  # the one-minute WP-Cron safety net, run now
    rows = _rows(site, order_id)
    # The drain did try the dead sidecar (older rows of earlier orders may go first; the plugin gives the
    # rest back untried, one timeout per drain), and nothing is dropped, failed or disabled.
    tried = [e for e in _http_log(site) if f":{port}/v1/events" in e["url"]]
    assert tried, "the drain never tried to reach the sidecar"
    assert rows and all(row["status"] == "pending" for row in rows), rows

    receiver = Receiver(port, secret)
    try:
        # Backoff after a failure is 15-30 s (30 s for rows given back untried); the safety-net drain
        # delivers once it has passed.
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline:
            site.php("\\BPM_Bridge\\Dispatcher::drain( 5 );")
            rows = _rows(site, order_id)
            if all(row["status"] != "pending" for row in rows):
                break
            time.sleep(2)
        assert all(row["status"] in ("sent", "done") for row in rows), rows
        delivered = {e["id"]: e for e in receiver.events}
        for row in rows:
            envelope = delivered[row["id"]]  # the event id is the message id, identical on re-delivery
            assert envelope["data"]["order_id"] == order_id
            assert envelope["store"] == site.url
        paid = next(row for row in rows if row["event_type"] == "order.paid")
        assert paid["status"] == "sent"  # waits for the invoice.issue outcome
    finally:
        receiver.close()
