"""Process settings, read once from ``BPM_*`` environment variables.

The sidecar boots from the environment only (docs/contract.md, DESIGN §4): where the store is, how to
authenticate to it, the shared signing secrets and where Redis lives. Everything else comes from the
store's ``GET bpm-bridge/v1/config``; an operator may override any key of it with
``BPM_CONFIG__<SECTION>__<KEY>=value`` (double underscore = one level of nesting).

``python -m sidecar.config --markdown`` prints the variable table for docs/configuration.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sidecar.signing import secret_key

CONFIG_OVERRIDE_PREFIX = "BPM_CONFIG__"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SEVENTY_TWO_HOURS = 72 * 3600


class ConfigError(ValueError):
    """A variable is missing or malformed; the message names it and says what is expected."""


def default_retry_schedule() -> tuple[int, ...]:
    """Waits in seconds between attempts: fast at first (a blip), then every 2 h until 72 h are covered."""
    schedule = [10, 30, 60, 120, 300, 600, 1800, 3600]
    while sum(schedule) < SEVENTY_TWO_HOURS:
        schedule.append(7200)
    return tuple(schedule)


def default_web_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    # gunicorn's usual 2n+1, capped: intake requests are short and Redis-bound, more workers only add RAM.
    return min(2 * cores + 1, 8)


@dataclass(frozen=True)
class Settings:
    """Everything the sidecar processes (web, worker, CLI) need at boot. Field docs: ``VARIABLES``."""

    webhook_secrets: tuple[str, ...] = field(repr=False)
    store_url: str
    store_user: str
    store_app_password: str = field(repr=False)
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue: str = "bpm"
    audit_dir: str | None = "var/audit"
    audit_retention_days: int = 90
    log_level: str = "INFO"
    config_ttl: int = 60
    dedupe_ttl: int = 604800
    lock_ttl: int = 60
    retry_schedule: tuple[int, ...] = field(default_factory=default_retry_schedule)
    bind: str = "127.0.0.1:8000"
    web_workers: int = field(default_factory=default_web_workers)
    worker_ttl: int = 35
    maintenance_interval: int = 15
    store_timeout: float = 10.0
    allow_insecure_store: bool = False
    reconcile_interval: int = 900
    config_overrides: dict[str, Any] = field(default_factory=dict)


# --- parsers: (variable name, raw text) -> value; raise ConfigError naming the variable -------------


def _text(name: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{name}: must not be empty")
    return raw.strip()


def _int(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name}: must be a whole number of seconds/days, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
        return value

    return parse


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: must be a number of seconds, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}: must be a positive number of seconds, got {raw!r}")
    return value


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: must be true or false, got {raw!r}")


def _secrets(name: str, raw: str) -> tuple[str, ...]:
    secrets = tuple(raw.split())
    if not secrets:
        raise ConfigError(f"{name}: at least one secret is required")
    for position, secret in enumerate(secrets, start=1):
        if not secret.startswith("whsec_"):
            raise ConfigError(f"{name}: each secret must start with 'whsec_' (secret #{position} does not)")
        try:
            secret_key(secret)
        except ValueError as exc:
            raise ConfigError(f"{name}: secret #{position}: {exc}") from None
    return secrets


def _url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{name}: must be an absolute http(s) URL such as https://shop.example, got {raw!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{name}: must not carry a query string or fragment")
    return value


def _redis_url(name: str, raw: str) -> str:
    value = raw.strip()
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{name}: must be a redis://, rediss:// or unix:// URL")
    return value


def _audit_dir(name: str, raw: str) -> str | None:
    return raw.strip() or None


def _log_level(name: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"{name}: must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return value


def _schedule(name: str, raw: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name}: must be comma-separated whole seconds, e.g. 10,30,60") from None
    if not values or any(v < 0 for v in values):
        raise ConfigError(f"{name}: must list at least one non-negative number of seconds")
    return values


def _queue(name: str, raw: str) -> str:
    value = _text(name, raw)
    if not all(c.isalnum() or c in "-_." for c in value):
        raise ConfigError(f"{name}: may hold letters, digits, '-', '_' and '.' only")
    return value


def _bind(name: str, raw: str) -> str:
    value = _text(name, raw)
    if not value.startswith("unix:") and not value.rpartition(":")[2].isdigit():
        raise ConfigError(f"{name}: must be host:port or unix:/path, got {raw!r}")
    return value


@dataclass(frozen=True)
class Variable:
    name: str
    field: str
    default: str | None  # None: required
    help: str
    parse: Callable[[str, str], Any]


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "BPM_WEBHOOK_SECRETS",
        "webhook_secrets",
        None,
        "Space-separated `whsec_<base64>` secrets shared with the plugin. The first is current and signs "
        "requests to the store; every one is accepted on incoming events (rotation without downtime).",
        _secrets,
    ),
    Variable(
        "BPM_STORE_URL",
        "store_url",
        None,
        "The shop's home URL (`home_url()`), e.g. `https://shop.example`. Must be https unless "
        "BPM_ALLOW_INSECURE_STORE is true.",
        _url,
    ),
    Variable(
        "BPM_STORE_USER", "store_user", None, "Login of the WordPress user with the BPM API role.", _text
    ),
    Variable(
        "BPM_STORE_APP_PASSWORD",
        "store_app_password",
        None,
        "Application Password of that user (HTTP Basic on every store request).",
        _text,
    ),
    Variable(
        "BPM_REDIS_URL",
        "redis_url",
        "redis://127.0.0.1:6379/0",
        "Redis holding the queue, de-duplication keys, locks and metrics. Run it with "
        "`maxmemory-policy noeviction` and AOF.",
        _redis_url,
    ),
    Variable("BPM_QUEUE", "queue", "bpm", "Name of the RQ queue the intake fills and workers drain.", _queue),
    Variable(
        "BPM_AUDIT_DIR",
        "audit_dir",
        "var/audit",
        "Directory of the append-only audit trail of outbound calls (JSON Lines, redacted); "
        "empty disables it.",
        _audit_dir,
    ),
    Variable(
        "BPM_AUDIT_RETENTION_DAYS",
        "audit_retention_days",
        "90",
        "Days an audit file is kept before `bpm-sidecar audit prune` deletes it.",
        _int(1),
    ),
    Variable("BPM_LOG_LEVEL", "log_level", "INFO", "Log level of the JSON logs on stderr.", _log_level),
    Variable(
        "BPM_CONFIG_TTL",
        "config_ttl",
        "60",
        "Seconds the store's configuration is cached; a `config.updated` event drops it at once.",
        _int(0),
    ),
    Variable(
        "BPM_DEDUPE_TTL",
        "dedupe_ttl",
        "604800",
        "Seconds an event id is remembered for de-duplication (default 7 days; correctness never depends "
        "on it, every action is idempotent against the store).",
        _int(1),
    ),
    Variable(
        "BPM_LOCK_TTL",
        "lock_ttl",
        "60",
        "Seconds a per-(order, action) lock lives without renewal; a crashed run frees it after this.",
        _int(1),
    ),
    Variable(
        "BPM_RETRY_SCHEDULE",
        "retry_schedule",
        ",".join(str(s) for s in default_retry_schedule()),
        "Comma-separated waits in seconds between attempts of a transiently failing action; its length is "
        "the number of retries. The default grows from 10 s to 2 h and covers more than 72 h.",
        _schedule,
    ),
    Variable(
        "BPM_BIND", "bind", "127.0.0.1:8000", "Address gunicorn listens on (host:port or unix:/path).", _bind
    ),
    Variable(
        "BPM_WEB_WORKERS",
        "web_workers",
        str(default_web_workers()),
        "gunicorn worker processes (default 2 * cores + 1, at most 8).",
        _int(1),
    ),
    Variable(
        "BPM_WORKER_TTL",
        "worker_ttl",
        "35",
        "RQ worker TTL in seconds; short so a crashed worker's job is recovered within about 2 minutes.",
        _int(15),
    ),
    Variable(
        "BPM_MAINTENANCE_INTERVAL",
        "maintenance_interval",
        "15",
        "Seconds between RQ maintenance passes (abandoned-job recovery).",
        _int(1),
    ),
    Variable(
        "BPM_STORE_TIMEOUT",
        "store_timeout",
        "10",
        "Seconds to wait for the store to answer one request.",
        _positive_float,
    ),
    Variable(
        "BPM_ALLOW_INSECURE_STORE",
        "allow_insecure_store",
        "false",
        "Allow a plain http store URL (sandbox, demo and tests only: credentials would travel in clear).",
        _bool,
    ),
    Variable(
        "BPM_RECONCILE_INTERVAL",
        "reconcile_interval",
        "900",
        "Seconds between reconciliation sweeps (orders of the last 24 h that are due a document and have "
        "none are queued again — and, with a CRM chosen, those whose CRM record is missing or older than "
        "the order, see docs/crm.md; one worker enqueues each sweep); 0 disables the schedule. "
        "`bpm-sidecar reconcile` runs one on demand.",
        _int(0),
    ),
)


def parse_config_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``BPM_CONFIG__INVOICING__PROVIDER=infakt`` -> ``{"invoicing": {"provider": "infakt"}}``."""
    overrides: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(CONFIG_OVERRIDE_PREFIX):
            continue
        path = [part.lower() for part in name[len(CONFIG_OVERRIDE_PREFIX) :].split("__")]
        if not all(path):
            raise ConfigError(f"{name}: empty key; write BPM_CONFIG__SECTION__KEY")
        raw = environ[name]
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw  # plain text such as `infakt` needs no quoting
        node = overrides
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                prefix = CONFIG_OVERRIDE_PREFIX + "__".join(p.upper() for p in path[: depth + 1])
                raise ConfigError(f"{name}: conflicts with {prefix}, which sets a plain value")
            node = child
        if isinstance(node.get(path[-1]), dict):
            raise ConfigError(f"{name}: conflicts with deeper {name}__* overrides")
        node[path[-1]] = value
    return overrides


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build :class:`Settings` from ``environ``; raise :class:`ConfigError` at the first bad variable."""
    values: dict[str, Any] = {}
    for var in VARIABLES:
        raw = environ.get(var.name)
        if raw is None or (var.default is None and not raw.strip()):
            if var.default is None:
                raise ConfigError(f"{var.name}: required but not set ({var.help.split('.')[0]})")
            raw = var.default
        values[var.field] = var.parse(var.name, raw)
    if values["store_url"].startswith("http://") and not values["allow_insecure_store"]:
        raise ConfigError(
            "BPM_STORE_URL: must use https (the Application Password travels with every request); "
            "set BPM_ALLOW_INSECURE_STORE=true only for a local sandbox"
        )
    values["config_overrides"] = parse_config_overrides(environ)
    return Settings(**values)


def markdown_table() -> str:
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for var in VARIABLES:
        default = "*required*" if var.default is None else f"`{var.default}`" if var.default else "(empty)"
        if var.name == "BPM_WEB_WORKERS":
            default = "2 * cores + 1, at most 8"
        lines.append(f"| `{var.name}` | {default} | {var.help} |")
    lines.append(
        "| `BPM_CONFIG__<SECTION>__<KEY>` | — | Overrides one key of the store's configuration "
        "(`GET bpm-bridge/v1/config`); `__` nests, keys are lower-cased, a value that parses as JSON is "
        "used as JSON (`true`, `7`, `null`, `{...}`), anything else as text. Example: "
        "`BPM_CONFIG__INVOICING__PROVIDER=infakt`. |"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[1:] == ["--markdown"]:
        print(markdown_table())
        return 0
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    print(repr(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
