"""The search's root-chain steps: block submissions, the follower's cursor, checkpoints,
standard exits and in-flight exits with their piggybacks, challenges and payouts."""
from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ledger.events import (
    BlockSubmitted,
    ExitChallenged,
    ExitProcessed,
    ExitStarted,
    InFlightExitChallenged,
    InFlightExitDeleted,
    InFlightExitFinalized,
    InFlightExitPiggybacked,
    InFlightExitResponded,
    InFlightExitStarted,
    InFlightExitWithdrawn,
    PayoutClaimed,
    PayoutFailed,
    PiggybackChallenged,
    RootChainSynced,
    StateCheckpoint,
)
from ledger.snapshot import state_hash
from proofs import payment
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs.actors import ADDRESSES, outputs_of
from specs.commands import (
    ChallengeExit,
    ChallengePiggyback,
    Checkpoint,
    ClaimPayout,
    EndInFlightExit,
    FailPayout,
    PaymentIntent,
    Piggyback,
    ProcessExit,
    SetCanonical,
    StartExit,
    StartInFlightExit,
    SubmitBlock,
    SyncRootChain,
    WithdrawPiggyback,
)
from specs.model import Model
from specs.naive import Out, Slot, position
from specs.records import ExitRecord, InFlightRecord
from specs.strategies import AMOUNT, EXIT_KINDS, IFE_KINDS, KEY, TOKEN, mostly


def standard_exits(model: Model) -> bool:
    return any(isinstance(record, ExitRecord) for record in model.exits.values())


def in_flight_exits(model: Model) -> bool:
    return any(isinstance(record, InFlightRecord) for record in model.exits.values())


def ended_in_flight_exits(model: Model) -> list[int]:
    return sorted(i for i, r in model.exits.items() if isinstance(r, InFlightRecord) and r.ended)


class ExitSteps:
    """`LedgerMachine`'s root-chain rules (a mixin: `submit` and the state are the machine's)."""

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
            pos = data.draw(st.sampled_from([*held[:3], position(self.model.open_child() + 1000, 0, 0), position(1, 5, 0)]))
            out = self._unlike_an_order(pos, out)
            raw = payment.encode_unsigned(PaymentTx([], [Output(OUTPUT_TYPE_PAYMENT, *out)]))
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

    def _unlike_an_order(self, pos: int, out: Out) -> Out:
        """A made-up payment output, never equal in owner, token and amount to the order output
        the ledger holds at `pos`: the model's outputs carry no type, so it could not tell them apart."""
        held = self.state.utxos.get(pos) or self.state.exiting.get(pos)
        if held is not None and held.output_type != OUTPUT_TYPE_PAYMENT and (held.owner, held.token, held.amount) == out:
            return (out[0], out[1], out[2] + 1)
        return out

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
            other = self._unlike_an_order(inputs[0], (ADDRESSES[data.draw(KEY)], data.draw(TOKEN), data.draw(AMOUNT)))
            input_txs[0] = payment.encode_unsigned(PaymentTx([], [Output(OUTPUT_TYPE_PAYMENT, *other)] * 4))
        held = _held(inputs, input_txs)
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

    @precondition(lambda self: in_flight_exits(self.model))
    @rule(data=st.data(), deleted=st.booleans())
    def end_in_flight_exit(self, data: st.DataObject, deleted: bool) -> None:
        """The exit game empties an in-flight exit: deleted unpiggybacked, or its last entry processed."""
        exit_id = self._exit_id(data, InFlightRecord)
        event = InFlightExitDeleted(exit_id) if deleted else InFlightExitFinalized(exit_id)
        self.submit(EndInFlightExit(exit_id, deleted), event)

    @precondition(lambda self: ended_in_flight_exits(self.model))
    @rule(data=st.data())
    def restart_in_flight_exit(self, data: st.DataObject) -> None:
        """Anyone starts an ended exit's transaction again: the exit game gives it the same id."""
        exit_id = data.draw(st.sampled_from(ended_in_flight_exits(self.model)))
        record = self.model.exits[exit_id]
        assert isinstance(record, InFlightRecord)
        inputs = tuple(pos for pos, _ in record.inputs)
        # the restarter shows the inputs' transactions as the child chain holds them, which may
        # differ from what the ended instance was shown (another output at that index)
        input_txs = tuple(self.model.tx_bytes(pos) or b"" for pos in inputs)
        intent = StartInFlightExit(exit_id, record.leaf, inputs, tuple(_held(inputs, input_txs)), tuple(record.outputs))
        self.submit(intent, InFlightExitStarted(exit_id, record.leaf, input_txs, inputs))

    # -- payouts a vault kept for their receiver, and their claims ---------------------------

    @rule(k=KEY, token=TOKEN, amount=st.integers(0, 1000))
    def fail_payout(self, k: int, token: bytes, amount: int) -> None:
        self.submit(FailPayout(ADDRESSES[k], token, amount), PayoutFailed(ADDRESSES[k], token, amount))

    @rule(data=st.data())
    def claim_payout(self, data: st.DataObject) -> None:
        """Mostly a whole claim of what is owed; else a part, a stranger's or one never owed."""
        owed = [(receiver, token, amount) for (receiver, token), amount in self.model.unclaimed.items()]
        anything = st.tuples(st.sampled_from(ADDRESSES), TOKEN, st.integers(0, 1000))
        receiver, token, amount = mostly(data, owed, anything)
        self.submit(ClaimPayout(receiver, token, amount), PayoutClaimed(receiver, token, amount))


def _held(inputs: list[int] | tuple[int, ...], input_txs: list[bytes] | tuple[bytes, ...]) -> list[Out | None]:
    """Per input, the output its shown transaction holds at the input's index (None: no such output)."""
    return [outputs_of(raw)[pos % 10_000] if pos % 10_000 < len(outputs_of(raw)) else None
            for pos, raw in zip(inputs, input_txs)]
