"""Orders in restricted custody and their settlement, through the one `apply`, with every
invariant of the catalogue checked after each event, and end to end through the event store,
the node's seal and the audit."""
from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import dex, events
from ledger.blocks import BlockIndex
from ledger.events import BatchSettled, BlockSealed, Deposit, FeeCollected, FeeRule, OrderPlaced, Payment
from ledger.node import Node
from ledger.plasma import open_block_root
from ledger.replay import audit
from ledger.state import State
from ledger.store import EventStore
from ledger.transition import apply
from proofs import eip712, rlp
from proofs import order as o
from proofs.keccak import keccak256
from proofs.payment import Output, deposit_tx, encode, encode_utxo_pos
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, KEYS, TOKEN, VC, checked, genesis, out, rejected, seal, signed
from tests.ledger.test_staking import staked  # noqa: F401 (fixture)

OMG = bytes.fromhex("d26114cd6ee289accf82350c8d8487fedb8a0c08")
MORE_KEYS = [keccak256(b"trader %d" % i) for i in range(8)]
TRADERS = [*zip(KEYS, ADDRS), *((k, eip712.address_of(k)) for k in MORE_KEYS)]


def terms(owner: int, sell: bytes, buy: bytes, sell_amount: int, buy_amount: int, expiry: int = 5000,
          nonce: int = 0) -> o.OrderTerms:
    return o.OrderTerms(TRADERS[owner][1], sell, buy, sell_amount, buy_amount, expiry, nonce)


def order_bytes(inputs: list[int], order: o.OrderTerms, change: tuple[Output, ...] = (),
                signers: list[int] | None = None) -> bytes:
    owner = next(i for i, (_, address) in enumerate(TRADERS) if address == order.owner)
    keys = tuple(TRADERS[i][0] for i in (signers if signers is not None else [owner] * len(inputs)))
    return o.sign_order(o.order_tx(tuple(inputs), order, change), keys, VC)


def fund(state: State, owner: int, amount: int, token: bytes) -> tuple[State, int]:
    """A deposit to trader `owner`; (the state, the deposit's position)."""
    blknum = state.next_deposit_blknum
    tx = encode(deposit_tx(TRADERS[owner][1], token, amount))
    return checked(state, Deposit(blknum, tx)), encode_utxo_pos(blknum, 0, 0)


def place(state: State, inputs: list[int], order: o.OrderTerms, change: tuple[Output, ...] = ()) -> tuple[State, int]:
    """Place `order`; (the state, the order output's position)."""
    after = checked(state, OrderPlaced(order_bytes(inputs, order, change)))
    return after, encode_utxo_pos(state.next_child_blknum, len(state.open_block_txs), 0)


def settle(state: State) -> State:
    tx = dex.settlement_for(state)
    assert tx is not None, "no open orders cross"
    return checked(state, BatchSettled(state.next_child_blknum, o.encode_settlement(tx)))


def sealed(state: State) -> BlockSealed:
    return BlockSealed(state.next_child_blknum, open_block_root(state.open_block_txs), len(state.open_block_txs))


@pytest.fixture
def market() -> tuple[State, dict[str, int]]:
    """Trader 0 holds 100 ETH, trader 1 300 TOKEN, trader 2 50 ETH, trader 3 90 TOKEN (no fee schedule)."""
    state, positions = genesis(), {}
    for name, owner, amount, token in (("a", 0, 100, ETH), ("b", 1, 300, TOKEN), ("c", 2, 50, ETH), ("d", 3, 90, TOKEN)):
        state, positions[name] = fund(state, owner, amount, token)
    return state, positions


# --- placing ------------------------------------------------------------------------------


def test_an_order_moves_its_funding_into_an_order_output(market):
    state, at = market
    order = terms(0, ETH, TOKEN, 60, 120)
    after, pos = place(state, [at["a"]], order, (Output(1, ADDRS[0], ETH, 40),))
    assert after.utxos[pos] == Output(o.OUTPUT_TYPE_ORDER, ADDRS[0], ETH, 60)
    assert after.utxos[pos + 1] == out(0, 40)
    assert after.orders[pos] == order and after.order_ids[o.order_id(order)] == pos
    assert at["a"] not in after.utxos and after.unspent[ETH] == 150  # order outputs are outputs
    assert after.open_block_txs[-1] == o.encode_order_unsigned(o.decode_order(order_bytes([at["a"]], order, (out(0, 40),))))
    assert after.effects.kind == "order_placed" and after.effects.signers == (ADDRS[0],)


