"""The read model the API answers from: the log folded, published as one immutable value.

Built like `ledger.blocks.BlockIndex` (the log folded with the ledger's own `apply`, so
its blocks are the ledger's blocks by construction, minted outputs included: a block's
leaves are whatever `apply` put in the open block), but in persistent maps published by a
single reference swap: handlers read a consistent `View` while the folder thread moves on,
and neither waits for the other. It also indexes what the API looks up: transactions by
hash, blocks in order, deposits, and each address's transactions.
"""
from __future__ import annotations

import threading
from pathlib import Path

import attrs
from immutables import Map
from pyrsistent import PVector, pvector

from ledger import events
from ledger.clearing import Order, clear
from ledger.dex import open_orders
from ledger.events import BatchSettled, BlockSealed, Deposit, OrderPlaced, Payment, StakeBonded
from ledger.state import GENESIS_STATE, State
from ledger.store import EventStore
from ledger.transition import apply
from proofs.keccak import keccak256
from proofs.order import FillRecord, OrderTx, SettlementTx, decode_transaction, order_id
from proofs.payment import BLOCK_OFFSET, TX_OFFSET, Output, PaymentTx, decode, encode_utxo_pos


@attrs.frozen
class TxRecord:
    leaf: bytes  # unsigned bytes: the Merkle leaf
    signed: bytes  # as submitted (a minted or deposit transaction has no signatures: its leaf)
    blknum: int  # its block (the open block's number while it is open)
    txindex: int


@attrs.frozen
class BlockRecord:
    blknum: int
    root: bytes
    txhashes: tuple[bytes, ...]
    is_deposit: bool


@attrs.frozen
class Trade:
    """One fill of a settlement: the order's record, the pair's uniform price (quote units per
    base unit, base < quote bytewise) and where the unfilled rest went (None: filled)."""

    blknum: int
    txindex: int
    txhash: bytes
    order_id: bytes
    record: FillRecord
    price_num: int
    price_den: int
    remainder_pos: int | None

    @property
    def pair(self) -> tuple[bytes, bytes]:
        return _pair(self.record)


