"""The model's root-chain rules: block submissions, the follower's cursor, standard and
in-flight exits, what they take off the child chain and what the root chain pays out."""
from __future__ import annotations

from specs.commands import (
    ChallengeExit,
    ChallengePiggyback,
    ClaimPayout,
    EndInFlightExit,
    FailPayout,
    Piggyback,
    ProcessExit,
    SetCanonical,
    StartExit,
    StartInFlightExit,
    SubmitBlock,
    SyncRootChain,
    Verdict,
    WithdrawPiggyback,
)
from specs.naive import (
    BLOCK_OFFSET,
    CHILD_INTERVAL,
    MAX_BLKNUM,
    MAX_TXINDEX,
    TX_OFFSET,
    Out,
    Slot,
    add,
    position,
    totals,
)
from specs.records import ExitRecord, InFlightRecord


class ExitRules:
    """`Model`'s rules for root-chain facts (a mixin: the state is `Model`'s)."""

    def in_exit(self) -> dict[bytes, int]:
        """Value exits took off the child chain and the root chain has not paid: exiting
        outputs plus in-flight reserves."""
        result = totals(list(self.exiting.values()))
        for record in self.exits.values():
            if isinstance(record, InFlightRecord):
                for token, amount in record.reserve.items():
                    add(result, token, amount)
        return {token: amount for token, amount in result.items() if amount}

    def tx_bytes(self, pos: int) -> bytes | None:
        """The unsigned bytes of the transaction holding output `pos` (deposit, sealed or open block)."""
        blknum, txindex = pos // BLOCK_OFFSET, pos % BLOCK_OFFSET // TX_OFFSET
        leaves = self.open_txs if blknum == self.open_child() else self.leaves.get(blknum, [])
        return leaves[txindex] if txindex < len(leaves) else None

    def included_at(self, leaf: bytes) -> int | None:
        """Position (output 0) of the sealed child-block transaction with unsigned bytes `leaf`;
        the latest when the same bytes were sealed twice (minted transactions can repeat); else
        its first place in the open block, whose outputs exist already."""
        found = None
        for blknum in sorted(b for b in self.leaves if b % CHILD_INTERVAL == 0):
            for txindex, sealed in enumerate(self.leaves[blknum]):
                if sealed == leaf:
                    found = position(blknum, txindex, 0)
        if found is None and leaf in self.open_txs:
            found = position(self.open_child(), self.open_txs.index(leaf), 0)
        return found

    def _submit_block(self, c: SubmitBlock) -> Verdict:
        if c.blknum != self.submitted + CHILD_INTERVAL:
            return Verdict.of({"wrong_block_number"})
        self.submitted = c.blknum
        if self.blocks.get(c.blknum, (None, 0))[0] != c.root:
            self.foreign[c.blknum] = c.root
        return Verdict.of(set())

    def _sync(self, c: SyncRootChain) -> Verdict:
        if c.eth_block <= self.cursor[0]:
            return Verdict.of({"root_facts_replayed"})
        self.cursor = (c.eth_block, c.eth_hash)
        return Verdict.of(set())

    def _take_off(self, pos: int, out: Out) -> None:
        """An exit takes `out` off the child chain if it is unspent here."""
        if self.utxos.get(pos) == out:
            del self.utxos[pos]
            self.exiting[pos] = out
            self.orders.pop(pos, None)  # an exiting order is no longer in the book

    def _pay_out(self, pos: int | None, out: Out) -> None:
        """The root chain paid `out`: from what an exit took off, else unbacked."""
        if pos is not None and self.exiting.get(pos) == out:
            del self.exiting[pos]
            self.spent.add(pos)
            add(self.exited, out[1], out[2])
        else:
            add(self.unbacked, out[1], out[2])

    def _start_exit(self, c: StartExit) -> Verdict:
        codes = set()
        if c.exit_id in self.exits:
            codes.add("exit_already_started")
        blknum, txindex, oindex = c.pos // BLOCK_OFFSET, c.pos % BLOCK_OFFSET // TX_OFFSET, c.pos % TX_OFFSET
        if txindex > MAX_TXINDEX or blknum > MAX_BLKNUM:
            codes.add("malformed_event")
        if c.outputs is None:
            codes |= c.codes
        elif oindex >= len(c.outputs):
            codes.add("malformed_event")
        if codes:
            return Verdict.of(codes)
        assert c.outputs is not None
        out = c.outputs[oindex]
        held = self.utxos.get(c.pos) == out or self.exiting.get(c.pos) == out
        self.exits[c.exit_id] = ExitRecord(c.pos, out, backed=held)
        self._take_off(c.pos, out)
        return Verdict.of(set())

    def _pending_exit(self, exit_id: int) -> set[str]:
        record = self.exits.get(exit_id)
        if not isinstance(record, ExitRecord):
            return {"exit_not_found"}
        return set() if record.status == "pending" else {"exit_not_pending"}

    def _challenge_exit(self, c: ChallengeExit) -> Verdict:
        codes = self._pending_exit(c.exit_id)
        if not codes:
            self.exits[c.exit_id].status = "challenged"  # type: ignore[union-attr]
        return Verdict.of(codes)

    def _process_exit(self, c: ProcessExit) -> Verdict:
        """Paid or omitted when pending; a challenged exit can only be omitted."""
        record = self.exits.get(c.exit_id)
        challenged = isinstance(record, ExitRecord) and record.status == "challenged"
        codes = set() if challenged and not c.paid else self._pending_exit(c.exit_id)
        if codes:
            return Verdict.of(codes)
        assert isinstance(record, ExitRecord)
        if c.paid:
            self._pay_out(record.pos, record.out)
        record.status = "paid" if c.paid else "omitted"
        return Verdict.of(set())

    def _start_in_flight(self, c: StartInFlightExit) -> Verdict:
        """A new exit, or the same transaction again under the id of its ended exit (the exit
        game derives the id from the transaction), keeping what the id consumed and reserved."""
        codes = set()
        previous = self.exits.get(c.exit_id)
        if previous is not None and not (isinstance(previous, InFlightRecord) and previous.ended and previous.leaf == c.leaf):
            codes.add("exit_already_started")
        if not c.consistent or None in c.input_outputs:
            codes.add("malformed_event")
        elif len(set(c.inputs)) != len(c.inputs):
            codes.add("duplicate_inputs")  # the exit game refuses a transaction spending one output twice
        if codes:
            return Verdict.of(codes)
        inputs = [(pos, out) for pos, out in zip(c.inputs, c.input_outputs) if out is not None]
        record = InFlightRecord(c.leaf, inputs, list(c.outputs))
        if isinstance(previous, InFlightRecord):
            record.reserve, record.inputs_consumed = dict(previous.reserve), previous.inputs_consumed
            record.restarts = previous.restarts + 1
        self.exits[c.exit_id] = record
        for pos, out in inputs:
            self._take_off(pos, out)
        return Verdict.of(set())

    def _in_flight(self, exit_id: int) -> InFlightRecord | str:
        """The live in-flight exit `exit_id`, or why there is none."""
        record = self.exits.get(exit_id)
        if not isinstance(record, InFlightRecord):
            return "exit_not_found"
        return "exit_ended" if record.ended else record

    def _end_in_flight(self, c: EndInFlightExit) -> Verdict:
        """The record closes; what the exit took off the child chain stays off."""
        record = self._in_flight(c.exit_id)
        if isinstance(record, str):
            return Verdict.of({record})
        if c.deleted and (record.piggybacked or record.withdrawn):
            return Verdict.of({"exit_piggybacked"})
        record.ended = True
        return Verdict.of(set())

    @staticmethod
    def _slot_out(record: InFlightRecord, slot: Slot) -> Out | None:
        is_output, index = slot
        items = record.outputs if is_output else [out for _, out in record.inputs]
        return items[index] if index < len(items) else None

    def _piggyback(self, c: Piggyback) -> Verdict:
        record = self._in_flight(c.exit_id)
        if isinstance(record, str):
            return Verdict.of({record})
        out = self._slot_out(record, c.slot)
        if out is None:
            return Verdict.of({"malformed_event"})
        if c.slot in record.piggybacked or c.slot in record.withdrawn:
            return Verdict.of({"already_piggybacked"})
        record.piggybacked.add(c.slot)
        included = self.included_at(record.leaf)
        if c.slot[0] and included is not None:
            self._take_off(included + c.slot[1], out)
        return Verdict.of(set())

    def _set_canonical(self, c: SetCanonical) -> Verdict:
        record = self._in_flight(c.exit_id)
        if isinstance(record, str):
            return Verdict.of({record})
        record.canonical = c.canonical
        return Verdict.of(set())

    def _challenge_piggyback(self, c: ChallengePiggyback) -> Verdict:
        record = self._in_flight(c.exit_id)
        if isinstance(record, str):
            return Verdict.of({record})
        if c.slot not in record.piggybacked:
            return Verdict.of({"not_piggybacked"})
        record.piggybacked.remove(c.slot)
        return Verdict.of(set())

    def _withdraw(self, c: WithdrawPiggyback) -> Verdict:
        """An input, or an output of an included transaction, is paid as a standard exit would
        be; an output of a transaction never included is paid from its inputs' value."""
        record = self._in_flight(c.exit_id)
        if isinstance(record, str):
            return Verdict.of({record})
        if c.slot not in record.piggybacked:
            return Verdict.of({"not_piggybacked"})
        out = self._slot_out(record, c.slot)
        assert out is not None
        is_output, index = c.slot
        included = self.included_at(record.leaf)
        if not is_output:
            self._pay_out(record.inputs[index][0], out)
        elif included is not None:
            self._pay_out(included + index, out)
        else:
            self._pay_from_inputs(record, out)
        record.piggybacked.remove(c.slot)
        record.withdrawn.add(c.slot)
        return Verdict.of(set())

    def _pay_from_inputs(self, record: InFlightRecord, out: Out) -> None:
        if not record.inputs_consumed:  # the first output paid finalizes every input exiting here
            for pos, held in record.inputs:
                if self.exiting.get(pos) == held:
                    del self.exiting[pos]
                    self.spent.add(pos)
                    add(record.reserve, held[1], held[2])
            record.inputs_consumed = True
        covered = min(out[2], record.reserve.get(out[1], 0))
        record.reserve[out[1]] = record.reserve.get(out[1], 0) - covered
        add(self.exited, out[1], covered)
        if out[2] > covered:
            add(self.unbacked, out[1], out[2] - covered)

    # -- payouts a vault kept for their receiver, and their claims ------------------------

    def _fail_payout(self, c: FailPayout) -> Verdict:
        key = (c.receiver, c.token)
        if c.amount:
            self.unclaimed[key] = self.unclaimed.get(key, 0) + c.amount
        return Verdict.of(set())

    def _claim_payout(self, c: ClaimPayout) -> Verdict:
        """A vault pays a receiver all it kept for it at once."""
        key = (c.receiver, c.token)
        if not self.unclaimed.get(key) or self.unclaimed[key] != c.amount:
            return Verdict.of({"claim_not_owed"})
        del self.unclaimed[key]
        return Verdict.of(set())
