"""Trading on the node's DEX with one key: place an order, cancel it, read the book, the
key's open orders and its fills (the routes `order.create`, `transaction.submit`,
`order.book`, `order.all`, `order.get`, `trade.all`, `clearing.prices`, `fees.trading`).

Placing: the node plans the ORDER transaction (tx type 4) from the key's outputs
(`order.create`); the wallet decodes it and signs it only if it is the order asked for and
every other output is change back to the key (it never signs what the node says the bytes
mean, it reads the bytes), then submits it. Cancelling: a payment spending the order output
back to the key, less the payment fee (taken from the order output when the node accepts a
fee in its token, else from another of the key's outputs).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from proofs.order import OrderTx, decode_order, order_id
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from wallet.account import Account
from wallet.client import NodeClient, Submitted, tohex, unhex
from wallet.coins import select
from wallet.errors import WalletError


@dataclass(frozen=True, slots=True)
class Order:
    order_id: bytes
    owner: bytes
    sell_token: bytes
    buy_token: bytes
    sell_amount: int
    buy_amount: int  # the limit: at least buy_amount of buy_token for sell_amount of sell_token
    expiry: int  # a child block number: the order is not matched from that block on
    nonce: int
    amount: int  # the sell amount still open
    utxo_pos: int | None  # the order output now; None once filled, cancelled or exited
    status: str  # open, expired, filled, cancelled, exited

    @classmethod
    def parse(cls, d: dict[str, Any]) -> Order:
        return cls(unhex(d["order_id"]), unhex(d["owner"]), unhex(d["sell_token"]), unhex(d["buy_token"]),
                   d["sell_amount"], d["buy_amount"], d["expiry"], d["nonce"], d["amount"], d["utxo_pos"], d["status"])


@dataclass(frozen=True, slots=True)
class Trade:
    blknum: int
    txhash: bytes  # the settlement's
    order_id: bytes
    owner: bytes
    sell_token: bytes
    buy_token: bytes
    sold: int
    bought: int  # gross: the owner received bought - fee
    fee: int
    price: Fraction  # the pair's uniform price, quote units per base unit (base < quote bytewise)

    @classmethod
    def parse(cls, d: dict[str, Any]) -> Trade:
        return cls(d["blknum"], unhex(d["txhash"]), unhex(d["order_id"]), unhex(d["owner"]), unhex(d["sell_token"]),
                   unhex(d["buy_token"]), d["sold"], d["bought"], d["fee"], Fraction(d["price_num"], d["price_den"]))


@dataclass(frozen=True, slots=True)
class Level:
    price: Fraction  # quote units per base unit
    amount: int  # open, in the side's sell token (base for asks, quote for bids)
    orders: int


@dataclass(frozen=True, slots=True)
class Book:
    base: bytes
    quote: bytes
    asks: tuple[Level, ...]  # selling base, lowest price first
    bids: tuple[Level, ...]  # selling quote, highest price first

    @classmethod
    def parse(cls, d: dict[str, Any]) -> Book:
        def levels(side: list) -> tuple[Level, ...]:
            return tuple(Level(Fraction(x["price_num"], x["price_den"]), x["amount"], x["orders"]) for x in side)
        return cls(unhex(d["base"]), unhex(d["quote"]), levels(d["asks"]), levels(d["bids"]))


def _pair(tokens: tuple[bytes, bytes] | None) -> dict[str, Any]:
    return {"tokens": [tohex(t) for t in tokens]} if tokens else {}


def book(node: NodeClient, tokens: tuple[bytes, bytes] | None = None) -> list[Book]:
    """Depth of every pair with open orders, or of the pair of `tokens` (either order)."""
    return [Book.parse(b) for b in node.call("order.book", _pair(tokens))]


def trades(node: NodeClient, address: bytes | None = None, tokens: tuple[bytes, bytes] | None = None,
           limit: int = 200) -> list[Trade]:
    """The newest fills (up to `limit`) of `address` and/or the pair of `tokens`."""
    body = {**_pair(tokens), "limit": limit, **({"address": tohex(address)} if address else {})}
    return [Trade.parse(t) for t in node.call("trade.all", body)]


def order(node: NodeClient, oid: bytes) -> tuple[Order, tuple[Trade, ...]]:
    """One order by id, wherever it is now, and its fills."""
    data = node.call("order.get", {"id": tohex(oid)})
    return Order.parse(data), tuple(Trade.parse(t) for t in data["fills"])


def clearing_prices(node: NodeClient) -> dict[tuple[bytes, bytes], tuple[Fraction, int]]:
    """Per pair (base, quote): its last uniform price and the block it cleared in."""
    return {(unhex(p["base"]), unhex(p["quote"])): (Fraction(p["price_num"], p["price_den"]), p["blknum"])
            for p in node.call("clearing.prices")}


class Trader:
    """An account's orders: place, cancel, and its own open orders and fills."""

    def __init__(self, account: Account) -> None:
        self.account, self.node = account, account.node

    def plan(self, sell_token: bytes, sell_amount: int, buy_token: bytes, buy_amount: int, expiry: int | None = None,
             nonce: int | None = None, fee_currency: bytes | None = None) -> OrderTx:
        """The node's ORDER transaction for these terms, checked: the order asked for, and every
        other output change to this key. `expiry` defaults to the node's (100 blocks on)."""
        body: dict[str, Any] = {"owner": tohex(self.account.address), "sell_token": tohex(sell_token),
                                "buy_token": tohex(buy_token), "sell_amount": sell_amount, "buy_amount": buy_amount}
        if expiry is not None:
            body["expiry"] = expiry
        if nonce is not None:
            body["nonce"] = nonce
        if fee_currency is not None:
            body["fee"] = {"currency": tohex(fee_currency)}
        created = self.node.call("order.create", body)
        tx = decode_order(unhex(created["txbytes"]))
        asked = (self.account.address, sell_token, buy_token, sell_amount, buy_amount)
        if tx.terms[:5] != asked or (expiry is not None and tx.expiry != expiry) or (nonce is not None and tx.nonce != nonce):
            raise WalletError("order_mismatch", "the node planned other terms than those asked")
        if any(o.owner != self.account.address or o.output_type != OUTPUT_TYPE_PAYMENT for o in tx.outputs[1:]):
            raise WalletError("order_mismatch", "the node planned an output that is not change to this key")
        return tx

    def place(self, sell_token: bytes, sell_amount: int, buy_token: bytes, buy_amount: int, expiry: int | None = None,
              nonce: int | None = None, fee_currency: bytes | None = None) -> tuple[bytes, Submitted]:
        """(the order id, where the ORDER transaction sits): at least `buy_amount` of `buy_token`
        for `sell_amount` of `sell_token`, filled in the batches of the blocks before `expiry`."""
        tx = self.plan(sell_token, sell_amount, buy_token, buy_amount, expiry, nonce, fee_currency)
        return order_id(tx.terms), self.node.submit(self.account.sign_order(tx))

    def cancel(self, oid: bytes) -> Submitted:
        """Spend the order output back to this key (before expiry nothing else may take it)."""
        found, _ = order(self.node, oid)
        if found.owner != self.account.address:
            raise WalletError("not_the_owner", f"order 0x{oid.hex()} is 0x{found.owner.hex()}'s")
        if found.utxo_pos is None:
            raise WalletError("order_closed", f"order 0x{oid.hex()} is {found.status}")
        return self.node.submit(self.account.sign(self._cancel_tx(found)))

    def _cancel_tx(self, found: Order) -> PaymentTx:
        me, token = self.account.address, found.sell_token
        fees = self.node.fees()
        if not fees:
            return PaymentTx(inputs=[found.utxo_pos], outputs=[Output(OUTPUT_TYPE_PAYMENT, me, token, found.amount)])
        if fees.get(token, found.amount) < found.amount:  # the fee out of the order output itself
            back = Output(OUTPUT_TYPE_PAYMENT, me, token, found.amount - fees[token])
            return PaymentTx(inputs=[found.utxo_pos], outputs=[back])
        utxos = self.account.utxos()
        for currency, fee in sorted(fees.items(), key=lambda item: item[1]):
            try:
                [payer] = select(utxos, currency, fee, max_inputs=1)
            except WalletError:
                continue
            outputs = [Output(OUTPUT_TYPE_PAYMENT, me, token, found.amount)]
            if payer.amount > fee:
                outputs.append(Output(OUTPUT_TYPE_PAYMENT, me, currency, payer.amount - fee))
            return PaymentTx(inputs=sorted([found.utxo_pos, payer.utxo_pos]), outputs=outputs)
        raise WalletError("insufficient_funds", "no output pays the cancel's fee")

    def open_orders(self) -> list[Order]:
        """This key's orders still in custody (open, or expired and not yet taken back)."""
        return [Order.parse(o) for o in self.node._all_pages("order.all", {"address": tohex(self.account.address)})]

    def trades(self, limit: int = 200) -> list[Trade]:
        return trades(self.node, self.account.address, limit=limit)
