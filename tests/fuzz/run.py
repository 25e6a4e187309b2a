"""Run one harness under atheris (libFuzzer, coverage-guided, in this process):

    python -m tests.fuzz.run TARGET [CORPUS_DIR...] [-max_total_time=S] [-runs=N] [libFuzzer flags]
    python -m tests.fuzz.run --list

The project's packages are instrumented as the harness imports them. A corpus folder that
is empty is seeded with the harness' valid inputs first; libFuzzer adds what it finds there.
A crash (an exception outside the contract) stops the run with exit code 1 and writes the
input to `-artifact_prefix`; `tests/fuzz/run.py TARGET that-file` replays it.
"""
from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import atheris

# One harness module tests/fuzz/test_fuzz_<target>.py each.
TARGETS = ("rlp", "payment", "eip712", "merkle", "bls", "fraud", "events", "snapshot", "replay", "cli", "follower",
           "order")
INSTRUMENTED = ["proofs", "ledger", "specs", "adapters", "wallet"]


def seed(corpus: Path, inputs: list[bytes]) -> None:
    if corpus.is_dir() and not any(corpus.iterdir()):
        for data in inputs:
            (corpus / f"seed-{hashlib.sha1(data).hexdigest()}").write_bytes(data)


def main(argv: list[str]) -> None:
    if argv[1:] == ["--list"]:
        print("\n".join(TARGETS))
        return
    target, flags = argv[1], argv[2:]
    if target not in TARGETS:
        sys.exit(f"unknown fuzz target {target!r}; one of: {', '.join(TARGETS)}")
    with atheris.instrument_imports(include=INSTRUMENTED):
        harness = importlib.import_module(f"tests.fuzz.test_fuzz_{target}")
    for corpus in (Path(flag) for flag in flags if not flag.startswith("-")):
        seed(corpus, list(harness.seeds()))
    atheris.Setup([argv[0], *flags], harness.TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
