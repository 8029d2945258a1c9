"""gunicorn settings for ``bpm-sidecar serve``: bind and workers from the BPM_* environment.

The CLI validated the environment before exec'ing gunicorn, so a bad variable never gets this far.

Threads and the receive timeout against slow clients: see sidecar/serving.py.
"""

from __future__ import annotations

import os
from typing import Any

from sidecar.config import load_settings
from sidecar.serving import THREADS, set_receive_timeout

_settings = load_settings(os.environ)

wsgi_app = "sidecar.app:create_app()"
bind = [_settings.bind]
workers = _settings.web_workers
worker_class = "sidecar.serving.IntakeWorker"
threads = THREADS
timeout = 30
graceful_timeout = 20
keepalive = 5
# Intake answers in milliseconds; a longer request is a stuck client, not work.
limit_request_line = 8190
# No control socket (gunicorn >= 25): its default path is per user, so two sidecars on one host (tests,
# the demo, a staging copy) would fight over it, and nothing here uses gunicornc.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = _settings.log_level.lower()
# JSON-ish access log: one object per line, no query strings (they may carry tokens), no bodies.
access_log_format = (
    '{"ts": "%(t)s", "logger": "gunicorn.access", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "ms": %(M)s, "remote": "%(h)s", "webhook_id": "%({webhook-id}i)s"}'
)


def when_ready(server: Any) -> None:
    set_receive_timeout(listener.sock for listener in server.LISTENERS)