def test_an_order_pays_the_fee_the_schedule_asks_for_orders():
    state = genesis((FeeRule(1, ETH, 1), FeeRule(4, ETH, 3)))
    state, funding = fund(state, 0, 100, ETH)
    state, _ = fund(state, 1, 10, TOKEN)
    order = terms(0, ETH, TOKEN, 90, 9)
    assert rejected(state, OrderPlaced(order_bytes([funding], order, (out(0, 5),)))) == "overpaying_fees"
    assert rejected(state, OrderPlaced(order_bytes([funding], order, (out(0, 9),)))) == "fees_not_covered"  # 1 is a payment's
    after, _ = place(state, [funding], order, (out(0, 7),))
    assert after.open_block_fees[ETH] == 3


@pytest.mark.parametrize("signers, code", [([], "missing_signature"), ([0, 0], "superfluous_signature"),
                                           ([1], "unauthorized_spend")])
def test_an_order_is_signed_by_the_owner_of_each_input(market, signers, code):
    state, at = market
    assert rejected(state, OrderPlaced(order_bytes([at["a"]], terms(0, ETH, TOKEN, 100, 1), signers=signers))) == code


def test_a_signature_over_other_terms_does_not_place_the_order(market):
    state, at = market
    signed_tx = o.decode_order(order_bytes([at["a"]], terms(0, ETH, TOKEN, 100, 200)))
    tampered = attrs.evolve(signed_tx, buy_amount=1)  # a better limit for a counterparty, same signature
    assert rejected(state, OrderPlaced(o.encode_order(tampered))) == "unauthorized_spend"
    corrupt = signed_tx.with_signatures((signed_tx.signatures[0][:64] + b"\x05",))
    assert rejected(state, OrderPlaced(o.encode_order(corrupt))) == "signature_corrupt"


def test_orders_are_refused_with_stable_codes(market):
    state, at = market
    assert rejected(state, OrderPlaced(order_bytes([at["a"]], terms(0, ETH, TOKEN, 100, 1, expiry=1000)))) == "order_expired"
    assert rejected(state, OrderPlaced(order_bytes([at["a"]], terms(0, ETH, OMG, 100, 1)))) == "unknown_token_pair"
    assert rejected(state, OrderPlaced(order_bytes([at["a"]], terms(0, ETH, TOKEN, 101, 1)))) == "amounts_do_not_add_up"
    assert rejected(state, OrderPlaced(order_bytes([at["a"], at["a"]], terms(0, ETH, TOKEN, 100, 1)))) == "duplicate_inputs"
    assert rejected(state, OrderPlaced(b"\xc0")) == "malformed_transaction"
    assert rejected(state, OrderPlaced(signed([at["a"]], [out(0, 100)], [0]))) == "unrecognized_transaction_type"
    assert rejected(state, OrderPlaced(order_bytes([encode_utxo_pos(2000, 0, 0)], terms(0, ETH, TOKEN, 1, 1)))) == (
        "input_utxo_ahead_of_state"
    )


def test_an_order_id_names_one_order_ever(market):
    state, at = market
    order = terms(0, ETH, TOKEN, 50, 100)
    state, _ = place(state, [at["a"]], order, (out(0, 50),))
    change = encode_utxo_pos(1000, 0, 1)
    assert rejected(state, OrderPlaced(order_bytes([change], order))) == "duplicate_order"
    place(state, [change], order._replace(nonce=1))  # the nonce makes an equal order distinct


def test_an_order_output_funds_no_other_order(market):
    state, at = market
    state, pos = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 100))
    assert rejected(state, OrderPlaced(order_bytes([pos], terms(0, ETH, TOKEN, 100, 50)))) == "order_output_restricted"


# --- cancel and expiry --------------------------------------------------------------------


def test_the_owner_cancels_by_paying_itself_back(market):
    state, at = market
    state, pos = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 100))
    after = checked(state, Payment(signed([pos], [out(0, 60), out(0, 40)], [0])))
    assert pos not in after.orders and after.utxos[encode_utxo_pos(1000, 1, 0)] == out(0, 60)


