"""Time BPM Bridge adds to a paid-order request: plugin active vs inactive, and active with the sidecar up,
down (connection refused) and hanging (a socket that accepts and never answers).

A real shop (bench/shop.py: WordPress 7.0 + WooCommerce 9.2.5, HPOS, Apache + mod_php, MariaDB) with the
real sidecar (gunicorn + 2 RQ workers) and the Fakturownia simulator. The request is REST
``POST /wc/v3/orders`` with ``set_paid: true`` as the admin (Application Password, keep-alive connection),
one at a time, nothing else running but what the plugin itself starts (its kick → the drain in another
Apache process → the sidecar → the sidecar's WordPress requests).

Conditions are interleaved: --rounds rounds, each visits every condition in a shuffled order, switches to it
(WordPress CLI: activate/deactivate the plugin, or set its sidecar URL), sends one discarded warm-up request
and then --block measured ones. Three clocks per request:
  client   wall time of the request at the client (http keep-alive, loopback)
  %D       Apache's time for the request (access log, last field; the request's own user agent joins them)
  in-PHP   what the plugin's own hooks took inside the request, measured by a mu-plugin
           (bench/mu-plugins/bpm-bench-hook-timer.php): priority 19 → 21 around the plugin's priority-20
           callbacks on the order hooks it listens to, plus the kick's own cost reported by the plugin
           (bpm_bridge_kicked); "inactive" measures the same windows without it (other priority-20
           callbacks), so the difference is the plugin's; with a breakdown (the order save the plugin's
           callback starts, its bpm_bridge_event_added listeners, the kick)
The figure is the difference of medians (active - inactive), with a bootstrap 95% interval for the client
and %D clocks (on a loaded 2-CPU box those intervals are wide; the in-PHP clock is the precise one).

Exit 1 only when nothing could be measured.

    .venv/bin/python bench/bench_overhead.py            # 4 rounds x 5 per condition, ~6 min
    .venv/bin/python bench/bench_overhead.py --quick
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shop import HangingServer, Shop, add_shop_arguments, closed_port, header

TIMER = "bpm-bench-hook-timer.php"  # bench/mu-plugins: the in-PHP clock
TIMER_LOG = "bpm-bench-hook-times.log"

CONDITIONS = ("inactive", "active", "sidecar-down", "sidecar-hanging")


def bootstrap_diff(a: list[float], b: list[float], rounds: int = 2000) -> tuple[float, float]:
    """95% interval of median(a) - median(b) by resampling."""
    rng = random.Random(7)
    diffs = sorted(
        statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b)))
        for _ in range(rounds)
    )
    return diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke (2 rounds x 3)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--block", type=int, default=5, help="measured requests per condition per round")
    parser.add_argument(
        "--gap",
        type=float,
        default=3.0,
        help="seconds between requests, so the drain and the sidecar's calls a request started are over",
    )
    add_shop_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.block, args.gap = 2, 3, 1.0

    began = time.monotonic()
    hanging = HangingServer()
    refused = closed_port()
    client: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    uas: dict[str, list[str]] = {c: [] for c in CONDITIONS}
    rng = random.Random(1)
    with Shop(args.redis_url, stack=args.stack, hpos=not args.no_hpos) as shop:
        shop.start_fakturownia(0.0)
        shop.start_sidecar(workers=2)
        shop.add_mu_plugin(TIMER)
        sidecar_url = f"http://127.0.0.1:{shop.sidecar_port}"
        current = "active"
        urls = {
            "active": sidecar_url,
            "sidecar-down": f"http://127.0.0.1:{refused}",
            "sidecar-hanging": f"http://127.0.0.1:{hanging.port}",
        }
        for rnd in range(args.rounds):
            order = list(CONDITIONS)
            rng.shuffle(order)
            for cond in order:
                if cond == "inactive":
                    shop.set_plugin_active(False)
                else:
                    if current == "inactive":
                        shop.set_plugin_active(True)
                    shop.set_sidecar_url(urls[cond])
                current = cond
                shop.pay_rest(ua=f"bpm-bench/warmup/{cond}/{rnd}")
                for i in range(args.block):
                    ua = f"bpm-bench/overhead/{cond}/{rnd}/{i}"
                    time.sleep(args.gap)
                    _, started, ended = shop.pay_rest(ua=ua)
                    client[cond].append(ended - started)
                    uas[cond].append(ua)
        shop.set_plugin_active(True)
        shop.set_sidecar_url(sidecar_url)
        hits = {h.ua: h.us / 1e6 for h in shop.access_log() if h.ua.startswith("bpm-bench/overhead/")}
        timer_path = shop.s.dir / "wp-content" / TIMER_LOG
        in_php: dict[str, float] = {}
        parts: dict[str, dict[str, float]] = {}
        for line in timer_path.read_text().splitlines() if timer_path.exists() else []:
            ua, total, detail = line.split("\t")
            in_php[ua] = float(total)
            parts[ua] = {k: float(v) for k, v in (p.split("=") for p in detail.split(",") if p)}
    hanging.close()

    apache = {c: [hits[u] for u in uas[c] if u in hits] for c in CONDITIONS}
    php = {c: [in_php[u] for u in uas[c] if u in in_php] for c in CONDITIONS}
    results: dict[str, Any] = {
        **header(args),
        "per_condition": args.rounds * args.block,
    }
    table: dict[str, dict[str, Any]] = {}
    for cond in CONDITIONS:
        table[cond] = {
            "n": len(client[cond]),
            "client_p50_ms": round(statistics.median(client[cond]) * 1000, 1) if client[cond] else None,
            "apache_D_p50_ms": round(statistics.median(apache[cond]) * 1000, 1) if apache[cond] else None,
            "in_php_p50_ms": round(statistics.median(php[cond]) * 1000, 3) if php[cond] else None,
        }
    # Where the in-PHP time goes, per condition: median of each part over the requests (ms; events = count).
    breakdown = {}
    for cond in CONDITIONS:
        names = sorted({k for u in uas[cond] for k in parts.get(u, {})})
        breakdown[cond] = {
            n: round(
                statistics.median(parts[u].get(n, 0.0) for u in uas[cond] if u in parts)
                * (1 if n == "events" else 1000),
                3,
            )
            for n in names
        }
    results["in_php_breakdown_p50_ms"] = breakdown
    added = {}
    for cond in CONDITIONS[1:]:
        row: dict[str, Any] = {}
        for clock, data in (("client", client), ("apache_D", apache), ("in_php", php)):
            a, b = data[cond], data["inactive"]
            if a and b:
                row[f"{clock}_ms"] = round((statistics.median(a) - statistics.median(b)) * 1000, 3)
                if clock != "in_php":
                    lo, hi = bootstrap_diff(a, b)
                    row[f"{clock}_95ci_ms"] = [round(lo * 1000, 1), round(hi * 1000, 1)]
        added[cond] = row
    results["table"] = table
    results["added_by_plugin"] = added
    results["targets"] = {
        f"{cond}: added <= 5 ms median (in-PHP clock)": (
            "met" if added[cond].get("in_php_ms") is not None and added[cond]["in_php_ms"] <= 5 else "MISSED"
        )
        for cond in CONDITIONS[1:]
    }
    results["seconds"] = round(time.monotonic() - began, 1)

    print(f"{results['date']}  {results['machine']}  stack {results['stack']}")
    print(f"{'condition':<18}{'n':>4}{'client p50 ms':>15}{'%D p50 ms':>12}{'in-PHP p50 ms':>15}")
    for cond, r in table.items():
        print(
            f"{cond:<18}{r['n']:>4}{r['client_p50_ms']!s:>15}{r['apache_D_p50_ms']!s:>12}{r['in_php_p50_ms']!s:>15}"
        )
    print(
        "in-PHP breakdown, p50 per request (ms; 'events' = outbox rows written;"
        " 'request' = the whole PHP request):"
    )
    for cond, row in breakdown.items():
        print(f"  {cond:<16} {json.dumps(row)}")
    share = {
        c: round(table[c]["in_php_p50_ms"] / table["inactive"]["apache_D_p50_ms"], 4)
        for c in CONDITIONS[1:]
        if table[c]["in_php_p50_ms"] is not None and table["inactive"]["apache_D_p50_ms"]
    }
    results["ratio_in_php_vs_inactive_request"] = share
    print("ratio in-PHP plugin time / whole request without the plugin (%D p50):", json.dumps(share))
    print("added by the plugin (median active - median inactive):")
    for cond, row in added.items():
        print(f"  {cond:<16} {json.dumps(row)}")
    print("targets:", json.dumps(results["targets"]))
    print(f"whole run {results['seconds']} s")
    if args.json:
        print(json.dumps(results, indent=2))
    if not all(client[c] for c in CONDITIONS) or not any(php.values()):
        print("could not measure every condition", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
