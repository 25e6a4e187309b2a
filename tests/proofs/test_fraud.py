"""Fraud proofs check out from bytes and signatures alone, and only when they are true."""
from __future__ import annotations

import pytest

from proofs.errors import DecodeError
from proofs.fraud import DoubleSpendProof, InvalidExitProof, Spend
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from tests.conftest import ADDRS, ETH, VC, out, signed

D1 = encode_utxo_pos(1, 0, 0)
DEPOSIT = encode(deposit_tx(ADDRS[0], ETH, 100))


def test_an_exit_of_a_spent_output_is_proven_invalid_by_its_signed_spend():
    proof = InvalidExitProof(7, D1, DEPOSIT, Spend.of(signed([D1], [out(1, 100)], [0]), D1))
    proof.check(VC)
    exit_id, exiting, challenge, index, signature = proof.contract_args()
    assert (exit_id, exiting, index, len(signature)) == (7, DEPOSIT, 0, 65) and challenge != exiting


@pytest.mark.parametrize("signer, verifying_contract", [(1, VC), (0, bytes(20))])
def test_a_spend_not_signed_by_the_owner_under_this_contract_proves_nothing(signer, verifying_contract):
    proof = InvalidExitProof(7, D1, DEPOSIT, Spend.of(signed([D1], [out(1, 100)], [signer]), D1))
    with pytest.raises(DecodeError, match="invalid_proof"):
        proof.check(verifying_contract)


def test_a_transaction_that_does_not_spend_the_output_is_no_proof():
    with pytest.raises(DecodeError, match="invalid_proof"):
        Spend.of(signed([D1], [out(1, 100)], [0]), encode_utxo_pos(2, 0, 0))
    moved = Spend.of(signed([D1], [out(1, 100)], [0]), D1)
    with pytest.raises(DecodeError, match="invalid_proof"):
        InvalidExitProof(7, encode_utxo_pos(2, 0, 0), DEPOSIT, moved).check(VC)


def test_two_different_signed_spends_of_one_output_are_a_double_spend():
    first = Spend.of(signed([D1], [out(1, 100)], [0]), D1)
    second = Spend.of(signed([D1], [out(2, 100)], [0]), D1)
    DoubleSpendProof(D1, DEPOSIT, first, second).check(VC)
    with pytest.raises(DecodeError, match="conflict with itself"):
        DoubleSpendProof(D1, DEPOSIT, first, first).check(VC)
    forged = Spend.of(signed([D1], [out(2, 100)], [3]), D1)  # signed by someone else
    with pytest.raises(DecodeError, match="invalid_proof"):
        DoubleSpendProof(D1, DEPOSIT, first, forged).check(VC)


# Found by tests/fuzz/test_fuzz_fraud.py.


@pytest.mark.parametrize("utxo_pos", [-1, 2**200])
def test_a_position_outside_poslib_is_no_proof_rather_than_a_value_error(utxo_pos):
    spend = Spend.of(signed([D1], [out(1, 100)], [0]), D1)
    with pytest.raises(DecodeError, match="invalid_proof"):
        InvalidExitProof(7, utxo_pos, DEPOSIT, spend).check(VC)


def test_a_negative_input_index_does_not_name_an_input_from_the_end():
    spend = Spend.of(signed([D1], [out(1, 100)], [0]), D1)
    with pytest.raises(DecodeError, match="invalid_proof"):
        InvalidExitProof(7, D1, DEPOSIT, Spend(spend.tx, -1, spend.signature)).check(VC)


def test_a_transaction_in_its_signed_form_does_not_conflict_with_its_unsigned_form():
    raw = signed([D1], [out(1, 100)], [0])
    unsigned = Spend.of(raw, D1)
    as_signed = Spend(raw, unsigned.input_index, unsigned.signature)
    with pytest.raises(DecodeError, match="invalid_proof"):
        DoubleSpendProof(D1, DEPOSIT, unsigned, as_signed).check(VC)
