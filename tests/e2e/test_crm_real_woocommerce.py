"""The CRM on real WooCommerce: a paid order becomes a HubSpot contact and deal, its status moves the stage.

Real WordPress + WooCommerce (HPOS) under Apache + mod_php, BPM Bridge configured through its own Options
(CRM section: HubSpot with the simulator as its sandbox base URL), the real sidecar (gunicorn + one RQ
worker) and the HubSpot simulator as its own process. The order is paid over REST as a gateway or an
import does, then completed by the admin; nothing drives the plugin's queue: delivery happens on its own.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress
from support.processes import ProcessGroup, free_port, process_env, sidecar_cmd, wait_for_port
from wp_fixtures import wp_sites

from sidecar.signing import new_secret

pytestmark = [pytest.mark.wordpress, pytest.mark.slow]

__all__ = ["wp_sites"]

TOKEN = "pat-na1-e2e-hubspot-token"
PORTAL = "144000555"
TIMEOUT = 90.0
BUYER = {
    "first_name": "Ewa",
    "last_name": "Nowak",
    "address_1": "ul. Polna 1",
    "city": "Kraków",
    "postcode": "30-001",
    "country": "PL",
    "email": "ewa.nowak@example.test",
    "phone": "+48500100200",
}


class Stack:
    def __init__(self, site: wordpress.Site, admin: tuple[str, str], hub: str, group: ProcessGroup) -> None:
        self.site, self.admin, self.hub, self.group = site, admin, hub, group

    def deals(self, order_id: int) -> list[dict[str, Any]]:
        held = requests.get(f"{self.hub}/_sandbox/documents", timeout=30).json()
        return [d for d in held["deals"] if d["properties"].get("woo_order_id") == str(order_id)]

    def contacts(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.hub}/_sandbox/documents", timeout=30).json()["contacts"]

    def meta(self, order_id: int) -> dict[str, str]:
        raw = self.site.php_json(
            f"""$o = wc_get_order( {order_id} ); $out = array();
            $keys = array( '_bpm_crm_id', '_bpm_crm_stage', '_bpm_crm_url', '_bpm_crm_contact_id' );
            foreach ( $keys as $k ) {{
                $out[ $k ] = (string) $o->get_meta( $k ); }}
            echo wp_json_encode( $out );"""
        )
        assert isinstance(raw, dict)
        return raw

    def wait_for_stage(self, order_id: int, stage: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        last_visit = 0.0
        while True:
            found = self.deals(order_id)
            if found and found[0]["properties"].get("dealstage") == stage:
                return found[0]
            if time.monotonic() > deadline:
                pytest.fail(f"deal of order {order_id} not in {stage} after {TIMEOUT:.0f} s: {found}\n"
                            f"{self.group.logs()}\n{self.site.php_errors()}")  # fmt: skip
            if time.monotonic() - last_visit > 10:
                requests.get(f"{self.site.url}/", timeout=30)  # a visitor: WP-Cron's net
                last_visit = time.monotonic()
            time.sleep(0.5)


@pytest.fixture(scope="module")
def stack(wp_sites, redis_url: str) -> Iterator[Stack]:
    site = wp_sites.get("wp70-wc92", hpos=True, permalinks="pretty")
    redis.Redis.from_url(redis_url).flushdb()
    secret = new_secret()
    hub_port, sidecar_port = free_port(), free_port()
    hub = f"http://127.0.0.1:{hub_port}"
    setup = site.php(
        f"""
        $api = \\BPM_Bridge\\Role::ensure_api_user();
        if ( is_wp_error( $api ) ) {{ throw new Exception( $api->get_error_message() ); }}
        $checks = array(
            \\BPM_Bridge\\Options::set_secrets( '{secret}' ),
            \\BPM_Bridge\\Options::set_sidecar_url( 'http://127.0.0.1:{sidecar_port}' ),
            \\BPM_Bridge\\Options::set( 'invoicing', array( 'provider' => 'none' ) ),
            \\BPM_Bridge\\Options::set( 'crm', array(
                'provider' => 'hubspot',
                'line_items' => true,
                'pipeline' => 'default',
                'hubspot' => array(
                    'access_token' => '{TOKEN}', 'portal_id' => '{PORTAL}', 'base_url' => '{hub}' ) ) ),
        );
        foreach ( $checks as $check ) {{
            if ( is_wp_error( $check ) ) {{ throw new Exception( $check->get_error_message() ); }}
        }}
        echo wp_json_encode( $api );
        """
    )
    api = json.loads(setup.strip().splitlines()[-1])
    env = process_env(
        redis_url, site.url, secret, api["password"], user=api["login"],
        extra={"BPM_BIND": f"127.0.0.1:{sidecar_port}", "BPM_WEB_WORKERS": "1",
               "BPM_SANDBOX_HUBSPOT_TOKEN": TOKEN, "BPM_SANDBOX_HUBSPOT_PORTAL": PORTAL},
    )  # fmt: skip
    with ProcessGroup() as group:
        python = sidecar_cmd()[0].replace("bpm-sidecar", "python")
        group.start("hubspot", [python, "-m", "sidecar.sandbox", "hubspot", "--port", str(hub_port)], env)
        group.start("web", sidecar_cmd("serve"), env)
        group.start("worker", sidecar_cmd("worker", "--name", f"e2e-crm-{sidecar_port}"), env)
        wait_for_port(hub_port)
        wait_for_port(sidecar_port, timeout=30)
        yield Stack(site, (site.admin_user, wp_sites.admin_password(site)), hub, group)
        site.php("\\BPM_Bridge\\Options::set( 'crm', array( 'provider' => 'none' ) );", check=False)


def test_a_paid_order_becomes_a_contact_and_a_deal_whose_stage_follows_the_order(stack: Stack) -> None:
    site = stack.site
    body = {
        "payment_method": "bacs",
        "payment_method_title": "Przelew",
        "set_paid": True,
        "billing": BUYER,
        "line_items": [{"product_id": site.products["KUB-1"], "quantity": 2}],
    }
    paid = requests.post(site.rest("/wc/v3/orders"), json=body, auth=stack.admin, timeout=60)
    assert paid.status_code == 201, paid.text[:800]
    order = paid.json()
    deal = stack.wait_for_stage(order["id"], "contractsent")  # processing → the default mapping
    [contact] = [c for c in stack.contacts() if c["properties"]["email"] == BUYER["email"]]
    assert (contact["properties"]["firstname"], contact["properties"]["lastname"]) == ("Ewa", "Nowak")
    assert "phone" not in contact["properties"] and "city" not in contact["properties"]
    assert deal["associations"]["contacts"] == [contact["id"]]
    assert len(deal["associations"].get("line_items", [])) == 1
    assert float(deal["properties"]["amount"]) == float(order["total"])

    done = requests.put(
        site.rest(f"/wc/v3/orders/{order['id']}"), json={"status": "completed"}, auth=stack.admin, timeout=60
    )
    assert done.status_code == 200, done.text[:500]
    moved = stack.wait_for_stage(order["id"], "closedwon")
    assert moved["id"] == deal["id"] and len(stack.deals(order["id"])) == 1
    meta = stack.meta(order["id"])
    assert meta["_bpm_crm_id"] == deal["id"] and meta["_bpm_crm_contact_id"] == contact["id"]
    assert meta["_bpm_crm_url"] == f"https://app.hubspot.com/contacts/{PORTAL}/record/0-3/{deal['id']}"
    deadline = time.monotonic() + 30
    while stack.meta(order["id"])["_bpm_crm_stage"] != "closedwon" and time.monotonic() < deadline:
        time.sleep(0.5)  # the write-back follows the HubSpot call
    assert stack.meta(order["id"])["_bpm_crm_stage"] == "closedwon"


def test_load_stages_asks_the_sidecar_which_asks_hubspot(stack: Stack) -> None:
    """The settings' "Load stages": the plugin's signed POST /v1/crm/pipelines, the sidecar's fresh read of
    the settings (a token just saved counts) and HubSpot's pipelines back on the CRM screen."""
    loaded = stack.site.php_json("echo wp_json_encode( \\BPM_Bridge\\Crm\\Pipelines::load() );")
    assert isinstance(loaded, dict) and loaded["ok"] is True, loaded
    assert loaded["provider"] == "hubspot" and "HubSpot" in loaded["message"]
    [default] = [p for p in loaded["pipelines"] if p["id"] == "default"]
    assert [s["id"] for s in default["stages"]][-2:] == ["closedwon", "closedlost"]
    stack.site.php(
        "\\BPM_Bridge\\Options::set( 'crm', array_replace_recursive( \\BPM_Bridge\\Options::get( 'crm' ),"
        " array( 'hubspot' => array( 'access_token' => 'pat-na1-wrong' ) ) ) );"
    )
    try:
        refused = stack.site.php_json("echo wp_json_encode( \\BPM_Bridge\\Crm\\Pipelines::load() );")
        assert isinstance(refused, dict) and refused["ok"] is False
        assert "HubSpot refused the access token" in refused["message"], refused
    finally:
        stack.site.php(
            "\\BPM_Bridge\\Options::set( 'crm', array_replace_recursive( \\BPM_Bridge\\Options::get( 'crm' ),"
            f" array( 'hubspot' => array( 'access_token' => '{TOKEN}' ) ) ) );"
        )
