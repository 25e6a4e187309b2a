"""Each harness under atheris for about two seconds, in a subprocess (libFuzzer takes over
the process it runs in): it starts from its seeds and ends without a crash."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.run import TARGETS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", TARGETS)
def test_atheris_runs_the_harness_from_its_seeds(target, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", target, str(corpus), "-max_total_time=2", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Done " in run.stderr and any(corpus.glob("seed-*"))
    assert not list(tmp_path.glob("crash-*"))