def test_before_expiry_an_order_output_goes_nowhere_but_back_to_its_owner(market):
    state, at = market
    state, pos = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 100, expiry=3000))
    assert rejected(state, Payment(signed([pos], [out(0, 60), out(1, 40)], [0]))) == "order_output_restricted"
    assert rejected(state, Payment(signed([pos], [out(0, 100)], [1]))) == "unauthorized_spend"
    state = seal(state)
    state = seal(state)  # the open block is now 3000: the order has expired
    assert dex.open_orders(state) == {}
    after = checked(state, Payment(signed([pos], [out(1, 100)], [0])))
    assert after.utxos[encode_utxo_pos(3000, 0, 0)] == out(1, 100) and not after.orders


def test_expired_orders_are_not_matched(market):
    state, at = market
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200, expiry=2000))
    state = seal(state)
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    assert dex.settlement_for(state) is None
    assert rejected(state, BatchSettled(2000, b"\xc0")) == "nothing_to_settle"
    seal(state)


# --- settlement ----------------------------------------------------------------------------


def test_crossing_orders_settle_at_one_price_full_and_partial(market):
    state, at = market
    state, sell_eth = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))  # at least 2 TOKEN per ETH
    state, buy_eth = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))  # at most 3 TOKEN per ETH
    assert rejected(state, sealed(state)) == "settlement_missing"
    after = settle(state)
    tx = dex.settlement_for(state)
    assert tx.inputs == (sell_eth, buy_eth)
    # 5/2 TOKEN per ETH: all 100 ETH sell for 250 TOKEN; 50 TOKEN of the buyer stay open
    assert [(r.sold, r.bought, r.fee) for r in tx.records] == [(100, 250, 0), (250, 100, 0)]
    paid = [after.utxos[encode_utxo_pos(1000, 2, i)] for i in range(3)]
    assert paid == [out(0, 250, TOKEN), out(1, 100), Output(o.OUTPUT_TYPE_ORDER, ADDRS[1], TOKEN, 50)]
    remainder = encode_utxo_pos(1000, 2, 2)
    assert dict(after.orders) == {remainder: terms(1, TOKEN, ETH, 300, 100)}
    assert after.order_ids[o.order_id(terms(1, TOKEN, ETH, 300, 100))] == buy_eth  # one id across fills
    assert after.open_block_txs[-1] == o.encode_settlement_unsigned(tx) and after.settled_blknum == 1000
    after = seal(after)
    assert after.unspent == state.unspent  # value moved, none made


def test_several_pairs_settle_in_one_transaction(market):
    state, at = market
    state, omg = fund(state, 2, 40, OMG)
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    state, _ = place(state, [at["c"]], terms(2, ETH, OMG, 50, 10))
    state, _ = place(state, [omg], terms(2, OMG, ETH, 40, 40, nonce=1))
    tx = dex.settlement_for(state)
    pairs = {tuple(sorted((r.sell_token, r.buy_token))) for r in tx.records}
    assert len(tx.records) == 4 and len(pairs) == 2
    settle(state)


def test_the_trading_fee_is_taken_from_the_bought_tokens(market, monkeypatch):
    state, at = market
    monkeypatch.setattr(dex, "trading_fee_bps", lambda s, sell, buy: 100 if buy == TOKEN else 250)
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    after = settle(state)
    assert dict(after.open_block_fees) == {TOKEN: 2, ETH: 2}  # 1% of 250 TOKEN, 2.5% of 100 ETH, rounded down
    assert after.utxos[encode_utxo_pos(1000, 2, 0)] == out(0, 248, TOKEN)
    assert after.utxos[encode_utxo_pos(1000, 2, 1)] == out(1, 98)
    after = checked(after, *(FeeCollected(1000, token, 2) for token in sorted((ETH, TOKEN))))
    assert dict(after.fees_collected) == {ETH: 2, TOKEN: 2}


