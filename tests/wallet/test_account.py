"""The SDK against a live node over HTTP: reads, a payment with selection, change and fee
submitted and read back, a fee in another currency, merges, and OMG's error codes."""
from __future__ import annotations

import pytest

from proofs.payment import decode, encode_utxo_pos
from tests.conftest import ETH, TOKEN, VC
from tests.wallet.nodes import ALICE, ALICE_KEY, BOB
from tests.wallet.nodes import api  # noqa: F401 (fixtures)
from wallet.account import Account
from wallet.client import NodeClient, NodeError
from wallet.errors import WalletError


@pytest.fixture
def alice(api) -> Account:
    return Account(NodeClient(api.url), ALICE_KEY)


def test_reads(alice):
    assert alice.verifying_contract == VC
    assert alice.balance() == {ETH: 115, TOKEN: 50}
    assert sorted(u.amount for u in alice.utxos() if u.currency == ETH) == [3, 3, 3, 3, 3, 100]
    assert alice.node.fees() == {ETH: 1, TOKEN: 2}
    assert [d.amount for d in alice.node.deposits(ALICE)] == [50, 100, 3, 3, 3, 3, 3]  # newest first
    assert alice.history() == []


def test_a_payment_selects_inputs_pays_the_fee_and_returns_change(api, alice):
    tx = alice.plan(BOB, 7, ETH)
    assert len(tx.inputs) == 1 and [(o.owner, o.amount) for o in tx.outputs] == [(BOB, 7), (ALICE, 92)]  # 100 - 7 - 1
    submitted = alice.pay(BOB, 7, ETH)
    assert alice.balance() == {ETH: 107, TOKEN: 50}
    assert alice.node.balance(BOB) == {ETH: 7}
    read = alice.node.transaction(submitted.txhash)
    assert read.txhash == submitted.txhash and read.blknum == submitted.blknum == 1000
    assert [(u.owner, u.amount) for u in read.outputs] == [(BOB, 7), (ALICE, 92)]
    assert [u.utxo_pos for u in read.inputs] == [encode_utxo_pos(6, 0, 0)]  # the 100-ETH deposit
    assert decode(read.txbytes).signatures and [t.txhash for t in alice.history()] == [submitted.txhash]


def test_small_outputs_combine_when_no_single_one_covers(alice):
    tx = alice.plan(BOB, 5, TOKEN, fee_currency=ETH)  # TOKEN input, fee from the smallest covering ETH output
    spent = {u.utxo_pos: u for u in alice.utxos()}
    assert sorted(spent[p].currency for p in tx.inputs) == sorted([TOKEN, ETH])
    assert [(o.owner, o.token, o.amount) for o in tx.outputs] == [(BOB, TOKEN, 5), (ALICE, TOKEN, 45), (ALICE, ETH, 2)]
    alice.pay(BOB, 5, TOKEN, fee_currency=ETH)
    assert alice.balance() == {ETH: 114, TOKEN: 45}


def test_the_fee_defaults_to_the_payment_currency(alice):
    alice.pay(BOB, 10, TOKEN)
    assert alice.balance() == {ETH: 115, TOKEN: 38}  # 50 - 10 - a fee of 2 TOKEN


def test_a_merge_folds_small_outputs_without_a_fee(api, alice):
    submitted = alice.merge(ETH, keep_above=10)
    assert len(submitted) == 1  # the four smallest 3s into 12; the fifth is left alone
    assert alice.balance() == {ETH: 115, TOKEN: 50}
    assert sorted(u.amount for u in alice.utxos() if u.currency == ETH) == [3, 12, 100]
    merged = alice.node.transaction(submitted[0].txhash)
    assert len(merged.inputs) == 4 and [(u.owner, u.amount) for u in merged.outputs] == [(ALICE, 12)]
    assert len(alice.merge(ETH, keep_above=20)) == 1  # 3 and 12 into 15; the 100 is kept
    assert sorted(u.amount for u in alice.utxos() if u.currency == ETH) == [15, 100]
    assert len(alice.merge(ETH)) == 1 and [u.amount for u in alice.utxos() if u.currency == ETH] == [115]
    assert alice.merge(ETH) == []  # one output: nothing to merge


def test_errors_carry_omg_codes(api, alice):
    with pytest.raises(WalletError) as info:
        alice.plan(BOB, 10**6, ETH)
    assert info.value.code == "insufficient_funds"
    tx = alice.plan(BOB, 7, ETH)
    signed = alice.sign(tx)
    alice.node.submit(signed)
    with pytest.raises(NodeError) as spent:
        alice.node.submit(signed)
    assert spent.value.code.startswith("submit:") and spent.value.description
    with pytest.raises(NodeError) as missing:
        alice.node.exit_data(encode_utxo_pos(6, 0, 0))  # spent by the payment
    assert missing.value.code == "exit:invalid"
    with pytest.raises(NodeError) as unknown:
        alice.node.call("no.such_route")  # HTTP 404 with an OMG error object
    assert unknown.value.code == "operation:not_found"
    with pytest.raises(NodeError) as unreachable:
        NodeClient("http://127.0.0.1:9", timeout=2).status()
    assert unreachable.value.code == "node_unreachable"
