"""The DEX's routes (ours, in OMG's style: POST, the same envelope and error objects).
Placing an order and cancelling one go through `transaction.submit` (an ORDER transaction,
tx type 4, or a payment spending the order output back to its owner); `order.create` plans
an ORDER transaction as `transaction.create` plans a payment. The reads come from the read
model: the open orders of its state, the fills indexed from each settlement."""
from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request

from adapters.http import models as m
from adapters.http.codec import to_hex
from adapters.http.create import create_order
from adapters.http.errors import ApiError, envelope
from adapters.http.render import page
from adapters.http.routes_omg import ok, ok_page, paged, service
from adapters.http.view import Trade, View
from proofs.order import OrderTerms, decode_order, order_id
from proofs.payment import BLOCK_OFFSET, TX_OFFSET
from wallet.payments import depth, pair_of

router = APIRouter()


def _live(view: View, terms: OrderTerms) -> bool:
    """Open to the next batch: an order expires from its expiry block on."""
    return view.state.next_child_blknum < terms.expiry


@router.post("/order.create", tags=["DEX"], **ok(m.OrderCreated))
def order_create(request: Request, body: m.OrderCreate) -> dict:
    return envelope(create_order(service(request).view(), body))


@router.post("/order.book", tags=["DEX"], **ok(list[m.Book]))
def order_book(request: Request, body: m.Pair | None = None) -> dict:
    """Depth per pair: price levels of the open, unexpired orders, open amounts summed per level."""
    wanted = pair_of(*body.tokens) if body is not None and body.tokens else None
    return envelope([{"base": to_hex(base), "quote": to_hex(quote), "asks": _levels(asks), "bids": _levels(bids)}
                     for (base, quote), (asks, bids) in depth(service(request).view().state, wanted).items()])


def _levels(levels: list[tuple[Fraction, int, int]]) -> list[dict[str, int]]:
    return [{"price_num": p.numerator, "price_den": p.denominator, "amount": amount, "orders": count}
            for p, amount, count in levels]


@router.post("/order.all", tags=["DEX"], **ok_page(list[m.OrderInfo]))
def order_all(request: Request, body: m.AddressPaged) -> dict:
    """The owner's orders still in custody (open or expired and not yet withdrawn), by position."""
    view = service(request).view()
    mine = sorted((pos, terms) for pos, terms in view.state.orders.items() if terms.owner == body.address)
    return paged([_order(view, terms, pos) for pos, terms in page(mine, body.page, body.limit)], body)


def _order(view: View, terms: OrderTerms, pos: int | None, status: str | None = None) -> dict[str, Any]:
    output = view.state.utxos.get(pos) if pos is not None else None
    if status is None:
        status = "open" if _live(view, terms) else "expired"
    return {"order_id": to_hex(order_id(terms)), "owner": to_hex(terms.owner), "sell_token": to_hex(terms.sell_token),
            "buy_token": to_hex(terms.buy_token), "sell_amount": terms.sell_amount, "buy_amount": terms.buy_amount,
            "expiry": terms.expiry, "nonce": terms.nonce, "amount": output.amount if output else 0,
            "utxo_pos": pos if output else None, "status": status}


@router.post("/order.get", tags=["DEX"], **ok(m.OrderDetail))
def order_get(request: Request, body: m.OrderGet) -> dict:
    """One order by id, wherever it is now: open or expired in custody, or filled, cancelled
    (its output spent by its owner's payment) or exited (its output left on the root chain)."""
    view = service(request).view()
    placed = view.state.order_ids.get(body.id)
    if placed is None:
        raise ApiError("get_order", "order_not_found")
    fills = [view.trades[i] for i in view.fills.get(body.id, ())]
    pos = fills[-1].remainder_pos if fills else placed  # a fill moves the rest to its remainder
    terms = view.state.orders.get(pos) if pos is not None else None
    if terms is not None:
        detail = _order(view, terms, pos)
    else:
        status = "filled" if pos is None else "cancelled" if pos in view.spends else "exited"
        placing = decode_order(view.tx_at(placed // BLOCK_OFFSET, placed % BLOCK_OFFSET // TX_OFFSET).leaf)
        detail = _order(view, placing.terms, None, status)
    return envelope({**detail, "placed_txhash": to_hex(view.creating_txhash(placed)),
                     "fills": [_trade(t) for t in fills]})


def _trade(trade: Trade) -> dict[str, Any]:
    r = trade.record
    base, quote = trade.pair
    return {"blknum": trade.blknum, "txindex": trade.txindex, "txhash": to_hex(trade.txhash),
            "order_id": to_hex(trade.order_id), "owner": to_hex(r.owner), "sell_token": to_hex(r.sell_token),
            "buy_token": to_hex(r.buy_token), "sold": r.sold, "bought": r.bought, "fee": r.fee,
            "base": to_hex(base), "quote": to_hex(quote), "price_num": trade.price_num, "price_den": trade.price_den}


@router.post("/trade.all", tags=["DEX"], **ok_page(list[m.TradeInfo]))
def trade_all(request: Request, body: m.TradeFilter | None = None) -> dict:
    """Fills, newest first, of a pair and/or an owner (all fills without either)."""
    body = body or m.TradeFilter()
    view = service(request).view()
    if body.address is not None:
        indexes: Iterable[int] = view.trades_by_owner.get(body.address, ())
    elif body.tokens:
        indexes = view.trades_by_pair.get(pair_of(*body.tokens), ())
    else:
        indexes = range(len(view.trades))
    wanted = pair_of(*body.tokens) if body.tokens else None
    trades = (t for t in (view.trades[i] for i in reversed(indexes)) if wanted is None or t.pair == wanted)
    return paged([_trade(t) for t in page(trades, body.page, body.limit)], body)


@router.post("/clearing.prices", tags=["DEX"], **ok(list[m.ClearingPrice]))
def clearing_prices(request: Request, body: m.Pair | None = None) -> dict:
    """Per pair, the uniform price of its last batch with matched volume, and that block."""
    view = service(request).view()
    wanted = pair_of(*body.tokens) if body is not None and body.tokens else None
    return envelope([{"base": to_hex(base), "quote": to_hex(quote), "price_num": num, "price_den": den, "blknum": blknum}
                     for (base, quote), (num, den, blknum) in sorted(view.prices.items())
                     if wanted is None or (base, quote) == wanted])


@router.post("/fees.trading", tags=["DEX"], **ok(list[m.TradingFee]))
def fees_trading(request: Request, body: m.Pair | None = None) -> dict:
    """The trading fee per pair (basis points of the bought amount) set by the last epoch close;
    a pair not listed pays none."""
    staking = service(request).view().state.staking
    wanted = pair_of(*body.tokens) if body is not None and body.tokens else None
    fees = sorted(staking.trading_fees.items()) if staking is not None else []
    return envelope([{"base": to_hex(base), "quote": to_hex(quote), "bps": bps}
                     for (base, quote), bps in fees if wanted is None or (base, quote) == wanted])
