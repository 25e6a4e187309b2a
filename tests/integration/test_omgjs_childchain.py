"""omg-js 4.1.2-1.0.4, unchanged, drives `omg node --http` anchored to anvil: its ChildChain
(watcherUrl = the node) reads status, fees, balances and UTXOs, creates a transaction with
`createTransaction`, signs it with `signTypedData` and submits it with `submitTyped`, builds,
signs and submits another with `sendTransaction` (RLP bytes through `submitTransaction`), reads
both back with `getTransaction` and reads exit data; its RootChain deposits through the vault,
starts a standard exit with the exit data the node served, reads the exit queue and processes
exits. Every request and every answer is omg-js's own (`make omgjs`); a shape it does not
expect fails here as it would for a wallet.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3

from adapters.ethereum.anchor import Deployment
from adapters.ethereum.contracts import STANDARD_EXIT_BOND_WEI_DEFAULT
from adapters.params import DEPLOYMENT_FILE
from proofs import eip712
from proofs.payment import decode, encode_unsigned
from tests.adapters.ethereum.rootchain import ALICE, BOB, CAROL, key
from tests.integration.conftest import ROOT, free_port

ONE_ETH = 10**18
ETH_ADDRESS = "0x" + "00" * 20
FEE_WEI = 1
SCRIPT = Path(__file__).parent / "omgjs_childchain.js"
OMGJS_MODULES = ROOT / ".tools/omgjs/node_modules"
CALL_TIMEOUT_S = 120
WAIT_S = 120.0  # an upper bound for the node to catch up; never asserted on
EXIT_WAIT_S = 3 * 7 * 24 * 3600  # past a non-deposit output's exit period (two weeks at most)


def address(account: int) -> str:
    return "0x" + eip712.address_of(key(account)).hex()


class OmgJs:
    """omg-js's clients against a running node and its root chain, one node process per call."""

    def __init__(self, watcher: str, rpc: str, plasma: str) -> None:
        node = shutil.which("node")
        if node is None or not (OMGJS_MODULES / "@omisego/omg-js-childchain").is_dir():
            pytest.fail(f"no node or no omg-js ChildChain under {OMGJS_MODULES}: run `make omgjs`", pytrace=False)
        self.node, self.base = node, {"watcher": watcher, "rpc": rpc, "plasma": plasma}

    def run(self, client: str, method: str, args: Any, account: int | None = None) -> Any:
        request = self.base | {"client": client, "method": method, "args": args}
        if account is not None:
            request |= {"from": address(account), "privateKey": "0x" + key(account).hex()}
        done = subprocess.run([self.node, str(SCRIPT), json.dumps(request)], capture_output=True, text=True,
                              timeout=CALL_TIMEOUT_S, env={**os.environ, "NODE_PATH": str(OMGJS_MODULES)})
        assert done.returncode == 0, f"omg-js {method} failed: {done.stderr[-2000:]}"
        return json.loads(done.stdout)

    def child(self, method: str, *args: Any) -> Any:
        return self.run("childchain", method, list(args))

    def root(self, method: str, args: Any, account: int | None = None) -> Any:
        return self.run("rootchain", method, args, account)


@pytest.fixture
def omg_node(anvil: Web3, tmp_path: Path) -> Iterator[str]:
    """`omg node --eth-rpc ANVIL --http` in its own process; yields its URL once it answers."""
    yield from serve_node(tmp_path, ["--eth-rpc", anvil.provider.endpoint_uri])


