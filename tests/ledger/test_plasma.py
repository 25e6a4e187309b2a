"""Every payment rule, accepted and rejected, through the one `apply`."""
from __future__ import annotations

import pytest

from ledger.events import BlockSealed, Deposit, FeeCollected, FeeRule, Genesis, Payment
from ledger.state import GENESIS_STATE
from ledger.transition import apply
from proofs import merkle
from proofs.eip712 import recover, signing_hash
from proofs.payment import Output, decode, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from tests.conftest import ADDRS, ETH, TOKEN, VC, deposit, genesis, out, pay, rejected, signed

D1, D2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)



def test_payment_moves_value_into_the_open_child_block(funded):
    after = pay(funded, [D1], [out(2, 60), out(0, 40)], [0])
    assert D1 not in after.utxos and after.spent[D1] == funded.event_count
    assert after.utxos[encode_utxo_pos(1000, 0, 0)] == out(2, 60)
    assert after.utxos[encode_utxo_pos(1000, 0, 1)] == out(0, 40)
    assert after.unspent[ETH] == 100 and after.effects.signers == (ADDRS[0],)
    assert funded.utxos[D1] == out(0, 100)  # the old state is untouched


def test_spending_twice_is_rejected(funded):
    after = pay(funded, [D1], [out(2, 100)], [0])
    assert rejected(after, Payment(signed([D1], [out(3, 100)], [0]))) == "utxo_already_spent"


def test_unknown_input_is_rejected(funded):
    assert rejected(funded, Payment(signed([encode_utxo_pos(3, 0, 0)], [out(2, 1)], [0]))) == "utxo_not_found"


def test_duplicate_inputs_are_rejected(funded):
    assert rejected(funded, Payment(signed([D1, D1], [out(2, 1)], [0, 0]))) == "duplicate_inputs"


@pytest.mark.parametrize(
    "signers, code", [([], "missing_signature"), ([0, 0], "superfluous_signature"), ([1], "unauthorized_spend")]
)
def test_signatures_must_be_one_per_input_by_its_owner(funded, signers, code):
    assert rejected(funded, Payment(signed([D1], [out(2, 100)], signers))) == code


def test_corrupt_signature_is_rejected(funded):
    tx = decode(signed([D1], [out(2, 100)], [0]))
    bad = tx.with_signatures((tx.signatures[0][:64] + b"\x05",))
    assert rejected(funded, Payment(encode(bad))) == "signature_corrupt"


def test_outputs_above_inputs_are_rejected_per_token(funded):
    assert rejected(funded, Payment(signed([D1], [out(2, 101)], [0]))) == "amounts_do_not_add_up"
    both = pay(funded, [D1], [out(1, 100)], [0])
    d1_in_child = encode_utxo_pos(1000, 0, 0)
    # 100 ETH + 50 TOKEN in, 100 ETH + 51 TOKEN out: TOKEN is short even though the total is equal
    assert rejected(both, Payment(signed([d1_in_child, D2], [out(1, 99), out(1, 51, TOKEN)], [1, 1]))) == (
        "amounts_do_not_add_up"
    )


def test_limits_of_four_inputs_and_four_outputs(funded):
    assert rejected(funded, Payment(signed([D1], [out(2, 1)] * 5, [0]))) == "too_many_outputs"
    five = [encode_utxo_pos(b, 0, 0) for b in range(1, 6)]
    assert rejected(funded, Payment(signed(five, [out(2, 1)], [0] * 5))) == "too_many_inputs"


def test_zero_amount_and_no_inputs_are_rejected(funded):
    zero = Output(1, ADDRS[2], ETH, 0)
    assert rejected(funded, Payment(signed([D1], [zero, out(2, 100)], [0]))) == "amount_cant_be_zero"
    # elixir-omg has no "no inputs" rule: a payment creating value from nothing does not add up
    assert rejected(funded, Payment(signed([], [out(2, 1)], []))) == "amounts_do_not_add_up"


def test_fee_must_match_the_schedule_in_one_token():
    state = deposit(deposit(genesis((FeeRule(1, ETH, 2),)), 0, 100), 0, 50, TOKEN)
    assert rejected(state, Payment(signed([D1], [out(2, 100)], [0]))) == "fees_not_covered"
    assert rejected(state, Payment(signed([D1], [out(2, 99)], [0]))) == "fees_not_covered"
    assert rejected(state, Payment(signed([D1], [out(2, 97)], [0]))) == "overpaying_fees"
    assert rejected(state, Payment(signed([D2], [out(2, 48, TOKEN)], [0]))) == "fees_not_covered"
    assert rejected(state, Payment(signed([D1, D2], [out(2, 98), out(2, 49, TOKEN)], [0, 0]))) == (
        "multiple_potential_currency_fees"
    )
    after = pay(state, [D1], [out(2, 98)], [0])
    assert after.open_block_fees[ETH] == 2 and after.effects.fee_amount == 2


