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

`run_search` is the engine of `omg check` (without --symbolic): bounded by examples and by
time, reproducible from a seed, silent, returning the counterexample as text.
"""
from __future__ import annotations

import contextlib
import functools
import random
import time
from collections.abc import Callable, Iterator
from typing import ClassVar

import attrs
from hypothesis import HealthCheck, Verbosity
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, initialize, precondition, rule

from ledger import events, transition
from ledger.errors import Rejected
from ledger.events import BlockSealed, Deposit, Event, FeeCollected, FeeRule, Genesis, Payment
from ledger.state import GENESIS_STATE, State
from proofs import eip712, payment, rlp
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs.hooks import InvariantHook
from specs.model import (
    ABSENT,
    CollectFee,
    Command,
    DepositIntent,
    GarbagePayment,
    Model,
    Out,
    PaymentIntent,
    SealBlock,
    naive_root,
    position,
    totals,
)

ApplyFn = Callable[[State, Event], State]

KEYS = tuple(keccak256(b"omg-ledger specs.search key %d" % i) for i in range(4))
ADDRESSES = tuple(eip712.address_of(key) for key in KEYS)
TOKENS = (bytes(20), bytes.fromhex("5e1f" * 10))  # ETH (the zero address) and one ERC-20
CONTRACT = bytes.fromhex("c0ffee" * 6 + "c0de")
SEPARATOR = eip712.domain_separator(CONTRACT)
NULL_SIGNATURE = bytes(65)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
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
              "bump_output", "shrink_output", "zero_output", "zero_owner", "extra_output", "no_outputs")
SIGNATURE = ("wrong_key", "garbage_sig", "other_tx_sig", "malleable_sig", "drop_sig", "extra_sig", "swap_sigs",
             "null_sig", "add_null_sig")
SEAL_FLAWS = ("none", "none", "root", "count", "blknum", "uncollected", "fee_amount", "fee_blknum")
DAMAGES = ("truncate", "append", "flip", "deep_nesting")
DEPOSIT_FLAWS = ("blknum", "zero_amount", "two_outputs", "no_outputs", "empty_signature_list", "signed")


@functools.lru_cache(maxsize=8192)
def sign(digest: bytes, key_index: int) -> bytes:
    """Signatures are deterministic; cached because shrinking replays the same steps many times."""
    return eip712.sign(digest, KEYS[key_index])


def malleated(signature: bytes) -> bytes:
    """The high-s twin of a signature: (r, n - s) with the recovery bit flipped."""
    s_value = int.from_bytes(signature[32:64], "big")
    flipped_v = {27: 28, 28: 27}.get(signature[64], signature[64])
    return signature[:32] + (SECP256K1_N - s_value).to_bytes(32, "big") + bytes([flipped_v])


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


def unsigned_deposit(outputs: tuple[Out, ...]) -> bytes:
    return payment.encode(PaymentTx((), [Output(OUTPUT_TYPE_PAYMENT, *out) for out in outputs]))


def deposit_bytes(outputs: tuple[Out, ...], signatures: list[bytes] | None = None) -> bytes:
    """The deposit transaction's bytes: the unsigned form, or the signed form around it."""
    unsigned = unsigned_deposit(outputs)
    return unsigned if signatures is None else rlp.encode([signatures, *rlp.decode(unsigned)])


