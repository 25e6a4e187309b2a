"""Plasma rules' edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

from ledger.events import FeeCollected, FeeRule
from proofs.payment import encode_utxo_pos
from tests.conftest import ETH, TOKEN, checked, deposit, genesis, out, pay, rejected

D1 = encode_utxo_pos(1, 0, 0)


def test_no_fee_can_be_collected_in_a_token_the_block_owes_nothing_in():
    state = pay(deposit(genesis((FeeRule(1, ETH, 1),)), 0, 100), [D1], [out(1, 99)], [0])
    assert rejected(state, FeeCollected(1000, TOKEN, 1)) == "fee_mismatch"
    assert rejected(state, FeeCollected(1000, TOKEN, 0)) == "fee_mismatch"


def test_a_fee_of_one_is_collected_exactly():
    state = pay(deposit(genesis((FeeRule(1, ETH, 1),)), 0, 100), [D1], [out(1, 99)], [0])
    assert rejected(state, FeeCollected(1000, ETH, 0)) == "fee_mismatch"
    after = checked(state, FeeCollected(1000, ETH, 1))
    assert after.fees_collected[ETH] == 1 and ETH not in after.open_block_fees
