"""DEX rules: signed orders in restricted custody, settled in one uniform-price batch per child block.

- Placing an order (`OrderPlaced`) is an ORDER transaction (tx type 4, `proofs.order`), checked
  as a payment is (inputs unspent and signed by their owners, the implicit fee of the schedule
  keyed by tx type 4) and recorded as a leaf of the open child block. Its first output is the
  order output: still its owner's, but only a settlement, its owner's cancel (a payment back to
  the owner, `plasma.check_order_custody`) or, from its expiry block on, its owner can spend it.
- Settling (`BatchSettled`): before a child block is sealed, the open orders that have not
  expired are cleared (`ledger.clearing.clear`: one price per pair, every fill within its
  limit). The operator proposes the SETTLEMENT transaction (tx type 5); `apply` recomputes it
  from the open orders and the per-pair trading fee and accepts nothing else, so the validators
  who sign the block and an auditor who replays the log re-derive every fill. The settlement is
  a leaf of the block: it spends the filled order outputs and pays each owner what it bought
  net of the trading fee, keeping what is left open as an order output of the same order. The
  fees join the open block's fees, in the bought token.
- A block is sealed only once its batch is settled: if open orders cross and no settlement was
  applied in this block, the seal is refused. One settlement per block; orders placed after it
  wait for the next block's batch.
"""
from __future__ import annotations

import attrs

from ledger import fees, plasma
from ledger.clearing import Fill, Order, clear
from ledger.errors import Rejected
from ledger.events import BatchSettled, BlockSealed, OrderPlaced
from ledger.fee_votes import trading_fee, trading_fee_bps
from ledger.state import Effects, State, add_to
from proofs import eip712, merkle
from proofs.errors import DecodeError
from proofs.order import (
    ORDER_TX_TYPE,
    OUTPUT_TYPE_ORDER,
    FillRecord,
    OrderTerms,
    OrderTx,
    SettlementTx,
    decode_order,
    encode_settlement,
    encode_settlement_unsigned,
    order_id,
    settlement_outputs,
    signing_hash_with_separator,
)
from proofs.payment import unsigned_bytes

NULL_SIGNATURE = bytes(65)  # as in a payment (elixir-omg): an all-zero signature is absent


def fill_fee(bought: int, bps: int) -> int:
    """The trading fee of a fill: `bps` of what it bought, rounded down (`fee_votes.trading_fee`),
    but never all of it: a vote may reach 10,000 bps, and an output of 0 is no output (DEX.md
    pays every filled owner `bought - fee` > 0)."""
    return min(trading_fee(bought, bps), bought - 1)


# --- placing an order --------------------------------------------------------------------

def _order_tx(raw: bytes) -> OrderTx:
    try:
        return decode_order(raw)
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None


def _order_signers(tx: OrderTx, separator: bytes) -> tuple[bytes, ...]:
    """One recovered address per input, in input order, as a payment's."""
    present = [s for s in tx.signatures if s != NULL_SIGNATURE]
    if len(present) < len(tx.inputs):
        raise Rejected("missing_signature", f"{len(tx.inputs)} inputs, {len(present)} signatures")
    if len(present) > len(tx.inputs):
        raise Rejected("superfluous_signature", f"{len(tx.inputs)} inputs, {len(present)} signatures")
    digest = signing_hash_with_separator(tx, separator)
    try:
        return tuple(eip712.recover(digest, signature) for signature in present)
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None


def apply_order_placed(state: State, event: OrderPlaced) -> State:
    """Moves signed payment outputs into an order output (and change) in the open child block."""
    params = plasma.params_of(state)
    tx = _order_tx(event.tx)
    if len(set(tx.inputs)) != len(tx.inputs):
        raise Rejected("duplicate_inputs", "an input appears twice")
    signers = _order_signers(tx, params.domain_separator)
    spent = plasma.owned_inputs(state, tx.inputs, signers)
    for pos, output in spent:
        if output.output_type == OUTPUT_TYPE_ORDER:
            raise Rejected("order_output_restricted", f"input {pos} is an order output: only a cancel or a settlement spends it")
    terms = tx.terms
    if terms.expiry <= state.next_child_blknum:
        raise Rejected("order_expired", f"expiry {terms.expiry} is not after the open block {state.next_child_blknum}")
    if terms.buy_token not in state.deposited:
        raise Rejected("unknown_token_pair", f"token 0x{terms.buy_token.hex()} was never deposited")
    oid = order_id(terms)
    if oid in state.order_ids:
        raise Rejected("duplicate_order", f"order 0x{oid.hex()} was placed at {state.order_ids[oid]}")
    fee_token, fee = fees.implicit_fee(ORDER_TX_TYPE, [o for _, o in spent], tx.outputs, params.fee_schedule)
    created = plasma.new_outputs(state, tx.outputs)
    after = plasma.record_payment(state, unsigned_bytes(event.tx), spent, created, signers, fee_token, fee)
    pos = created[0][0]
    return attrs.evolve(
        after,
        orders=state.orders.set(pos, terms),
        order_ids=state.order_ids.set(oid, pos),
        effects=attrs.evolve(after.effects, kind=OrderPlaced.KIND),
    )


