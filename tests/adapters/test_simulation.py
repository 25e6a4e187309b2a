"""The seeded proof-of-stake run: replayable, and its log audits clean, every commit re-verified."""
from __future__ import annotations

from pathlib import Path

from adapters.audit_report import run_audit
from adapters.simulation import Config, Simulation, validator_keys
from ledger.blocks import BlockIndex
from proofs import merkle


def test_a_seeded_run_slashes_the_equivocator_jails_the_offline_and_audits_clean(tmp_path: Path) -> None:
    config = Config(blocks=8)
    summary = Simulation(tmp_path / "a.db", config).run()
    names = {k.behaviour: k.name for k in validator_keys(config)}
    assert summary.commits == 8 and summary.epochs == 2
    assert summary.slashed_equivocation and all(s.startswith(names["equivocating"]) for s in summary.slashed_equivocation)
    assert set(summary.jailed) == {names["equivocating"], names["offline"]}
    assert summary.fees_distributed > 0

    report = run_audit(tmp_path / "a.db", progress=False)
    assert report.ok and report.kinds["block_committed"] == 8 and report.kinds["equivocation"] == 1


def test_the_same_seed_writes_the_same_log(tmp_path: Path) -> None:
    config = Config(blocks=3, seed=7)
    Simulation(tmp_path / "a.db", config).run()
    Simulation(tmp_path / "b.db", config).run()
    a, b = run_audit(tmp_path / "a.db", progress=False), run_audit(tmp_path / "b.db", progress=False)
    assert a.head_hash == b.head_hash and a.ok


def test_every_indexed_block_has_the_root_the_ledger_sealed(tmp_path: Path) -> None:
    simulation = Simulation(tmp_path / "log.db", Config(blocks=4, epoch_blocks=2))
    simulation.run()  # bonds, an equivocation reward and fee shares are leaves of these blocks
    index = BlockIndex()
    index.follow(simulation.node.store)
    state = simulation.node.state
    assert index.state == state
    assert set(index.blocks) == set(state.blocks)
    for blknum, block in state.blocks.items():
        assert merkle.root(index.leaves(blknum)) == block.root, blknum
    assert len(index.leaves(1000)) > Config().payments_per_block  # the bonds sit beside the payments
