"""Property-based search: random honest and byzantine command sequences against `apply`
and the naive model (`specs.model`) together.

Why: unit tests check the cases someone thought of; this drives thousands of
sequences through the real transition and demands, after every step, that (1) the
ledger and the model agree on accept/reject and on the reject code, (2) their states
agree (UTXO set, spent set, per-token totals, fees, blocks, the open block), and
(3) the whole invariant catalogue holds. Byzantine commands are honest payments
with mutations (wrong key, forged or missing signature, double spend, unknown or
duplicate input, amounts off, too many inputs/outputs, zero amounts), replays,
damaged bytes, and seals with the wrong root, count, block number or fees; the model
decides what each mutation means, so no mutation needs a hand-written expectation.

`run_search` is the engine of `omg check --search`: bounded by examples and by
time, reproducible from a seed, silent, returning the counterexample as text.
"""
from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ClassVar

import attrs
from hypothesis import HealthCheck, Verbosity
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, initialize, precondition, rule

from ledger import events, transition
from ledger.errors import Rejected
from ledger.events import BlockSealed, Deposit, Event, FeeCollected, FeeRule, Genesis, Payment
from ledger.state import GENESIS_STATE, State
from proofs import eip712, payment
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs.hooks import InvariantHook
from specs.model import (
    CollectFee,
    Command,
    DepositIntent,
    GarbagePayment,
    Model,
    Out,
    PaymentIntent,
    SealBlock,
    position,
    totals,
)

ApplyFn = Callable[[State, Event], State]

KEYS = tuple(keccak256(b"omg-ledger specs.search key %d" % i) for i in range(4))
ADDRESSES = tuple(eip712.address_of(key) for key in KEYS)
TOKENS = (bytes(20), bytes.fromhex("5e1f" * 10))  # ETH (the zero address) and one ERC-20
CONTRACT = bytes.fromhex("c0ffee" * 6 + "c0de")
SEPARATOR = eip712.domain_separator(CONTRACT)
BATCH_EXAMPLES = 25  # examples per Hypothesis run; the time bound is checked between runs

KEY = st.integers(0, len(KEYS) - 1)
TOKEN = st.sampled_from(TOKENS)
AMOUNT = st.integers(1, 1000) | st.integers(1, 2**128)
FEE_SCHEDULE = st.lists(
    st.builds(FeeRule, st.sampled_from([payment.PAYMENT_TX_TYPE, 2]), TOKEN, st.integers(1, 5)),
    max_size=3,
    unique_by=lambda r: (r.tx_type, r.token),
).map(tuple)

STRUCTURAL = ("dup_input", "unknown_input", "spent_input", "add_input", "fifth_input", "no_inputs",
              "bump_output", "shrink_output", "zero_output", "extra_output", "no_outputs")
SIGNATURE = ("wrong_key", "garbage_sig", "other_tx_sig", "drop_sig", "extra_sig", "swap_sigs")


@functools.lru_cache(maxsize=8192)
def sign(digest: bytes, key_index: int) -> bytes:
    """Signatures are deterministic; cached because shrinking replays the same steps many times."""
    return eip712.sign(digest, KEYS[key_index])


def key_of(owner: bytes) -> int:
    return ADDRESSES.index(owner)


@attrs.define
class Draft:
    """A payment being built: positions, outputs, and the key that signs each input slot."""

    inputs: list[int]
    outputs: list[Out]
    keys: list[int]

    def tx(self) -> PaymentTx:
        return PaymentTx(self.inputs, [Output(OUTPUT_TYPE_PAYMENT, *out) for out in self.outputs])


def nonzero(totals_map: object) -> dict:
    return {token: amount for token, amount in totals_map.items() if amount}  # type: ignore[attr-defined]


def differences(model: Model, state: State) -> list[str]:
    """Where the ledger's state and the model's disagree (empty when they agree)."""
    pairs = {
        "utxos": (model.utxos, {pos: (o.owner, o.token, o.amount) for pos, o in state.utxos.items()}),
        "spent": (model.spent, set(state.spent.keys())),
        "unspent per token": (model.unspent(), nonzero(state.unspent)),
        "deposited per token": (model.deposited, nonzero(state.deposited)),
        "open block fees": (model.open_fees, nonzero(state.open_block_fees)),
        "fees collected": (model.collected, nonzero(state.fees_collected)),
        "blocks": (sorted(model.blocks), sorted(state.blocks.keys())),
        "open block txs": (model.open_txs, list(state.open_block_txs)),
        "next child block": (model.open_child(), state.next_child_blknum),
        "next deposit block": (model.next_deposit(), state.next_deposit_blknum),
    }
    return [f"{name}: model {mine!r} != ledger {theirs!r}" for name, (mine, theirs) in pairs.items() if mine != theirs]


