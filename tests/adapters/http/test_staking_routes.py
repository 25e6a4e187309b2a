"""The ledger's own routes on a staked ledger: validators, a signed fee vote through the
group commit, the epoch, and a block's commit."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.events import BlockSealed, Deposit, FeeRule, Genesis, StakingOpened
from ledger.fee_votes import vote_digest
from ledger.node import Node
from ledger.plasma import open_block_root
from proofs import eip712
from proofs.payment import deposit_tx, encode
from tests.conftest import ADDRS, ETH, KEYS, VC
from tests.ledger.test_staking import EPOCH_BLOCKS, JAIL_BLOCKS, OMG, UNBONDING_BLOCKS, WINDOW, bond_event, commit

from tests.adapters.http.conftest import Api, serve


def stake(node: Node) -> None:
    """As tests/ledger/test_staking.py's `staked`: validators 0, 1, 2 bond 100, 200, 300 OMG."""
    node.submit([Genesis(VC, ())])
    for who in range(4):
        node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(ADDRS[who], OMG, 1000)))])
    node.submit([StakingOpened(OMG, 3, UNBONDING_BLOCKS, 500, 1000, EPOCH_BLOCKS, WINDOW, 5000, 100, JAIL_BLOCKS)])
    for who, amount in ((0, 100), (1, 200), (2, 300)):
        [outcome] = node.submit([bond_event(node.state, who, amount)])
        assert outcome.accepted, outcome


@pytest.fixture
def staked(tmp_path) -> Iterator[Api]:
    yield from serve(tmp_path, stake)


def hx(raw: bytes) -> str:
    return "0x" + raw.hex()


def test_validators(staked):
    listed = staked.ok("validator.all")
    assert [(v["address"], v["bonded"], v["active"]) for v in listed] == \
        sorted((hx(ADDRS[w]), b, True) for w, b in ((0, 100), (1, 200), (2, 300)))
    assert staked.ok("validator.get", {"address": hx(ADDRS[2])})["bonded"] == 300


def test_a_signed_fee_vote_goes_through_the_group_commit(staked):
    nonce = staked.node.state.staking.validators[ADDRS[1]].nonce
    digest = vote_digest(staked.node.state.params.domain_separator, ADDRS[1], (FeeRule(1, ETH, 4),), nonce)
    body = {"validator": hx(ADDRS[1]), "schedule": [{"tx_type": 1, "currency": hx(ETH), "amount": 4}],
            "signature": hx(eip712.sign(digest, KEYS[1]))}
    accepted = staked.ok("fee_vote.submit", body)
    assert accepted["index"] == staked.node.store.count - 1
    assert staked.ok("fee_epoch.get")["votes"] == [{"validator": hx(ADDRS[1]),
                                                    "schedule": [{"tx_type": 1, "currency": hx(ETH), "amount": 4}]}]
    assert staked.error("fee_vote.submit", body)["code"] == "fee_vote:unauthorized_vote"  # the nonce moved on


def test_a_commit_shows_its_signers(staked):
    node = staked.node
    leaves = node.state.open_block_txs
    staked.service.operator_step(lambda: node.submit([BlockSealed(node.state.next_child_blknum, open_block_root(leaves),
                                                                  len(leaves))]))
    [outcome] = staked.service.operator_step(lambda: node.submit([commit(node.state, 1000, [1, 2])]))
    assert outcome.accepted, outcome
    assert staked.ok("commit.get", {"blknum": 1000})["signers_bitmap"] == hx(node.state.staking.commits[1000])
