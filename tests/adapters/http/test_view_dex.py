"""The HTTP read model folds a trading log: orders and settlements are transactions of their
blocks, rendered with their types, and their owners find them by address."""
from __future__ import annotations

from adapters.http import render
from adapters.http.view import View
from ledger import events
from ledger.store import EventStore
from proofs import order as o
from proofs.keccak import keccak256
from tests.ledger.test_dex import TRADERS, _trading_node


def test_orders_and_settlements_are_read_like_payments(tmp_path):
    store = EventStore(tmp_path / "ledger.db")
    _trading_node(store)
    view = View()
    for record in store.read():
        view = view.fold(events.decode(record.payload))
    leaves = [view.txs[h].leaf for h in view.blocks[1000].txhashes]
    assert [o.decode_transaction(leaf).tx_type for leaf in leaves] == [4, 4, 5]
    settlement = view.txs[view.blocks[1000].txhashes[2]]
    rendered = render.transaction(view, settlement)
    assert rendered["txtype"] == o.SETTLEMENT_TX_TYPE and rendered["txhash"] == "0x" + keccak256(settlement.leaf).hex()
    assert [u["otype"] for u in rendered["inputs"]] == [3, 3]
    assert [u["otype"] for u in rendered["outputs"]] == [1, 1, 3]  # bought, bought, the remainder
    placed = render.transaction(view, view.txs[view.blocks[1000].txhashes[0]])
    assert placed["txtype"] == o.ORDER_TX_TYPE and placed["outputs"][0]["spending_txhash"] == rendered["txhash"]
    assert keccak256(settlement.leaf) in view.by_address[TRADERS[1][1]]
    store.close()
