"""Real WordPress test sites: real WooCommerce (two stacks) or the WooCommerce double, on MariaDB, served by
a private Apache 2 + mod_php (tests/support/apache.py).

Stacks (``STACKS``; ``REAL_STACKS`` are the real ones):

    wp61-wc78   Debian's WordPress 6.1 (/usr/share/wordpress, apt package ``wordpress``) + WooCommerce 7.8.2
    wp70-wc92   WordPress 7.0 (archive) + WooCommerce 9.2.5
    double      Debian's WordPress 6.1 + the WooCommerce double (tests/wp-plugin/wc-double, a must-use
                plugin) — only for what real WooCommerce cannot do (docs/woocommerce-surface.md)

Archives come from BPM_VENDOR_DIR (sha256-checked) or are downloaded once from wordpress.org into the
cache (tests/support/vendor.py); each is unpacked once and sites hard-link their copy.

Command line (scripts/wp-test-site.sh is the same):

    wordpress.py create DIR DB PORT [--stack S] [--hpos] [--plain]
                                      install a fresh site in DIR; prints it as JSON (stack default wp70-wc92)
    wordpress.py serve DIR            serve it under Apache in the foreground (Ctrl-C stops)
    wordpress.py phpunit DIR [ARGS]   Debian's PHPUnit 9.6 on tests/wp-plugin/phpunit, with BPM_WP_DIR=DIR
                                      and BPM_WP_URL=<site url> in the environment
    wordpress.py eval DIR < code      PHP from stdin (no opening tag) with WordPress loaded, as the admin
    wordpress.py permalinks DIR pretty|plain
    wordpress.py destroy DIR          drop the database and delete DIR

Python:

    site = create_site(site_dir("x"), "bpm_test_x", port, stack="wp70-wc92", hpos=True, permalinks="plain")
    server = start_server(site)          # Apache; returns once the REST index answers (a port taken
                                         # meanwhile moves the site to a free one: site.url changes)
                                         # (start_server(site, "php"): PHP's built-in server)
    site.php("echo get_option('siteurl');")   # PHP snippet with WordPress loaded (user 1)
    site.rest("/wc/v3/orders")           # REST URL in the site's permalink form (/wp-json/…, ?rest_route=)
    site.set_permalinks("plain")         # switch at run time (option + rewrite rules)
    site.products                        # {"KUB-1": id, "KSI-1": id, "HER-1": id} (real stacks)
    server.access_log                    # Apache access log; the last field is %D (µs)
    stop_server(server); destroy_site(site)

A real-stack site: WooCommerce activated and its installer run (tables, shop_manager/customer roles), the
onboarding skipped, store PLN/PL with Polish VAT rates and prices including tax, cod and bacs gateways on,
three virtual products, HPOS authoritative or not (HPOS tables exist either way; no compatibility sync, so
an HPOS order is in HPOS tables only) — tests/support/wc-setup.php. No site sends e-mail: wp_mail() writes
to wp-content/mail.log (tests/support/mu-mail-sink.php; there is no sendmail here). Every site: its own
wp-config.php (WP_ENVIRONMENT_TYPE 'local' so Application Passwords work over http, WP_DEBUG with the log in
DIR/wp-content/debug.log, fresh salts, outbound HTTP only to 127.0.0.1/localhost), pretty or plain
permalinks (Apache + WordPress' .htaccess), admin user ``admin`` / ADMIN_PASSWORD, wp-plugin/bpm-bridge
linked into wp-content/plugins and activated when present. The double stack additionally has
BPM_WC_DOUBLE_SANDBOX on (the double's test-only routes under ``wc-double/v1``). Sites live under
``site_dir()`` (BPM_SITES_DIR, default /tmp/bpm-wp-sites-<uid>): Apache's user must be able to read them,
which pytest's private temporary folders do not allow. Databases are named ``bpm_test_*`` on MariaDB at
127.0.0.1:3306, root without a password (BPM_TEST_MYSQL_HOST/PORT/USER/PASSWORD override).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import apache
import vendor

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent
DEBIAN_CORE = Path(os.environ.get("BPM_WP_CORE", "/usr/share/wordpress"))
PLUGIN_DIR = ROOT / "wp-plugin" / "bpm-bridge"
DOUBLE_DIR = ROOT / "tests" / "wp-plugin" / "wc-double"
PHPUNIT_DIR = ROOT / "tests" / "wp-plugin" / "phpunit"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-Test-1234"


@dataclass(frozen=True)
class Stack:
    name: str
    core: str | None  # vendor archive of WordPress; None = Debian's package
    woocommerce: str | None  # vendor archive of WooCommerce; None = the double


STACKS = {
    s.name: s
    for s in (
        Stack("wp61-wc78", None, "woocommerce-7.8.2"),
        Stack("wp70-wc92", "wordpress-7.0", "woocommerce-9.2.5"),
        Stack("double", None, None),
    )
}
REAL_STACKS = ("wp61-wc78", "wp70-wc92")
DEFAULT_STACK = "wp70-wc92"


def _mysql_args() -> list[str]:
    host = os.environ.get("BPM_TEST_MYSQL_HOST", "127.0.0.1")
    port = os.environ.get("BPM_TEST_MYSQL_PORT", "3306")
    user = os.environ.get("BPM_TEST_MYSQL_USER", "root")
    args = ["mariadb", f"-h{host}", f"-P{port}", f"-u{user}"]
    if os.environ.get("BPM_TEST_MYSQL_PASSWORD"):
        args.append(f"-p{os.environ['BPM_TEST_MYSQL_PASSWORD']}")
    return args


def missing_requirements(stack: str = "double", server: str = "apache") -> str | None:
    """Why a site of ``stack`` cannot be built and served here, or None. Only absent software counts."""
    for binary in ("php", "mariadb"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (scripts/install-system-deps.sh installs it)"
    if STACKS[stack].core is None and not (DEBIAN_CORE / "wp-settings.php").is_file():
        return f"Debian's wordpress package is not installed ({DEBIAN_CORE} missing)"
    if server == "apache":
        return apache.missing()
    return None


def site_dir(name: str) -> Path:
    """A new, empty directory for a site, readable by Apache's user (unlike pytest's tmp folders)."""
    base = Path(os.environ.get("BPM_SITES_DIR", f"/tmp/bpm-wp-sites-{os.getuid()}"))
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
    path.chmod(0o755)
    return path


@dataclass
class Site:
    dir: Path
    db: str
    url: str
    port: int
    admin_user: str = ADMIN_USER
    admin_password: str = ADMIN_PASSWORD
    stack: str = "double"
    hpos: bool = False
    permalinks: str = "pretty"
    woocommerce: str = ""  # WooCommerce version ("" on the double)
    products: dict[str, int] = field(default_factory=dict)

    @property
    def real(self) -> bool:
        return self.stack != "double"

    @property
    def config(self) -> str:
        """``wp70-wc92-hpos``-style name of the site's configuration (for test ids and reports)."""
        return f"{self.stack}-{'hpos' if self.hpos else 'posts'}"

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
        """The URL of REST ``route`` as this site routes it (pretty: /wp-json/…, plain: ?rest_route=/…)."""
        route = "/" + route.lstrip("/")
        if self.permalinks == "plain":
            return f"{self.url}/?rest_route={route}"
        return f"{self.url}/wp-json{route}"

    def set_permalinks(self, kind: str) -> None:
        """Switch between "pretty" (/%postname%/) and "plain" permalinks, as Settings → Permalinks does."""
        structure = {"pretty": "/%postname%/", "plain": ""}[kind]
        self.php(f"update_option( 'permalink_structure', '{structure}' ); flush_rewrite_rules( false );")
        self.permalinks = kind
        self.save()

    def save(self) -> None:
        (self.dir / "site.json").write_text(json.dumps({**asdict(self), "dir": str(self.dir)}, indent=2))

    def debug_log(self) -> str:
        path = self.dir / "wp-content" / "debug.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def php_errors(self, last: int = 30) -> str:
        """The last lines of debug.log without the noise older core/WooCommerce make on PHP 8.2 / WP 7."""
        # WooCommerce 9.2 on WordPress 6.7+ loads its translations "too early" on every request (its notice).
        noise = ("PHP Deprecated", "_load_textdomain_just_in_time")
        lines = [line for line in self.debug_log().splitlines() if not any(n in line for n in noise)]
        return "\n".join(lines[-last:])


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    return proc


