"""The DEX invariants see a buggy settlement or custody rule on their own: each fires on a
hand-made bad transition (the state a buggy rule would produce) and stays silent on honest ones."""
from __future__ import annotations

import attrs
import pytest

from ledger import dex
from ledger.events import BatchSettled, OrderPlaced, Payment
from ledger.state import State
from ledger.transition import apply
from proofs import order as o
from proofs.payment import Output, encode_utxo_pos
from specs.catalogue import BY_ID
from tests.conftest import ADDRS, ETH, TOKEN, out, signed
from tests.ledger.test_dex import fund, order_bytes, place, terms
from tests.conftest import genesis

DEX_INVARIANTS = ("INV-DEX-CONSERVED", "INV-DEX-LIMIT", "INV-DEX-ONE-PRICE", "INV-DEX-CUSTODY")


def crossing() -> tuple[State, BatchSettled, State]:
    """Two crossing orders (a partial fill) and their honest settlement: (before, event, after)."""
    state = genesis()
    state, a = fund(state, 0, 100, ETH)
    state, b = fund(state, 1, 300, TOKEN)
    state, _ = place(state, [a], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [b], terms(1, TOKEN, ETH, 300, 100))
    event = BatchSettled(1000, o.encode_settlement(dex.settlement_for(state)))
    return state, event, apply(state, event)


def fires(invariant: str, before: State, event: object, after: State) -> str:
    detail = BY_ID[invariant].check(before, event, after)
    assert detail is not None, f"{invariant} missed the bad transition"
    return detail


def forged(before: State, tx: o.SettlementTx) -> tuple[BatchSettled, State]:
    """A settlement a buggy rule accepted: its bytes, and the state recording exactly them."""
    return BatchSettled(1000, o.encode_settlement(tx)), dex._record_settlement(before, tx)


def test_honest_trading_is_silent():
    before, event, after = crossing()
    for invariant in DEX_INVARIANTS:
        assert BY_ID[invariant].check(before, event, after) is None
    assert BY_ID["INV-DEX-ORDER-BOOK"].check(after) is None


def test_a_skimmed_fee_not_booked_breaks_conservation():
    before, event, after = crossing()
    tx = o.decode_settlement(event.tx)
    first = tx.records[0]._replace(fee=1)  # a fee taken from the buyer...
    skimmed = attrs.evolve(tx, records=(first, *tx.records[1:]),
                           outputs=o.settlement_outputs(first, 0) + tx.outputs[1:])
    bad_event, booked = forged(before, skimmed)
    unbooked = attrs.evolve(booked, open_block_fees=before.open_block_fees)  # ...that nobody collects
    assert BY_ID["INV-DEX-CONSERVED"].check(before, bad_event, booked) is None
    assert "fees booked 0" in fires("INV-DEX-CONSERVED", before, bad_event, unbooked)


def test_a_fill_below_its_limit_is_caught():
    before, event, _ = crossing()
    tx = o.decode_settlement(event.tx)
    seller, buyer = tx.records
    # the ETH seller gets 150 TOKEN for its 100 ETH, below its limit of 200; the buyer pays 150
    cheap = (seller._replace(bought=150), buyer._replace(sold=150))
    outputs = o.settlement_outputs(cheap[0], 0) + o.settlement_outputs(cheap[1], 150)
    bad_event, bad_after = forged(before, attrs.evolve(tx, records=cheap, outputs=outputs))
    assert "below its limit" in fires("INV-DEX-LIMIT", before, bad_event, bad_after)


def test_an_overfilled_order_is_caught():
    before, event, _ = crossing()
    tx = o.decode_settlement(event.tx)
    seller, buyer = tx.records
    more = (seller, buyer._replace(sold=301))  # sells more TOKEN than is open
    bad_event = BatchSettled(1000, o.encode_settlement(attrs.evolve(tx, records=more)))
    assert fires("INV-DEX-LIMIT", before, bad_event, apply(before, event))


def test_two_prices_in_one_pair_are_caught():
    state = genesis()
    state, a = fund(state, 0, 100, ETH)
    state, b = fund(state, 1, 300, TOKEN)
    state, c = fund(state, 2, 10, ETH)
    state, _ = place(state, [a], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [b], terms(1, TOKEN, ETH, 300, 100))
    state, _ = place(state, [c], terms(2, ETH, TOKEN, 10, 20))
    tx = dex.settlement_for(state)
    records = list(tx.records)
    records[2] = records[2]._replace(bought=records[2].bought + 5)  # the last seller gets a better price
    records[1] = records[1]._replace(sold=records[1].sold + 5)
    outputs = []
    for pos, record in zip(tx.inputs, records):
        outputs += o.settlement_outputs(record, state.utxos[pos].amount - record.sold)
    bad_event, bad_after = forged(state, attrs.evolve(tx, records=tuple(records), outputs=tuple(outputs)))
    assert "trades at" in fires("INV-DEX-ONE-PRICE", state, bad_event, bad_after)


def test_an_order_output_paid_away_before_expiry_is_caught():
    state = genesis()
    state, a = fund(state, 0, 100, ETH)
    state, _ = fund(state, 1, 1, TOKEN)
    state, pos = place(state, [a], terms(0, ETH, TOKEN, 100, 200))
    event = Payment(signed([pos], [out(1, 100)], [0]))
    spent = state.utxos[pos]
    bad_after = attrs.evolve(  # a payment rule without the custody check
        state, utxos=state.utxos.delete(pos).set(encode_utxo_pos(1000, 1, 0), out(1, 100)),
        spent=state.spent.set(pos, state.event_count), orders=state.orders.delete(pos),
        open_block_txs=state.open_block_txs.append(b"x"), event_count=state.event_count + 1,
    )
    assert spent.output_type == o.OUTPUT_TYPE_ORDER
    assert "paid away" in fires("INV-DEX-CUSTODY", state, event, bad_after)


def test_an_order_output_recorded_under_other_terms_is_caught():
    state = genesis()
    state, a = fund(state, 0, 100, ETH)
    state, _ = fund(state, 1, 1, TOKEN)
    event = OrderPlaced(order_bytes([a], terms(0, ETH, TOKEN, 100, 200)))
    after = apply(state, event)
    pos = encode_utxo_pos(1000, 0, 0)
    lax = attrs.evolve(after, orders=after.orders.set(pos, terms(1, ETH, TOKEN, 100, 200)))
    assert fires("INV-DEX-CUSTODY", state, event, lax)
    forgotten = attrs.evolve(after, orders=after.orders.delete(pos))  # spendable as a plain payment output
    assert fires("INV-DEX-CUSTODY", state, event, forgotten)
    assert BY_ID["INV-DEX-ORDER-BOOK"].check(forgotten) is not None


@pytest.mark.parametrize("owner", [1, 2])
def test_a_remainder_given_to_someone_else_is_caught(owner):
    before, event, after = crossing()
    remainder = encode_utxo_pos(1000, 2, 2)
    stolen = Output(o.OUTPUT_TYPE_ORDER, ADDRS[owner + 1], TOKEN, 50)
    bad_after = attrs.evolve(after, utxos=after.utxos.set(remainder, stolen))
    assert fires("INV-DEX-LIMIT", before, event, bad_after)
    assert BY_ID["INV-DEX-ORDER-BOOK"].check(bad_after) is not None
