"""The store's sidecar configuration (``GET bpm-bridge/v1/config``), cached briefly in Redis.

The cache is shared by every worker so a burst of jobs costs one store call per ``config_ttl``;
``config.updated`` events drop it at once (:func:`invalidate`). Operator overrides from the
environment (``BPM_CONFIG__…``) are merged on top on every read, so they always win.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    from sidecar.config import Settings
    from sidecar.store import StoreClient

CACHE_KEY = "bpm:config"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def get_config(conn: redis.Redis, settings: Settings, store: StoreClient) -> dict[str, Any]:
    cached = conn.get(CACHE_KEY)
    if cached is not None:
        config = json.loads(cached)
    else:
        config = store.get_config()
        if settings.config_ttl > 0:
            conn.set(CACHE_KEY, json.dumps(config), ex=int(settings.config_ttl))
    return deep_merge(config, settings.config_overrides or {})


def cached(conn: redis.Redis, settings: Settings) -> dict[str, Any] | None:
    """The configuration as the workers last cached it (with the overrides), or None: no store call.
    The intake uses it to leave out actions of switched-off sections (registry.without_switched_off)."""
    raw = conn.get(CACHE_KEY)
    if raw is None:
        return None
    try:
        config = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(config, dict):
        return None
    return deep_merge(config, settings.config_overrides or {})


def invalidate(conn: redis.Redis) -> None:
    conn.delete(CACHE_KEY)
