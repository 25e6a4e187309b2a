"""The ledger against the physical limits of this machine, measured in one run on one core.

    python -m benchmarks.run                 # 20,000 transactions, writes benchmarks/RESULTS.md
    python -m benchmarks.run --quick         # 2,000 transactions, smoke run, writes nothing
    python -m benchmarks.run --profile       # also cProfile the ingest and audit paths
    python -m benchmarks.run --no-bls        # skip the BLS commit signatures (benchmarks/bls.py)
    python -m benchmarks.run --no-dex        # skip the DEX settlement (benchmarks/dex.py)
    python -m benchmarks.run --no-load       # skip the loopback load over HTTP (benchmarks/loopback.py)

Every throughput is reported as a ratio to a raw limit measured in the same run
(DESIGN.md, "Performance targets"): signature checks dominate, so ingest and audit
are compared with coincurve's ecrecover + keccak(public key) -> address rate; a
block's Merkle root is compared with the raw keccak calls it needs.

Targets (the issue): ingest >= 0.5 and audit >= 0.8 of the one-core ecrecover+address
rate for 1-input payments; a full block's Merkle root within 2x of 131,071 raw
keccak calls (ratio >= 0.5); `transaction.submit` over loopback HTTP from concurrent
clients >= 0.5 of the in-process batched ingest of the same workload, p99 latency
under 100 ms. This is a measurement, never a timed test.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import os
import platform
import pstats
import random
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import coincurve
from sha3 import keccak_256

from benchmarks import bls as bls_bench
from benchmarks import dex as dex_bench
from benchmarks import loopback
from ledger.events import Deposit, Event, FeeRule, Genesis, Payment
from ledger.node import Node, Outcome
from ledger.replay import AuditReport, audit
from ledger.state import CHILD_BLOCK_INTERVAL
from ledger.store import EventStore
from ledger.witnesses import Prefetcher, default_workers
from proofs import eip712, merkle
from proofs import payment as ptx
from proofs.keccak import address_of_public_key
from specs.hooks import InvariantHook

try:  # pycryptodome is a dev extra: reported for reference only
    from Crypto.Hash import keccak as cryptodome_keccak
except ImportError:  # pragma: no cover
    cryptodome_keccak = None

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"

# --- workload constants -----------------------------------------------------------

VERIFYING_CONTRACT = bytes.fromhex("d17e1233a03affb9092d5109179b43d6a8828607")
TOKEN = bytes(20)  # ETH, as OMG spells it
FEE_WEI = 1  # the schedule's exact fee for a payment in TOKEN
DEPOSIT_WEI = 10**18
OWNER_KEYS = 64
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# --- targets ----------------------------------------------------------------------

INGEST_TARGET = 0.5
AUDIT_TARGET = 0.8
MERKLE_TARGET = 0.5
LOAD_TARGET = 0.5  # HTTP submissions against in-process ingest
LOAD_P99_TARGET_MS = 100.0


# --- progress on stderr -------------------------------------------------------------


class Progress:
    """`label: done/total` on stderr, redrawn at most every `every_s` seconds."""

    def __init__(self, label: str, total: int, enabled: bool = True, every_s: float = 0.5) -> None:
        self.label, self.total, self.enabled, self.every_s = label, total, enabled, every_s
        self._last = 0.0
        self._started = time.perf_counter()
        self._closed = False

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if not self.enabled or self._closed:
            return
        if done >= self.total:
            self.close()
        elif now - self._last >= self.every_s:
            self._last = now
            sys.stderr.write(f"\r  {self.label}: {done:,}/{self.total:,} ({now - self._started:.1f} s)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and not self._closed:
            self._closed = True
            elapsed = time.perf_counter() - self._started
            sys.stderr.write(f"\r  {self.label}: {self.total:,} in {elapsed:.1f} s" + " " * 20 + "\n")
            sys.stderr.flush()


def _say(enabled: bool, message: str) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


def _random_private_key(rng: random.Random) -> bytes:
    while True:
        key = rng.randbytes(32)
        if 0 < int.from_bytes(key, "big") < SECP256K1_N:
            return key


# --- raw limits --------------------------------------------------------------------


@dataclass
class EcrecoverRates:
    recover_per_s: float  # coincurve ecrecover alone
    address_per_s: float  # ecrecover + keccak of the public key -> address: THE limit


def raw_ecrecover(samples: int = 5_000, repeats: int = 3, seed: int = 1) -> EcrecoverRates:
    """Best of `repeats` over `samples` recoverable signatures of random 32-byte hashes."""
    rng = random.Random(seed)
    keys = [coincurve.PrivateKey(_random_private_key(rng)) for _ in range(16)]
    digests = [rng.randbytes(32) for _ in range(samples)]
    signed = [(keys[i % len(keys)].sign_recoverable(d, hasher=None), d) for i, d in enumerate(digests)]
    from_signature = coincurve.PublicKey.from_signature_and_message
    best_recover = best_address = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for signature, digest in signed:
            from_signature(signature, digest, hasher=None)
        best_recover = min(best_recover, time.perf_counter() - start)
        start = time.perf_counter()
        for signature, digest in signed:
            address_of_public_key(from_signature(signature, digest, hasher=None).format(compressed=False)[1:])
        best_address = min(best_address, time.perf_counter() - start)
    return EcrecoverRates(samples / best_recover, samples / best_address)


def _best_rate(run: Callable[[], None], calls: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return calls / best


def raw_keccak(samples: int = 200_000, repeats: int = 3, seed: int = 1) -> dict[str, float | None]:
    """keccak-256 of 64 bytes per second: the backend proofs.keccak uses, and pycryptodome."""
    rng = random.Random(seed)
    inputs = [rng.randbytes(64) for _ in range(samples)]

    def pysha3() -> None:
        for data in inputs:
            keccak_256(data).digest()

    rates: dict[str, float | None] = {"pysha3": _best_rate(pysha3, samples, repeats), "pycryptodome": None}
    if cryptodome_keccak is not None:
        new = cryptodome_keccak.new

        def cryptodome() -> None:
            for data in inputs:
                new(digest_bits=256, data=data).digest()

        rates["pycryptodome"] = _best_rate(cryptodome, samples, repeats)
    return rates


def _raw_table(path: Path) -> sqlite3.Connection:
    """A table shaped like eventsourcing's SQLite recorder's, in WAL mode, as the store uses it."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
        "PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID"
    )
    return connection


