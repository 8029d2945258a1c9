"""The customer side of returns in a real browser (Playwright + Debian's chromium) on real WooCommerce 9.2.

One journey on the session's shared wp70-wc92 site (HPOS): a logged-in customer returns 1 of the 2 items of
a completed order from the order's page, sees the RMA number and the return under My Account → Returns,
downloads the label once one is attached; another customer cannot open that order's form or that label; an
order delivered too long ago offers nothing; a complaint is refused with a PHP file posing as a photo and
accepted with a real photo; a guest on the page with the return-form block gets one answer for a wrong
e-mail and a wrong number, finds the order, returns with a locker code and a refund account (cash on
delivery) and sees the signed status page; the guest look-up stops after 5 attempts; My Account → Returns
under plain permalinks. Screenshots go to /tmp/bpm-returns-*.png.
"""

from __future__ import annotations

import base64
import re
import sys
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
PASSWORD = "Customer-Pass-1234"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
IBAN = "PL61 1090 1014 0000 0712 1981 2874"
NOT_FOUND = "We could not find an order with this number and e-mail address. Please check both."
# A theme that prints the page (the harness theme prints the site name only): My Account needs it.
THEME = """<?php
?><!doctype html><html><head><?php wp_head(); ?></head><body><?php
while ( have_posts() ) { the_post(); echo '<main>'; the_content(); echo '</main>'; }
wp_footer(); ?></body></html>
"""

SETUP = r"""
global $wpdb;
$wpdb->query( "DELETE FROM {$wpdb->options} WHERE option_name LIKE '\_transient%bpm\_bridge\_rl\_%'" );
$saved = array( 'theme' => get_option( 'stylesheet' ), 'rma' => get_option( 'bpm_bridge_rma' ) );
switch_theme( 'bpm-returns-test-theme' );
\BPM_Bridge\Options::set( 'rma', array( 'enabled' => true, 'auto_approve_withdrawals' => false ) );
$users = array();
foreach ( array( 'a', 'b' ) as $who ) {
	$login = 'returns-' . $who . '-%(suffix)s';
	$users[ $who ] = wc_create_new_customer( $login . '@example.test', $login, '%(password)s' );
}
$make = function ( $customer, $skus, $days, $payment, $email ) {
	$order = wc_create_order( array( 'customer_id' => $customer ) );
	foreach ( $skus as $sku ) {
		$order->add_product( wc_get_product( wc_get_product_id_by_sku( $sku ) ), 1 );
	}
	$order->set_billing_first_name( 'Anna' );
	$order->set_billing_last_name( 'Nowak' );
	$order->set_billing_email( $email );
	$order->set_payment_method( $payment );
	$order->calculate_totals();
	$order->set_status( 'completed' );
	$order->save();
	$order->set_date_completed( time() - $days * DAY_IN_SECONDS );
	$order->save();
	return $order->get_id();
};
$a_mail = 'returns-a-%(suffix)s@example.test';
$pages = array();
$contents = array(
	'block'     => '<!-- wp:bpm-bridge/return-form /-->',
	'shortcode' => '[bpm_bridge_return_form]',
);
foreach ( $contents as $kind => $content ) {
	$pages[ $kind ] = wp_insert_post( array(
		'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Returns ' . $kind,
		'post_content' => $content,
	) );
}
echo wp_json_encode( array(
	'saved'     => $saved,
	'users'     => $users,
	'two'       => $make( $users['a'], array( 'KUB-1', 'KSI-1' ), 1, 'bacs', $a_mail ),
	'old'       => $make( $users['a'], array( 'KUB-1' ), 800, 'bacs', $a_mail ),
	'late'      => $make( $users['a'], array( 'HER-1' ), 40, 'bacs', $a_mail ),
	'guest'     => $make( 0, array( 'KSI-1' ), 2, 'cod', 'guest-%(suffix)s@example.test' ),
	'pages'     => $pages,
	'block_url' => get_permalink( $pages['block'] ),
	'short_url' => get_permalink( $pages['shortcode'] ),
	'account'   => wc_get_page_permalink( 'myaccount' ),
) );
"""


