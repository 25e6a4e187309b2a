"""Uniform-price batch clearing: one price per pair per batch, exact integers, no ledger state.

`clear(orders)` takes the open orders of one batch (a child block) and returns, for every
pair with matched volume, its uniform price and the fills. It is a pure function of the
*set* of orders: the ledger recomputes it at every block's seal and rejects any other
settlement, and an auditor replaying the log re-derives every fill.

Notation, per pair
- The pair is (base, quote) with base < quote bytewise. A price p is quote units per base
  unit, an exact rational (`fractions.Fraction`: integers underneath, never a float).
- A *seller* sells base for quote; its limit price is `limit_buy / limit_sell` and it
  accepts any p at or above it. A *buyer* sells quote for base; its limit price is
  `limit_sell / limit_buy` (the most quote it pays per base) and it accepts any p at or
  below it. `amount` is what the order still has open, in its sell token.
- At a price p: S(p) = the base offered by sellers accepting p; Q(p) = the quote offered by
  buyers accepting p, which buys Q(p)/p base. The matched volume, **measured in base**, is
  V(p) = min(S(p), Q(p)/p).

The price rule
1. V is maximised over all positive rationals. S only rises and Q(p)/p only falls as p rises,
   so the maximisers form one closed interval [lo, hi]. Its maximum is reached at a
   candidate price, a limit price of some order in the pair (between two consecutive limit
   prices S is constant and Q(p)/p falls, so the left end does at least as well). lo is the
   lowest candidate reaching the maximum V*; with c the highest such candidate and Q+ the
   quote of the buyers whose limit is above c, hi = max(c, Q+/V*) (beyond c the sellers
   stay the same and the volume holds while the remaining buyers' demand Q+/p covers V*).
   If V* = 0 the pair does not trade.
2. The tie-break inside [lo, hi]: the *simplest* fraction (smallest denominator, then
   smallest numerator) in the central half [lo + w/4, hi - w/4], w = hi - lo. That half
   contains the midpoint, so the price splits the surplus between the sides like the
   midpoint would, but its terms are as small as the interval allows: the price stays
   readable and the fallback's lots (below) small (a midpoint of two limits with large terms
   has a denominator near their product). If lo = hi the price is that point.

The fill rule (the rounding rule), at p = N/D in lowest terms
- Every order accepting p takes part. Amounts are first fixed in base: a seller can trade its
  amount, a buyer what its amount pays for at p, floor(amount·D/N). X = the smaller of the two
  sides' totals trades. The short side trades all it can; the long side shares X pro rata to
  what each can trade, by the largest-remainder method: floor(X·cap/total) each, then the
  units left (fewer than the orders with a nonzero remainder) one each to the largest
  remainders, ties to the lower order_id. No order trades more than it can.
- Then each order's quote amount is its exact amount at p (base·N/D) rounded down or up, and
  only in the direction its limit allows (a seller gets at least its limit, a buyer pays at
  most its limit and at least one unit). The total quote, the same on both sides, is X·N/D
  rounded down, raised or lowered to the nearest total both sides can reach that way; on each
  side the orders that round up are those with the largest remainders, ties to the lower
  order_id. So every fill is within one unit of the uniform price (|quote - base·p| < 1), at
  or better than its limit, and each token is conserved exactly. A buyer whose base share is
  worth less than one unit of quote at its own limit cannot pay for it: it sits the batch
  out and the shares are taken again without it.
- If no total quote suits both sides (typically orders exactly at the price on both sides, each owed a
  fraction of a unit), the pair falls back to whole **lots** of D base for N quote: a seller
  can sell amount // D lots, a buyer buy amount // N lots, the lots are shared as above, and
  every fill is exactly at p.
- What an order does not trade stays unsold with its owner (the ledger returns it as the
  order's remainder).
- Volume is maximised on the exact amounts (step 1); the integer amounts can only lower it, by
  less than one unit per order (a lot per order in the fallback).
- Known limit: the fallback is all or nothing for the pair, so a few orders exactly at the
  price on both sides, each owed a fraction of a unit, put the whole pair on lots for that
  batch; with a price of large terms (a limit's own) the lots may be too coarse to trade.
  Someone can aim at that: a dust order copying the marginal order's limit on the other
  side may tip a batch into the fallback. A finer rule would let only the orders that need
  the rounding in their favour trade in lots (or sit out); it is not done yet. In random
  books with wei-sized amounts the fallback did not occur; in books of amounts under 50 it
  did in about one in twelve, where the lots are small.

How this follows or departs from the systems it learns from
- CoW Protocol: a batch auction with uniform clearing prices per token, so that the same
  pair trades at one price in a batch and ordering inside the batch gives no advantage (MEV
  protection). CoW lets competing solvers choose the prices and routes, scored on trader
  surplus, with on-chain checks only of limits and the uniform-price constraint, and the
  rounding dust left in the settlement contract. Here the rule is fixed and recomputed by every
  validator and auditor (no solver, no competition, one possible result), prices are per
  pair (no ring trades across three tokens), the objective is matched volume rather than
  surplus, and the rounding leaves no dust to anyone.
- Penumbra batch swaps: every swap of a block in a pair is aggregated and executed at once
  against the liquidity positions, and each swapper gets its pro-rata share of the batch's
  output and of the unfilled input, so all get the same price and the order inside the block
  does not matter. A swap there has no limit of its own (limits live in the liquidity
  positions) and the shares are computed in fixed point. Here orders with limits meet each
  other with no pool, only the long side is pro-rated, unfilled amounts stay with their
  owner as Penumbra's do, and the shares are exact integers whose rounding is stated.
- Gnosis' DFusion paper: a multi-token batch auction that maximises trader welfare
  (utility/surplus) subject to uniform clearing prices, limit prices, token conservation and
  price coherence across rings, solved as a mixed-integer programme by competing solvers.
  This design keeps the uniform-price, limit and conservation constraints but solves the
  single-pair case in closed form (a sort and a sweep, O(n log n)), with an exact integer
  rounding rule instead of a solver's tolerance.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

import attrs


@attrs.frozen
class Order:
    order_id: bytes  # 32 bytes; the only tie-break key (never arrival order)
    sell_token: bytes
    buy_token: bytes
    amount: int  # sell amount still open, > 0
    limit_sell: int  # the limit: at least limit_buy of buy_token per limit_sell of sell_token
    limit_buy: int


@attrs.frozen
class Fill:
    order_id: bytes
    sold: int  # of sell_token, 0 < sold <= amount
    bought: int  # of buy_token, gross (the ledger takes the trading fee from it)


@attrs.frozen
class PairClearing:
    base: bytes  # base < quote bytewise
    quote: bytes
    price_num: int  # quote units per base unit = price_num / price_den, lowest terms
    price_den: int
    fills: tuple[Fill, ...]  # sorted by order_id


def clear(orders: Iterable[Order]) -> tuple[PairClearing, ...]:
    """Per pair with matched volume, sorted by (base, quote). The result depends on the set of
    orders only (not on their order), conserves each token exactly (per pair: sum of sold base =
    sum of bought base, same for quote), fills every order at or better than its limit, never
    beyond its amount."""
    pairs: dict[tuple[bytes, bytes], list[Order]] = {}
    seen: set[bytes] = set()
    for order in orders:
        check_order(order)
        if order.order_id in seen:
            raise ValueError(f"duplicate order id 0x{order.order_id.hex()}")
        seen.add(order.order_id)
        pairs.setdefault(pair_of(order), []).append(order)
    cleared = (clear_pair(base, quote, pairs[(base, quote)]) for base, quote in sorted(pairs))
    return tuple(c for c in cleared if c is not None)


def check_order(order: Order) -> None:
    """The preconditions the ledger guarantees before it asks for a clearing (a ValueError
    here is a bug in the caller, not a rejection of the order)."""
    if len(order.order_id) != 32:
        raise ValueError("an order id is 32 bytes")
    if order.sell_token == order.buy_token:
        raise ValueError("an order sells one token for another")
    if order.amount <= 0 or order.limit_sell <= 0 or order.limit_buy <= 0:
        raise ValueError("amount and limit terms are positive")


def pair_of(order: Order) -> tuple[bytes, bytes]:
    return (min(order.sell_token, order.buy_token), max(order.sell_token, order.buy_token))


def limit_price(order: Order, base: bytes) -> Fraction:
    """The order's limit in quote per base: a seller's lowest, a buyer's highest price."""
    if order.sell_token == base:
        return Fraction(order.limit_buy, order.limit_sell)
    return Fraction(order.limit_sell, order.limit_buy)


