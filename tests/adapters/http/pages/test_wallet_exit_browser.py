"""The wallet page starts a standard exit itself: its eth.js (RLP, the call's ABI words, EIP-155
signing with noble) against Python's own encoders and eth-account's signing, then a real node
on a real embedded chain, served at /eth, whose follower puts the exit the page started into
the ledger, the API and the explorer."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from eth_account import Account as EthAccount
from selenium.webdriver.common.by import By
from web3 import Web3

from adapters.ethereum import chain
from adapters.ethereum.anchor import Deployment, Operator
from adapters.http.app import Server
from adapters.http.service import Service
from ledger.events import FeeRule, Genesis
from ledger.node import Node
from ledger.store import EventStore
from proofs import rlp
from proofs.payment import encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, key
from tests.adapters.http.pages.chromium import chromium, console_errors, wait
from wallet.account import Account
from wallet.client import NodeClient
from wallet.rootchain import ETH, RootChain

ETHER = 10**18
DEV_KEY = key(ALICE)  # one of the embedded chain's funded development accounts: the payer


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[Service, str, Operator, Web3]]:
    """`omg node`'s parts on the embedded chain: the contracts, the node, the API with /eth, the operator."""
    w3 = chain.embedded()
    deployment, root = Deployment.deploy(w3, authority=w3.eth.accounts[0])
    store = EventStore(tmp_path / "ledger.db")
    node = Node(store)
    node.submit([Genesis(deployment.verifying_contract, (FeeRule(1, ETH, 1),))])
    service = Service(node, tmp_path / "ledger.db", chain=w3)
    server = Server(service, port=0).start()
    yield service, server.url, Operator(node, w3, root, deployment.block), w3
    server.stop()
    service.close()
    store.close()


