"""The shop side of returns in a real browser (Playwright + Debian's chromium) on real WooCommerce 9.2.

One journey on the session's shared wp70-wc92 site (HPOS) as the shop's administrator, on four returns made
through Rma::create() (the customer's form is test_returns_customer_browser.py's): WooCommerce → Returns
lists them with status views, the overdue flag and the admin notice; search by RMA number and by e-mail;
a bulk approval done for the return that may be approved and refused for the one that may not; a return's
screen with the items, the timeline, the masked bank account and its logged reveal; approve, mark received
and refund → one WooCommerce refund for exactly the returned item (23 % VAT share), order.refunded in the
outbox, the order back from "Return requested"; a screen that went stale changes nothing; a rejection with a
reason reaches the customer's e-mail (mail.log); the order screen's box lists the order's return.
Screenshots go to /tmp/bpm-returns-shop-*.png.
"""

from __future__ import annotations

import json
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress
from wp_fixtures import wp_sites

pytestmark = [pytest.mark.browser, pytest.mark.wordpress]

__all__ = ["wp_sites"]

CHROMIUM = Path("/usr/bin/chromium")
LIST = "/wp-admin/admin.php?page=bpm-bridge-returns"
IBAN = "PL61109010140000071219812874"
REASON = "The mug was used: the photos show coffee stains."
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF = "JVBERi0xLjQKMSAwIG9iajw8Pj5lbmRvYmoKdHJhaWxlcjw8Pj4KJSVFT0YK"

SETUP = r"""
global $wpdb;
$saved = get_option( 'bpm_bridge_rma' );
\BPM_Bridge\Options::set( 'rma', array(
	'enabled' => true, 'order_status' => 'return-requested', 'complaints_email' => 'team-%(s)s@example.test',
) );
$png = get_temp_dir() . 'bpm-shop-test-stain.png';
file_put_contents( $png, base64_decode( '%(png)s' ) );
$photos = \BPM_Bridge\Returns\Photos::store(
	array( array( 'name' => 'stain.png', 'tmp_name' => $png, 'size' => filesize( $png ), 'error' => 0 ) ),
	false
);
$make = function ( $who, $kind ) use ( $photos ) {
	$order = wc_create_order();
	$order->add_product( wc_get_product( wc_get_product_id_by_sku( 'KUB-1' ) ), 2 );
	$order->add_product( wc_get_product( wc_get_product_id_by_sku( 'HER-1' ) ), 1 );
	$order->set_billing_first_name( 'Anna' );
	$order->set_billing_last_name( ucfirst( $who ) );
	$order->set_billing_email( $who . '-%(s)s@example.test' );
	$order->set_payment_method( 'bacs' );
	$order->calculate_totals( true );
	$order->set_status( 'completed' );
	$order->save();
	$items = array_keys( $order->get_items() );
	$rma   = \BPM_Bridge\Rma::create(
		$order->get_id(),
		array( array(
			'order_item_id' => $items[0], 'quantity' => 1,
			'product_id' => wc_get_product_id_by_sku( 'KUB-1' ),
			'reason' => 'complaint' === $kind ? 'Defect (reklamacja)' : 'Wrong item',
		) ),
		array(
			'kind' => $kind, 'email' => $who . '-%(s)s@example.test', 'customer_note' => 'Note of ' . $who,
			'iban' => 'refund' === $who ? '%(iban)s' : '',
			'photos' => 'reject' === $who ? $photos : array(),
		)
	);
	return array( 'order' => $order->get_id(), 'rma' => $rma );
};
$out = array( 'saved' => $saved );
$kinds = array(
    'bulk' => 'withdrawal', 'refund' => 'withdrawal', 'reject' => 'complaint', 'done' => 'complaint',
);
foreach ( $kinds as $who => $kind ) {
	$out[ $who ] = $make( $who, $kind );
}
// "refund" is late: its 14 days ran out yesterday. "done" was rejected before.
$late = gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS - 60 );
$table = \BPM_Bridge\Installer::rma_table();
$wpdb->query(
    $wpdb->prepare( "UPDATE {$table} SET due_at = %%s WHERE id = %%d", $late, $out['refund']['rma'] )
);
\BPM_Bridge\Rma::set_status( $out['done']['rma'], 'requested', 'rejected', 'Outside the period.', 'staff' );
\BPM_Bridge\Returns\Deadlines::forget_count();
echo wp_json_encode( $out );
"""


