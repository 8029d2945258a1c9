"""The Flask application factory. gunicorn runs ``sidecar.app:create_app()``; there is no module-level app."""

from __future__ import annotations

import os

from flask import Flask

from sidecar import composition
from sidecar.api import BpmState, crm, events, health, problems
from sidecar.config import Settings, load_settings
from sidecar.logs import configure_logging
from sidecar.metrics import Metrics


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings(os.environ)
    configure_logging(settings.log_level)
    app = Flask(__name__)
    conn = composition.intake_redis(settings)
    app.extensions["bpm"] = BpmState(settings=settings, redis=conn, metrics=Metrics(conn))
    app.register_blueprint(events.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(crm.bp)
    problems.register(app)
    return app
