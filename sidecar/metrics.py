"""Prometheus metrics kept in Redis.

gunicorn workers and RQ work horses are separate processes, often on separate hosts, and a work horse
lives for one job. Counting in each process would lose numbers or need a shared directory, so every
count is an ``HINCRBY`` (``HINCRBYFLOAT`` for sums) in a few Redis hashes and ``/metrics`` renders them
through ``prometheus_client``. A metric write never fails the request or job that makes it: Redis errors
there are logged and dropped.

Hash fields are JSON arrays of label values; histogram buckets are stored per bucket (not cumulative)
and made cumulative when rendered.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

log = logging.getLogger(__name__)

PREFIX = "bpm:metrics:"
EVENTS = PREFIX + "events"
JOBS = PREFIX + "jobs"
JOB_DURATION = PREFIX + "job_duration"
PROVIDER = PREFIX + "provider"
PROVIDER_DURATION = PREFIX + "provider_duration"
RECONCILE = PREFIX + "reconcile"
RMA_DEADLINES = PREFIX + "rma_deadlines"  # a snapshot, replaced whole by each deadline sweep

EVENT_RESULTS = ("accepted", "duplicate", "bad_signature", "invalid", "too_large", "unavailable")
JOB_OUTCOMES = ("done", "skipped", "retrying", "failed")
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
PROVIDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
QUEUE_STATES = ("queued", "scheduled", "started")
RMA_STATES = ("overdue", "due_soon", "awaiting_label")
RMA_KINDS = ("withdrawal", "complaint")

# Bounds on every metric write: a label value never becomes unbounded text from a request.
_MAX_LABEL = 64


def _field(*labels: str) -> str:
    return json.dumps([str(label)[:_MAX_LABEL] for label in labels])


def _bucket_index(buckets: Sequence[float], seconds: float) -> int:
    for index, upper in enumerate(buckets):
        if seconds <= upper:
            return index
    return len(buckets)  # +Inf


class Metrics:
    """The write side, used by the intake, the job runner and (via ``provider_call``) HttpClient."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn

    def event(self, type: str, result: str, count: int = 1) -> None:
        # ``count`` > 1: the intake's counts kept in memory while Redis was unavailable.
        self._write(lambda pipe: pipe.hincrby(EVENTS, _field(type, result), count))

    def job(self, action: str, outcome: str, seconds: float) -> None:
        def write(pipe: Any) -> None:
            pipe.hincrby(JOBS, _field(action, outcome), 1)
            self._observe(pipe, JOB_DURATION, (action,), JOB_BUCKETS, seconds)

        self._write(write)

    def provider_call(self, provider: str, method: str, status_class: str, seconds: float) -> None:
        """Same signature as :class:`sidecar.http.HttpClient`'s ``observe`` hook."""

        def write(pipe: Any) -> None:
            pipe.hincrby(PROVIDER, _field(provider, method.upper(), status_class), 1)
            self._observe(pipe, PROVIDER_DURATION, (provider,), PROVIDER_BUCKETS, seconds)

        self._write(write)

    def reconcile(self, missing: int, queued: int) -> None:
        """Orders a sweep found due a document but without one, and how many of them it queued."""

        def write(pipe: Any) -> None:
            pipe.hincrby(RECONCILE, _field("missing"), int(missing))
            pipe.hincrby(RECONCILE, _field("queued"), int(queued))

        self._write(write)

    def rma_deadlines(self, counts: dict[tuple[str, str], int], refreshed_at: float) -> None:
        """Open returns by (state, kind) as the last deadline sweep counted them (engine/rma_deadlines.py).

        A snapshot, not a counter: the hash is replaced in one transaction, so a state that emptied out
        shows 0 instead of its last value."""

        def write(pipe: Any) -> None:
            pipe.delete(RMA_DEADLINES)
            pipe.hset(RMA_DEADLINES, _field("refreshed_at", ""), float(refreshed_at))
            for (state, kind), number in counts.items():
                pipe.hset(RMA_DEADLINES, _field(state, kind), int(number))

        try:
            with self.conn.pipeline(transaction=True) as pipe:
                write(pipe)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("metrics not recorded: Redis error %s", type(exc).__name__)

    @staticmethod
    def _observe(
        pipe: Any, key: str, labels: tuple[str, ...], buckets: Sequence[float], seconds: float
    ) -> None:
        seconds = max(0.0, float(seconds))
        pipe.hincrby(key, _field(*labels, str(_bucket_index(buckets, seconds))), 1)
        pipe.hincrbyfloat(key, _field(*labels, "sum"), seconds)

    def _write(self, commands: Callable[[Any], None]) -> None:
        try:
            with self.conn.pipeline(transaction=False) as pipe:
                commands(pipe)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("metrics not recorded: Redis error %s", type(exc).__name__)