def test_a_zero_fee_makes_the_transaction_type_free():
    """A schedule (or a fee vote's median) of 0 in a token is payable: paying nothing pays it
    exactly; a surplus in that token overpays, and a positive fee in another token still holds."""
    state = deposit(deposit(genesis((FeeRule(1, ETH, 0), FeeRule(1, TOKEN, 2))), 0, 100), 0, 50, TOKEN)
    free = pay(state, [D1], [out(2, 100)], [0])
    assert free.effects.fee_amount == 0 and not free.open_block_fees and free.unspent[ETH] == 100
    assert rejected(state, Payment(signed([D1], [out(2, 99)], [0]))) == "overpaying_fees"
    assert dict(pay(state, [D2], [out(2, 48, TOKEN)], [0]).open_block_fees) == {TOKEN: 2}
    assert rejected(state, Payment(signed([D2], [out(2, 49, TOKEN)], [0]))) == "fees_not_covered"
    # a zero fee for another transaction type does not make payments free
    other = deposit(genesis((FeeRule(2, ETH, 0), FeeRule(1, ETH, 2))), 0, 100)
    assert rejected(other, Payment(signed([D1], [out(2, 100)], [0]))) == "fees_not_covered"


def test_sealing_collects_fees_then_commits_the_merkle_root():
    state = deposit(genesis((FeeRule(1, ETH, 2),)), 0, 100)
    raw = signed([D1], [out(2, 98)], [0])
    state = apply(state, Payment(raw))
    leaf = encode_unsigned(decode(raw))  # OMG's leaves are the unsigned bytes
    assert rejected(state, BlockSealed(1000, merkle.root([leaf]), 1)) == "fees_not_collected"
    assert rejected(state, FeeCollected(1000, ETH, 3)) == "fee_mismatch"
    state = apply(state, FeeCollected(1000, ETH, 2))
    assert rejected(state, BlockSealed(2000, merkle.root([leaf]), 1)) == "wrong_block_number"
    assert rejected(state, BlockSealed(1000, merkle.root([leaf]), 2)) == "wrong_tx_count"
    assert rejected(state, BlockSealed(1000, merkle.root([raw]), 1)) == "wrong_merkle_root"
    state = apply(state, BlockSealed(1000, merkle.root([leaf]), 1))
    assert state.blocks[1000].root == merkle.root([leaf]) and state.fees_collected[ETH] == 2
    assert state.next_child_blknum == 2000 and state.next_deposit_blknum == 1001 and not state.open_block_txs


def test_deposit_blocks_are_numbered_between_child_blocks(funded):
    tx = encode(deposit_tx(ADDRS[0], ETH, 5))
    assert rejected(funded, Deposit(5, tx)) == "wrong_block_number"
    assert rejected(funded, Deposit(1000, tx)) == "wrong_block_number"
    assert apply(funded, Deposit(3, tx)).utxos[encode_utxo_pos(3, 0, 0)].amount == 5
    payment_raw = signed([D1], [out(2, 100)], [0])
    assert rejected(funded, Deposit(3, payment_raw)) == "not_a_deposit"


def test_999_deposit_blocks_then_the_interval_is_exhausted():
    state = genesis()
    for _ in range(999):
        state = deposit(state, 0, 1)
    assert state.next_deposit_blknum == 1000
    assert rejected(state, Deposit(1000, encode(deposit_tx(ADDRS[0], ETH, 1)))) == "deposit_blocks_exhausted"


def test_genesis_comes_first_and_once(funded):
    assert rejected(GENESIS_STATE, Payment(b"\xc0")) == "no_genesis"
    assert rejected(funded, Genesis(VC, ())) == "genesis_repeated"
    assert rejected(GENESIS_STATE, Genesis(VC, (FeeRule(1, ETH, 1), FeeRule(1, ETH, 2)))) == "malformed_fee_schedule"


@pytest.mark.parametrize("raw, code", [(b"", "malformed_transaction"), (b"\x81\x0a", "malformed_transaction_rlp"), (b"\xc0", "malformed_transaction"),
                                       (b"\x83abc", "malformed_transaction")])
def test_malformed_bytes_are_rejected_with_a_code(funded, raw, code):
    assert rejected(funded, Payment(raw)) == code


def test_a_merge_by_one_owner_pays_no_fee():
    state = deposit(deposit(genesis((FeeRule(1, ETH, 2),)), 0, 100), 0, 50)
    merged = pay(state, [D1, D2], [out(0, 150)], [0, 0])
    assert merged.effects.fee_amount == 0 and merged.unspent[ETH] == 150
    assert rejected(state, Payment(signed([D1, D2], [out(0, 149)], [0, 0]))) == "overpaying_fees"
    # to another owner it is a payment, and pays the fee
    assert rejected(state, Payment(signed([D1, D2], [out(1, 150)], [0, 0]))) == "fees_not_covered"


def test_inputs_in_blocks_not_yet_formed_are_ahead_of_state(funded):
    ahead = encode_utxo_pos(5000, 0, 0)
    assert rejected(funded, Payment(signed([ahead], [out(2, 1)], [0]))) == "input_utxo_ahead_of_state"


def test_a_null_signature_counts_as_missing(funded):
    tx = decode(signed([D1], [out(2, 100)], [0]))
    assert rejected(funded, Payment(encode(tx.with_signatures((bytes(65),))))) == "missing_signature"


def test_a_high_s_signature_is_rejected_as_malleable(funded):
    tx = decode(signed([D1], [out(2, 100)], [0]))
    sig = tx.signatures[0]
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    # the twin recovers the same signer: v flips between 27 and 28 (an XOR with 1 would make 26 or 29,
    # refused for its v before its s is ever looked at)
    twin = sig[:32] + (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big") + bytes([55 - sig[64]])
    assert recover(signing_hash(tx, VC), sig) == ADDRS[0]
    assert rejected(funded, Payment(encode(tx.with_signatures((twin,))))) == "signature_corrupt"