@pytest.fixture(scope="module")
def shop(wp_sites, request) -> Iterator[tuple[wordpress.Site, dict[str, Any]]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    site = wp_sites.get("wp70-wc92", hpos=True)
    theme = site.dir / "wp-content" / "themes" / "bpm-returns-test-theme"
    theme.mkdir(parents=True, exist_ok=True)
    (theme / "style.css").write_text("/*\nTheme Name: BPM Returns Test Theme\nVersion: 1.0\n*/\n")
    (theme / "index.php").write_text(THEME)
    suffix = re.sub(r"[^a-z0-9]", "", request.node.nodeid.lower())[-6:] + str(abs(hash(site.db)) % 10_000)
    info = site.php_json(SETUP.replace("%(suffix)s", suffix).replace("%(password)s", PASSWORD))
    info["suffix"] = suffix
    try:
        yield site, info
    finally:
        saved = info["saved"]
        rma = "delete_option( 'bpm_bridge_rma' );"
        if saved["rma"]:
            rma = f"update_option( 'bpm_bridge_rma', json_decode( '{_php_json(saved['rma'])}', true ) );"
        site.php(
            f"switch_theme( '{saved['theme']}' ); {rma}"
            " require_once ABSPATH . 'wp-admin/includes/user.php';"
            + "".join(f" wp_delete_user( {uid} );" for uid in info["users"].values())
            + "".join(f" wp_delete_post( {pid}, true );" for pid in info["pages"].values())
        )


def _php_json(value: Any) -> str:
    import json

    return json.dumps(value).replace("\\", "\\\\").replace("'", "\\'")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield chromium
        chromium.close()


def new_page(browser, site: wordpress.Site, login: str | None = None):
    context = browser.new_context(
        viewport={"width": 1300, "height": 1000}, locale="en-US", accept_downloads=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    if login:
        page.goto(f"{site.url}/wp-login.php")
        page.fill("#user_login", login)
        page.fill("#user_pass", PASSWORD)
        with page.expect_navigation():
            page.click("#wp-submit")
    return page


def rma_of(site: wordpress.Site, order_id: int) -> dict[str, Any]:
    found = site.php_json(
        f"echo wp_json_encode( \\BPM_Bridge\\Rma::query( array( 'order_id' => {order_id} ) )['items'] );"
    )
    assert len(found) == 1, found
    return found[0]


def submit(page) -> None:
    with page.expect_navigation():
        page.locator("form.bpm-return-form button[type=submit]").click()


def test_customer_and_guest_returns(shop, browser, tmp_path: Path) -> None:
    site, info = shop
    account = info["account"]
    login_a = f"returns-a-{info['suffix']}"

    # --- customer A: 1 of 2 items from the order's page --------------------------------------------------
    a = new_page(browser, site, login_a)
    a.goto(f"{account}view-order/{info['two']}/")
    with a.expect_navigation():
        a.get_by_role("link", name="Return items").click()
    form = a.locator("form.bpm-return-form")
    rows = form.locator("tr.bpm-return-item")
    assert rows.count() == 2
    assert "You may withdraw from the purchase until" in a.locator(".bpm-return-windows").inner_text()
    assert form.locator("#bpm-photos").is_hidden(), "photos only for complaints"
    first = rows.nth(0)
    first.locator("input.bpm-qty").fill("1")
    first.locator("select.bpm-reason").select_option("Withdrawal within 14 days (odstąpienie od umowy)")
    form.locator("input[name=bpm_method][value=own]").check()
    form.locator("#bpm-note").fill("Za duży rozmiar.")
    # A double click sends one request: the button is disabled once the form is on its way.
    a.evaluate(
        "() => { const f = document.querySelector('form.bpm-return-form');"
        " f.addEventListener('submit', () => sessionStorage.setItem('bpm-disabled',"
        " String(f.querySelector('button[type=submit]').disabled))); }"
    )
    with a.expect_navigation():
        form.locator("button[type=submit]").dblclick()
    assert a.evaluate("() => sessionStorage.getItem('bpm-disabled')") == "true"
    rma = rma_of(site, info["two"])
    assert rma["number"] in a.locator(".bpm-return-confirmation").inner_text()
    assert rma["kind"] == "withdrawal" and rma["status"] == "requested" and len(rma["items"]) == 1
    assert a.locator(".bpm-return-timeline").inner_text().count("Return requested.") == 1
    a.screenshot(path="/tmp/bpm-returns-confirmation.png", full_page=True)

    a.goto(f"{account}returns/")
    row = a.locator(f"tr.bpm-return-row[data-rma='{rma['number']}']")
    assert "Requested" in row.locator(".bpm-return-status").inner_text()
    assert a.get_by_role("link", name="Download the return label").count() == 0, "no label yet"

    # The label arrives (as the sidecar's route stores it); the customer downloads it.
    tracking = "https://inpost.pl/sledzenie-przesylek?number=620000000000000000000042"
    attached = site.php(
        f"var_export( \\BPM_Bridge\\Rma::set_label( {rma['id']}, array( 'carrier' => 'inpost',"
        f" 'tracking_number' => '620000000000000000000042', 'url' => '{tracking}' ),"
        f" '{base64.b64encode(PDF).decode()}' ) );"
    )
    assert attached.strip() == "true", attached
    a.reload()
    assert row.locator(".bpm-return-label-download").count() == 1
    assert row.locator(".bpm-return-tracking").get_attribute("href") == tracking
    with a.expect_navigation():
        row.get_by_role("link", name=rma["number"]).click()
    assert a.get_by_role("link", name="Track the parcel").get_attribute("href") == tracking
    with a.expect_download() as download:
        a.get_by_role("link", name="Download the return label").click()
    saved = tmp_path / "label.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF and download.value.suggested_filename == f"{rma['number']}.pdf"
    label_url = a.get_by_role("link", name="Download the return label").get_attribute("href")
    a.screenshot(path="/tmp/bpm-returns-my-account.png", full_page=True)

    # An order delivered 800 days ago: nothing offered, and why.
    a.goto(f"{account}returns/?bpm_order={info['old']}")
    assert "ended on" in a.locator(".bpm-return-closed").inner_text()
    assert a.locator("form.bpm-return-form").count() == 0
    a.goto(f"{account}view-order/{info['old']}/")
    assert a.get_by_role("link", name="Return items").count() == 0

    # A complaint 40 days after delivery: only complaint reasons; a PHP file is no photo, a PNG is.
    a.goto(f"{account}returns/?bpm_order={info['late']}")
    form = a.locator("form.bpm-return-form")
    options = form.locator("select.bpm-reason option").all_inner_texts()
    assert "Wrong item" not in options and "Defect (reklamacja)" in options
    form.locator("input.bpm-qty").fill("1")
    form.locator("select.bpm-reason").select_option("Defect (reklamacja)")
    assert form.locator("#bpm-photos").is_visible()
    form.locator("input[name=bpm_method][value=locker]").check()
    form.locator("#bpm-point").fill("waw123m")
    shell = tmp_path / "defect.jpg"
    shell.write_bytes(b"<?php system($_GET['c']); ?>")
    form.locator("#bpm-photos").set_input_files(str(shell))
    submit(a)
    assert "defect.jpg is not a photo (JPEG, PNG or WebP)." in a.locator("#bpm-error-photos").inner_text()
    form = a.locator("form.bpm-return-form")
    assert (
        form.locator("input.bpm-qty").input_value() == "1"
        and form.locator("#bpm-point").input_value() == "waw123m"
    )
    photo = tmp_path / "defect.png"
    photo.write_bytes(PNG)
    form.locator("#bpm-photos").set_input_files(str(photo))
    submit(a)
    complaint = rma_of(site, info["late"])
    assert (
        complaint["kind"] == "complaint" and complaint["point"] == "WAW123M" and len(complaint["photos"]) == 1
    )
    photo_url = a.get_by_role("link", name="Photo 1").get_attribute("href")
    answer = a.request.get(photo_url)
    assert answer.status == 200 and answer.headers["content-type"] == "image/png" and answer.body() == PNG
    # The link names the photo's position, never its stored name; the stored file itself is never served.
    stored = complaint["photos"][0]
    assert stored not in photo_url and "photo=0" in photo_url
    where = site.php_json(
        "echo wp_json_encode( array( 'folder' => get_option( 'bpm_bridge_private_dir' ),"
        " 'uploads' => wp_upload_dir( null, false ) ) );"
    )
    if where["folder"] == where["uploads"]["basedir"] + "/bpm-bridge-private":
        # The uploads fallback (the web server may not write beside WordPress here): .htaccess shuts it.
        direct = a.request.get(f"{where['uploads']['baseurl']}/bpm-bridge-private/{stored}")
        assert direct.status in (403, 404), direct.status
        assert a.request.get(f"{where['uploads']['baseurl']}/bpm-bridge-private/").status in (403, 404)
    else:
        assert where["folder"] and not where["folder"].startswith(str(site.dir)), where
    a.context.close()

    # --- customer B: not A's order, not A's label ----------------------------------------------------------
    b = new_page(browser, site, f"returns-b-{info['suffix']}")
    b.goto(f"{account}returns/?bpm_order={info['two']}")
    assert "You cannot return items of this order." in b.content()
    assert b.locator("form.bpm-return-form").count() == 0
    assert b.request.get(label_url).status == 403, "A's nonce, B's session"
    assert b.request.get(photo_url).status == 403
    b.goto(f"{account}returns/?bpm_rma={rma['id']}")
    assert rma["number"] not in b.locator("main").inner_text()
    b.context.close()

    # --- a guest on the block page -------------------------------------------------------------------------
    g = new_page(browser, site)
    assert g.request.get(label_url).status == 403, "logged out"
    # The return pages are never cached (a nonce, a guest's token and answers are on them).
    for url in (info["block_url"], info["short_url"]):
        assert "no-store" in g.request.get(url).headers.get("cache-control", ""), url
    guest_number = str(info["guest"])
    guest_mail = f"guest-{info['suffix']}@example.test"

    def look_up(number: str, email: str) -> str:
        g.goto(info["block_url"])
        g.fill("#bpm-order-number", number)
        g.fill("#bpm-email", email)
        with g.expect_navigation():
            g.get_by_role("button", name="Find my order").click()
        error = g.locator(".bpm-return-lookup .bpm-return-error")
        return error.inner_text() if error.count() else ""

    assert look_up(guest_number, "someone@example.test") == NOT_FOUND
    assert look_up("987654321", guest_mail) == NOT_FOUND, "the same answer for a wrong number"
    assert look_up(guest_number, guest_mail) == ""
    form = g.locator("form.bpm-return-form")
    form.locator("input.bpm-qty").fill("1")
    form.locator("select.bpm-reason").select_option("Wrong item")
    form.locator("input[name=bpm_method][value=locker]").check()
    form.locator("#bpm-point").fill("KRA01M")
    form.locator("#bpm-iban").fill("PL62 1090 1014 0000 0712 1981 2874")
    submit(g)
    assert "valid Polish bank account" in g.locator("#bpm-error-iban").inner_text()
    g.locator("#bpm-iban").fill(IBAN)
    submit(g)
    guest_rma = rma_of(site, info["guest"])
    assert guest_rma["number"] in g.locator(".bpm-return-confirmation").inner_text()
    assert "bpm_sig=" in g.url, "the status page is a signed link"
    assert guest_rma["email"] == guest_mail and guest_rma["customer_id"] == 0
    iban = site.php(f"echo \\BPM_Bridge\\Rma::iban( {guest_rma['id']} );").strip()
    assert iban == IBAN.replace(" ", "")
    g.screenshot(path="/tmp/bpm-returns-guest.png", full_page=True)
    status_url = g.url.replace("&bpm_created=1", "")
    g.goto(status_url.replace("bpm_sig=", "bpm_sig=0"))
    assert "This link is not valid." in g.locator("main").inner_text()

    # Flooding: 3 look-ups so far from this address; the 6th in 15 minutes is refused, even a right one.
    assert look_up("111", guest_mail) == NOT_FOUND
    assert look_up("112", guest_mail) == NOT_FOUND
    assert look_up(guest_number, guest_mail) == "Too many attempts. Please try again later."
    # The shortcode page is the same look-up.
    g.goto(info["short_url"])
    assert g.locator("form.bpm-return-lookup-form").count() == 1
    g.context.close()

    # Plain permalinks: the endpoint answers as ?returns (WooCommerce's query-var form).
    site.set_permalinks("plain")
    try:
        plain = site.php("echo wc_get_account_endpoint_url( 'returns' );").strip()
        assert "returns" in plain and "?" in plain, plain
        a = new_page(browser, site, login_a)
        a.goto(plain)
        assert a.locator(f"tr.bpm-return-row[data-rma='{rma['number']}']").count() == 1
        a.context.close()
    finally:
        site.set_permalinks("pretty")
