"""The block index (leaves, spends, exit data) that watchers and exits rely on: mutation
testing found no test reaching it (docs/mutation.md)."""
from __future__ import annotations

import pytest

from ledger.blocks import BlockIndex, SpentBy
from ledger.events import Deposit, Genesis, Payment
from ledger.node import Node
from ledger.store import EventStore
from proofs import merkle
from proofs.payment import decode, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from tests.conftest import ADDRS, ETH, VC, out, signed

D1, D2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)


def _accept(node: Node, *events) -> None:
    assert all(outcome.accepted for outcome in node.submit(list(events)))


def test_the_index_holds_each_block_s_leaves_who_spent_what_and_exit_data():
    node = Node(EventStore(None))
    deposits = [encode(deposit_tx(ADDRS[0], ETH, 100)), encode(deposit_tx(ADDRS[1], ETH, 50))]
    p1 = signed([D1], [out(2, 60), out(0, 40)], [0])
    p2 = signed([D2], [out(3, 50)], [1])
    _accept(node, Genesis(VC, ()), Deposit(1, deposits[0]), Deposit(2, deposits[1]), Payment(p1), Payment(p2))
    assert all(outcome.accepted for outcome in node.seal())
    change, forty_nine = encode_utxo_pos(1000, 0, 1), encode_utxo_pos(1000, 1, 0)
    p3 = signed([change, forty_nine], [out(1, 90)], [0, 3])
    _accept(node, Payment(p3))

    index = BlockIndex()
    index.follow(node.store)
    assert index.state == node.state
    leaves = [encode_unsigned(decode(p1)), encode_unsigned(decode(p2))]
    assert index.leaves(1) == [deposits[0]] and index.leaves(2) == [deposits[1]]
    assert index.leaves(1000) == leaves and merkle.root(leaves) == node.state.blocks[1000].root
    assert index.spends[D1] == SpentBy(p1, 0, encode_utxo_pos(1000, 0, 0))
    assert index.spends[D2] == SpentBy(p2, 0, encode_utxo_pos(1000, 1, 0))
    assert index.spends[forty_nine] == SpentBy(p3, 1, 0)  # in the open block: no position yet

    tx, proof = index.exit_data(forty_nine)
    assert (tx, proof) == (leaves[1], merkle.proof(leaves, 1))
    assert merkle.verify(tx, 1, node.state.blocks[1000].root, proof)
    with pytest.raises(KeyError):
        index.exit_data(encode_utxo_pos(2000, 0, 0))

    assert all(outcome.accepted for outcome in node.seal())
    index.follow(node.store)  # only the new records
    assert index.state == node.state
    assert index.spends[forty_nine] == SpentBy(p3, 1, encode_utxo_pos(2000, 0, 0))
    assert index.spends[change] == SpentBy(p3, 0, encode_utxo_pos(2000, 0, 0))
    assert index.leaves(2000) == [encode_unsigned(decode(p3))]