def php_json(site: wordpress.Site, code: str) -> Any:
    return site.php_json(code)


def rma(site: wordpress.Site, rma_id: int) -> dict[str, Any]:
    return site.php_json(f"echo wp_json_encode( \\BPM_Bridge\\Rma::get( {rma_id}, true ) );")


def mails(site: wordpress.Site, to: str) -> list[dict[str, Any]]:
    log = site.dir / "wp-content" / "mail.log"
    lines = log.read_text().splitlines() if log.exists() else []
    found = [json.loads(line) for line in lines if line.strip()]
    return [m for m in found if to in (m["to"] if isinstance(m["to"], list) else [m["to"]])]


@pytest.fixture(scope="module")
def shop(wp_sites, request) -> Iterator[tuple[wordpress.Site, dict[str, Any]]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    site = wp_sites.get("wp70-wc92", hpos=True)
    # hash() of a str changes per process (PYTHONHASHSEED); crc32 is the same on every run and worker.
    node = re.sub(r"[^a-z0-9]", "", request.node.nodeid.lower())[-6:]
    suffix = node + str(zlib.crc32(site.db.encode()) % 10_000)
    setup = SETUP.replace("%(s)s", suffix).replace("%(iban)s", IBAN).replace("%(png)s", PNG)
    info = site.php_json(setup.replace("%%", "%"))
    info["suffix"] = suffix
    try:
        yield site, info
    finally:
        saved = json.dumps(info["saved"] or {}).replace("\\", "\\\\").replace("'", "\\'")
        site.php(
            f"update_option( 'bpm_bridge_rma', json_decode( '{saved}', true ) );"
            " \\BPM_Bridge\\Returns\\Deadlines::forget_count();"
        )


@pytest.fixture(scope="module")
def page(shop):
    site, _ = shop
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="en-US")
        context.set_default_timeout(20_000)
        tab = context.new_page()
        tab.goto(f"{site.url}/wp-login.php")
        tab.fill("#user_login", site.admin_user)
        tab.fill("#user_pass", site.admin_password)
        with tab.expect_navigation():
            tab.click("#wp-submit")
        yield tab
        context.close()
        browser.close()


def notices(page) -> list[str]:
    return [t.strip() for t in page.locator(".bpm-bridge-notice").all_inner_texts()]


def row(page, number: str):
    return page.locator("#the-list tr", has_text=number)


def act(page, action: str) -> None:
    with page.expect_navigation():
        page.locator(f"form.bpm-bridge-rma-action--{action} button[type=submit]").click()


