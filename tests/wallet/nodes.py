"""A live `omg node --http` server (tests/adapters/http's) whose genesis takes a fee of 1 wei
in ETH or 2 in TOKEN, and an HD wallet's first key holding five small ETH outputs, a large
one and some TOKEN (`api`); and the embedded root chain with the plasma contracts, the HD
key funded there, and a node whose verifying contract is that framework (`root`, `world`);
`followed`: the same on a chain of its own, with the operator that follows it, seals and
submits blocks (in-flight exits need the node to see the root chain's exits).

A module, not a conftest.py: tests/adapters/http imports its conftest by the bare name
`conftest`, which a second conftest.py loaded beside it in one run would shadow. Test
modules import the fixtures they use."""
from __future__ import annotations

import pytest

import attrs

from adapters.ethereum import chain
from adapters.ethereum.anchor import Operator
from adapters.ethereum.contracts import deploy_plasma
from ledger.events import Deposit, FeeRule, Genesis
from proofs.payment import deposit_tx, encode
from tests.adapters.http.conftest import serve
from tests.conftest import ETH, TOKEN, VC
from wallet.hd import HDWallet

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
ALICE_KEY = HDWallet(MNEMONIC).private_key(0)
ALICE = HDWallet(MNEMONIC).address(0)
BOB = HDWallet(MNEMONIC).address(1)
BOB_KEY = HDWallet(MNEMONIC).private_key(1)
CAROL_KEY = HDWallet(MNEMONIC).private_key(2)
HOLDINGS = [(ETH, 3)] * 5 + [(ETH, 100), (TOKEN, 50)]
PERIOD = 3600  # the root chain's minimum exit period, seconds
AMOUNT = 10**17  # wei deposited on the root chain


def fund(node) -> None:
    node.submit([Genesis(VC, (FeeRule(1, ETH, 1), FeeRule(1, TOKEN, 2)))])
    for token, amount in HOLDINGS:
        [outcome] = node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(ALICE, token, amount)))])
        assert outcome.accepted, outcome


@pytest.fixture
def api(tmp_path):
    yield from serve(tmp_path, fund)


def trading(node) -> None:
    """Fees for payments (1 wei) and orders (1 wei or 2 TOKEN); Alice holds ETH, Bob TOKEN."""
    node.submit([Genesis(VC, (FeeRule(1, ETH, 1), FeeRule(4, ETH, 1), FeeRule(4, TOKEN, 2)))])
    for owner, token, amount in [(ALICE, ETH, 100), (ALICE, ETH, 5), (BOB, TOKEN, 300)]:
        [outcome] = node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(owner, token, amount)))])
        assert outcome.accepted, outcome


@pytest.fixture
def market(tmp_path):
    yield from serve(tmp_path, trading)


@pytest.fixture(scope="module")
def root():
    w3 = chain.embedded()
    deployed = deploy_plasma(w3, min_exit_period_s=PERIOD)
    chain.fund(w3, [w3.to_checksum_address(ALICE)], 10**18)
    return w3, deployed


@pytest.fixture
def world(tmp_path, root):
    w3, deployed = root
    framework = bytes.fromhex(deployed.framework.address[2:])
    yield from serve(tmp_path, lambda node: node.submit([Genesis(framework, (FeeRule(1, ETH, 1),))]))


@attrs.frozen
class Followed:
    api: object  # tests.adapters.http.conftest.Api
    w3: object
    root: object  # adapters.ethereum.contracts.RootChain
    operator: Operator

    def step(self) -> None:
        """One operator step (follow, seal, submit), as `omg node` runs them."""
        self.api.service.operator_step(self.operator.step)


@pytest.fixture
def followed(tmp_path):
    w3 = chain.embedded()
    first = w3.eth.block_number + 1
    deployed = deploy_plasma(w3, min_exit_period_s=PERIOD)
    keys = (ALICE_KEY, BOB_KEY, CAROL_KEY)
    chain.fund(w3, [w3.eth.account.from_key(k).address for k in keys], 10**18)
    framework = bytes.fromhex(deployed.framework.address[2:])
    for api in serve(tmp_path, lambda node: node.submit([Genesis(framework, (FeeRule(1, ETH, 1),))])):
        yield Followed(api, w3, deployed, Operator(api.node, w3, deployed, first))


def follow(api, blknum: int) -> None:
    """What the node's follower does on seeing the deposit: the same deposit in the log."""
    event = Deposit(blknum, encode(deposit_tx(ALICE, ETH, AMOUNT)))
    [outcome] = api.service.operator_step(lambda: api.node.submit([event]))
    assert outcome.accepted, outcome
