"""The DEX through the real HTTP server: `order.create` plans an ORDER transaction, the owner
signs it and `transaction.submit` places it; the book, the open orders, the trades, the
clearing prices and each order's status follow the ledger through a settlement, a cancel
and an expiry; refusals are OMG error objects."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.events import Deposit, FeeRule, Genesis
from ledger.node import Node
from proofs import eip712, order as o
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, deposit_tx, encode
from tests.adapters.http.conftest import Api, serve
from tests.conftest import ADDRS, ETH, KEYS, TOKEN, VC

FEES = (FeeRule(1, ETH, 1), FeeRule(1, TOKEN, 1), FeeRule(4, ETH, 1), FeeRule(4, TOKEN, 1))


def traders(node: Node) -> None:
    node.submit([Genesis(VC, FEES)])
    for owner, token, amount in [(0, ETH, 100), (1, TOKEN, 300), (2, ETH, 40)]:
        [outcome] = node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(ADDRS[owner], token, amount)))])
        assert outcome.accepted, outcome


@pytest.fixture
def dex(tmp_path) -> Iterator[Api]:
    yield from serve(tmp_path, traders)


def hexa(raw: bytes) -> str:
    return "0x" + raw.hex()


def place(api: Api, owner: int, sell: bytes, buy: bytes, sell_amount: int, buy_amount: int, **extra) -> dict:
    """order.create, then the owner's EIP-712 signature over what it planned, then transaction.submit."""
    created = api.ok("order.create", {"owner": hexa(ADDRS[owner]), "sell_token": hexa(sell), "buy_token": hexa(buy),
                                      "sell_amount": sell_amount, "buy_amount": buy_amount, **extra})
    tx = o.decode_order(bytes.fromhex(created["txbytes"][2:]))
    assert tx.terms[:5] == (ADDRS[owner], sell, buy, sell_amount, buy_amount)
    assert created["sign_hash"] == hexa(o.signing_hash(tx, VC)) and created["order_id"] == hexa(o.order_id(tx.terms))
    assert created["typed_data"]["message"]["order"]["sellAmount"] == sell_amount
    signed = o.sign_order(tx, tuple(KEYS[owner] for _ in tx.inputs), VC)
    submitted = api.ok("transaction.submit", {"transaction": hexa(signed)})
    return {**created, **submitted}


def test_orders_cross_settle_and_are_read_back(dex):
    asking = place(dex, 0, ETH, TOKEN, 50, 100)  # at least 2 TOKEN per ETH
    bidding = place(dex, 1, TOKEN, ETH, 60, 20)  # at most 3 TOKEN per ETH
    assert bidding["txindex"] == asking["txindex"] + 1 and asking["fee"] == {"amount": 1, "currency": hexa(ETH)}
    [book] = dex.ok("order.book", {"tokens": [hexa(TOKEN), hexa(ETH)]})
    assert (book["base"], book["quote"]) == (hexa(ETH), hexa(TOKEN))
    assert book["asks"] == [{"price_num": 2, "price_den": 1, "amount": 50, "orders": 1}]
    assert book["bids"] == [{"price_num": 3, "price_den": 1, "amount": 60, "orders": 1}]
    [mine] = dex.ok("order.all", {"address": hexa(ADDRS[0])})
    assert mine["status"] == "open" and mine["amount"] == 50 and mine["order_id"] == asking["order_id"]
    assert mine["utxo_pos"] == asking["blknum"] * 10**9 + asking["txindex"] * 10**4

    sealed = dex.ok("block.seal")
    assert sealed["tx_count"] == 3  # two orders and their settlement
    [price] = dex.ok("clearing.prices")
    assert (price["price_num"], price["price_den"], price["blknum"]) == (2, 1, sealed["blknum"])  # the most volume: the asker's limit
    trades = dex.ok("trade.all", {"tokens": [hexa(ETH), hexa(TOKEN)]})
    assert {(t["owner"], t["sold"], t["bought"]) for t in trades} == {(hexa(ADDRS[0]), 30, 60), (hexa(ADDRS[1]), 60, 30)}
    assert [t["order_id"] for t in dex.ok("trade.all", {"address": hexa(ADDRS[1])})] == [bidding["order_id"]]
    assert dex.ok("trade.all", {"address": hexa(ADDRS[2])}) == []

    filled = dex.ok("order.get", {"id": bidding["order_id"]})
    assert filled["status"] == "filled" and filled["amount"] == 0 and filled["utxo_pos"] is None
    partial = dex.ok("order.get", {"id": asking["order_id"]})
    assert partial["status"] == "open" and partial["amount"] == 20 and len(partial["fills"]) == 1
    assert partial["placed_txhash"] == asking["txhash"] and partial["fills"][0]["blknum"] == sealed["blknum"]
    [book] = dex.ok("order.book")
    assert book["asks"] == [{"price_num": 2, "price_den": 1, "amount": 20, "orders": 1}] and book["bids"] == []

    # the cancel: the owner pays the remainder back to itself, less the payment fee
    cancel = PaymentTx(inputs=[partial["utxo_pos"]], outputs=[Output(OUTPUT_TYPE_PAYMENT, ADDRS[0], ETH, 19)])
    signed = encode(cancel.with_signatures((eip712.sign(eip712.signing_hash(cancel, VC), KEYS[0]),)))
    dex.ok("transaction.submit", {"transaction": hexa(signed)})
    assert dex.ok("order.get", {"id": asking["order_id"]})["status"] == "cancelled"
    assert dex.ok("order.book") == [] and dex.ok("order.all", {"address": hexa(ADDRS[0])}) == []