def _sql(statement: str) -> None:
    _run([*_mysql_args(), "-e", statement])


def _link_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # Hard links: a site costs no copy, and __DIR__ inside core stays in the site directory
    # (a symlinked wp-admin would resolve to /usr/share/wordpress and load Debian's config shim).
    try:
        _run(["cp", "-al", f"{source}/.", str(target)])
    except RuntimeError:
        _run(["cp", "-a", f"{source}/.", str(target)])


def _copy_core(stack: Stack, target: Path) -> None:
    _link_tree(vendor.unpacked(stack.core) if stack.core else DEBIAN_CORE, target)
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
    double = "define( 'BPM_WC_DOUBLE_SANDBOX', true );\n" if not site.real else ""
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
{double}if ( 'cli' === PHP_SAPI ) {{
	// Tests run PHP here as their own user and Apache runs it as www-data: what one writes in wp-content
	// (logs, uploads) the other must be able to append to.
	umask( 0 );
}}
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""
    (site.dir / "wp-config.php").write_text(config)


# WordPress' own rules (what Settings → Permalinks writes when it can), plus passing Authorization on.
HTACCESS = """# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteBase /
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
</IfModule>
# END WordPress
"""


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


def _open_for_apache(content: Path) -> None:
    # Apache's user writes debug.log, uploads and WooCommerce's logs; the plugins stay read-only (hard links
    # into the shared cache must not become writable).
    content.chmod(0o777)
    uploads = content / "uploads"
    uploads.mkdir(exist_ok=True)
    _run(["chmod", "-R", "a+rwX", str(uploads)])
    log = content / "debug.log"
    log.touch()
    log.chmod(0o666)


