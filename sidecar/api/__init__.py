"""HTTP blueprints of the sidecar and the per-app state they share (``app.extensions["bpm"]``)."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app

from sidecar.config import Settings
from sidecar.metrics import Metrics


@dataclass(frozen=True)
class BpmState:
    settings: Settings
    redis: redis.Redis
    metrics: Metrics


def state() -> BpmState:
    return current_app.extensions["bpm"]