def test_an_expired_order_leaves_the_book_but_stays_its_owners(dex):
    blknum = dex.node.state.next_child_blknum
    placed = place(dex, 2, ETH, TOKEN, 30, 90, expiry=blknum + 1000, nonce=7)
    assert o.decode_order(bytes.fromhex(placed["txbytes"][2:])).nonce == 7
    dex.ok("block.seal")
    assert dex.ok("order.book") == []
    [mine] = dex.ok("order.all", {"address": hexa(ADDRS[2])})
    assert mine["status"] == "expired" and mine["amount"] == 30
    assert dex.ok("order.get", {"id": placed["order_id"]})["status"] == "expired"


def test_dex_refusals_are_omg_errors(dex):
    owner = {"owner": hexa(ADDRS[2]), "sell_token": hexa(ETH), "buy_token": hexa(TOKEN), "buy_amount": 1}
    assert dex.error("order.create", {**owner, "sell_amount": 40})["code"] == "transaction.create:insufficient_funds"
    unpriced = dex.error("order.create", {**owner, "sell_amount": 5, "fee": {"currency": "0x" + "11" * 20}})
    assert unpriced["code"] == "order.create:fee_currency_not_accepted"
    assert dex.error("order.get", {"id": "0x" + "00" * 32})["code"] == "get_order:order_not_found"
    created = dex.ok("order.create", {**owner, "sell_amount": 5})
    tx = o.decode_order(bytes.fromhex(created["txbytes"][2:]))
    forged = o.sign_order(tx, (KEYS[0],), VC)  # not the input's owner
    assert dex.error("transaction.submit", {"transaction": hexa(forged)})["code"] == "submit:unauthorized_spend"
    expired = o.sign_order(o.order_tx(tx.inputs, tx.terms._replace(expiry=1), tx.outputs[1:]), (KEYS[2],), VC)
    assert dex.error("transaction.submit", {"transaction": hexa(expired)})["code"] == "submit:order_expired"
    assert dex.ok("order.book") == [] and dex.ok("trade.all") == [] and dex.ok("fees.trading") == []


def test_a_ledger_without_genesis_plans_no_order(tmp_path):
    for api in serve(tmp_path, lambda node: None):
        body = {"owner": hexa(ADDRS[0]), "sell_token": hexa(ETH), "buy_token": hexa(TOKEN), "sell_amount": 1,
                "buy_amount": 1}
        assert api.error("order.create", body)["code"] == "order.create:no_genesis"
        assert api.ok("order.book") == [] and api.ok("clearing.prices") == []
