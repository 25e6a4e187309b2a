"""Smoke test of benchmarks/run.py on a tiny workload: structure only, never a timing."""
from __future__ import annotations

import dataclasses
import math
import sys
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo root on the path
    sys.path.insert(0, str(ROOT))

from benchmarks import dex as dex_bench  # noqa: E402
from benchmarks import run as bench  # noqa: E402
from ledger.clearing import clear  # noqa: E402

TXS = 200
CHAINS = 20
SEAL_EVERY = 120  # one full block and one partial block


def _positive(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def workload() -> bench.Workload:
    return bench.build_workload(TXS, chains=CHAINS, seal_every=SEAL_EVERY, seed=7)


def test_workload_is_one_input_payments(workload: bench.Workload) -> None:
    from proofs.payment import decode

    assert len(workload.payments) == TXS
    assert len(workload.setup) == 1 + CHAINS  # genesis and one deposit per chain
    txs = [decode(p.tx) for p in workload.payments]
    assert all(len(tx.inputs) == 1 and len(tx.signatures) == 1 and 1 <= len(tx.outputs) <= 2 for tx in txs)
    assert len({p.tx for p in workload.payments}) == TXS
    assert len({tx.inputs[0] for tx in txs}) == TXS  # each spends its own setup output


def test_any_submission_order_is_accepted(workload: bench.Workload, tmp_path: Path) -> None:
    """Concurrent clients submit in no fixed order: the workload must not depend on one."""
    reversed_ = dataclasses.replace(workload, payments=workload.payments[::-1])
    ingest = bench.run_ingest(reversed_, tmp_path / "reversed.sqlite", batch_size=7)  # raises on a rejection
    assert ingest.payments == TXS


def test_ingest_log_audits_ok(workload: bench.Workload, tmp_path: Path) -> None:
    ingest = bench.run_ingest(workload, tmp_path / "ingest.sqlite", batch_size=50)
    assert ingest.payments == TXS
    assert ingest.blocks == 2
    fanned = sum(len(block) for block in workload.fanout)
    assert fanned >= (TXS - CHAINS) / 3  # each split adds three outputs
    # genesis + deposits + fan-out + payments + per block one fee collection and one seal
    assert ingest.events == 1 + CHAINS + fanned + TXS + 2 * (len(workload.fanout) + ingest.blocks)
    assert _positive(ingest.per_s)

    audited = bench.run_audit(ingest.path, trace_memory=True)
    assert audited.report.ok, audited.report.failure
    assert audited.report.events == ingest.events
    assert audited.payments == TXS + fanned
    assert audited.report.blocks == ingest.blocks + len(workload.fanout)
    assert audited.report.deposit_blocks == CHAINS
    assert _positive(audited.per_s)
    assert audited.peak_bytes is not None and audited.peak_bytes > 0


def test_per_event_commit_matches_batched_log(workload: bench.Workload, tmp_path: Path) -> None:
    batched = bench.run_ingest(workload, tmp_path / "batched.sqlite", batch_size=50, txs=60)
    single = bench.run_ingest(workload, tmp_path / "single.sqlite", batch_size=1, txs=60)
    fanned = sum(len(block) for block in workload.fanout)
    assert single.events == batched.events == 1 + CHAINS + fanned + 2 * len(workload.fanout) + 60 + 2
    a = bench.run_audit(batched.path, trace_memory=False).report
    b = bench.run_audit(single.path, trace_memory=False).report
    assert a.ok and b.ok and a.head_hash == b.head_hash  # same events, same chain, whatever the batching


def test_raw_limits_and_merkle_are_positive(tmp_path: Path) -> None:
    ecrecover = bench.raw_ecrecover(samples=200, repeats=1)
    assert _positive(ecrecover.recover_per_s) and _positive(ecrecover.address_per_s)
    keccak = bench.raw_keccak(samples=2_000, repeats=1)
    assert _positive(keccak["pysha3"])
    assert keccak["pycryptodome"] is None or _positive(keccak["pycryptodome"])
    sqlite = bench.raw_sqlite(tmp_path, rows=1_000, commits=20)
    assert _positive(sqlite.executemany_rows_per_s) and _positive(sqlite.commits_per_s)
    tree = bench.merkle_block(leaves=256, repeats=1)
    assert tree.raw_calls == 2 * 256 - 1
    assert _positive(tree.seconds) and _positive(tree.ratio)


def test_full_run_renders_a_table(tmp_path: Path) -> None:
    results = bench.run(
        TXS, batch_size=50, batch1_txs=40, seal_every=SEAL_EVERY, chains=CHAINS, quick=True,
        directory=tmp_path, verbose=False, merkle_leaves=256, workers=1, pin=False, load_txs=30, load_clients=3,
    )
    rows = results.rows()
    ratios = [row.ratio for row in rows if row.ratio is not None]
    assert ratios and all(_positive(r) for r in ratios)
    assert {row.verdict for row in rows if row.target is not None} <= {"PASS", "MISS"}
    assert results.audit.report.ok and results.audit_one_core.report.head_hash == results.audit.report.head_hash
    results.facts = bench.machine_facts(False, 1)
    text = bench.render_markdown(results, "python -m benchmarks.run --test")
    assert "| measure |" in text and "ecrecover" in text and "Merkle root" in text
    assert "## Loopback load: transaction.submit over HTTP" in text and "in-process ingest, batch 50" in text


def test_loopback_load_every_payment_accepted_and_logged(workload: bench.Workload, tmp_path: Path) -> None:
    """The real server in its own process, a handful of payments from concurrent clients."""
    load = bench.run_loopback(workload, tmp_path / "loopback.sqlite", 40, clients=4, warmup=10)
    assert (load.warmup, load.timed, load.logged) == (4, 36, 40)  # warm-up: at most a tenth
    assert len(load.latencies) == 36 and all(_positive(x) for x in load.latencies)
    assert load.percentile(50) <= load.percentile(99) <= load.latencies[-1]
    assert _positive(load.per_s)


def test_loopback_load_fails_on_a_rejected_payment(workload: bench.Workload, tmp_path: Path) -> None:
    """The benchmark checks itself: a payment the server refuses (a double spend) fails the run."""
    doubled = dataclasses.replace(workload, payments=workload.payments[:20] + workload.payments[:1])
    with pytest.raises(RuntimeError, match="not accepted"):
        bench.run_loopback(doubled, tmp_path / "loopback.sqlite", None, clients=3, warmup=0)


def test_dex_benchmark_times_clears_own_settlement_and_a_sort_by_limit() -> None:
    orders = dex_bench.make_orders(3, 40)
    settled = dex_bench.measure_settlement("tiny", orders, repeats=1)
    assert settled.result == clear(list(reversed(orders)))  # what was timed is clear()'s settlement
    assert settled.fills > 0 and len(settled.result) == 3
    assert _positive(settled.clear_s) and _positive(settled.sort_s) and settled.clear_peak > 0 and settled.sort_peak > 0
    limits = [Fraction(o.limit_buy, o.limit_sell) for o in dex_bench.sort_bound(orders)]
    assert limits == sorted(limits)


def test_dex_audit_replays_a_log_with_trades(tmp_path: Path) -> None:
    audited = dex_bench.measure_audit(tmp_path, blocks=2, per_block=12, limit_per_s=1.0)
    assert (audited.orders, audited.settlements) == (24, 2) and audited.ok
    assert _positive(audited.per_s)
    text = dex_bench.render(dex_bench.DexResults([], audited))
    assert text.startswith("## DEX settlement") and "### Method" in text and "24 orders and 2 settlements" in text
