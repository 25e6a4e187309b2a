"""The explorer's DEX views in a real headless chromium against a real node: two traders'
orders cross and settle in a sealed block; the pair page shows the clearing price, the book
and the trades, the account page the partially filled order still open, the transaction page
the ORDER's terms and the SETTLEMENT's fills, and a search by order id finds the order."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from tests.adapters.http.conftest import Api, serve
from tests.adapters.http.pages.chromium import chromium, console_errors, wait
from tests.adapters.http.pages.test_pages_browser import open_view, text
from tests.adapters.http.test_dex_routes import hexa, place, traders
from tests.conftest import ADDRS, ETH, TOKEN


def short(hex_: str) -> str:
    """The explorer's short form of a hash or an address."""
    return f"{hex_[:8]}…{hex_[-6:]}"


@pytest.fixture
def dex(tmp_path) -> Iterator[Api]:
    yield from serve(tmp_path, traders)


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


def test_the_explorer_shows_a_settled_batch(dex, browser):
    asking = place(dex, 0, ETH, TOKEN, 50, 100)  # at least 2 TOKEN per ETH
    place(dex, 1, TOKEN, ETH, 60, 20)  # at most 3 TOKEN per ETH: fills 30 of the asker's 50 at 2
    sealed = dex.ok("block.seal")
    [settlement] = {t["txhash"] for t in dex.ok("trade.all")}
    base, quote = hexa(ETH), hexa(TOKEN)

    open_view(browser, dex.url + "/explorer", f"#/pair/{base}:{quote}")
    shown = text(browser, "view")
    assert f"Last clearing price\n2000000000000000000 {short(quote)} per ETH" in shown, shown  # 2 units per wei; the unlisted token has 0 decimals
    assert f"Cleared in block\n{sealed['blknum']}" in shown
    trades = browser.find_elements(By.XPATH, "//section[h2='Trades']//tbody/tr")
    assert len(trades) == 2 and all(any(short(hexa(ADDRS[i])) in r.text for r in trades) for i in (0, 1))
    asks = browser.find_elements(By.XPATH, "//section[h2='Order book']/table[1]//tbody/tr")
    assert [r.text for r in asks] == [f"2000000000000000000 {short(quote)} per ETH 0.00000000000000002 ETH 1"]

    browser.find_element(By.LINK_TEXT, short(settlement)).click()
    wait(browser, lambda d: d.find_element(By.ID, "view").get_attribute("data-rendered") == f"#/tx/{settlement}")
    fills = browser.find_elements(By.XPATH, "//section[starts-with(h2, 'Fills')]//tbody/tr")
    assert len(fills) == 2 and "5 (settlement)" in text(browser, "view")
    q = short(quote)
    asker = f"{short(hexa(ADDRS[0]))} 100 {q} for 0.00000000000000005 ETH 0.00000000000000003 ETH 60 {q} 0 {q}"
    bidder = f"{short(hexa(ADDRS[1]))} 0.00000000000000002 ETH for 60 {q} 60 {q} 0.00000000000000003 ETH 0 ETH"
    assert all(any(row in r.text for r in fills) for row in (asker, bidder)), [r.text for r in fills]

    open_view(browser, dex.url + "/explorer", f"#/account/{hexa(ADDRS[0])}")
    [order] = browser.find_elements(By.XPATH, "//section[h2='Orders in custody']//tbody/tr")
    assert order.text.endswith("0.00000000000000002 ETH " + str(dex.ok("order.get", {"id": asking["order_id"]})["expiry"]) + " open")

    open_view(browser, dex.url + "/explorer", f"#/tx/{asking['txhash']}")
    shown = text(browser, "view")
    assert "4 (order)" in shown and f"Sells\n0.00000000000000005 ETH\nFor at least\n100 {short(quote)}" in shown, shown
    assert f"Order\n{asking['order_id']}\nOwner" in shown  # the page's hashStruct(Order) is the ledger's order id

    box = browser.find_element(By.ID, "search")
    box.send_keys(asking["order_id"])
    browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
    wait(browser, lambda d: d.find_element(By.ID, "view").get_attribute("data-rendered") == f"#/tx/{asking['order_id']}")
    shown = text(browser, "view")
    assert f"Order {asking['order_id']}" in shown and "Status\nopen" in shown and "Still open\n0.00000000000000002 ETH" in shown
    for view in ("dex", "fees"):
        open_view(browser, dex.url + "/explorer", f"#/{view}")
        assert text(browser, "status") == "", view
    assert console_errors(browser) == []
