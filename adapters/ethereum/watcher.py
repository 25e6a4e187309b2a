"""The watcher: compares the root chain with the child chain's log and reports OMG's
byzantine conditions, challenging the invalid exits it holds a fraud proof against.

Conditions (elixir-omg's names): invalid_block (a root the log did not seal),
block_withholding (a root for a block the log does not hold), invalid_exit (an exit of
an output the ledger does not hold unspent), unchallenged_exit (an invalid exit no proof
is known against: users should exit), noncanonical_ife (an in-flight exit with a known
competitor), invalid_ife_challenge (an in-flight exit made non-canonical although the log
holds its transaction in a block: answered with that inclusion), invalid_piggyback (a piggyback on an output known spent), piggyback_available
(an in-flight exit's inputs or outputs not yet piggybacked).

A challenge is reconciled with the root chain at every check, not remembered as done: it is
sent, for each instance of an in-flight exit (the same transaction may exit again under its id
once an instance ended), while the exit game's head state still needs it (the exit open, the
exit canonical with no older competitor known, the piggyback still set), so one a
reorganisation dropped is sent again, and one someone else made first is not sent. The log's record of the challenge, which
the follower applies after its confirmations, is what ends it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from web3.exceptions import BlockNotFound, TransactionNotFound

from adapters.ethereum.chain import ChainError, call_args
from adapters.ethereum.client import RootChainClient, inputs_and_witnesses, tx_type_of
from adapters.ethereum.contracts import SETTLEMENT_TX_TYPE
from ledger.blocks import BlockIndex, SpentBy
from ledger.state import CHILD_BLOCK_INTERVAL, InFlightExit, StandardExit, State
from ledger.store import EventStore
from proofs import merkle, order
from proofs.fraud import DoubleSpendProof, InvalidExitProof, Spend
from proofs.keccak import keccak256
from proofs.payment import MAX_INPUTS, decode_utxo_pos, encode_utxo_pos, unsigned_bytes

# Fields of the exit game's StandardExit and InFlightExit structs (plasma-contracts' order).
EXITABLE = 0
IS_CANONICAL, STARTED, EXIT_MAP, OLDEST_COMPETITOR = 0, 1, 2, -1
NOT_INCLUDED = 2**256 - 1  # the exit game's position for a competitor shown without inclusion (position 0)


@attrs.frozen
class Report:
    condition: str
    detail: str
    exit_id: int | None = None
    blknum: int | None = None
    challenged: bool = False  # this watcher's challenge of it is on the root chain's canonical blocks


class Watcher:
    def __init__(self, store: EventStore, client: RootChainClient, challenger: str | None = None) -> None:
        self.store, self.client, self.challenger = store, client, challenger
        self.index = BlockIndex()
        self._verified_blocks = 0  # child blocks below this number match the log
        self._sent: dict[tuple, bytes] = {}  # challenge -> the hash of our last transaction sending it
        self._witnesses: dict[bytes, list[bytes]] = {}  # in-flight tx hash -> its signatures
        # Spends by SETTLEMENTs in the log's blocks (unsigned: the index of signed spends lacks them)
        self._settled: dict[int, SpentBy] = {}
        self._scanned: set[int] = set()  # blocks whose settlements are in _settled

    def check(self, state: State) -> list[Report]:
        """Report every byzantine condition now visible; challenge invalid exits when a challenger is set."""
        self.index.follow(self.store)
        self._find_settlements()
        return [*self._blocks(state), *self._standard_exits(state), *self._in_flight_exits(state)]

    def _blocks(self, state: State) -> list[Report]:
        framework = self.client.root.framework.functions
        reports = []
        blknum = max(self._verified_blocks, CHILD_BLOCK_INTERVAL)
        next_child = framework.nextChildBlock().call()
        for blknum in range(blknum, next_child, CHILD_BLOCK_INTERVAL):
            root = bytes(framework.blocks(blknum).call()[0])
            sealed = state.blocks.get(blknum)
            if sealed is None:
                reports.append(Report("block_withholding", f"the root chain holds block {blknum}, the log does not", blknum=blknum))
            elif sealed.root != root:
                reports.append(Report("invalid_block", f"block {blknum} root 0x{root.hex()} was not sealed", blknum=blknum))
            elif not reports:
                self._verified_blocks = blknum + CHILD_BLOCK_INTERVAL
        return reports

    def _standard_exits(self, state: State) -> list[Report]:
        reports = []
        for exit_id, record in state.exits.items():
            if not isinstance(record, StandardExit) or record.status != "pending" or record.backed:
                continue
            proof = self._invalid_exit_proof(exit_id, record)
            if proof is None:
                reports.append(Report("unchallenged_exit", f"exit {exit_id} of {record.utxo_pos}: no known spend", exit_id))
                continue
            challenged = self._challenge(exit_id, proof)
            reports.append(Report("invalid_exit", f"exit {exit_id} of spent output {record.utxo_pos}", exit_id,
                                  challenged=challenged))
        return reports

    def _find_settlements(self) -> None:
        """Index the order outputs each SETTLEMENT of a sealed block spends: a settlement carries no
        signature, the record of each input is what the exit game checks instead."""
        for blknum, leaves in self.index.blocks.items():
            if blknum in self._scanned:
                continue
            self._scanned.add(blknum)
            for txindex, leaf in enumerate(leaves):
                if tx_type_of(leaf) == SETTLEMENT_TX_TYPE:
                    for input_index, pos in enumerate(order.decode_settlement(leaf).inputs):
                        self._settled[pos] = SpentBy(leaf, input_index, encode_utxo_pos(blknum, txindex, 0))

    def _spent(self, utxo_pos: int) -> SpentBy | None:
        """The log's spend of `utxo_pos`: a signed one (payment, ...) or a settlement's."""
        return self.index.spends.get(utxo_pos) or self._settled.get(utxo_pos)

    def _spend(self, utxo_pos: int) -> Spend:
        """The log's spend of `utxo_pos` as the exit game takes it: unsigned, with its witness."""
        spent = self._spent(utxo_pos)
        assert spent is not None
        if tx_type_of(spent.signed_tx) == SETTLEMENT_TX_TYPE:  # a block's leaf: unsigned, no witness
            return Spend(spent.signed_tx, spent.input_index, b"")
        inputs, witnesses = inputs_and_witnesses(spent.signed_tx)  # a payment's or an ORDER's
        index = inputs.index(utxo_pos)
        return Spend(unsigned_bytes(spent.signed_tx), index, witnesses[index])

    def _invalid_exit_proof(self, exit_id: int, record: StandardExit) -> InvalidExitProof | None:
        spent = self._spent(record.utxo_pos)
        try:
            exiting_tx, _ = self.index.exit_data(record.utxo_pos)
        except KeyError:
            return None
        if spent is None:
            return None
        return InvalidExitProof(exit_id, record.utxo_pos, exiting_tx, self._spend(record.utxo_pos))

    def _challenge(self, exit_id: int, proof: InvalidExitProof) -> bool:
        return self._send(("standard", exit_id), lambda: bool(self._standard_exit(proof.exiting_tx, exit_id)[EXITABLE]),
                          lambda: self.client.challenge_standard_exit(self.challenger, proof))

    def _in_flight_exits(self, state: State) -> list[Report]:
        reports = []
        for exit_id, record in state.exits.items():
            if isinstance(record, InFlightExit) and not record.ended:
                reports += self._in_flight(exit_id, record) + self._spent_outputs(state, exit_id, record)
                reports += self._wrongly_challenged(state, exit_id, record)
        return reports

    def _in_flight(self, exit_id: int, record: InFlightExit) -> list[Report]:
        reports = []
        for input_index, (pos, _) in enumerate(record.inputs):
            proof = self._double_spend(record, input_index)
            if proof is None:
                continue
            if record.canonical:
                challenged = self._challenge_canonicity(exit_id, record, proof)
                reports.append(Report("noncanonical_ife", f"input {pos} of in-flight exit {exit_id} is spent elsewhere",
                                      exit_id, challenged=challenged))
            if (False, input_index) in record.piggybacked:
                challenged = self._send(("input", *_instance(exit_id, record), input_index), self._piggybacked(exit_id, record, input_index),
                                        lambda: self.client.challenge_input_spent(self.challenger, proof))
                reports.append(Report("invalid_piggyback", f"piggybacked input {pos} is spent", exit_id, challenged=challenged))
        taken = record.piggybacked | record.withdrawn
        open_slots = [("input", i) for i in range(len(record.inputs)) if (False, i) not in taken]
        open_slots += [("output", i) for i in range(len(record.outputs)) if (True, i) not in taken]
        if open_slots:
            reports.append(Report("piggyback_available", f"in-flight exit {exit_id}: {open_slots}", exit_id))
        return reports

    def _wrongly_challenged(self, state: State, exit_id: int, record: InFlightExit) -> list[Report]:
        """A canonicity challenge of a transaction the log holds in a block: its competitor is
        a double-spend signature never included before it (the contract checks the order and
        refuses a competitor that does not spend the exit's own input), so the inclusion wins.
        Competitor positions only go down, so one response per exit is all that can succeed."""
        tx_pos = state.tx_positions.get(record.tx_hash)
        if record.canonical or tx_pos is None:
            return []
        blknum, txindex, _ = decode_utxo_pos(tx_pos)
        if blknum > state.submitted_blknum:  # the contract could not see the inclusion yet
            return [Report("invalid_ife_challenge", f"in-flight exit {exit_id} is in unsubmitted block {blknum}", exit_id)]
        inclusion = merkle.proof(self.index.leaves(blknum), txindex)
        responded = self._send(("respond", *_instance(exit_id, record)), lambda: self._non_canonical(exit_id, record),
                               lambda: self.client.respond_to_non_canonical(self.challenger, record.tx, tx_pos, inclusion))
        return [Report("invalid_ife_challenge", f"in-flight exit {exit_id} is included at {tx_pos}", exit_id,
                       challenged=responded)]

    def _spent_outputs(self, state: State, exit_id: int, record: InFlightExit) -> list[Report]:
        """Piggybacked outputs of an included in-flight transaction that the log shows spent."""
        tx_pos = state.tx_positions.get(record.tx_hash)
        reports = []
        for is_output, index in sorted(record.piggybacked):
            pos = tx_pos + index if is_output and tx_pos is not None else None
            if pos is None or self._spent(pos) is None:
                continue
            spend = self._spend(pos)
            challenged = self._send(("output", *_instance(exit_id, record), index), self._piggybacked(exit_id, record, MAX_INPUTS + index),
                                    lambda: self._challenge_output_spent(record, tx_pos, spend))
            reports.append(Report("invalid_piggyback", f"piggybacked output {pos} is spent", exit_id, challenged=challenged))
        return reports

    def _challenge_output_spent(self, record: InFlightExit, tx_pos: int, spend: Spend) -> Any:
        blknum, txindex, _ = decode_utxo_pos(tx_pos)
        inclusion = merkle.proof(self.index.leaves(blknum), txindex)
        output_pos = inputs_and_witnesses(spend.tx)[0][spend.input_index]
        return self.client.challenge_output_spent(self.challenger, record.tx, inclusion, output_pos, spend)

    def _double_spend(self, record: InFlightExit, input_index: int) -> DoubleSpendProof | None:
        """A proof that input `input_index` of the in-flight transaction is spent by another one."""
        pos = record.inputs[input_index][0]
        if self._spent(pos) is None:
            return None
        spend = self._spend(pos)
        if keccak256(spend.tx) == record.tx_hash:
            return None
        input_tx, _ = self.index.exit_data(pos)
        signature = self._in_flight_signature(record, input_index)
        in_flight = Spend(record.tx, input_index, signature)
        return DoubleSpendProof(pos, input_tx, in_flight, spend)

    def _in_flight_signature(self, record: InFlightExit, input_index: int) -> bytes:
        """The witness the exit's start call carried (the ledger keeps only the tx, v1.0.4's
        InFlightExitStarted only its hash); read from the chain once per exit, as a confirmed
        transaction does not change."""
        if record.tx_hash not in self._witnesses:
            game = self.client.game(record.tx)
            logs = game.events.InFlightExitStarted().get_logs(from_block=0, argument_filters={"txHash": record.tx_hash})
            if not logs:
                raise LookupError(f"no InFlightExitStarted for 0x{record.tx_hash.hex()}")
            params = call_args(self.client.w3, game, logs[0].transactionHash, "startInFlightExit")
            if params is None:
                raise LookupError(f"the in-flight exit of 0x{record.tx_hash.hex()} was not started by a direct call")
            self._witnesses[record.tx_hash] = [bytes(w) for w in params["args"]["inFlightTxWitnesses"]]
        return self._witnesses[record.tx_hash][input_index]

    def _challenge_canonicity(self, exit_id: int, record: InFlightExit, proof: DoubleSpendProof) -> bool:
        position, inclusion = self._competitor(proof)
        ranked = position or NOT_INCLUDED

        def needed() -> bool:  # as the exit game checks: canonical, and no competitor as old is known
            ife = self._in_flight_exit(exit_id, record)
            return bool(ife[IS_CANONICAL]) and (ife[OLDEST_COMPETITOR] == 0 or ife[OLDEST_COMPETITOR] > ranked)

        return self._send(("canonicity", *_instance(exit_id, record)), needed,
                          lambda: self.client.challenge_not_canonical(self.challenger, proof, position, inclusion))

    def _competitor(self, proof: DoubleSpendProof) -> tuple[int, bytes]:
        """The competitor's position and inclusion proof when the root chain holds the log's root
        for its block; else position 0 and no proof, a competitor not included (as elixir-omg sends
        one it knows outside a valid block), which the exit game ranks after any included one: an
        inclusion against another root (a withheld or wrong block) would revert."""
        spent = self._spent(proof.utxo_pos)
        assert spent is not None
        if not spent.tx_pos:
            return 0, b""
        blknum, txindex, _ = decode_utxo_pos(spent.tx_pos)
        leaves = self.index.leaves(blknum)
        if bytes(self.client.root.framework.functions.blocks(blknum).call()[0]) != merkle.root(leaves):
            return 0, b""
        return spent.tx_pos, merkle.proof(leaves, txindex)

    def _standard_exit(self, exiting_tx: bytes, exit_id: int) -> Any:
        """The exit as the exit game of its output's transaction (payment, ORDER, SETTLEMENT) holds it."""
        return self.client.game(exiting_tx).functions.standardExits([exit_id]).call()[0]

    def _in_flight_exit(self, exit_id: int, record: InFlightExit) -> Any:
        """The exit as the exit game of its transaction's type holds it."""
        return self.client.game(record.tx).functions.inFlightExits([exit_id]).call()[0]

    def _non_canonical(self, exit_id: int, record: InFlightExit) -> bool:
        """Whether the exit game's head holds the exit open and non-canonical (an ended one reads as empty)."""
        ife = self._in_flight_exit(exit_id, record)
        return bool(ife[STARTED]) and not ife[IS_CANONICAL]

    def _piggybacked(self, exit_id: int, record: InFlightExit, bit: int) -> Callable[[], bool]:
        """Whether the exit game's head still holds piggyback `bit` (inputs 0-3, outputs 4-7)."""
        return lambda: bool(self._in_flight_exit(exit_id, record)[EXIT_MAP] >> bit & 1)

    def _send(self, key: tuple, needed: Callable[[], bool], challenge: Callable[[], Any]) -> bool:
        """Send a challenge whenever the exit game's head still `needed` it: none yet, ours dropped
        by a reorganisation, or undone by a response; not once someone else's holds or the exit is
        over. A revert is tried again at the next check. True while our last one is on the chain."""
        if self.challenger is None:
            return False
        if needed():
            try:
                self._sent[key] = bytes(challenge().transactionHash)
            except ChainError:
                self._sent.pop(key, None)
        return self._on_chain(key)

    def _on_chain(self, key: tuple) -> bool:
        """Whether our last transaction for `key` is in a canonical block (a reorganisation drops it)."""
        if key not in self._sent:
            return False
        w3 = self.client.w3
        try:  # a receipt may outlive its block on a node's index: the block must be the canonical one
            receipt = w3.eth.get_transaction_receipt(self._sent[key])
            return receipt.status == 1 and w3.eth.get_block(receipt.blockNumber).hash == receipt.blockHash
        except (TransactionNotFound, BlockNotFound):
            return False


def _instance(exit_id: int, record: InFlightExit) -> tuple[int, int]:
    """Which in-flight exit a challenge is of: its id and how many ended under it before. A
    restarted exit is a new one, whatever was sent against an earlier instance."""
    return exit_id, record.restarts
