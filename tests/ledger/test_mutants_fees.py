"""The fee rule's edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

from immutables import Map

from ledger.events import FeeRule, Payment
from ledger.fees import implicit_fee, is_merge
from proofs.payment import PAYMENT_TX_TYPE, encode_utxo_pos
from tests.conftest import ADDRS, ETH, TOKEN, deposit, genesis, out, pay, rejected, signed

D1, D2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)
SCHEDULE = Map({(PAYMENT_TX_TYPE, ETH): 2})


def test_as_many_outputs_as_inputs_is_not_a_merge():
    """A merge folds into FEWER outputs: the same count to the same owner pays the fee."""
    assert not is_merge([out(0, 1), out(0, 2)], [out(0, 1), out(0, 2)], [ADDRS[0], ADDRS[0]])
    state = deposit(deposit(genesis((FeeRule(1, ETH, 2),)), 0, 100), 0, 50)
    assert rejected(state, Payment(signed([D1, D2], [out(0, 100), out(0, 50)], [0, 0]))) == "fees_not_covered"


def test_inputs_of_two_signers_into_one_of_them_is_not_a_merge():
    """Every signer must be the output owner: key 1's input folded into key 0's output is a payment."""
    assert not is_merge([out(0, 100), out(1, 50)], [out(0, 150)], [ADDRS[0], ADDRS[1]])
    state = deposit(deposit(genesis((FeeRule(1, ETH, 2),)), 0, 100), 1, 50)
    assert rejected(state, Payment(signed([D1, D2], [out(0, 150)], [0, 1]))) == "fees_not_covered"
    paid = pay(state, [D1, D2], [out(0, 148)], [0, 1])
    assert paid.effects.fee_amount == 2 and paid.open_block_fees[ETH] == 2


def test_a_merge_of_two_tokens_is_not_a_merge():
    assert not is_merge([out(0, 1), out(0, 2, TOKEN), out(0, 3)], [out(0, 1), out(0, 5, TOKEN)], [ADDRS[0]] * 3)
    assert is_merge([out(0, 1), out(0, 2), out(0, 3)], [out(0, 6)], [ADDRS[0]] * 3)


def test_implicit_fee_is_not_a_merge_unless_told():
    """The default is a plain payment: a surplus equal to the schedule's fee is that fee."""
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 10)], [out(1, 8)], SCHEDULE) == (ETH, 2)


def test_a_whole_input_may_be_the_fee():
    """A token with inputs and no output at all: its whole input is the surplus."""
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 2), out(0, 5, TOKEN)], [out(1, 5, TOKEN)], SCHEDULE) == (ETH, 2)
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 7)], [], Map()) == (ETH, 7)
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 1)], [], Map()) == (ETH, 1)  # even a surplus of one


def test_without_a_schedule_the_surplus_is_the_fee_and_none_is_nothing():
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 10)], [out(1, 7)], Map()) == (ETH, 3)
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 10)], [out(1, 10)], Map()) == (b"", 0)


def test_a_merge_under_a_schedule_pays_nothing():
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 4), out(0, 6)], [out(0, 10)], SCHEDULE, merge=True) == (b"", 0)


def test_exactly_the_scheduled_fee_is_accepted_and_one_more_or_less_is_not():
    assert implicit_fee(PAYMENT_TX_TYPE, [out(0, 10)], [out(1, 8)], SCHEDULE) == (ETH, 2)
    state = deposit(genesis((FeeRule(1, ETH, 2),)), 0, 100)
    assert rejected(state, Payment(signed([D1], [out(1, 99)], [0]))) == "fees_not_covered"
    assert rejected(state, Payment(signed([D1], [out(1, 97)], [0]))) == "overpaying_fees"
    assert pay(state, [D1], [out(1, 98)], [0]).open_block_fees[ETH] == 2
