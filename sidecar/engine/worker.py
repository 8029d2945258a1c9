"""``bpm-sidecar worker``: an RQ worker on ``settings.queue`` with the scheduler.

Tuned so a worker killed with SIGKILL (worker and work horse) has its job re-run by another worker
within about two minutes (reliability.md §1.4):
- the running job's heartbeat lives ``JOB_MONITORING_INTERVAL + 60`` s, so an orphaned entry in the
  started registry expires after ~70 s instead of ~90 s;
- ``maintenance_interval`` (default 15 s) decides how often registries are swept, and an idle worker
  never blocks in its dequeue call longer than that, so the sweep is not postponed by an empty queue;
- jobs are enqueued with an abandon ``Retry`` whose first interval is 0 (sidecar/engine/queueing.py).

Each maintenance pass also offers to enqueue the reconciliation sweep (sidecar/engine/reconcile.py); a Redis
guard lets one worker do it per ``BPM_RECONCILE_INTERVAL``, and the sweep itself runs as a job.
"""

from __future__ import annotations

import importlib
import logging

import redis
from rq import Queue, Worker

from sidecar import composition
from sidecar.config import Settings
from sidecar.engine import reconcile
from sidecar.logs import configure_logging

JOB_MONITORING_INTERVAL = 10
log = logging.getLogger(__name__)


class BridgeWorker(Worker):
    bridge_settings: Settings | None = None  # set by build_worker; None: no reconciliation schedule

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        if self.bridge_settings is None:
            return
        try:
            reconcile.maybe_schedule(self.connection, self.bridge_settings)
        except redis.RedisError as exc:  # the next pass tries again; the worker keeps working
            log.warning("could not schedule the reconciliation sweep: %s", exc)

    @property
    def dequeue_timeout(self) -> int:
        # RQ blocks worker_ttl - 15 s on an empty queue and only sweeps registries between dequeues.
        return max(1, min(self.worker_ttl - 15, self.maintenance_interval))


def build_worker(settings: Settings, conn: redis.Redis, name: str | None = None) -> BridgeWorker:
    worker = BridgeWorker(
        [Queue(settings.queue, connection=conn)],
        connection=conn,
        name=name,
        worker_ttl=settings.worker_ttl,
        maintenance_interval=settings.maintenance_interval,
        job_monitoring_interval=JOB_MONITORING_INTERVAL,
    )
    worker.bridge_settings = settings
    return worker


def warn_if_redis_may_lose_jobs(conn: redis.Redis) -> str | None:
    """Return (and log) a warning when Redis may evict keys: an evicted key is a lost job."""
    try:
        policy = conn.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.RedisError:  # managed Redis services often forbid CONFIG; nothing to check then
        return None
    if policy in (None, "noeviction"):
        return None
    message = f"Redis maxmemory-policy is {policy!r}: set it to 'noeviction' or queued jobs may be evicted"
    log.warning(message)
    return message


def preload_job_code() -> None:
    """Import the runner and every action's module once, before RQ forks a work horse per job.

    The horses inherit the imported modules; without this each job paid ~30 ms of imports
    (bench/README.md, pipeline benchmark).
    """
    from sidecar.engine import runner  # noqa: F401 - imported for the forked horses
    from sidecar.jobs import registry

    for target in registry.all_actions().values():
        importlib.import_module(target.partition(":")[0])


def run_worker(settings: Settings, burst: bool = False, name: str | None = None) -> int:
    configure_logging(settings.log_level)
    conn = composition.worker_redis(settings)
    warn_if_redis_may_lose_jobs(conn)
    preload_job_code()
    worker = build_worker(settings, conn, name)
    worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    return 0