@dataclass
class SqliteRates:
    executemany_rows_per_s: float  # all rows in one transaction
    commits_per_s: float  # one row per transaction: the limit of per-event commit


def raw_sqlite(directory: Path, rows: int = 100_000, commits: int = 1_000, row_bytes: int = 320) -> SqliteRates:
    """Raw sqlite3, file-backed in `directory`, default (FULL) synchronous, WAL journal."""
    blob = bytes(range(256)) * (row_bytes // 256 + 1)
    originator = "6f6d672d-6c65-4467-8572-000000000001"
    connection = _raw_table(directory / "raw-executemany.sqlite")
    records = [(originator, i, "payment", blob[:row_bytes]) for i in range(rows)]
    start = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO raw_events VALUES (?,?,?,?)", records)
    connection.execute("COMMIT")
    many_s = time.perf_counter() - start
    connection.close()
    connection = _raw_table(directory / "raw-commits.sqlite")
    start = time.perf_counter()
    for i in range(commits):
        connection.execute("BEGIN")
        connection.execute("INSERT INTO raw_events VALUES (?,?,?,?)", (originator, i, "payment", blob[:row_bytes]))
        connection.execute("COMMIT")
    commit_s = time.perf_counter() - start
    connection.close()
    return SqliteRates(rows / many_s, commits / commit_s)


# --- workload (built beforehand, never timed) -----------------------------------------


@dataclass
class Workload:
    setup: list[Event]  # genesis and the deposits
    fanout: list[list[Payment]]  # untimed 4-output splits of the deposits, one child block per list
    payments: list[Payment]  # 1-input payments, pre-signed; each spends its own setup output
    seal_every: int  # timed payments per child block
    chains: int  # deposits the fan-out starts from

    @property
    def mean_payment_bytes(self) -> float:
        return sum(len(p.tx) for p in self.payments) / max(1, len(self.payments))


Coin = tuple[int, int, int]  # (utxo position, owner key index, amount)


def _signed(tx: ptx.PaymentTx, key: bytes) -> Payment:
    signature = eip712.sign(eip712.signing_hash(tx, VERIFYING_CONTRACT), key)
    return Payment(ptx.encode(tx.with_signatures((signature,))))


def _fan_out(coins: list[Coin], wanted: int, keys: list[bytes], owners: list[bytes], rng: random.Random) -> list[list[Payment]]:
    """Split coins 1 -> MAX_OUTPUTS, breadth first, one child block per round, until `coins`
    holds `wanted` (appended to in place, spent coins removed)."""
    blocks: list[list[Payment]] = []
    width = ptx.MAX_OUTPUTS
    while len(coins) < wanted:
        splits = min(len(coins), -(-(wanted - len(coins)) // (width - 1)), merkle.MAX_LEAVES)
        blknum = CHILD_BLOCK_INTERVAL * (1 + len(blocks))
        block, spent = [], coins[:splits]
        del coins[:splits]
        for txindex, (pos, owner, amount) in enumerate(spent):
            share = (amount - FEE_WEI) // width
            shares = [amount - FEE_WEI - share * (width - 1)] + [share] * (width - 1)
            recipients = [rng.randrange(OWNER_KEYS) for _ in shares]
            outputs = [ptx.Output(ptx.OUTPUT_TYPE_PAYMENT, owners[r], TOKEN, a) for r, a in zip(recipients, shares)]
            block.append(_signed(ptx.PaymentTx(inputs=(pos,), outputs=outputs), keys[owner]))
            coins += [(ptx.encode_utxo_pos(blknum, txindex, o), r, a) for o, (r, a) in enumerate(zip(recipients, shares))]
        blocks.append(block)
    return blocks


def build_workload(
    txs: int, chains: int = 500, seal_every: int = 5_000, seed: int = 1, progress: Progress | None = None
) -> Workload:
    """Genesis, `chains` deposits, an untimed fan-out of them into `txs` outputs, then `txs`
    payments, the i-th spending the i-th of those outputs.

    The fan-out splits outputs four ways, one sealed child block per round. Each timed
    payment spends one output (one input, one signature) into one output (everything but
    the fee, to a random owner) or two (change to the owner and a small amount to a random
    owner). No timed payment spends another's output, so any submission order (concurrent
    clients over HTTP) is valid and every payment is accepted.
    """
    assert txs >= 0 and 1 <= chains < CHILD_BLOCK_INTERVAL and 1 <= seal_every <= merkle.MAX_LEAVES
    rng = random.Random(seed)
    keys = [_random_private_key(rng) for _ in range(OWNER_KEYS)]
    owners = [eip712.address_of(key) for key in keys]
    setup: list[Event] = [Genesis(VERIFYING_CONTRACT, (FeeRule(ptx.PAYMENT_TX_TYPE, TOKEN, FEE_WEI),))]
    coins: list[Coin] = []
    for chain in range(chains):
        blknum, owner = chain + 1, chain % OWNER_KEYS
        setup.append(Deposit(blknum, ptx.encode(ptx.deposit_tx(owners[owner], TOKEN, DEPOSIT_WEI))))
        coins.append((ptx.encode_utxo_pos(blknum, 0, 0), owner, DEPOSIT_WEI))
    fanout = _fan_out(coins, txs, keys, owners, rng)
    payments: list[Payment] = []
    for i, (pos, owner, amount) in enumerate(coins[:txs]):
        recipient = rng.randrange(OWNER_KEYS)
        if rng.random() < 0.5:
            outputs = [ptx.Output(ptx.OUTPUT_TYPE_PAYMENT, owners[recipient], TOKEN, amount - FEE_WEI)]
        else:
            sent = rng.randrange(1, 1_000)
            outputs = [
                ptx.Output(ptx.OUTPUT_TYPE_PAYMENT, owners[owner], TOKEN, amount - FEE_WEI - sent),
                ptx.Output(ptx.OUTPUT_TYPE_PAYMENT, owners[recipient], TOKEN, sent),
            ]
        payments.append(_signed(ptx.PaymentTx(inputs=(pos,), outputs=outputs), keys[owner]))
        if progress is not None:
            progress(i + 1)
    return Workload(setup, fanout, payments, seal_every, chains)


def prepare(node: Node, workload: Workload) -> None:
    """The untimed setup: genesis and deposits, then each fan-out round as a sealed block."""
    for start in range(0, len(workload.setup), 500):
        _accepted(node.submit(workload.setup[start : start + 500]))
    for block in workload.fanout:
        for start in range(0, len(block), 500):
            _accepted(node.submit(block[start : start + 500]))
        _accepted(node.seal())


# --- ingest ------------------------------------------------------------------------


@dataclass
class IngestResult:
    batch_size: int
    payments: int
    blocks: int
    events: int  # records in the log afterwards, setup included
    seconds: float  # payments and seals, from the first submit to the last acknowledgement
    seal_seconds: float
    path: Path

    @property
    def per_s(self) -> float:
        return self.payments / self.seconds


def _accepted(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if not outcome.accepted:
            raise RuntimeError(f"benchmark workload rejected: {outcome.code}: {outcome.detail} ({outcome.event!r:.120})")


def run_ingest(
    workload: Workload,
    path: Path,
    batch_size: int = 500,
    txs: int | None = None,
    progress: Progress | None = None,
    workers: int = 0,
) -> IngestResult:
    """Submit the first `txs` payments to a fresh file-backed node, `batch_size` per `submit`.

    The setup (genesis, deposits, fan-out) goes in first, untimed. Timed: every payment submitted (decode,
    validate, apply, invariant hook, hash-chain, one SQLite transaction per batch,
    acknowledged once durable) and every block sealed after `workload.seal_every` payments
    and at the end.
    """
    assert batch_size >= 1
    payments = workload.payments[:txs] if txs is not None else workload.payments
    store = EventStore(path)
    prefetcher = Prefetcher(workers)
    try:
        node = Node(store, InvariantHook(), prefetcher=prefetcher)
        prepare(node, workload)
        seal_s, blocks, done = 0.0, 0, 0
        started = time.perf_counter()
        for block_start in range(0, len(payments), workload.seal_every):
            block = payments[block_start : block_start + workload.seal_every]
            for start in range(0, len(block), batch_size):
                _accepted(node.submit(block[start : start + batch_size]))
                done += len(block[start : start + batch_size])
                if progress is not None:
                    progress(done)
            sealing = time.perf_counter()
            _accepted(node.seal())
            seal_s += time.perf_counter() - sealing
            blocks += 1
        seconds = time.perf_counter() - started
        return IngestResult(batch_size, len(payments), blocks, store.count, seconds, seal_s, Path(path))
    finally:
        prefetcher.close()
        store.close()


# --- audit -------------------------------------------------------------------------


@dataclass
class AuditResult:
    report: AuditReport
    seconds: float
    peak_bytes: int | None  # tracemalloc peak of a second, traced, audit

    @property
    def payments(self) -> int:
        return self.report.kinds.get(Payment.KIND, 0)

    @property
    def per_s(self) -> float:
        return self.payments / self.seconds


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _audit_once(path: Path, progress: Progress | None, workers: int = 0) -> AuditReport:
    store = EventStore(path)
    prefetcher = Prefetcher(workers)
    try:
        return audit(store, InvariantHook(), progress=progress, prefetcher=prefetcher)
    finally:
        prefetcher.close()
        store.close()


def run_audit(
    path: Path, trace_memory: bool = True, progress: Progress | None = None, workers: int = 0
) -> AuditResult:
    """`ledger.replay.audit` of the log at `path` with the default runtime hook; then, if
    `trace_memory`, once more under tracemalloc for its peak (the timed run is untraced)."""
    started = time.perf_counter()
    report = _audit_once(path, progress, workers)
    seconds = time.perf_counter() - started
    peak = None
    if trace_memory:
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            traced = _audit_once(path, None)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert traced.head_hash == report.head_hash
    return AuditResult(report, seconds, peak)


# --- Merkle root of a full block ----------------------------------------------------


@dataclass
class MerkleResult:
    leaves: int
    seconds: float  # proofs.merkle.root, best of repeats
    raw_calls: int
    raw_seconds: float  # the same number of bare keccak calls on prepared inputs, best of repeats

    @property
    def ratio(self) -> float:
        return self.raw_seconds / self.seconds


def merkle_block(leaves: int = merkle.MAX_LEAVES, tx_bytes: int = 200, repeats: int = 3, seed: int = 1) -> MerkleResult:
    """Root of `leaves` distinct ~`tx_bytes`-byte transactions against 2*leaves - 1 raw
    keccak calls (the leaf hashes of salt||tx and the node hashes of salt||left||right)."""
    assert 1 <= leaves <= merkle.MAX_LEAVES
    rng = random.Random(seed)
    txs = [i.to_bytes(4, "big") + rng.randbytes(tx_bytes - 4) for i in range(leaves)]
    raw_inputs = [merkle.LEAF_SALT + tx for tx in txs] + [merkle.NODE_SALT + rng.randbytes(64) for _ in range(leaves - 1)]
    best = raw_best = float("inf")
    root = None
    for _ in range(repeats):
        start = time.perf_counter()
        got = merkle.root(txs)
        best = min(best, time.perf_counter() - start)
        assert root in (None, got)
        root = got
        start = time.perf_counter()
        for data in raw_inputs:
            keccak_256(data).digest()
        raw_best = min(raw_best, time.perf_counter() - start)
    return MerkleResult(leaves, best, len(raw_inputs), raw_best)


# --- profiling ---------------------------------------------------------------------


def _profile_text(profile: cProfile.Profile, title: str, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    total = stats.total_tt  # type: ignore[attr-defined]
    return f"=== {title} (total {total:.2f} s under cProfile; sorted by tottime) ===\n{out.getvalue()}"


def profile_paths(workload: Workload, directory: Path, batch_size: int = 500, top: int = 30) -> str:
    """cProfile of the ingest path (fresh store) and of the audit of the log it wrote."""
    path = directory / "profile.sqlite"
    profile = cProfile.Profile()
    profile.enable()
    run_ingest(workload, path, batch_size)
    profile.disable()
    text = _profile_text(profile, f"ingest, batch {batch_size}, {len(workload.payments):,} payments", top)
    profile = cProfile.Profile()
    profile.enable()
    report = _audit_once(path, None)
    profile.disable()
    assert report.ok, report.failure
    return text + "\n" + _profile_text(profile, f"audit, {report.events:,} events", top)


# --- loopback load over HTTP ------------------------------------------------------------


def run_loopback(workload: Workload, path: Path, txs: int | None, clients: int, warmup: int,
                 verbose: bool = False) -> loopback.LoadResult:
    """The workload's setup into a fresh log at `path` (untimed), then its first `txs`
    payments (None: all) submitted over HTTP to a server process on that log."""
    payments = workload.payments[:txs] if txs is not None else workload.payments
    store = EventStore(path)
    try:
        prepare(Node(store, InvariantHook()), workload)
    finally:
        store.close()
    warmup = min(warmup, len(payments) // 10)
    _say(verbose, f"loopback load: {len(payments):,} transaction.submit from {clients} clients ({warmup:,} warm-up) …")
    return loopback.run_load(path, payments, clients, warmup)


# --- the run -------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    limit: str = "—"
    ratio: float | None = None
    target: float | None = None
    below: float | None = None  # `measured` must stay under this, for a target that is not a ratio
    measured: float | None = None
    unit: str = ""

    @property
    def verdict(self) -> str:
        if self.below is not None and self.measured is not None:
            return "PASS" if self.measured < self.below else "MISS"
        if self.target is None or self.ratio is None:
            return "—"
        return "PASS" if self.ratio >= self.target else "MISS"

    def cells(self) -> list[str]:
        ratio = "—" if self.ratio is None else f"{self.ratio:.3f}"
        target = "—" if self.target is None else f"≥ {self.target:g}"
        if self.below is not None:
            target = f"< {self.below:g}{self.unit}"
        return [self.measure, self.value, self.limit, ratio, target, self.verdict]


def table(rows: Sequence[Row]) -> str:
    header = ["measure", "value", "raw limit", "ratio", "target", "result"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Results:
    txs: int
    batch_size: int
    ecrecover: EcrecoverRates
    keccak: dict[str, float | None]
    sqlite: SqliteRates
    ingest: IngestResult
    ingest_single: IngestResult
    audit: AuditResult
    audit_one_core: AuditResult
    workers: int
    merkle: MerkleResult
    workload_build_s: float
    mean_payment_bytes: float
    chains: int
    total_s: float = 0.0
    facts: dict[str, str] = field(default_factory=dict)
    bls: bls_bench.BlsResults | None = None  # BLS commit signatures, when measured
    dex: dex_bench.DexResults | None = None  # DEX settlement and the audit of trades, when measured
    load: loopback.LoadResult | None = None  # transaction.submit over HTTP, when measured
    seal_every: int = 5_000

    def rows(self) -> list[Row]:
        limit = self.ecrecover.address_per_s
        limit_text = f"{limit:,.0f}/s ecrecover+address"
        cryptodome = self.keccak["pycryptodome"]
        audit = self.audit
        rows = [
            Row("raw: coincurve ecrecover (32-byte hash)", f"{self.ecrecover.recover_per_s:,.0f}/s"),
            Row("raw: ecrecover + keccak(pubkey) → address", f"{limit:,.0f}/s"),
            Row("raw: keccak-256 of 64 B, safe-pysha3 (proofs.keccak)", f"{self.keccak['pysha3']:,.0f}/s"),
            Row(
                "raw: keccak-256 of 64 B, pycryptodome (reference)",
                "n/a" if cryptodome is None else f"{cryptodome:,.0f}/s",
            ),
            Row("raw: sqlite3 executemany, one transaction", f"{self.sqlite.executemany_rows_per_s:,.0f} rows/s"),
            Row("raw: sqlite3 one row per transaction (WAL, FULL)", f"{self.sqlite.commits_per_s:,.0f} commits/s"),
            Row(
                f"ingest, batch {self.ingest.batch_size}: 1-input payments, durable ({self._cores})",
                f"{self.ingest.per_s:,.0f} tx/s",
                limit_text,
                self.ingest.per_s / limit,
                INGEST_TARGET,
            ),
            Row(
                "ingest, batch 1 (per-event commit), contrast",
                f"{self.ingest_single.per_s:,.0f} tx/s",
                f"{limit_text}; {self.sqlite.commits_per_s:,.0f} commits/s",
                self.ingest_single.per_s / limit,
            ),
            Row(
                f"audit replay (ledger.replay.audit + InvariantHook) ({self._cores})",
                f"{audit.per_s:,.0f} tx/s",
                limit_text,
                audit.per_s / limit,
                AUDIT_TARGET,
            ),
            Row(
                "audit replay on one core, contrast",
                f"{self.audit_one_core.per_s:,.0f} tx/s",
                limit_text,
                self.audit_one_core.per_s / limit,
            ),
            Row(
                "audit peak memory (tracemalloc)",
                "n/a"
                if audit.peak_bytes is None
                else f"{audit.peak_bytes / 2**20:,.1f} MiB ({audit.peak_bytes / max(1, audit.report.events):,.0f} B/event)",
            ),
            Row(
                f"Merkle root, {self.merkle.leaves:,}-tx block",
                f"{self.merkle.seconds * 1e3:,.1f} ms",
                f"{self.merkle.raw_seconds * 1e3:,.1f} ms for {self.merkle.raw_calls:,} raw keccak",
                self.merkle.ratio,
                MERKLE_TARGET,
            ),
        ]
        return rows

    @property
    def _cores(self) -> str:
        if self.workers < 1:
            return "one core"
        return f"fold on one core, signatures on {self.workers} worker process(es)"

    def table(self) -> str:
        return table(self.rows())

    def load_rows(self) -> list[Row]:
        """The loopback load against the in-process batched ingest of the same workload."""
        load, ingest = self.load, self.ingest
        assert load is not None
        p99_ms = load.percentile(99) * 1e3
        return [
            Row(
                f"transaction.submit over HTTP, {load.clients} clients, durable",
                f"{load.per_s:,.0f} tx/s",
                f"{ingest.per_s:,.0f} tx/s in-process ingest, batch {ingest.batch_size}",
                load.per_s / ingest.per_s,
                LOAD_TARGET,
            ),
            Row("latency p50", f"{load.percentile(50) * 1e3:,.1f} ms"),
            Row("latency p99", f"{p99_ms:,.1f} ms", below=LOAD_P99_TARGET_MS, measured=p99_ms, unit=" ms"),
            Row("latency max", f"{load.latencies[-1] * 1e3:,.1f} ms"),
            Row(
                "server process CPU, timed phase",
                "n/a" if load.server_cpu_s is None else
                f"{load.server_cpu_s / load.seconds:.0%} of a core, {load.server_cpu_s / load.timed * 1e6:,.0f} µs/tx",
            ),
            Row("client (harness) process CPU, timed phase",
                f"{load.client_cpu_s / load.seconds:.0%} of a core, {load.client_cpu_s / load.timed * 1e6:,.0f} µs/tx"),
        ]

    def load_details(self) -> str:
        load = self.load
        assert load is not None
        return (f"- {load.warmup:,} warm-up and {load.timed:,} timed submissions of the workload's first"
                f" {load.warmup + load.timed:,} payments; timed phase {load.seconds:.2f} s; afterwards the log held"
                f" {load.logged:,} payments after the setup, exactly those submitted (checked)")

    def details(self) -> str:
        i, s, a = self.ingest, self.ingest_single, self.audit
        return "\n".join(
            [
                f"- workload: {i.payments:,} payments (1 input, 1–2 outputs, mean {self.mean_payment_bytes:.0f} B signed)"
                f" each spending its own output of an untimed fan-out from {self.chains} deposits, built and signed in"
                f" {self.workload_build_s:.1f} s (untimed)",
                f"- ingest batch {i.batch_size}: {i.seconds:.2f} s for {i.payments:,} payments and {i.blocks} block seals"
                f" ({i.seal_seconds:.2f} s of it sealing); {i.events:,} records in the log",
                f"- ingest batch 1: {s.seconds:.2f} s for {s.payments:,} payments and {s.blocks} block seals"
                f" ({s.seal_seconds:.2f} s of it sealing)",
                f"- audit: {a.seconds:.2f} s for {a.report.events:,} events ({a.payments:,} payments,"
                f" {a.report.blocks} child blocks, {a.report.deposit_blocks} deposit blocks), verdict"
                f" {'OK' if a.report.ok else a.report.failure}",
                f"- whole run: {self.total_s:.1f} s; peak RSS of the process {_maxrss_bytes() / 2**20:.0f} MiB",
            ]
        )


def machine_facts(pinned: bool, workers: int) -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": f"{os.cpu_count()} logical; raw limits {'pinned to one' if pinned else 'not pinned'};"
        f" ingest and audit with {workers} signature worker process(es)",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({platform.platform()})",
        "sqlite": sqlite3.sqlite_version,
        "load average": "{:.2f} {:.2f} {:.2f} (1, 5, 15 min, as the report was written; this run included)".format(
            *os.getloadavg()),
    }


def _pin_to_one_core() -> set[int] | None:
    """Pin to the lowest CPU; returns the CPUs allowed before, to restore."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    return allowed


def run(
    txs: int,
    batch_size: int = 500,
    batch1_txs: int | None = None,
    seal_every: int = 5_000,
    chains: int = 500,
    seed: int = 1,
    quick: bool = False,
    directory: Path | None = None,
    verbose: bool = True,
    merkle_leaves: int = merkle.MAX_LEAVES,
    workers: int = 0,
    pin: bool = True,
    bls: bool = False,
    load_txs: int | None = 0,
    load_clients: int = 32,
    load_warmup: int = 1_000,
) -> Results:
    """Every measurement, in order: raw limits (on one pinned core), workload, ingest and
    audit (the fold on one core, signature recovery on `workers` processes), Merkle, and
    with `bls` the BLS commit signatures against the pairing rate (on one pinned core), and
    unless `load_txs` is 0 the loopback load of the first `load_txs` payments (None: all)."""
    begun = time.perf_counter()
    chains = max(1, min(chains, txs or 1, CHILD_BLOCK_INTERVAL - 1))
    samples = 1_000 if quick else 5_000
    with tempfile.TemporaryDirectory(prefix="omg-bench-", dir=directory) as tmp:
        tmpdir = Path(tmp)
        _say(verbose, "raw limits: ecrecover, keccak, sqlite3 …")
        cpus = _pin_to_one_core() if pin else None
        ecrecover = raw_ecrecover(samples, seed=seed)
        keccak = raw_keccak(40_000 if quick else 200_000, seed=seed)

        _say(verbose, f"workload: {txs:,} payments fanned out from {chains} deposits …")
        progress = Progress("sign", txs, verbose)
        started = time.perf_counter()
        workload = build_workload(txs, chains, seal_every, seed, progress)
        build_s = time.perf_counter() - started
        progress.close()
        record_bytes = 64 + int(workload.mean_payment_bytes) + 12  # hashes, the tx, the event's RLP frame
        sqlite_rates = raw_sqlite(tmpdir, 20_000 if quick else 100_000, 300 if quick else 1_000, record_bytes)
        if cpus is not None:
            os.sched_setaffinity(0, cpus)  # the ledger may use every core it is given
        gc.collect()
        gc.freeze()  # the harness's own objects stay out of the timed sections' collections

        _say(verbose, f"ingest, batch {batch_size} …")
        progress = Progress("ingest", txs, verbose)
        ingest = run_ingest(workload, tmpdir / "ingest.sqlite", batch_size, progress=progress, workers=workers)
        progress.close()

        single_txs = txs if batch1_txs is None else min(batch1_txs, txs)
        _say(verbose, "ingest, batch 1 …")
        progress = Progress("ingest", single_txs, verbose)
        single = run_ingest(workload, tmpdir / "ingest-1.sqlite", 1, single_txs, progress=progress)
        progress.close()

        _say(verbose, "audit replay …")
        progress = Progress("audit", ingest.events, verbose)
        audited = run_audit(ingest.path, trace_memory=True, progress=progress, workers=workers)
        progress.close()
        _say(verbose, "audit replay on one core …")
        audited_one_core = run_audit(ingest.path, trace_memory=False, workers=0)
        if not audited.report.ok:
            raise RuntimeError(f"the ingest log does not audit: {audited.report.failure}")

        load = None
        if load_txs != 0:
            load = run_loopback(workload, tmpdir / "loopback.sqlite", load_txs, load_clients, load_warmup, verbose)

        _say(verbose, f"Merkle root of a {merkle_leaves:,}-transaction block …")
        merkle_result = merkle_block(merkle_leaves, repeats=2 if quick else 3, seed=seed)
        bls_result = None
        if bls:
            cpus = _pin_to_one_core() if pin else None
            bls_result = bls_bench.measure(quick, seed, verbose=verbose)
            if cpus is not None:
                os.sched_setaffinity(0, cpus)
        gc.unfreeze()
    results = Results(
        txs=txs,
        batch_size=batch_size,
        ecrecover=ecrecover,
        keccak=keccak,
        sqlite=sqlite_rates,
        ingest=ingest,
        ingest_single=single,
        audit=audited,
        audit_one_core=audited_one_core,
        workers=workers,
        merkle=merkle_result,
        workload_build_s=build_s,
        mean_payment_bytes=workload.mean_payment_bytes,
        chains=chains,
        bls=bls_result,
        seal_every=seal_every,
        load=load,
    )
    results.total_s = time.perf_counter() - begun
    return results


METHOD = """\
- One run: every ratio compares two numbers measured minutes apart on the same machine.
  Raw limits run on one core (pinned with `sched_setaffinity` where the OS allows): they
  are the one-core rates the targets are stated against. Ingest and audit then get every
  core: the fold runs in this process, and `ledger.witnesses.Prefetcher` recovers
  signatures on `--workers` processes ahead of it (the audit is also run on one core, as
  a contrast).
- Raw limits are the best of 3 repetitions (so ratios are conservative): coincurve
  `PublicKey.from_signature_and_message(sig, hash, hasher=None)` over `sign_recoverable`
  signatures of random 32-byte hashes, then `proofs.keccak.address_of_public_key`;
  keccak-256 of 64 distinct bytes per call via `sha3.keccak_256` (safe-pysha3, the backend
  of `proofs.keccak`) and via pycryptodome; sqlite3 `executemany` of record-sized rows in
  one transaction, and one row per transaction, into a table shaped like eventsourcing's
  (WAL journal, default synchronous) in the same temporary directory as the stores.
- Workload (untimed): genesis with a 1-wei fee schedule, 500 deposits, a fan-out of
  4-output payments (one sealed child block per round) until there is one output per
  timed payment, then the timed payments, each spending its own output (1 input, 1 or 2
  outputs), signed with `proofs.eip712.sign` over `proofs.eip712.signing_hash`. No timed
  payment spends another's output, so any order of submission is valid (the loopback
  clients' order is not fixed).
- Ingest (timed once): a fresh file-backed `ledger.store.EventStore`, `ledger.node.Node`
  with `specs.hooks.InvariantHook()`; `submit` of pre-built `Payment` events in batches
  (decode, validate, ecrecover, apply, every invariant, hash-chain, one SQLite
  transaction per batch; acknowledged once durable), and `node.seal()` every 5,000
  payments and at the end. The node's default snapshots (every 10,000 events) are on.
- Audit (timed once): `ledger.replay.audit(store, InvariantHook())` over the log written
  by the batched ingest, from a freshly opened store; peak memory is tracemalloc's peak
  during a second, untimed, audit (Python heap only; SQLite's own cache is not counted).
- Merkle: `proofs.merkle.root` over 65,536 distinct 200-byte transactions against
  131,071 bare `keccak_256(x).digest()` calls on prepared inputs (65,536 of salt+tx,
  65,535 of salt+64 bytes); best of 3 each; ratio = raw time / measured time.
- `gc.freeze()` after building the workload keeps the harness's own objects out of the
  timed collections; the garbage collector stays on.
- Ratios are throughput ÷ the one-core ecrecover+address rate (one signature per
  payment); "—" rows are limits or contrasts with no target."""


def bls_details(results: Results) -> str:
    """The BLS run's size, and one commit check per child block against auditing that block."""
    b = results.bls
    assert b is not None
    lines = [f"- {b.calls['arkworks']} calls per arkworks row, {b.calls['py_ecc']} per py-ecc row; whole BLS run {b.total_s:.1f} s"]
    block_s = results.seal_every / results.audit.per_s
    for backend in ("arkworks", "py_ecc"):
        for n in bls_bench.SIGNERS:
            rate = b.per_s(backend, f"commit{n}")
            if rate:
                lines.append(
                    f"- a commit of {n} ({backend}) per child block of {results.seal_every:,} payments: {1e3 / rate:,.2f} ms,"
                    f" {100 / rate / block_s:,.2f}% of auditing the block ({block_s:.2f} s at {results.audit.per_s:,.0f} tx/s)"
                )
    return "\n".join(lines)


def render_markdown(results: Results, command: str) -> str:
    facts = "\n".join(f"- **{key}**: {value}" for key, value in results.facts.items())
    bls_section = ""
    if results.bls is not None:
        bls_section = (
            f"## BLS commit signatures (proofs.bls)\n\n{results.bls.table()}\n\n{bls_details(results)}\n\n"
            f"### Method\n\n{bls_bench.METHOD}\n\n"
        )
    load_section = ""
    if results.load is not None:
        load_section = (
            f"## Loopback load: transaction.submit over HTTP\n\n{table(results.load_rows())}\n\n"
            f"{results.load_details()}\n\n### Method\n\n{loopback.METHOD}\n\n"
        )
    return (
        "# Benchmarks: the ledger against this machine's limits\n\n"
        f"Generated by `{command}` — do not edit by hand.\n\n"
        f"## Machine\n\n{facts}\n\n"
        f"## Results ({results.txs:,} payments)\n\n{results.table()}\n\n{results.details()}\n\n"
        f"{load_section}"
        f"{bls_section}"
        f"{dex_bench.render(results.dex) + chr(10) if results.dex is not None else ''}"
        f"## Method\n\n{METHOD}\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--txs", type=int, default=None, help="payments in the workload (default 20,000; 2,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 payments, fewer samples, no RESULTS.md")
    parser.add_argument("--batch", type=int, default=500, help="events per submit for the group-commit ingest (default 500)")
    parser.add_argument("--batch1-txs", type=int, default=None, help="payments for the batch-1 contrast (default: all)")
    parser.add_argument("--seal-every", type=int, default=5_000, help="payments per child block (default 5,000)")
    parser.add_argument("--chains", type=int, default=500, help="deposits the workload fans out from (≤ 999)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=None, help=f"where to write the report (default {RESULTS_PATH})")
    parser.add_argument("--no-write", action="store_true", help="print only, write no RESULTS.md")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the raw limits to one CPU")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="signature-recovery processes beside the fold for ingest and audit (default: cores - 1)")
    parser.add_argument("--no-bls", action="store_true", help="skip the BLS commit signatures (benchmarks/bls.py)")
    parser.add_argument("--no-dex", action="store_true", help="skip the DEX settlement (benchmarks/dex.py)")
    parser.add_argument("--no-load", action="store_true", help="skip the loopback load over HTTP (benchmarks/loopback.py)")
    parser.add_argument("--load-txs", type=int, default=None,
                        help="payments submitted over HTTP in the loopback load (default: the whole workload)")
    parser.add_argument("--load-clients", type=int, default=32, help="concurrent HTTP connections (default 32)")
    parser.add_argument("--load-warmup", type=int, default=1_000,
                        help="untimed submissions first (default 1,000; at most a tenth of the load)")
    parser.add_argument("--profile", action="store_true", help="also cProfile ingest and audit (sorted by tottime)")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--tmpdir", type=Path, default=None, help="where the temporary stores go (default: system temp)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    txs = args.txs if args.txs is not None else (2_000 if args.quick else 20_000)
    if txs < 1:
        parser.error("--txs must be at least 1")
    results = run(
        txs,
        batch_size=args.batch,
        batch1_txs=args.batch1_txs,
        seal_every=args.seal_every,
        chains=args.chains,
        seed=args.seed,
        quick=args.quick,
        directory=args.tmpdir,
        verbose=not args.quiet,
        workers=args.workers,
        pin=not args.no_pin,
        bls=not args.no_bls,
        load_txs=0 if args.no_load else args.load_txs,
        load_clients=args.load_clients,
        load_warmup=args.load_warmup,
    )
    results.facts = {**machine_facts(not args.no_pin, args.workers), **results.facts}
    results.dex = None if args.no_dex else dex_bench.measure(args.quick, args.tmpdir)
    if results.dex is not None:
        print(dex_bench.render(results.dex))
    print(results.table())
    print()
    print(results.details())
    if results.load is not None:
        print()
        print(table(results.load_rows()))
        print()
        print(results.load_details())
    if results.bls is not None:
        print()
        print(results.bls.table())
        print()
        print(bls_details(results))
    write = not args.no_write and (not args.quick or args.results is not None)
    if write:
        path = args.results or RESULTS_PATH
        command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
        path.write_text(render_markdown(results, command.strip()))
        print(f"\nwrote {path}")
    if args.profile:
        _say(not args.quiet, "profiling ingest and audit …")
        with tempfile.TemporaryDirectory(prefix="omg-bench-prof-", dir=args.tmpdir) as tmp:
            workload = build_workload(txs, min(args.chains, txs, CHILD_BLOCK_INTERVAL - 1), args.seal_every, args.seed)
            print()
            print(profile_paths(workload, Path(tmp), args.batch, args.profile_top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