def test_only_the_recomputed_settlement_is_accepted(market):
    state, at = market
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    honest = dex.settlement_for(state)
    r0, r1 = honest.records
    greedy = (o.FillRecord(*r0[:8], r0.bought - 10, 0), r1)  # the operator keeps 10 TOKEN of trader 0's
    cheat = o.SettlementTx(honest.inputs, o.settlement_outputs(greedy[0], 0) + honest.outputs[1:], greedy)
    assert rejected(state, BatchSettled(1000, o.encode_settlement(cheat))) == "wrong_settlement"
    assert rejected(state, BatchSettled(1000, o.encode_settlement_unsigned(honest))) == "wrong_settlement"
    assert rejected(state, BatchSettled(2000, o.encode_settlement(honest))) == "wrong_block_number"
    after = settle(state)
    assert rejected(after, BatchSettled(1000, o.encode_settlement(honest))) == "settlement_repeated"


def test_an_order_placed_after_the_settlement_waits_for_the_next_batch(market):
    state, at = market
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    state = settle(state)
    state, _ = place(state, [at["c"]], terms(2, ETH, TOKEN, 50, 50))  # crosses the remainder
    assert dex.settlement_for(state) is not None
    state = seal(state)  # this block's batch is closed
    assert rejected(state, sealed(state)) == "settlement_missing"
    after = seal(settle(state))
    assert not after.orders or all(t.owner != TRADERS[1][1] for t in after.orders.values())


def test_a_cancelled_order_is_not_matched(market):
    state, at = market
    state, pos = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state = checked(state, Payment(signed([pos], [out(0, 100)], [0])))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    assert dex.settlement_for(state) is None
    seal(state)


# --- front-running resistance -----------------------------------------------------------------


BOOK = [  # (owner, sell, buy, sell amount, buy amount)
    (0, ETH, TOKEN, 40, 80), (1, TOKEN, ETH, 120, 40), (2, ETH, TOKEN, 30, 75), (3, TOKEN, ETH, 60, 30),
    (4, ETH, TOKEN, 25, 50), (5, TOKEN, ETH, 90, 25), (6, ETH, TOKEN, 10, 35),
]


def _placed(arrival: list[int]) -> State:
    state = genesis()
    funding = {}
    for i, (owner, sell, _, amount, _) in enumerate(BOOK):
        state, funding[i] = fund(state, owner, amount, sell)
    for i in arrival:
        owner, sell, buy, amount, limit = BOOK[i]
        state = apply(state, OrderPlaced(order_bytes([funding[i]], terms(owner, sell, buy, amount, limit))))
    return state


def _fills_by_order(state: State) -> dict[bytes, tuple]:
    """The settlement per order id: its record and the outputs paid for it."""
    tx = dex.settlement_for(state)
    found, at = {}, 0
    for pos, record in zip(tx.inputs, tx.records):
        count = 1 + (state.utxos[pos].amount > record.sold)
        found[o.order_id(record.terms)] = (record, tx.outputs[at : at + count])
        at += count
    return found


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(len(BOOK))))
def test_the_settlement_does_not_depend_on_the_order_of_arrival(arrival):
    reference = _fills_by_order(_placed(list(range(len(BOOK)))))
    assert _fills_by_order(_placed(arrival)) == reference
    assert len(reference) >= 4


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(len(BOOK))))
def test_the_same_open_orders_give_the_same_settlement_bytes(arrival):
    """The same orders at the same positions, recorded in any order, settle byte for byte alike."""
    state = _placed(list(range(len(BOOK))))
    items = list(state.orders.items())
    from immutables import Map

    shuffled = attrs.evolve(state, orders=Map([items[i] for i in arrival]))
    assert o.encode_settlement(dex.settlement_for(shuffled)) == o.encode_settlement(dex.settlement_for(state))


# --- end to end: node, store, audit --------------------------------------------------------------


