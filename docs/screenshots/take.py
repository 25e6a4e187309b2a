"""The README's screenshots of the web wallet and the explorer (`make screenshots`): a small
ledger (deposits, payments in sealed blocks, a standard exit, a DEX batch) served on a loopback port to
headless chromium, first with the embedded brand, then with a provider's brand.json (the wallet,
and the DEX pages, whose brand lists OMG with its decimals)."""
from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.by import By  # noqa: E402

from adapters.http.app import Server  # noqa: E402
from adapters.http.service import Service  # noqa: E402
from ledger.events import Deposit, ExitStarted, FeeRule, Genesis, OrderPlaced, Payment  # noqa: E402
from ledger.node import Node  # noqa: E402
from ledger.store import EventStore  # noqa: E402
from proofs.order import OrderTerms, order_tx, sign_order  # noqa: E402
from proofs.payment import decode, deposit_tx, encode, encode_unsigned, encode_utxo_pos  # noqa: E402
from specs.hooks import InvariantHook  # noqa: E402
from tests.adapters.http.pages.chromium import chromium, wait  # noqa: E402
from tests.conftest import ADDRS, ETH, KEYS, TOKEN, VC, out, signed  # noqa: E402

OUT = Path(__file__).parent
ETHER = 10**18
BRAND = {"name": "Acme Pay", "tagline": "Acme's payments wallet on the OMG Network.",
         "logo": "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 48 48'%3E%3Ccircle cx='24' "
                 "cy='24' r='22' fill='%23ffffff'/%3E%3Cpath d='M14 34 L24 12 L34 34 Z' fill='%230b7a75'/%3E%3C/svg%3E",
         "colours": {"primary": "#0b7a75", "background": "#eef6f5", "surface": "#ffffff", "text": "#0d2624"},
         "tokens": [{"symbol": "ETH", "address": "0x" + ETH.hex(), "decimals": 18},
                    {"symbol": "OMG", "address": "0x" + TOKEN.hex(), "decimals": 18}]}


def ledger(node: Node) -> None:
    """Genesis, deposits of ETH and a token, three payments over two sealed blocks, two exits
    (key 0's, shown in its wallet, and key 1's)."""
    node.submit([Genesis(VC, (FeeRule(1, ETH, 10**13), FeeRule(4, ETH, 10**13), FeeRule(4, TOKEN, 10**13)))])
    for owner, token, amount in ((0, ETH, 5 * ETHER), (1, TOKEN, 250 * ETHER), (2, ETH, 3 * ETHER)):
        node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(ADDRS[owner], token, amount)))])
    fee = 10**13
    first = signed([encode_utxo_pos(1, 0, 0)], [out(1, 2 * ETHER), out(0, 3 * ETHER - fee)], [0])
    node.submit([Payment(first)])
    node.seal()
    second = signed([encode_utxo_pos(1000, 0, 1)], [out(2, ETHER // 2), out(0, 5 * ETHER // 2 - 2 * fee)], [0])
    third = signed([encode_utxo_pos(3, 0, 0)], [out(0, ETHER), out(2, 2 * ETHER - fee)], [2])
    node.submit([Payment(second), Payment(third)])
    node.seal()
    node.submit([ExitStarted(1, encode_utxo_pos(2, 0, 0), encode(deposit_tx(ADDRS[1], TOKEN, 250 * ETHER)))])
    node.submit([ExitStarted(2, encode_utxo_pos(2000, 1, 0), encode_unsigned(decode(third)))])
    trade(node)


def trade(node: Node) -> None:
    """A DEX batch in ETH/OMG: key 2 sells 3 ETH for at least 600 OMG, key 3 sells 500 OMG for
    at least 2 ETH; they cross in a sealed block (key 2's order partly filled), then key 3 bids
    again below the price, so the book has both sides."""
    fee = 10**13
    funds = {}
    for owner, token, amount in ((2, ETH, 4 * ETHER), (3, TOKEN, 900 * ETHER)):
        funds[owner] = encode_utxo_pos(node.state.next_deposit_blknum, 0, 0)
        node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(ADDRS[owner], token, amount)))])
    expiry = node.state.next_child_blknum + 100_000

    def place(owner: int, inputs: tuple[int, ...], sell: bytes, buy: bytes, amounts: tuple[int, int], change: int) -> int:
        terms = OrderTerms(ADDRS[owner], sell, buy, *amounts, expiry, 0)
        [outcome] = node.submit([OrderPlaced(sign_order(order_tx(inputs, terms, (out(owner, change, sell),)),
                                                    (KEYS[owner],) * len(inputs), VC))])
        assert outcome.accepted, outcome
        return encode_utxo_pos(node.state.next_child_blknum, len(node.state.open_block_txs) - 1, 1)

    place(2, (funds[2],), ETH, TOKEN, (3 * ETHER, 600 * ETHER), ETHER - fee)
    change = place(3, (funds[3],), TOKEN, ETH, (500 * ETHER, 2 * ETHER), 400 * ETHER - fee)
    node.seal()
    place(3, (change,), TOKEN, ETH, (100 * ETHER, ETHER), 300 * ETHER - 2 * fee)
    node.seal()


