"""The wallet and the explorer in a real headless chromium against a real node: every page
and view loads with no console error, a search finds a transaction (and a block, an account,
an output), and a payment made from the wallet page with a key created in the page is
accepted by the node and shown by the explorer."""
from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By

from ledger.events import Deposit
from proofs import eip712
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from tests.adapters.http.pages.chromium import chromium, console_errors, wait
from tests.conftest import ADDRS, ETH, KEYS

A0, A1 = "0x" + ADDRS[0].hex(), "0x" + ADDRS[1].hex()
ETH_HEX = "0x" + ETH.hex()
EXPLORER_VIEWS = ("", "blocks", "txs", "exits", "validators", "commits", "dex", "fees", "audit")
ETHER = 10**18


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


def pay(api, owner: str, key: bytes, to: str, amount: int) -> str:
    """A payment signed as omg-js signs it, sealed into a block; its hash."""
    [tx] = api.ok("transaction.create", {"owner": owner, "payments": [{"amount": amount, "currency": ETH_HEX, "owner": to}],
                                         "fee": {"currency": ETH_HEX}})["transactions"]
    signature = "0x" + eip712.sign(bytes.fromhex(tx["sign_hash"][2:]), key).hex()
    txhash = api.ok("transaction.submit_typed", {**tx["typed_data"], "signatures": [signature] * len(tx["inputs"])})["txhash"]
    api.service.operator_step(api.node.seal)
    return txhash


def open_view(browser, url: str, hash_: str = "") -> None:
    browser.get(url + hash_)
    wait(browser, lambda d: d.find_element(By.ID, "view").get_attribute("data-rendered") == hash_)


def text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def test_every_page_and_view_loads_without_a_console_error(api, browser):
    pay(api, A0, KEYS[0], A1, 5)
    browser.get(api.url + "/wallet")
    wait(browser, lambda d: d.find_element(By.ID, "create").is_displayed())
    assert browser.title == "OMG Wallet"
    for view in EXPLORER_VIEWS:
        open_view(browser, api.url + "/explorer", f"#/{view}" if view else "")
        assert text(browser, "status") == "", view
        assert browser.find_elements(By.CSS_SELECTOR, "#view section"), view
    wait(browser, lambda d: "clean" in text(d, "view"))  # the audit verdict of the node's own log
    assert console_errors(browser) == []


def test_a_search_finds_a_transaction_a_block_an_account_and_an_output(api, browser):
    txhash = pay(api, A0, KEYS[0], A1, 7)
    found = api.ok("transaction.get", {"id": txhash})
    open_view(browser, api.url + "/explorer")
    for query, expect in ((txhash, [txhash, "Outputs"]), (str(found["block"]["blknum"]), [f"Block {found['block']['blknum']}"]),
                          (A1, [f"Account {A1}", "0.000000000000000007 ETH"]),
                          (str(encode_utxo_pos(found["block"]["blknum"], 0, 0)), [A1[:8], "unspent"])):
        box = browser.find_element(By.ID, "search")
        box.clear()
        box.send_keys(query)
        browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
        wait(browser, lambda d: d.find_element(By.ID, "view").get_attribute("data-rendered").endswith(query.lower()))
        assert all(e in text(browser, "view") for e in expect), (query, text(browser, "view"))
    assert console_errors(browser) == []


