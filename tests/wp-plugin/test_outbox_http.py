"""The outbox over real HTTP, on real WooCommerce, under Apache + mod_php and under PHP's built-in server.

Orders are created and paid through WooCommerce's own REST API (``POST wc/v3/orders`` with ``set_paid``, as an
import or a gateway integration does), so the plugin's order hooks run inside that request. What is checked:

- delivery within a second with no further traffic: the request that wrote the rows kicks a drain (a signed
  loopback to admin-ajax.php) and a listening sidecar receives the event; nothing else is requested meanwhile;
- the kick costs the writing request next to nothing, whether the sidecar is up, down or hanging (measured
  inside the request by the plugin's ``bpm_bridge_kicked`` action; figures printed with ``-s``);
- the writing request never talks to the sidecar itself (a must-use plugin logs every outbound HTTP request
  with the request that made it);
- after an outage, one successful delivery brings every waiting row along (catch-up);
- Retry re-delivers at once, with the envelope's ``redelivery`` counter.

The stack comes from BPM_OUTBOX_STACK (default: tests/support/wordpress.py's current real stack).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress

from sidecar.signing import SignatureError, new_secret, verify

pytestmark = pytest.mark.wordpress

STACK = os.environ.get("BPM_OUTBOX_STACK", wordpress.DEFAULT_STACK)

# Test-only must-use plugin: log every outbound HTTP request and every kick, with the request that made it.
LOGGER = """<?php
function bpm_test_log( $line ) {
	$line['uri']     = $_SERVER['REQUEST_URI'] ?? 'cli';
	$line['action']  = $_REQUEST['action'] ?? '';
	$line['test_id'] = $_SERVER['HTTP_X_BPM_TEST_ID'] ?? '';
	$line['t']       = microtime( true );
	$file = WP_CONTENT_DIR . '/bpm-http-log.jsonl';
	file_put_contents( $file, wp_json_encode( $line ) . "\\n", FILE_APPEND | LOCK_EX );
}
add_filter( 'pre_http_request', static function ( $preempt, $args, $url ) {
	bpm_test_log( array( 'kind' => 'http', 'url' => $url ) );
	return $preempt;
}, PHP_INT_MAX, 3 );
// CPU time (user + system) the process spends in the kick, from the URL filter on (connect, write, close):
// unlike wall time it excludes waiting for a CPU on a busy machine (a loopback connect wakes the server,
// which the scheduler may run first).
function bpm_test_cpu() {
	$u = getrusage();
	$sec = $u['ru_utime.tv_sec'] + $u['ru_stime.tv_sec'];
	return $sec + ( $u['ru_utime.tv_usec'] + $u['ru_stime.tv_usec'] ) / 1e6;
}
add_filter( 'bpm_bridge_kick_url', static function ( $url ) {
	$GLOBALS['bpm_test_cpu_start'] = bpm_test_cpu();
	return $url;
}, PHP_INT_MAX );
add_action( 'bpm_bridge_kicked', static function ( $sent, $elapsed, $url ) {
	$cpu = bpm_test_cpu() - ( $GLOBALS['bpm_test_cpu_start'] ?? bpm_test_cpu() );
	$line = array( 'kind' => 'kick', 'sent' => $sent, 'elapsed' => $elapsed, 'cpu' => $cpu );
	bpm_test_log( $line + array( 'url' => $url ) );
}, 10, 3 );
// With the flag file present, the kick is taken off 'shutdown' (the baseline for the request-time figures).
add_action( 'shutdown', static function () {
	if ( file_exists( WP_CONTENT_DIR . '/bpm-kick-off' ) && \\BPM_Bridge\\Plugin::kick() ) {
		remove_action( 'shutdown', array( \\BPM_Bridge\\Plugin::kick(), 'send' ), 20 );
	}
}, 19 );
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
        self.stopped = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Timer(self.hold, conn.close).start()

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


