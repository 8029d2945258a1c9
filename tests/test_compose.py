"""docker-compose.yml cannot run here (no Docker engine), so it is checked statically against the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_commands_exist() -> None:
    services = COMPOSE["services"]
    assert {"redis", "sidecar", "worker"} <= set(services)
    assert services["sidecar"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    # A crashed worker's job is only recovered by another worker on the same queue.
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_redis_cannot_drop_jobs() -> None:
    command = " ".join(COMPOSE["services"]["redis"]["command"])
    assert "--maxmemory-policy noeviction" in command
    assert "--appendonly yes" in command


def test_dockerfile_builds_the_package_the_compose_file_names() -> None:
    for name in ("sidecar", "worker", "sandbox"):
        build = COMPOSE["services"][name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    dockerfile = (ROOT / "sidecar/Dockerfile").read_text()
    assert 'ENTRYPOINT ["bpm-sidecar"]' in dockerfile


def test_environment_variables_are_ones_the_sidecar_reads() -> None:
    from sidecar.config import load_settings

    env = COMPOSE["x-sidecar-env"]
    concrete = {k: re.sub(r"\$\{[^}]*\}", "", str(v)) for k, v in env.items()}
    concrete.update(
        BPM_STORE_URL="https://shop.example",
        BPM_STORE_USER="bpm-api",
        BPM_STORE_APP_PASSWORD="abcd efgh ijkl mnop qrst uvwx",
        BPM_WEBHOOK_SECRETS="whsec_" + "A" * 44,
        BPM_ALLOW_INSECURE_STORE="false",
        BPM_LOG_LEVEL="INFO",
    )
    settings = load_settings(concrete)
    assert settings.redis_url == "redis://redis:6379/0"
    # Every variable the compose file sets is documented in the configuration reference.
    reference = (ROOT / "docs/configuration.md").read_text()
    for key in env:
        assert f"`{key}`" in reference, key