def test_a_payment_from_the_wallet_page_appears_in_the_explorer(api, browser):
    browser.get(api.url + "/wallet")
    wait(browser, lambda d: d.find_element(By.ID, "create").is_displayed())
    browser.find_element(By.ID, "create").click()
    address = wait(browser, lambda d: text(d, "address"))
    stored = browser.execute_script("return localStorage.getItem('omg-wallet-secret-key')")
    assert eip712.address_of(bytes.fromhex(stored[2:])) == bytes.fromhex(address[2:])  # the page's own key
    for _ in range(2):  # two inputs: the page signs each
        [outcome] = api.service.operator_step(lambda: api.node.submit([Deposit(
            api.node.state.next_deposit_blknum, encode(deposit_tx(bytes.fromhex(address[2:]), ETH, 1 * ETHER)))]))
        assert outcome.accepted, outcome
    browser.find_element(By.ID, "refresh").click()
    wait(browser, lambda d: "ETH 2" in text(d, "balances"))
    browser.find_element(By.ID, "send-to").send_keys(A1)
    browser.find_element(By.ID, "send-amount").send_keys("1.5")
    browser.find_element(By.ID, "send").click()
    status = wait(browser, lambda d: (t := text(d, "status")).startswith(("Sent:", "Cannot", "the", "submit")) and t)
    assert status.startswith("Sent: 0x"), status
    txhash = status.split()[1]
    sent = api.ok("transaction.get", {"id": txhash})
    assert len(sent["inputs"]) == 2
    assert [(o["owner"], o["amount"]) for o in sent["outputs"]] == [(A1, 15 * ETHER // 10), (address.lower(), ETHER // 2 - 1)]
    wait(browser, lambda d: "ETH 0.499999999999999999" in text(d, "balances"))
    browser.find_element(By.LINK_TEXT, f"{txhash[:8]}…{txhash[-6:]}").click()  # the history links to the explorer
    wait(browser, lambda d: d.find_element(By.ID, "view").get_attribute("data-rendered") == f"#/tx/{txhash}")
    assert txhash in text(browser, "view") and "1.5 ETH" in text(browser, "view")
    assert console_errors(browser) == []


def test_the_pages_signing_hash_is_the_ledgers(api, browser):
    """A four-input, change-returning transaction hashed by the page's omg.js and by proofs.eip712."""
    [tx] = api.ok("transaction.create", {"owner": "0x" + ADDRS[2].hex(), "fee": {"currency": ETH_HEX},
                                         "payments": [{"amount": 35, "currency": ETH_HEX, "owner": A1}]})["transactions"]
    assert len(tx["inputs"]) == 4
    browser.get(api.url + "/wallet")
    digest = browser.execute_async_script(
        "const [typed, done] = arguments;"
        "import('/web/omg.js').then((m) => done(m.toHex(m.signingHash(typed)))).catch((e) => done(String(e)));",
        tx["typed_data"])
    assert digest == tx["sign_hash"]


CHECK = """
const [cases, address, to, currency, amount, fee, done] = arguments;
import('/web/omg.js').then((m) => done(cases.map(([tx, rehash]) => {
  if (rehash) tx.sign_hash = m.toHex(m.signingHash(tx.typed_data));
  try { m.checkPayment(tx, address, to, currency, BigInt(amount), fee); return 'ok'; }
  catch (e) { return e.message; }
}))).catch((e) => done(String(e)));
"""


def test_the_wallet_signs_only_what_was_asked(api, browser):
    """The node's advice, honest and then altered: the page refuses each lie before signing."""
    [tx] = api.ok("transaction.create", {"owner": A0, "payments": [{"amount": 30, "currency": ETH_HEX, "owner": A1}],
                                         "fee": {"currency": ETH_HEX}})["transactions"]
    [fee] = api.ok("fees.all", {"tx_types": [1]})["1"]

    def altered(path: str, value, rehash: bool = True):
        copy = json.loads(json.dumps(tx))
        *parents, last = path.split(".")
        target = copy
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
        return [copy, rehash]

    thief = "0x" + ADDRS[3].hex()
    cases = [[tx, False], altered("typed_data.message.output0.amount", 31, rehash=False),
             altered("typed_data.message.output1.owner", thief), altered("typed_data.message.output0.amount", 29),
             altered("typed_data.message.output1.amount", 60), altered("typed_data.message.input0.blknum", 2),
             altered("inputs.0.owner", thief)]
    browser.get(api.url + "/wallet")
    verdicts = browser.execute_async_script(CHECK, cases, A0, A1, ETH_HEX, "30", fee)
    assert verdicts[0] == "ok"
    assert "sign hash" in verdicts[1]
    assert f"output 1 pays {thief}" in verdicts[2]
    assert "pays 29, not 30" in verdicts[3]
    assert "leaves 10 of 0x" in verdicts[4] and "the fee is 1" in verdicts[4]
    assert "input 0 is not the output shown" in verdicts[5]
    assert "not this wallet's" in verdicts[6]


BIG_JSON = """
const [text, done] = arguments;
import('/web/api.js').then((m) => done([[m.parse, m.stringify], [m.parseQuoted, m.stringifyMarked]].map(([parse, stringify]) => {
  const read = parse(text);
  return [typeof read.amount, String(read.amount), stringify(read)];
}))).catch((e) => done(String(e)));
"""


def test_amounts_past_2_to_the_53_stay_exact_with_and_without_the_newer_json(api, browser):
    """The browser's JSON source text and rawJSON, and the fallback for browsers without them."""
    text = '{"amount": 123456789012345678901, "list": [1, 98765432109876543210], "note": "x: 12345678901234567890 y"}'
    browser.get(api.url + "/wallet")
    for kind, value, written in browser.execute_async_script(BIG_JSON, text):
        assert (kind, value) == ("bigint", "123456789012345678901")
        assert json.loads(written) == json.loads(text)


def test_an_imported_wallet_shows_the_exit_data_of_its_output(api, browser):
    browser.get(api.url + "/wallet")
    wait(browser, lambda d: d.find_element(By.ID, "create").is_displayed())
    browser.find_element(By.ID, "import-key").send_keys(KEYS[0].hex())
    browser.find_element(By.CSS_SELECTOR, "#import-form button").click()
    assert wait(browser, lambda d: text(d, "address")) == A0
    deposit = encode_utxo_pos(1, 0, 0)  # key 0's 100-wei deposit, the first row
    wait(browser, lambda d: str(deposit) in text(d, "exitable"))
    browser.find_element(By.CSS_SELECTOR, "#exitable button").click()
    shown = wait(browser, lambda d: text(d, "exit-data"))
    data = api.ok("utxo.get_exit_data", {"utxo_pos": deposit})
    assert "startStandardExit" in shown
    assert json.loads(shown.splitlines()[-1]) == {"utxoPos": deposit, "rlpOutputTx": data["txbytes"],
                                                  "outputTxInclusionProof": data["proof"]}
    assert console_errors(browser) == []