def nested_lists(depth: int) -> bytes:
    """RLP of [[[...[]...]]] `depth` deep, built without recursion."""
    raw = b""
    for _ in range(depth):
        size = len(raw)
        if size <= 55:
            raw = bytes([0xC0 + size]) + raw
        else:
            length = size.to_bytes((size.bit_length() + 7) // 8, "big")
            raw = bytes([0xF7 + len(length)]) + length + raw
    return raw


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
        "blocks (root, tx count)": (model.blocks, {n: (b.root, b.tx_count) for n, b in state.blocks.items()}),
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
        self.model = Model({(r.tx_type, r.token): r.amount for r in schedule})

    @rule(owner=KEY, token=TOKEN, amount=AMOUNT)
    def deposit(self, owner: int, token: bytes, amount: int) -> None:
        self._deposit(self.model.next_deposit(), ((ADDRESSES[owner], token, amount),))

    @rule(data=st.data(), owner=KEY, token=TOKEN, amount=AMOUNT)
    def bad_deposit(self, data: st.DataObject, owner: int, token: bytes, amount: int) -> None:
        blknum, outputs = self.model.next_deposit(), [(ADDRESSES[owner], token, amount)]
        flaw = data.draw(st.sampled_from(DEPOSIT_FLAWS))
        if flaw in ("empty_signature_list", "signed"):
            signatures = [] if flaw == "empty_signature_list" else [sign(bytes(32), owner)]
            self._deposit(blknum, tuple(outputs), signatures)
            return
        if flaw == "blknum":
            near = st.sampled_from([blknum - 1, blknum + 1])
            blknum = data.draw(st.integers(0, self.model.open_child() + 2000) | near)
        elif flaw == "zero_amount":
            outputs = [(ADDRESSES[owner], token, 0)]
        elif flaw == "two_outputs":
            outputs *= 2
        else:
            outputs = []
        self._deposit(max(blknum, 0), tuple(outputs))

    def _deposit(self, blknum: int, outputs: tuple[Out, ...], signatures: list[bytes] | None = None) -> None:
        """A deposit event; `signatures` (even an empty list) puts it in the signed form."""
        raw = deposit_bytes(outputs, signatures)
        intent = DepositIntent(blknum, outputs, unsigned_deposit(outputs), signed=signatures is not None)
        self.submit(intent, Deposit(blknum, raw))

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

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        """One owner folds 2-4 outputs of one token into one, fee-free (elixir-omg's merge rule)."""
        groups: dict[tuple[bytes, bytes], list[int]] = {}
        for pos, (owner, token, _) in sorted(self.model.utxos.items()):
            groups.setdefault((owner, token), []).append(pos)
        mergeable = sorted(group for group in groups.values() if len(group) > 1)
        if not mergeable:
            return
        group = data.draw(st.sampled_from(mergeable))
        inputs = data.draw(st.lists(st.sampled_from(group), min_size=2, max_size=4, unique=True))
        owner, token, _ = self.model.utxos[inputs[0]]
        total = sum(self.model.utxos[pos][2] for pos in inputs)
        self._pay(data, Draft(inputs, [(owner, token, total)], [key_of(owner)] * len(inputs)), ())

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
        damage = data.draw(st.sampled_from(DAMAGES))
        if damage == "deep_nesting":
            raw, codes = nested_lists(data.draw(st.integers(900, 1500))), None
        elif damage == "truncate":
            cut = data.draw(st.integers(0, len(raw) - 1))
            raw, codes = raw[:cut], frozenset({"malformed_transaction_rlp", "malformed_transaction"})
        elif damage == "append":
            raw, codes = raw + data.draw(st.binary(min_size=1, max_size=8)), frozenset({"malformed_transaction_rlp"})
        else:
            at, mask = data.draw(st.integers(0, len(raw) - 1)), data.draw(st.integers(1, 255))
            raw, codes = raw[:at] + bytes([raw[at] ^ mask]) + raw[at + 1 :], None
        self.submit(GarbagePayment(raw, codes), Payment(raw))

    def _honest_draft(self, data: st.DataObject) -> Draft | None:
        """1-4 unspent inputs split into 1-4 outputs across keys, paying the scheduled fee if it can
        (None when the fee would take everything)."""
        inputs = data.draw(st.lists(st.sampled_from(sorted(self.model.utxos)), min_size=1, max_size=4, unique=True))
        remainder = totals([self.model.utxos[pos] for pos in inputs])
        if self.model.fee_schedule:
            payable = [t for t in sorted(remainder) if (self.model.payment_fee(t) or 2**512) <= remainder[t]]
            if payable:  # else the schedule cannot be met: pay nothing, and the model expects a rejection
                fee_token = data.draw(st.sampled_from(payable))
                remainder[fee_token] -= self.model.payment_fee(fee_token) or 0
        else:
            fee_token = data.draw(st.sampled_from(sorted(remainder)))
            keep = 1 if len(remainder) == 1 else 0  # leave something to pay out
            remainder[fee_token] -= data.draw(st.integers(0, remainder[fee_token] - keep))
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
        cuts = st.lists(st.integers(1, amount - 1), min_size=pieces - 1, max_size=pieces - 1, unique=True)
        bounds = [0, *sorted(data.draw(cuts) if pieces > 1 else []), amount]
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
            blocks_ahead, txindex = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
            unknown = position(self.model.open_child() + 1000 * blocks_ahead, txindex, 1)
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
        elif flaw == "zero_owner" and d.outputs:
            d.outputs[o] = (bytes(20), *d.outputs[o][1:])
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
        intent = PaymentIntent(tuple(d.inputs), tuple(d.outputs), tuple(signers), payment.encode_unsigned(d.tx()))
        accepted_before = self.state.event_count
        self.submit(intent, Payment(raw))
        if self.state.event_count > accepted_before:
            self.payments.append((intent, Payment(raw)))

    @staticmethod
    def _forge(data: st.DataObject, flaw: str, sigs: list[bytes], signers: list[bytes | None], digest: bytes) -> None:
        """A signature flaw: who signed, what they signed, how many signatures there are."""
        i = data.draw(st.integers(0, max(len(sigs) - 1, 0)))
        if flaw == "wrong_key" and sigs:
            own = ADDRESSES.index(signers[i]) if signers[i] else 0
            key = (own + data.draw(st.integers(1, len(KEYS) - 1))) % len(KEYS)
            sigs[i], signers[i] = sign(digest, key), ADDRESSES[key]
        elif flaw == "garbage_sig" and sigs:
            sigs[i] = data.draw(st.binary(min_size=65, max_size=65))
            signers[i] = ABSENT if sigs[i] == NULL_SIGNATURE else None
        elif flaw == "malleable_sig" and sigs and int.from_bytes(sigs[i][32:64], "big") <= SECP256K1_N // 2:
            sigs[i], signers[i] = malleated(sigs[i]), None  # same signer, but the root chain refuses high s
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
        elif flaw == "null_sig" and sigs:
            sigs[i], signers[i] = NULL_SIGNATURE, ABSENT
        elif flaw == "add_null_sig":
            sigs.insert(i, NULL_SIGNATURE)
            signers.insert(i, ABSENT)

    # -- fees and sealing ------------------------------------------------------------------

    @precondition(lambda self: self.model.open_fees)
    @rule(data=st.data())
    def collect_fee(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(sorted(self.model.open_fees)))
        self._collect(self.model.open_child(), token, self.model.open_fees[token])

    @rule(flaw=st.sampled_from(SEAL_FLAWS), data=st.data())
    def close_block(self, flaw: str, data: st.DataObject) -> None:
        """Collect every fee and seal (flaw "none"), or submit one flawed fee or seal event."""
        blknum, txs = self.model.open_child(), self.model.open_txs
        if flaw == "fee_amount":
            token = data.draw(TOKEN)
            amount = self.model.open_fees.get(token, 0) + data.draw(st.sampled_from([-1, 1, 2]))
            return self._collect(blknum, token, max(amount, 0))
        if flaw == "fee_blknum":
            token = data.draw(TOKEN)
            wrong = blknum + data.draw(st.sampled_from([-1000, 1000, 1]))
            return self._collect(wrong, token, self.model.open_fees.get(token, 1))
        if flaw == "none":
            for token, amount in sorted(self.model.open_fees.items()):
                self._collect(blknum, token, amount)
        root, count = self.model.root(), len(txs)
        if flaw == "root":
            other_roots = st.sampled_from([naive_root(txs[:-1]), naive_root(txs + txs[-1:])])
            root = data.draw(st.binary(min_size=32, max_size=32) | other_roots)
        elif flaw == "count":
            count = max(count + data.draw(st.sampled_from([-1, 1])), 0)
        elif flaw == "blknum":
            blknum += data.draw(st.sampled_from([-1000, 1000, -1, 1]))
        self._seal(blknum, root, count)

    def _collect(self, blknum: int, token: bytes, amount: int) -> None:
        self.submit(CollectFee(blknum, token, amount), FeeCollected(blknum, token, amount))

    def _seal(self, blknum: int, root: bytes, count: int) -> None:
        self.submit(SealBlock(blknum, root, count), BlockSealed(blknum, root, count))


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
    machine = type("LedgerMachine", (LedgerMachine,), {"apply_event": staticmethod(apply)})
    start, done, batch = time.monotonic(), 0, 0
    while done < max_examples and time.monotonic() - start < deadline_s:
        examples = min(BATCH_EXAMPLES, max_examples - done)
        shrink_budget_s = max(1.0, min(shrink_s, deadline_s - (time.monotonic() - start)))
        counterexample = _run_batch(machine, examples, steps, (seed << 20) + batch, shrink_budget_s)
        done, batch = done + examples, batch + 1
        if counterexample is not None:
            return SearchResult(seed, done, time.monotonic() - start, counterexample)
    return SearchResult(seed, done, time.monotonic() - start)


def _run_batch(machine: type[LedgerMachine], examples: int, steps: int, batch_seed: int, shrink_s: float) -> str | None:
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
    with with_reporter(lines.append), _shrinking_bounded(shrink_s):
        try:
            test()
        except Exception as exc:  # the failure Hypothesis found (assertion, crash, flakiness)
            notes = getattr(exc, "__notes__", [])
            report = [_SHRINK_NOTE if "working to shrink" in line else line for line in lines]
            return "\n".join([*report, *notes, f"{type(exc).__name__}: {exc}"])
    return None
