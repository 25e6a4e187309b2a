"""Deposit, exit and the watcher's events on the embedded root chain, with the child chain
read over a live node's HTTP API: the wallet signs its own root-chain transactions."""
from __future__ import annotations

import pytest

from adapters.ethereum import chain
from adapters.ethereum.contracts import contract_abi, deploy
from adapters.ethereum.watcher import Report
from proofs.payment import encode_utxo_pos
from tests.wallet.nodes import ALICE, ALICE_KEY, AMOUNT, PERIOD, follow
from tests.wallet.nodes import root, world  # noqa: F401 (fixtures)
from wallet.abi import ABI
from wallet.account import Account
from wallet.client import NodeClient
from wallet.errors import WalletError
from wallet.rootchain import ETH, RootChain
from wallet.watch import ChainAlert, ChallengeDue, ExitProcessable, Watcher


@pytest.mark.parametrize("name", sorted(ABI))
def test_the_wallet_abi_is_the_contracts(name):
    compiled = contract_abi(name)
    assert ABI[name] and all(entry in compiled for entry in ABI[name])


def test_deposit_exit_and_process(world, root):
    w3, deployed = root
    node = NodeClient(world.url)
    mine = RootChain(w3, node.status().plasma_framework, ALICE_KEY)
    blknum = mine.deposit(AMOUNT)
    follow(world, blknum)
    assert Account(node, ALICE_KEY).balance() == {ETH: AMOUNT}
    exit_id = mine.start_exit(node.exit_data(encode_utxo_pos(blknum, 0, 0)))
    assert mine.exit_status(exit_id)["exitable"] and mine.exit_status(exit_id)["amount"] == AMOUNT
    watcher = Watcher(node, mine, exit_ids={exit_id})
    assert watcher.poll() == []  # the exit period has not passed
    queued = mine.queued(ETH)
    assert [q.exit_id for q in queued] == [exit_id]
    chain.travel(w3, PERIOD + 1)
    chain.mine(w3)  # a block after the exit period: processExits can run
    assert watcher.poll() == [ExitProcessable(exit_id, ETH, queued[0].exitable_at)]
    assert watcher.poll() == []  # reported once
    vault_before = w3.eth.get_balance(deployed.eth_vault.address)
    mine.process_exits(ETH)
    assert w3.eth.get_balance(deployed.eth_vault.address) == vault_before - AMOUNT
    assert not mine.exit_status(exit_id)["exitable"] and mine.queued(ETH) == []
    with pytest.raises(WalletError) as info:
        mine.process_exits(ETH)  # the queue is empty
    assert info.value.code == "transaction_reverted"


def test_the_watcher_reports_the_nodes_byzantine_events_once(world):
    node = NodeClient(world.url)
    watcher = Watcher(node)
    assert watcher.poll() == []
    world.service.reports = [Report("invalid_exit", "exit 7 of spent output 1000000000", 7),
                             Report("block_withholding", "gone", blknum=2000)]
    assert watcher.poll() == [ChallengeDue("invalid_exit", {"detail": "exit 7 of spent output 1000000000"}),
                              ChainAlert("block_withholding", {"detail": "gone", "blknum": 2000})]
    assert watcher.poll() == []


def test_an_erc20_deposit_approves_the_vault_first(root):
    w3, deployed = root
    token = deploy(w3, "TestERC20", "Test token", "TST", sender=deployed.authority)
    owner = w3.to_checksum_address(ALICE)
    token.functions.mint(owner, 500).transact({"from": deployed.authority})
    mine = RootChain(w3, bytes.fromhex(deployed.framework.address[2:]), ALICE_KEY)
    blknum = mine.deposit(200, bytes.fromhex(token.address[2:]))
    assert deployed.framework.functions.isDeposit(blknum).call()
    assert token.functions.balanceOf(deployed.erc20_vault.address).call() == 200
    assert token.functions.balanceOf(owner).call() == 300
    assert mine.queued(bytes.fromhex(token.address[2:])) == []  # no exit queue for this token yet