def accepts(order: Order, base: bytes, num: int, den: int) -> bool:
    """Whether the order trades at price num/den (quote per base), in integers."""
    if order.sell_token == base:
        return order.limit_buy * den <= num * order.limit_sell
    return num * order.limit_buy <= den * order.limit_sell


def clear_pair(base: bytes, quote: bytes, orders: Sequence[Order]) -> PairClearing | None:
    ranked = sorted(orders, key=lambda o: o.order_id)
    price = clearing_price(base, ranked)
    if price is None:
        return None
    fills = fill_at(base, ranked, price.numerator, price.denominator)
    if not fills:
        return None
    return PairClearing(base, quote, price.numerator, price.denominator, fills)


def clearing_price(base: bytes, orders: Sequence[Order]) -> Fraction | None:
    """The price rule (module docstring, steps 1 and 2); None when no volume matches."""
    interval = maximising_interval(base, orders)
    if interval is None:
        return None
    lo, hi = interval
    quarter = (hi - lo) / 4
    return simplest_between(lo + quarter, hi - quarter)


def maximising_interval(base: bytes, orders: Sequence[Order]) -> tuple[Fraction, Fraction] | None:
    """[lo, hi] of step 1: one sweep up the distinct limit prices. In integers: a price is
    (numerator, denominator) in lowest terms and a volume (numerator, denominator), compared by
    cross-multiplication (the same exact rationals as Fractions, without their cost per level)."""
    levels: dict[tuple[int, int], list[int]] = {}  # price in lowest terms -> [base of sellers, quote of buyers] at it
    for order in orders:
        num, den = limit_terms(order, base)
        levels.setdefault((num, den), [0, 0])[order.sell_token != base] += order.amount
    quote_total = sum(paid for _, paid in levels.values())
    best_num, best_den, lo, top, above = 0, 1, None, None, 0
    sold = paid_below = 0  # base of sellers at or below the price, quote of buyers below it
    for terms in ascending(levels):
        num, den = terms
        sold_here, paid_here = levels[terms]
        sold += sold_here
        # the volume min(sold, (quote_total - paid_below) / price) as vol_num / vol_den
        bought_num = (quote_total - paid_below) * den
        vol_num, vol_den = (sold, 1) if sold * num <= bought_num else (bought_num, num)
        better = vol_num * best_den > best_num * vol_den
        if better or (vol_num * best_den == best_num * vol_den and vol_num > 0):
            lo = terms if better else lo
            best_num, best_den, top, above = vol_num, vol_den, terms, quote_total - paid_below - paid_here
        paid_below += paid_here
    if lo is None or top is None:
        return None
    return Fraction(*lo), max(Fraction(*top), Fraction(above * best_den, best_num))