def shoot(driver, url: str, name: str, ready) -> None:
    """The whole page, not only the window: Chrome's own capture beyond the viewport."""
    driver.get(url)
    wait(driver, ready)
    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    (OUT / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
    print(f"docs/screenshots/{name}.png")


def rendered(hash_: str):
    return lambda d: d.find_element(By.ID, "view").get_attribute("data-rendered") == hash_


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        store = EventStore(Path(home) / "ledger.db")
        node = Node(store, InvariantHook())
        ledger(node)
        service = Service(node, Path(home) / "ledger.db")
        server = Server(service, port=0).start()
        try:
            with chromium() as driver:
                driver.get(server.url + "/wallet")
                driver.execute_script("localStorage.setItem('omg-wallet-secret-key', arguments[0])", "0x" + KEYS[0].hex())
                shoot(driver, server.url + "/wallet", "wallet", lambda d: "ETH" in d.find_element(By.ID, "balances").text
                      and "pending" in d.find_element(By.ID, "exits").text)
                shoot(driver, server.url + "/explorer", "explorer", rendered(""))
                newest = server_tx(server.url, driver)
                shoot(driver, f"{server.url}/explorer#/tx/{newest}", "explorer-transaction", rendered(f"#/tx/{newest}"))
                shoot(driver, server.url + "/explorer#/exits", "explorer-exits", rendered("#/exits"))
                shoot(driver, server.url + "/explorer#/audit", "explorer-audit",
                      lambda d: rendered("#/audit")(d) and "clean" in d.find_element(By.ID, "view").text)
                (Path(home) / "brand.json").write_text(json.dumps(BRAND))
                shoot(driver, server.url + "/wallet", "wallet-branded",
                      lambda d: "OMG" in d.find_element(By.ID, "balances").text or "ETH" in d.find_element(By.ID, "balances").text)
                # the DEX under the provider's brand, which lists OMG with its decimals
                pair = f"#/pair/0x{ETH.hex()}:0x{TOKEN.hex()}"
                shoot(driver, server.url + "/explorer" + pair, "explorer-pair", rendered(pair))
                settlement = server_tx(server.url, driver, "#/dex")
                shoot(driver, f"{server.url}/explorer#/tx/{settlement}", "explorer-settlement", rendered(f"#/tx/{settlement}"))
        finally:
            server.stop()
            service.close()
            store.close()


def server_tx(url: str, driver, view: str = "") -> str:
    """The first transaction's hash a view links to: the newest on the overview, the latest
    settlement on the DEX view."""
    driver.get(url + "/explorer" + view)
    wait(driver, rendered(view))
    return driver.execute_script("return document.querySelector('#view a[href^=\"#/tx/\"]').getAttribute('href')")[5:]


if __name__ == "__main__":
    main()
