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


def _nginx_directives() -> dict[str, str]:
    text = COMPOSE["configs"]["proxy-conf"]["content"]
    found = {}
    for line in text.splitlines():
        parts = line.strip().rstrip(";").split(None, 1)
        if len(parts) == 2 and not parts[0].startswith("#"):
            found.setdefault(parts[0], parts[1])
    return found


def _seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_the_fronting_proxy_reads_requests_whole_and_briefly() -> None:
    from sidecar.api.events import MAX_BODY

    proxy = COMPOSE["services"]["proxy"]
    assert proxy["profiles"] == ["proxy"]
    assert proxy["configs"] == [{"source": "proxy-conf", "target": "/etc/nginx/conf.d/default.conf"}]
    assert proxy["depends_on"]["sidecar"]["condition"] == "service_healthy"
    nginx = _nginx_directives()
    assert nginx["proxy_pass"] == "http://sidecar:8000"
    assert nginx["proxy_request_buffering"] == "on"  # gunicorn never sees a half-sent request
    assert _seconds(nginx["client_header_timeout"]) <= 10 and _seconds(nginx["client_body_timeout"]) <= 10
    assert nginx["client_max_body_size"] == f"{MAX_BODY // 1024}k"
    assert nginx["limit_conn"].startswith("per_client ")
    # nginx variables survive compose interpolation only as `$$`: no single `$` anywhere.
    text = COMPOSE["configs"]["proxy-conf"]["content"]
    assert "$$binary_remote_addr" in text
    assert re.findall(r"(?<!\$)\$(?!\$)", text) == []


def test_gunicorn_is_threaded_with_a_receive_timeout() -> None:
    import ast

    from sidecar import serving

    source = (ROOT / "sidecar/gunicorn_conf.py").read_text()
    assigned = {
        node.targets[0].id: node.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert ast.literal_eval(assigned["worker_class"]) == "sidecar.serving.IntakeWorker"
    assert "when_ready" in source and "set_receive_timeout" in source
    assert serving.THREADS >= 8 and 1 <= serving.RECEIVE_TIMEOUT <= 10
    assert (ROOT / "sidecar/Dockerfile").read_text().count("BPM_BIND=0.0.0.0:8000")  # the proxy reaches it
