"""``bpm-sidecar`` as an operator runs it: real subprocesses, real Redis, the simulator over HTTP."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
from support import Woo
from support.actions import EXTRA_ACTIONS, effects_key
from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port
from test_jobs import make_event

from sidecar.config import load_settings
from sidecar.engine import dead_letters, queueing


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sidecar_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout)


def env_for(woo: Woo, redis_url: str, **extra: str) -> dict[str, str]:
    return process_env(
        redis_url, woo.url, woo.secret, woo.env(redis_url)["BPM_STORE_APP_PASSWORD"],
        extra={"BPM_EXTRA_ACTIONS": EXTRA_ACTIONS, **extra},
    )  # fmt: skip


def test_config_errors_name_the_variable_and_exit_2(woo: Woo, redis_url: str) -> None:
    bare = {k: v for k, v in os.environ.items() if not k.startswith("BPM_")}
    for command in (["worker"], ["serve"], ["dlq", "list"], ["audit", "prune"]):
        result = run(command, bare)
        assert result.returncode == 2, command
        assert "BPM_WEBHOOK_SECRETS" in result.stderr
    insecure = env_for(woo, redis_url, BPM_ALLOW_INSECURE_STORE="false")
    result = run(["serve"], insecure)
    assert result.returncode == 2 and "BPM_STORE_URL" in result.stderr


def test_worker_burst_runs_queued_jobs(woo: Woo, redis_url: str, redis_conn: redis.Redis) -> None:
    env = env_for(woo, redis_url)
    settings = load_settings(env)
    order = woo.admin.create_order()
    event = make_event(order["id"])
    woo.admin.register_event(event["id"], ["test.effect"])
    queueing.enqueue_actions(redis_conn, settings, event, ["test.effect"])
    result = run(["worker", "--burst"], env)
    assert result.returncode == 0, result.stderr
    assert int(redis_conn.get(effects_key(order["id"]))) == 1
    assert woo.admin.event(event["id"])["status"] == "done"


def test_dlq_list_and_replay(woo: Woo, redis_url: str, redis_conn: redis.Redis) -> None:
    env = env_for(woo, redis_url)
    settings = load_settings(env)
    first, second = make_event(11), make_event(12)
    dead_letters.add(
        redis_conn, first, "invoice.issue", "Fakturownia refused the API token", attempts=1, order_id=11
    )
    dead_letters.add(
        redis_conn, second, "invoice.correct", "refund 9 not found in the store", attempts=3, order_id=12
    )
    listed = run(["dlq", "list"], env)
    assert listed.returncode == 0
    assert (
        "invoice.issue · order 11" in listed.stdout and "Fakturownia refused the API token" in listed.stdout
    )
    assert "after 3 attempt(s): refund 9 not found in the store" in listed.stdout
    as_json = run(["dlq", "list", "--json"], env)
    assert '"reason": "Fakturownia refused the API token"' in as_json.stdout

    entry_id = queueing.job_id(first["id"], "invoice.issue")
    replayed = run(["dlq", "replay", entry_id], env)
    assert replayed.returncode == 0 and "Re-queued invoice.issue" in replayed.stdout
    assert [e.id for e in dead_letters.entries(redis_conn, settings)] == [
        queueing.job_id(second["id"], "invoice.correct")
    ]
    assert run(["dlq", "replay", "nope"], env).returncode == 1
    assert "Re-queued 1 dead letter(s)." in run(["dlq", "replay", "--all"], env).stdout
    assert run(["dlq", "list"], env).stdout.strip() == "No dead letters."
    assert queueing.queue_for(redis_conn, settings).count == 2


def test_audit_prune_removes_old_day_files(woo: Woo, redis_url: str, tmp_path) -> None:
    old, new = tmp_path / "audit-2020-01-01.jsonl", tmp_path / "audit-2026-11-23.jsonl"
    old.write_text("{}\n")
    new.write_text("{}\n")
    os.utime(old, (time.time() - 100 * 86400,) * 2)
    result = run(
        ["audit", "prune"],
        env_for(woo, redis_url, BPM_AUDIT_DIR=str(tmp_path), BPM_AUDIT_RETENTION_DAYS="90"),
    )
    assert result.returncode == 0 and "Removed 1 audit file(s)" in result.stdout
    assert not old.exists() and new.exists()


def test_sandbox_commands_serve_the_simulators(woo: Woo, redis_url: str) -> None:
    env = env_for(woo, redis_url)
    with ProcessGroup() as group:
        cli_port, module_port = free_port(), free_port()
        group.start("sandbox-cli", sidecar_cmd("sandbox", "woo", "--port", str(cli_port)), env)
        python = sidecar_cmd()[0].replace("bpm-sidecar", "python")
        group.start(
            "sandbox-module", [python, "-m", "sidecar.sandbox", "woo", "--port", str(module_port)], env
        )
        for port in (cli_port, module_port):
            wait_for_port(port)
            assert (
                requests.get(f"http://127.0.0.1:{port}/wp-json/", timeout=5).json()["name"]
                == "BPM Sandbox Shop"
            )


@pytest.mark.slow
def test_demo_tells_the_story_and_cleans_up(redis_url: str, redis_conn: redis.Redis) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPM_")}
    result = run(["demo", "--redis-url", redis_url], env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "order.paid" in out and "HTTP 202" in out and "outbox row done" in out
    assert "order.refunded" in out and "order notes (what the shop admin reads):" in out
    if "invoice.issue" in out:  # present once invoicing is registered
        assert "_bpm_invoice_number = " in out and "invoice.correct: done" in out
    assert demo_processes(redis_url) == []


def demo_processes(redis_url: str) -> list[int]:
    """Processes still running with the demo's environment (its queue is named bpm-demo-…)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if f"BPM_REDIS_URL={redis_url}".encode() in environ and any(
            e.startswith(b"BPM_QUEUE=bpm-demo-") for e in environ
        ):
            found.append(int(entry.name))
    return found
