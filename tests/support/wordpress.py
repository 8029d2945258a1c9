"""A real WordPress test site: Debian's WordPress 6.1, MariaDB, BPM Bridge and the WooCommerce double.

Command line (scripts/wp-test-site.sh is the same):

    wordpress.py create DIR DB PORT   install a fresh site in DIR; prints it as JSON
    wordpress.py serve DIR            serve it in the foreground (php -S + router.php, 4 workers)
    wordpress.py phpunit DIR [ARGS]   Debian's PHPUnit 9.6 on tests/wp-plugin/phpunit, with BPM_WP_DIR=DIR
                                      and BPM_WP_URL=<site url> in the environment
    wordpress.py eval DIR < code      PHP from stdin (no opening tag) with WordPress loaded, as the admin
    wordpress.py destroy DIR          drop the database and delete DIR

Python:

    site = create_site(tmp_dir, "bpm_test_x", port)  # Site(dir, db, url, port, admin_user, admin_password)
    server = start_server(site)                      # php -S; returns once /wp-json/ answers
    site.php("echo get_option('siteurl');")         # PHP snippet with WordPress loaded (user 1)
    stop_server(server); destroy_site(site)

The site: its own wp-config.php (WP_ENVIRONMENT_TYPE 'local' so Application Passwords work over http,
WP_DEBUG with the log in DIR/wp-content/debug.log, fresh salts, outbound HTTP only to 127.0.0.1/localhost),
pretty permalinks, admin user ``admin`` / ADMIN_PASSWORD, wp-plugin/bpm-bridge linked into wp-content/plugins
and activated when present, the WooCommerce double tests/wp-plugin/wc-double as a must-use plugin (its loader
includes every *.php in that folder, so tests may add ``extra-*.php`` files), and BPM_WC_DOUBLE_SANDBOX on
(the double's test-only routes under ``wc-double/v1``). Databases are named ``bpm_test_*`` on MariaDB at
127.0.0.1:3306, root without a password (BPM_TEST_MYSQL_HOST/PORT/USER/PASSWORD override).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent
WP_CORE = Path(os.environ.get("BPM_WP_CORE", "/usr/share/wordpress"))
PLUGIN_DIR = ROOT / "wp-plugin" / "bpm-bridge"
DOUBLE_DIR = ROOT / "tests" / "wp-plugin" / "wc-double"
PHPUNIT_DIR = ROOT / "tests" / "wp-plugin" / "phpunit"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-Test-1234"


def _mysql_args() -> list[str]:
    host = os.environ.get("BPM_TEST_MYSQL_HOST", "127.0.0.1")
    port = os.environ.get("BPM_TEST_MYSQL_PORT", "3306")
    user = os.environ.get("BPM_TEST_MYSQL_USER", "root")
    args = ["mariadb", f"-h{host}", f"-P{port}", f"-u{user}"]
    if os.environ.get("BPM_TEST_MYSQL_PASSWORD"):
        args.append(f"-p{os.environ['BPM_TEST_MYSQL_PASSWORD']}")
    return args


def missing_requirements() -> str | None:
    """Why a WordPress site cannot be built here, or None. Only absent binaries/packages count."""
    for binary in ("php", "mariadb"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (scripts/install-system-deps.sh installs it)"
    if not (WP_CORE / "wp-settings.php").is_file():
        return f"Debian's wordpress package is not installed ({WP_CORE} missing)"
    return None


@dataclass
class Site:
    dir: Path
    db: str
    url: str
    port: int
    admin_user: str = ADMIN_USER
    admin_password: str = ADMIN_PASSWORD

    def php(self, code: str, check: bool = True, timeout: float = 60) -> str:
        """Run a PHP snippet (no ``<?php``) with WordPress loaded as user 1; return its stdout."""
        proc = subprocess.run(
            ["php", str(SUPPORT / "wp-cli.php"), "eval", str(self.dir)],
            input=code,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"PHP snippet failed ({proc.returncode}): {proc.stderr}\n{proc.stdout[-300:]}\n"
                f"debug.log:\n{self.php_errors()}"
            )
        return proc.stdout

    def php_json(self, code: str) -> object:
        """Run a snippet that ends by echoing wp_json_encode(...) and decode it."""
        out = self.php(code).strip().splitlines()
        return json.loads(out[-1]) if out else None

    def env(self) -> dict[str, str]:
        return {**os.environ, "BPM_WP_DIR": str(self.dir), "BPM_WP_URL": self.url}

    def rest(self, route: str) -> str:
        return f"{self.url}/wp-json/{route.lstrip('/')}"

    def debug_log(self) -> str:
        path = self.dir / "wp-content" / "debug.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def php_errors(self, last: int = 30) -> str:
        """The last lines of debug.log without PHP 8.2's deprecation noise about WordPress 6.1 core."""
        lines = [line for line in self.debug_log().splitlines() if "PHP Deprecated" not in line]
        return "\n".join(lines[-last:])


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    return proc