class LedgerMachine(RuleBasedStateMachine):
    """Drives `apply_event` and the model in lock step; every rule ends in `submit`."""

    apply_event: ClassVar[ApplyFn] = staticmethod(transition.apply)

    def __init__(self) -> None:
        super().__init__()
        self.state = GENESIS_STATE
        self.model = Model({})
        self.hook = InvariantHook(every=1, full_every=1)
        self.outputs_ever: dict[int, Out] = {}  # every output created, to sign spends of spent ones
        self.payments: list[tuple[PaymentIntent, Payment]] = []

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
            self._remember(event, after)
        diff = differences(self.model, self.state)
        assert not diff, "state differs from the model:\n" + "\n".join(diff)

    def _remember(self, event: Event, after: State) -> None:
        for pos, output in after.effects.created:
            self.outputs_ever[pos] = (output.owner, output.token, output.amount)

    def teardown(self) -> None:
        violation = self.hook.finish(self.state.event_count - 1, self.state)
        assert violation is None, f"invariant violated at the end: {violation}"

    # -- genesis and deposits ----------------------------------------------------------

    @initialize(schedule=FEE_SCHEDULE)
    def genesis(self, schedule: tuple[FeeRule, ...]) -> None:
        event = Genesis(CONTRACT, schedule)
        after = type(self).apply_event(GENESIS_STATE, event)
        assert self.hook(0, GENESIS_STATE, event, after) is None
        self.state = after
        self.model = Model({r.token: r.amount for r in schedule if r.tx_type == payment.PAYMENT_TX_TYPE})

    @rule(owner=KEY, token=TOKEN, amount=AMOUNT)
    def deposit(self, owner: int, token: bytes, amount: int) -> None:
        self._deposit(self.model.next_deposit(), ((ADDRESSES[owner], token, amount),))

    @rule(data=st.data(), owner=KEY, token=TOKEN, amount=AMOUNT)
    def bad_deposit(self, data: st.DataObject, owner: int, token: bytes, amount: int) -> None:
        blknum, outputs = self.model.next_deposit(), [(ADDRESSES[owner], token, amount)]
        flaw = data.draw(st.sampled_from(["blknum", "zero_amount", "two_outputs", "no_outputs"]))
        if flaw == "blknum":
            blknum = data.draw(st.integers(0, self.model.open_child() + 2000) | st.sampled_from([blknum - 1, blknum + 1]))
        elif flaw == "zero_amount":
            outputs = [(ADDRESSES[owner], token, 0)]
        elif flaw == "two_outputs":
            outputs *= 2
        else:
            outputs = []
        self._deposit(max(blknum, 0), tuple(outputs))

    def _deposit(self, blknum: int, outputs: tuple[Out, ...]) -> None:
        tx = PaymentTx((), [Output(OUTPUT_TYPE_PAYMENT, *out) for out in outputs])
        self.submit(DepositIntent(blknum, outputs), Deposit(blknum, payment.encode(tx)))

    # -- payments ------------------------------------------------------------------------

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        if draft := self._honest_draft(data):
            self._pay(data, draft, ())

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def pay_byzantine(self, data: st.DataObject) -> None:
        draft = self._honest_draft(data)
        if draft is None:
            return
        flaws = data.draw(st.lists(st.sampled_from(STRUCTURAL + SIGNATURE), min_size=1, max_size=2))
        for flaw in flaws:
            if flaw in STRUCTURAL:
                self._mutate(data, draft, flaw)
        self._pay(data, draft, [f for f in flaws if f in SIGNATURE])

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        intent, event = data.draw(st.sampled_from(self.payments))
        self.submit(intent, event)

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def damaged_bytes(self, data: st.DataObject) -> None:
        draft = self._honest_draft(data)
        if draft is None:
            return
        raw = self._signed(draft)[0]
        damage = data.draw(st.sampled_from(["truncate", "append", "flip"]))
        if damage == "truncate":
            cut = data.draw(st.integers(0, len(raw) - 1))
            raw, codes = raw[:cut], frozenset({"malformed_transaction_rlp", "malformed_transaction"})
        elif damage == "append":
            raw, codes = raw + data.draw(st.binary(min_size=1, max_size=8)), frozenset({"malformed_transaction_rlp"})
        else:
            at, mask = data.draw(st.integers(0, len(raw) - 1)), data.draw(st.integers(1, 255))
            raw, codes = raw[:at] + bytes([raw[at] ^ mask]) + raw[at + 1 :], None
        self.submit(GarbagePayment(raw, codes), Payment(raw))

    def _honest_draft(self, data: st.DataObject) -> Draft | None:
        """1-4 unspent inputs split into 1-4 outputs across keys, paying the scheduled fee (None if impossible)."""
        inputs = data.draw(st.lists(st.sampled_from(sorted(self.model.utxos)), min_size=1, max_size=4, unique=True))
        remainder = totals([self.model.utxos[pos] for pos in inputs])
        fee_token = data.draw(st.sampled_from(sorted(remainder)))
        if self.model.fee_schedule:
            if remainder[fee_token] < self.model.fee_schedule.get(fee_token, 2**512):
                return None
            remainder[fee_token] -= self.model.fee_schedule[fee_token]
        else:
            remainder[fee_token] -= data.draw(st.integers(0, remainder[fee_token]))
        remainder = {token: amount for token, amount in remainder.items() if amount}
        if not remainder:
            return None
        outputs: list[Out] = []
        for i, (token, amount) in enumerate(sorted(remainder.items())):
            slots = 4 - len(outputs) - (len(remainder) - i - 1)
            outputs += [(ADDRESSES[data.draw(KEY)], token, piece) for piece in self._split(data, amount, slots)]
        return Draft(inputs, outputs, [key_of(self.model.utxos[pos][0]) for pos in inputs])

    @staticmethod
    def _split(data: st.DataObject, amount: int, slots: int) -> list[int]:
        pieces = data.draw(st.integers(1, min(amount, slots)))
        cuts = sorted(data.draw(st.lists(st.integers(1, amount - 1), min_size=pieces - 1, max_size=pieces - 1, unique=True))) if pieces > 1 else []
        bounds = [0, *cuts, amount]
        return [high - low for low, high in zip(bounds, bounds[1:])]

    def _mutate(self, data: st.DataObject, d: Draft, flaw: str) -> None:
        """A structural flaw: what the transaction spends or creates."""
        i = data.draw(st.integers(0, max(len(d.inputs) - 1, 0)))
        o = data.draw(st.integers(0, max(len(d.outputs) - 1, 0)))
        spent = sorted(pos for pos in self.model.spent if pos in self.outputs_ever)
        if flaw == "dup_input" and d.inputs:
            d.inputs.append(d.inputs[i])
            d.keys.append(d.keys[i])
        elif flaw in ("unknown_input", "fifth_input") and d.inputs:
            unknown = position(self.model.open_child() + 1000 * data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3)), 1)
            if flaw == "unknown_input":
                d.inputs[i] = unknown
            else:
                d.inputs += [unknown] * (5 - len(d.inputs))
                d.keys += [d.keys[0]] * (5 - len(d.keys))
        elif flaw == "spent_input" and d.inputs and spent:
            d.inputs[i] = data.draw(st.sampled_from(spent))
            d.keys[i] = key_of(self.outputs_ever[d.inputs[i]][0])
        elif flaw == "add_input":
            extra = data.draw(st.sampled_from(sorted(self.model.utxos)))
            d.inputs.append(extra)
            d.keys.append(key_of(self.model.utxos[extra][0]))
        elif flaw == "no_inputs":
            d.inputs, d.keys = [], []
        elif flaw in ("bump_output", "shrink_output", "zero_output") and d.outputs:
            owner, token, amount = d.outputs[o]
            delta = data.draw(st.integers(1, 3))
            new = {"bump_output": amount + delta, "shrink_output": max(amount - delta, 1), "zero_output": 0}[flaw]
            d.outputs[o] = (owner, token, new)
        elif flaw == "extra_output":
            d.outputs.append((ADDRESSES[data.draw(KEY)], data.draw(TOKEN), data.draw(st.integers(1, 3))))
        elif flaw == "no_outputs":
            d.outputs = []

    def _signed(self, d: Draft) -> tuple[bytes, list[bytes], list[bytes | None], bytes]:
        """(raw bytes, signatures, signer per slot, digest) of the honestly signed draft."""
        tx = d.tx()
        digest = eip712.signing_hash_with_separator(tx, SEPARATOR)
        signatures = [sign(digest, key) for key in d.keys]
        return payment.encode(tx.with_signatures(tuple(signatures))), signatures, [ADDRESSES[k] for k in d.keys], digest

    def _pay(self, data: st.DataObject, d: Draft, flaws: list[str] | tuple[str, ...]) -> None:
        _, signatures, signers, digest = self._signed(d)
        for flaw in flaws:
            self._forge(data, flaw, signatures, signers, digest)
        raw = payment.encode(d.tx().with_signatures(tuple(signatures)))
        intent = PaymentIntent(tuple(d.inputs), tuple(d.outputs), tuple(signers), raw)
        accepted_before = self.state.event_count
        self.submit(intent, Payment(raw))
        if self.state.event_count > accepted_before:
            self.payments.append((intent, Payment(raw)))

    @staticmethod
    def _forge(data: st.DataObject, flaw: str, sigs: list[bytes], signers: list[bytes | None], digest: bytes) -> None:
        """A signature flaw: who signed, what they signed, how many signatures there are."""
        i = data.draw(st.integers(0, max(len(sigs) - 1, 0)))
        if flaw == "wrong_key" and sigs:
            key = (ADDRESSES.index(signers[i]) + data.draw(st.integers(1, len(KEYS) - 1))) % len(KEYS) if signers[i] else 0
            sigs[i], signers[i] = sign(digest, key), ADDRESSES[key]
        elif flaw == "garbage_sig" and sigs:
            sigs[i], signers[i] = data.draw(st.binary(min_size=65, max_size=65)), None
        elif flaw == "other_tx_sig" and sigs:
            sigs[i], signers[i] = sign(keccak256(digest), data.draw(KEY)), None
        elif flaw == "drop_sig" and sigs:
            del sigs[i], signers[i]
        elif flaw == "extra_sig":
            key = data.draw(KEY)
            sigs.append(sign(digest, key))
            signers.append(ADDRESSES[key])
        elif flaw == "swap_sigs" and len(sigs) > 1:
            sigs[0], sigs[-1], signers[0], signers[-1] = sigs[-1], sigs[0], signers[-1], signers[0]

    # -- fees and sealing ------------------------------------------------------------------

    @precondition(lambda self: self.model.open_fees)
    @rule(data=st.data())
    def collect_fee(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(sorted(self.model.open_fees)))
        self._collect(self.model.open_child(), token, self.model.open_fees[token])

    @rule(data=st.data(), token=TOKEN)
    def bad_collect(self, data: st.DataObject, token: bytes) -> None:
        blknum, amount = self.model.open_child(), self.model.open_fees.get(token, 0)
        flaw = data.draw(st.sampled_from(["blknum", "amount"]))
        if flaw == "blknum":
            blknum += 1000 * data.draw(st.sampled_from([-1, 1])) if blknum > 1000 else 1000
        else:
            amount = max(amount + data.draw(st.sampled_from([-1, 1, 2])), 0)
        self._collect(blknum, token, amount)

    def _collect(self, blknum: int, token: bytes, amount: int) -> None:
        self.submit(CollectFee(blknum, token, amount), FeeCollected(blknum, token, amount))

    @rule()
    def seal(self) -> None:
        for token, amount in sorted(self.model.open_fees.items()):
            self._collect(self.model.open_child(), token, amount)
        self._seal(self.model.open_child(), self.model.root(), len(self.model.open_txs))

    @rule(data=st.data())
    def bad_seal(self, data: st.DataObject) -> None:
        blknum, root, count = self.model.open_child(), self.model.root(), len(self.model.open_txs)
        flaw = data.draw(st.sampled_from(["root", "count", "blknum", "uncollected"]))
        if flaw == "root":
            root = data.draw(st.binary(min_size=32, max_size=32) | st.just(self.model.root() if False else keccak256(root)))
        elif flaw == "count":
            count = max(count + data.draw(st.sampled_from([-1, 1])), 0)
        elif flaw == "blknum":
            blknum = data.draw(st.sampled_from([blknum - 1000, blknum + 1000, blknum - 1, blknum + 1]))
        self._seal(max(blknum, 0), root, count)

    def _seal(self, blknum: int, root: bytes, count: int) -> None:
        self.submit(SealBlock(blknum, root, count), BlockSealed(blknum, root, count))


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


