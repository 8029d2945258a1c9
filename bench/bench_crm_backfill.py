"""An existing shop's history into HubSpot: ``bpm-sidecar crm backfill`` against the HubSpot simulator at
its Free/Starter limit (100 requests per rolling 10 s), time vs that limit.

The WooCommerce simulator and the HubSpot simulator run as their own processes (``python -m
sidecar.sandbox``); the backfill runs in this process exactly as the CLI runs it (sidecar.crm_backfill.run,
the shared Redis limiter). Orders: --orders of them, about one buyer in three a returning one, one in
five a company with a NIP, one to three products each.

Phases (each on a fresh shop, a reset HubSpot account and an empty limiter):
  batched       the backfill as shipped: 100 orders per batch (contacts, deals, associations and line
                items in a few batch requests per 100 orders)
  batched_small --orders orders in batches of --small-batch: many more requests, so the limit binds
  per_order     the baseline: --baseline-orders orders sent one by one (the live per-event path, four
                or five requests per order)
  storm         as batched, with --storm injected 429s (Retry-After 1 s) on top of the limit: every 429
                must be answered (the refused request sent again and answered), none left behind

The batched phases also report the store-read floor: the time to list and read the same orders from the
shop alone (no CRM), which no backfill can beat — the batched time is compared with it in the same run.

For each: HubSpot requests R, time T, 429s received, the ideal time at the limit for R requests
(floor((R - 1) / 100) * 10 s: a fresh rolling window takes 100 at once, then 100 per 10 s) and the ratio
ideal / T (target ≥ 0.8 where the limit binds; above 1 impossible, except that a phase that fits in one
window has an ideal of 0 and no ratio).

    .venv/bin/python bench/bench_crm_backfill.py                   # ~3 min
    .venv/bin/python bench/bench_crm_backfill.py --quick           # ~1 min: 300 / 100 orders
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sidecar import crm_backfill  # noqa: E402
from sidecar.audit import AuditLog  # noqa: E402
from sidecar.config import Settings  # noqa: E402
from sidecar.providers.crm.base import CrmProvider  # noqa: E402
from sidecar.signing import new_secret  # noqa: E402
from sidecar.store import StoreClient  # noqa: E402

PASSWORD = "abcd efgh ijkl mnop qrst uvwx"
TOKEN = "pat-na1-bench-token"
LIMIT, WINDOW = 100, 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


class Simulator:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "sidecar.sandbox", name, "--port", str(self.port)]
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_port(self.port)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


class OneByOne:
    """The provider without its batch path: what the backfill would cost sending orders one by one."""

    def __init__(self, inner: CrmProvider) -> None:
        self.inner = inner
        self.name, self.label = inner.name, inner.label

    def __getattr__(self, attr: str) -> Any:
        if attr == "sync_batch":
            raise AttributeError(attr)
        return getattr(self.inner, attr)


def make_orders(woo: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    buyers = [f"buyer{n}@example.com" for n in range(max(1, count * 2 // 3))]
    session = requests.Session()
    for n in range(count):
        spec: dict[str, Any] = {
            "billing": {"email": rng.choice(buyers), "first_name": f"Jan{n % 50}", "last_name": "Kowalski"},
            "items": [
                {
                    "name": f"Produkt {k}",
                    "price": f"{rng.randint(10, 300)}.99",
                    "qty": rng.randint(1, 3),
                    "sku": f"P-{k}",
                }
                for k in range(rng.randint(1, 3))
            ],
            "status": rng.choice(["processing", "completed", "completed", "cancelled", "on-hold"]),
        }
        if n % 5 == 0:
            spec["nip"] = "5252445767"
            spec["billing"]["company"] = f"Firma {n} Sp. z o.o."
        session.post(f"{woo}/sandbox/orders", json=spec, timeout=10).raise_for_status()


def hub_stats(hub: str) -> dict[str, Any]:
    return requests.get(f"{hub}/_sandbox/limits", timeout=10).json()


def ideal(requests_made: int) -> float:
    return max(0, (requests_made - 1) // LIMIT) * WINDOW


def unanswered(timeline: list[list[Any]]) -> int:
    """429s whose request never got another answer (a 404 or 2xx of the same request counts)."""
    refused = [what for _, what, status in timeline if status == 429]
    return sum(1 for what in refused if not any(w == what and s != 429 for _, w, s in timeline))


def read_floor(store: StoreClient, config: dict[str, Any], since: datetime) -> float:
    """Seconds to list and read the orders the backfill reads, with its parallelism, and nothing else."""
    from concurrent.futures import ThreadPoolExecutor

    from sidecar.engine import reconcile_crm

    started = time.monotonic()
    listed = list(store.iter_orders(reconcile_crm.statuses(config), since, datetime.now(UTC)))
    with ThreadPoolExecutor(crm_backfill.READERS) as pool:
        list(pool.map(lambda o: store.read_order(int(o["id"])), listed))
    return time.monotonic() - started


def phase(
    name: str, args: argparse.Namespace, orders: int, batch: int, one_by_one: bool, storm: int = 0
) -> dict[str, Any]:
    conn = redis.Redis.from_url(args.redis_url)
    conn.flushdb()
    secret = new_secret()
    env = {
        **os.environ,
        "BPM_WEBHOOK_SECRETS": secret,
        "BPM_STORE_APP_PASSWORD": PASSWORD,
        "BPM_SANDBOX_HUBSPOT_TOKEN": TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    woo, hub = Simulator("woo", env), Simulator("hubspot", env)
    try:
        since = datetime.now(UTC) - timedelta(seconds=5)
        requests.put(
            f"{woo.url}/sandbox/config",
            json={
                "crm": {
                    "provider": "hubspot",
                    "line_items": True,
                    "pipeline": "default",
                    "hubspot": {"access_token": TOKEN, "portal_id": "144000001", "base_url": hub.url},
                }
            },
            timeout=10,
        ).raise_for_status()
        make_orders(woo.url, orders, args.seed)
        settings = Settings(
            webhook_secrets=(secret,),
            store_url=woo.url,
            store_user="bpm-api",
            store_app_password=PASSWORD,
            allow_insecure_store=True,
            redis_url=args.redis_url,
        )
        store = StoreClient(settings, AuditLog(None))
        config = store.get_config()
        provider = None
        if one_by_one:
            from sidecar.jobs.crm import provider_for
            from sidecar.providers.crm.limits import limiter_for

            provider = OneByOne(
                provider_for(
                    "hubspot",
                    config,
                    AuditLog(None),
                    limiter=limiter_for("hubspot", config["crm"], conn=conn),
                )
            )
        if storm:
            fault = {"mode": "429", "count": storm, "retry_after": 1}
            requests.post(f"{hub.url}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
        before = hub_stats(hub.url)
        started = time.monotonic()
        summary = crm_backfill.run(
            conn,
            settings,
            store,
            config,
            since,
            audit=AuditLog(None),
            batch=batch,
            out=io.StringIO(),
            provider=provider,
        )  # type: ignore[arg-type]
        took = time.monotonic() - started
        after = hub_stats(hub.url)
        floor = read_floor(store, config, since) if not one_by_one else None
        deals = requests.get(f"{hub.url}/_sandbox/documents", timeout=30).json()["deals"]
        made = after["requests"] - before["requests"]
        rejected = after["rejected_429"] - before["rejected_429"]
        best = ideal(after["served"] - before["served"])
        return {
            "phase": name,
            "orders": orders,
            "batch": batch if not one_by_one else 1,
            "sent": summary.sent,
            "failed": len(summary.failed),
            "deals": len(deals),
            "one_deal_per_order": len({d["properties"]["woo_order_id"] for d in deals})
            == len(deals)
            == orders,
            "hubspot_requests": made,
            "requests_per_order": round(made / orders, 3),
            "rejected_429": rejected,
            "max_in_window": after["max_in_window"],
            "seconds": round(took, 2),
            "ideal_seconds": best,
            "ratio": round(best / took, 3) if best else None,
            "waited_seconds": round(summary.waited, 2),
            "injected_429": storm,
            "unanswered_429": unanswered(after["timeline"]) if storm else 0,
            "store_floor_seconds": round(floor, 2) if floor is not None else None,
            "vs_floor": round(took / floor, 2) if floor else None,
        }
    finally:
        woo.stop()
        hub.stop()
        conn.flushdb()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=1000)
    p.add_argument("--small-batch", type=int, default=10)
    p.add_argument("--baseline-orders", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--storm", type=int, default=30, help="429s injected in the storm phase")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="flushed at start and end")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.orders, args.baseline_orders = 300, 100
    rows = [
        phase("batched", args, args.orders, 100, False),
        phase("batched_small", args, args.orders, args.small_batch, False),
        phase("per_order", args, args.baseline_orders, 100, True),
        phase("storm", args, args.orders, 100, False, storm=args.storm),
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"{'phase':<14} {'orders':>6} {'batch':>5} {'req':>5} {'req/order':>9} {'429':>4} {'max/win':>7} "
        f"{'T s':>7} {'ideal s':>7} {'ratio':>6} {'floor s':>7} {'T/floor':>7} {'unans.':>6} "
        f"{'1 deal/order':>12}"
    )
    for r in rows:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.3f}"
        floor = "—" if r["store_floor_seconds"] is None else f"{r['store_floor_seconds']:.2f}"
        vs = "—" if r["vs_floor"] is None else f"{r['vs_floor']:.2f}"
        print(
            f"{r['phase']:<14} {r['orders']:>6} {r['batch']:>5} {r['hubspot_requests']:>5} "
            f"{r['requests_per_order']:>9} {r['rejected_429']:>4} {r['max_in_window']:>7} {r['seconds']:>7} "
            f"{r['ideal_seconds']:>7} {ratio:>6} {floor:>7} {vs:>7} {r['unanswered_429']:>6} "
            f"{r['one_deal_per_order']!s:>12}"
        )
    base = rows[2]
    projected = ideal(round(base["requests_per_order"] * args.orders))
    print(
        f"\nper-order path projected to {args.orders} orders: ≥ {projected:.0f} s at the limit; "
        f"batched took {rows[0]['seconds']} s ({projected / rows[0]['seconds']:.1f}x faster)."
    )
    ok = all(r["failed"] == 0 and r["one_deal_per_order"] and r["unanswered_429"] == 0 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
