"""`omg check --symbolic`: CrossHair over the contracts in `specs.contracts`.

Runs in-process through CrossHair's analysis API (no subprocess: the contracts
import the ledger once, and a test can hand in a function of its own module).
Each function gets `per_function_s` seconds (CrossHair's per-condition timeout), so
the whole run is bounded by roughly that times the number of functions.

Keccak is C code that cannot read CrossHair's symbolic bytes, so calls to it are
patched to realise their argument first: the paths through a hash become concrete
samples rather than a crash.
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable

import attrs

from proofs import keccak

FAILURES = {"POST_FAIL", "EXEC_ERR", "POST_ERR", "PRE_UNSAT", "SYNTAX_ERR", "IMPORT_ERR"}
"""Message kinds that are counterexamples (PRE_UNSAT: no input meets the preconditions, so
the contract checks nothing, which is a bug in the contract)."""

_patched = False


@attrs.frozen
class Finding:
    function: str
    kind: str
    message: str  # CrossHair's text, with the failing call: "... when calling f(1, 2)"


@attrs.frozen
class SymbolicResult:
    statuses: tuple[tuple[str, str], ...]  # (function, verdict): CONFIRMED, CANNOT_CONFIRM, or a failure kind
    counterexamples: tuple[Finding, ...]
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return not self.counterexamples

    def summary(self) -> str:
        lines = [f"{name:32} {status}" for name, status in self.statuses]
        lines += [f"COUNTEREXAMPLE {f.function}: {f.kind}: {f.message}" for f in self.counterexamples]
        verdict = "no counterexample" if self.ok else f"{len(self.counterexamples)} counterexample(s)"
        lines.append(f"symbolic: {len(self.statuses)} contracts, {verdict}, {self.elapsed_s:.1f} s")
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


def run_symbolic(per_function_s: float = 10.0, functions: list[str] | None = None) -> SymbolicResult:
    """Check each contract (all of `specs.contracts.CONTRACTS` by default) for up to
    `per_function_s` seconds; return every counterexample CrossHair finds."""
    assert per_function_s > 0
    from crosshair.core_and_libs import AnalysisKind
    from crosshair.options import AnalysisOptionSet

    _patch_c_hashes()
    if functions is None:
        from specs.contracts import CONTRACTS

        targets = [(f"{fn.__module__}.{fn.__name__}", fn) for fn in CONTRACTS]
    else:
        targets = [(name, resolve(name)) for name in functions]
    options = AnalysisOptionSet(analysis_kind=[AnalysisKind.asserts], per_condition_timeout=per_function_s)
    start, statuses, findings = time.monotonic(), [], []
    for name, fn in targets:
        failures, status = _check(name, fn, options)
        findings += failures
        statuses.append((name, status))
    return SymbolicResult(tuple(statuses), tuple(findings), time.monotonic() - start)


def _check(name: str, fn: Callable, options: object) -> tuple[list[Finding], str]:
    """CrossHair's findings on one function, and its overall verdict."""
    from crosshair.core_and_libs import analyze_function, run_checkables

    messages = run_checkables(analyze_function(fn, options))
    if not messages:  # asserts mode skips a function that does not start with `assert`
        return [Finding(name, "SYNTAX_ERR", "no leading assert: nothing was checked")], "SYNTAX_ERR"
    failures = [Finding(name, m.state.name, m.message) for m in messages if m.state.name in FAILURES]
    return failures, failures[0].kind if failures else max(m.state for m in messages).name


def _patch_c_hashes() -> None:
    """Make keccak realise symbolic arguments (once per process: CrossHair refuses doubles)."""
    global _patched
    if not _patched:
        from crosshair import register_patch, with_realized_args

        register_patch(keccak.keccak256, with_realized_args(keccak.keccak256))
        register_patch(keccak.address_of_public_key, with_realized_args(keccak.address_of_public_key))
        _patched = True
