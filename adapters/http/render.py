"""OMG's JSON shapes from the read model: utxos, transactions, blocks, deposits, pages."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from adapters.http.codec import to_hex
from adapters.http.view import TxRecord, View
from proofs import merkle
from proofs.keccak import keccak256
from proofs.order import decode_transaction
from proofs.payment import BLOCK_OFFSET, TX_OFFSET, Output, encode_utxo_pos


def utxo(view: View, pos: int, output: Output) -> dict[str, Any]:
    spend = view.spends.get(pos)
    creating = view.creating_txhash(pos)
    return {
        "blknum": pos // BLOCK_OFFSET, "txindex": pos % BLOCK_OFFSET // TX_OFFSET, "otype": output.output_type,
        "oindex": pos % TX_OFFSET, "utxo_pos": pos, "owner": to_hex(output.owner), "currency": to_hex(output.token),
        "amount": output.amount, "creating_txhash": to_hex(creating) if creating else None,
        "spending_txhash": to_hex(spend[0]) if spend else None, "inserted_at": None, "updated_at": None,
    }


def block(view: View, blknum: int) -> dict[str, Any] | None:
    record = view.blocks.get(blknum)
    if record is None:
        return None
    return {"blknum": blknum, "hash": to_hex(record.root), "eth_height": None, "timestamp": None,
            "tx_count": len(record.txhashes), "inserted_at": None, "updated_at": None}


def transaction(view: View, record: TxRecord) -> dict[str, Any]:
    tx = decode_transaction(record.leaf)
    inputs = [utxo(view, pos, out) for pos in tx.inputs if (out := view.output_at(pos)) is not None]
    outputs = [utxo(view, encode_utxo_pos(record.blknum, record.txindex, i), out) for i, out in enumerate(tx.outputs)]
    return {"txindex": record.txindex, "txtype": tx.tx_type, "txhash": to_hex(keccak256(record.leaf)),
            "metadata": to_hex(tx.metadata), "txbytes": to_hex(record.signed), "inserted_at": None,
            "updated_at": None, "block": block(view, record.blknum), "inputs": inputs, "outputs": outputs}


def newest_first(view: View) -> Iterator[bytes]:
    """Transaction hashes, newest first: the open block, then sealed blocks (deposits apart)."""
    yield from reversed(view.open_txs)
    for blknum in reversed(view.child_blocks):
        yield from reversed(view.blocks[blknum].txhashes)


def page(items: Iterable[Any], number: int, limit: int) -> list[Any]:
    return list(islice(items, (number - 1) * limit, number * limit))


def leaves(view: View, blknum: int) -> list[bytes]:
    return [view.txs[h].leaf for h in view.blocks[blknum].txhashes]


def inclusion(view: View, record: TxRecord) -> tuple[int, bytes] | None:
    """(position, Merkle proof) of a transaction in a sealed or deposit block; None while open."""
    if record.blknum not in view.blocks:
        return None
    return encode_utxo_pos(record.blknum, record.txindex, 0), merkle.proof(leaves(view, record.blknum), record.txindex)
