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
challenges, responses and withdrawals, the follower's cursor); and proof of stake
(staking opened, bonds with BLS keys and proofs of possession, unbonding and withdrawal,
commits by the validator set with some validators offline, equivocation evidence, fee
votes, epoch closes, unjailing). Byzantine commands are honest ones with mutations (wrong
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
from hypothesis import HealthCheck, Verbosity
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, initialize, precondition, rule

from ledger import events, transition
from ledger.errors import Rejected
from ledger.events import (
    BlockCommitted,
    BlockSealed,
    BlockSubmitted,
    Deposit,
    Equivocation,
    Event,
    ExitChallenged,
    ExitProcessed,
    ExitStarted,
    FeeCollected,
    FeeEpochClosed,
    FeeRule,
    FeeVoted,
    Genesis,
    InFlightExitChallenged,
    InFlightExitPiggybacked,
    InFlightExitResponded,
    InFlightExitStarted,
    InFlightExitWithdrawn,
    Payment,
    PiggybackChallenged,
    RootChainSynced,
    StakeBonded,
    StakeWithdrawn,
    StakingOpened,
    StateCheckpoint,
    UnbondingStarted,
    ValidatorUnjailed,
)
from ledger.fee_votes import vote_digest
from ledger.staking import STAKING_POOL, commit_message, unbond_digest, unjail_digest
from ledger.snapshot import state_hash
from ledger.state import GENESIS_STATE, InFlightExit, Staking, StandardExit, State
from proofs import bls, eip712, payment, rlp
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs.commands import (
    STAKING_FIELDS,
    Bond,
    ChallengeExit,
    ChallengePiggyback,
    Checkpoint,
    CloseEpoch,
    CollectFee,
    Command,
    Commit,
    DepositIntent,
    Equivocate,
    GarbagePayment,
    OpenStaking,
    PaymentIntent,
    Piggyback,
    ProcessExit,
    SealBlock,
    SetCanonical,
    Signed,
    StartExit,
    StartInFlightExit,
    SubmitBlock,
    SyncRootChain,
    Unbond,
    Unjail,
    VoteFees,
    WithdrawPiggyback,
    WithdrawStake,
)
from specs.hooks import InvariantHook
from specs.model import Model
from specs.naive import ABSENT, Out, Slot, naive_root, position, totals
from specs.records import ExitRecord, InFlightRecord

ApplyFn = Callable[[State, Event], State]

KEYS = tuple(keccak256(b"omg-ledger specs.search key %d" % i) for i in range(4))
ADDRESSES = tuple(eip712.address_of(key) for key in KEYS)
TOKENS = (bytes(20), bytes.fromhex("5e1f" * 10))  # ETH (the zero address) and one ERC-20
CONTRACT = bytes.fromhex("c0ffee" * 6 + "c0de")
OTHER_CONTRACT = bytes.fromhex("0badc0de" * 5)  # a signature for another chain
SEPARATOR = eip712.domain_separator(CONTRACT)
NULL_SIGNATURE = bytes(65)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BATCH_EXAMPLES = 25  # examples per Hypothesis run; the time bound is checked between runs
# Validators' BLS keys: one per secp256k1 key above, and a stranger's (index 4) nobody registers honestly.
BLS_SECRETS = tuple(bls.secret_key(keccak256(b"omg-ledger specs.search bls key %d" % i)) for i in range(5))
MALFORMED_BLS_KEYS = (b"", b"\x01" * 48, bytes([0xC0]) + bytes(47))  # empty, no compression flag, infinity

KEY = st.integers(0, len(KEYS) - 1)
TOKEN = st.sampled_from(TOKENS)
AMOUNT = st.integers(1, 1000) | st.integers(1, 2**128)
FEE_SCHEDULE = st.lists(
    st.builds(FeeRule, st.sampled_from([payment.PAYMENT_TX_TYPE, 2]), TOKEN, st.sampled_from([2, 5, 1, 3, 0])),  # 0: a free tx type
    max_size=3,
    unique_by=lambda r: (r.tx_type, r.token),
).map(tuple)
VOTE = st.lists(st.tuples(st.sampled_from([payment.PAYMENT_TX_TYPE, 2]), TOKEN, st.integers(0, 5)), max_size=3)
STAKING_PARAMS = st.tuples(
    TOKEN,
    st.sampled_from([4, 2, 1, 3]),  # max validators
    st.integers(0, 2),  # unbonding blocks
    st.sampled_from([0, 500, 5000, 10_000]),  # double-sign slash
    st.sampled_from([0, 1000, 10_000]),  # reporter reward
    st.integers(1, 2),  # epoch blocks
    st.integers(1, 3),  # signed-blocks window
    st.sampled_from([5000, 10_000, 0]),  # min signed
    st.sampled_from([0, 100, 10_000]),  # downtime slash
    st.integers(0, 2),  # jail blocks
)

STRUCTURAL = ("dup_input", "unknown_input", "spent_input", "exiting_input", "add_input", "fifth_input", "no_inputs",
              "bump_output", "shrink_output", "zero_output", "zero_owner", "extra_output", "no_outputs")
SIGNATURE = ("wrong_key", "garbage_sig", "other_tx_sig", "malleable_sig", "drop_sig", "extra_sig", "swap_sigs",
             "null_sig", "add_null_sig")
SEAL_FLAWS = ("none", "none", "root", "count", "blknum", "uncollected", "fee_amount", "fee_blknum")
DAMAGES = ("truncate", "append", "flip", "deep_nesting")
DEPOSIT_FLAWS = ("blknum", "zero_amount", "two_outputs", "no_outputs", "empty_signature_list", "signed")
REQUEST_FLAWS = ("none",) * 5 + ("wrong_key", "stale_nonce", "other_chain", "garbage", "malleable")
BOND_FLAWS = ("none", "none", "none", "wrong_pop", "malformed_key", "taken_key", "other_key", "not_to_pool",
              "wrong_token", "two_owners", "payment")
COMMIT_FLAWS = ("none",) * 8 + ("short", "proposer", "later_round", "garbage", "missing_signer",
                "extra_signer", "wrong_root", "bitmap_length", "bitmap_bit", "blknum")
EXIT_KINDS = ("unspent", "unspent", "spent", "exiting", "never_held", "bad_index", "out_of_range", "garbage")
IFE_KINDS = ("withheld", "included", "withheld", "included", "mismatched", "other_input_tx", "dup_input")


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


@functools.cache
def bls_public(index: int) -> bytes:
    return bls.public_key(BLS_SECRETS[index])


@functools.cache
def bls_pop(index: int) -> bytes:
    return bls.pop_prove(BLS_SECRETS[index])


@functools.lru_cache(maxsize=4096)
def bls_sign(index: int, message: bytes) -> bytes:
    return bls.sign(BLS_SECRETS[index], message)


def bls_index(public_key: bytes) -> int:
    return [bls_public(i) for i in range(len(BLS_SECRETS))].index(public_key)


def mostly(data: st.DataObject, preferred: list, otherwise: st.SearchStrategy) -> object:
    """One of `preferred` four times in five (when there are any), else a draw of `otherwise`."""
    if preferred and data.draw(st.integers(0, 4)):
        return data.draw(st.sampled_from(preferred))
    return data.draw(otherwise)


def commit_head(state: State, blknum: int) -> bytes:
    """The log head a commit of `blknum` signs: the sealed child block's, or zeros for any other height."""
    block = state.blocks.get(blknum)
    return block.log_head if block is not None and not block.is_deposit else bytes(32)


def commit_message_of(state: State, blknum: int, root: bytes) -> bytes:
    """What a validator signs to commit `root` as child block `blknum` of the ledger in `state`:
    the one place the search builds a commit message (commits and equivocation evidence)."""
    assert state.params is not None
    return commit_message(state.params.domain_separator, blknum, root, commit_head(state, blknum))


def commit_signature(state: State, index: int, blknum: int, root: bytes) -> tuple[bytes, tuple[bytes, tuple]]:
    """BLS key `index`'s signature committing `root` as block `blknum`, and what it is to the
    model: (the public key, what it signed)."""
    return bls_sign(index, commit_message_of(state, blknum, root)), (bls_public(index), ("commit", CONTRACT, blknum, root))


def request_digest(meaning: tuple) -> bytes:
    """The digest a validator signs for a request, from the meaning the model judges it by."""
    kind, contract, validator, *rest = meaning
    separator = eip712.domain_separator(contract)
    if kind == "unbond":
        return unbond_digest(separator, validator, *rest)
    if kind == "vote":
        schedule, nonce = rest
        return vote_digest(separator, validator, tuple(FeeRule(*r) for r in schedule), nonce)
    return unjail_digest(separator, validator, *rest)


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


def outputs_of(raw: bytes) -> tuple[Out, ...]:
    return tuple((o.owner, o.token, o.amount) for o in payment.decode(raw).outputs)


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


# --- comparing states -------------------------------------------------------------------


def nonzero(totals_map: object) -> dict:
    return {token: amount for token, amount in totals_map.items() if amount}  # type: ignore[attr-defined]


def _out(output: Output) -> Out:
    return (output.owner, output.token, output.amount)


def ledger_exit(record: StandardExit | InFlightExit) -> tuple:
    if isinstance(record, StandardExit):
        return ("standard", record.utxo_pos, _out(record.output), record.backed, record.status)
    inputs = tuple((pos, _out(output)) for pos, output in record.inputs)
    return ("in-flight", record.tx, inputs, tuple(_out(o) for o in record.outputs), record.canonical,
            set(record.piggybacked), set(record.withdrawn), nonzero(record.reserve), record.inputs_consumed)


def model_exit(record: object) -> tuple:
    if isinstance(record, ExitRecord):
        return ("standard", record.pos, record.out, record.backed, record.status)
    return ("in-flight", record.leaf, tuple(record.inputs), tuple(record.outputs), record.canonical,  # type: ignore[attr-defined]
            record.piggybacked, record.withdrawn, nonzero(record.reserve), record.inputs_consumed)  # type: ignore[attr-defined]


def ledger_staking(s: Staking | None) -> dict | None:
    if s is None:
        return None
    return {
        "params": attrs.astuple(s.params),
        "validators": {a: (v.bls_key, v.bonded, v.jailed, v.jailed_until, v.tombstoned, v.nonce, dict(v.fee_vote),
                           v.missed, v.expected) for a, v in s.validators.items()},
        "unbonding": {key: (u.amount, u.mature_at) for key, u in s.unbonding.items()},
        "bonded total": s.bonded_total,
        "unbonding total": s.unbonding_total,
        "burned": s.burned,
        "commits": dict(s.commits),
        "last committed": s.last_committed,
        "evidence": dict(s.evidence),
        "epoch": s.epoch,
        "fees distributed": nonzero(s.fees_distributed),
    }


def model_staking(model: Model) -> dict | None:
    s = model.stakes
    if s is None:
        return None
    return {
        "params": tuple(s.params[name] for name in STAKING_FIELDS),
        "validators": {a: (v.bls_key, v.bonded, v.jailed, v.jailed_until, v.tombstoned, v.nonce, v.vote,
                           model.missed_mask(v), len(v.history)) for a, v in s.validators.items()},
        "unbonding": dict(s.unbonding),
        "bonded total": sum(v.bonded for v in s.validators.values()),
        "unbonding total": sum(amount for amount, _ in s.unbonding.values()),
        "burned": s.burned,
        "commits": s.commits,
        "last committed": s.last_committed,
        "evidence": s.evidence,
        "epoch": s.epoch,
        "fees distributed": nonzero(s.distributed),
    }


def differences(model: Model, state: State) -> list[str]:
    """Where the ledger's state and the model's disagree (empty when they agree)."""
    assert state.params is not None
    pairs = {
        "utxos": (model.utxos, {pos: _out(o) for pos, o in state.utxos.items()}),
        "spent": (model.spent, set(state.spent.keys())),
        "unspent per token": (model.unspent(), nonzero(state.unspent)),
        "deposited per token": (model.deposited, nonzero(state.deposited)),
        "open block fees": (model.open_fees, nonzero(state.open_block_fees)),
        "fees collected": (model.collected, nonzero(state.fees_collected)),
        "fee schedule": (model.fee_schedule, dict(state.params.fee_schedule)),
        "blocks (root, tx count)": (model.blocks, {n: (b.root, b.tx_count) for n, b in state.blocks.items()}),
        "open block txs": (model.open_txs, list(state.open_block_txs)),
        "next child block": (model.open_child(), state.next_child_blknum),
        "next deposit block": (model.next_deposit(), state.next_deposit_blknum),
        "submitted block": (model.submitted, state.submitted_blknum),
        "foreign roots": (model.foreign, dict(state.foreign_roots)),
        "root-chain cursor": (model.cursor, state.root_cursor),
        "exits": ({i: model_exit(r) for i, r in model.exits.items()}, {i: ledger_exit(r) for i, r in state.exits.items()}),
        "exiting": (model.exiting, {pos: _out(o) for pos, o in state.exiting.items()}),
        "in exit per token": (model.in_exit(), nonzero(state.in_exit)),
        "exited per token": (nonzero(model.exited), nonzero(state.exited)),
        "unbacked per token": (nonzero(model.unbacked), nonzero(state.unbacked)),
        "staking": (model_staking(model), ledger_staking(state.staking)),
    }
    return [f"{name}: model {mine!r} != ledger {theirs!r}" for name, (mine, theirs) in pairs.items() if mine != theirs]


def registered_validators(model: Model) -> bool:
    return model.stakes is not None and bool(model.stakes.validators)


def standard_exits(model: Model) -> bool:
    return any(isinstance(record, ExitRecord) for record in model.exits.values())


def in_flight_exits(model: Model) -> bool:
    return any(isinstance(record, InFlightRecord) for record in model.exits.values())


class LedgerMachine(RuleBasedStateMachine):
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
                self.outputs_ever[pos] = _out(output)
        diff = differences(self.model, self.state)
        assert not diff, "state differs from the model:\n" + "\n".join(diff)

    def teardown(self) -> None:
        violation = self.hook.finish(self.state.event_count - 1, self.state)
        assert violation is None, f"invariant violated at the end: {violation}"

    # -- genesis and deposits ----------------------------------------------------------

    @initialize(schedule=FEE_SCHEDULE, data=st.data())
    def genesis(self, schedule: tuple[FeeRule, ...], data: st.DataObject | None = None) -> None:
        """Genesis and a few deposits; in about half the runs, staking opened and a few
        validators bonded too."""
        event = Genesis(CONTRACT, schedule)
        after = type(self).apply_event(GENESIS_STATE, event)
        assert self.hook(0, GENESIS_STATE, event, after) is None
        self.state = after
        self.model = Model({(r.tx_type, r.token): r.amount for r in schedule}, CONTRACT)
        if data is None:
            return
        for owner, token, amount in data.draw(st.lists(st.tuples(KEY, TOKEN, AMOUNT), max_size=4), label="deposits"):
            self.deposit(owner, token, amount)
        if data.draw(st.booleans(), label="staking"):
            self._open_with_validators(data)

    def _open_with_validators(self, data: st.DataObject) -> None:
        """Staking opens; one to four validators each deposit the staking token and the other
        (to pay fees in) and bond, mostly honestly; one may be offline from the start."""
        values = data.draw(STAKING_PARAMS)
        self.submit(OpenStaking(values), StakingOpened(*values))
        token = values[0]
        validators = st.lists(KEY, min_size=3, max_size=4, unique=True) | st.lists(KEY, min_size=1, max_size=4, unique=True)
        for k in data.draw(validators, label="validators"):
            for deposit_token in sorted(TOKENS, key=lambda t: t != token):  # the staking token, and one to pay fees in
                self._deposit(self._root_chain_deposit(), ((ADDRESSES[k], deposit_token, data.draw(st.integers(20, 10**6))),))
            self._bond(data, k, mostly(data, ["none"], st.sampled_from(BOND_FLAWS)), every_output=True)
        self.offline = {ADDRESSES[k] for k in data.draw(st.sets(KEY, max_size=1), label="offline")}

    def _root_chain_deposit(self) -> int:
        """The number the root chain gives a deposit: after the newest block it may hold."""
        return max(self.model.deposit_numbers(), default=self.model.next_deposit())

    @rule(owner=KEY, token=TOKEN, amount=AMOUNT)
    def deposit(self, owner: int, token: bytes, amount: int) -> None:
        self._deposit(self._root_chain_deposit(), ((ADDRESSES[owner], token, amount),))

    @rule(data=st.data(), owner=KEY, token=TOKEN, amount=AMOUNT)
    def bad_deposit(self, data: st.DataObject, owner: int, token: bytes, amount: int) -> None:
        blknum, outputs = self.model.next_deposit(), [(ADDRESSES[owner], token, amount)]
        flaw = data.draw(st.sampled_from(DEPOSIT_FLAWS))
        if flaw in ("empty_signature_list", "signed"):
            signatures = [] if flaw == "empty_signature_list" else [sign(bytes(32), owner)]
            self._deposit(blknum, tuple(outputs), signatures)
            return
        if flaw == "blknum":
            near = st.sampled_from([blknum - 1, blknum + 1, self.model.submitted + 1])
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

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Any accepted event again: a payment, a seal, a root-chain fact, a commit, a vote..."""
        intent, event = data.draw(st.sampled_from(self.accepted))
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

    def _honest_draft(self, data: st.DataObject, owner: bytes | None = None) -> Draft | None:
        """1-4 unspent inputs (of `owner`, if given) split into 1-4 outputs across keys, paying
        the scheduled fee if it can (None when the fee would take everything)."""
        choices = sorted(pos for pos, out in self.model.utxos.items() if owner in (None, out[0]))
        if not choices:
            return None
        inputs = data.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4, unique=True))
        remainder = self._after_fee(data, totals([self.model.utxos[pos] for pos in inputs]))
        if not remainder:
            return None
        outputs: list[Out] = []
        for i, (token, amount) in enumerate(sorted(remainder.items())):
            slots = 4 - len(outputs) - (len(remainder) - i - 1)
            outputs += [(ADDRESSES[data.draw(KEY)], token, piece) for piece in self._split(data, amount, slots)]
        return Draft(inputs, outputs, [key_of(self.model.utxos[pos][0]) for pos in inputs])

    def _after_fee(self, data: st.DataObject, remainder: dict[bytes, int]) -> dict[bytes, int]:
        """What is left of the inputs' `remainder` once the scheduled fee is paid (or, with no
        schedule, any fee); when the schedule cannot be met, nothing is paid and the model
        expects a rejection."""
        if self.model.fee_schedule:
            payable = [t for t in sorted(remainder) if (self.model.payment_fee(t) or 2**512) <= remainder[t]]
            if payable:
                fee_token = data.draw(st.sampled_from(payable))
                remainder[fee_token] -= self.model.payment_fee(fee_token) or 0
        else:
            fee_token = data.draw(st.sampled_from(sorted(remainder)))
            keep = 1 if len(remainder) == 1 else 0  # leave something to pay out
            remainder[fee_token] -= data.draw(st.integers(0, remainder[fee_token] - keep))
        return {token: amount for token, amount in remainder.items() if amount}

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
        gone = sorted(pos for pos in (self.model.spent if flaw == "spent_input" else self.model.exiting)
                      if pos in self.outputs_ever)
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
        elif flaw in ("spent_input", "exiting_input") and d.inputs and gone:
            d.inputs[i] = data.draw(st.sampled_from(gone))
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

    def _forged(self, data: st.DataObject, d: Draft, flaws: list[str] | tuple[str, ...]) -> tuple[bytes, PaymentIntent]:
        """The draft's signed bytes with signature `flaws`, and what they mean."""
        _, signatures, signers, digest = self._signed(d)
        for flaw in flaws:
            self._forge(data, flaw, signatures, signers, digest)
        raw = payment.encode(d.tx().with_signatures(tuple(signatures)))
        return raw, PaymentIntent(tuple(d.inputs), tuple(d.outputs), tuple(signers), payment.encode_unsigned(d.tx()))

    def _pay(self, data: st.DataObject, d: Draft, flaws: list[str] | tuple[str, ...]) -> None:
        raw, intent = self._forged(data, d, flaws)
        self.submit(intent, Payment(raw))

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
        """Collect what the open block owes in one token (or, one time in five, less or more)."""
        token = data.draw(st.sampled_from(sorted(self.model.open_fees)))
        owed = self.model.open_fees[token]
        self._collect(self.model.open_child(), token, owed + mostly(data, [0], st.sampled_from([-1, -(owed // 2), 1])))  # type: ignore[operator]

    @rule(flaw=st.sampled_from(SEAL_FLAWS), data=st.data())
    def close_block(self, flaw: str, data: st.DataObject) -> None:
        """Collect every fee and seal (flaw "none"), or submit one flawed fee or seal event."""
        blknum, txs = self.model.open_child(), self.model.open_txs
        if flaw == "fee_amount":  # mostly a token the block owes fees in: less or more than owed
            token: bytes = mostly(data, sorted(self.model.open_fees), TOKEN)  # type: ignore[assignment]
            owed = self.model.open_fees.get(token, 0)
            return self._collect(blknum, token, max(owed + data.draw(st.sampled_from([-1, 1, -(owed // 2), 2])), 0))
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

    # -- root-chain facts: blocks and the follower's cursor ----------------------------------

    @rule(data=st.data(), flaw=st.sampled_from(("honest", "honest", "foreign", "replay", "skip")))
    def submit_block(self, data: st.DataObject, flaw: str) -> None:
        """The root chain takes the next block: ours, or a root this log never sealed."""
        blknum = self.model.submitted + 1000
        root = self.model.blocks[blknum][0] if blknum in self.model.blocks else keccak256(b"withheld %d" % blknum)
        if flaw == "foreign":
            root = data.draw(st.binary(min_size=32, max_size=32))
        elif flaw == "replay":
            blknum -= 1000
        elif flaw == "skip":
            blknum += 1000
        self.submit(SubmitBlock(blknum, root), BlockSubmitted(blknum, root))

    @rule(step=st.sampled_from((1, 2, 0, -1)))
    def sync_root_chain(self, step: int) -> None:
        """The follower's cursor: forward, or not (a replay of facts already in)."""
        eth_block = max(self.model.cursor[0] + step, 0)
        eth_hash = keccak256(b"eth block %d" % eth_block)
        self.submit(SyncRootChain(eth_block, eth_hash), RootChainSynced(eth_block, eth_hash))

    @rule(honest=st.booleans())
    def checkpoint(self, honest: bool) -> None:
        """A state checkpoint: the hash of the ledger's state as it is, or of another state."""
        digest = state_hash(self.state) if honest else keccak256(b"another state" + state_hash(self.state))
        self.submit(Checkpoint(honest, self.model.accepted), StateCheckpoint(digest))

    def _exit_id(self, data: st.DataObject, kind: type) -> int:
        """Mostly an exit of `kind` the model knows, else an id nobody started or one of another kind."""
        known = sorted(i for i, r in self.model.exits.items() if isinstance(r, kind))
        return mostly(data, known, st.sampled_from([max(self.model.exits, default=0) + 1, *self.model.exits]))

    # -- standard exits ------------------------------------------------------------------------

    @rule(data=st.data(), kind=st.sampled_from(EXIT_KINDS))
    def start_exit(self, data: st.DataObject, kind: str) -> None:
        """A standard exit of an unspent, spent, exiting or never-held output, or a malformed one."""
        exit_id = self._new_exit_id(data)
        pos, raw, outputs, codes = self._exit_target(data, kind)
        self.submit(StartExit(exit_id, pos, outputs, codes), ExitStarted(exit_id, pos, raw))

    def _new_exit_id(self, data: st.DataObject) -> int:
        """The next id, or one of the first few (maybe started already)."""
        return data.draw(st.just(max(self.model.exits, default=0) + 1) | st.integers(1, 3))

    def _exit_target(self, data: st.DataObject, kind: str) -> tuple[int, bytes, tuple[Out, ...] | None, frozenset[str]]:
        """(position, transaction bytes, their outputs, decode errors) a standard exit names."""
        pools = {"unspent": self.model.utxos, "spent": self.model.spent, "exiting": self.model.exiting}
        held = sorted(pos for pos in pools.get(kind, self.outputs_ever) if self.model.tx_bytes(pos) is not None)
        if kind == "never_held" or not held:  # an output made up, at a position held or not
            out = (ADDRESSES[data.draw(KEY)], data.draw(TOKEN), data.draw(AMOUNT))
            raw = payment.encode_unsigned(PaymentTx([], [Output(OUTPUT_TYPE_PAYMENT, *out)]))
            pos = data.draw(st.sampled_from([*held[:3], position(self.model.open_child() + 1000, 0, 0), position(1, 5, 0)]))
            return pos, raw, (out,), frozenset()
        pos = data.draw(st.sampled_from(held))
        raw = self.model.tx_bytes(pos) or b""
        if kind == "bad_index":
            return pos + len(outputs_of(raw)) - pos % 10_000, raw, outputs_of(raw), frozenset()
        if kind == "out_of_range":
            return position(pos // 10**9, 70_000, pos % 10_000), raw, outputs_of(raw), frozenset()
        if kind == "garbage":
            cut = raw[: data.draw(st.integers(0, len(raw) - 1))]
            return pos, cut, None, frozenset({"malformed_transaction_rlp", "malformed_transaction"})
        return pos, raw, outputs_of(raw), frozenset()

    @precondition(lambda self: standard_exits(self.model))
    @rule(data=st.data())
    def challenge_exit(self, data: st.DataObject) -> None:
        exit_id = self._exit_id(data, ExitRecord)
        self.submit(ChallengeExit(exit_id), ExitChallenged(exit_id))

    @precondition(lambda self: standard_exits(self.model))
    @rule(data=st.data(), paid=st.booleans())
    def process_exit(self, data: st.DataObject, paid: bool) -> None:
        exit_id = self._exit_id(data, ExitRecord)
        self.submit(ProcessExit(exit_id, paid), ExitProcessed(exit_id, paid))

    # -- in-flight exits -------------------------------------------------------------------------

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data(), kind=st.sampled_from(IFE_KINDS))
    def start_in_flight_exit(self, data: st.DataObject, kind: str) -> None:
        """An in-flight exit of a payment the operator withheld, or of one it included."""
        exit_id = self._new_exit_id(data)
        tx = self._in_flight_tx(data, kind)
        if tx is None:
            return
        inputs, outputs = tx
        leaf = payment.encode_unsigned(PaymentTx(inputs, [Output(OUTPUT_TYPE_PAYMENT, *o) for o in outputs]))
        input_txs = [self.model.tx_bytes(pos) or b"" for pos in inputs]  # every input was an output here
        if kind == "other_input_tx":  # the exit game saw another output at that index
            other = (ADDRESSES[data.draw(KEY)], data.draw(TOKEN), data.draw(AMOUNT))
            input_txs[0] = payment.encode_unsigned(PaymentTx([], [Output(OUTPUT_TYPE_PAYMENT, *other)] * 4))
        held = [outputs_of(raw)[pos % 10_000] if pos % 10_000 < len(outputs_of(raw)) else None
                for pos, raw in zip(inputs, input_txs)]
        positions = list(inputs)
        if kind == "mismatched":
            positions, input_txs = (positions[::-1], input_txs) if len(set(positions)) > 1 else (positions, input_txs[1:])
        intent = StartInFlightExit(exit_id, leaf, tuple(inputs), tuple(held), tuple(outputs), kind != "mismatched")
        self.submit(intent, InFlightExitStarted(exit_id, leaf, tuple(input_txs), tuple(positions)))
        if data.draw(st.booleans()):  # as MoreVP users do: piggyback one's output (or input) at once
            slot = self._slot(data, exit_id)
            self.submit(Piggyback(exit_id, slot), InFlightExitPiggybacked(exit_id, *slot))

    def _in_flight_tx(self, data: st.DataObject, kind: str) -> tuple[list[int], list[Out]] | None:
        """(inputs, outputs) of an applied payment (mostly one sealed in a block), or of an
        honest one never submitted; for "dup_input", with its first input named twice."""
        if kind == "included" and self.model.utxos:  # someone pays, and the operator seals it
            self.pay(data)
            if data.draw(st.booleans()):
                self.close_block("none", data)
        applied = [c for c, _ in self.accepted if isinstance(c, PaymentIntent)]
        if kind == "included" and applied:
            sealed = [c for c in applied if self.model.included_at(c.leaf) is not None]
            chosen: PaymentIntent = mostly(data, sealed, st.sampled_from(applied))  # type: ignore[assignment]
            inputs, outputs = list(chosen.inputs), list(chosen.outputs)
        else:
            draft = self._honest_draft(data)
            if draft is None:
                return None
            inputs, outputs = draft.inputs, draft.outputs
        return (inputs[:3] + inputs[:1] if kind == "dup_input" else inputs), outputs

    def _slot(self, data: st.DataObject, exit_id: int) -> Slot:
        """Mostly an input or output the exit has, sometimes one it has not."""
        record = self.model.exits.get(exit_id)
        slots: list[Slot] = []
        if isinstance(record, InFlightRecord):
            slots = [(False, i) for i in range(len(record.inputs))] + [(True, i) for i in range(len(record.outputs))]
        return mostly(data, slots, st.tuples(st.booleans(), st.integers(0, 4)))  # type: ignore[return-value]

    def _piggybacked(self, data: st.DataObject) -> tuple[int, Slot]:
        """Mostly a piggybacked slot of some in-flight exit, else any slot of any in-flight exit."""
        piggybacks = [(i, slot) for i, r in sorted(self.model.exits.items()) if isinstance(r, InFlightRecord)
                      for slot in sorted(r.piggybacked)]
        if piggybacks and data.draw(st.integers(0, 4)):
            return data.draw(st.sampled_from(piggybacks))
        exit_id = self._exit_id(data, InFlightRecord)
        slot = self._slot(data, exit_id)
        if data.draw(st.booleans()):  # its owner piggybacks it first
            self.submit(Piggyback(exit_id, slot), InFlightExitPiggybacked(exit_id, *slot))
        return exit_id, slot

    @precondition(lambda self: in_flight_exits(self.model))
    @rule(data=st.data())
    def piggyback(self, data: st.DataObject) -> None:
        exit_id = self._exit_id(data, InFlightRecord)
        slot = self._slot(data, exit_id)
        self.submit(Piggyback(exit_id, slot), InFlightExitPiggybacked(exit_id, *slot))

    @precondition(lambda self: in_flight_exits(self.model))
    @rule(data=st.data(), kind=st.sampled_from(("challenged", "responded", "piggyback_challenged")))
    def dispute_in_flight_exit(self, data: st.DataObject, kind: str) -> None:
        if kind == "piggyback_challenged":
            exit_id, slot = self._piggybacked(data)
            self.submit(ChallengePiggyback(exit_id, slot), PiggybackChallenged(exit_id, *slot))
            return
        exit_id = self._exit_id(data, InFlightRecord)
        if kind == "challenged":
            self.submit(SetCanonical(exit_id, False), InFlightExitChallenged(exit_id, 0))
        else:
            self.submit(SetCanonical(exit_id, True), InFlightExitResponded(exit_id, position(1000, 0, 0)))

    @precondition(lambda self: in_flight_exits(self.model))
    @rule(data=st.data())
    def withdraw_piggyback(self, data: st.DataObject) -> None:
        exit_id, slot = self._piggybacked(data)
        self.submit(WithdrawPiggyback(exit_id, slot), InFlightExitWithdrawn(exit_id, *slot))


    # -- proof of stake: opening, bonds, unbonding, withdrawal, unjailing ---------------------

    @rule(data=st.data(), flaw=st.sampled_from(("open", "malformed", "early")))
    def open_staking(self, data: st.DataObject, flaw: str) -> None:
        """Staking opens once, with sane parameters; a staking event before it is refused."""
        if flaw == "early" and self.model.stakes is None:
            validator, signature = ADDRESSES[data.draw(KEY)], data.draw(st.binary(min_size=65, max_size=65))
            self.submit(Unbond(validator, 1, Signed(None, ())), UnbondingStarted(validator, 1, signature))
            return
        values = list(data.draw(STAKING_PARAMS))
        if flaw == "malformed":
            at = data.draw(st.sampled_from([1, 3, 4, 5, 6, 7, 8]))
            values[at] = 0 if at in (1, 5, 6) else 10_001  # no validators, epochs or window; a fraction over 1
        self.submit(OpenStaking(tuple(values)), StakingOpened(*values))

    def _validator(self, data: st.DataObject) -> bytes:
        """Mostly a registered validator, sometimes any address."""
        assert self.model.stakes is not None
        return mostly(data, sorted(self.model.stakes.validators), st.sampled_from(ADDRESSES))

    def _request(self, data: st.DataObject, signer: bytes, meaning: tuple) -> tuple[bytes, Signed]:
        """A validator's signed request over `meaning` (its kind, chain, fields and nonce),
        honest or with a flaw; the signature's bytes and what they mean."""
        flaw, key = data.draw(st.sampled_from(REQUEST_FLAWS)), key_of(signer)
        if flaw == "wrong_key":
            key = (key + data.draw(st.integers(1, len(KEYS) - 1))) % len(KEYS)
        elif flaw == "stale_nonce":
            meaning = (*meaning[:-1], max(meaning[-1] + data.draw(st.sampled_from([-1, 1])), 0))
        elif flaw == "other_chain":
            meaning = (meaning[0], OTHER_CONTRACT, *meaning[2:])
        signature = sign(request_digest(meaning), key)
        if flaw == "garbage":
            return data.draw(st.binary(min_size=65, max_size=65)), Signed(None, meaning)
        if flaw == "malleable":
            return malleated(signature), Signed(None, meaning)
        return signature, Signed(ADDRESSES[key], meaning)

    @precondition(lambda self: self.model.stakes is not None)
    @rule(data=st.data(), k=KEY, flaw=st.sampled_from(BOND_FLAWS))
    def bond(self, data: st.DataObject, k: int, flaw: str) -> None:
        self._bond(data, k, flaw)

    def _bond(self, data: st.DataObject, k: int, flaw: str, every_output: bool = False) -> None:
        """Validator `k` bonds part of its staking token (a new one registers its BLS key with a
        proof of possession), honestly or with a flaw."""
        me, draft = ADDRESSES[k], self._bond_draft(data, k, every_output)
        if draft is None:
            return
        bls_key, pop, pop_for = self._registration(data, me, flaw)
        _, token, amount = draft.outputs[0]
        signature_flaws: list[str] = []
        if flaw == "not_to_pool":
            draft.outputs[0] = (me, token, amount)
        elif flaw == "wrong_token":
            draft.outputs[0] = (STAKING_POOL, next(t for t in TOKENS if t != token), amount)
        elif flaw == "two_owners":
            self._add_strangers_input(data, draft, me)
        elif flaw == "payment":
            signature_flaws.append(data.draw(st.sampled_from(SIGNATURE)))
        raw, intent = self._forged(data, draft, signature_flaws)
        key_ok = bls_key in [bls_public(i) for i in range(len(BLS_SECRETS))]
        self.submit(Bond(intent, bls_key, key_ok, pop_for), StakeBonded(raw, bls_key, pop))

    def _bond_draft(self, data: st.DataObject, k: int, every_output: bool) -> Draft | None:
        """Some (or all, up to four) of `k`'s outputs, at least one in the staking token, paying
        the fee; the pool gets part of the staking token (the first output), `k` the rest."""
        assert self.model.stakes is not None
        me, token = ADDRESSES[k], self.model.stakes.params["token"]
        mine = sorted(pos for pos, out in self.model.utxos.items() if out[0] == me)
        in_token = [pos for pos in mine if self.model.utxos[pos][1] == token]
        if not in_token:
            return None
        inputs = mine[:4] if every_output else data.draw(st.lists(st.sampled_from(mine), min_size=1, max_size=3, unique=True))
        if not set(inputs) & set(in_token):
            inputs.append(data.draw(st.sampled_from(in_token)))
        remainder = self._after_fee(data, totals([self.model.utxos[pos] for pos in inputs]))
        if not remainder.get(token):
            return None
        amount = data.draw(st.integers(1, remainder[token]))
        outputs = [(STAKING_POOL, token, amount)] + [(me, token, remainder[token] - amount)] * (remainder[token] > amount)
        outputs += [(me, t, left) for t, left in sorted(remainder.items()) if t != token]  # type: ignore[misc]
        return Draft(inputs, outputs, [k] * len(inputs))  # type: ignore[arg-type]

    def _registration(self, data: st.DataObject, me: bytes, flaw: str) -> tuple[bytes, bytes, bytes]:
        """(BLS key, proof of possession, the key the proof is for) a bond carries: its own
        (a registered validator may send none), or a flawed one."""
        assert self.model.stakes is not None
        known = self.model.stakes.validators.get(me)
        at = bls_index(known.bls_key) if known else key_of(me)
        bls_key = b"" if known and data.draw(st.booleans()) else bls_public(at)
        other = (at + data.draw(st.integers(1, len(BLS_SECRETS) - 1))) % len(BLS_SECRETS)
        if flaw == "wrong_pop":
            return bls_key, bls_pop(other), bls_public(other)
        if flaw == "malformed_key":
            return data.draw(st.sampled_from(MALFORMED_BLS_KEYS)), bls_pop(at), bls_public(at)
        if flaw in ("other_key", "taken_key"):
            taken = sorted(v.bls_key for a, v in self.model.stakes.validators.items() if a != me)
            if flaw == "taken_key" and taken:
                other = bls_index(data.draw(st.sampled_from(taken)))
            return bls_public(other), bls_pop(other), bls_public(other)
        return bls_key, bls_pop(at), bls_public(at)

    def _add_strangers_input(self, data: st.DataObject, draft: Draft, me: bytes) -> None:
        """Another owner signs one more input and takes it back whole: a valid payment, not a bond."""
        theirs = sorted(pos for pos, out in self.model.utxos.items() if out[0] != me and pos not in draft.inputs)
        if theirs and len(draft.outputs) < 4:
            pos = data.draw(st.sampled_from(theirs))
            draft.inputs.append(pos)
            draft.keys.append(key_of(self.model.utxos[pos][0]))
            draft.outputs.append(self.model.utxos[pos])

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data())
    def unbond(self, data: st.DataObject) -> None:
        assert self.model.stakes is not None
        validator = self._validator(data)
        record = self.model.stakes.validators.get(validator)
        bonded, nonce = (record.bonded, record.nonce) if record else (0, 0)
        amount = mostly(data, [bonded, bonded // 2 + 1] if bonded else [], st.sampled_from([0, 1, bonded + 1]))
        signature, signed = self._request(data, validator, ("unbond", CONTRACT, validator, amount, nonce))
        self.submit(Unbond(validator, amount, signed), UnbondingStarted(validator, amount, signature))

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), wait=st.booleans())
    def withdraw_stake(self, data: st.DataObject, wait: bool) -> None:
        """A withdrawal of an unbonding entry, after blocks are sealed until it matures (`wait`)
        or at once, or of one that does not exist."""
        assert self.model.stakes is not None
        if wait and not self.model.stakes.unbonding:  # someone asks to unbond first
            self.unbond(data)
        made_up = st.tuples(st.sampled_from(ADDRESSES), st.integers(0, 3))
        validator, nonce = mostly(data, sorted(self.model.stakes.unbonding), made_up)  # type: ignore[misc]
        if wait and (validator, nonce) in self.model.stakes.unbonding:
            self._seal_until(self.model.stakes.unbonding[(validator, nonce)][1], data)
        self.submit(WithdrawStake(validator, nonce), StakeWithdrawn(validator, nonce))

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), wait=st.booleans())
    def unjail(self, data: st.DataObject, wait: bool) -> None:
        """A jailed validator (or anyone) asks to return, after its jail time (`wait`) or at once."""
        assert self.model.stakes is not None
        jailed = sorted(a for a, v in self.model.stakes.validators.items() if v.jailed)
        self._unjail(data, mostly(data, jailed, st.sampled_from(ADDRESSES)), wait)  # type: ignore[arg-type]

    def _unjail(self, data: st.DataObject, validator: bytes, wait: bool) -> None:
        assert self.model.stakes is not None
        record = self.model.stakes.validators.get(validator)
        if wait and record is not None:
            self._seal_until(record.jailed_until, data)
        signature, signed = self._request(data, validator, ("unjail", CONTRACT, validator, record.nonce if record else 0))
        self.submit(Unjail(validator, signed), ValidatorUnjailed(validator, signature))

    def _seal_until(self, blknum: int, data: st.DataObject) -> None:
        """Time passes: the operator collects and seals until child block `blknum` is open."""
        while self.model.open_child() < blknum:
            before = self.model.open_child()
            self.close_block("none", data)
            assert self.model.open_child() > before, "an honest seal was refused by both"

    # -- commits, downtime, equivocation ---------------------------------------------------------

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), rejoin=st.booleans())
    def downtime(self, data: st.DataObject, rejoin: bool) -> None:
        """A validator (mostly the smallest active one: the others can still commit) stops
        signing for a window of commits, jailed if it signed too few of them; then perhaps it
        rejoins: signs again, and asks to leave jail once its time is over."""
        assert self.model.stakes is not None
        smallest = sorted((v.bonded, a) for a, v in self.model.active_set())[:1]
        validator: bytes = mostly(data, [a for _, a in smallest], st.sampled_from(ADDRESSES))  # type: ignore[assignment]
        self.offline.add(validator)
        for _ in range(self.model.stakes.param("signed_blocks_window")):
            self.commit(data, "none")
        if rejoin:
            self.offline.discard(validator)
            self._unjail(data, validator, wait=True)

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), flaw=st.sampled_from(COMMIT_FLAWS))
    def commit(self, data: st.DataObject, flaw: str) -> None:
        """The online validators commit the next block (sealed first if it is open), proposed
        in the first round whose drawn proposer signs; or a commit with a flaw."""
        assert self.model.stakes is not None
        blknum = self.model.stakes.last_committed + 1000
        if blknum == self.model.open_child() and flaw != "blknum":
            self.close_block("none", data)
        if flaw == "blknum":
            blknum += data.draw(st.sampled_from([-1000, 1000, 1]))
        active = self.model.active_set()
        if not active:
            self.submit(Commit(blknum, 0, ADDRESSES[0], b"", None), BlockCommitted(blknum, 0, ADDRESSES[0], b"", bytes(96)))
            return
        named, signers, round_, proposer = self._commit_parties(data, flaw, blknum, [a for a, _ in active])
        root = self.model.blocks.get(blknum, (keccak256(b"not sealed"), 0))[0]
        signed_root = keccak256(root) if flaw == "wrong_root" else root
        stranger = len(BLS_SECRETS) - 1
        signed = [commit_signature(self.state, bls_index(active[i][1].bls_key) if i >= 0 else stranger, blknum, signed_root)
                  for i in signers]
        if flaw == "garbage" or not signed:
            signature, meaning = data.draw(st.binary(min_size=96, max_size=96)), None
        else:
            signature, meaning = bls.aggregate([s for s, _ in signed]), tuple(m for _, m in signed)
        bitmap = self._bitmap(data, flaw, named, len(active))
        self.submit(Commit(blknum, round_, proposer, bitmap, meaning), BlockCommitted(blknum, round_, proposer, bitmap, signature))

    def _commit_parties(self, data: st.DataObject, flaw: str, blknum: int, addresses: list[bytes]
                        ) -> tuple[list[int], list[int], int, bytes]:
        """Who the bitmap names (the online validators, by index in the active set), whose
        signatures the aggregate holds (-1: a stranger's), the round (the first whose drawn
        proposer is named) and the proposer; as `flaw` has them."""
        named = [i for i, address in enumerate(addresses) if address not in self.offline]
        if flaw == "short":
            named = sorted(data.draw(st.sets(st.sampled_from(range(len(addresses))), max_size=len(addresses) - 1)))
        round_ = next((r for r in range(16) if self.model.proposer(blknum, r) in [addresses[i] for i in named]), 0)
        proposer, signers = self.model.proposer(blknum, round_), list(named)
        if flaw == "proposer":
            proposer = data.draw(st.sampled_from([*addresses, *ADDRESSES]))
        elif flaw == "later_round":
            round_ += data.draw(st.integers(1, 3))
        elif flaw == "missing_signer" and signers:
            del signers[data.draw(st.integers(0, len(signers) - 1))]
        elif flaw == "extra_signer":
            signers.append(data.draw(st.integers(-1, len(addresses) - 1)))
        return named, signers, round_, proposer

    @staticmethod
    def _bitmap(data: st.DataObject, flaw: str, named: list[int], validators: int) -> bytes:
        bitmap = bls.signer_bitmap(named, validators)
        if flaw == "bitmap_length":
            return data.draw(st.sampled_from([bitmap + b"\x00", bitmap[:-1]]))
        if flaw == "bitmap_bit":  # a signer past the last validator
            bits = int.from_bytes(bitmap, "little") | 1 << data.draw(st.integers(validators, len(bitmap) * 8))
            return bits.to_bytes(len(bitmap) + (bits.bit_length() > len(bitmap) * 8), "little")
        return bitmap

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), flaw=st.sampled_from(("none", "none", "same_roots", "other_key", "garbage", "other_height",
                                                "not_a_height", "future_height")))
    def equivocate(self, data: st.DataObject, flaw: str) -> None:
        """Evidence that a validator signed two roots at one height, or evidence that is not."""
        assert self.model.stakes is not None
        validator = self._validator(data)
        record = self.model.stakes.validators.get(validator)
        at = bls_index(record.bls_key) if record else key_of(validator)
        heights = sorted(b for b in self.model.blocks if b % 1000 == 0) + [self.model.open_child()]
        blknum = data.draw(st.sampled_from(heights))
        root_a = self.model.blocks.get(blknum, (keccak256(b"proposal %d" % blknum), 0))[0]
        root_b, signed_at = root_a if flaw == "same_roots" else keccak256(b"forged" + root_a), blknum
        if flaw == "other_key":
            at = (at + data.draw(st.integers(1, len(BLS_SECRETS) - 1))) % len(BLS_SECRETS)
        elif flaw == "other_height":
            signed_at = blknum + 1000
        elif flaw == "not_a_height":
            blknum = signed_at = blknum + 1
        elif flaw == "future_height":  # a height the chain has not opened yet
            blknum = signed_at = self.model.open_child() + 1000 * data.draw(st.integers(1, 2))
        signed = [commit_signature(self.state, at, signed_at, root) for root in (root_a, root_b)]
        signatures, meanings = [s for s, _ in signed], [m for _, m in signed]
        if flaw == "garbage":
            signatures[1], meanings[1] = data.draw(st.binary(min_size=96, max_size=96)), None
        reporter = ADDRESSES[data.draw(KEY)]
        intent = Equivocate(reporter, validator, blknum, (root_a, root_b), (meanings[0], meanings[1]))
        head = commit_head(self.state, signed_at)  # both signed over one history: only the roots differ
        self.submit(intent, Equivocation(reporter, validator, blknum, root_a, head, signatures[0], root_b, head, signatures[1]))

    # -- staker-voted fees -------------------------------------------------------------------------

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), schedule=VOTE)
    def vote_fees(self, data: st.DataObject, schedule: list[tuple[int, bytes, int]]) -> None:
        """A validator (or anyone) votes a fee schedule, maybe naming one fee twice."""
        assert self.model.stakes is not None
        validator = self._validator(data)
        record = self.model.stakes.validators.get(validator)
        signature, signed = self._request(data, validator, ("vote", CONTRACT, validator, tuple(schedule),
                                                             record.nonce if record else 0))
        rules = tuple(FeeRule(*r) for r in schedule)
        self.submit(VoteFees(validator, tuple(schedule), signed), FeeVoted(validator, rules, signature))

    @precondition(lambda self: self.model.stakes is not None)
    @rule(data=st.data(), flaw=st.sampled_from(("none", "none", "epoch", "schedule")), wait=st.booleans())
    def close_epoch(self, data: st.DataObject, flaw: str, wait: bool) -> None:
        """Close the next fee epoch, once its blocks are sealed (`wait`) or at once, with the
        schedule the model expects (or a flawed one)."""
        assert self.model.stakes is not None
        if wait:
            self._seal_until((self.model.stakes.epoch + 1) * self.model.stakes.param("epoch_blocks") * 1000 + 1000, data)
        epoch, schedule = self.model.stakes.epoch + 1, self.model.expected_schedule()
        if flaw == "epoch":
            epoch += data.draw(st.sampled_from([-1, 1]))
        elif flaw == "schedule":
            dearer = tuple((tx_type, token, fee + 1) for tx_type, token, fee in schedule)
            schedule = data.draw(st.sampled_from([schedule[1:], schedule[::-1], dearer]))
        self.submit(CloseEpoch(epoch, schedule), FeeEpochClosed(epoch, tuple(FeeRule(*r) for r in schedule)))


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
