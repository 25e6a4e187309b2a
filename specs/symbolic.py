"""`omg check --symbolic`: CrossHair over the contracts in `specs.contracts`.

Runs in-process through CrossHair's analysis API (no subprocess: the contracts
import the ledger once, and a test can hand in a function of its own module).

Two kinds of contract, and three verdicts:
- a *bounded* contract (marked with `bounded(budget_s)`) fixes its shape and keeps its
  inputs small, so CrossHair can explore every path: it must come back CONFIRMED within
  its budget, and a bounded contract that does not is a failure of the check;
- any other contract is a *search*: its inputs are too wide to exhaust, so CrossHair
  samples paths for `per_function_s` and says CANNOT_CONFIRM when it found nothing;
- either kind can come back with a COUNTEREXAMPLE: a failing call, which fails the check.
Budgets are CrossHair's per-condition timeout, which counts CPU seconds of the process
checking the contract, so a busy machine makes the run longer but not the search shorter.
Contracts are checked on forked worker processes, one per core.

Keccak is C code that cannot read CrossHair's symbolic bytes, so calls to it are
patched to realise their argument first: the paths through a hash become concrete
samples rather than a crash.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import attrs

from proofs import keccak

FAILURES = {"POST_FAIL", "EXEC_ERR", "POST_ERR", "PRE_UNSAT", "SYNTAX_ERR", "IMPORT_ERR"}
"""Message kinds that are counterexamples (PRE_UNSAT: no input meets the preconditions, so
the contract checks nothing, which is a bug in the contract)."""

BUDGET_ATTRIBUTE = "confirm_within_s"
F = TypeVar("F", bound=Callable)
_patched = False
_TARGETS: list[tuple[str, Callable]] = []  # the contracts of the current run, by index


def bounded(budget_s: float) -> Callable[[F], F]:
    """Marks a contract CrossHair must CONFIRM, every path explored, within `budget_s` CPU seconds."""
    assert budget_s > 0

    def mark(fn: F) -> F:
        setattr(fn, BUDGET_ATTRIBUTE, budget_s)
        return fn

    return mark


@attrs.frozen
class Finding:
    function: str
    kind: str
    message: str  # CrossHair's text, with the failing call: "... when calling f(1, 2)"


@attrs.frozen
class Verdict:
    """What CrossHair made of one contract."""

    function: str
    status: str  # CONFIRMED, CANNOT_CONFIRM or COUNTEREXAMPLE
    bounded: bool
    paths: int  # paths CrossHair explored
    cpu_s: float
    budget_s: float
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """No counterexample, and confirmed if it is bounded."""
        return self.status == "CONFIRMED" or (self.status == "CANNOT_CONFIRM" and not self.bounded)

    def line(self) -> str:
        effort = f"{self.paths} paths in {self.cpu_s:.1f} s"
        if self.status == "CONFIRMED":
            return f"CONFIRMED       {self.function}: all {effort}"
        if self.status == "CANNOT_CONFIRM":
            why = f"NOT CONFIRMED within its {self.budget_s:g} s budget" if self.bounded else "no counterexample"
            return f"CANNOT_CONFIRM  {self.function}: searched {effort}, {why}"
        return "\n".join(f"COUNTEREXAMPLE  {self.function}: {f.kind}: {f.message}" for f in self.findings)


@attrs.frozen
class SymbolicResult:
    verdicts: tuple[Verdict, ...]
    elapsed_s: float

    @property
    def counterexamples(self) -> tuple[Finding, ...]:
        return tuple(finding for verdict in self.verdicts for finding in verdict.findings)

    @property
    def unconfirmed(self) -> tuple[str, ...]:
        """Bounded contracts that ran out of budget."""
        return tuple(v.function for v in self.verdicts if v.bounded and v.status == "CANNOT_CONFIRM")

    @property
    def ok(self) -> bool:
        return all(verdict.ok for verdict in self.verdicts)

    def summary(self) -> str:
        counts = Counter(verdict.status for verdict in self.verdicts)
        closing = (f"{counts['CONFIRMED']} confirmed, "
                   f"{counts['CANNOT_CONFIRM'] - len(self.unconfirmed)} searched without counterexample, "
                   f"{counts['COUNTEREXAMPLE']} counterexamples")
        if self.unconfirmed:
            closing += f", {len(self.unconfirmed)} bounded not confirmed"
        lines = [verdict.line() for verdict in self.verdicts]
        lines.append(f"symbolic: {closing} ({len(self.verdicts)} contracts, {self.elapsed_s:.0f} s)")
        return "\n".join(lines)


def resolve(name: str) -> Callable:
    """"module:function", "module.function", or a bare name from `specs.contracts`."""
    if ":" in name:
        module, _, attr = name.partition(":")
    elif "." in name:
        module, _, attr = name.rpartition(".")
    else:
        module, attr = "specs.contracts", name
    return getattr(importlib.import_module(module), attr)


def run_symbolic(per_function_s: float = 10.0, functions: list[str] | None = None,
                 workers: int | None = None) -> SymbolicResult:
    """Check each contract (all of `specs.contracts.CONTRACTS` by default): a bounded one for
    its own budget, a search for `per_function_s` CPU seconds; on `workers` forked processes
    (default: one per core), each contract whole on one of them, verdicts in contract order."""
    assert per_function_s > 0
    _patch_c_hashes()
    if functions is None:
        from specs.contracts import CONTRACTS

        targets = [(f"{fn.__module__}.{fn.__name__}", fn) for fn in CONTRACTS]
    else:
        targets = [(name, resolve(name)) for name in functions]
    workers = min(workers or os.cpu_count() or 1, len(targets))
    start = time.monotonic()
    _TARGETS[:] = targets  # what the forked workers inherit: functions themselves, even a test's monkeypatched ones
    jobs = [(index, per_function_s) for index in range(len(targets))]
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            verdicts = tuple(pool.imap(_check_target, jobs))
    else:
        verdicts = tuple(map(_check_target, jobs))
    return SymbolicResult(verdicts, time.monotonic() - start)


def _check_target(job: tuple[int, float]) -> Verdict:
    index, per_function_s = job
    name, fn = _TARGETS[index]
    return _check(name, fn, getattr(fn, BUDGET_ATTRIBUTE, None), per_function_s)


def _check(name: str, fn: Callable, budget_s: float | None, per_function_s: float) -> Verdict:
    """CrossHair's verdict on one function, with the paths it explored."""
    from crosshair.core_and_libs import AnalysisKind, analyze_function, run_checkables
    from crosshair.options import AnalysisOptionSet

    stats: Counter = Counter()
    timeout = budget_s if budget_s is not None else per_function_s
    options = AnalysisOptionSet(analysis_kind=[AnalysisKind.asserts], per_condition_timeout=timeout, stats=stats)
    cpu = time.process_time()
    messages = run_checkables(analyze_function(fn, options))
    effort = dict(bounded=budget_s is not None, paths=stats["num_paths"], cpu_s=time.process_time() - cpu,
                  budget_s=timeout)
    if not messages:  # asserts mode skips a function that does not start with `assert`
        finding = Finding(name, "SYNTAX_ERR", "no leading assert: nothing was checked")
        return Verdict(name, "COUNTEREXAMPLE", findings=(finding,), **effort)
    failures = tuple(Finding(name, m.state.name, m.message) for m in messages if m.state.name in FAILURES)
    if failures:
        return Verdict(name, "COUNTEREXAMPLE", findings=failures, **effort)
    confirmed = all(m.state.name == "CONFIRMED" for m in messages) and stats["exhaustion"] > 0
    return Verdict(name, "CONFIRMED" if confirmed else "CANNOT_CONFIRM", **effort)


def _patch_c_hashes() -> None:
    """Make keccak realise symbolic arguments (once per process: CrossHair refuses doubles)."""
    global _patched
    if not _patched:
        import crosshair.core_and_libs  # noqa: F401  (loads CrossHair's own patches first)
        from crosshair import register_patch, with_realized_args

        register_patch(keccak.keccak256, with_realized_args(keccak.keccak256))
        register_patch(keccak.address_of_public_key, with_realized_args(keccak.address_of_public_key))
        _patched = True
