"""The uniform-price clearing: worked examples checked by hand, then Hypothesis properties."""
from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.clearing import (
    Fill,
    Order,
    PairClearing,
    accepts,
    clear,
    lot_fills,
    rounded_fills,
    share_pro_rata,
    simplest_between,
)

BASE, QUOTE, THIRD = b"\x01" * 20, b"\x02" * 20, b"\x03" * 20


def oid(n: int) -> bytes:
    return n.to_bytes(32, "big")


def sell(n: int, amount: int, limit_sell: int, limit_buy: int, base: bytes = BASE, quote: bytes = QUOTE) -> Order:
    """Sell `amount` base for at least limit_buy quote per limit_sell base."""
    return Order(oid(n), base, quote, amount, limit_sell, limit_buy)


def buy(n: int, amount: int, limit_sell: int, limit_buy: int, base: bytes = BASE, quote: bytes = QUOTE) -> Order:
    """Pay `amount` quote for at least limit_buy base per limit_sell quote."""
    return Order(oid(n), quote, base, amount, limit_sell, limit_buy)


def fills(*triples: tuple[int, int, int]) -> tuple[Fill, ...]:
    return tuple(Fill(oid(n), sold, bought) for n, sold, bought in triples)


# Worked examples ------------------------------------------------------------------------

def test_crossing_orders_trade_at_the_middle_of_the_maximising_interval():
    # A seller of 10 base at >= 2 and a buyer of 30 quote at <= 3: every price in [2, 3]
    # matches all 10 base (30/3 = 10), the middle is 5/2, one lot is 2 base for 5 quote.
    result = clear([sell(1, 10, 1, 2), buy(2, 30, 3, 1)])
    assert result == (PairClearing(BASE, QUOTE, 5, 2, fills((1, 10, 25), (2, 25, 10))),)


def test_orders_that_do_not_cross_do_not_trade():
    assert clear([sell(1, 10, 1, 3), buy(2, 30, 2, 1)]) == ()


def test_one_side_empty_trades_nothing():
    assert clear([sell(1, 10, 1, 2), sell(2, 5, 1, 1)]) == ()
    assert clear([buy(1, 10, 1, 2)]) == ()
    assert clear([]) == ()


def test_equal_limits_trade_at_that_price_the_short_side_in_full():
    # Both at exactly 2 quote per base: V(2) = min(10, 10/2) = 5 base; the buyer is short.
    result = clear([sell(1, 10, 1, 2), buy(2, 10, 2, 1)])
    assert result == (PairClearing(BASE, QUOTE, 2, 1, fills((1, 5, 10), (2, 10, 5))),)


def test_pro_rata_dust_goes_to_the_largest_remainders_then_the_lower_ids():
    # Three sellers of 10 at 1:1, one buyer of 20 at 1:1: price 1, sellers share 20 lots:
    # 20*10/30 = 6 remainder 2/3 each, the 2 lots left go to ids 1 and 2.
    orders = [sell(3, 10, 1, 1), sell(1, 10, 1, 1), sell(2, 10, 1, 1), buy(9, 20, 1, 1)]
    (pair,) = clear(orders)
    assert (pair.price_num, pair.price_den) == (1, 1)
    assert pair.fills == fills((1, 7, 7), (2, 7, 7), (3, 6, 6), (9, 20, 20))


def test_a_buyer_limit_inside_the_interval_and_quote_rounded_both_ways():
    # Seller 10 base at >= 1; buyers 20 quote at <= 4 and 4 quote at <= 2.
    # V(1) = min(10, 24) = 10, V(2) = min(10, 12) = 10, V(4) = min(10, 5) = 5: interval
    # [1, 2] (the buyers above 2 pay 20, 20/10 = 2), central half [5/4, 7/4], simplest 3/2.
    # Base: the seller sells 10; the buyers can buy 20*2//3 = 13 and 4*2//3 = 2 of it:
    # 10*13/15 = 8 r 10, 10*2/15 = 1 r 5, the unit left to the larger remainder: 9 and 1.
    # Quote: the seller gets exactly 15; the buyers owe 13.5 and 1.5, 15 in all: one rounds
    # up, equal remainders, so the lower id pays 14 and the other 1.
    (pair,) = clear([sell(1, 10, 1, 1), buy(2, 20, 4, 1), buy(3, 4, 2, 1)])
    assert (pair.price_num, pair.price_den) == (3, 2)
    assert pair.fills == fills((1, 10, 15), (2, 14, 9), (3, 1, 1))