def run_search(
    max_examples: int,
    seed: int | None = None,
    deadline_s: float = 60.0,
    *,
    steps: int = 25,
    apply: ApplyFn = transition.apply,
) -> SearchResult:
    """Run up to `max_examples` sequences of up to `steps` commands, stopping between batches
    once `deadline_s` has passed. `apply` is the transition under test (tests pass broken ones)."""
    assert max_examples >= 1 and deadline_s > 0 and steps >= 1
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    machine = type("LedgerMachine", (LedgerMachine,), {"apply_event": staticmethod(apply)})
    start, done, batch = time.monotonic(), 0, 0
    while done < max_examples and time.monotonic() - start < deadline_s:
        examples = min(BATCH_EXAMPLES, max_examples - done)
        counterexample = _run_batch(machine, examples, steps, (seed << 20) + batch)
        done, batch = done + examples, batch + 1
        if counterexample is not None:
            return SearchResult(seed, done, time.monotonic() - start, counterexample)
    return SearchResult(seed, done, time.monotonic() - start)


def _run_batch(machine: type[LedgerMachine], examples: int, steps: int, batch_seed: int) -> str | None:
    """One Hypothesis run; its report (the shrunk steps) captured as the counterexample text."""
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
    test = hypothesis_seed(batch_seed)(get_state_machine_test(machine, settings=settings))
    lines: list[str] = []
    with with_reporter(lines.append):
        try:
            test()
        except Exception as exc:  # the failure Hypothesis found (assertion, crash, flakiness)
            notes = getattr(exc, "__notes__", [])
            return "\n".join([*lines, *notes, f"{type(exc).__name__}: {exc}"])
    return None