@attrs.frozen
class View:
    state: State = GENESIS_STATE
    txs: Map = Map()  # txhash -> TxRecord
    blocks: Map = Map()  # blknum -> BlockRecord (sealed child blocks and deposit blocks)
    child_blocks: PVector = pvector()  # sealed child blknums, in order
    deposits: PVector = pvector()  # deposit blknums, in order
    open_txs: PVector = pvector()  # txhashes of the open block
    spends: Map = Map()  # utxo position -> (txhash, input index)
    by_address: Map = Map()  # address -> pvector of txhashes, in log order
    trades: PVector = pvector()  # every Trade, in log order
    trades_by_owner: Map = Map()  # address -> pvector of indexes into trades
    trades_by_pair: Map = Map()  # (base, quote) -> pvector of indexes into trades
    fills: Map = Map()  # order id -> pvector of indexes into trades
    prices: Map = Map()  # (base, quote) -> (price_num, price_den, blknum) of its last clearing

    def tx_at(self, blknum: int, txindex: int) -> TxRecord | None:
        block = self.blocks.get(blknum)
        hashes = block.txhashes if block is not None else (self.open_txs if blknum == self.state.next_child_blknum else ())
        return self.txs[hashes[txindex]] if txindex < len(hashes) else None

    def output_at(self, pos: int) -> Output | None:
        """The output at `pos`, spent or not, if a transaction of the log created it."""
        record = self.tx_at(pos // BLOCK_OFFSET, pos % BLOCK_OFFSET // TX_OFFSET)
        outputs = decode_transaction(record.leaf).outputs if record is not None else ()
        oindex = pos % TX_OFFSET
        return outputs[oindex] if oindex < len(outputs) else None

    def creating_txhash(self, pos: int) -> bytes | None:
        record = self.tx_at(pos // BLOCK_OFFSET, pos % BLOCK_OFFSET // TX_OFFSET)
        return keccak256(record.leaf) if record is not None else None

    def fold(self, event: events.Event) -> View:
        before, after = self.state, apply(self.state, event)
        view = attrs.evolve(self, state=after)
        if isinstance(event, Deposit):
            return view._deposit(event, after.blocks[event.blknum].root)
        if isinstance(event, BlockSealed):
            txhashes = tuple(self.open_txs)
            block = BlockRecord(event.blknum, event.root, txhashes, is_deposit=False)
            return attrs.evolve(view, blocks=view.blocks.set(event.blknum, block),
                                child_blocks=view.child_blocks.append(event.blknum), open_txs=pvector())
        for leaf in after.open_block_txs[len(before.open_block_txs):]:
            signed = event.tx if isinstance(event, (Payment, StakeBonded, OrderPlaced, BatchSettled)) else leaf
            view = view._appended(TxRecord(leaf, signed, before.next_child_blknum, len(view.open_txs)), before)
        if isinstance(event, BatchSettled):
            return view._settled(before, keccak256(after.open_block_txs[-1]), len(view.open_txs) - 1)
        return view

    def _settled(self, before: State, txhash: bytes, txindex: int) -> View:
        """Indexes a settlement's fills, priced by the clearing the ledger ran on `before`."""
        live = open_orders(before)
        pairs = clear(Order(oid, o.terms.sell_token, o.terms.buy_token, o.amount, o.terms.sell_amount,
                            o.terms.buy_amount) for oid, o in live.items())
        prices = {(p.base, p.quote): (p.price_num, p.price_den) for p in pairs}
        tx = decode_transaction(self.txs[txhash].leaf)
        trades, by_owner, by_pair, fills = self.trades, self.trades_by_owner, self.trades_by_pair, self.fills
        blknum, at = before.next_child_blknum, 0
        for pos, record in zip(tx.inputs, tx.records):
            at += 1  # the bought tokens, then the remainder if any
            remainder = encode_utxo_pos(blknum, txindex, at) if before.utxos[pos].amount > record.sold else None
            at += remainder is not None
            oid = order_id(record.terms)
            trade = Trade(blknum, txindex, txhash, oid, record, *prices[_pair(record)], remainder)
            index = len(trades)
            trades = trades.append(trade)
            by_owner = by_owner.set(record.owner, by_owner.get(record.owner, pvector()).append(index))
            by_pair = by_pair.set(trade.pair, by_pair.get(trade.pair, pvector()).append(index))
            fills = fills.set(oid, fills.get(oid, pvector()).append(index))
        last = self.prices
        for pair, (num, den) in prices.items():
            last = last.set(pair, (num, den, blknum))
        return attrs.evolve(self, trades=trades, trades_by_owner=by_owner, trades_by_pair=by_pair, fills=fills,
                            prices=last)

    def _deposit(self, event: Deposit, root: bytes) -> View:
        txhash = keccak256(event.tx)
        record = TxRecord(event.tx, event.tx, event.blknum, 0)
        view = attrs.evolve(self, txs=self.txs.set(txhash, record), deposits=self.deposits.append(event.blknum),
                            blocks=self.blocks.set(event.blknum, BlockRecord(event.blknum, root, (txhash,), True)))
        return view._index_addresses(txhash, decode(event.tx), self.state)

    def _appended(self, record: TxRecord, before: State) -> View:
        txhash = keccak256(record.leaf)
        tx = decode_transaction(record.leaf)  # a payment, an order or a settlement
        spends = self.spends
        for index, pos in enumerate(tx.inputs):
            spends = spends.set(pos, (txhash, index))
        view = attrs.evolve(self, txs=self.txs.set(txhash, record), open_txs=self.open_txs.append(txhash), spends=spends)
        return view._index_addresses(txhash, tx, before)

    def _index_addresses(self, txhash: bytes, tx: PaymentTx | OrderTx | SettlementTx, before: State) -> View:
        """`before`: the state the inputs were spent from; their owners are read from its
        unspent outputs rather than by decoding each creating transaction again."""
        inputs = (before.utxos.get(pos) or self.output_at(pos) for pos in tx.inputs)
        owners = {o.owner for o in tx.outputs} | {o.owner for o in inputs if o is not None}
        by_address = self.by_address
        for owner in owners:
            by_address = by_address.set(owner, by_address.get(owner, pvector()).append(txhash))
        return attrs.evolve(self, by_address=by_address)


def _pair(record: FillRecord) -> tuple[bytes, bytes]:
    return min(record.sell_token, record.buy_token), max(record.sell_token, record.buy_token)


class Folder:
    """Folds the log into `current` on its own thread, over its own read-only connection:
    `poke()` after a write; `wait_for(n)` lets a read see at least the first n events."""

    def __init__(self, path: Path) -> None:
        self.current = View()
        self._path = path
        self._cond = threading.Condition()
        self._poked = threading.Event()
        self._stop = False
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="omg-http-view", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._poked.set()

    def wait_for(self, count: int, timeout: float = 5.0) -> View:
        with self._cond:
            self._cond.wait_for(lambda: self.current.state.event_count >= count or self.error is not None, timeout)
        return self.current

    def close(self) -> None:
        self._stop = True
        self._poked.set()
        self._thread.join()

    def _run(self) -> None:
        store = EventStore(self._path, read_only=True)
        try:
            while not self._stop:
                self._catch_up(store)
                self._poked.wait(1.0)
                self._poked.clear()
        except Exception as exc:  # a log the node wrote but this fold refuses: say so on every read
            self.error = exc
            with self._cond:
                self._cond.notify_all()
        finally:
            store.close()

    def _catch_up(self, store: EventStore) -> None:
        view = self.current
        for page in store.read_pages(view.state.event_count):
            for record in page:
                view = view.fold(events.decode(record.payload))
            with self._cond:
                self.current = view
                self._cond.notify_all()
