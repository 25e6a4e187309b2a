"""The CLI's writes (deposit, send, seal) and its read (balance) go through a running
`omg node --http` serving the home (it keeps its URL in HOME/node.url while it runs), with the
wallet SDK, and work on the home directly when no node serves it, or when node.url is stale
(a dead node's, or another chain's)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from web3 import Web3

from adapters.cli import main
from adapters.node_client import NODE_URL_FILE
from tests.adapters.http.test_cli_node import free_port
from tests.conftest import ADDRS, VC
from wallet.client import NodeClient

ONE_ETH = 10**18


def omg(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def served_home(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    with serving(tmp_path / "home") as url:
        yield tmp_path / "home", url


@contextmanager
def serving(home: Path) -> Iterator[str]:
    """`omg node --http` on the embedded chain, with a 1-wei ETH fee, until the block ends."""
    port = free_port()
    command = [sys.executable, "-c", "from adapters.cli import main; main()", "node", "--home", str(home),
               "--interval", "0.2", "--fee", "eth:1", "--http", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        until(lambda: process.poll() is not None or (home / NODE_URL_FILE).exists(), process)
        assert (home / NODE_URL_FILE).read_text().strip() == url
        yield url
    finally:
        process.send_signal(signal.SIGTERM)  # SIGINT is ignored if pytest runs as a background job
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert not (home / NODE_URL_FILE).exists()  # removed on exit


def until(ready, process: subprocess.Popen | None = None) -> None:
    """Poll until `ready()`; the test's own timeout bounds the wait, and a node that exits ends it."""
    while not ready():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the node exited: {process.communicate()}")
        threading.Event().wait(0.1)


def deposit(url: str, home: Path, alice: str) -> None:
    """`omg deposit alice 1000000` through the vault at /eth, once a faucet paid alice's gas."""
    eth = Web3(Web3.HTTPProvider(f"{url}/eth"))  # a faucet: the embedded chain's funded first account
    eth.eth.wait_for_transaction_receipt(eth.eth.send_transaction(
        {"from": eth.eth.accounts[0], "to": Web3.to_checksum_address(alice), "value": ONE_ETH}))
    code, out = omg("deposit", "alice", str(10**6), "--home", str(home))
    assert code == 0 and f"in deposit block 1 through {url}/eth" in out, out
    until(lambda: balance(url, alice) == 10**6)  # the node's loop follows the vault's deposit


def balance(url: str, owner: str) -> int:
    data = httpx.post(f"{url}/account.get_balance", json={"address": owner}).json()["data"]
    return sum(b["amount"] for b in data)


def test_deposit_send_and_seal_go_through_the_running_node(served_home) -> None:
    home, url = served_home
    for name in ("alice", "bob"):
        assert omg("keys", "new", name, "--home", str(home))[0] == 0
    alice, bob = (line.split()[1] for line in omg("keys", "list", "--home", str(home))[1].splitlines())
    deposit(url, home, alice)

    code, out = omg("send", "alice", "bob", "1000", "--home", str(home))
    assert code == 0 and f"through {url}" in out, out
    assert balance(url, bob) == 1000 and balance(url, alice) == 10**6 - 1000 - 1

    code, out = omg("seal", "--allow-empty", "--home", str(home))
    assert code == 0 and "sealed block" in out and f"through {url}" in out, out
    code, out = omg("send", "bob", "alice", "5000", "--home", str(home))
    assert code == 1 and "rejected payment: insufficient_funds" in out, out  # the SDK's plan, from the node's utxos


def test_balance_through_the_running_node_matches_the_direct_read(tmp_path: Path, monkeypatch) -> None:
    """While the node serves, `omg balance` asks its account.get_balance; once it stops (node.url
    gone) the same command reads the home directly and prints the same lines."""
    asked: list[bytes] = []
    sdk_balance = NodeClient.balance
    monkeypatch.setattr(NodeClient, "balance", lambda client, address: asked.append(address) or sdk_balance(client, address))
    home = tmp_path / "home"
    with serving(home) as url:
        for name in ("alice", "bob", "carol"):
            assert omg("keys", "new", name, "--home", str(home))[0] == 0
        keys = dict(line.split() for line in omg("keys", "list", "--home", str(home))[1].splitlines())
        deposit(url, home, keys["alice"])
        assert omg("send", "alice", "bob", "1000", "--home", str(home))[0] == 0
        served = [omg("balance", "--home", str(home)), omg("balance", "bob", "--home", str(home))]
    assert [a.hex() for a in asked] == [keys[n][2:] for n in ("alice", "bob", "carol", "bob")]
    assert served[0] == (0, f"alice {keys['alice']}: {10**6 - 1000 - 1} eth\nbob {keys['bob']}: 1000 eth\n"
                            f"carol {keys['carol']}: nothing\n")
    direct = [omg("balance", "--home", str(home)), omg("balance", "bob", "--home", str(home))]
    assert direct == served and len(asked) == 4  # the home directly: no node asked


def test_without_a_node_or_with_a_stale_file_the_cli_uses_the_home(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert omg("init", "--home", home, "--fee", "eth:1")[0] == 0
    # a dead node's file: nobody listens at its port
    (tmp_path / NODE_URL_FILE).write_text(f"http://127.0.0.1:{free_port()}\n")
    code, out = omg("deposit", "0x" + ADDRS[0].hex(), "100", "--home", home)
    assert code == 0 and "stale" in out and "accepted deposit as event" in out, out
    code, out = omg("seal", "--allow-empty", "--home", home)
    assert code == 0 and "accepted block_sealed" in out, out
    (tmp_path / NODE_URL_FILE).unlink()
    code, out = omg("deposit", "0x" + ADDRS[1].hex(), "100", "--home", home)
    assert code == 0 and "stale" not in out and "accepted deposit" in out, out


def test_a_node_of_another_chain_is_stale(api, tmp_path: Path) -> None:
    """A live URL that answers for another PlasmaFramework is not this home's node."""
    home = str(tmp_path / "local")
    assert omg("init", "--home", home)[0] == 0
    (tmp_path / "local" / NODE_URL_FILE).write_text(api.url + "\n")
    code, out = omg("deposit", "0x" + ADDRS[0].hex(), "100", "--home", home)
    assert code == 0 and "another root chain" in out and "accepted deposit as event" in out, out


def test_block_seal_route(api) -> None:
    refused = api.error("block.seal", {})
    assert refused["code"] == "seal:empty_block"
    sealed = api.ok("block.seal", {"allow_empty": True})
    assert sealed["tx_count"] == 0 and api.ok("block.get", {"blknum": sealed["blknum"]})["hash"] == sealed["hash"]


def test_a_deposit_through_a_node_on_another_chain_is_refused(api, tmp_path: Path) -> None:
    """A node that follows an --eth-rpc chain serves no /eth: deposit on that chain instead."""
    home = tmp_path / "served"
    home.mkdir()
    (home / "rootchain.json").write_text(json.dumps({"framework": "0x" + VC.hex()}))  # the node's framework
    (home / NODE_URL_FILE).write_text(api.url + "\n")
    assert omg("keys", "new", "alice", "--home", str(home))[0] == 0
    before = api.node.store.count
    code, out = omg("deposit", "alice", "100", "--home", str(home))
    assert code == 1 and "rejected deposit: not_embedded" in out and "stale" not in out, out
    assert api.node.store.count == before