# --- the batch -----------------------------------------------------------------------------

@attrs.frozen
class OpenOrder:
    pos: int
    terms: OrderTerms
    amount: int  # of the sell token, still open


def open_orders(state: State) -> dict[bytes, OpenOrder]:
    """By order id, the order outputs a settlement of the open block may fill: unspent on the
    child chain and not expired (an order expires from its expiry block on)."""
    found = {}
    for pos, terms in state.orders.items():
        if state.next_child_blknum < terms.expiry:
            found[order_id(terms)] = OpenOrder(pos, terms, state.utxos[pos].amount)
    return found


_last_batch: list = [None, None, 0, None]  # (orders, utxos, open block, (open orders, fills))


def batch(state: State) -> tuple[dict[bytes, OpenOrder], tuple[Fill, ...]]:
    """The open orders and the fills the clearing gives them. Memoised on the maps it reads
    (immutable, compared by identity): the node asks before proposing a settlement or a seal,
    and `apply` asks again for the same state."""
    key = (state.orders, state.utxos, state.next_child_blknum)
    if _last_batch[0] is key[0] and _last_batch[1] is key[1] and _last_batch[2] == key[2]:
        return _last_batch[3]
    live = open_orders(state)
    orders = (Order(oid, o.terms.sell_token, o.terms.buy_token, o.amount, o.terms.sell_amount, o.terms.buy_amount)
              for oid, o in live.items())
    fills = tuple(fill for pair in clear(orders) for fill in pair.fills)
    _last_batch[:] = [*key, (live, fills)]
    return live, fills


def settlement_for(state: State) -> SettlementTx | None:
    """The settlement of the open block's batch, or None when no open orders cross: inputs
    sorted by position, each paid its fill net of the pair's trading fee."""
    live, fills = batch(state)
    if not fills:
        return None
    rows = sorted(((live[fill.order_id], fill) for fill in fills), key=lambda row: row[0].pos)
    inputs, outputs, records = [], [], []
    for order, fill in rows:
        terms = order.terms
        assert 0 < fill.sold <= order.amount and fill.bought > 0, f"clearing over-filled {fill}"
        fee = fill_fee(fill.bought, trading_fee_bps(state, terms.sell_token, terms.buy_token))
        record = FillRecord(*terms, fill.sold, fill.bought, fee)
        inputs.append(order.pos)
        records.append(record)
        outputs += settlement_outputs(record, order.amount - fill.sold)
    return SettlementTx(inputs, outputs, records)


def apply_batch_settled(state: State, event: BatchSettled) -> State:
    """Applies the settlement of the open block's batch, exactly as recomputed here."""
    plasma.params_of(state)
    if event.blknum != state.next_child_blknum:
        raise Rejected("wrong_block_number", f"open child block is {state.next_child_blknum}, got {event.blknum}")
    if state.settled_blknum == event.blknum:
        raise Rejected("settlement_repeated", f"block {event.blknum}'s batch is settled")
    expected = settlement_for(state)
    if expected is None:
        raise Rejected("nothing_to_settle", f"no open orders cross in block {event.blknum}")
    if event.tx != encode_settlement(expected):
        raise Rejected("wrong_settlement", f"block {event.blknum}'s batch settles as {encode_settlement(expected).hex()}")
    return _record_settlement(state, expected)


def _record_settlement(state: State, tx: SettlementTx) -> State:
    spent = tuple((pos, state.utxos[pos]) for pos in tx.inputs)
    created = plasma.new_outputs(state, tx.outputs)
    after = plasma.record_payment(state, encode_settlement_unsigned(tx), spent, created, (), b"", 0)
    trading_fees, orders = after.open_block_fees, state.orders.mutate()
    at = 0  # each input's outputs: the bought tokens, then the remainder if any
    for (pos, output), record in zip(spent, tx.records):
        if record.fee:
            trading_fees = add_to(trading_fees, record.buy_token, record.fee)
        terms = orders.pop(pos)
        at += 1
        if output.amount > record.sold:
            orders[created[at][0]] = terms  # the remainder is the same order, under its id
            at += 1
    assert at == len(created)
    return attrs.evolve(
        after,
        open_block_fees=trading_fees,
        orders=orders.finish(),
        settled_blknum=state.next_child_blknum,
        effects=Effects(BatchSettled.KIND, spent, created),
    )


def apply_block_sealed(state: State, event: BlockSealed) -> State:
    """Sealing closes the block's batch: refused while open orders cross unless this block's
    settlement was applied; then the Plasma seal (`plasma.apply_block_sealed`)."""
    # a full block has no room for a settlement: its batch waits for the next block
    exempt = state.settled_blknum == event.blknum or len(state.open_block_txs) >= merkle.MAX_LEAVES
    if state.params is not None and event.blknum == state.next_child_blknum and not exempt and batch(state)[1]:
        raise Rejected("settlement_missing", f"open orders cross: block {event.blknum}'s batch must be settled first")
    return plasma.apply_block_sealed(state, event)
