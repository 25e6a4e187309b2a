"""Plasma rules' edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

import attrs
from pyrsistent import pvector

from ledger.events import Deposit, FeeCollected, FeeRule, Payment
from ledger.state import Block
from proofs import merkle, rlp
from proofs.payment import PaymentTx, decode, deposit_tx, encode, encode_utxo_pos
from tests.conftest import ADDRS, ETH, TOKEN, checked, deposit, genesis, out, pay, rejected, signed

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


def _deposit_event(state, raw: bytes) -> Deposit:
    return Deposit(state.next_deposit_blknum, raw)


def test_a_deposit_is_exactly_one_output_no_input_no_signature_in_canonical_form(funded):
    two_outputs = encode(PaymentTx((), (out(0, 5), out(1, 5))))
    with_input = encode(PaymentTx((D1,), (out(0, 5),)))
    canonical = encode(deposit_tx(ADDRS[0], ETH, 5))
    empty_witness_list = rlp.encode([[], *rlp.decode(canonical)])  # decodes to the same unsigned tx
    assert decode(empty_witness_list) == decode(canonical)
    for raw in (two_outputs, with_input, empty_witness_list):
        assert rejected(funded, _deposit_event(funded, raw)) == "not_a_deposit"
    after = checked(funded, _deposit_event(funded, canonical))
    assert after.blocks[3] == Block(merkle.root([canonical]), 1, is_deposit=True)


def test_a_block_takes_max_leaves_transactions_and_no_more(funded):
    raw = signed([D1], [out(2, 100)], [0])
    almost = attrs.evolve(funded, open_block_txs=pvector([b"\x01"] * (merkle.MAX_LEAVES - 1)))
    assert len(checked(almost, Payment(raw)).open_block_txs) == merkle.MAX_LEAVES
    full = attrs.evolve(funded, open_block_txs=pvector([b"\x01"] * merkle.MAX_LEAVES))
    assert rejected(full, Payment(raw)) == "too_many_transactions_in_block"
