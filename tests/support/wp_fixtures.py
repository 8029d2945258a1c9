"""pytest fixtures for real WordPress sites (tests/support/wordpress.py), for tests/wp-plugin and tests/e2e.

    wp_sites               session: ``wp_sites.get(stack, hpos=False, permalinks="pretty")`` → a served
                           wordpress.Site, built once per (stack, hpos) per session (pytest-xdist: per worker)
                           and switched to the asked permalinks; ``wp_sites.admin_password(site)`` an
                           Application Password of its admin (for REST as admin)
    wp_site                session: the site of the default configuration, BPM_TEST_STACK (default
                           wp70-wc92) with HPOS on and pretty permalinks
    wp_admin_app_password  session: an Application Password of wp_site's admin user
    fresh_site(...)        context manager: a throwaway site of its own (a test that breaks what it touches)

BPM_KEEP_WP_SITE=1 keeps the sites (and their databases) afterwards. Everything skips, with the reason, only
when php/mariadb/WordPress/Apache are absent. Import into a conftest or test module:
``from wp_fixtures import wp_site, wp_admin_app_password`` (with tests/support on sys.path).

The configurations the suite runs (docs/testing.md has the matrix): ``ALL_CONFIGS`` every real stack with
HPOS on and off; ``REST_CONFIGS`` one per stack with HPOS on for one and off for the other.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import wordpress

ALL_CONFIGS: list[tuple[str, bool]] = [
    (stack, hpos) for stack in wordpress.REAL_STACKS for hpos in (True, False)
]
REST_CONFIGS: list[tuple[str, bool]] = [("wp70-wc92", True), ("wp61-wc78", False)]


def config_id(config: tuple[str, bool]) -> str:
    return f"{config[0]}-{'hpos' if config[1] else 'posts'}"


def default_stack() -> str:
    return os.environ.get("BPM_TEST_STACK", wordpress.DEFAULT_STACK)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keep() -> bool:
    return bool(os.environ.get("BPM_KEEP_WP_SITE"))


def _skip_unless_possible(stack: str, serve: bool) -> None:
    reason = wordpress.missing_requirements(stack, "apache" if serve else "none")
    if reason:
        pytest.skip(reason)


@contextlib.contextmanager
def fresh_site(
    directory: Path | None,
    db_prefix: str,
    serve: bool = True,
    stack: str | None = None,
    hpos: bool = True,
    permalinks: str = "pretty",
) -> Iterator[wordpress.Site]:
    """A new site with its own database (``{db_prefix}_{port}``), served by Apache unless ``serve`` is false.

    ``directory`` only names the site (sites live under wordpress.site_dir(), readable by Apache's user).
    """
    stack = stack or default_stack()
    _skip_unless_possible(stack, serve)
    port = _free_port()
    name = Path(directory).name if directory else db_prefix
    site = wordpress.create_site(
        wordpress.site_dir(name), f"{db_prefix}_{port}", port, stack=stack, hpos=hpos, permalinks=permalinks
    )
    server = wordpress.start_server(site) if serve else None
    try:
        yield site
    finally:
        if server is not None:
            wordpress.stop_server(server)
        if _keep():
            print(f"kept WordPress site {site.dir} (database {site.db})")
        else:
            wordpress.destroy_site(site)


class SiteRegistry:
    """One served site per (stack, hpos) for the whole session, built on first use."""

    def __init__(self) -> None:
        self._sites: dict[tuple[str, bool], tuple[wordpress.Site, object]] = {}
        self._passwords: dict[str, str] = {}

    def get(self, stack: str, hpos: bool = True, permalinks: str = "pretty") -> wordpress.Site:
        key = (stack, hpos and stack != "double")
        if key not in self._sites:
            _skip_unless_possible(stack, True)
            port = _free_port()
            db = f"bpm_test_{os.getpid()}_{stack.replace('-', '')}_{'h' if key[1] else 'p'}"
            site = wordpress.create_site(
                wordpress.site_dir(f"{stack}-{os.getpid()}"), db, port, stack=stack, hpos=key[1]
            )
            self._sites[key] = (site, wordpress.start_server(site))
        site = self._sites[key][0]
        if site.permalinks != permalinks:
            site.set_permalinks(permalinks)
        return site

    def admin_password(self, site: wordpress.Site) -> str:
        if site.db not in self._passwords:
            self._passwords[site.db] = site.php(
                "list( $p ) = WP_Application_Passwords::create_new_application_password( 1,"
                " array( 'name' => 'tests' ) ); echo $p;"
            ).strip()
        return self._passwords[site.db]

    def close(self) -> None:
        for site, server in self._sites.values():
            wordpress.stop_server(server)
            if _keep():
                print(f"kept WordPress site {site.dir} (database {site.db})")
            else:
                wordpress.destroy_site(site)
        self._sites.clear()


@pytest.fixture(scope="session")
def wp_sites() -> Iterator[SiteRegistry]:
    registry = SiteRegistry()
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture(scope="session")
def wp_site(wp_sites: SiteRegistry) -> wordpress.Site:
    return wp_sites.get(default_stack(), hpos=True)


@pytest.fixture(scope="session")
def wp_admin_app_password(wp_sites: SiteRegistry, wp_site: wordpress.Site) -> str:
    return wp_sites.admin_password(wp_site)