def _trading_node(store: EventStore) -> Node:
    node = Node(store, hook=InvariantHook(full_every=1), snapshot_every=10_000)
    genesis_state = genesis()
    outcomes = node.submit([events.Genesis(VC, ())])
    assert outcomes[0].accepted and node.state.params == genesis_state.params
    deposits = [(0, 100, ETH), (1, 300, TOKEN), (2, 50, ETH), (3, 90, TOKEN)]
    for owner, amount, token in deposits:
        blknum = node.state.next_deposit_blknum
        [outcome] = node.submit([Deposit(blknum, encode(deposit_tx(TRADERS[owner][1], token, amount)))])
        assert outcome.accepted
    funding = [encode_utxo_pos(blknum, 0, 0) for blknum in range(1, 5)]
    book = [terms(0, ETH, TOKEN, 100, 200), terms(1, TOKEN, ETH, 300, 100)]
    outcomes = node.submit([OrderPlaced(order_bytes([funding[i]], book[i])) for i in range(2)])
    assert all(x.accepted for x in outcomes)
    sealing = node.seal()
    assert [x.event.KIND for x in sealing] == ["batch_settled", "block_sealed"] and all(x.accepted for x in sealing)
    outcomes = node.submit([OrderPlaced(order_bytes([funding[2]], terms(2, ETH, TOKEN, 50, 50))),
                            OrderPlaced(order_bytes([funding[3]], terms(3, TOKEN, ETH, 90, 10, expiry=3000)))])
    assert all(x.accepted for x in outcomes)
    sealing = node.seal()
    assert [x.event.KIND for x in sealing] == ["batch_settled", "block_sealed"] and all(x.accepted for x in sealing)
    return node


def test_the_node_settles_before_it_seals_and_the_audit_rederives_every_fill(tmp_path):
    store = EventStore(tmp_path / "ledger.db")
    node = _trading_node(store)
    assert node.state.settled_blknum == 2000
    report = audit(store, InvariantHook(full_every=1))
    assert report.ok, report.failure
    assert report.kinds["batch_settled"] == 2 and report.kinds["order_placed"] == 4
    assert {"INV-DEX-CONSERVED", "INV-DEX-LIMIT", "INV-DEX-ONE-PRICE", "INV-DEX-CUSTODY",
            "INV-DEX-ORDER-BOOK"} <= set(report.invariants_checked)
    store.close()
    restarted = Node(EventStore(tmp_path / "ledger.db"))
    assert restarted.state.orders == node.state.orders and restarted.state.utxos == node.state.utxos


def test_the_block_index_names_the_order_that_spent_each_funding_output(tmp_path):
    """A watcher challenges an exit of a funding output with the ORDER that spent it: the index
    must know that spend, signed, and where its block put it."""
    store = EventStore(tmp_path / "ledger.db")
    _trading_node(store)
    index = BlockIndex()
    index.follow(store)
    for blknum, txindex in ((1, 0), (2, 1), (3, 0), (4, 1)):
        spend = index.spends[encode_utxo_pos(blknum, 0, 0)]
        order_tx = o.decode_order(spend.signed_tx)
        assert spend.input_index == 0 and order_tx.inputs == (encode_utxo_pos(blknum, 0, 0),)
        assert spend.tx_pos == encode_utxo_pos(1000 if blknum < 3 else 2000, txindex, 0)


def test_a_tampered_settlement_in_a_copied_log_fails_the_audit_at_that_event(tmp_path):
    """The copy keeps a valid hash chain (each record re-appended): only re-deriving the fills sees
    that the operator skimmed one unit of a trader's purchase as a fee."""
    store = EventStore(tmp_path / "ledger.db")
    _trading_node(store)
    records = list(store.read())
    index = next(r.index for r in records if r.topic == "batch_settled")
    honest = events.decode(records[index].payload)
    tx = o.decode_settlement(honest.tx)
    first = tx.records[0]
    skimmed = (o.FillRecord(*first[:9], first.fee + 1), *tx.records[1:])
    forged = attrs.evolve(tx, records=skimmed, outputs=o.settlement_outputs(skimmed[0], 0) + tx.outputs[1:])
    copy = EventStore(tmp_path / "copy.db")
    for record in records:
        event = BatchSettled(honest.blknum, o.encode_settlement(forged)) if record.index == index else events.decode(record.payload)
        copy.append([(event.KIND, events.encode(event))])
    report = audit(copy, InvariantHook(full_every=1))
    assert (report.failure.index, report.failure.code) == (index, "wrong_settlement")
    store.close()
    copy.close()


# --- exits: an order output is its owner's on the root chain too ------------------------------


