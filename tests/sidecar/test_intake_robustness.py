"""The intake under a failing Redis and hostile clients, against the real ``bpm-sidecar serve`` (issue 8).

Each case runs the real gunicorn configuration (sidecar/gunicorn_conf.py) in front of a redis-server
started here on a free port, so Redis can be frozen (SIGSTOP), put to sleep (DEBUG SLEEP) or filled
(maxmemory + noeviction) without disturbing anybody else's. Times are measured on the wall clock and
printed (``pytest -s``) so the report can quote them.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import requests
from support.processes import Proc, free_port, process_env, sidecar_cmd, wait_for_port, wait_until

from sidecar.api.events import DEDUPE_KEY
from sidecar.engine import queueing
from sidecar.serving import RECEIVE_TIMEOUT
from sidecar.signing import new_secret, signature_headers

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

SECRET = new_secret()
QUEUE = "bpm-robust"
# Routed so that order.paid queues two jobs: "half-queued" is then observable.
EXTRA_ACTIONS = ",".join(f"probe.{n}=tests.support.actions:effect_quiet@order.paid" for n in ("one", "two"))
BUDGET = 1.0  # seconds: the bound for a 503 from a frozen/slow/full Redis


@dataclass
class Stack:
    base: str
    port: int
    redis: redis.Redis
    redis_proc: subprocess.Popen
    web: Proc

    def redis_port(self) -> int:
        return int(self.redis.connection_pool.connection_kwargs["port"])

    def freeze(self) -> None:
        os.kill(self.redis_proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.redis_proc.pid, signal.SIGCONT)


def _event(event_type: str = "order.paid") -> tuple[str, bytes]:
    event_id = str(uuid.uuid4())
    body = {
        "id": event_id,
        "type": event_type,
        "occurred_at": "2026-11-22T12:00:00Z",
        "store": "https://shop.example",
        "data": {"order_id": 5, "from": "pending", "to": "processing"},
    }
    return event_id, json.dumps(body).encode()


def _post(stack: Stack, event_id: str, body: bytes, timeout: float = 10) -> tuple[requests.Response, float]:
    headers = {**signature_headers([SECRET], body, msg_id=event_id), "Content-Type": "application/json"}
    started = time.perf_counter()
    response = requests.post(stack.base + "/v1/events", data=body, headers=headers, timeout=timeout)
    return response, time.perf_counter() - started


def _healthz(stack: Stack) -> float:
    started = time.perf_counter()
    assert requests.get(stack.base + "/healthz", timeout=10).status_code == 200
    return time.perf_counter() - started


def _job_keys(conn: redis.Redis, event_id: str) -> list[bool]:
    return [bool(conn.exists(f"rq:job:{queueing.job_id(event_id, a)}")) for a in ("probe.one", "probe.two")]


def _assert_all_or_nothing(conn: redis.Redis, event_id: str) -> bool:
    """Either the id is claimed and both jobs exist, or neither: never a claimed id without its jobs."""
    claimed = bool(conn.exists(DEDUPE_KEY.format(event_id)))
    jobs = _job_keys(conn, event_id)
    assert jobs == [claimed, claimed], (claimed, jobs)
    return claimed


def _assert_unavailable(response: requests.Response, elapsed: float) -> None:
    assert response.status_code == 503, response.text
    assert elapsed < BUDGET, f"503 took {elapsed:.3f} s"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["type"] == "urn:bpm-bridge:problem:unavailable"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    redis_port = free_port()
    redis_proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "local",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    web = None
    try:
        wait_for_port(redis_port)
        port = free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        env = process_env(
            redis_url,
            "http://127.0.0.1:9",
            SECRET,
            "abcd efgh ijkl mnop",
            extra={
                "BPM_BIND": f"127.0.0.1:{port}",
                "BPM_WEB_WORKERS": "1",
                "BPM_QUEUE": QUEUE,
                "BPM_EXTRA_ACTIONS": EXTRA_ACTIONS,
                "BPM_LOG_LEVEL": "WARNING",
            },
        )
        web = Proc("robust-web", sidecar_cmd("serve"), env)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(base), timeout=30, what="gunicorn /healthz")
        yield Stack(base, port, redis.Redis.from_url(redis_url), redis_proc, web)
    finally:
        if web is not None:
            web.stop()
            print(web.tail(60))
            web.cleanup()
        os.kill(redis_proc.pid, signal.SIGCONT)
        redis_proc.terminate()
        redis_proc.wait(10)


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def fresh(stack: Stack) -> Iterator[Stack]:
    stack.thaw()
    stack.redis.config_set("maxmemory", "0")
    stack.redis.flushall()
    yield stack
    stack.thaw()
    stack.redis.config_set("maxmemory", "0")
    stack.redis.flushall()


def test_a_frozen_redis_is_a_quick_503_and_healthz_stays_up(fresh: Stack) -> None:
    warm_id, warm = _event()
    assert _post(fresh, warm_id, warm)[0].status_code == 202  # pooled connections exist, as in production
    fresh.freeze()
    try:
        events = [_event() for _ in range(4)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = [pool.submit(_post, fresh, eid, body) for eid, body in events]
            time.sleep(0.05)
            health = [pool.submit(_healthz, fresh) for _ in range(3)]
            results = [f.result() for f in answers]
            health_times = [f.result() for f in health]
        single_id, single = _event()
        alone = _post(fresh, single_id, single)
    finally:
        fresh.thaw()
    for response, elapsed in [*results, alone]:
        _assert_unavailable(response, elapsed)
    print(
        f"\nfrozen Redis: 503 after {max(e for _, e in results):.3f} s (4 concurrent), "
        f"{alone[1]:.3f} s (alone); /healthz meanwhile {max(health_times):.3f} s"
    )
    assert max(health_times) < 0.5
    # Nothing half-queued, and a re-delivery after the outage is a new event, queued in full.
    for event_id, body in [*events, (single_id, single)]:
        claimed = _assert_all_or_nothing(fresh.redis, event_id)
        again = _post(fresh, event_id, body)[0]
        assert again.status_code == (200 if claimed else 202), again.text
        assert _assert_all_or_nothing(fresh.redis, event_id)


def test_the_503_writes_nothing_and_its_count_arrives_with_the_next_good_event(fresh: Stack) -> None:
    fresh.freeze()
    try:
        event_id, body = _event()
        _assert_unavailable(*_post(fresh, event_id, body))
    finally:
        fresh.thaw()
    assert fresh.redis.hgetall("bpm:metrics:events") == {}
    good_id, good = _event()
    assert _post(fresh, good_id, good)[0].status_code == 202

    def counts() -> dict[tuple[str, ...], int]:
        return {tuple(json.loads(k)): int(v) for k, v in fresh.redis.hgetall("bpm:metrics:events").items()}

    # Written once the answer is sent, so it lands a moment after the response.
    wait_until(lambda: len(counts()) == 2, timeout=5, what="both counts")
    assert counts() == {("order.paid", "unavailable"): 1, ("order.paid", "accepted"): 1}


def test_a_slow_redis_is_a_quick_503(fresh: Stack) -> None:
    sleeper = redis.Redis(port=fresh.redis_port())
    asleep = threading.Thread(target=lambda: sleeper.execute_command("DEBUG", "SLEEP", "3"))
    asleep.start()
    try:
        time.sleep(0.1)
        event_id, body = _event()
        response, elapsed = _post(fresh, event_id, body)
        health = _healthz(fresh)
    finally:
        asleep.join()
    _assert_unavailable(response, elapsed)
    print(f"\nDEBUG SLEEP 3: 503 after {elapsed:.3f} s; /healthz {health:.3f} s")
    assert health < 0.5
    _assert_all_or_nothing(fresh.redis, event_id)


def test_a_full_redis_is_a_quick_503_and_nothing_is_queued(fresh: Stack) -> None:
    known_id, known = _event()
    assert _post(fresh, known_id, known)[0].status_code == 202
    fresh.redis.set("ballast", b"x" * (2 * 1024 * 1024))
    fresh.redis.config_set("maxmemory-policy", "noeviction")
    fresh.redis.config_set("maxmemory", "1mb")
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        fresh.redis.set("probe", "1")
    event_id, body = _event()
    response, elapsed = _post(fresh, event_id, body)
    _assert_unavailable(response, elapsed)
    print(f"\nOOM (maxmemory 1mb, noeviction): 503 after {elapsed:.3f} s")
    assert not _assert_all_or_nothing(fresh.redis, event_id)
    # A re-delivery of an accepted event still answers: reading the claim needs no memory.
    duplicate = _post(fresh, known_id, known)[0]
    assert duplicate.status_code == 200 and duplicate.json()["duplicate"] is True
    fresh.redis.config_set("maxmemory", "0")
    assert _post(fresh, event_id, body)[0].status_code == 202


def _slow_client(port: int, partial_headers: bool = False) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if partial_headers:
        sock.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Ty")
    else:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4000\r\n\r\n{"
        )
    return sock


def _closed_after(sock: socket.socket) -> tuple[float, bytes]:
    started = time.perf_counter()
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except OSError:
        pass
    return time.perf_counter() - started, data


def test_slow_clients_do_not_block_the_intake(fresh: Stack) -> None:
    slow = [_slow_client(fresh.port) for _ in range(8)] + [_slow_client(fresh.port, True) for _ in range(4)]
    try:
        time.sleep(0.3)  # they all sit in the server now
        latencies = []
        for _ in range(5):
            event_id, body = _event()
            response, elapsed = _post(fresh, event_id, body)
            assert response.status_code == 202, response.text
            latencies.append(elapsed)
        health = _healthz(fresh)
        print(
            f"\n12 slow clients hanging: events answered in {max(latencies):.3f} s (max of 5), "
            f"/healthz {health:.3f} s"
        )
        assert max(latencies) < BUDGET and health < 0.5
        # The receive timeout frees their threads: the body-stalled ones get a 408, all get closed.
        with concurrent.futures.ThreadPoolExecutor(len(slow)) as pool:
            closed = list(pool.map(_closed_after, slow))
    finally:
        for sock in slow:
            sock.close()
    assert max(t for t, _ in closed) < RECEIVE_TIMEOUT + 3, [(round(t, 1), d[:20]) for t, d in closed]
    assert all(b" 408 " in data.split(b"\r\n", 1)[0] for _, data in closed[:8]), [d[:40] for _, d in closed]


def test_clients_that_never_hang_up_do_not_stall_accepting(fresh: Stack) -> None:
    # gthread lingers on its main thread for each closing client to hang up (2 s each in gunicorn 27);
    # sidecar.serving.IntakeWorker does not, so six such clients cost nobody else anything.
    lingering = []
    for _ in range(6):
        sock = socket.create_connection(("127.0.0.1", fresh.port), timeout=10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        lingering.append(sock)
    try:
        time.sleep(0.2)
        event_id, body = _event()
        response, elapsed = _post(fresh, event_id, body)
        print(f"\n6 clients not hanging up: event answered in {elapsed:.3f} s")
        assert response.status_code == 202 and elapsed < BUDGET
        for sock in lingering:  # each got its answer, then FIN
            assert _closed_after(sock)[1].startswith(b"HTTP/1.1 200")
    finally:
        for sock in lingering:
            sock.close()
