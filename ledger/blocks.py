"""The child chain's blocks as the log holds them: each block's leaves, and who spent what.

Exits and challenges need data the state does not keep: a block's leaves (for an
inclusion proof) and the signed transaction that spent an output (for a challenge).
`BlockIndex` folds the log with the ledger's own `apply`, incrementally, and keeps the
leaves each event appended: payments, bonds and the outputs the ledger mints alike, so
its blocks are the ledger's blocks by construction. Folding for itself, rather than
trusting the operator's state, is also what a watcher is for.
"""
from __future__ import annotations

import attrs

from ledger import events
from ledger.events import BlockSealed, Deposit, OrderPlaced, Payment, StakeBonded
from ledger.state import GENESIS_STATE, State
from ledger.store import EventStore
from ledger.transition import apply
from proofs import merkle
from proofs.order import decode_transaction
from proofs.payment import decode_utxo_pos, encode_utxo_pos


@attrs.frozen
class SpentBy:
    """The signed transaction that spent an output, the input index, and where it sits."""

    signed_tx: bytes
    input_index: int
    tx_pos: int  # position of the spending transaction (oindex 0); 0 while in the open block


@attrs.define
class BlockIndex:
    state: State = GENESIS_STATE  # the fold of the records consumed
    blocks: dict[int, list[bytes]] = attrs.Factory(dict)  # blknum -> Merkle leaves (unsigned tx bytes)
    spends: dict[int, SpentBy] = attrs.Factory(dict)  # position -> the spend of it in a block or the open block
    _open_spends: list[tuple[int, int]] = attrs.Factory(list)  # (position, txindex) spent in the open block

    def follow(self, store: EventStore) -> None:
        """Consume the records appended since the last call (a stored record `apply` refuses
        means the log is corrupt: `Rejected` propagates; run `omg audit`)."""
        for record in store.read(self.state.event_count):
            self._consume(events.decode(record.payload))

    def _consume(self, event: events.Event) -> None:
        before = self.state
        self.state = apply(before, event)
        if isinstance(event, Deposit):
            self.blocks[event.blknum] = [event.tx]
        elif isinstance(event, (Payment, StakeBonded, OrderPlaced)):  # signed spends, in the open block until the seal
            txindex = len(before.open_block_txs)
            for input_index, pos in enumerate(decode_transaction(event.tx).inputs):
                self.spends[pos] = SpentBy(event.tx, input_index, tx_pos=0)
                self._open_spends.append((pos, txindex))
        elif isinstance(event, BlockSealed):
            self.blocks[event.blknum] = list(before.open_block_txs)
            for pos, txindex in self._open_spends:
                self.spends[pos] = attrs.evolve(self.spends[pos], tx_pos=encode_utxo_pos(event.blknum, txindex, 0))
            self._open_spends = []

    def leaves(self, blknum: int) -> list[bytes]:
        """The block's Merkle leaves: unsigned transaction bytes."""
        return self.blocks[blknum]
    def exit_data(self, utxo_pos: int) -> tuple[bytes, bytes]:
        """(transaction bytes, Merkle inclusion proof) for a standard exit of `utxo_pos`."""
        blknum, txindex, _ = decode_utxo_pos(utxo_pos)
        if blknum not in self.blocks:
            raise KeyError(f"block {blknum} is not in the log")
        leaves = self.leaves(blknum)
        return leaves[txindex], merkle.proof(leaves, txindex)
