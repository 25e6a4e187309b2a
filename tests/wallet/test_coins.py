"""Coin selection and fee choice on their own (no node): the cases a live test does not reach."""
from __future__ import annotations

import pytest

from tests.conftest import ADDRS, ETH, TOKEN
from wallet.client import Utxo
from wallet.coins import Fee, choose_fee, plan_merges, plan_payment, select
from wallet.errors import WalletError

OWNER, TO = ADDRS[0], ADDRS[1]


def coins(*amounts: int, token: bytes = ETH, start: int = 1) -> list[Utxo]:
    return [Utxo(n * 10**9, n, 0, 0, OWNER, token, a) for n, a in enumerate(amounts, start)]


def amounts(chosen) -> list[int]:
    return sorted(u.amount for u in chosen)


def test_the_smallest_single_output_that_covers_is_preferred():
    assert amounts(select(coins(1, 50, 8, 9), ETH, 8)) == [8]


def test_else_the_largest_then_drop_what_is_not_needed():
    assert amounts(select(coins(5, 4, 3, 2, 1), ETH, 9)) == [4, 5]
    assert amounts(select(coins(5, 5, 5, 1), ETH, 15)) == [5, 5, 5]


def test_too_many_inputs_is_told_apart_from_insufficient_funds():
    with pytest.raises(WalletError) as many:
        select(coins(1, 1, 1, 1, 1), ETH, 5)
    with pytest.raises(WalletError) as poor:
        select(coins(1, 1), ETH, 5)
    assert (many.value.code, poor.value.code) == ("too_many_inputs", "insufficient_funds")


def test_fee_choice():
    schedule = {ETH: 3, TOKEN: 1}
    assert choose_fee({}, {}, TOKEN, 5) == Fee(TOKEN, 0)
    assert choose_fee(schedule, {ETH: 10, TOKEN: 10}, ETH, 5) == Fee(ETH, 3)  # the payment's currency first
    assert choose_fee(schedule, {ETH: 7, TOKEN: 10}, ETH, 5) == Fee(TOKEN, 1)  # 5 + 3 ETH not held
    assert choose_fee(schedule, {ETH: 10, TOKEN: 10}, ETH, 5, preferred=TOKEN) == Fee(TOKEN, 1)
    with pytest.raises(WalletError) as info:
        choose_fee({ETH: 3}, {}, ETH, 5, preferred=TOKEN)
    assert info.value.code == "fee_currency_not_accepted"


def test_a_payment_never_exceeds_four_inputs_across_currencies():
    utxos = coins(1, 1, 1, 1, token=TOKEN) + coins(5, start=9)
    with pytest.raises(WalletError) as info:
        plan_payment(utxos, OWNER, [(TO, TOKEN, 4)], Fee(ETH, 1))
    assert info.value.code == "too_many_inputs"
    tx = plan_payment(utxos, OWNER, [(TO, TOKEN, 3)], Fee(ETH, 1))
    assert len(tx.inputs) == 4 and [o.amount for o in tx.outputs] == [3, 4]  # no TOKEN change; 5 - 1 ETH back


def test_refusals_and_exact_amounts():
    for payments, code in (([(TO, ETH, 0)], "amount_cant_be_zero"), ([(OWNER, ETH, 1)], "self_transaction_not_supported")):
        with pytest.raises(WalletError) as info:
            plan_payment(coins(10), OWNER, payments, Fee(ETH, 1))
        assert info.value.code == code
    exact = plan_payment(coins(10), OWNER, [(TO, ETH, 9)], Fee(ETH, 1))
    assert [o.amount for o in exact.outputs] == [9]  # no zero-amount change


def test_merges_go_smallest_first_in_fours():
    plans = plan_merges(coins(9, 1, 2, 3, 4, 5, 6), OWNER, ETH)
    assert [sorted(t.inputs) for t in plans] == [[2 * 10**9, 3 * 10**9, 4 * 10**9, 5 * 10**9],
                                                [1 * 10**9, 6 * 10**9, 7 * 10**9]]
    assert [t.outputs[0].amount for t in plans] == [10, 20]
    assert plan_merges(coins(1, 2, 50), OWNER, ETH, keep_above=10)[0].outputs[0].amount == 3
    assert plan_merges(coins(1, token=TOKEN) + coins(2, start=5), OWNER, ETH) == []
