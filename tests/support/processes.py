"""Start, watch and stop real processes (gunicorn, RQ workers, simulators) in tests and the demo.

Every process gets its own session (process group) so :meth:`Proc.stop` can take its children with it,
and its output goes to a log file that :meth:`Proc.tail` shows when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached after {timeout} s")
        time.sleep(interval)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (an RQ work horse lives in its own process group, so find it here)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name, which is parenthesised and may contain spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


class Proc:
    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], cwd: Path = ROOT) -> None:
        self.name = name
        self.argv = argv
        self.log_path = Path(tempfile.mkstemp(prefix=f"bpm-{name}-", suffix=".log")[1])
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(
            argv, env=dict(env), cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill_hard(self, with_children: bool = True) -> list[int]:
        """SIGKILL the process (and its direct children, e.g. an RQ work horse); returns the pids killed."""
        victims = ([*children_of(self.pid)] if with_children else []) + [self.pid]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        return victims

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        self._log.close()

    def cleanup(self) -> None:
        self.log_path.unlink(missing_ok=True)


class ProcessGroup:
    """Processes started together and stopped together (in reverse order): ``with ProcessGroup() as pg``."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> Proc:
        proc = Proc(name, argv, env)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} (pid {p.pid}) -----\n{p.tail()}" for p in self.procs)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        for proc in self.procs:
            proc.cleanup()


def process_env(
    redis_url: str,
    store_url: str,
    secret: str,
    password: str,
    user: str = "bpm-api",
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for sidecar processes and simulators talking to each other on loopback."""
    # Inherited BPM_* variables (a developer's shell) must not change what a test measures.
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("BPM_")}
    paths = [str(ROOT), str(ROOT / "tests"), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
            "PATH": os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
            "BPM_REDIS_URL": redis_url,
            "BPM_STORE_URL": store_url,
            "BPM_STORE_USER": user,
            "BPM_STORE_APP_PASSWORD": password,
            "BPM_WEBHOOK_SECRETS": secret,
            "BPM_ALLOW_INSECURE_STORE": "true",
            "BPM_AUDIT_DIR": "",
            "BPM_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra or {})
    return env


def sidecar_cmd(*args: str) -> list[str]:
    return [str(VENV_BIN / "bpm-sidecar"), *args]
