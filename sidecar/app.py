"""The Flask application factory. gunicorn runs ``sidecar.app:create_app()``; there is no module-level app."""

from __future__ import annotations

import os

import redis
from flask import Flask
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from sidecar.api import BpmState, events, health, problems
from sidecar.config import Settings, load_settings
from sidecar.logs import configure_logging
from sidecar.metrics import Metrics

# Short Redis timeouts: when Redis is gone the intake must answer 503 quickly (the plugin retries),
# not hold a gunicorn worker until the plugin's own timeout fires.
REDIS_CONNECT_TIMEOUT = 2.0
REDIS_SOCKET_TIMEOUT = 5.0


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings(os.environ)
    configure_logging(settings.log_level)
    app = Flask(__name__)
    conn = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
        # redis-py's default retries back off for seconds; a blip is worth two quick retries, an outage not.
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
    )
    app.extensions["bpm"] = BpmState(settings=settings, redis=conn, metrics=Metrics(conn))
    app.register_blueprint(events.bp)
    app.register_blueprint(health.bp)
    problems.register(app)
    return app
