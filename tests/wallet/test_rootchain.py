"""Deposit, exit and the watcher's events on the embedded root chain, with the child chain
read over a live node's HTTP API: the wallet signs its own root-chain transactions."""
from __future__ import annotations

import pytest
from web3.logs import DISCARD

from adapters.ethereum import chain
from adapters.ethereum.contracts import contract_abi, deploy
from adapters.ethereum.follower import Follower
from adapters.ethereum.watcher import Report
from proofs.payment import encode_utxo_pos, unsigned_bytes
from tests.wallet.nodes import ALICE, ALICE_KEY, AMOUNT, BOB, PERIOD, follow
from tests.wallet.nodes import root, world  # noqa: F401 (fixtures)
from wallet.abi import ABI
from wallet.account import Account
from wallet.client import NodeClient
from wallet.errors import WalletError
from wallet.rootchain import ETH, RootChain, in_flight_data
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


def test_an_in_flight_exit_of_a_withheld_payment_and_a_piggyback(world, root):
    """The node's in_flight_exit.get_data starts the exit; the wallet then piggybacks its change."""
    w3, deployed = root
    node = NodeClient(world.url)
    mine = RootChain(w3, node.status().plasma_framework, ALICE_KEY)
    blknum = mine.deposit(AMOUNT)
    # the node's follower: every deposit of the module's chain so far (other tests' too), in order
    world.service.operator_step(Follower(w3, deployed, world.node, confirmations=0).poll)
    alice = Account(node, ALICE_KEY)
    signed = alice.sign(alice.plan(BOB, AMOUNT // 4, ETH))  # never submitted: the operator withholds it
    data = in_flight_data(node, signed)
    assert data.in_flight_tx == unsigned_bytes(signed) and data.input_utxos_pos == (encode_utxo_pos(blknum, 0, 0),)
    exit_id = mine.start_in_flight_exit(data)
    game = deployed.exit_game
    [record] = game.functions.inFlightExits([exit_id]).call()
    assert record[1] > 0 and record[6] == mine.address  # started, its bond mine
    receipt = mine.piggyback_output(data.in_flight_tx, 1)  # output 1: alice's change
    [piggybacked] = game.events.InFlightExitOutputPiggybacked().process_receipt(receipt, errors=DISCARD)
    assert piggybacked.args.exitTarget == mine.address and piggybacked.args.outputIndex == 1
    with pytest.raises(WalletError) as info:
        mine.piggyback_output(data.in_flight_tx, 1)  # the exit game refuses a second piggyback
    assert info.value.code == "transaction_reverted"