def text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def run(browser, script: str, *args):
    """`script` with eth.js as `m`, in the page; its value, or the error's message."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1], args = [...arguments].slice(0, -1);"
        f"import('/web/eth.js').then((m) => done(({script})(m, ...args))).catch((e) => done('error: ' + e.message));",
        *args)


RLP_CASES = [0, 1, 0x7F, 0x80, 0x400, 2**64, "", "00", "7f", "80", "ab" * 55, "cd" * 56, "ef" * 300,
             [], [0, "", []], [["01"] * 30, "aa" * 20], [[[]], ["ff" * 60] * 5]]


def to_page(case):
    """Integers travel as {"n": decimal} (JSON numbers stop being exact at 2^53), bytes as hex."""
    if isinstance(case, list):
        return [to_page(c) for c in case]
    return {"n": str(case)} if isinstance(case, int) else case


def to_python(case):
    if isinstance(case, list):
        return [to_python(c) for c in case]
    return rlp.encode_uint(case) if isinstance(case, int) else bytes.fromhex(case)


def test_the_pages_rlp_is_ethereums(served, browser):
    _, url, _, _ = served
    browser.get(url + "/wallet")
    encoded = run(browser, """(m, cases) => {
      const hex = (b) => '0x' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const item = (c) => Array.isArray(c) ? c.map(item) : typeof c === 'object' ? BigInt(c.n)
        : Uint8Array.from(c.match(/../g) || [], (x) => parseInt(x, 16));
      return cases.map((c) => hex(m.rlp(item(c))));
    }""", to_page(RLP_CASES))
    assert encoded == ["0x" + rlp.encode(to_python(c)).hex() for c in RLP_CASES]


def test_the_pages_exit_call_and_signature_are_ethereums(served, browser):
    """The call data as web3 encodes it from the ABI, and the raw transaction eth-account signs (RFC 6979 both)."""
    service, url, operator, w3 = served
    game = operator.client.root.exit_game
    proof = "0x" + bytes(range(256)).hex() + "ab" * 256  # 512 bytes, like a depth-16 proof
    txbytes = "0x" + "f8" + "11" * 70  # not a multiple of 32 bytes: the tail is padded
    expected = game.functions.startStandardExit((10**9 + 3, bytes.fromhex(txbytes[2:]), bytes.fromhex(proof[2:])))
    tx = {"nonce": 7, "gasPrice": 3 * 10**9, "gas": 500_000, "to": game.address, "value": 14 * 10**15,
          "data": expected._encode_transaction_data(), "chainId": w3.eth.chain_id}
    browser.get(url + "/wallet")
    data, signed = run(browser, """(m, pos, txbytes, proof, tx, secret) => {
      const hex = (b) => '0x' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const key = Uint8Array.from(secret.slice(2).match(/../g), (x) => parseInt(x, 16));
      return [hex(m.startStandardExitData(pos, txbytes, proof)), hex(m.signLegacy(tx, key))];
    }""", str(10**9 + 3), txbytes, proof, tx, "0x" + DEV_KEY.hex())
    assert data == tx["data"]
    assert signed == "0x" + EthAccount.sign_transaction(tx, DEV_KEY).raw_transaction.hex().removeprefix("0x")


def test_the_wallet_page_starts_an_exit_that_the_ledger_and_the_explorer_show(served, browser):
    service, url, operator, w3 = served
    assert httpx.get(url + "/web/chain.json").json() == {"embedded": True}
    browser.get(url + "/wallet")
    wait(browser, lambda d: d.find_element(By.ID, "create").is_displayed())
    browser.find_element(By.ID, "create").click()
    address = Web3.to_checksum_address(wait(browser, lambda d: text(d, "address")))
    faucet = Web3(Web3.HTTPProvider(f"{url}/eth"))  # the embedded chain's funded first account, over /eth
    faucet.eth.wait_for_transaction_receipt(faucet.eth.send_transaction(
        {"from": faucet.eth.accounts[0], "to": address, "value": ETHER}))
    # Someone pays the page's address on the child chain, in block 1000 (sealed, its root submitted).
    payer = RootChain(w3, bytes.fromhex(operator.client.root.framework.address[2:]), DEV_KEY)
    service.operator_step(lambda: payer.deposit(2 * ETHER))
    service.operator_step(operator.step)  # the follower applies the deposit
    Account(NodeClient(url), DEV_KEY).pay(bytes.fromhex(address[2:]), ETHER, ETH)
    service.operator_step(operator.step)
    paid = encode_utxo_pos(1000, 0, 0)

    browser.find_element(By.ID, "refresh").click()
    wait(browser, lambda d: str(paid) in text(d, "exitable"))
    browser.find_element(By.CSS_SELECTOR, "#exitable button").click()
    status = wait(browser, lambda d: (t := text(d, "status")).startswith(("Exit started", "exit", "Cannot", "eth_")) and t)
    assert status.startswith("Exit started: exit "), status
    exit_id = int(status.split()[3])
    game = operator.client.root.exit_game.functions
    [record] = game.standardExits([exit_id]).call()
    assert record[:2] == (True, paid) and record[3] == address and record[4:] == (ETHER, game.startStandardExitBondSize().call())
    assert 0 < w3.eth.get_balance(address) < ETHER - record[5]  # the bond and the gas, paid by the page's key
    assert "none" in text(browser, "exits")  # the node has not followed the root chain yet

    service.operator_step(operator.step)  # the follower applies the exit
    assert service.view().state.exits[exit_id].utxo_pos == paid
    browser.find_element(By.ID, "refresh").click()
    wait(browser, lambda d: str(exit_id) in text(d, "exits"))
    assert str(paid) not in text(browser, "exitable")  # an exiting output is not exitable again
    browser.find_element(By.LINK_TEXT, str(exit_id)).click()  # to the explorer's exits
    wait(browser, lambda d: d.find_element(By.ID, "view").get_attribute("data-rendered") == "#/exits")
    row = next(r.text for r in browser.find_elements(By.CSS_SELECTOR, "#view tbody tr") if r.text.startswith(str(exit_id)))
    assert "standard" in row and str(paid) in row and "1 ETH" in row, row
    assert console_errors(browser) == []
