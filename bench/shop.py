"""A real shop for the benchmarks: WordPress + real WooCommerce + BPM Bridge under Apache + mod_php, the real
sidecar (gunicorn + RQ workers) and the Fakturownia simulator, all on loopback with free ports.

Built on tests/support (helper A's site API: wordpress.create_site / start_server, Apache's access log with
``%D`` as its last field; processes.ProcessGroup for the sidecar). Used by bench_delivery.py,
bench_overhead.py and bench_burst.py; not a test fixture.

    with Shop(redis_url, stack="wp70-wc92", hpos=True) as shop:
        shop.start_fakturownia(latency=0.2)
        shop.start_sidecar(workers=2)
        order_id = shop.pay_rest()              # POST /wc/v3/orders with set_paid, as the admin
        shop.sql("SELECT ...")                  # the site's database, through the mariadb client
        shop.access_log()                       # parsed Apache log lines (user agent, route, %D)

The bench's own HTTP requests carry the user agent ``bpm-bench/…``; the sidecar's are ``python-requests/…``;
the plugin's kick is ``BPM-Bridge/…``; WordPress' own loopbacks (WP-Cron spawn) are ``WordPress/…``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

import redis  # noqa: E402
import requests  # noqa: E402
import wordpress  # noqa: E402
from rq import Queue, Worker  # noqa: E402
from support.processes import (  # noqa: E402
    ProcessGroup,
    free_port,
    process_env,
    sidecar_cmd,
    wait_for_port,
    wait_until,
)

from sidecar.signing import new_secret  # noqa: E402

UA = "bpm-bench/1"
FAKTUROWNIA_TOKEN = "sandbox-fakturownia-token"  # the simulator's default account
API_USER = "bpm-api-bench"
MU_PLUGINS = Path(__file__).resolve().parent / "mu-plugins"  # benchmark-only must-use plugins
NO_KICK = "bpm-bench-no-kick.php"  # the kick off: the WP-Cron / Action Scheduler net only
KICK_LOG = "bpm-bench-kicks.log"  # written by bpm-bench-kick-log.php

LOG_LINE = re.compile(
    r'^(?P<host>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<target>\S+) [^"]*" '
    r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<ua>[^"]*)" (?P<us>\d+)$'
)


@dataclass
class Hit:
    method: str
    target: str
    status: int
    ua: str
    us: int  # %D: microseconds Apache spent on the request

    @property
    def route(self) -> str:
        """The REST route (pretty or plain form) or the path, ids replaced by {id}."""
        path = self.target.split("?", 1)[0]
        if path.startswith("/wp-json"):
            path = path[len("/wp-json") :] or "/"
        elif "rest_route=" in self.target:
            path = self.target.split("rest_route=", 1)[1].split("&", 1)[0]
        return re.sub(r"/\d+", "/{id}", path)

    @property
    def who(self) -> str:
        if self.ua.startswith("python-requests"):
            return "sidecar"
        if self.ua.startswith("BPM-Bridge"):
            return "kick"
        if self.ua.startswith("WordPress"):
            return "wordpress-loopback"
        if self.ua.startswith("bpm-bench"):
            return "bench"
        return "other"


class HangingServer:
    """A socket that accepts connections and never answers (a hung sidecar)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # kept open, never read, never answered

    def close(self) -> None:
        self.stopped = True
        self.sock.close()
        for conn in self.held:
            conn.close()


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    return free_port()