def test_the_interval_ends_where_the_buyers_demand_meets_the_supply():
    # Seller 10 at >= 1, buyer 30 at <= 5: V = 10 on [1, 30/10 = 3], central half [3/2, 5/2]: 2.
    (pair,) = clear([sell(1, 10, 1, 1), buy(2, 30, 5, 1)])
    assert (pair.price_num, pair.price_den) == (2, 1)
    assert pair.fills == fills((1, 10, 20), (2, 20, 10))


def test_the_total_quote_is_rounded_down():
    # Price 3/2 (seller >= 1, buyer <= 2 with plenty): 7 base are worth 10.5 quote; the seller
    # may get 10 (its limit asks 7) and the buyer may pay 10, so 10 it is.
    (pair,) = clear([sell(1, 7, 1, 1), buy(2, 100, 2, 1)])
    assert (pair.price_num, pair.price_den) == (3, 2)
    assert pair.fills == fills((1, 7, 10), (2, 10, 7))


def test_a_seller_exactly_at_the_price_rounds_up_and_a_buyer_pays_for_it():
    # Seller of 5 base at >= 3/2, buyer of 5 quote at <= 2: V(3/2) = min(5, 10/3) and the
    # volume falls above 3/2, so the seller's limit is the price. The buyer can buy
    # 5*2//3 = 3 base, worth 4.5 quote. The seller may not get 4 (its limit asks 4.5), so
    # the total is 5: the buyer pays 5 for 3 (5/3 <= 2), half a unit over the price.
    (pair,) = clear([sell(1, 5, 2, 3), buy(2, 5, 2, 1)])
    assert (pair.price_num, pair.price_den) == (3, 2)
    assert pair.fills == fills((1, 3, 5), (2, 5, 3))


def test_orders_exactly_at_the_price_on_both_sides_trade_in_whole_lots():
    # Everyone at exactly 1/2 quote per base: sellers of 1, 1 and 2 base, a buyer of 2 quote.
    # Rounded, the sellers would be owed 1/2, 1/2 and 1 and may not round down (3 in all),
    # the buyer owes exactly 2 and may not round up: no total fits, so lots of 2 base for
    # 1 quote: the sellers offer 0, 0 and 1 lot, the buyer 2; one lot trades.
    (pair,) = clear([sell(1, 1, 2, 1), sell(2, 1, 2, 1), sell(3, 2, 2, 1), buy(4, 2, 1, 2)])
    assert (pair.price_num, pair.price_den) == (1, 2)
    assert pair.fills == fills((3, 2, 1), (4, 1, 2))


def test_a_limit_with_large_terms_sets_the_price_and_still_trades_finely():
    # A seller of 1.234567891234567891 base (18 decimals) asking 2469.135782 quote (6 decimals)
    # for it: the limit in lowest terms has a 19-digit denominator. A buyer of 1000 quote at up
    # to 2100 per base is short there, so that limit is the price; the buyer spends all its
    # 1000 quote for floor(1000e6 * 1234567891234567891 / 2469135782) base.
    amount = 1234567891234567891
    (pair,) = clear([sell(1, amount, amount, 2469135782), buy(2, 1000 * 10**6, 2100 * 10**6, 10**18)])
    assert (pair.price_num, pair.price_den) == (2469135782, amount)
    bought = 1000 * 10**6 * amount // 2469135782
    assert pair.fills == fills((1, bought, 1000 * 10**6), (2, 1000 * 10**6, bought))