def serve_node(tmp_path: Path, options: list[str]) -> Iterator[str]:
    port, log_path = free_port(), tmp_path / "node.log"
    command = [sys.executable, "-m", "adapters.cli", "node", "--home", str(tmp_path / "home"), *options,
               "--confirmations", "0", "--interval", "0.2", "--fee", f"eth:{FEE_WEI}", "--http", f"127.0.0.1:{port}"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _answers(url), f"omg node on {url}", log_path)
        assert process.poll() is None, log_path.read_text()
        yield url
    finally:
        process.send_signal(signal.SIGTERM)  # SIGINT is ignored if pytest runs as a background job
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.post(f"{url}/status.get", json={}, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(ready: Callable[[], Any], what: str, log_path: Path | None = None) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not (answer := ready()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT_S} s for {what}" + (f": {log_path.read_text()[-3000:]}" if log_path else ""))
        time.sleep(0.2)
    return answer


def travel(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def test_omgjs_childchain_and_rootchain_drive_omg_node_on_anvil(anvil: Web3, omg_node: str, tmp_path: Path) -> None:
    for account in (ALICE, BOB, CAROL):
        anvil.provider.make_request("anvil_setBalance", [address(account), hex(1000 * ONE_ETH)])
    plasma = Deployment.load(tmp_path / "home" / DEPLOYMENT_FILE).framework
    js = OmgJs(omg_node, anvil.provider.endpoint_uri, plasma)
    alice, bob, carol = address(ALICE), address(BOB), address(CAROL)

    status = js.child("status")
    assert status["contract_addr"]["plasma_framework"].lower() == plasma.lower()
    assert status["byzantine_events"] == []
    [fee] = js.child("getFees")["1"]
    assert (fee["currency"], int(fee["amount"])) == (ETH_ADDRESS, FEE_WEI)

    # Alice deposits 10 ETH through omg-js's RootChain; the node follows it onto the child chain.
    js.root("deposit", {"amount": str(10 * ONE_ETH), "currency": ETH_ADDRESS}, ALICE)
    [balance] = wait_for(lambda: js.child("getBalance", alice), "Alice's deposit on the child chain")
    assert (balance["currency"], int(balance["amount"])) == (ETH_ADDRESS, 10 * ONE_ETH)
    [deposit] = js.child("getUtxos", alice)
    assert (deposit["blknum"], int(deposit["amount"])) == (1, 10 * ONE_ETH)

    # Alice pays Bob 3 ETH: createTransaction, signTypedData, submitTyped.
    typed = js.run("flow", "transferTyped", {"owner": alice, "fee": {"currency": ETH_ADDRESS},
                                             "payments": [{"owner": bob, "currency": ETH_ADDRESS, "amount": str(3 * ONE_ETH)}],
                                             "privateKey": "0x" + key(ALICE).hex()})
    got = wait_for(lambda: _in_block(js, typed["txhash"]), "Alice's payment in a block")
    assert [(o["owner"], int(o["amount"])) for o in got["outputs"]] == [(bob, 3 * ONE_ETH), (alice, 7 * ONE_ETH - FEE_WEI)]
    assert [i["utxo_pos"] for i in got["inputs"]] == [deposit["utxo_pos"]]

    # Bob pays Carol 1 ETH with omg-js's own typed data and RLP: sendTransaction -> submitTransaction.
    sent = js.run("flow", "sendTransaction", {
        "fromAddress": bob, "fromPrivateKeys": ["0x" + key(BOB).hex()], "fee": {"amount": FEE_WEI, "currency": ETH_ADDRESS},
        "payments": [{"owner": carol, "currency": ETH_ADDRESS, "amount": str(ONE_ETH)}]})
    got = wait_for(lambda: _in_block(js, sent["txhash"]), "Bob's payment in a block")
    carol_output = next(o for o in got["outputs"] if o["owner"] == carol)  # omg-js puts the change first
    assert sorted((o["owner"], int(o["amount"])) for o in got["outputs"]) == sorted([(carol, ONE_ETH), (bob, 2 * ONE_ETH - FEE_WEI)])
    blknum = got["block"]["blknum"]
    wait_for(lambda: js.child("status")["last_mined_child_block_number"] >= blknum, f"block {blknum} on the root chain")

    # Carol exits her output with the exit data the node serves, and processes it after the period.
    [utxo] = js.child("getUtxos", carol)
    assert utxo["utxo_pos"] == carol_output["utxo_pos"] and utxo["blknum"] == blknum
    exit_data = js.child("getExitData", {"blknum": utxo["blknum"], "txindex": utxo["txindex"], "oindex": utxo["oindex"]})
    assert exit_data["utxo_pos"] == utxo["utxo_pos"] and exit_data["txbytes"] == got["txbytes"][:2] + _unsigned(got)
    js.root("startStandardExit", {"utxoPos": exit_data["utxo_pos"], "outputTx": exit_data["txbytes"],
                                  "inclusionProof": exit_data["proof"]}, CAROL)
    [queued] = js.root("getExitQueue", [ETH_ADDRESS])
    exit_id = int(js.root("getStandardExitId", {"txBytes": exit_data["txbytes"], "utxoPos": exit_data["utxo_pos"],
                                                "isDeposit": False}))
    assert int(queued["exitId"]) == exit_id
    travel(anvil, EXIT_WAIT_S)
    carol_before = anvil.eth.get_balance(Web3.to_checksum_address(carol))
    js.root("processExits", {"token": ETH_ADDRESS, "exitId": 0, "maxExitsToProcess": 10}, ALICE)
    assert anvil.eth.get_balance(Web3.to_checksum_address(carol)) == carol_before + ONE_ETH + STANDARD_EXIT_BOND_WEI_DEFAULT
    assert js.root("getExitQueue", [ETH_ADDRESS]) == []
    assert wait_for(lambda: js.child("status")["byzantine_events"] == [] and not js.child("getUtxos", carol)
                    or None, "the node to follow Carol's exit")


def _in_block(js: OmgJs, txhash: str) -> dict | None:
    """The transaction as getTransaction reads it, once it is in a sealed block."""
    found = js.child("getTransaction", txhash)
    return found if found["block"] is not None else None


def _unsigned(tx: dict) -> str:
    return encode_unsigned(decode(bytes.fromhex(tx["txbytes"][2:]))).hex()


def test_omgjs_against_omg_node_alone_on_its_embedded_chain(tmp_path: Path) -> None:
    """No other process: omg-js's RootChain talks to the node's /eth, its ChildChain to the node."""
    node = serve_node(tmp_path, [])
    url = next(node)
    try:
        plasma = Deployment.load(tmp_path / "home" / DEPLOYMENT_FILE).framework
        js = OmgJs(url, f"{url}/eth", plasma)  # eth-tester's account i has key i + 1: funded
        alice, bob = address(ALICE), address(BOB)
        js.root("deposit", {"amount": str(2 * ONE_ETH), "currency": ETH_ADDRESS}, ALICE)
        [balance] = wait_for(lambda: js.child("getBalance", alice), "Alice's deposit on the child chain")
        assert int(balance["amount"]) == 2 * ONE_ETH
        typed = js.run("flow", "transferTyped", {"owner": alice, "fee": {"currency": ETH_ADDRESS},
                                                 "payments": [{"owner": bob, "currency": ETH_ADDRESS, "amount": "5"}],
                                                 "privateKey": "0x" + key(ALICE).hex()})
        got = wait_for(lambda: _in_block(js, typed["txhash"]), "Alice's payment in a block")
        wait_for(lambda: js.child("status")["last_mined_child_block_number"] >= got["block"]["blknum"], "the block's root")
        [utxo] = js.child("getUtxos", bob)
        exit_data = js.child("getExitData", {"blknum": utxo["blknum"], "txindex": utxo["txindex"], "oindex": utxo["oindex"]})
        js.root("startStandardExit", {"utxoPos": exit_data["utxo_pos"], "outputTx": exit_data["txbytes"],
                                      "inclusionProof": exit_data["proof"]}, BOB)
        [queued] = js.root("getExitQueue", [ETH_ADDRESS])
        assert int(queued["exitId"]) == int(js.root("getStandardExitId", {
            "txBytes": exit_data["txbytes"], "utxoPos": exit_data["utxo_pos"], "isDeposit": False}))
    finally:
        node.close()
