"""pytest fixtures for a real WordPress site (tests/support/wordpress.py), for tests/wp-plugin and tests/e2e.

    wp_site                session: a served site, a wordpress.Site (url, dir, db, port, admin_user,
                           admin_password); BPM_KEEP_WP_SITE=1 keeps it (and its database) afterwards
    wp_admin_app_password  session: an Application Password of the admin user (for REST as admin)

Import them into a conftest or test module: ``from wp_fixtures import wp_site, wp_admin_app_password``
(with tests/support on sys.path). They skip, with the reason, only when php/mariadb/WordPress are absent.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import wordpress


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def fresh_site(directory: Path, db_prefix: str, serve: bool = True) -> Iterator[wordpress.Site]:
    """A new site with its own database (named ``{db_prefix}_{port}``), served unless ``serve`` is false.

    Skips when php/mariadb/WordPress are absent. BPM_KEEP_WP_SITE=1 keeps the site and its database.
    """
    reason = wordpress.missing_requirements()
    if reason:
        pytest.skip(reason)
    port = _free_port()
    site = wordpress.create_site(directory, f"{db_prefix}_{port}", port)
    server = wordpress.start_server(site) if serve else None
    try:
        yield site
    finally:
        if server is not None:
            wordpress.stop_server(server)
        if os.environ.get("BPM_KEEP_WP_SITE"):
            print(f"kept WordPress site {site.dir} (database {site.db})")
        else:
            wordpress.destroy_site(site)


@pytest.fixture(scope="session")
def wp_site(tmp_path_factory: pytest.TempPathFactory):
    with fresh_site(tmp_path_factory.mktemp("wordpress"), f"bpm_test_{os.getpid()}") as site:
        yield site


@pytest.fixture(scope="session")
def wp_admin_app_password(wp_site: wordpress.Site) -> str:
    return wp_site.php(
        "list( $p ) = WP_Application_Passwords::create_new_application_password( 1,"
        " array( 'name' => 'tests' ) ); echo $p;"
    ).strip()