def test_staff_handle_returns_from_the_list_to_the_refund(shop, page) -> None:
    site, info = shop
    number = {who: f"RMA-{info[who]['rma']:06d}" for who in ("bulk", "refund", "reject", "done")}

    # --- the list: views, flags, the overdue notice, search ---------------------------------------------
    page.goto(f"{site.url}{LIST}")
    assert "There has been a critical error" not in page.content()
    notice = page.locator(".bpm-bridge-overdue-notice").inner_text()
    assert re.search(r"\d+ returns? (is|are) past", notice), notice
    for who in ("bulk", "refund", "reject", "done"):
        assert row(page, number[who]).count() == 1, who
    late = row(page, number["refund"])
    assert "overdue by 1 day" in late.locator("td.column-due").inner_text()
    assert "Withdrawal" in late.inner_text() and "Anna Refund" in late.inner_text()
    assert "Rejected" in row(page, number["done"]).locator("td.column-status").inner_text()
    views = page.locator("ul.subsubsub").inner_text()
    assert re.search(r"Requested \(\d+\)", views) and re.search(r"Overdue \(\d+\)", views), views
    with page.expect_navigation():
        page.locator("ul.subsubsub a", has_text="Overdue").click()
    assert row(page, number["refund"]).count() == 1 and row(page, number["bulk"]).count() == 0
    page.screenshot(path="/tmp/bpm-returns-shop-list.png", full_page=True)

    page.goto(f"{site.url}{LIST}")
    page.fill("#bpm-bridge-rma-search-input", number["reject"])
    with page.expect_navigation():
        page.click("#search-submit")
    assert page.locator("#the-list tr").count() == 1 and row(page, number["reject"]).count() == 1
    page.fill("#bpm-bridge-rma-search-input", f"bulk-{info['suffix']}@example.test")
    with page.expect_navigation():
        page.click("#search-submit")
    assert page.locator("#the-list tr").count() == 1 and row(page, number["bulk"]).count() == 1
    # A ticked row sent along with a search is no return's id: the list stays.
    row(page, number["bulk"]).locator("input[type=checkbox]").check()
    with page.expect_navigation():
        page.click("#search-submit")
    assert row(page, number["bulk"]).count() == 1, "the list, not a return's screen"

    # --- bulk approve: done where allowed, refused for the rejected one ---------------------------------
    page.goto(f"{site.url}{LIST}")
    for who in ("bulk", "done"):
        row(page, number[who]).locator("input[type=checkbox]").check()
    page.select_option("#bulk-action-selector-top", "approve")
    with page.expect_navigation():
        page.click("#doaction")
    shown = " ".join(notices(page))
    assert f"1 return done: {number['bulk']}" in shown, shown
    assert f"{number['done']} skipped (Rejected)" in shown, shown
    assert rma(site, info["bulk"]["rma"])["status"] == "approved"
    assert rma(site, info["done"]["rma"])["status"] == "rejected"

    # --- a stale screen: the return moved meanwhile, the click changes nothing --------------------------
    page.goto(f"{site.url}{LIST}&rma={info['bulk']['rma']}")
    moved = f"\\BPM_Bridge\\Rma::set_status( {info['bulk']['rma']}, 'approved', 'rejected', 'By phone.' );"
    site.php(moved)
    act(page, "receive")
    assert any("changed in the meantime" in n for n in notices(page)), notices(page)
    assert rma(site, info["bulk"]["rma"])["status"] == "rejected"

    # --- one return's screen: items, timeline, bank account; approve → received → refund -------------
    rid = info["refund"]["rma"]
    page.goto(f"{site.url}{LIST}&rma={rid}")
    items = page.locator("table.bpm-bridge-rma-items").inner_text()
    assert "Kubek ceramiczny" in items and "1 of 2" in items and "Wrong item" in items
    assert "Note of refund" in page.locator(".bpm-bridge-rma-note").inner_text()
    assert "Return requested." in page.locator(".bpm-bridge-rma-timeline").inner_text()
    masked = page.locator(".bpm-bridge-rma-iban code").inner_text()
    assert masked.startswith("PL") and masked.endswith("2874") and "1090" not in masked
    with page.expect_navigation():
        page.click("button.bpm-bridge-reveal-iban")
    assert page.locator(".bpm-bridge-rma-iban code").inner_text() == "PL61 1090 1014 0000 0712 1981 2874"
    assert "Bank account shown to" in page.locator(".bpm-bridge-rma-timeline li.is-private").last.inner_text()
    order = info["refund"]["order"]
    status = f"echo wp_json_encode( wc_get_order( {order} )->get_status() );"
    assert site.php_json(status) == "return-requested"

    # A forged or missing nonce is refused and changes nothing.
    for nonce in ("forged", None):
        form = {"action": "bpm_bridge_rma", "rma": str(rid), "do": "approve", "from": "requested"}
        if nonce:
            form["_wpnonce"] = nonce
        forged = page.request.post(f"{site.url}/wp-admin/admin-post.php", form=form, max_redirects=0)
        assert forged.status == 403, (nonce, forged.status)
    assert rma(site, rid)["status"] == "requested"
    act(page, "approve")
    assert any(f'{number["refund"]} is now "Approved"' in n for n in notices(page)), notices(page)
    # The sidecar's label (what POST rmas/{id}/label stores and announces): shown, downloadable, e-mailed.
    tracking = "620000000000000000000777"
    site.php(
        f"\\BPM_Bridge\\Rma::set_label( {rid}, array( 'carrier' => 'inpost',"
        f" 'tracking_number' => '{tracking}',"
        f" 'url' => 'https://inpost.pl/sledzenie-przesylek?number={tracking}' ), '{PDF}' );"
        f" do_action( 'bpm_bridge_rma_label_attached', {rid} );"
    )
    page.reload()
    label = page.locator(".bpm-bridge-rma-label")
    assert tracking in label.inner_text()
    pdf = page.request.get(label.get_by_role("link", name="Download the label PDF").get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF"), pdf.status
    act(page, "receive")
    assert page.locator(".bpm-bridge-return").get_attribute("data-status") == "received"
    assert re.search(r"Refund \D*30[.,]75", page.locator("form.bpm-bridge-rma-action--refund").inner_text())
    page.screenshot(path="/tmp/bpm-returns-shop-screen.png", full_page=True)
    act(page, "refund")
    shown = " ".join(notices(page))
    assert f"{number['refund']} refunded: WooCommerce refund #" in shown, shown
    stored = rma(site, rid)
    assert stored["status"] == "refunded" and stored["refund_id"]

    refund = site.php_json(
        f"""$o = wc_get_order( {order} ); $r = $o->get_refunds();
        $lines = array();
        foreach ( $r[0]->get_items() as $item ) {{
            $lines[] = array( 'qty' => $item->get_quantity(), 'name' => $item->get_name(),
                'total' => wc_format_decimal( $item->get_total(), 2 ),
                'tax' => wc_format_decimal( $item->get_total_tax(), 2 ) );
        }}
        echo wp_json_encode( array( 'count' => count( $r ), 'id' => $r[0]->get_id(),
            'amount' => $r[0]->get_amount(), 'reason' => $r[0]->get_reason(), 'lines' => $lines,
            'status' => $o->get_status() ) );"""
    )
    assert refund["count"] == 1 and refund["id"] == stored["refund_id"]
    assert (refund["amount"], refund["reason"]) == ("30.75", number["refund"])
    assert refund["lines"] == [{"qty": -1, "total": "-25.00", "tax": "-5.75", "name": "Kubek ceramiczny"}]
    assert refund["status"] == "completed", "the order got its status back (a partial refund)"
    outbox = site.php_json(
        "echo wp_json_encode( array_column( \\BPM_Bridge\\Outbox::list( '', 1, 200 )['items'], 'payload' ) );"
    )
    refunded = [json.loads(p)["data"] for p in outbox if json.loads(p)["type"] == "order.refunded"]
    assert {"order_id": order, "refund_id": refund["id"], "amount": "30.75"} in [
        {k: d.get(k) for k in ("order_id", "refund_id", "amount")} for d in refunded
    ]
    customer = f"refund-{info['suffix']}@example.test"
    subjects = [m["subject"] for m in mails(site, customer)]
    assert any(number["refund"] in s and "received" in s for s in subjects), subjects
    assert any(number["refund"] in s and "refund" in s.lower() and "issued" in s for s in subjects), subjects
    assert any(number["refund"] in s and "approved" in s for s in subjects), subjects
    assert page.locator(".bpm-bridge-rma-actions form").count() == 0, "a refunded return offers nothing"

    # --- reject with the reason the customer reads ----------------------------------------------------
    page.goto(f"{site.url}{LIST}&rma={info['reject']['rma']}")
    photo = page.locator(".bpm-bridge-rma-photos img")
    assert photo.count() == 1
    image = page.request.get(photo.get_attribute("src"))
    assert image.status == 200 and image.headers["content-type"].startswith("image/png"), image.status
    page.fill("#bpm-bridge-reject-note", REASON)
    act(page, "reject")
    assert page.locator(".bpm-bridge-rma-decision").inner_text() == REASON
    assert rma(site, info["reject"]["rma"])["decision_note"] == REASON
    rejected = [m for m in mails(site, f"reject-{info['suffix']}@example.test") if "rejected" in m["subject"]]
    assert len(rejected) == 1 and number["reject"] in rejected[0]["subject"], rejected
    assert len([m for m in mails(site, f"team-{info['suffix']}@example.test") if "RMA-" in m["subject"]]) == 4

    # --- the order screen's box lists the order's return ---------------------------------------------
    page.goto(f"{site.url}/wp-admin/admin.php?page=wc-orders&action=edit&id={order}")
    box = page.locator("#bpm-bridge-order .bpm-bridge-rma")
    assert number["refund"] in box.inner_text() and "Refunded" in box.inner_text()
    with page.expect_navigation():
        box.get_by_role("link", name=number["refund"]).click()
    assert page.locator(".bpm-bridge-return").get_attribute("data-rma") == str(rid)
