"""A private Apache 2 + mod_php instance serving one WordPress test site (Debian's apache2, prefork MPM).

Each site gets its own configuration (``<site>/apache/httpd.conf``): its own Listen port, DocumentRoot =
the site, ``AllowOverride All`` + mod_rewrite (WordPress' .htaccess makes pretty permalinks work), and an
access log whose last field is ``%D`` (microseconds spent on the request: the benchmarks read PHP time per
request from it, ``<site>/apache/access.log``). Started as root it runs its children as ``www-data`` (the
site is world-readable and wp-content world-writable); started as another user it runs as that user.

    server = start(site_dir, port)      # returns once the port answers
    server.access_log, server.error_log
    stop(server)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MODULES = Path(os.environ.get("BPM_APACHE_MODULES", "/usr/lib/apache2/modules"))
APACHE = os.environ.get("BPM_APACHE_BIN", "/usr/sbin/apache2")
# "Combined" plus the request's duration in microseconds (%D): bench/ parses the last field.
LOG_FORMAT = '%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" %D'


def missing() -> str | None:
    """Why Apache + mod_php cannot run here, or None."""
    if not Path(APACHE).is_file():
        return "Debian's apache2 is not installed (scripts/install-system-deps.sh installs it)"
    if not _php_module():
        return f"mod_php is not installed in {MODULES} (apt package libapache2-mod-php)"
    return None


def _php_module() -> Path | None:
    return next(iter(sorted(MODULES.glob("libphp*.so"))), None)


@dataclass
class Apache:
    conf: Path
    port: int
    popen: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def access_log(self) -> Path:
        return self.conf.parent / "access.log"

    @property
    def error_log(self) -> Path:
        return self.conf.parent / "error.log"

    def poll(self) -> int | None:
        return self.popen.poll()


def write_config(site_dir: Path, port: int, workers: int = 6, extra_dirs: tuple[Path, ...] = ()) -> Path:
    run = site_dir / "apache"
    run.mkdir(exist_ok=True)
    user = ""
    if os.geteuid() == 0:
        # Apache refuses to run its children as root.
        user = "User www-data\nGroup www-data\n"
    allowed = "\n".join(f'<Directory "{d}">\n  Require all granted\n</Directory>' for d in extra_dirs)
    modules = "\n".join(
        f"LoadModule {name}_module {MODULES / f'mod_{name}.so'}"
        for name in ("mpm_prefork", "authz_core", "authz_host", "dir", "mime", "rewrite", "env", "setenvif")
    )
    conf = run / "httpd.conf"
    conf.write_text(
        f"""# Written by tests/support/apache.py: a private Apache for one test site.
ServerRoot "{run}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{run}/httpd.pid"
DefaultRuntimeDir "{run}"
Mutex file:{run} default
{modules}
LoadModule php_module {_php_module()}
{user}
StartServers {min(2, workers)}
MinSpareServers 1
MaxSpareServers {workers}
ServerLimit {workers}
MaxRequestWorkers {workers}
MaxConnectionsPerChild 0
KeepAlive On
Timeout 120
TypesConfig /etc/mime.types
ErrorLog "{run}/error.log"
LogLevel warn
LogFormat "{LOG_FORMAT}" bpm
CustomLog "{run}/access.log" bpm
DocumentRoot "{site_dir}"
DirectoryIndex index.php index.html
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory "{site_dir}">
  Options FollowSymLinks
  AllowOverride All
  Require all granted
</Directory>
<Directory "{run}">
  Require all denied
</Directory>
{allowed}
<FilesMatch "\\.php$">
  SetHandler application/x-httpd-php
</FilesMatch>
<FilesMatch "^(site\\.json|wp-config\\.php|debug\\.log)$">
  Require all denied
</FilesMatch>
"""
    )
    return conf


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(
    site_dir: Path,
    port: int,
    env: dict[str, str] | None = None,
    workers: int = 6,
    extra_dirs: tuple[Path, ...] = (),
    timeout: float = 20,
) -> Apache:
    conf = write_config(site_dir, port, workers, extra_dirs)
    check = subprocess.run([APACHE, "-t", "-f", str(conf)], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"apache2 -t refused {conf}:\n{check.stderr}")
    log = open(conf.parent / "apache.out", "ab")  # noqa: SIM115 - lives as long as the server
    popen = subprocess.Popen(
        [APACHE, "-f", str(conf), "-DFOREGROUND"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    server = Apache(conf, port, popen)
    pid_file = conf.parent / "httpd.pid"
    deadline = time.monotonic() + timeout
    # Ours is up when our pid file names our process and the port answers: another server answering on a
    # port we were told was free (a race with any other process) must not pass for this site.
    while not (_answers(port) and _pid_in(pid_file) == popen.pid):
        if popen.poll() is not None or time.monotonic() > deadline:
            stop(server)
            # Before its ErrorLog is open (a failed bind) Apache writes to stderr: apache.out.
            errors = "".join(
                p.read_text(errors="replace")[-2000:]
                for p in (server.error_log, conf.parent / "apache.out")
                if p.exists()
            )
            if "Address already in use" in errors:
                raise PortInUse(port)
            raise RuntimeError(f"apache2 did not start on port {port}:\n{errors[-2000:]}")
        time.sleep(0.05)
    return server


class PortInUse(RuntimeError):
    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is already taken")
        self.port = port


def _pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def stop(server: Apache, timeout: float = 10) -> None:
    if server.popen.poll() is None:
        # SIGTERM: the parent stops its children and exits (apache2 -k stop without the pid-file dance).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.popen.wait(timeout=5)
