"""Deposit griefing (issue 11, attack 7): deposits fill a child block interval's 999 deposit
blocks and the framework refuses every deposit until the next child block. The operator's
defence: once `empty_block_at` slots are used, it seals and submits a block even with no
transaction in it. (tests/adapters/ethereum/test_eth_framework.py shows the limit itself.)"""
from __future__ import annotations

from pathlib import Path

from adapters.ethereum import chain
from adapters.ethereum.anchor import Deployment, Operator
from ledger.events import Genesis
from ledger.node import Node
from ledger.state import CHILD_BLOCK_INTERVAL
from ledger.store import EventStore

ETH = bytes(20)
SLOTS = 3  # a small interval's worth, so the test need not send hundreds of deposits


def test_the_operator_submits_an_empty_block_once_deposits_fill_the_interval(tmp_path: Path):
    w3 = chain.embedded()
    deployment, root = Deployment.deploy(w3, min_exit_period_s=1000)
    node = Node(EventStore(tmp_path / "ledger.db"))
    node.submit([Genesis(deployment.verifying_contract)])
    operator = Operator(node, w3, root, deployment.block, empty_block_at=SLOTS)
    griefer = w3.eth.accounts[1]
    for _ in range(SLOTS - 1):
        operator.client.deposit(griefer, ETH, 1)
    assert operator.step().sealed == []  # below the mark: no block for nothing
    operator.client.deposit(griefer, ETH, 1)
    step = operator.step()
    assert step.submitted == [CHILD_BLOCK_INTERVAL] and node.state.blocks[CHILD_BLOCK_INTERVAL].tx_count == 0
    assert root.framework.functions.nextDeposit().call() == 1  # every slot free again
    assert operator.client.deposit(w3.eth.accounts[2], ETH, 5) == CHILD_BLOCK_INTERVAL + 1
    operator.step()
    assert node.state.deposited[ETH] == SLOTS + 5  # the ledger followed it all
    assert operator.step().sealed == []  # and does not seal empty blocks again

