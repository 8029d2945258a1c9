"""REST-root discovery and the "only REST JSON counts" rule of the store client (issue 7, item 5).

A tiny WordPress front stands in for the site: its home page is HTML with (or without) the
``Link: <…>; rel="https://api.w.org/"`` header, and it serves the REST API under ``/wp-json/`` (pretty
permalinks) or ``/?rest_route=`` (plain). What WordPress does wrong for a client that guesses — a 301
from ``/wp-json/…`` or its home page with status 200 — is what the client must not take for an answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, jsonify, redirect, request

from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.errors import TransientError
from sidecar.sandbox import ServedApp
from sidecar.signing import new_secret
from sidecar.store import RestRoot, StoreClient, _api_link

HOME = "<!doctype html><html><body>Shop home</body></html>"


class Front:
    """``mode``: "pretty" (Link to /wp-json/), "plain" (Link to /?rest_route=/), "none" (no Link)."""

    def __init__(self) -> None:
        self.mode = "pretty"
        self.link_host: str | None = None
        self.seen: list[tuple[str, str, str | None]] = []  # (method, path, rest_route)
        self.app = Flask("front")
        self.app.add_url_rule("/", view_func=self.home, methods=["GET", "POST"])
        self.app.add_url_rule("/index.php", "index", view_func=self.home, methods=["GET", "POST"])
        self.app.add_url_rule("/wp-json/<path:route>", view_func=self.pretty, methods=["GET", "POST"])
        self.served = ServedApp(self.app).start()
        self.url = self.served.url

    def _api(self, route: str) -> Response:
        route = "/" + route.strip("/")
        if route == "/bpm-bridge/v1":
            return jsonify(namespace="bpm-bridge/v1", routes={})
        if route == "/bpm-bridge/v1/config":
            return jsonify(version=3, invoicing={"provider": "none"})
        return Response(
            '{"code":"rest_no_route","message":"No route","data":{"status":404}}',
            404,
            content_type="application/json",
        )

    def home(self) -> Any:
        rest_route = request.args.get("rest_route")
        self.seen.append((request.method, request.path, rest_route))
        if rest_route is not None:
            if self.mode == "pretty-only":
                return Response(HOME, 200, content_type="text/html")
            return self._api(rest_route)
        response = Response(HOME, 200, content_type="text/html; charset=UTF-8")
        host = self.link_host or self.url
        if self.mode == "pretty":
            response.headers["Link"] = f'<{host}/wp-json/>; rel="https://api.w.org/"'
        elif self.mode == "plain":
            response.headers["Link"] = f'<{host}/index.php?rest_route=/>; rel="https://api.w.org/"'
        return response

    def pretty(self, route: str) -> Any:
        self.seen.append((request.method, request.path, None))
        if self.mode == "plain":
            # What WordPress does with /wp-json/ under plain permalinks: its home page, or a redirect.
            if request.method == "POST":
                return redirect(f"{self.url}/", 301)
            return Response(HOME, 200, content_type="text/html")
        return self._api(route)

    def stop(self) -> None:
        self.served.stop()


@pytest.fixture
def front() -> Iterator[Front]:
    f = Front()
    yield f
    f.stop()


def client(front: Front, cache: dict[str, str] | None = None) -> StoreClient:
    settings = Settings((new_secret(),), front.url, "bpm-api", "pw", allow_insecure_store=True)
    return StoreClient(settings, AuditLog(None), root_cache=_DictCache(cache) if cache is not None else None)


class _DictCache:
    def __init__(self, store: dict[str, str]) -> None:
        self.store = store

    def get(self) -> str | None:
        return self.store.get("root")

    def set(self, value: str) -> None:
        self.store["root"] = value

    def delete(self) -> None:
        self.store.pop("root", None)


def test_link_header_parsing() -> None:
    header = (
        '<https://shop.example/wp-json/>; rel="https://api.w.org/", '
        "<https://shop.example/?p=1>; rel=shortlink"
    )
    assert _api_link(header) == "https://shop.example/wp-json/"
    assert (
        _api_link('<https://s.example/?rest_route=/>; rel="https://api.w.org/"')
        == "https://s.example/?rest_route=/"
    )
    assert _api_link("<https://s.example/?p=1>; rel=shortlink") is None
    assert _api_link("") is None
    assert RestRoot.from_link("https://s.example/index.php?rest_route=/").url("/bpm-bridge/v1/orders/7") == (
        "https://s.example/index.php?rest_route=/bpm-bridge/v1/orders/7"
    )
    assert RestRoot.from_link("https://s.example/blog/wp-json").url("/bpm-bridge/v1/config") == (
        "https://s.example/blog/wp-json/bpm-bridge/v1/config"
    )


@pytest.mark.parametrize("mode", ["pretty", "plain", "none"])
def test_the_root_is_discovered_once_and_used_for_every_request(front: Front, mode: str) -> None:
    front.mode = mode
    cache: dict[str, str] = {}
    store = client(front, cache)
    assert store.get_config()["version"] == 3
    assert store.ping() is True
    homes = [s for s in front.seen if s[1] == "/" and s[2] is None]
    assert len(homes) == 1  # discovery: one GET of the home page
    api = [s for s in front.seen if s not in homes]
    if mode == "pretty":
        assert [s[1] for s in api] == ["/wp-json/bpm-bridge/v1/config", "/wp-json/bpm-bridge/v1"]
    else:
        assert [s[2] for s in api] == ["/bpm-bridge/v1/config", "/bpm-bridge/v1"]
    # Another client (another work horse) reuses the root found by the first one.
    front.seen.clear()
    assert client(front, cache).get_config()["version"] == 3
    assert len(front.seen) == 1


def test_plain_permalinks_home_page_is_not_an_answer(front: Front) -> None:
    """A client that guessed /wp-json/ under plain permalinks gets HTML 200 or a 301: both are errors."""
    front.mode = "plain"
    guessed = {"root": RestRoot(f"{front.url}/wp-json/", False).encode()}
    store = client(front, guessed)
    with pytest.raises(TransientError, match="not the REST API's JSON"):
        store.get_config()
    assert "root" not in guessed  # forgotten: the next request discovers the right one
    assert store.ping() is True  # ... which is ?rest_route=
    assert RestRoot.decode(guessed["root"]) == RestRoot(f"{front.url}/index.php", True)


def test_a_redirect_is_never_followed(front: Front) -> None:
    front.mode = "plain"
    store = client(front, {"root": RestRoot(f"{front.url}/wp-json/", False).encode()})
    with pytest.raises(TransientError, match=r"HTTP 301 .*\(redirects are not followed\)"):
        store.apply(7, note="x")
    assert [s for s in front.seen if s[0] == "POST"] == [
        ("POST", "/wp-json/bpm-bridge/v1/orders/7/apply", None)
    ]


def test_ping_fails_when_the_store_answers_html(front: Front) -> None:
    front.mode = "pretty-only"  # no Link header and ?rest_route= answers the home page
    store = client(front)
    assert store.ping() is False
    assert "not the REST API's JSON" in (store.last_error or "")


def test_a_link_to_another_host_is_not_followed(front: Front) -> None:
    """Credentials go to the configured store only, whatever its home page advertises."""
    front.mode = "pretty"
    front.link_host = "http://elsewhere.example"
    store = client(front)
    assert store.get_config()["version"] == 3
    assert store.rest_root() == RestRoot(f"{front.url}/", True)


def test_readyz_fails_when_the_store_answers_html(front: Front, redis_url: str, redis_conn) -> None:
    """The intake's readiness probe: a store URL that answers with a web page is not a ready store."""
    from sidecar.app import create_app

    front.mode = "pretty-only"
    settings = Settings(
        (new_secret(),), front.url, "bpm-api", "pw", allow_insecure_store=True, redis_url=redis_url
    )
    redis_conn.delete("bpm:readyz:store", "bpm:store:rest_root")
    response = create_app(settings).test_client().get("/readyz")
    assert response.status_code == 503
    assert "not the REST API's JSON" in response.get_json()["checks"]["store"]
    front.mode = "plain"
    redis_conn.delete("bpm:readyz:store")
    assert create_app(settings).test_client().get("/readyz").status_code == 200
