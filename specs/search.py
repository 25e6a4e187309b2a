"""Property-based search: random honest and byzantine command sequences against `apply`
and the naive model (`specs.model`) together.

Why: unit tests check the cases someone thought of; this drives thousands of
sequences through the real transition and demands, after every step, that (1) the
ledger and the model agree on accept/reject and on the reject code, (2) their states
agree (UTXO set, spent set, per-token totals, fees, blocks, the open block, exits and
what they took off or paid, the root-chain cursor, the validators, their stakes, votes,
commits and jails), and (3) the whole invariant catalogue holds.

What it drives: deposits, payments, fee collection and seals; root-chain facts (block
submissions with our own or a foreign root, standard exits of unspent, spent, exiting and
never-held outputs, challenges and processing, in-flight exits with piggybacks,
challenges, responses and withdrawals, payouts a vault kept and their claims, the follower's
cursor); and proof of stake
(staking opened, bonds with BLS keys and proofs of possession, unbonding and withdrawal,
commits by the validator set with some validators offline, equivocation evidence, fee
votes, epoch closes, unjailing); and the DEX (orders placed and answered by counter-orders,
cancels, each block's settlement, honest, skimmed or for the wrong block). Byzantine commands are honest ones with mutations (wrong
key, forged, malleable or missing signature, double spend, unknown or duplicate input,
amounts off, stale nonce, wrong proposer, short quorum, a signature that does not match
its bitmap, ...), replays of any accepted event, unknown exit ids and double processing;
the model decides what each mutation means, so no mutation needs a hand-written
expectation.

`run_search` is the engine of `omg check` (without --symbolic): bounded by examples and by
time, reproducible from a seed, silent, returning the counterexample as text; `run_seeds`
runs several seeds in turn under one budget.
"""
from __future__ import annotations

import contextlib
import functools
import random
import time
from collections.abc import Callable, Iterator
from typing import ClassVar

import attrs
from hypothesis import HealthCheck, Verbosity, seed as hypothesis_seed, settings as Settings
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test

from ledger import events, transition
from ledger.errors import Rejected
from ledger.events import Event
from ledger.state import GENESIS_STATE, State
from specs.commands import Command
from specs.compare import as_out, differences
from specs.hooks import InvariantHook
from specs.machine_dex import DexSteps
from specs.machine_exits import ExitSteps
from specs.machine_plasma import PlasmaSteps
from specs.machine_staking import StakingSteps
from specs.model import Model
from specs.naive import Out

ApplyFn = Callable[[State, Event], State]
BATCH_EXAMPLES = 25  # examples per Hypothesis run; the time bound is checked between runs


class LedgerMachine(PlasmaSteps, ExitSteps, StakingSteps, DexSteps, RuleBasedStateMachine):
    """Drives `apply_event` and the model in lock step; every rule ends in `submit`."""

    apply_event: ClassVar[ApplyFn] = staticmethod(transition.apply)

    def __init__(self) -> None:
        super().__init__()
        self.state = GENESIS_STATE
        self.model = Model({})
        self.hook = InvariantHook(every=1, full_every=1)
        self.outputs_ever: dict[int, Out] = {}  # every output created, to sign spends of spent ones
        self.accepted: list[tuple[Command, Event]] = []  # for replays
        self.offline: set[bytes] = set()  # validators that stopped signing commits

    # -- the lock step ---------------------------------------------------------------

    def submit(self, command: Command, event: Event) -> None:
        """Apply `event` to both; assert verdicts, codes, states and invariants agree."""
        assert events.decode(events.encode(event)) == event, "event encoding does not round-trip"
        before, verdict = self.state, self.model.step(command)
        try:
            after = type(self).apply_event(before, event)
        except Rejected as exc:
            assert not verdict.accept, f"ledger rejected {exc.code} ({exc.detail}); the model accepts"
            assert verdict.codes is None or exc.code in verdict.codes, (
                f"ledger rejected with {exc.code} ({exc.detail}); the model expects one of {sorted(verdict.codes)}"
            )
        else:
            assert verdict.accept, f"ledger accepted; the model rejects with {sorted(verdict.codes or ['?'])}"
            violation = self.hook(before.event_count, before, event, after)
            assert violation is None, f"invariant violated: {violation}"
            self.state = after
            self.accepted.append((command, event))
            for pos, output in after.effects.created:
                self.outputs_ever[pos] = as_out(output)
        diff = differences(self.model, self.state)
        assert not diff, "state differs from the model:\n" + "\n".join(diff)

    def teardown(self) -> None:
        violation = self.hook.finish(self.state.event_count - 1, self.state)
        assert violation is None, f"invariant violated at the end: {violation}"


