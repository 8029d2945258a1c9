"""Settings from BPM_* variables: defaults, required variables, validation messages, overrides."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from sidecar.config import VARIABLES, ConfigError, Settings, default_retry_schedule, load_settings
from sidecar.signing import new_secret

SECRET = new_secret()
MINIMAL = {
    "BPM_WEBHOOK_SECRETS": SECRET,
    "BPM_STORE_URL": "https://shop.example/",
    "BPM_STORE_USER": "bpm-api",
    "BPM_STORE_APP_PASSWORD": "abcd efgh ijkl mnop",
}


def load(**changes: str | None) -> Settings:
    environ = {**MINIMAL, **changes}
    return load_settings({k: v for k, v in environ.items() if v is not None})


def test_defaults():
    s = load()
    assert s.webhook_secrets == (SECRET,)
    assert s.store_url == "https://shop.example"  # trailing slash dropped: paths are appended
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.queue == "bpm"
    assert s.audit_dir == "var/audit" and s.audit_retention_days == 90
    assert (s.config_ttl, s.dedupe_ttl, s.lock_ttl) == (60, 604800, 60)
    assert (s.worker_ttl, s.maintenance_interval, s.store_timeout) == (35, 15, 10.0)
    assert s.bind == "127.0.0.1:8000" and 3 <= s.web_workers <= 8
    assert s.allow_insecure_store is False and s.config_overrides == {}
    assert s.log_level == "INFO"


def test_default_retry_schedule_grows_and_covers_72_hours():
    schedule = load().retry_schedule
    assert schedule == default_retry_schedule()
    assert sum(schedule) >= 72 * 3600
    assert list(schedule) == sorted(schedule)
    assert schedule[0] <= 30 and max(schedule) <= 7200


@pytest.mark.parametrize(
    "name", ["BPM_WEBHOOK_SECRETS", "BPM_STORE_URL", "BPM_STORE_USER", "BPM_STORE_APP_PASSWORD"]
)
@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_variables_are_named(name, value):
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load(**{name: value})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("secret123", "each secret must start with 'whsec_'"),
        (f"{SECRET} plain", r"each secret must start with 'whsec_' \(secret #2"),
        ("whsec_!!!", "base64"),
        ("whsec_c2hvcnQ=", "24 to 64"),
    ],
    # Fixed ids: the second case holds a random secret, and pytest-xdist workers must collect the same names.
    ids=["no-prefix", "second-secret-no-prefix", "not-base64", "too-short"],
)
def test_bad_secrets_are_explained(value, message):
    with pytest.raises(ConfigError, match=f"^BPM_WEBHOOK_SECRETS: .*{message}"):
        load(BPM_WEBHOOK_SECRETS=value)


def test_several_secrets_first_is_current():
    other = new_secret()
    s = load(BPM_WEBHOOK_SECRETS=f"  {other}\n{SECRET} ")
    assert s.webhook_secrets == (other, SECRET)


def test_store_must_be_https_unless_allowed():
    with pytest.raises(ConfigError, match=r"^BPM_STORE_URL: must use https"):
        load(BPM_STORE_URL="http://shop.local")
    assert (
        load(BPM_STORE_URL="http://shop.local", BPM_ALLOW_INSECURE_STORE="true").store_url
        == "http://shop.local"
    )


@pytest.mark.parametrize(
    "url", ["shop.example", "ftp://shop.example", "https://", "https://shop.example/?a=1"]
)
def test_bad_store_urls(url):
    with pytest.raises(ConfigError, match=r"^BPM_STORE_URL: "):
        load(BPM_STORE_URL=url)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BPM_DEDUPE_TTL", "week"),
        ("BPM_DEDUPE_TTL", "0"),
        ("BPM_LOCK_TTL", "-1"),
        ("BPM_WORKER_TTL", "5"),
        ("BPM_STORE_TIMEOUT", "0"),
        ("BPM_STORE_TIMEOUT", "nan"),
        ("BPM_RETRY_SCHEDULE", "10,x"),
        ("BPM_RETRY_SCHEDULE", ","),
        ("BPM_RETRY_SCHEDULE", "10,-5"),
        ("BPM_ALLOW_INSECURE_STORE", "maybe"),
        ("BPM_LOG_LEVEL", "loud"),
        ("BPM_REDIS_URL", "http://127.0.0.1:6379"),
        ("BPM_QUEUE", "bpm queue"),
        ("BPM_BIND", "localhost"),
        ("BPM_WEB_WORKERS", "0"),
    ],
)
def test_bad_values_name_their_variable(name, value):
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load(**{name: value})


def test_explicit_values():
    s = load(
        BPM_RETRY_SCHEDULE="1, 2,3",
        BPM_AUDIT_DIR="",
        BPM_STORE_TIMEOUT="2.5",
        BPM_LOG_LEVEL="debug",
        BPM_ALLOW_INSECURE_STORE="1",
        BPM_BIND="unix:/run/bpm.sock",
        BPM_WEB_WORKERS="3",
        BPM_REDIS_URL="redis://redis:6379/2",
        BPM_CONFIG_TTL="0",
    )
    assert s.retry_schedule == (1, 2, 3)
    assert s.audit_dir is None
    assert s.store_timeout == 2.5 and s.log_level == "DEBUG" and s.allow_insecure_store is True
    assert s.bind == "unix:/run/bpm.sock" and s.web_workers == 3 and s.redis_url == "redis://redis:6379/2"
    assert s.config_ttl == 0


def test_config_overrides_nest_and_decode_json():
    s = load(
        BPM_CONFIG__INVOICING__PROVIDER="infakt",
        BPM_CONFIG__INVOICING__SEND_EMAIL="false",
        BPM_CONFIG__INVOICING__FAKTUROWNIA__DEPARTMENT_ID="42",
        BPM_CONFIG__INVOICING__TRIGGER='{"default": "completed"}',
        BPM_CONFIG__RMA__ENABLED="true",
        BPM_CONFIG__CRM__PROVIDER='"123"',
        BPM_CONFIG__VERSION="null",
    )
    assert s.config_overrides == {
        "invoicing": {
            "provider": "infakt",
            "send_email": False,
            "fakturownia": {"department_id": 42},
            "trigger": {"default": "completed"},
        },
        "rma": {"enabled": True},
        "crm": {"provider": "123"},
        "version": None,
    }


@pytest.mark.parametrize(
    "environ",
    [
        {"BPM_CONFIG__INVOICING": "none", "BPM_CONFIG__INVOICING__PROVIDER": "infakt"},
        {"BPM_CONFIG__": "x"},
        {"BPM_CONFIG__INVOICING____PROVIDER": "x"},
    ],
)
def test_conflicting_or_empty_overrides_are_errors(environ):
    with pytest.raises(ConfigError, match=r"^BPM_CONFIG__"):
        load(**environ)


def test_settings_are_frozen_and_hide_secrets():
    s = load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.queue = "other"  # type: ignore[misc]
    assert SECRET not in repr(s) and "abcd efgh" not in repr(s)


def test_fields_other_processes_rely_on_exist():
    names = {f.name for f in dataclasses.fields(Settings)}
    assert {
        "redis_url", "webhook_secrets", "store_url", "store_user", "store_app_password", "queue", "audit_dir",
        "audit_retention_days", "config_ttl", "dedupe_ttl", "lock_ttl", "retry_schedule", "worker_ttl",
        "maintenance_interval", "store_timeout", "config_overrides", "bind", "web_workers",
        "allow_insecure_store",
    } <= names  # fmt: skip
    assert {v.field for v in VARIABLES} | {"config_overrides"} == names


def test_markdown_table_lists_every_variable():
    out = subprocess.run(
        [sys.executable, "-m", "sidecar.config", "--markdown"], capture_output=True, text=True, check=True
    ).stdout
    for var in VARIABLES:
        assert f"| `{var.name}` |" in out
    assert "BPM_CONFIG__<SECTION>__<KEY>" in out


def test_cli_reports_a_config_error(monkeypatch):
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "sidecar.config"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "BPM_WEBHOOK_SECRETS: required" in result.stderr