def _sql(statement: str) -> None:
    _run([*_mysql_args(), "-e", statement])


def _copy_core(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # Hard links: a site costs no copy of 56 MB, and __DIR__ inside core stays in the site directory
    # (a symlinked wp-admin would resolve to /usr/share/wordpress and load Debian's config shim).
    try:
        _run(["cp", "-al", f"{WP_CORE}/.", str(target)])
    except RuntimeError:
        _run(["cp", "-a", f"{WP_CORE}/.", str(target)])
    for shim in ("wp-config.php", ".htaccess"):
        (target / shim).unlink(missing_ok=True)


def _php_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _write_config(site: Site) -> None:
    host = os.environ.get("BPM_TEST_MYSQL_HOST", "127.0.0.1")
    port = os.environ.get("BPM_TEST_MYSQL_PORT", "3306")
    salts = "\n".join(
        f"define( '{name}', {_php_str(secrets.token_urlsafe(48))} );"
        for name in (
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        )
    )
    config = f"""<?php
// Written by tests/support/wordpress.py for a throwaway test site.
define( 'DB_NAME', {_php_str(site.db)} );
define( 'DB_USER', {_php_str(os.environ.get("BPM_TEST_MYSQL_USER", "root"))} );
define( 'DB_PASSWORD', {_php_str(os.environ.get("BPM_TEST_MYSQL_PASSWORD", ""))} );
define( 'DB_HOST', {_php_str(f"{host}:{port}")} );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{salts}
$table_prefix = 'wp_';
// 'local' lets Application Passwords work over plain http (wp_is_application_passwords_supported()).
define( 'WP_ENVIRONMENT_TYPE', 'local' );
define( 'WP_HOME', {_php_str(site.url)} );
define( 'WP_SITEURL', {_php_str(site.url)} );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', __DIR__ . '/wp-content/debug.log' );
define( 'WP_DEBUG_DISPLAY', false );
define( 'SCRIPT_DEBUG', false );
define( 'FS_METHOD', 'direct' );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
// No internet here: an update check would hang until its timeout. Loopback stays allowed.
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_ACCESSIBLE_HOSTS', 'localhost,127.0.0.1' );
define( 'BPM_WC_DOUBLE_SANDBOX', true );
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""
    (site.dir / "wp-config.php").write_text(config)


def _write_theme(site: Site) -> None:
    # Debian's package ships no theme; a two-file theme keeps the front end and wp-admin free of theme errors.
    theme = site.dir / "wp-content" / "themes" / "bpm-test-theme"
    theme.mkdir(parents=True, exist_ok=True)
    (theme / "style.css").write_text("/*\nTheme Name: BPM Test Theme\nVersion: 1.0\n*/\n")
    (theme / "index.php").write_text(
        "<?php\n?><!doctype html><html><head><?php wp_head(); ?></head><body><?php bloginfo( 'name' ); ?>"
        "<?php wp_footer(); ?></body></html>\n"
    )


def _write_woocommerce_stub(content: Path) -> None:
    # The double itself is a must-use plugin (loaded before every plugin). This empty "WooCommerce"
    # plugin only makes is_plugin_active('woocommerce/woocommerce.php') look like a real shop.
    stub = content / "plugins" / "woocommerce"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "woocommerce.php").write_text(
        "<?php\n/**\n * Plugin Name: WooCommerce\n * Description: Test stand-in; the WooCommerce double"
        " is the must-use plugin bpm-wc-double.php.\n * Version: 8.2.0\n */\n"
    )


def create_site(directory: Path | str, db: str, port: int, plugin: bool = True) -> Site:
    """Install a fresh site in ``directory`` (created; must not hold a site) on database ``db``."""
    if not db.startswith("bpm_test_") or not db.replace("_", "").isalnum():
        raise ValueError("test databases are named bpm_test_<letters/digits>")
    site = Site(dir=Path(directory).resolve(), db=db, url=f"http://127.0.0.1:{port}", port=port)
    _copy_core(site.dir)
    _write_config(site)
    _write_theme(site)
    content = site.dir / "wp-content"
    _write_woocommerce_stub(content)
    (content / "mu-plugins").mkdir(exist_ok=True)
    (content / "mu-plugins" / "bpm-wc-double.php").symlink_to(DOUBLE_DIR / "bpm-wc-double.php")
    if plugin and (PLUGIN_DIR / "bpm-bridge.php").is_file():
        (content / "plugins" / "bpm-bridge").symlink_to(PLUGIN_DIR)
    _sql(f"DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
    cli = ["php", str(SUPPORT / "wp-cli.php")]
    _run([*cli, "install", str(site.dir), site.admin_password], env=site.env(), timeout=120)
    plugins = ["woocommerce/woocommerce.php"]
    if (content / "plugins" / "bpm-bridge").exists():
        plugins.append("bpm-bridge/bpm-bridge.php")
    # Activation runs in its own process: wp_install() leaves WP_INSTALLING defined for its whole run.
    _run([*cli, "activate", str(site.dir), *plugins], env=site.env(), timeout=120)
    (site.dir / "site.json").write_text(json.dumps({**asdict(site), "dir": str(site.dir)}, indent=2))
    return site


def load_site(directory: Path | str) -> Site:
    data = json.loads((Path(directory) / "site.json").read_text())
    data["dir"] = Path(data["dir"])
    return Site(**data)


def start_server(site: Site, workers: int = 4, timeout: float = 30) -> subprocess.Popen:
    """Serve the site with PHP's built-in server; return once the REST index answers."""
    # Several workers: the page under test may make loopback requests (WP-Cron spawn, the
    # Action Scheduler double's async runner), which a single-process server would serialise.
    env = {**site.env(), "PHP_CLI_SERVER_WORKERS": str(workers)}
    log = open(site.dir / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{site.port}", "-t", str(site.dir), str(SUPPORT / "router.php")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"php -S exited with {proc.returncode}; see {site.dir / 'server.log'}")
        try:
            with urllib.request.urlopen(site.rest("/"), timeout=5) as resp:
                if resp.status == 200:
                    return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError(f"WordPress did not answer on {site.url} within {timeout} s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        # The workers are children of the php -S master: end the whole session we started.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def destroy_site(site: Site) -> None:
    _sql(f"DROP DATABASE IF EXISTS `{site.db}`")
    shutil.rmtree(site.dir, ignore_errors=True)


def run_phpunit(site: Site, args: list[str]) -> int:
    config = next((p for p in PHPUNIT_DIR.glob("phpunit.xml*")), None)
    cmd = ["phpunit", *(["--configuration", str(config)] if config else [str(PHPUNIT_DIR)]), *args]
    return subprocess.call(cmd, env=site.env(), cwd=ROOT)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, directory = argv[0], argv[1]
    if cmd == "create":
        site = create_site(directory, argv[2], int(argv[3]))
        print(json.dumps({**asdict(site), "dir": str(site.dir)}))
        return 0
    site = load_site(directory)
    if cmd == "serve":
        proc = start_server(site)
        # php -S runs in its own session: stop it with us on Ctrl-C or a plain kill of this process.
        signal.signal(signal.SIGTERM, lambda *_: (stop_server(proc), sys.exit(0)))
        print(f"serving {site.url} (admin / {site.admin_password}); Ctrl-C stops", flush=True)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            stop_server(proc)
            return 0
    if cmd == "phpunit":
        return run_phpunit(site, argv[2:])
    if cmd == "eval":
        sys.stdout.write(site.php(sys.stdin.read()))
        return 0
    if cmd == "destroy":
        destroy_site(site)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
