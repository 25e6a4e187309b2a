"""Fuzz the DEX's transactions (proofs/order.py) and the ledger's two doors for them: an
`order_placed` event on a funded ledger and a `batch_settled` event on a ledger whose open
orders cross.

Contract: `decode_order`, `decode_settlement` and `decode_transaction` return a transaction or
raise DecodeError with a reason; what they accept re-encodes to the same bytes (a settlement
in either of its forms, an order signed or not) and hashes for EIP-712; `apply` of either
event returns a state or raises Rejected with a code, and a settlement is accepted only as
the one the ledger computes."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger import dex
from ledger.errors import Rejected
from ledger.events import BatchSettled, OrderPlaced
from ledger.state import State
from ledger.transition import apply
from proofs import order as o
from proofs.errors import DecodeError
from proofs.payment import MAX_BLOCK_NUM, MAX_TX_INDEX, Output, encode_utxo_pos
from tests.conftest import ADDRS, ETH, KEYS, TOKEN, VC, deposit, genesis
from tests.fuzz.harness import SHORT, code_of, near

FUNDED: State = deposit(deposit(genesis(), 0, 100), 1, 300, TOKEN)
D1, D2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)
SELL_ETH = o.OrderTerms(ADDRS[0], ETH, TOKEN, 100, 200, 5000, 0)
BUY_ETH = o.OrderTerms(ADDRS[1], TOKEN, ETH, 300, 100, 5000, 0)
CROSSING: State = apply(apply(FUNDED, OrderPlaced(o.sign_order(o.order_tx((D1,), SELL_ETH), (KEYS[0],), VC))),
                        OrderPlaced(o.sign_order(o.order_tx((D2,), BUY_ETH), (KEYS[1],), VC)))
HONEST_SETTLEMENT = o.encode_settlement(dex.settlement_for(CROSSING))

addresses = st.binary(min_size=20, max_size=20)
amounts = st.integers(1, 2**256 - 1)
positions = st.builds(encode_utxo_pos, st.integers(0, MAX_BLOCK_NUM), st.integers(0, MAX_TX_INDEX),
                      st.integers(0, 9999)).filter(bool)
terms = st.builds(o.OrderTerms, addresses.filter(any), addresses, addresses, amounts, amounts,
                  st.integers(0, 2**64), st.integers(0, 2**64))
change = st.lists(st.builds(Output, st.just(1), addresses.filter(any), addresses, amounts), max_size=3)
orders = st.builds(lambda i, t, c: o.order_tx(tuple(i), t, tuple(c)), st.lists(positions, min_size=1, max_size=4), terms,
                   change)
signed_orders = st.builds(
    lambda owner, amount, limit: o.sign_order(o.order_tx((D1,), SELL_ETH._replace(sell_amount=amount, buy_amount=limit)),
                                              (KEYS[owner],), VC),
    st.sampled_from([0, 1]), st.integers(1, 120), st.integers(0, 400),
)
encodings = st.one_of(orders.map(o.encode_order), orders.map(o.encode_order_unsigned), signed_orders,
                      st.just(HONEST_SETTLEMENT), st.just(o.encode_settlement_unsigned(dex.settlement_for(CROSSING))))


def _decoded(data: bytes) -> object | None:
    try:
        tx = o.decode_transaction(data)
    except DecodeError as exc:
        code_of(exc)
        return None
    if isinstance(tx, o.OrderTx):
        assert data in (o.encode_order(tx), o.encode_order_unsigned(tx)), "accepted a non-canonical order"
        assert len(o.struct_hash(tx)) == 32 and o.decode_order(data) == tx
    elif isinstance(tx, o.SettlementTx):
        assert data in (o.encode_settlement(tx), o.encode_settlement_unsigned(tx)), "accepted a non-canonical settlement"
        assert o.decode_settlement(data) == tx
    return tx


def _applied(state: State, event: OrderPlaced | BatchSettled) -> State | None:
    try:
        return apply(state, event)
    except Rejected as exc:
        code_of(exc)
        return None


def check(data: bytes) -> None:
    tx = _decoded(data)
    if _applied(FUNDED, OrderPlaced(data)) is not None:
        assert isinstance(tx, o.OrderTx) and tx.signatures and set(tx.inputs) <= {D1, D2}
    if _applied(CROSSING, BatchSettled(1000, data)) is not None:
        assert data == HONEST_SETTLEMENT


def TestOneInput(data: bytes) -> None:
    check(data)


def seeds() -> list[bytes]:
    return [
        o.sign_order(o.order_tx((D1,), SELL_ETH), (KEYS[0],), VC),
        o.encode_order_unsigned(o.order_tx((D2,), BUY_ETH, (Output(1, ADDRS[1], TOKEN, 5),))),
        HONEST_SETTLEMENT,
    ]


@SHORT
@given(near(encodings))
def test_dex_decoding_and_application_keep_the_contract(data):
    check(data)