def _read(conn: redis.Redis, key: str) -> dict[tuple[str, ...], float]:
    return {tuple(json.loads(k)): float(v) for k, v in conn.hgetall(key).items()}


def _histogram(
    name: str, doc: str, label: str, raw: dict[tuple[str, ...], float], buckets: Sequence[float]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    per_label: dict[str, dict[str, float]] = defaultdict(dict)
    for (value, slot), number in raw.items():
        per_label[value][slot] = number
    for value in sorted(per_label):
        slots = per_label[value]
        cumulative, rows = 0.0, []
        for index, upper in enumerate((*buckets, float("inf"))):
            cumulative += slots.get(str(index), 0.0)
            rows.append(("+Inf" if upper == float("inf") else repr(upper), cumulative))
        family.add_metric([value], rows, slots.get("sum", 0.0))
    return family


class RedisCollector:
    """Reads the hashes (and the queue's numbers) at scrape time."""

    def __init__(self, conn: redis.Redis, queue_stats: Callable[[], dict[str, int]] | None = None) -> None:
        self.conn = conn
        self.queue_stats = queue_stats

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "bpm_events", "Events received, by type and result.", labels=["type", "result"]
        )
        for labels, value in sorted(_read(self.conn, EVENTS).items()):
            events.add_metric(list(labels), value)
        yield events

        jobs = CounterMetricFamily(
            "bpm_jobs", "Finished job runs, by action and outcome.", labels=["action", "outcome"]
        )
        for labels, value in sorted(_read(self.conn, JOBS).items()):
            jobs.add_metric(list(labels), value)
        yield jobs
        yield _histogram(
            "bpm_job_duration_seconds",
            "Duration of job runs.",
            "action",
            _read(self.conn, JOB_DURATION),
            JOB_BUCKETS,
        )

        calls = CounterMetricFamily(
            "bpm_provider_requests",
            "Outbound HTTP requests to providers and the store, by status class (error = no answer).",
            labels=["provider", "method", "status_class"],
        )
        for labels, value in sorted(_read(self.conn, PROVIDER).items()):
            calls.add_metric(list(labels), value)
        yield calls
        yield _histogram(
            "bpm_provider_request_duration_seconds",
            "Duration of outbound HTTP requests.",
            "provider",
            _read(self.conn, PROVIDER_DURATION),
            PROVIDER_BUCKETS,
        )

        swept = CounterMetricFamily(
            "bpm_reconcile_orders",
            "Orders the reconciliation sweep found due a document without one (missing) and queued.",
            labels=["result"],
        )
        for labels, value in sorted(_read(self.conn, RECONCILE).items()):
            swept.add_metric(list(labels), value)
        yield swept

        yield from _rma_deadlines(_read(self.conn, RMA_DEADLINES))

        if self.queue_stats is not None:
            stats = self.queue_stats()
            depth = GaugeMetricFamily("bpm_queue_depth", "Jobs in the queue, by state.", labels=["state"])
            for state in QUEUE_STATES:
                depth.add_metric([state], stats.get(state, 0))
            yield depth
            yield GaugeMetricFamily(
                "bpm_dead_letters",
                "Jobs that failed permanently and wait for a human.",
                value=stats.get("dead_letters", 0),
            )


def _rma_deadlines(raw: dict[tuple[str, ...], float]) -> Iterator[Metric]:
    """Gauges of the last deadline sweep: returns overdue, due within 3 days, approved without a label."""
    returns = GaugeMetricFamily(
        "bpm_rma_returns",
        "Open returns by deadline state (overdue | due_soon: within 3 days | awaiting_label) and kind "
        "(withdrawal | complaint), as the last deadline sweep counted them.",
        labels=["state", "kind"],
    )
    for state in RMA_STATES:
        for kind in RMA_KINDS:
            returns.add_metric([state, kind], raw.get((state, kind), 0.0))
    yield returns
    yield GaugeMetricFamily(
        "bpm_rma_deadlines_refreshed_timestamp_seconds",
        "Unix time of the last deadline sweep (0: none yet).",
        value=raw.get(("refreshed_at", ""), 0.0),
    )


def render(conn: redis.Redis, queue_stats: Callable[[], dict[str, int]] | None = None) -> bytes:
    """The Prometheus text exposition of everything recorded so far. Raises on Redis errors."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(conn, queue_stats))
    return generate_latest(registry)