def test_several_pairs_clear_independently_sorted_by_pair():
    orders = [
        sell(5, 10, 1, 2, base=QUOTE, quote=THIRD), buy(6, 30, 3, 1, base=QUOTE, quote=THIRD),
        sell(1, 10, 1, 2), buy(2, 30, 3, 1),
        sell(3, 4, 1, 1, base=BASE, quote=THIRD),  # alone in its pair: nothing
    ]
    result = clear(orders)
    assert [(p.base, p.quote) for p in result] == [(BASE, QUOTE), (QUOTE, THIRD)]
    assert result[1].fills == fills((5, 10, 25), (6, 25, 10))


def test_the_pair_is_named_by_byte_order_and_its_volume_counted_in_base():
    # The mirror image of the first example: 10 QUOTE offered at >= 2 BASE each (a buyer of
    # base paying at most 1/2), 30 BASE offered at >= 1/3. Volume counts base, so it is not
    # the mirrored price 2/5: V(1/3) = min(30, 10*3) = 30 beats V(1/2) = 20, and the volume
    # falls right above 1/3 (10/p < 30), so the interval is the point 1/3: lots of 3 base.
    (pair,) = clear([Order(oid(1), QUOTE, BASE, 10, 1, 2), Order(oid(2), BASE, QUOTE, 30, 3, 1)])
    assert (pair.base, pair.quote, pair.price_num, pair.price_den) == (BASE, QUOTE, 1, 3)
    assert pair.fills == fills((1, 10, 30), (2, 30, 10))


def test_bad_orders_are_refused():
    with pytest.raises(ValueError):
        clear([sell(1, 10, 1, 2), sell(1, 5, 1, 2)])
    with pytest.raises(ValueError):
        clear([sell(1, 0, 1, 2)])
    with pytest.raises(ValueError):
        clear([Order(oid(1), BASE, BASE, 1, 1, 1)])
    with pytest.raises(ValueError):
        clear([Order(b"\x01", BASE, QUOTE, 1, 1, 1)])


def test_simplest_fraction_between_two_bounds():
    assert simplest_between(Fraction(5, 4), Fraction(7, 4)) == Fraction(3, 2)
    assert simplest_between(Fraction(41, 40), Fraction(43, 40)) == Fraction(15, 14)
    assert simplest_between(Fraction(1, 3), Fraction(1, 3)) == Fraction(1, 3)
    assert simplest_between(Fraction(2), Fraction(3)) == 2


def test_share_pro_rata_conserves_and_respects_offers():
    assert share_pro_rata({b"a": 1, b"b": 1, b"c": 1}, 2) == {b"a": 1, b"b": 1, b"c": 0}
    assert share_pro_rata({b"a": 5, b"b": 3}, 8) == {b"a": 5, b"b": 3}
    assert share_pro_rata({b"a": 5, b"b": 3}, 0) == {b"a": 0, b"b": 0}


# Properties -----------------------------------------------------------------------------

TOKENS = (BASE, QUOTE, THIRD)


@st.composite
def batches(draw, max_orders: int = 12, max_amount: int = 200, max_term: int = 9) -> list[Order]:
    count = draw(st.integers(0, max_orders))
    ids = draw(st.lists(st.integers(0, 2**16), min_size=count, max_size=count, unique=True))
    orders = []
    for n in ids:
        sell_token, buy_token = draw(st.permutations(TOKENS))[:2]
        orders.append(Order(oid(n), sell_token, buy_token, draw(st.integers(1, max_amount)),
                            draw(st.integers(1, max_term)), draw(st.integers(1, max_term))))
    return orders


def base_volume(orders: list[Order], base: bytes, price: Fraction) -> Fraction:
    """V(p) recomputed naively from the orders (independent of the module's sweep)."""
    supply = sum(o.amount for o in orders if o.sell_token == base and Fraction(o.limit_buy, o.limit_sell) <= price)
    paid = sum(o.amount for o in orders if o.buy_token == base and Fraction(o.limit_sell, o.limit_buy) >= price)
    return min(Fraction(supply), paid / price)


