"""Paid → invoice issued: end-to-end latency and throughput, with a no-op baseline from the same run.

Everything runs on loopback with free ports: the WooCommerce and Fakturownia simulators
(``python -m sidecar.sandbox``), a real gunicorn (``bpm-sidecar serve``) and --workers real RQ workers
(``bpm-sidecar worker``). Two pipelines are measured one after the other, each with fresh sidecar
processes and fresh orders:

  invoice   the real ``invoice.issue``: one read (order, meta, refunds), intent (compare-and-set),
            Fakturownia create, e-mail, one write-back (invoice meta + order note + outcome)
  baseline  ``invoice.issue`` replaced by bench/noop_action.py through BPM_EXTRA_ACTIONS: the same
            routing, queue, lock, configuration read and outcome report, and no invoicing work

Each pipeline runs two phases:
  sequential  --sequential events, one at a time (the next is sent once the previous outcome is in):
              latency without queueing
  burst       --orders events sent by --concurrency client threads as fast as the intake takes them:
              throughput, and latency including the wait in the queue

Latency of one order = from the intake's 202 (event accepted) to the outcome the worker reports to the
store (the simulator stamps its arrival); for the invoice pipeline also to the write of the invoice
number into the order's meta (from the simulator's request log). Both phases are bounded by
--max-seconds. --provider-latency delays every Fakturownia API request (the simulator's latency fault).
KSeF is switched off in the simulator, so no follow-up job runs during the measurement.

The run ends with a correctness line: every invoice order has exactly one document in the simulator and
its number on the order, every baseline order none, no dead letters (exit 1 otherwise).
It FLUSHES its Redis database (--redis-url, default DB 8) at start and end.

    .venv/bin/python bench/bench_pipeline.py --orders 200 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import redis  # noqa: E402
import requests  # noqa: E402
from rq import Queue, Worker  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FinishedJobRegistry  # noqa: E402
from support.processes import (  # noqa: E402
    ProcessGroup,
    free_port,
    process_env,
    sidecar_cmd,
    wait_for_port,
    wait_until,
)

from sidecar.config import load_settings  # noqa: E402
from sidecar.demo import DEMO_ORDER  # noqa: E402
from sidecar.engine import dead_letters  # noqa: E402
from sidecar.signing import new_secret, signature_headers  # noqa: E402

ACTION = "invoice.issue"
NOOP = f"{ACTION}=noop_action:skip"
META_WRITE = re.compile(r"^/wp-json/bpm-bridge/v1/orders/(\d+)/apply$")
PASSWORD = "benchBenchBenchBench0000"


class Sent:
    """One order.paid event: when it was sent and accepted (wall clock, shared with the simulators)."""

    def __init__(self, order_id: int) -> None:
        self.order_id = order_id
        self.event_id = str(uuid.uuid4())
        self.sent = 0.0
        self.accepted = 0.0
        self.status = 0
        self.outcome: dict[str, Any] | None = None


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.secret = new_secret()
        self.sims = ProcessGroup()
        self.woo = self.fakturownia = ""
        self.local = threading.local()
        self.actions: list[str] = []
        self.job_times: dict[str, dict[str, float]] = {}
        self.queues: list[str] = []

    # -- processes --------------------------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        base = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}  # noop_action for the workers
        return process_env(self.args.redis_url, self.woo, self.secret, PASSWORD, extra=extra, base=base)

    def start_simulators(self) -> None:
        ports = {"woo": free_port(), "fakturownia": free_port()}
        self.woo = f"http://127.0.0.1:{ports['woo']}"
        self.fakturownia = f"http://127.0.0.1:{ports['fakturownia']}"
        for name, port in ports.items():
            argv = [sys.executable, "-m", "sidecar.sandbox", name, "--port", str(port)]
            self.sims.start(name, argv, self.env())
        for port in ports.values():
            wait_for_port(port)
        invoicing = {
            "provider": "fakturownia",
            "fakturownia": {
                "domain": "sandbox",
                "api_token": "sandbox-fakturownia-token",
                "base_url": self.fakturownia,
            },
        }
        put = requests.put(f"{self.woo}/sandbox/config", json={"invoicing": invoicing}, timeout=10)
        put.raise_for_status()
        ksef = requests.post(f"{self.fakturownia}/_sandbox/ksef", json={"mode": "off"}, timeout=10)
        ksef.raise_for_status()
        if self.args.provider_latency > 0:
            rule = {"mode": "latency", "seconds": self.args.provider_latency, "count": 10**9}
            requests.post(f"{self.fakturownia}/_sandbox/faults", json=rule, timeout=10).raise_for_status()

    def start_sidecar(self, pg: ProcessGroup, name: str, extra: dict[str, str]) -> tuple[str, str]:
        port = free_port()
        queue = f"bpm-bench-{name}-{uuid.uuid4().hex[:6]}"
        env = self.env(
            {
                "BPM_BIND": f"127.0.0.1:{port}",
                "BPM_WEB_WORKERS": str(self.args.web_workers),
                "BPM_QUEUE": queue,
                "BPM_AUDIT_DIR": str(self.workdir / f"audit-{name}"),
                "BPM_RECONCILE_INTERVAL": "0",  # a sweep would queue work the bench did not send
                **extra,
            }
        )
        web = pg.start(f"web-{name}", sidecar_cmd("serve"), env)
        for i in range(self.args.workers):
            argv = ["worker", "--name", f"{queue}-{i}"]
            pg.start(f"worker-{name}-{i}", sidecar_cmd(*argv), env)
        intake = f"http://127.0.0.1:{port}"
        try:
            wait_for_port(port, timeout=30)
            conn = redis.Redis.from_url(self.args.redis_url)
            rq_queue = Queue(queue, connection=conn)
            wait_until(
                lambda: len(Worker.all(queue=rq_queue)) == self.args.workers,
                timeout=30,
                what=f"{self.args.workers} RQ workers",
            )
        except TimeoutError:
            print(pg.logs(), file=sys.stderr)
            raise
        if not web.alive():
            raise RuntimeError(f"gunicorn exited:\n{web.tail()}")
        return intake, queue

    # -- the store side ---------------------------------------------------------------------------
    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def create_orders(self, count: int) -> list[int]:
        s = self.session()
        return [
            s.post(f"{self.woo}/sandbox/orders", json=DEMO_ORDER, timeout=10).json()["id"]
            for _ in range(count)
        ]

    def register(self, events: list[Sent], actions: list[str]) -> None:
        """The plugin writes its outbox row before sending; outcomes are recorded against it."""
        s = self.session()
        for e in events:
            body = {"id": e.event_id, "actions": actions}
            s.post(f"{self.woo}/sandbox/events", json=body, timeout=10).raise_for_status()

    def send(self, intake: str, e: Sent) -> None:
        body = json.dumps(
            {
                "id": e.event_id,
                "type": "order.paid",
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "store": self.woo,
                "data": {"order_id": e.order_id, "from": "pending", "to": "processing"},
            }
        ).encode()
        headers = {
            **signature_headers([self.secret], body, msg_id=e.event_id),
            "Content-Type": "application/json",
        }
        e.sent = time.time()
        try:
            e.status = (
                self.session().post(f"{intake}/v1/events", data=body, headers=headers, timeout=10).status_code
            )
        except requests.RequestException:
            e.status = -1
        e.accepted = time.time()

    def outcomes(self) -> dict[str, dict[str, Any]]:
        rows = self.session().get(f"{self.woo}/sandbox/events", timeout=30).json()
        return {row["id"]: row["outcomes"].get(ACTION) for row in rows if row["outcomes"].get(ACTION)}

    def meta_writes(self) -> dict[int, float]:
        """Order id → start of the last successful write-back (the one that records the invoice number)."""
        last: dict[int, float] = {}
        for r in self.session().get(f"{self.woo}/sandbox/requests", timeout=30).json():
            match = META_WRITE.match(r["path"])
            if match and r["method"] == "POST" and r["status"] == 200:
                last[int(match.group(1))] = max(last.get(int(match.group(1)), 0.0), r["at"])
        return last

    # -- phases -----------------------------------------------------------------------------------
    def sequential(self, intake: str, actions: list[str], count: int) -> list[Sent]:
        events = [Sent(o) for o in self.create_orders(count)]
        self.register(events, actions)
        deadline = time.monotonic() + self.args.max_seconds
        done = []
        s = self.session()
        for e in events:
            if time.monotonic() > deadline:
                break
            self.send(intake, e)
            done.append(e)
            while e.status == 202 and time.monotonic() < deadline:
                row = s.get(f"{self.woo}/sandbox/events/{e.event_id}", timeout=10).json()
                e.outcome = (row.get("outcomes") or {}).get(ACTION)
                if e.outcome:
                    break
                time.sleep(0.005)
        return done

    def burst(self, intake: str, actions: list[str], count: int) -> list[Sent]:
        events = [Sent(o) for o in self.create_orders(count)]
        self.register(events, actions)
        deadline = time.monotonic() + self.args.max_seconds
        sent: list[Sent] = []
        lock = threading.Lock()

        def one(e: Sent) -> None:
            if time.monotonic() > deadline:
                return
            self.send(intake, e)
            with lock:
                sent.append(e)

        with ThreadPoolExecutor(self.args.concurrency) as pool:
            list(pool.map(one, events))
        while True:
            found = self.outcomes()
            for e in sent:
                e.outcome = found.get(e.event_id)
            # A refused event has no job, so no outcome to wait for (the correctness check reports it).
            if all(e.outcome for e in sent if e.status == 202) or time.monotonic() > deadline:
                return sent
            time.sleep(0.2)

    def pipeline(self, name: str, extra: dict[str, str]) -> dict[str, list[Sent]]:
        with ProcessGroup() as pg:
            intake, queue = self.start_sidecar(pg, name, extra)
            actions = requests.get(f"{intake}/v1/meta", timeout=10).json()["event_types"]["order.paid"]
            phases = {"sequential": self.sequential(intake, actions, self.args.sequential)}
            phases["burst"] = self.burst(intake, actions, self.args.orders)
            self.actions = actions
            self.job_times[name] = job_times(redis.Redis.from_url(self.args.redis_url), queue)
            self.queues.append(queue)
            return phases


# -- figures ------------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return (
            round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)
            if ordered
            else float("nan")
        )

    mean = round(statistics.fmean(ordered) * 1000, 1) if ordered else float("nan")
    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "mean_ms": mean}


def summarise(events: list[Sent], end_of: Callable[[Sent], float | None]) -> dict[str, Any]:
    ends = {id(e): end_of(e) for e in events}
    finished = [e for e in events if ends[id(e)] is not None]
    latencies = [ends[id(e)] - e.accepted for e in finished]  # type: ignore[operator]
    wall = (max(ends[id(e)] for e in finished) - min(e.sent for e in events)) if finished else 0.0  # type: ignore[type-var]
    return {
        "orders": len(events),
        "finished": len(finished),
        "orders_per_s": round(len(finished) / wall, 2) if wall > 0 else 0.0,
        "seconds": round(wall, 2),
        **percentiles(latencies),
        "intake_p50_ms": percentiles([e.accepted - e.sent for e in events])["p50_ms"],
        "statuses": dict(Counter(e.status for e in events)),
        "outcomes": dict(Counter((e.outcome or {}).get("status", "missing") for e in events)),
    }


def job_times(conn: redis.Redis, queue: str) -> dict[str, float]:
    """Time inside the RQ work horse (started_at → ended_at) of the pipeline's finished jobs."""
    registry = FinishedJobRegistry(queue, connection=conn)
    jobs = [j for j in Job.fetch_many(registry.get_job_ids(), connection=conn) if j and j.ended_at]
    runs = [(j.ended_at - j.started_at).total_seconds() for j in jobs if j.started_at]
    figures = percentiles(runs)
    return {"jobs": len(runs), "run_p50_ms": figures["p50_ms"], "run_mean_ms": figures["mean_ms"]}


