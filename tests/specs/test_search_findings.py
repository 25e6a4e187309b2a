"""Rule bugs that only the random search used to find, pinned as deterministic tests.

Each was planted by hand and survived every other unit test (docs/mutants.md): a wrong
key on an input after the first, a high-s signature (the malleable twin of a valid one),
and a fee collection for less than the open block owes.
"""
from __future__ import annotations

import pytest

from ledger.events import FeeCollected, FeeRule, Payment
from ledger.state import State
from proofs.eip712 import SECP256K1_HALF_N
from proofs.payment import decode, encode, encode_utxo_pos
from specs.actors import malleated
from tests.conftest import checked, deposit, genesis, out, rejected, signed

INPUTS = [encode_utxo_pos(blknum, 0, 0) for blknum in (1, 2, 3, 4)]


@pytest.fixture
def four_deposits() -> State:
    """Keys 0, 0, 1, 2 deposit 10 ETH each at deposit blocks 1-4; no fee."""
    state = genesis()
    for owner in (0, 0, 1, 2):
        state = deposit(state, owner, 10)
    return state


@pytest.mark.parametrize("wrong", [1, 2, 3])
def test_an_input_after_the_first_signed_by_the_wrong_key_is_refused(four_deposits, wrong):
    owners = [0, 0, 1, 2]
    signers = [*owners[:wrong], 3, *owners[wrong + 1 :]]  # key 3 owns none of them
    assert rejected(four_deposits, Payment(signed(INPUTS, [out(3, 40)], signers))) == "unauthorized_spend"
    checked(four_deposits, Payment(signed(INPUTS, [out(3, 40)], owners)))  # the owners may


@pytest.mark.parametrize("which", [0, 1])
def test_a_high_s_twin_signature_is_refused_on_any_input(four_deposits, which):
    tx = decode(signed(INPUTS[:2], [out(3, 20)], [0, 0]))
    twin = malleated(tx.signatures[which])  # (r, n - s), the recovery id flipped 27 <-> 28
    assert int.from_bytes(twin[32:64], "big") > SECP256K1_HALF_N and twin[64] in (27, 28)
    signatures = tuple(twin if i == which else s for i, s in enumerate(tx.signatures))
    assert rejected(four_deposits, Payment(encode(tx.with_signatures(signatures)))) == "signature_corrupt"


def test_fees_are_collected_exactly_never_less_than_owed():
    state = deposit(genesis((FeeRule(1, bytes(20), 3),)), 0, 100)
    state = checked(state, Payment(signed([INPUTS[0]], [out(1, 97)], [0])))
    for short in (1, 2):
        assert rejected(state, FeeCollected(1000, bytes(20), short)) == "fee_mismatch"
    assert rejected(state, FeeCollected(1000, bytes(20), 4)) == "fee_mismatch"
    collected = checked(state, FeeCollected(1000, bytes(20), 3))
    assert collected.fees_collected[bytes(20)] == 3 and not collected.open_block_fees
