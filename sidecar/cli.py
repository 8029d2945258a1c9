"""``bpm-sidecar``: serve, worker, dlq, reconcile, crm backfill, sandbox, audit, demo.

Every command that needs the BPM_* environment validates it first and exits 2 with the message of the
:class:`~sidecar.config.ConfigError`, which names the variable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sidecar.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def _settings() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def cmd_serve(args: argparse.Namespace) -> int:
    _settings()
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    conf = str(Path(__file__).with_name("gunicorn_conf.py"))
    os.execv(gunicorn, [gunicorn, "--config", conf])  # noqa: S606 - fixed argv, no shell involved
    return 0  # not reached


def cmd_worker(args: argparse.Namespace) -> int:
    from sidecar.engine.worker import run_worker

    return run_worker(_settings(), burst=args.burst, name=args.name)


def cmd_dlq(args: argparse.Namespace) -> int:
    from sidecar import composition
    from sidecar.engine import dead_letters

    settings = _settings()
    conn = composition.worker_redis(settings)
    if args.dlq_command == "list":
        entries = dead_letters.entries(conn, settings)
        if args.json:
            print(json.dumps([{**e.__dict__, "failed_at": e.failed_at_iso} for e in entries], indent=2))
            return 0
        if not entries:
            print("No dead letters.")
            return 0
        for e in entries:
            order = f"order {e.order_id}" if e.order_id is not None else "no order"
            print(f"{e.id}\n  {e.action} · {order} · event {e.event.get('type')} · failed {e.failed_at_iso}")
            print(f"  after {e.attempts} attempt(s): {e.reason}")
        print(f"{len(entries)} dead letter(s). Replay one with: bpm-sidecar dlq replay <id>")
        return 0
    if args.all:
        replayed = dead_letters.replay_all(conn, settings)
        print(f"Re-queued {len(replayed)} dead letter(s).")
        left = dead_letters.count(conn, settings)
        if left:
            print(f"{left} dead letter(s) are still running; run the replay again in a minute.")
        return 0
    if not args.id:
        print("dlq replay: give an id or --all", file=sys.stderr)
        return EXIT_CONFIG
    try:
        entry = dead_letters.replay(conn, settings, args.id)
    except KeyError:
        print(f"no dead letter with id {args.id}", file=sys.stderr)
        return 1
    except dead_letters.DeadLetterBusy as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Re-queued {entry.action} for event {entry.event['id']}.")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from sidecar import composition
    from sidecar.engine import reconcile
    from sidecar.engine.runtime_config import get_config
    from sidecar.errors import BridgeError

    if not args.hours > 0:
        print("reconcile: --hours must be a positive number", file=sys.stderr)
        return EXIT_CONFIG
    settings = _settings()
    try:
        run = composition.services(settings)
        conn, store = run.redis, run.store
        now = datetime.now(UTC)
        config = get_config(conn, settings, store)
        since = now - timedelta(hours=args.hours)
        report = reconcile.sweep(conn, settings, store, config, since, dry_run=args.dry_run, now=now)
    except BridgeError as exc:
        print(f"reconciliation failed: {exc.reason}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return 0


def cmd_crm(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from sidecar import composition, crm_backfill
    from sidecar.engine.runtime_config import get_config
    from sidecar.errors import BridgeError

    try:
        since = datetime.fromisoformat(args.since)
    except ValueError:
        print(f"crm backfill: --since must be a date like 2026-01-31, not {args.since!r}", file=sys.stderr)
        return EXIT_CONFIG
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
    settings = _settings()
    try:
        run = composition.services(settings)
        config = get_config(run.redis, settings, run.store)
        summary = crm_backfill.run(
            run.redis, settings, run.store, config, since, audit=run.audit, queue=args.queue, batch=args.batch
        )
    except BridgeError as exc:
        print(f"crm backfill failed: {exc.reason}", file=sys.stderr)
        return 1
    print(summary.render(crm_backfill.label_of(summary.provider)))
    return 1 if summary.failed else 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sidecar.sandbox import ServedApp, load_factory
    from sidecar.sandbox.registry import SIMULATORS

    # The store first, so `--port P` always puts the WooCommerce simulator on P.
    names = sorted(SIMULATORS, key=lambda n: (n != "woo", n)) if args.name == "all" else [args.name]
    served = []
    try:
        for offset, name in enumerate(names):
            try:
                app = load_factory(name)()
            except (KeyError, ValueError) as exc:
                print(f"{name}: {exc}", file=sys.stderr)
                return EXIT_CONFIG
            served.append(ServedApp(app, args.host, args.port + offset).start())
            print(f"{name}: {served[-1].url}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        for s in served:
            s.stop()


def cmd_audit(args: argparse.Namespace) -> int:
    from sidecar.audit import AuditLog

    settings = _settings()
    removed = AuditLog(settings.audit_dir).prune(settings.audit_retention_days)
    print(f"Removed {len(removed)} audit file(s) older than {settings.audit_retention_days} days.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sidecar.demo import run_demo

    return run_demo(redis_url=args.redis_url, keep=args.keep)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bpm-sidecar", description="BPM Bridge sidecar.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP intake under gunicorn").set_defaults(func=cmd_serve)
    w = sub.add_parser("worker", help="run an RQ worker (with the scheduler)")
    w.add_argument("--burst", action="store_true", help="quit when the queue is empty")
    w.add_argument("--name", help="worker name (default: RQ's)")
    w.set_defaults(func=cmd_worker)
    d = sub.add_parser("dlq", help="dead letters: list and replay")
    dsub = d.add_subparsers(dest="dlq_command", required=True)
    dl = dsub.add_parser("list")
    dl.add_argument("--json", action="store_true")
    dr = dsub.add_parser("replay")
    dr.add_argument("id", nargs="?")
    dr.add_argument("--all", action="store_true")
    d.set_defaults(func=cmd_dlq)
    r = sub.add_parser("reconcile", help="queue invoices for orders whose events were lost; print a report")
    r.add_argument("--hours", type=float, default=24.0, help="look at orders modified in the last N hours")
    r.add_argument("--dry-run", action="store_true", help="only report what would be queued")
    r.add_argument("--json", action="store_true", help="the full report as JSON")
    r.set_defaults(func=cmd_reconcile)
    c = sub.add_parser("crm", help="CRM maintenance: backfill an existing shop's orders")
    csub = c.add_subparsers(dest="crm_command", required=True)
    cb = csub.add_parser("backfill", help="send the orders changed since DATE to the CRM (resumable)")
    cb.add_argument("--since", required=True, help="a date (2026-01-31) or an ISO time, UTC unless given")
    cb.add_argument("--queue", action="store_true", help="queue one crm.sync_order per order for the workers")
    cb.add_argument("--batch", type=int, default=100, choices=range(1, 101), metavar="1..100")
    c.set_defaults(func=cmd_crm)
    s = sub.add_parser("sandbox", help="run API simulators (NAME or all)")
    s.add_argument("name")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8100, help="port of the first simulator; the next count up")
    s.set_defaults(func=cmd_sandbox)
    a = sub.add_parser("audit", help="audit trail maintenance")
    a.add_argument("audit_command", choices=["prune"])
    a.set_defaults(func=cmd_audit)
    demo = sub.add_parser("demo", help="run everything against the simulators; show one order")
    demo.add_argument("--redis-url", default=os.environ.get("BPM_REDIS_URL", "redis://127.0.0.1:6379/0"))
    demo.add_argument("--keep", action="store_true", help="keep the processes running until Ctrl-C")
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