class PrivateRedis:
    """A redis-server of the bench's own on a free loopback port, no persistence: a shared Redis database can
    be flushed under a running benchmark by a parallel test run (pytest-xdist workers take the databases
    below their base one)."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="bpm-bench-redis-")
        port = free_port()
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", self.dir]
        self.popen = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(port)
        self.url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _exit_on_sigterm(*_: object) -> None:
    # SIGTERM (and SIGINT, which a background job ignores) end the run through the context managers, so
    # Apache, the sidecar, the site and its database go with it.
    raise SystemExit(143)


class Shop:
    def __init__(
        self,
        redis_url: str | None,
        stack: str = wordpress.DEFAULT_STACK,
        hpos: bool = True,
        apache_workers: int = 6,
        send_email: bool = True,
    ) -> None:
        self.private_redis: PrivateRedis | None = None
        self.redis_url = redis_url or ""
        self.stack = stack
        self.hpos = hpos
        self.apache_workers = apache_workers
        self.send_email = send_email
        self.secret = new_secret()
        self.procs = ProcessGroup()
        self.sidecar_procs: ProcessGroup | None = None
        self.site: wordpress.Site | None = None
        self.server: Any = None
        self.fakturownia = ""
        self.sidecar_port = free_port()
        self.queue = f"bpm-bench-{uuid.uuid4().hex[:6]}"
        self.audit_dir = Path(f"/tmp/bpm-bench-audit-{uuid.uuid4().hex[:6]}")
        self.local = threading.local()
        self.api_password = ""
        self.admin_password = ""

    # -- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> Shop:
        reason = wordpress.missing_requirements(self.stack, "apache")
        if reason:
            raise RuntimeError(f"cannot build a real shop here: {reason}")
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        if not self.redis_url:
            self.private_redis = PrivateRedis()
            self.redis_url = self.private_redis.url
        redis.Redis.from_url(self.redis_url).flushdb()
        port = free_port()
        self.site = wordpress.create_site(
            wordpress.site_dir("bench"), f"bpm_test_bench_{port}", port, stack=self.stack, hpos=self.hpos
        )
        self.server = wordpress.start_server(self.site, workers=self.apache_workers)
        self.fakturownia_port = free_port()
        self.fakturownia = f"http://127.0.0.1:{self.fakturownia_port}"
        self._configure()
        self.add_mu_plugin("bpm-bench-kick-log.php")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_sidecar()
        self.procs.__exit__()
        if self.server is not None:
            wordpress.stop_server(self.server)
        if self.site is not None and not os.environ.get("BPM_KEEP_WP_SITE"):
            wordpress.destroy_site(self.site)
        shutil.rmtree(self.audit_dir, ignore_errors=True)
        if self.private_redis is not None:
            self.private_redis.stop()
        else:
            redis.Redis.from_url(self.redis_url).flushdb()

    @property
    def s(self) -> wordpress.Site:
        assert self.site is not None
        return self.site

    @property
    def mu_dir(self) -> Path:
        return self.s.dir / "wp-content" / "mu-plugins"

    def _configure(self) -> None:
        email = "true" if self.send_email else "false"
        out = self.s.php(
            f"""
            $api_id = wp_insert_user( array( 'user_login' => '{API_USER}',
                'user_pass' => wp_generate_password( 32 ), 'role' => 'bpm_api',
                'user_email' => 'bpm-api-bench@example.test' ) );
            if ( is_wp_error( $api_id ) ) {{ throw new Exception( $api_id->get_error_message() ); }}
            list( $api_pw ) = WP_Application_Passwords::create_new_application_password( $api_id,
                array( 'name' => 'BPM Bridge sidecar' ) );
            list( $admin_pw ) = WP_Application_Passwords::create_new_application_password( 1,
                array( 'name' => 'bench' ) );
            $checks = array(
                \\BPM_Bridge\\Options::set_secrets( '{self.secret}' ),
                \\BPM_Bridge\\Options::set_sidecar_url( 'http://127.0.0.1:{self.sidecar_port}' ),
                \\BPM_Bridge\\Options::set_invoicing( array(
                    'provider' => 'fakturownia', 'trigger_default' => 'paid',
                    'trigger_by_payment_method' => array(), 'b2c_document' => 'receipt',
                    'send_email' => {email},
                    'fakturownia_domain' => 'sandbox', 'fakturownia_api_token' => '{FAKTUROWNIA_TOKEN}',
                    'fakturownia_base_url' => '{self.fakturownia}' ) ),
            );
            foreach ( $checks as $check ) {{
                if ( is_wp_error( $check ) ) {{ throw new Exception( $check->get_error_message() ); }}
            }}
            echo wp_json_encode( array( 'api_pw' => $api_pw, 'admin_pw' => $admin_pw ) );
            """
        )
        creds = json.loads(out.strip().splitlines()[-1])
        self.api_password, self.admin_password = creds["api_pw"], creds["admin_pw"]

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return process_env(
            self.redis_url, self.s.url, self.secret, self.api_password, user=API_USER, extra=extra
        )

    def start_fakturownia(self, latency: float = 0.0) -> None:
        python = sidecar_cmd()[0].replace("bpm-sidecar", "python")
        argv = [python, "-m", "sidecar.sandbox", "fakturownia", "--port", str(self.fakturownia_port)]
        self.procs.start("fakturownia", argv, self.env())
        wait_for_port(self.fakturownia_port)
        # No KSeF follow-up job during a measurement (bench_pipeline.py does the same).
        requests.post(
            f"{self.fakturownia}/_sandbox/ksef", json={"mode": "off"}, timeout=10
        ).raise_for_status()
        if latency > 0:
            rule: dict[str, Any] = {"mode": "latency", "seconds": latency, "count": 10**9}
            requests.post(f"{self.fakturownia}/_sandbox/faults", json=rule, timeout=10).raise_for_status()

    def start_sidecar(self, workers: int = 2, web_workers: int = 2) -> None:
        self.audit_dir.mkdir(parents=True, exist_ok=True)
        env = self.env(
            {
                "BPM_BIND": f"127.0.0.1:{self.sidecar_port}",
                "BPM_WEB_WORKERS": str(web_workers),
                "BPM_QUEUE": self.queue,
                "BPM_AUDIT_DIR": str(self.audit_dir),
                "BPM_RECONCILE_INTERVAL": "0",  # a sweep would add store requests the bench did not cause
            }
        )
        pg = ProcessGroup()
        self.sidecar_procs = pg
        pg.start("web", sidecar_cmd("serve"), env)
        for i in range(workers):
            pg.start(f"worker-{i}", sidecar_cmd("worker", "--name", f"{self.queue}-{i}"), env)
        try:
            wait_for_port(self.sidecar_port, timeout=30)
            rq_queue = Queue(self.queue, connection=redis.Redis.from_url(self.redis_url))
            wait_until(lambda: len(Worker.all(queue=rq_queue)) == workers, timeout=30, what="RQ workers")
        except TimeoutError:
            print(pg.logs(), file=sys.stderr)
            raise

    def stop_sidecar(self) -> None:
        if self.sidecar_procs is not None:
            self.sidecar_procs.__exit__()
            self.sidecar_procs = None

    # -- switches ---------------------------------------------------------------------------------
    def add_mu_plugin(self, name: str) -> None:
        """Copy bench/mu-plugins/NAME into the site (mod_php reads it from the next request on)."""
        (self.mu_dir / name).write_text((MU_PLUGINS / name).read_text())

    def set_kick(self, on: bool) -> None:
        if on:
            (self.mu_dir / NO_KICK).unlink(missing_ok=True)
        else:
            self.add_mu_plugin(NO_KICK)

    def set_sidecar_url(self, url: str) -> None:
        self.s.php(
            f"$r = \\BPM_Bridge\\Options::set_sidecar_url( '{url}' );"
            " if ( is_wp_error( $r ) ) { throw new Exception( $r->get_error_message() ); }"
        )

    def set_plugin_active(self, on: bool) -> None:
        fn = "activate_plugin" if on else "deactivate_plugins"
        self.s.php(
            f"require_once ABSPATH . 'wp-admin/includes/plugin.php'; {fn}( 'bpm-bridge/bpm-bridge.php' );"
        )

    def kick_costs(self) -> list[tuple[bool, float]]:
        path = self.s.dir / "wp-content" / KICK_LOG
        if not path.exists():
            return []
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        return [(r[0] == "1", float(r[1])) for r in rows]

    # -- the shop's side --------------------------------------------------------------------------
    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            sess = requests.Session()
            sess.headers["User-Agent"] = UA
            self.local.session = sess
        return self.local.session

    @property
    def admin_auth(self) -> tuple[str, str]:
        return (self.s.admin_user, self.admin_password)

    def product(self) -> int:
        return self.s.products["KUB-1"]

    def pay_rest(self, ua: str = UA, timeout: float = 60) -> tuple[int, float, float]:
        """A paid order via POST /wc/v3/orders with set_paid (what a gateway or an import does) as the admin.

        Returns (order id, client start, client end) in time.time() seconds.
        """
        body: dict[str, Any] = {
            "payment_method": "bacs",
            "payment_method_title": "Przelew",
            "set_paid": True,
            "billing": {
                "first_name": "Jan",
                "last_name": "Kowalski",
                "email": "jan@example.test",
                "country": "PL",
                "city": "Warszawa",
                "postcode": "00-001",
                "address_1": "Prosta 1",
            },
            "line_items": [{"product_id": self.product(), "quantity": 2}],
        }
        started = time.time()
        resp = self.session().post(
            self.s.rest("/wc/v3/orders"),
            json=body,
            auth=self.admin_auth,
            timeout=timeout,
            headers={"User-Agent": ua},
        )
        ended = time.time()
        if resp.status_code != 201:
            raise RuntimeError(f"POST /wc/v3/orders answered {resp.status_code}: {resp.text[:300]}")
        return int(resp.json()["id"]), started, ended

    def pay_store_api(self, timeout: float = 60) -> tuple[int, float, float]:
        """A shopper's checkout through the Store API (cart, add item, checkout with cash on delivery →
        processing, a paid status). Returns (order id, start of the checkout request, its end)."""
        sess = requests.Session()
        sess.headers["User-Agent"] = UA
        cart = sess.get(self.s.rest("/wc/store/v1/cart"), timeout=timeout)
        cart.raise_for_status()
        headers = {"Nonce": cart.headers.get("Nonce", ""), "Cart-Token": cart.headers.get("Cart-Token", "")}
        add = sess.post(
            self.s.rest("/wc/store/v1/cart/add-item"),
            json={"id": self.product(), "quantity": 1},
            headers=headers,
            timeout=timeout,
        )
        if add.status_code not in (200, 201):
            raise RuntimeError(f"Store API add-item answered {add.status_code}: {add.text[:300]}")
        headers["Nonce"] = add.headers.get("Nonce", headers["Nonce"])
        address = {
            "first_name": "Anna",
            "last_name": "Nowak",
            "address_1": "Długa 2",
            "city": "Kraków",
            "postcode": "30-001",
            "country": "PL",
            "email": "anna@example.test",
            "phone": "",
        }
        started = time.time()
        checkout: dict[str, Any] = {
            "billing_address": address,
            "shipping_address": address,
            "payment_method": "cod",
        }
        resp = sess.post(
            self.s.rest("/wc/store/v1/checkout"),
            json=checkout,
            headers=headers,
            timeout=timeout,
        )
        ended = time.time()
        if resp.status_code != 200:
            raise RuntimeError(f"Store API checkout answered {resp.status_code}: {resp.text[:300]}")
        data = resp.json()
        if data.get("status") not in ("processing", "completed"):
            raise RuntimeError(f"Store API checkout left the order {data.get('status')!r}")
        return int(data["order_id"]), started, ended

    def rest_roundtrip(self) -> float:
        """One plain WordPress REST request (anonymous GET /wp/v2/types/post): seconds, client side."""
        started = time.perf_counter()
        resp = self.session().get(self.s.rest("/wp/v2/types/post"), timeout=30)
        elapsed = time.perf_counter() - started
        resp.raise_for_status()
        return elapsed

    def visit(self) -> None:
        """A visitor's page view (home page): what lets WP-Cron run at all."""
        self.session().get(f"{self.s.url}/", timeout=30)

    # -- looking inside ---------------------------------------------------------------------------
    def sql(self, query: str) -> list[list[str]]:
        args = wordpress._mysql_args()  # the site's own connection settings (tests/support/wordpress.py)
        proc = subprocess.run(
            [*args, "-N", "-B", self.s.db, "-e", query],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"SQL failed: {proc.stderr}")
        return [line.split("\t") for line in proc.stdout.splitlines() if line]

    def order_meta_table(self) -> tuple[str, str]:
        """(table, order id column) of order meta in this site's storage."""
        return ("wp_wc_orders_meta", "order_id") if self.hpos else ("wp_postmeta", "post_id")

    def invoice_numbers(self) -> dict[int, str]:
        table, col = self.order_meta_table()
        rows = self.sql(f"SELECT {col}, meta_value FROM {table} WHERE meta_key = '_bpm_invoice_number'")
        return {int(r[0]): r[1] for r in rows if r[1]}

    def outbox(self) -> list[dict[str, str]]:
        rows = self.sql(
            "SELECT id, event_type, IFNULL(order_id, ''), status, attempts FROM wp_bpm_bridge_outbox"
        )
        keys = ("id", "event_type", "order_id", "status", "attempts")
        return [dict(zip(keys, r, strict=False)) for r in rows]

    def documents(self) -> list[dict[str, Any]]:
        resp = requests.get(f"{self.fakturownia}/_sandbox/documents", timeout=30)
        resp.raise_for_status()
        return resp.json()["documents"]

    def access_log_size(self) -> int:
        path = self.server.access_log
        return path.stat().st_size if path.exists() else 0

    def access_log(self, since: int = 0) -> list[Hit]:
        """Parsed access log lines from byte offset ``since`` (see access_log_size)."""
        hits = []
        with open(self.server.access_log, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        for line in text.splitlines():
            m = LOG_LINE.match(line)
            if m:
                hits.append(Hit(m["method"], m["target"], int(m["status"]), m["ua"], int(m["us"])))
        return hits

    def audit_calls(self) -> dict[str, int]:
        """Outbound calls by provider (fakturownia, store, …) from the sidecar's audit trail."""
        calls: dict[str, int] = {}
        for path in self.audit_dir.glob("audit-*.jsonl"):
            for line in path.read_text().splitlines():
                record = json.loads(line)
                calls[record["provider"]] = calls.get(record["provider"], 0) + 1
        return calls

    def sidecar_logs(self) -> str:
        return self.sidecar_procs.logs() if self.sidecar_procs else ""


class AcceptWatcher:
    """Records when each event id first appears as accepted by the intake (its de-dup key in Redis), by
    polling every ``interval`` seconds; a thread, stopped with :meth:`stop`."""

    def __init__(self, redis_url: str, interval: float = 0.005) -> None:
        from sidecar.api.events import DEDUPE_KEY

        self.conn = redis.Redis.from_url(redis_url)
        self.pattern = DEDUPE_KEY.format("*")
        self.prefix = DEDUPE_KEY.format("")
        self.interval = interval
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            for key in self.conn.scan_iter(match=self.pattern, count=1000):
                name = key.decode()[len(self.prefix) :]
                if ":" not in name:
                    self.seen.setdefault(name, now)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)


def add_shop_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every shop benchmark takes: which stack, which Redis, raw output."""
    parser.add_argument("--stack", default=wordpress.DEFAULT_STACK, help="tests/support/wordpress.py stack")
    parser.add_argument("--no-hpos", action="store_true", help="posts storage instead of HPOS")
    parser.add_argument(
        "--redis-url",
        default=None,
        help="a Redis DB the bench may flush (default: a private redis-server on a free port)",
    )
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON too")


def header(args: argparse.Namespace) -> dict[str, Any]:
    """Machine, date and configuration: the first keys of every result."""
    return {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "stack": f"{args.stack}-{'posts' if args.no_hpos else 'hpos'}",
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def machine() -> str:
    import platform

    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPU {platform.machine()}, Python {platform.python_version()}, "
        f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
    )