def audit_counts(directory: Path, orders: int) -> dict[str, Any]:
    """Outbound calls per order by provider, and their mean duration, from the pipeline's audit trail."""
    calls: dict[str, list[float]] = {}
    for path in directory.glob("audit-*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            calls.setdefault(record["provider"], []).append(float(record.get("seconds") or 0))
    return {
        p: {"calls_per_order": round(len(s) / orders, 2), "mean_ms": round(statistics.fmean(s) * 1000, 1)}
        for p, s in sorted(calls.items())
        if orders
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def check(bench: Bench, results: dict[str, dict[str, list[Sent]]], conn: redis.Redis) -> list[str]:
    problems = []
    docs = requests.get(f"{bench.fakturownia}/_sandbox/documents", timeout=30).json()["documents"]
    by_oid = Counter(d.get("oid") for d in docs)
    numbers = {d.get("oid"): d["number"] for d in docs}
    s = bench.session()
    for name, phases in results.items():
        for phase, events in phases.items():
            wanted = "done" if name == "invoice" else "skipped"
            for e in events:
                where = f"{name}/{phase} order {e.order_id}"
                if e.status != 202:
                    problems.append(f"{where}: intake answered {e.status}")
                if (e.outcome or {}).get("status") != wanted:
                    problems.append(f"{where}: outcome {(e.outcome or {}).get('status', 'missing')}")
                oid = f"wc-{e.order_id}-vat"
                expected = 1 if name == "invoice" else 0
                if by_oid.get(oid, 0) != expected:
                    problems.append(f"{where}: {by_oid.get(oid, 0)} documents (expected {expected})")
                meta = s.get(f"{bench.woo}/sandbox/orders/{e.order_id}/meta", timeout=10).json()
                if name == "invoice" and meta.get("_bpm_invoice_number") != numbers.get(oid):
                    problems.append(f"{where}: order meta has {meta.get('_bpm_invoice_number')!r}")
                if name != "invoice" and meta.get("_bpm_invoice_id"):
                    problems.append(f"{where}: a baseline order has _bpm_invoice_id")
    invoiced = sum(len(events) for events in results.get("invoice", {}).values())
    if len(docs) != invoiced:
        problems.append(f"the simulator holds {len(docs)} documents for {invoiced} invoice orders")
    dead = [
        entry
        for queue in bench.queues
        for entry in dead_letters.entries(conn, load_settings(bench.env({"BPM_QUEUE": queue})))
    ]
    if dead:
        problems.append(f"{len(dead)} dead letters, e.g. {dead[0].reason}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200, help="orders in the burst phase")
    parser.add_argument("--sequential", type=int, default=20, help="orders sent one at a time first")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (the client is small)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads sending the burst")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per phase")
    parser.add_argument(
        "--provider-latency", type=float, default=0.0, help="seconds added to every Fakturownia request"
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/8", help="a Redis DB the bench may flush"
    )
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args()

    conn = redis.Redis.from_url(args.redis_url)
    conn.flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="bpm-bench-pipeline-"))
    bench = Bench(args, workdir)
    results: dict[str, dict[str, list[Sent]]] = {}
    figures: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    try:
        bench.start_simulators()
        results["invoice"] = bench.pipeline("invoice", {})
        results["baseline"] = bench.pipeline("baseline", {"BPM_EXTRA_ACTIONS": NOOP})
        writes = bench.meta_writes()
        for name, phases in results.items():
            for phase, events in phases.items():
                figures[f"{name}/{phase}"] = summarise(events, lambda e: (e.outcome or {}).get("received_at"))
                if name == "invoice":
                    figures[f"{name}/{phase} (number on order)"] = summarise(
                        events, lambda e: writes.get(e.order_id)
                    )
        problems = check(bench, results, conn)
        calls = {
            name: audit_counts(workdir / f"audit-{name}", sum(len(v) for v in phases.values()))
            for name, phases in results.items()
        }
    finally:
        bench.sims.stop_all()
        for proc in bench.sims.procs:
            proc.cleanup()
        conn.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

    inv_b, base_b = figures["invoice/burst"], figures["baseline/burst"]
    inv_s, base_s = figures["invoice/sequential"], figures["baseline/sequential"]
    summary = {
        "box": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}",
        "rq_workers": args.workers,
        "gunicorn_workers": args.web_workers,
        "client_threads": args.concurrency,
        "provider_latency_ms": round(args.provider_latency * 1000),
        "actions_for_order_paid": bench.actions,
        "outbound_calls": calls,
        "job_run_in_work_horse": bench.job_times,
        # Worker time per job in the burst: run time plus dequeue, fork of the work horse, bookkeeping.
        "worker_ms_per_job_burst": {
            name: round(figures[f"{name}/burst"]["seconds"] * args.workers / n * 1000, 1)
            for name in results
            if (n := figures[f"{name}/burst"]["finished"])
        },
        "latency_p50_invoice_vs_baseline_sequential": ratio(inv_s["p50_ms"], base_s["p50_ms"]),
        "latency_p50_invoice_vs_baseline_burst": ratio(inv_b["p50_ms"], base_b["p50_ms"]),
        "throughput_invoice_vs_baseline": ratio(inv_b["orders_per_s"], base_b["orders_per_s"]),
        "total_seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps({"results": figures, "summary": summary, "problems": problems}, indent=2))
    else:
        head = f"{'pipeline/phase':<38}{'orders':>7}{'orders/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        print(head + f"{'intake p50':>12}  outcomes")
        for name, r in figures.items():
            print(
                f"{name:<38}{r['finished']:>3}/{r['orders']:<3}{r['orders_per_s']:>10}{r['p50_ms']:>9}"
                f"{r['p95_ms']:>9}{r['p99_ms']:>9}{r['intake_p50_ms']:>12}  {r['outcomes']}"
            )
        for key, value in summary.items():
            print(f"{key}: {value}")
    ok = not problems
    print(
        "correctness:",
        "OK (every invoice order has exactly one document and its number on the order; baseline orders "
        "none; every event 202; no dead letters)"
        if ok
        else f"FAILED ({len(problems)} problems): " + "; ".join(problems[:10]),
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
