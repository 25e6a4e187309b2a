"""The child chain's blocks as the log holds them: each block's transactions, and who spent what.

Exits and challenges need data the state does not keep: a block's leaves (for an
inclusion proof) and the signed transaction that spent an output (for a challenge).
`BlockIndex` reads them from the log, incrementally, so a watcher that follows the log
only reads each record once.
"""
from __future__ import annotations

import attrs

from ledger import events
from ledger.events import BlockSealed, Deposit, Payment
from ledger.state import CHILD_BLOCK_INTERVAL
from ledger.store import EventStore
from proofs import merkle
from proofs.payment import decode, decode_utxo_pos, encode_utxo_pos, unsigned_bytes


@attrs.frozen
class SpentBy:
    """The signed transaction that spent an output, the input index, and where it sits."""

    signed_tx: bytes
    input_index: int
    tx_pos: int  # position of the spending transaction (oindex 0); 0 while in the open block


@attrs.define
class BlockIndex:
    read: int = 0  # records consumed
    blocks: dict[int, list[bytes]] = attrs.Factory(dict)  # blknum -> signed txs (deposits unsigned)
    open_txs: list[bytes] = attrs.Factory(list)
    spends: dict[int, SpentBy] = attrs.Factory(dict)  # position -> the spend of it in a block or the open block

    def follow(self, store: EventStore) -> None:
        """Consume the records appended since the last call."""
        for record in store.read(self.read):
            self._consume(events.decode(record.payload))
            self.read = record.index + 1

    def _consume(self, event: events.Event) -> None:
        if isinstance(event, Deposit):
            self.blocks[event.blknum] = [event.tx]
        elif isinstance(event, Payment):  # in the open block: its position is set at the seal
            for input_index, pos in enumerate(decode(event.tx).inputs):
                self.spends[pos] = SpentBy(event.tx, input_index, tx_pos=0)
            self.open_txs.append(event.tx)
        elif isinstance(event, BlockSealed):
            self.blocks[event.blknum] = self.open_txs
            for txindex, raw in enumerate(self.open_txs):
                for pos in decode(raw).inputs:
                    self.spends[pos] = attrs.evolve(self.spends[pos], tx_pos=encode_utxo_pos(event.blknum, txindex, 0))
            self.open_txs = []

    def leaves(self, blknum: int) -> list[bytes]:
        """The block's Merkle leaves: unsigned transaction bytes."""
        return [unsigned_bytes(raw) if blknum % CHILD_BLOCK_INTERVAL == 0 else raw for raw in self.blocks[blknum]]

    def exit_data(self, utxo_pos: int) -> tuple[bytes, bytes]:
        """(transaction bytes, Merkle inclusion proof) for a standard exit of `utxo_pos`."""
        blknum, txindex, _ = decode_utxo_pos(utxo_pos)
        if blknum not in self.blocks:
            raise KeyError(f"block {blknum} is not in the log")
        leaves = self.leaves(blknum)
        return leaves[txindex], merkle.proof(leaves, txindex)
