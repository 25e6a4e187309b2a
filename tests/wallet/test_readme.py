"""The README's Wallet SDK examples, run as written: the payment and merge against a live
node, then deposit, exit and watch on the embedded root chain, then an in-flight exit and
its piggyback with the node's operator following the chain, then a trade and a cancel."""
from __future__ import annotations

import re
from pathlib import Path

from adapters.ethereum import chain
from tests.conftest import TOKEN
from tests.wallet.nodes import ALICE, AMOUNT, MNEMONIC, PERIOD, follow
from tests.wallet.nodes import api, followed, market, root, world  # noqa: F401 (fixtures)
from wallet.account import Account
from wallet.client import NodeClient
from wallet.hd import HDWallet

README = Path(__file__).parents[2] / "README.md"
ETH = bytes(20)


def examples() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Wallet SDK"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_pays_and_merges(api, tmp_path):
    namespace = {"NODE_URL": api.url, "MNEMONIC": MNEMONIC, "KEYSTORE_DIR": tmp_path / "keys", "PASSWORD": "pw"}
    exec(examples()[0], namespace)
    node = NodeClient(api.url)
    assert node.balance(HDWallet(MNEMONIC).address(1)) == {ETH: 5}
    assert len(namespace["merged"]) == 1 and (tmp_path / "keys" / "alice.json").exists()
    assert node.balance(ALICE)[ETH] == 115 - 5 - 1


def test_the_readme_deposits_exits_and_processes(world, root):
    w3, deployed = root
    node = NodeClient(world.url)
    hd = HDWallet(MNEMONIC)
    namespace = {"w3": w3, "node": node, "hd": hd, "alice": Account(node, hd.private_key(0))}
    _, deposit, exit_, watch, _, _, _, _ = examples()
    exec(deposit, namespace)
    follow(world, namespace["blknum"])  # the node's follower, in a real deployment
    exec(exit_, namespace)
    exec(watch, namespace)
    root_chain, exit_id = namespace["root"], namespace["exit_id"]
    assert root_chain.exit_status(exit_id)["exitable"]  # its period has not passed
    chain.travel(w3, PERIOD + 1)
    chain.mine(w3)
    vault = w3.eth.get_balance(deployed.eth_vault.address)
    exec(watch, namespace)
    assert not root_chain.exit_status(exit_id)["exitable"]
    assert w3.eth.get_balance(deployed.eth_vault.address) == vault - AMOUNT


def test_the_readme_exits_in_flight_and_piggybacks(followed):
    node = NodeClient(followed.api.url)
    hd = HDWallet(MNEMONIC)
    namespace = {"w3": followed.w3, "node": node, "hd": hd, "alice": Account(node, hd.private_key(0)), "ETH": ETH}
    _, deposit, _, _, start, piggyback, _, _ = examples()
    exec(deposit, namespace)
    followed.step()  # the node follows the deposit
    exec(start, namespace)
    bob_root, exit_id = namespace["bob_root"], namespace["in_flight_id"]
    assert bob_root.in_flight_status(exit_id)["piggybacked_outputs"] == []
    followed.step()  # the node follows the exit
    exec(piggyback, namespace)
    assert bob_root.in_flight_status(exit_id) == {"canonical": True, "piggybacked_inputs": [],
                                                  "piggybacked_outputs": [0], "oldest_competitor": 0}
    followed.step()
    [listed] = [x for x in followed.api.ok("exit.all") if x["exit_id"] == exit_id]
    assert listed["piggybacked_outputs"] == [0]


def test_the_readme_trades_and_cancels(market):
    node = NodeClient(market.url)
    namespace = {"node": node, "hd": HDWallet(MNEMONIC), "Account": Account, "ETH": ETH, "TOKEN": TOKEN}
    place, settle = examples()[6:]
    exec(place, namespace)
    assert [(x.price, x.amount) for x in namespace["depth"].asks] == [(2, 50)]
    market.ok("block.seal")  # the operator's loop, in a real deployment
    exec(settle, namespace)
    assert namespace["watcher"].poll() == []  # each fill was reported once
    assert node.balance(ALICE) == {ETH: 105 - 50 - 1 + 19, TOKEN: 60}  # 30 sold at 2, the rest back less 1