def limit_terms(order: Order, base: bytes) -> tuple[int, int]:
    """`limit_price` as (numerator, denominator) in lowest terms, without building a Fraction."""
    num, den = (order.limit_buy, order.limit_sell) if order.sell_token == base else (order.limit_sell, order.limit_buy)
    divisor = math.gcd(num, den)
    return num // divisor, den // divisor


def ascending(prices: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Prices as (numerator, denominator) in increasing order: sorted first by an integer key
    that never decreases with the price (floor(price * 2^256), compared at C speed), then each
    run of equal keys (rare: prices within 2^-256 of each other) exactly."""
    keyed = sorted(((terms[0] << 256) // terms[1], terms) for terms in prices)
    result: list[tuple[int, int]] = []
    for _, run in itertools.groupby(keyed, key=lambda item: item[0]):
        terms = [item[1] for item in run]
        result.extend(terms if len(terms) == 1 else sorted(terms, key=lambda t: Fraction(*t)))
    return result


def simplest_between(low: Fraction, high: Fraction) -> Fraction:
    """The fraction with the smallest denominator (then numerator) in [low, high], 0 < low <= high.

    The continued-fraction walk down the Stern-Brocot tree: take the common integer part,
    then look for the simplest reciprocal of the fractional parts (which swaps the ends)."""
    if not 0 < low <= high:
        raise ValueError("need 0 < low <= high")
    parts: list[int] = []
    while True:  # Euclid's algorithm on the ends: as many rounds as continued-fraction terms
        whole = low.numerator // low.denominator
        if whole == low or whole + 1 <= high:
            parts.append(whole if whole == low else whole + 1)
            break
        parts.append(whole)
        low, high = 1 / (high - whole), 1 / (low - whole)
    result = Fraction(parts.pop())
    while parts:
        result = parts.pop() + 1 / result
    return result


def fill_at(base: bytes, orders: Sequence[Order], num: int, den: int) -> tuple[Fill, ...]:
    """The fill rule (module docstring): rounded by at most one unit, else in whole lots."""
    takers = [o for o in orders if accepts(o, base, num, den)]
    rounded = rounded_fills(base, takers, num, den)
    return rounded if rounded is not None else lot_fills(base, takers, num, den)


def rounded_fills(base: bytes, takers: Sequence[Order], num: int, den: int) -> tuple[Fill, ...] | None:
    """Base amounts pro rata to what each order can trade at num/den; each order's quote amount
    the exact one rounded down or up, within its limit. None if no total quote fits every order."""
    shares = fitting_shares(base, takers, num, den)
    if not shares:
        return ()
    base_amounts, bounds = shares
    sides = [{o.order_id: bounds[o.order_id] for o in takers if o.order_id in bounds and (o.sell_token == base) == seller}
             for seller in (True, False)]
    low = max(sum(lo for lo, _, _ in side.values()) for side in sides)
    high = min(sum(hi for _, hi, _ in side.values()) for side in sides)
    if low > high:
        return None
    traded = sum(base_amounts[key] for key in sides[0])
    total = min(max(traded * num // den, low), high)
    quote = {**round_to_total(sides[0], total), **round_to_total(sides[1], total)}
    return tuple(
        Fill(o.order_id, base_amounts[o.order_id], quote[o.order_id]) if o.sell_token == base
        else Fill(o.order_id, quote[o.order_id], base_amounts[o.order_id])
        for o in takers if o.order_id in bounds
    )


def fitting_shares(base: bytes, takers: Sequence[Order], num: int, den: int) -> tuple[dict, dict] | None:
    """The base each order trades (pro rata on the long side) and its quote bounds, for the
    orders with a share. A buyer whose share is worth less than one unit of quote at its
    limit cannot pay for it: it sits the batch out and the shares are taken again without it
    (each round drops one order at least, so there are at most as many rounds as orders).
    None when no base trades."""
    active = list(takers)
    for _ in range(len(takers) + 1):
        seller_caps = {o.order_id: base_capacity(o, base, num, den) for o in active if o.sell_token == base}
        buyer_caps = {o.order_id: base_capacity(o, base, num, den) for o in active if o.sell_token != base}
        traded = min(sum(seller_caps.values()), sum(buyer_caps.values()))
        if traded == 0:
            return None
        base_amounts = {**share_pro_rata(seller_caps, traded), **share_pro_rata(buyer_caps, traded)}
        bounds = {o.order_id: quote_bounds(o, base, base_amounts[o.order_id], num, den)
                  for o in active if base_amounts[o.order_id] > 0}
        unpaid = {key for key, (lo, hi, _) in bounds.items() if lo > hi}
        if not unpaid:
            return base_amounts, bounds
        active = [o for o in active if o.order_id not in unpaid]
    raise AssertionError("every round drops an order")


def base_capacity(order: Order, base: bytes, num: int, den: int) -> int:
    """The base an order can trade at num/den: a seller its amount, a buyer what its amount pays for."""
    if order.sell_token == base:
        return order.amount
    return order.amount * den // num


def quote_bounds(order: Order, base: bytes, base_amount: int, num: int, den: int) -> tuple[int, int, int]:
    """(lowest, highest, remainder): the quote amounts an order may get (a seller) or pay (a buyer)
    for `base_amount` at num/den: the exact amount rounded down or up, within the order's limit,
    a buyer paying at least one unit; the remainder (exact·den mod den) ranks who rounds up."""
    exact_floor, remainder = divmod(base_amount * num, den)
    exact_ceil = exact_floor + (remainder > 0)
    if order.sell_token == base:  # receives quote: at least limit_buy per limit_sell
        return max(exact_floor, ceil_div(base_amount * order.limit_buy, order.limit_sell)), exact_ceil, remainder
    # pays quote: at most limit_sell per limit_buy of base received (lowest > highest when even
    # one unit is more than that)
    return max(exact_floor, 1), min(exact_ceil, base_amount * order.limit_sell // order.limit_buy), remainder


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def round_to_total(bounds: dict[bytes, tuple[int, int, int]], total: int) -> dict[bytes, int]:
    """Each order its lowest amount, then one more unit to the orders that may round up, the
    largest remainders first, ties to the lower id, until the amounts add up to `total`.
    Precondition: sum of lowest <= total <= sum of highest, highest - lowest <= 1."""
    extra = total - sum(lo for lo, _, _ in bounds.values())
    can_round_up = sorted((key for key, (lo, hi, _) in bounds.items() if hi > lo), key=lambda key: (-bounds[key][2], key))
    up = set(can_round_up[:extra])
    return {key: lo + (key in up) for key, (lo, _, _) in bounds.items()}


def lot_fills(base: bytes, takers: Sequence[Order], num: int, den: int) -> tuple[Fill, ...]:
    """The fallback: whole lots of `den` base for `num` quote, every fill exactly at the price."""
    seller_lots = {o.order_id: o.amount // den for o in takers if o.sell_token == base}
    buyer_lots = {o.order_id: o.amount // num for o in takers if o.sell_token != base}
    traded = min(sum(seller_lots.values()), sum(buyer_lots.values()))
    lots = {**share_pro_rata(seller_lots, traded), **share_pro_rata(buyer_lots, traded)}
    fills = []
    for order in takers:
        count = lots[order.order_id]
        if count == 0:
            continue
        if order.sell_token == base:
            fills.append(Fill(order.order_id, count * den, count * num))
        else:
            fills.append(Fill(order.order_id, count * num, count * den))
    return tuple(fills)


def share_pro_rata(offered: dict[bytes, int], traded: int) -> dict[bytes, int]:
    """Split `traded` units among offers (id -> units) pro rata, largest remainder, ties to the
    lower id. Precondition: 0 <= traded <= sum of the offers."""
    total = sum(offered.values())
    if traded == total:
        return dict(offered)
    shares = {key: pro_rata(traded, units, total) for key, units in offered.items()}
    left = traded - sum(share for share, _ in shares.values())
    by_remainder = sorted(offered, key=lambda key: (-shares[key][1], key))
    bonus = set(by_remainder[:left])
    return {key: share + (key in bonus) for key, (share, _) in shares.items()}


def pro_rata(traded: int, units: int, total: int) -> tuple[int, int]:
    """floor(traded·units / total) and its remainder (numerator over `total`)."""
    return divmod(traded * units, total)