def _hand_uploads_to_apache(content: Path) -> None:
    if os.geteuid() == 0:
        # Apache's children run as www-data (apache.py); WordPress touch()es and chmod()s what it finds in
        # uploads (WooCommerce's installer made its folders there as root), which only the owner may do.
        _run(["chown", "-R", "www-data:www-data", str(content / "uploads"), str(content / "debug.log")])


def create_site(
    directory: Path | str,
    db: str,
    port: int,
    plugin: bool = True,
    stack: str = DEFAULT_STACK,
    hpos: bool = False,
    permalinks: str = "pretty",
) -> Site:
    """Install a fresh site in ``directory`` (created; must not hold a site) on database ``db``."""
    if not db.startswith("bpm_test_") or not db.replace("_", "").isalnum():
        raise ValueError("test databases are named bpm_test_<letters/digits>")
    spec = STACKS[stack]
    site = Site(
        dir=Path(directory).resolve(),
        db=db,
        url=f"http://127.0.0.1:{port}",
        port=port,
        stack=stack,
        hpos=hpos and spec.woocommerce is not None,
    )
    _copy_core(spec, site.dir)
    _write_config(site)
    _write_theme(site)
    (site.dir / ".htaccess").write_text(HTACCESS)
    content = site.dir / "wp-content"
    (content / "plugins").mkdir(parents=True, exist_ok=True)
    if spec.woocommerce:
        _link_tree(vendor.unpacked(spec.woocommerce), content / "plugins" / "woocommerce")
    else:
        _write_woocommerce_stub(content)
        (content / "mu-plugins").mkdir(parents=True, exist_ok=True)
        (content / "mu-plugins" / "bpm-wc-double.php").symlink_to(DOUBLE_DIR / "bpm-wc-double.php")
    (content / "mu-plugins").mkdir(exist_ok=True)
    (content / "mu-plugins" / "bpm-test-mail.php").symlink_to(SUPPORT / "mu-mail-sink.php")
    if plugin and (PLUGIN_DIR / "bpm-bridge.php").is_file():
        (content / "plugins" / "bpm-bridge").symlink_to(PLUGIN_DIR)
    _open_for_apache(content)
    _sql(f"DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
    cli = ["php", str(SUPPORT / "wp-cli.php")]
    _run([*cli, "install", str(site.dir), site.admin_password], env=site.env(), timeout=120)
    # Each step in its own process: wp_install() leaves WP_INSTALLING defined for its whole run, and
    # WooCommerce's installer wants WooCommerce loaded the normal way (plugins_loaded), not mid-activation.
    _run([*cli, "activate", str(site.dir), "woocommerce/woocommerce.php"], env=site.env(), timeout=120)
    if spec.woocommerce:
        out = _run(
            [*cli, "run", str(site.dir), str(SUPPORT / "wc-setup.php"), "yes" if site.hpos else "no"],
            env=site.env(),
            timeout=300,
        )
        setup = json.loads(out.stdout.strip().splitlines()[-1])
        site.woocommerce, site.products = setup["woocommerce"], setup["products"]
    if (content / "plugins" / "bpm-bridge").exists():
        _run([*cli, "activate", str(site.dir), "bpm-bridge/bpm-bridge.php"], env=site.env(), timeout=120)
    site.save()
    _hand_uploads_to_apache(content)
    if spec.woocommerce:
        util = "\\Automattic\\WooCommerce\\Utilities\\OrderUtil"
        storage = site.php_json(f"echo wp_json_encode( {util}::custom_orders_table_usage_is_enabled() );")
        if storage is not site.hpos:
            raise RuntimeError(f"{site.config}: WooCommerce reports HPOS {'on' if storage else 'off'}")
    if permalinks != "pretty":
        site.set_permalinks(permalinks)
    return site


def load_site(directory: Path | str) -> Site:
    data = json.loads((Path(directory) / "site.json").read_text())
    data["dir"] = Path(data["dir"])
    return Site(**data)


class PhpServer:
    """PHP's built-in server (php -S + router.php), the same shape as apache.Apache for stop_server()."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()


def _answers(site: Site) -> bool:
    try:
        with urllib.request.urlopen(f"{site.url}/?rest_route=/", timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(site: Site, server: str = "apache", workers: int = 6, timeout: float = 30):
    """Serve the site (Apache + mod_php, or ``"php"``: PHP's built-in server); return once REST answers."""
    if server == "apache":
        handle: apache.Apache | PhpServer = _start_apache(site, workers)
    else:
        # Several workers: the page under test may make loopback requests (WP-Cron spawn, the
        # Action Scheduler double's async runner), which a single-process server would serialise.
        env = {**site.env(), "PHP_CLI_SERVER_WORKERS": str(workers)}
        log = open(site.dir / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
        handle = PhpServer(
            subprocess.Popen(
                ["php", "-S", f"127.0.0.1:{site.port}", "-t", str(site.dir), str(SUPPORT / "router.php")],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + timeout
    while not _answers(site):
        if handle.poll() is not None or time.monotonic() > deadline:
            stop_server(handle)
            raise RuntimeError(f"WordPress did not answer on {site.url} within {timeout} s ({server})")
        time.sleep(0.1)
    return handle


def _start_apache(site: Site, workers: int) -> apache.Apache:
    for _ in range(3):
        try:
            return apache.start(site.dir, site.port, site.env(), workers, extra_dirs=(PLUGIN_DIR,))
        except apache.PortInUse:
            # Someone took the port between our choice and Apache's bind: move the site (its URL lives in
            # wp-config.php's WP_HOME/WP_SITEURL only) to another free port.
            _move(site, _free_port())
    raise RuntimeError(f"no free port for {site.dir}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _move(site: Site, port: int) -> None:
    old = site.url
    site.port, site.url = port, f"http://127.0.0.1:{port}"
    config = site.dir / "wp-config.php"
    config.write_text(config.read_text().replace(_php_str(old), _php_str(site.url)))
    site.save()


def stop_server(handle) -> None:
    if isinstance(handle, apache.Apache):
        apache.stop(handle)
        return
    proc = handle.popen if isinstance(handle, PhpServer) else handle
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


def _create_from_args(args: list[str]) -> Site:
    directory, db, port = args[0], args[1], int(args[2])
    stack = args[args.index("--stack") + 1] if "--stack" in args else DEFAULT_STACK
    permalinks = "plain" if "--plain" in args else "pretty"
    return create_site(directory, db, port, stack=stack, hpos="--hpos" in args, permalinks=permalinks)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, directory = argv[0], argv[1]
    if cmd == "create":
        site = _create_from_args(argv[1:])
        print(json.dumps({**asdict(site), "dir": str(site.dir)}))
        return 0
    site = load_site(directory)
    if cmd == "serve":
        server = start_server(site)
        signal.signal(signal.SIGTERM, lambda *_: (stop_server(server), sys.exit(0)))
        print(f"serving {site.url} (admin / {site.admin_password}); Ctrl-C stops", flush=True)
        try:
            return server.popen.wait()
        except KeyboardInterrupt:
            stop_server(server)
            return 0
    if cmd == "phpunit":
        return run_phpunit(site, argv[2:])
    if cmd == "eval":
        sys.stdout.write(site.php(sys.stdin.read()))
        return 0
    if cmd == "permalinks":
        site.set_permalinks(argv[2])
        return 0
    if cmd == "destroy":
        destroy_site(site)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
