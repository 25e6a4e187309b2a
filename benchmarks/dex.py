"""DEX settlement (ledger.clearing.clear) against the sort of the same orders, and the audit of a
log with trades against the raw signature limit, measured in the same run.

    python -m benchmarks.dex             # prints the section (markdown)
    python -m benchmarks.dex --quick     # smaller batches and log

Any uniform-price clearing must at least order the book by limit price, so the bound here is
Python's sort of the same orders by limit price (an exact integer key, limit as a 128-bit fixed
point): `clear` is reported in time and tracemalloc peak as a multiple of that sort. The audit
replays a log of deposits, orders and one settlement per block (`ledger.replay.audit` with
the runtime InvariantHook, as the payments' audit row) and reports transactions (orders and
settlements) per second as a fraction of ecrecover + keccak → address, the audit row's limit.
Also run by `python -m benchmarks.run` (unless `--no-dex``. This is a measurement, never a timed test.
"""
from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.clearing import Order, PairClearing, clear
from ledger.events import Deposit, Genesis, OrderPlaced
from ledger.node import Node
from ledger.store import EventStore
from proofs import eip712
from proofs.keccak import keccak256
from proofs.order import OrderTerms, order_tx, sign_order
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from specs.hooks import InvariantHook

BATCHES = ((1, 10_000), (100, 100))  # (pairs, orders per pair)
VERIFYING_CONTRACT = keccak256(b"omg-ledger dex benchmark")[12:]
ETH = bytes(20)
TOKEN = keccak256(b"omg-ledger dex benchmark token")[12:]