@settings(max_examples=300)
@given(st.one_of(batches(), batches(max_amount=10**24, max_term=10**20)))
def test_every_pair_conserves_each_token_and_trades_at_its_one_price(orders):
    by_id = {o.order_id: o for o in orders}
    seen = set()
    for pair in clear(orders):
        assert pair.base < pair.quote and (pair.base, pair.quote) not in seen
        seen.add((pair.base, pair.quote))
        assert Fraction(pair.price_num, pair.price_den).denominator == pair.price_den
        assert [f.order_id for f in pair.fills] == sorted(f.order_id for f in pair.fills)
        base_sold = base_bought = quote_sold = quote_bought = 0
        for fill in pair.fills:
            order = by_id[fill.order_id]
            assert {order.sell_token, order.buy_token} == {pair.base, pair.quote}
            assert 0 < fill.sold <= order.amount
            assert fill.bought * order.limit_sell >= fill.sold * order.limit_buy  # at or better
            # within one unit of quote of the uniform price: |quote - base * p| < 1
            if order.sell_token == pair.base:
                base_sold, quote_bought = base_sold + fill.sold, quote_bought + fill.bought
                assert abs(fill.bought * pair.price_den - fill.sold * pair.price_num) < pair.price_den
            else:
                quote_sold, base_bought = quote_sold + fill.sold, base_bought + fill.bought
                assert abs(fill.sold * pair.price_den - fill.bought * pair.price_num) < pair.price_den
        assert base_sold == base_bought > 0 and quote_sold == quote_bought > 0


@settings(max_examples=200)
@given(batches(), st.randoms(use_true_random=False))
def test_the_result_depends_on_the_set_of_orders_only(orders, rng: random.Random):
    shuffled = list(orders)
    rng.shuffle(shuffled)
    assert clear(shuffled) == clear(orders)


@settings(max_examples=300)
@given(batches())
def test_the_price_maximises_the_base_volume_over_every_candidate(orders):
    for pair in clear(orders):
        mine = [o for o in orders if {o.sell_token, o.buy_token} == {pair.base, pair.quote}]
        price = Fraction(pair.price_num, pair.price_den)
        limits = {Fraction(o.limit_buy, o.limit_sell) if o.sell_token == pair.base
                  else Fraction(o.limit_sell, o.limit_buy) for o in mine}
        probes = limits | {(a + b) / 2 for a in limits for b in limits}
        best = max(base_volume(mine, pair.base, p) for p in probes)
        assert base_volume(mine, pair.base, price) == best


@settings(max_examples=300)
@given(batches())
def test_the_short_side_trades_all_it_can_unless_the_pair_falls_back_to_lots(orders):
    for pair in clear(orders):
        num, den = pair.price_num, pair.price_den
        mine = sorted((o for o in orders if {o.sell_token, o.buy_token} == {pair.base, pair.quote}),
                      key=lambda o: o.order_id)
        takers = [o for o in mine if accepts(o, pair.base, num, den)]
        filled = {f.order_id: f for f in pair.fills}
        if rounded_fills(pair.base, takers, num, den) is None:
            assert pair.fills == lot_fills(pair.base, takers, num, den)
            continue
        # in base: what each seller sells, what each buyer's amount pays for at the price
        caps = {o.order_id: o.amount if o.sell_token == pair.base else o.amount * den // num for o in takers}
        traded = {o.order_id: (filled[o.order_id].sold if o.sell_token == pair.base else filled[o.order_id].bought)
                  if o.order_id in filled else 0 for o in takers}
        sides = [[o.order_id for o in takers if (o.sell_token == pair.base) == is_seller] for is_seller in (True, False)]
        short = min(sides, key=lambda side: sum(caps[key] for key in side))
        assert all(traded[key] == caps[key] for key in short)
