"""The seeded proof-of-stake run: replayable, and its log audits clean, every commit re-verified."""
from __future__ import annotations

from pathlib import Path

from adapters.cli import run_audit
from adapters.simulation import Config, Simulation, validator_keys


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