_SHRINK_NOTE = "(shrinking stopped at its time bound; the steps below may not be minimal)"


@contextlib.contextmanager
def _shrinking_bounded(seconds: float) -> Iterator[None]:
    """Hypothesis stops shrinking after MAX_SHRINKING_SECONDS (300 s); no public setting lowers
    it, so set the module constant for the run (if a future Hypothesis drops it, nothing breaks)."""
    saved = getattr(hypothesis_engine, "MAX_SHRINKING_SECONDS", None)
    if saved is None:
        yield
        return
    hypothesis_engine.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        hypothesis_engine.MAX_SHRINKING_SECONDS = saved


# --- the engine -----------------------------------------------------------------------


@attrs.frozen
class SearchResult:
    """What one search did: its seed (to reproduce it), examples run, time, and the first counterexample."""

    seed: int
    examples: int
    elapsed_s: float
    counterexample: str | None = None

    @property
    def ok(self) -> bool:
        return self.counterexample is None

    def summary(self) -> str:
        head = f"search: {self.examples} examples in {self.elapsed_s:.1f} s, seed {self.seed}"
        if self.ok:
            return f"{head}: no counterexample"
        return f"{head}: COUNTEREXAMPLE (rerun with --seed {self.seed})\n{self.counterexample}"


def run_search(
    max_examples: int,
    seed: int | None = None,
    deadline_s: float = 60.0,
    *,
    steps: int = 25,
    shrink_s: float = 20.0,
    apply: ApplyFn = transition.apply,
) -> SearchResult:
    """Run up to `max_examples` sequences of up to `steps` commands, stopping between batches
    once `deadline_s` has passed; a failure is shrunk for at most `shrink_s` (and never far
    past the deadline). `apply` is the transition under test (tests pass broken ones)."""
    assert max_examples >= 1 and deadline_s > 0 and steps >= 1 and shrink_s > 0
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    start, done, batch = time.monotonic(), 0, 0
    while done < max_examples and time.monotonic() - start < deadline_s:
        examples = min(BATCH_EXAMPLES, max_examples - done)
        shrink_budget_s = max(1.0, min(shrink_s, deadline_s - (time.monotonic() - start)))
        counterexample = _run_batch(_machine_test(apply, examples, steps), (seed << 20) + batch, shrink_budget_s)
        done, batch = done + examples, batch + 1
        if counterexample is not None:
            return SearchResult(seed, done, time.monotonic() - start, counterexample)
    return SearchResult(seed, done, time.monotonic() - start)


@functools.lru_cache(maxsize=16)
def _machine_test(apply: ApplyFn, examples: int, steps: int) -> Callable[[], None]:
    """The Hypothesis test of a machine driving `apply`: built once, because building it
    digests the machine's source (a sizeable part of a batch's time); each batch re-seeds it."""
    machine = type("LedgerMachine", (LedgerMachine,), {"apply_event": staticmethod(apply)})
    settings = Settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.normal,
    )
    return get_state_machine_test(machine, settings=settings)


def _run_batch(test: Callable[[], None], batch_seed: int, shrink_s: float) -> str | None:
    """One Hypothesis run; its report (the shrunk steps) captured as the counterexample text."""
    test = hypothesis_seed(batch_seed)(test)
    lines: list[str] = []
    with with_reporter(lines.append), _shrinking_bounded(shrink_s):
        try:
            test()
        except Exception as exc:  # the failure Hypothesis found (assertion, crash, flakiness)
            notes = getattr(exc, "__notes__", [])
            report = [_SHRINK_NOTE if "working to shrink" in line else line for line in lines]
            return "\n".join([*report, *notes, f"{type(exc).__name__}: {exc}"])
    return None


def run_seeds(
    max_examples: int,
    seeds: int,
    first_seed: int | None = None,
    deadline_s: float = 60.0,
    **options: object,
) -> list[SearchResult]:
    """`run_search` with `seeds` consecutive seeds from `first_seed` (random if None), each
    with up to `max_examples` examples, all within one `deadline_s`; stops at the first
    counterexample or when the time is spent (so fewer results than seeds may come back)."""
    assert seeds >= 1
    first = random.SystemRandom().randrange(2**32) if first_seed is None else first_seed
    start, results = time.monotonic(), []
    for seed in range(first, first + seeds):
        left = deadline_s - (time.monotonic() - start)
        if results and (left <= 0 or not results[-1].ok):
            break
        results.append(run_search(max_examples, seed, max(left, 1e-3), **options))  # type: ignore[arg-type]
    return results
