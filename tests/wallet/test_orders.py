"""The SDK's orders against a live node: two traders place crossing orders, the watcher sees
each fill once, a partly filled order is cancelled back to its owner, an order that expires
is reported and taken back; the SDK refuses an order the node planned otherwise."""
from __future__ import annotations

from fractions import Fraction

import attrs
import pytest

from proofs.order import decode_order, encode_order_unsigned
from tests.conftest import ETH, TOKEN
from tests.wallet.nodes import ALICE, ALICE_KEY, BOB, BOB_KEY
from tests.wallet.nodes import market  # noqa: F401 (fixture)
from wallet.account import Account
from wallet.client import NodeClient
from wallet.errors import WalletError
from wallet.orders import Trader, book, clearing_prices, order
from wallet.watch import OrderExpired, OrderFilled, Watcher


def test_place_watch_fills_cancel_and_expire(market):
    node = NodeClient(market.url)
    alice, bob = Trader(Account(node, ALICE_KEY)), Trader(Account(node, BOB_KEY))
    watcher = Watcher(node, addresses=[ALICE, BOB])
    asked, _ = alice.place(ETH, 50, TOKEN, 100)  # at least 2 TOKEN per ETH
    bid, _ = bob.place(TOKEN, 60, ETH, 20)  # at most 3
    [depth] = book(node, (TOKEN, ETH))
    assert [(x.price, x.amount) for x in depth.asks] == [(2, 50)] and [(x.price, x.amount) for x in depth.bids] == [(3, 60)]
    assert [o.order_id for o in alice.open_orders()] == [asked]
    assert watcher.poll() == []

    sealed = market.ok("block.seal")
    fills = [e for e in watcher.poll() if isinstance(e, OrderFilled)]
    assert sorted((e.trade.owner, e.trade.sold, e.trade.bought) for e in fills) == sorted([(ALICE, 30, 60), (BOB, 60, 30)])
    assert all(e.trade.price == Fraction(2) and e.trade.blknum == sealed["blknum"] for e in fills)
    assert watcher.poll() == []  # each fill once
    assert clearing_prices(node) == {(ETH, TOKEN): (Fraction(2), sealed["blknum"])}
    assert order(node, bid)[0].status == "filled" and [t.sold for t in bob.trades()] == [60]
    assert node.balance(BOB)[ETH] == 30

    partial, [fill] = order(node, asked)
    assert (partial.status, partial.amount, fill.bought) == ("open", 20, 60)
    alice.cancel(asked)  # the remainder back, less the payment fee in ETH
    assert order(node, asked)[0].status == "cancelled" and alice.open_orders() == []
    assert node.balance(ALICE) == {ETH: 105 - 50 - 1 + 19, TOKEN: 60}
    with pytest.raises(WalletError) as closed:
        alice.cancel(asked)
    assert closed.value.code == "order_closed"

    soon = market.node.state.next_child_blknum + 1000
    brief, _ = bob.place(TOKEN, 100, ETH, 1000, expiry=soon)  # pays its fee in TOKEN
    market.ok("block.seal")
    assert [e.order.order_id for e in watcher.poll() if isinstance(e, OrderExpired)] == [brief]
    assert watcher.poll() == [] and book(node) == []
    with pytest.raises(WalletError) as foreign:
        alice.cancel(brief)
    assert foreign.value.code == "not_the_owner"
    bob.cancel(brief)  # the fee from another of bob's outputs: there is no ETH fee in TOKEN
    assert node.balance(BOB) == {ETH: 29, TOKEN: 300 - 60 - 2 - 100 - 2 + 100}  # two order fees


def test_the_sdk_signs_only_the_order_it_asked_for(market, monkeypatch):
    node = NodeClient(market.url)
    alice = Trader(Account(node, ALICE_KEY))
    honest = node.call

    def lying(route, body=None):
        answer = honest(route, body)
        if route == "order.create":
            tx = decode_order(bytes.fromhex(answer["txbytes"][2:]))
            answer["txbytes"] = "0x" + encode_order_unsigned(attrs.evolve(tx, buy_amount=tx.buy_amount // 2)).hex()
        return answer

    monkeypatch.setattr(node, "call", lying)
    with pytest.raises(WalletError) as refused:
        alice.place(ETH, 50, TOKEN, 100)
    assert refused.value.code == "order_mismatch"
    monkeypatch.undo()
    assert alice.open_orders() == []
