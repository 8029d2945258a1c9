"""Intake throughput and latency against a real gunicorn, with baselines measured in the same run.

Phases (each bounded by --requests and --max-seconds, loopback only):
  1. baseline  GET /healthz            - gunicorn + Flask with no work: the ceiling of this box
  2. intake    POST /v1/events (new)   - verify + validate + SET NX + RQ enqueue of 2 jobs, 202
  3. dedupe    POST /v1/events (again) - the same events re-delivered: 200 duplicate
  4. redis     the intake's Redis work (WATCH/GET, then SET + 2 jobs in one MULTI/EXEC) in one client
               thread, no HTTP: the cost of the Redis work alone

The gunicorn app is the real create_app() on the production worker class and thread count
(sidecar/serving.py); only the routing table is forced to route order.paid to two
actions (as the contract says), so the enqueue path is measured whatever capabilities are built.
It uses its own Redis database (--redis-url, default DB 9, which no test uses) and FLUSHES it
at start and end.

    .venv/bin/python bench/bench_intake.py --requests 3000 --concurrency 16
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from sidecar.signing import new_secret, signature_headers  # noqa: E402

ROUTED = {"invoice.issue": "sidecar.jobs.invoice:issue", "crm.sync_order": "sidecar.jobs.crm:sync_order"}


def bench_app():  # gunicorn entry point: "bench_intake:bench_app()"
    from sidecar.app import create_app
    from sidecar.jobs import registry

    registry.ACTIONS.update({k: v for k, v in ROUTED.items() if k not in registry.ACTIONS})
    return create_app()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def envelope(event_id: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "order.paid",
            "occurred_at": "2026-11-22T12:00:00Z",
            "store": "https://shop.example",
            "data": {"order_id": 123, "from": "pending", "to": "processing", "payment_method": "bacs"},
        },
        separators=(",", ":"),
    ).encode()


Request = tuple[str, str, bytes, dict[str, str]]


def run_phase(port: int, requests_: list[Request], concurrency: int, max_seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    lock = threading.Lock()
    index = iter(range(len(requests_)))
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            with lock:
                i = next(index, None)
            if i is None:
                break
            method, path, body, headers = requests_[i]
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()  # gunicorn's sync worker closes after each response
            except (OSError, http.client.HTTPException):
                conn.close()
                with lock:
                    errors += 1
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return summarise(latencies, wall, statuses, errors)


def summarise(latencies: list[float], wall: float, statuses: dict | None = None, errors: int = 0) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")

    return {
        "count": len(ordered),
        "seconds": round(wall, 3),
        "rps": round(len(ordered) / wall, 1) if wall else 0.0,
        "p50_ms": round(pct(0.50), 2),
        "p95_ms": round(pct(0.95), 2),
        "p99_ms": round(pct(0.99), 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else float("nan"),
        "statuses": statuses or {},
        "errors": errors,
    }


def redis_baseline(redis_url: str, queue: str, count: int, max_seconds: float) -> dict:
    """The Redis work of one accepted event (claim + two jobs in one transaction), no HTTP, no signatures."""
    from sidecar.config import load_settings
    from sidecar.engine import queueing

    settings = load_settings(
        {
            "BPM_WEBHOOK_SECRETS": new_secret(),
            "BPM_STORE_URL": "https://shop.example",
            "BPM_STORE_USER": "bench",
            "BPM_STORE_APP_PASSWORD": "bench",
            "BPM_REDIS_URL": redis_url,
            "BPM_QUEUE": queue + "-raw",
        }
    )
    conn = redis.Redis.from_url(redis_url)
    latencies = []
    deadline = time.monotonic() + max_seconds
    started = time.perf_counter()
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        event_id = str(uuid.uuid4())
        env = json.loads(envelope(event_id))
        t0 = time.perf_counter()
        key = f"bpm:event:{event_id}"
        with conn.pipeline() as pipe:  # what sidecar.api.events._accept does for a new id
            pipe.watch(key)
            pipe.get(key)
            pipe.multi()
            pipe.set(key, json.dumps(list(ROUTED)), ex=604800)
            queueing.enqueue_actions(conn, settings, env, list(ROUTED), pipeline=pipe)
            pipe.execute()
        latencies.append(time.perf_counter() - t0)
    return summarise(latencies, time.perf_counter() - started)


def wait_ready(port: int, proc: subprocess.Popen, log, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit("gunicorn exited: " + log.read().decode()[-2000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise SystemExit("gunicorn did not become ready")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests per phase")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: BPM_WEB_WORKERS rule)"
    )
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per phase")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/9", help="a Redis DB the bench may flush"
    )
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args()

    from sidecar.config import default_web_workers
    from sidecar.serving import THREADS

    workers = args.workers or default_web_workers()
    conn = redis.Redis.from_url(args.redis_url)
    conn.flushdb()
    secret = new_secret()
    port = free_port()
    queue = "bpm-bench"
    env = {
        **os.environ,
        "BPM_WEBHOOK_SECRETS": secret,
        "BPM_STORE_URL": "https://shop.example",
        "BPM_STORE_USER": "bench",
        "BPM_STORE_APP_PASSWORD": "bench",
        "BPM_REDIS_URL": args.redis_url,
        "BPM_QUEUE": queue,
        "BPM_AUDIT_DIR": "",
        "BPM_LOG_LEVEL": "WARNING",  # per-request INFO lines would measure the terminal, not the intake
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                "-k", "sidecar.serving.IntakeWorker", "--threads", str(THREADS)]  # fmt: skip
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below; a full pipe would block gunicorn
    proc = subprocess.Popen(
        [*gunicorn, "--chdir", str(ROOT / "bench"), "bench_intake:bench_app()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    results: dict[str, dict] = {}
    try:
        wait_ready(port, proc, log)
        n = args.requests
        health = [("GET", "/healthz", b"", {})] * n
        results["baseline_healthz"] = run_phase(port, health, args.concurrency, args.max_seconds)

        ids = [str(uuid.uuid4()) for _ in range(n)]
        bodies = [envelope(i) for i in ids]

        def signed(now: float) -> list[Request]:
            out = []
            for event_id, body in zip(ids, bodies, strict=True):
                headers = signature_headers([secret], body, msg_id=event_id, now=now)
                headers["Content-Type"] = "application/json"
                out.append(("POST", "/v1/events", body, headers))
            return out

        results["intake_new"] = run_phase(port, signed(time.time()), args.concurrency, args.max_seconds)
        from rq import Queue

        jobs_queued = Queue(queue, connection=conn).count
        results["dedupe"] = run_phase(port, signed(time.time()), args.concurrency, args.max_seconds)
        jobs_after_dedupe = Queue(queue, connection=conn).count
        results["redis_only"] = redis_baseline(args.redis_url, queue, n, args.max_seconds)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        conn.flushdb()

    intake, health_r, dedupe, raw = (
        results["intake_new"],
        results["baseline_healthz"],
        results["dedupe"],
        results["redis_only"],
    )
    summary = {
        "box": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "gunicorn_workers": workers,
        "threads_per_worker": THREADS,
        "concurrency": args.concurrency,
        "jobs_queued_by_intake": jobs_queued,
        "jobs_queued_after_dedupe": jobs_after_dedupe,
        "intake_vs_healthz_throughput": round(intake["rps"] / health_r["rps"], 3)
        if health_r["rps"]
        else None,
        "dedupe_vs_healthz_throughput": round(dedupe["rps"] / health_r["rps"], 3)
        if health_r["rps"]
        else None,
        "intake_vs_redis_only_throughput": round(intake["rps"] / raw["rps"], 3) if raw["rps"] else None,
    }
    if args.json:
        print(json.dumps({"results": results, "summary": summary}, indent=2))
        return 0
    print(f"{'phase':<18}{'count':>7}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  statuses / errors")
    for name, r in results.items():
        print(
            f"{name:<18}{r['count']:>7}{r['rps']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
            f"  {r['statuses']} / {r['errors']}"
        )
    for key, value in summary.items():
        print(f"{key}: {value}")
    problems = []
    if intake["statuses"] != {202: intake["count"]} or intake["errors"]:
        problems.append(f"new events answered {intake['statuses']} with {intake['errors']} errors")
    if jobs_queued != 2 * intake["count"]:
        problems.append(f"{jobs_queued} jobs queued for {intake['count']} events")
    if dedupe["statuses"] != {200: dedupe["count"]} or dedupe["errors"]:
        problems.append(f"re-deliveries answered {dedupe['statuses']} with {dedupe['errors']} errors")
    if jobs_after_dedupe != jobs_queued:
        problems.append(f"re-deliveries changed the queue from {jobs_queued} to {jobs_after_dedupe} jobs")
    ok = not problems
    print(
        "correctness:",
        "OK (every new event 202 with 2 jobs; every re-delivery 200, nothing re-queued)"
        if ok
        else "FAILED: " + "; ".join(problems),
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