def make_orders(pairs: int, per_pair: int, seed: int = 1) -> list[Order]:
    """`per_pair` orders in each of `pairs` pairs, half selling each side, wei-sized amounts,
    limits within 10% of 1:1 either way (the books cross), random 32-byte ids."""
    rng = random.Random(seed)
    orders = []
    for pair in range(pairs):
        base, quote = sorted((keccak256(b"base %d" % pair)[12:], keccak256(b"quote %d" % pair)[12:]))
        for i in range(per_pair):
            sell, buy = (base, quote) if i % 2 == 0 else (quote, base)
            amount = rng.randint(10**15, 10**19)
            orders.append(Order(rng.randbytes(32), sell, buy, amount, amount, amount * rng.randint(900, 1100) // 1000))
    return orders


def sort_bound(orders: list[Order]) -> list[Order]:
    """The lower bound: the orders sorted by limit price (buy per sell, 128-bit fixed point)."""
    return sorted(orders, key=lambda o: (o.limit_buy << 128) // o.limit_sell)


def _best(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _peak(run: Callable[[], object]) -> int:
    """tracemalloc peak of one call, above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@dataclass
class Settlement:
    name: str
    orders: int
    result: tuple[PairClearing, ...]  # what clear() found (the smoke test compares it)
    clear_s: float
    sort_s: float
    clear_peak: int
    sort_peak: int

    @property
    def fills(self) -> int:
        return sum(len(pair.fills) for pair in self.result)


def measure_settlement(name: str, orders: list[Order], repeats: int = 3) -> Settlement:
    result = clear(orders)
    return Settlement(name, len(orders), result, _best(lambda: clear(orders), repeats),
                      _best(lambda: sort_bound(orders), repeats), _peak(lambda: clear(orders)),
                      _peak(lambda: sort_bound(orders)))


# --- the audit of a log with trades ----------------------------------------------------------


@dataclass
class AuditWithTrades:
    orders: int
    settlements: int
    events: int
    seconds: float
    limit_per_s: float  # ecrecover + keccak -> address, as the payments' audit row
    ok: bool

    @property
    def per_s(self) -> float:
        return (self.orders + self.settlements) / self.seconds


def write_trading_log(path: Path, blocks: int, per_block: int, seed: int = 1) -> Node:
    """Genesis; then per block: a deposit per order, `per_block` crossing ETH/TOKEN orders, and the
    node's seal (which settles the batch). Returns the node (its store open)."""
    rng = random.Random(seed)
    keys = [keccak256(b"dex trader %d" % i) for i in range(16)]
    owners = [eip712.address_of(key) for key in keys]
    node = Node(EventStore(path), InvariantHook())
    assert node.submit([Genesis(VERIFYING_CONTRACT)])[0].accepted
    for _ in range(blocks):
        funded = []  # (trader, terms, deposit position): the deposits first, so both tokens are known
        for i in range(per_block):
            who, (sell, buy) = i % len(keys), ((ETH, TOKEN) if i % 2 == 0 else (TOKEN, ETH))
            amount = rng.randint(10**15, 10**19)
            blknum = node.state.next_deposit_blknum
            [outcome] = node.submit([Deposit(blknum, encode(deposit_tx(owners[who], sell, amount)))])
            assert outcome.accepted, outcome
            terms = OrderTerms(owners[who], sell, buy, amount, amount * rng.randint(900, 1100) // 1000,
                               node.state.next_child_blknum + 1000, i)
            funded.append((who, terms, encode_utxo_pos(blknum, 0, 0)))
        placed = [OrderPlaced(sign_order(order_tx((pos,), terms), (keys[who],), VERIFYING_CONTRACT))
                  for who, terms, pos in funded]
        assert all(o.accepted for o in node.submit(placed))
        assert all(o.accepted for o in node.seal())
    return node


def measure_audit(directory: Path, blocks: int, per_block: int, limit_per_s: float) -> AuditWithTrades:
    from benchmarks.run import run_audit  # run.py imports this module: import it when called

    path = directory / "dex.sqlite"
    node = write_trading_log(path, blocks, per_block)
    state = node.state
    node.store.close()
    audited = run_audit(path, trace_memory=False)
    kinds = audited.report.kinds
    return AuditWithTrades(kinds.get("order_placed", 0), kinds.get("batch_settled", 0), audited.report.events,
                           audited.seconds, limit_per_s, audited.report.ok and audited.report.events == state.event_count)


# --- the section ---------------------------------------------------------------------------


@dataclass
class DexResults:
    settlements: list[Settlement]
    audit: AuditWithTrades


def measure(quick: bool = False, directory: Path | None = None) -> DexResults:
    from benchmarks.run import raw_ecrecover

    scale = 10 if quick else 1
    settlements = []
    for pairs, per_pair in BATCHES:
        per_pair = per_pair // scale if pairs == 1 else per_pair
        name = f"{per_pair:,} orders in one pair" if pairs == 1 else f"{pairs} pairs of {per_pair} orders"
        settlements.append(measure_settlement(name, make_orders(pairs, per_pair), repeats=1 if quick else 3))
    limit = raw_ecrecover(samples=500 if quick else 5_000, repeats=1 if quick else 3).address_per_s
    with tempfile.TemporaryDirectory(prefix="omg-bench-dex-", dir=directory) as tmp:
        audit = measure_audit(Path(tmp), blocks=2 if quick else 10, per_block=50 if quick else 200, limit_per_s=limit)
    return DexResults(settlements, audit)


METHOD = (
    "Each batch is a fixed pseudo-random book (seed 1): wei-sized amounts (10^15 to 10^19), half the orders "
    "selling each side of their pair, limits within 10% of 1:1, so the books cross and the marginal side is "
    "filled pro rata. `clear` is timed best of 3 against Python's `sorted` of the same orders by limit price "
    "(a 128-bit fixed-point integer key): every uniform-price clearing must at least order the book, so the "
    "sort is the lower bound and the ratio is how far `clear` is from it. Memory is the tracemalloc peak of "
    "one more call of each, above what was allocated before it. The audit row writes a log through the node "
    "(per block: one deposit per order, the orders, and the node's seal, which settles the batch), then "
    "replays it with `ledger.replay.audit` and the runtime InvariantHook on one core; its rate counts orders "
    "and settlements (each order carries one signature, a settlement none) and is divided by the "
    "ecrecover + keccak → address rate measured in the same run, the payments' audit row's limit. The "
    "deposits are replayed too and not counted."
)


def render(results: DexResults) -> str:
    rows = ["| batch | orders | fills | clear | sort by limit | clear / sort | clear peak | sort peak | peak ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in results.settlements:
        rows.append(f"| {s.name} | {s.orders:,} | {s.fills:,} | {s.clear_s * 1e3:,.1f} ms | {s.sort_s * 1e3:,.2f} ms | "
                    f"{s.clear_s / s.sort_s:,.0f}× | {s.clear_peak / 2**20:,.2f} MiB | {s.sort_peak / 2**20:,.2f} MiB | "
                    f"{s.clear_peak / max(1, s.sort_peak):,.1f}× |")
    a = results.audit
    audit = (f"Audit of a log with trades: {a.orders:,} orders and {a.settlements:,} settlements ({a.events:,} events) "
             f"replayed in {a.seconds:.2f} s: {a.per_s:,.0f} tx/s, {a.per_s / a.limit_per_s:.2f} of the "
             f"{a.limit_per_s:,.0f}/s ecrecover+address limit; audit {'ok' if a.ok else 'FAILED'}.")
    return "## DEX settlement (ledger.clearing)\n\n" + "\n".join(rows) + f"\n\n{audit}\n\n### Method\n\n{METHOD}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches and log")
    args = parser.parse_args(argv)
    print(render(measure(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