class Receiver:
    """A signature-verifying POST /v1/events endpoint answering like the sidecar (docs/contract.md §2)."""

    def __init__(self, port: int, secret: str) -> None:
        events: list[dict] = []
        self.events = events
        self.arrived: dict[str, float] = {}  # event id -> time of its first arrival
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path != "/v1/events":
                    return self._answer(404, {"title": "Not found"})
                try:
                    verify([secret], headers, body)
                except SignatureError as exc:
                    return self._answer(401, {"title": "Bad signature", "detail": str(exc)})
                envelope = json.loads(body)
                duplicate = envelope["id"] in arrived
                arrived.setdefault(envelope["id"], time.monotonic())
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

    def for_order(self, order_id: int) -> list[dict]:
        return [e for e in self.events if e["data"].get("order_id") == order_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Shop:
    """The site under test plus what the tests need to drive it."""

    def __init__(self, site: wordpress.Site, secret: str, app_password: str) -> None:
        self.site = site
        self.secret = secret
        self.auth = (site.admin_user, app_password)
        self.server = ""

    def set_sidecar(self, port: int) -> None:
        result = self.site.php(
            f"$r = \\BPM_Bridge\\Options::set_sidecar_url( 'http://127.0.0.1:{port}' );"
            # No pause left from an earlier test (e.g. a kick that timed out while a server was stopping).
            " update_option( \\BPM_Bridge\\Kick::PAUSE_OPTION, 0, true );"
            " echo is_wp_error( $r ) ? $r->get_error_message() : 'ok';"
        )
        assert result.strip().endswith("ok"), result
        self.settle()

    def settle(self, timeout: float = 15) -> None:
        """Waits until no drain runs (the kick of the set-up's own writes) and nothing is due."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = self.site.php(
                "global $wpdb; $lock = \\BPM_Bridge\\Drain_Lock::name();"
                " $free = (string) $wpdb->get_var( $wpdb->prepare( 'SELECT IS_FREE_LOCK( %s )', $lock ) );"
                " $free = '1' === $free;"
                " echo ( $free && ! \\BPM_Bridge\\Outbox::has_due() ) ? 'idle' : 'busy';"
            )
            if busy.strip().endswith("idle"):
                return
            time.sleep(0.3)

    def paid_order(self, test_id: str | None = None) -> tuple[int, float, float]:
        """Creates a paid order over REST; returns (order id, seconds the request took, its monotonic end)."""
        body: dict = {"payment_method": "bacs", "payment_method_title": "Przelew", "set_paid": True}
        if self.site.products:
            body["line_items"] = [{"product_id": next(iter(self.site.products.values())), "quantity": 1}]
        started = time.monotonic()
        resp = requests.post(
            self.site.rest("/wc/v3/orders"),
            json=body,
            auth=self.auth,
            headers={"X-BPM-Test-Id": test_id or uuid.uuid4().hex},
            timeout=30,
        )
        ended = time.monotonic()
        assert resp.status_code == 201, resp.text[:500]
        return resp.json()["id"], ended - started, ended

    def rows(self, order_id: int) -> list[dict]:
        return self.site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Outbox::for_order( {order_id} ) );")  # type: ignore[return-value]

    def log(self) -> list[dict]:
        path = Path(self.site.dir) / "wp-content" / "bpm-http-log.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    reason = wordpress.missing_requirements(STACK)
    if reason:
        pytest.skip(reason)
    port = _free_port()
    site = wordpress.create_site(wordpress.site_dir("outbox"), f"bpm_test_outbox_{port}", port, stack=STACK)
    try:
        (Path(site.dir) / "wp-content" / "mu-plugins").mkdir(exist_ok=True)
        (Path(site.dir) / "wp-content" / "mu-plugins" / "zz-bpm-test-log.php").write_text(LOGGER)
        secret = new_secret()
        site.php(f"\\BPM_Bridge\\Options::set_secrets( '{secret}' );")
        app_password = site.php(
            "list( $p ) = WP_Application_Passwords::create_new_application_password( 1,"
            " array( 'name' => 'outbox tests' ) ); echo $p;"
        ).strip()
        yield Shop(site, secret, app_password)
    finally:
        if os.environ.get("BPM_KEEP_WP_SITE"):
            print(f"kept WordPress site {site.dir} (database {site.db})")
        else:
            wordpress.destroy_site(site)


# Delivery *timing* is asserted under Apache + mod_php, what shops run. Under PHP's built-in server the kicked
# request was intermittently not served within the deadline on a loaded 2-CPU CI box (twice in ~6 runs; the
# cron net then delivers): the kick's cost, catch-up and the endpoint's refusals still run under both servers.
APACHE_ONLY = pytest.mark.parametrize("served", ["apache"], indirect=True)


@pytest.fixture(scope="module", params=["apache", "php"])
def served(request: pytest.FixtureRequest, shop: Shop) -> Iterator[Shop]:
    """The shop served by Apache + mod_php, then by PHP's built-in server (the kick must work under both)."""
    reason = wordpress.missing_requirements(STACK, request.param)
    if reason:
        pytest.skip(reason)
    handle = wordpress.start_server(shop.site, request.param)
    shop.server = request.param
    try:
        yield shop
    finally:
        wordpress.stop_server(handle)


@APACHE_ONLY
def test_a_row_written_in_a_rest_request_reaches_a_listening_sidecar_within_a_second(served: Shop) -> None:
    port = _free_port()
    receiver = Receiver(port, served.secret)
    try:
        served.set_sidecar(port)
        served.paid_order()  # warm-up: the first admin-ajax request of a fresh server compiles the code
        served.settle()
        delays = []
        for _ in range(3):
            order_id, _, ended = served.paid_order()
            # No further request to the shop: only the kick of the order's own request can deliver.
            deadline = ended + 5
            while time.monotonic() < deadline and not any(
                e["type"] == "order.paid" for e in receiver.for_order(order_id)
            ):
                time.sleep(0.01)
            paid = next((e for e in receiver.for_order(order_id) if e["type"] == "order.paid"), None)
            assert paid is not None, f"order.paid of order {order_id} never arrived ({served.server})"
            delays.append(receiver.arrived[paid["id"]] - ended)
        where = f"[{served.site.stack} {served.server}]"
        print(f"\n{where} paid order -> event at the sidecar: {[round(d, 3) for d in delays]} s")
        assert statistics.median(delays) <= 1.0, delays
        assert max(delays) <= 2.0, delays
        # The kick delivered (our admin-ajax action), not the one-minute WP-Cron. The kick request is a
        # wp-admin request, so Action Scheduler may start its async runner from it, whose drain can take a
        # later row.
        deliverers = {
            (e["uri"].split("?")[0], e["action"]) for e in served.log() if f":{port}/v1/events" in e["url"]
        }
        assert ("/wp-admin/admin-ajax.php", "bpm_bridge_drain") in deliverers, deliverers
        assert deliverers <= {
            ("/wp-admin/admin-ajax.php", "bpm_bridge_drain"),
            ("/wp-admin/admin-ajax.php", "as_async_request_queue_runner"),
        }, deliverers
    finally:
        receiver.close()


def test_the_kick_adds_well_under_5_ms_to_the_writing_request_whatever_the_sidecar_does(served: Shop) -> None:
    figures: dict[str, dict[str, float]] = {}
    test_ids: dict[str, list[str]] = {}
    no_kick: list[float] = []
    with_kick: list[float] = []

    def orders(state: str, count: int = 5) -> None:
        for _ in range(count):
            test_id = uuid.uuid4().hex
            test_ids.setdefault(state, []).append(test_id)
            served.paid_order(test_id)

    up = _free_port()
    receiver = Receiver(up, served.secret)
    try:
        served.set_sidecar(up)
        served.paid_order()  # warm-up: opcache, first kick
        orders("up")
        # The request-time baseline: the same requests with the kick taken off 'shutdown'.
        flag = Path(served.site.dir) / "wp-content" / "bpm-kick-off"
        for _ in range(4):
            flag.touch()
            no_kick.append(served.paid_order()[1])
            flag.unlink()
            with_kick.append(served.paid_order()[1])
            served.settle()
    finally:
        receiver.close()

    hanging_port = _free_port()
    hanging = HangingSidecar(hanging_port)
    try:
        served.set_sidecar(hanging_port)
        orders("hanging")
    finally:
        hanging.close()

    served.set_sidecar(_free_port())  # nothing listens: connection refused
    orders("down")

    log = served.log()
    from_writers = [e for e in log if e["kind"] == "http" and "wc/v3/orders" in e["uri"]]
    sidecar_calls_from_writers = [e for e in from_writers if "/v1/events" in e["url"]]
    assert sidecar_calls_from_writers == [], "a writing request talked to the sidecar itself"
    for state, ids in test_ids.items():
        kicks = {i: [e for e in log if e["kind"] == "kick" and e["test_id"] == i] for i in ids}
        assert all(len(k) == 1 for k in kicks.values()), f"{state}: not exactly one kick per writing request"
        assert all(k[0]["sent"] for k in kicks.values()), f"{state}: a kick was not sent"
        wall = sorted(k[0]["elapsed"] * 1000 for k in kicks.values())
        cpu = sorted(k[0]["cpu"] * 1000 for k in kicks.values())
        figures[state] = {
            "wall_median_ms": round(statistics.median(wall), 3),
            "wall_max_ms": round(wall[-1], 3),
            "cpu_median_ms": round(statistics.median(cpu), 3),
        }
    delta = (statistics.median(with_kick) - statistics.median(no_kick)) * 1000
    print(
        f"\n[{served.site.stack} {served.server}] kick cost inside the writing request: {figures}; "
        f"request time median with kick {statistics.median(with_kick) * 1000:.1f} ms, without "
        f"{statistics.median(no_kick) * 1000:.1f} ms (difference {delta:+.1f} ms, noise included)"
    )
    for state, figure in figures.items():
        assert figure["cpu_median_ms"] <= 5.0, (state, figures)
        # Wall time also holds the waits for a CPU on a loaded machine (the suite's own load on 2 cores made
        # single kicks take ~10 ms); anything blocking on the network would take the 50 ms connect timeout.
        assert figure["wall_median_ms"] <= 25.0, (state, figures)

    # A request that writes nothing kicks nothing.
    quiet = uuid.uuid4().hex
    requests.get(served.site.rest("/"), headers={"X-BPM-Test-Id": quiet}, timeout=30)
    assert [e for e in served.log() if e["test_id"] == quiet and e["kind"] == "kick"] == []


def test_after_an_outage_one_delivery_brings_every_waiting_row(served: Shop) -> None:
    port = _free_port()
    served.set_sidecar(port)  # nobody listens yet
    outage_orders = [served.paid_order()[0] for _ in range(3)]
    served.settle()
    for order_id in outage_orders:
        rows = served.rows(order_id)
        assert rows and all(row["status"] == "pending" for row in rows), rows
    tried = [row for order_id in outage_orders for row in served.rows(order_id) if row["attempts"] > 0]
    assert tried, "the kicks never tried the dead sidecar"

    receiver = Receiver(port, served.secret)
    try:
        # The sidecar is back: the next event's kick delivers it, and everything that waited comes along.
        new_order, _, ended = served.paid_order()
        waiting = {row["id"] for order_id in outage_orders for row in served.rows(order_id)}
        deadline = ended + 10
        while time.monotonic() < deadline and not waiting <= set(receiver.arrived):
            time.sleep(0.05)
        assert waiting <= set(receiver.arrived), f"{len(waiting - set(receiver.arrived))} rows still waiting"
        caught_up = max(receiver.arrived[i] for i in waiting) - ended
        where = f"[{served.site.stack} {served.server}]"
        print(
            f"\n{where} backlog of {len(waiting)} rows delivered {caught_up:.2f} s after the first new event"
        )
        for order_id in outage_orders:
            assert all(row["status"] in ("sent", "done") for row in served.rows(order_id))
        assert any(e["data"].get("order_id") == new_order for e in receiver.events)
    finally:
        receiver.close()


@APACHE_ONLY
def test_retry_redelivers_at_once_with_the_redelivery_counter(served: Shop) -> None:
    port = _free_port()
    receiver = Receiver(port, served.secret)
    try:
        served.set_sidecar(port)
        order_id, _, _ = served.paid_order()
        served.settle()
        paid = next(row for row in served.rows(order_id) if row["event_type"] == "order.paid")
        assert paid["status"] == "sent"
        # What the Events screen's Retry calls; the kick of that request delivers, nothing else is requested.
        served.site.php(f"\\BPM_Bridge\\Outbox::retry( '{paid['id']}' );")
        ended = time.monotonic()
        deadline = ended + 5
        while time.monotonic() < deadline and not any(
            e["id"] == paid["id"] and "redelivery" in e for e in receiver.events
        ):
            time.sleep(0.01)
        again = [e for e in receiver.events if e["id"] == paid["id"]]
        assert [e.get("redelivery") for e in again] == [None, 1], again
    finally:
        receiver.close()


def test_the_kick_endpoint_answers_strangers_403_and_returns_no_data(served: Shop) -> None:
    ajax = f"{served.site.url}/wp-admin/admin-ajax.php"
    for form in (
        {"action": "bpm_bridge_drain"},
        {"action": "bpm_bridge_drain", "t": str(int(time.time())), "sig": "0" * 64},
    ):
        resp = requests.post(ajax, data=form, timeout=30)
        assert (resp.status_code, resp.content) == (403, b""), (form, resp.status_code, resp.text[:200])
    signed = served.site.php("echo \\BPM_Bridge\\Kick::body( time() );").strip().splitlines()[-1]
    resp = requests.post(
        ajax, data=signed, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30
    )
    assert (resp.status_code, resp.content) == (204, b""), resp.text[:200]
