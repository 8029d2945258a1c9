"""A burst of paid orders through the real plugin → real sidecar → Fakturownia simulator: WordPress requests
from the sidecar per order, PHP time per order, and time to drain against the limit workers ÷ provider time.

A real shop (bench/shop.py: WordPress 7.0 + WooCommerce 9.2.5, HPOS, Apache + mod_php with --apache-workers
processes, MariaDB), the real sidecar (gunicorn + --workers RQ workers) and the Fakturownia simulator
answering every request after --provider-latency seconds (fixed; default 0.2).

Orders are created and paid **in-process**, the way a sale's checkouts or an import write them, through
WooCommerce CRUD in WordPress CLI processes (``wc_create_order`` → add a product → billing → bacs →
``calculate_totals`` → ``payment_complete()``), --chunk orders per process, one process after another in
a background thread while the pipeline already works. Each process is one "request" for the plugin: its
rows are written during it and its kick goes out at its end. Order creation itself is therefore not in
Apache's log; everything the plugin and the sidecar cause afterwards is (the kick's drain at admin-ajax.php,
WP-Cron, the sidecar's REST calls).

Measured, from the Apache access log (``%D`` = microseconds per request, last field) after a warm-up order:
  sidecar requests per order   requests with the sidecar's user agent (python-requests) / orders, by route
  PHP time per order           sum of %D of those requests / orders; the same for the plugin's delivery
                               requests (the kick's admin-ajax drain, wp-cron.php), which include the time
                               they wait for the sidecar's intake
  drain                        first order written → last invoice number on an order (SQL, 4 polls/s)
  limit                        workers / (provider latency x Fakturownia calls per order, from the audit
                               trail); ratio = achieved orders/s / limit (target ≥ 0.8)
Correctness line: every order has exactly one document in the simulator and its number in the order meta.

Exit 1 only when nothing could be measured (no order finished).

    .venv/bin/python bench/bench_burst.py                # 200 orders
    .venv/bin/python bench/bench_burst.py --orders 1000  # the issue's burst
    .venv/bin/python bench/bench_burst.py --quick        # 30 orders
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shop import AcceptWatcher, Shop, add_shop_arguments, header

CREATE_PHP = """
$ids = array();
$product = wc_get_product( %d );
for ( $i = 0; $i < %d; $i++ ) {
	$order = wc_create_order();
	$order->add_product( $product, 2 );
	$order->set_billing_first_name( 'Jan' );
	$order->set_billing_last_name( 'Kowalski' );
	$order->set_billing_email( 'jan@example.test' );
	$order->set_billing_country( 'PL' );
	$order->set_billing_city( 'Warszawa' );
	$order->set_billing_postcode( '00-001' );
	$order->set_billing_address_1( 'Prosta 1' );
	$order->set_payment_method( 'bacs' );
	$order->set_payment_method_title( 'Przelew' );
	$order->calculate_totals();
	$order->payment_complete();
	$ids[] = $order->get_id();
}
echo wp_json_encode( $ids );
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke (30 orders)")
    parser.add_argument("--orders", type=int, default=200, help="orders in the burst (the issue's: 1000)")
    parser.add_argument("--chunk", type=int, default=20, help="orders per WordPress CLI process")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers")
    parser.add_argument("--apache-workers", type=int, default=6, help="Apache prefork processes")
    parser.add_argument("--provider-latency", type=float, default=0.2, help="Fakturownia simulator delay (s)")
    parser.add_argument("--max-seconds", type=float, default=900, help="cap on the whole drain")
    add_shop_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.orders, args.chunk = 30, 10

    began = time.monotonic()
    results: dict[str, Any] = {
        **header(args),
        "orders": args.orders,
        "workers": args.workers,
        "provider_latency_s": args.provider_latency,
    }
    with Shop(
        args.redis_url, stack=args.stack, hpos=not args.no_hpos, apache_workers=args.apache_workers
    ) as shop:
        shop.start_fakturownia(args.provider_latency)
        shop.start_sidecar(workers=args.workers)
        # Warm-up order: REST root discovery, configuration fetch and opcode caches are not the burst's.
        warm, _, _ = shop.pay_rest()
        deadline = time.monotonic() + 60
        while warm not in shop.invoice_numbers():
            if time.monotonic() > deadline:
                print(
                    "the warm-up order got no invoice number within 60 s:\n" + shop.sidecar_logs(),
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.25)
        time.sleep(2)  # its outcome report and any cron loopback it triggered
        offset = shop.access_log_size()
        calls_before = shop.audit_calls()
        outbox_before = {r["id"] for r in shop.outbox()}

        watcher = AcceptWatcher(shop.redis_url, interval=0.1)
        created: list[int] = []
        creation: dict[str, float] = {}
        failure: list[str] = []

        def create() -> None:
            creation["start"] = time.time()
            left = args.orders
            try:
                while left > 0:
                    n = min(args.chunk, left)
                    out = shop.s.php(CREATE_PHP % (shop.product(), n), timeout=600)
                    created.extend(json.loads(out.strip().splitlines()[-1]))
                    left -= n
            except Exception as exc:
                failure.append(str(exc))
            creation["end"] = time.time()

        thread = threading.Thread(target=create, daemon=True)
        thread.start()
        last_number = 0.0
        done = 0
        at_creation_end: int | None = None  # orders numbered when the last one had been written
        stop_at = time.monotonic() + args.max_seconds
        while time.monotonic() < stop_at:
            time.sleep(0.25)
            numbers = shop.invoice_numbers()
            got = sum(1 for o in created if o in numbers)
            if got > done:
                done, last_number = got, time.time()
            if at_creation_end is None and not thread.is_alive():
                at_creation_end = got
            if not thread.is_alive() and got == len(created):
                break
            if failure:
                break
        thread.join(timeout=5)
        watcher.stop()
        time.sleep(3)  # the final write-backs (outcome) and any trailing cron run reach the log
        hits = shop.access_log(offset)
        calls = {k: v - calls_before.get(k, 0) for k, v in shop.audit_calls().items()}
        rows = [r for r in shop.outbox() if r["id"] not in outbox_before]
        numbers = shop.invoice_numbers()
        docs = shop.documents()
        logs = shop.sidecar_logs()

    n = len(created)
    finished = sum(1 for o in created if o in numbers)
    if failure:
        print(f"order creation failed: {failure[0][:500]}", file=sys.stderr)
    if not n or not finished:
        print("could not measure: no order of the burst got its number\n" + logs[-3000:], file=sys.stderr)
        return 1

    by_route: dict[str, list[int]] = {}
    by_who: dict[str, list[int]] = {}
    for h in hits:
        by_who.setdefault(h.who, []).append(h.us)
        if h.who == "sidecar":
            by_route.setdefault(f"{h.method} {h.route}", []).append(h.us)
    delivery = [h.us for h in hits if h.who in ("kick", "wordpress-loopback") or "wp-cron.php" in h.target]
    sidecar_us = by_who.get("sidecar", [])
    drain_s = last_number - creation["start"]
    # When the plugin got the burst's events to the intake (de-dup keys in Redis, polled every 0.1 s).
    accepted = sorted(watcher.seen[r["id"]] for r in rows if r["id"] in watcher.seen)
    paid_ids = {r["id"] for r in rows if r["event_type"] == "order.paid"}
    paid_accepted = sorted(watcher.seen[i] for i in paid_ids if i in watcher.seen)
    delivery_s = (accepted[-1] - creation["start"]) if accepted else None
    achieved = finished / drain_s if drain_s > 0 else 0.0
    fakturownia_per_order = calls.get("fakturownia", 0) / finished
    provider_s = args.provider_latency * fakturownia_per_order
    limit = args.workers / provider_s if provider_s else None
    # After the last order was written the workers only drain a backlog: their own rate, creation aside.
    backlog = finished - (at_creation_end or 0)
    after_creation_s = last_number - creation["end"]
    backlog_rate = backlog / after_creation_s if backlog > 0 and after_creation_s > 0 else None
    # The sidecar's requests that serve one order (read + write-backs) vs the run's configuration reads.
    order_routes = [us for route, us in by_route.items() if "/orders/" in route]
    per_order_requests = sum(len(us) for us in order_routes) / n
    store_s = sum(sum(us) for us in order_routes) / 1e6 / n
    limit_with_store = args.workers / (provider_s + store_s) if provider_s + store_s else None
    per_order_docs = Counter(
        int(d["oid"].split("-")[1]) for d in docs if str(d.get("oid", "")).startswith("wc-")
    )
    doc_numbers = {
        int(d["oid"].split("-")[1]): d["number"] for d in docs if str(d.get("oid", "")).startswith("wc-")
    }
    problems = [
        f"order {o}: {per_order_docs.get(o, 0)} documents" for o in created if per_order_docs.get(o, 0) != 1
    ] + [
        f"order {o}: number on order {numbers.get(o)!r} vs {doc_numbers.get(o)!r}"
        for o in created
        if o in numbers and numbers.get(o) != doc_numbers.get(o)
    ]

    results.update(
        {
            "created": n,
            "finished": finished,
            "creation_s": round(creation["end"] - creation["start"], 1),
            "drain_s": round(drain_s, 1),
            "achieved_orders_per_s": round(achieved, 2),
            "fakturownia_calls_per_order": round(fakturownia_per_order, 2),
            "limit_orders_per_s": round(limit, 2) if limit else None,
            "ratio_achieved_vs_limit": round(achieved / limit, 3) if limit else None,
            "sidecar_requests_per_order": round(len(sidecar_us) / n, 2),
            "sidecar_order_route_requests_per_order": round(per_order_requests, 3),
            "sidecar_other_requests": len(sidecar_us) - sum(len(us) for us in order_routes),
            "numbered_at_creation_end": at_creation_end,
            "backlog_orders_per_s_after_creation": round(backlog_rate, 2) if backlog_rate else None,
            "ratio_backlog_rate_vs_limit": round(backlog_rate / limit, 3) if backlog_rate and limit else None,
            "limit_with_store_time_orders_per_s": round(limit_with_store, 2) if limit_with_store else None,
            "ratio_achieved_vs_limit_with_store_time": (
                round(achieved / limit_with_store, 3) if limit_with_store else None
            ),
            "sidecar_php_ms_per_order": round(sum(sidecar_us) / 1000 / n, 1),
            "sidecar_request_p50_ms": round(statistics.median(sidecar_us) / 1000, 1) if sidecar_us else None,
            "delivery_requests": len(delivery),
            "delivery_php_ms_per_order": round(sum(delivery) / 1000 / n, 1),
            "all_apache_ms_per_order": round(sum(h.us for h in hits) / 1000 / n, 1),
            "by_route": {
                r: {"per_order": round(len(us) / n, 3), "p50_ms": round(statistics.median(us) / 1000, 1)}
                for r, us in sorted(by_route.items())
            },
            "by_user_agent": {w: len(us) for w, us in sorted(by_who.items())},
            "outbox_rows_per_order": round(len(rows) / n, 2),
            "events_accepted": len(accepted),
            "last_event_accepted_s": round(delivery_s, 1) if delivery_s else None,
            "events_accepted_per_s": round(len(accepted) / delivery_s, 2) if delivery_s else None,
            "last_order_paid_accepted_s": round(paid_accepted[-1] - creation["start"], 1)
            if paid_accepted
            else None,
            "outbox_statuses": dict(Counter(r["status"] for r in rows)),
            "outbox_events": dict(Counter(r["event_type"] for r in rows)),
            "outbound_calls": calls,
            "problems": len(problems),
        }
    )
    results["targets"] = {
        "sidecar requests per order <= 3 (order routes; config reads listed apart)": (
            "met" if per_order_requests <= 3 else "MISSED"
        ),
        "drain >= 0.8 of workers / provider time": ("met" if limit and achieved / limit >= 0.8 else "MISSED"),
    }
    results["seconds"] = round(time.monotonic() - began, 1)

    print(f"{results['date']}  {results['machine']}  stack {results['stack']}")
    print(
        f"burst: {finished}/{n} orders invoiced; created in-process in {results['creation_s']} s "
        f"({args.chunk} per CLI process); W = {args.workers}, provider {args.provider_latency} s"
    )
    print(f"{'measure':<52}{'value':>12}")
    for key in (
        "sidecar_requests_per_order",
        "sidecar_order_route_requests_per_order",
        "sidecar_other_requests",
        "sidecar_request_p50_ms",
        "sidecar_php_ms_per_order",
        "delivery_requests",
        "delivery_php_ms_per_order",
        "all_apache_ms_per_order",
        "outbox_rows_per_order",
        "creation_s",
        "events_accepted",
        "last_event_accepted_s",
        "events_accepted_per_s",
        "last_order_paid_accepted_s",
        "fakturownia_calls_per_order",
        "drain_s",
        "achieved_orders_per_s",
        "limit_orders_per_s",
        "ratio_achieved_vs_limit",
        "numbered_at_creation_end",
        "backlog_orders_per_s_after_creation",
        "ratio_backlog_rate_vs_limit",
        "limit_with_store_time_orders_per_s",
        "ratio_achieved_vs_limit_with_store_time",
    ):
        print(f"{key:<52}{results[key]!s:>12}")
    print("sidecar → WordPress by route (per order, p50 %D):")
    for r, v in results["by_route"].items():
        print(f"  {r:<50}{v['per_order']:>8} x {v['p50_ms']} ms")
    print("Apache requests by user agent:", json.dumps(results["by_user_agent"]))
    print("outbox rows:", json.dumps(results["outbox_events"]), json.dumps(results["outbox_statuses"]))
    print("targets:", json.dumps(results["targets"]))
    print(
        "correctness:",
        "OK (every order exactly one document, its number on the order)"
        if not problems and finished == n
        else f"FAILED: {finished}/{n} numbered; " + "; ".join(problems[:5]),
    )
    print(f"whole run {results['seconds']} s")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