def test_a_standard_exit_of_an_order_output_takes_it_out_of_the_book(market):
    state, at = market
    state, sell_eth = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    leaf = state.open_block_txs[0]
    after = checked(state, events.ExitStarted(1, sell_eth, leaf))
    assert sell_eth not in after.utxos and after.exiting[sell_eth].output_type == o.OUTPUT_TYPE_ORDER
    assert sell_eth not in after.orders and after.exits[1].backed
    assert dex.settlement_for(after) is None  # the exiting order is no longer matched
    paid = checked(after, events.ExitProcessed(1, True))
    assert dict(paid.exited) == {ETH: 100}


def test_an_exit_shows_a_settlement_and_the_remainder_it_holds(market):
    state, at = market
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    state = settle(state)
    remainder = encode_utxo_pos(1000, 2, 2)
    after = checked(state, events.ExitStarted(7, remainder, state.open_block_txs[2]))
    assert after.exits[7].backed and remainder not in after.orders
    assert rejected(state, events.ExitStarted(8, remainder, b"\xc2\x05\xc0")) == "malformed_transaction"


def test_an_order_exits_in_flight_and_its_piggybacked_order_output_leaves_the_book(market):
    """The ORDER exit game takes in-flight exits of orders (an operator withholding their block):
    the follower's event must apply, not halt it as an unknown transaction type."""
    state, at = market
    state, sell_eth = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    funding = encode(deposit_tx(TRADERS[0][1], ETH, 100))
    started = checked(state, events.InFlightExitStarted(9, state.open_block_txs[0], (funding,), (at["a"],)))
    assert started.exits[9].outputs[0].output_type == o.OUTPUT_TYPE_ORDER and sell_eth in started.orders
    after = checked(started, events.InFlightExitPiggybacked(9, True, 0))
    assert sell_eth not in after.utxos and sell_eth not in after.orders
    assert dex.settlement_for(after) is None  # the exiting order is no longer matched


# --- staker-voted trading fees ------------------------------------------------------------------


def test_the_stakers_trading_fee_is_charged_in_the_bought_token(staked):
    from tests.ledger.test_staking import close_epoch
    from tests.ledger.test_trading_fees import trading_vote

    state = staked
    for who in range(3):
        state = checked(state, trading_vote(state, who, {(ETH, TOKEN): 40}))
    state = checked(close_epoch(state), events.FeeEpochClosed(1, (), (events.PairFee(ETH, TOKEN, 40),)))
    state, eth = fund(state, 4, 1000, ETH)
    state, omg = fund(state, 5, 2500, TOKEN)
    state, _ = place(state, [eth], terms(4, ETH, TOKEN, 1000, 2000))
    state, _ = place(state, [omg], terms(5, TOKEN, ETH, 2500, 1000))
    tx = dex.settlement_for(state)
    # 7/3 TOKEN per ETH (the simplest price in the middle of [2, 5/2]); 0.4 % of each purchase, rounded down
    assert [(r.bought, r.fee) for r in tx.records] == [(2333, 9), (1000, 4)]
    after = settle(state)
    assert dict(after.open_block_fees) == {ETH: 4, TOKEN: 9}


def test_a_whole_fee_still_leaves_the_owner_one_unit(market):
    state, at = market
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    assert dex.fill_fee(250, 10_000) == 249 and dex.fill_fee(250, 9_999) == 249 and dex.fill_fee(250, 30) == 0
    assert dex.fill_fee(1, 10_000) == 0


def test_a_snapshot_keeps_the_order_book(market):
    from ledger import snapshot
    from ledger.snapshot import decode_state, encode_state

    state, at = market
    state, _ = place(state, [at["a"]], terms(0, ETH, TOKEN, 100, 200))
    state, _ = place(state, [at["b"]], terms(1, TOKEN, ETH, 300, 100))
    state = settle(state)
    restored = decode_state(encode_state(state))
    assert restored.orders == state.orders and restored.order_ids == state.order_ids
    assert restored.settled_blknum == 1000 and encode_state(restored) == encode_state(state)
    body = lambda s: rlp.decode(encode_state(s))[2]  # noqa: E731
    assert len(body(market[0])) == len(snapshot._STATE_FIELDS)  # no book, no bytes: older states keep their hashes
    assert len(body(state)) == len(snapshot._STATE_FIELDS) + len(snapshot._LATER_FIELDS)
