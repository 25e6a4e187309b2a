"""A live `omg node --http` server (tests/adapters/http's) whose genesis takes a fee of 1 wei
in ETH or 2 in TOKEN, and an HD wallet's first key holding five small ETH outputs, a large
one and some TOKEN."""
from __future__ import annotations

import pytest

from ledger.events import Deposit, FeeRule, Genesis
from proofs.payment import deposit_tx, encode
from tests.adapters.http.conftest import serve
from tests.conftest import ETH, TOKEN, VC
from wallet.hd import HDWallet

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
ALICE_KEY = HDWallet(MNEMONIC).private_key(0)
ALICE = HDWallet(MNEMONIC).address(0)
BOB = HDWallet(MNEMONIC).address(1)
HOLDINGS = [(ETH, 3)] * 5 + [(ETH, 100), (TOKEN, 50)]


def fund(node) -> None:
    node.submit([Genesis(VC, (FeeRule(1, ETH, 1), FeeRule(1, TOKEN, 2)))])
    for token, amount in HOLDINGS:
        [outcome] = node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(ALICE, token, amount)))])
        assert outcome.accepted, outcome


@pytest.fixture
def api(tmp_path):
    yield from serve(tmp_path, fund)
