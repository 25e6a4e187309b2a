"""Root-chain rules: block submission and the exit game (standard and in-flight exits).

These events record what the root chain did, so a rule refuses only what cannot be a
root-chain fact (an unknown exit, a piggyback twice, a payout never piggybacked); an
exit the ledger disagrees with is recorded as unbacked, for the watcher to challenge.

Accounting follows elixir-omg's OMG.State: an exit takes its output off the child
chain for good (`exiting`; a payment spending it is refused with `utxo_exiting`),
whether or not the exit is later paid; its value stays `in_exit` until the root chain
pays it (`exited`). So per token:
deposited = unspent + open-block fees + fees collected + in_exit + exited.
A payout the ledger cannot back (a spent or unknown output) adds to `unbacked`: value
the vault paid beyond what the child chain owes, which only an unchallenged invalid
exit can cause.

A payout the receiver refused stays in the vault (`unclaimed`, per receiver and token)
until it claims it; the exit is paid all the same. So a vault holds
deposited - exited - unbacked + unclaimed.
"""
from __future__ import annotations

from collections.abc import Iterable

import attrs
from immutables import Map

from ledger.errors import Rejected
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
)
from ledger.plasma import decode_output_tx, params_of
from ledger.state import CHILD_BLOCK_INTERVAL, Effects, InFlightExit, StandardExit, State, add_to, advance
from proofs.keccak import keccak256
from proofs.payment import Output, decode_utxo_pos, encode_utxo_pos

Lock = tuple[int, Output]


def apply_block_submitted(state: State, event: BlockSubmitted) -> State:
    """The root chain holds a root for the next child block. A root this ledger did not seal
    (a withheld or forged block) is still a root-chain fact: it is kept as foreign."""
    params_of(state)
    expected = state.submitted_blknum + CHILD_BLOCK_INTERVAL
    if event.blknum != expected:
        raise Rejected("wrong_block_number", f"next block to submit is {expected}, got {event.blknum}")
    block = state.blocks.get(event.blknum)
    foreign = state.foreign_roots
    if block is None or block.root != event.root:
        foreign = foreign.set(event.blknum, event.root)
    return advance(state, submitted_blknum=event.blknum, foreign_roots=foreign, effects=Effects(kind=BlockSubmitted.KIND))


def apply_root_chain_synced(state: State, event: RootChainSynced) -> State:
    """Moves the follower's cursor forward; a cursor that does not advance means a replay."""
    params_of(state)
    if event.eth_block <= state.root_cursor[0]:
        raise Rejected("root_facts_replayed", f"facts up to Ethereum block {state.root_cursor[0]} are already in")
    return advance(state, root_cursor=(event.eth_block, event.eth_hash), effects=Effects(kind=RootChainSynced.KIND))


# --- taking outputs off the child chain and paying them --------------------------

def _holds(state: State, pos: int, output: Output) -> bool:
    """The ledger holds `output` at `pos`: unspent, or already taken off by an exit."""
    return state.utxos.get(pos) == output or state.exiting.get(pos) == output


def _lock(state: State, locks: Iterable[Lock]) -> dict:
    """Changes that move unspent outputs to `exiting`; an exiting order output is no longer
    an open order (no settlement may fill it)."""
    utxos, exiting, orders = state.utxos.mutate(), state.exiting.mutate(), state.orders
    unspent, in_exit = state.unspent, state.in_exit
    for pos, output in locks:
        del utxos[pos]
        exiting[pos] = output
        unspent = add_to(unspent, output.token, -output.amount)
        in_exit = add_to(in_exit, output.token, output.amount)
        if pos in orders:
            orders = orders.delete(pos)
    return dict(utxos=utxos.finish(), exiting=exiting.finish(), unspent=unspent, in_exit=in_exit, orders=orders)


def _unspent_locks(state: State, candidates: Iterable[Lock]) -> tuple[Lock, ...]:
    return tuple((pos, output) for pos, output in candidates if state.utxos.get(pos) == output)


def _pay(state: State, pos: int | None, output: Output) -> tuple[dict, Effects]:
    """Changes for the root chain paying `output`: from `exiting` when the ledger holds it there."""
    if pos is not None and state.exiting.get(pos) == output:
        changes = dict(
            exiting=state.exiting.delete(pos),
            spent=state.spent.set(pos, state.event_count),
            in_exit=add_to(state.in_exit, output.token, -output.amount),
            exited=add_to(state.exited, output.token, output.amount),
        )
        return changes, Effects(exited=((pos, output),))
    return dict(unbacked=add_to(state.unbacked, output.token, output.amount)), Effects(
        unbacked=((output.token, output.amount),)
    )


# --- standard exits ---------------------------------------------------------------

def _standard(state: State, exit_id: int) -> StandardExit:
    record = state.exits.get(exit_id)
    if not isinstance(record, StandardExit):
        raise Rejected("exit_not_found", f"no standard exit {exit_id}")
    if record.status != "pending":
        raise Rejected("exit_not_pending", f"exit {exit_id} is {record.status}")
    return record


def apply_exit_started(state: State, event: ExitStarted) -> State:
    """A standard exit takes its output off the child chain if the ledger holds it unspent."""
    params_of(state)
    if event.exit_id in state.exits:
        raise Rejected("exit_already_started", f"exit {event.exit_id}")
    oindex = _output_index(event.utxo_pos)
    outputs = decode_output_tx(event.output_tx).outputs
    if oindex >= len(outputs):
        raise Rejected("malformed_event", f"output {oindex} of a {len(outputs)}-output transaction")
    return start_standard_exit(state, event.exit_id, event.utxo_pos, outputs[oindex])


def _output_index(pos: int) -> int:
    """The output index of a position the root chain reported; outside PosLib's range it names no output."""
    try:
        return decode_utxo_pos(pos)[2]
    except ValueError as exc:
        raise Rejected("malformed_event", str(exc)) from None


def start_standard_exit(state: State, exit_id: int, utxo_pos: int, output: Output) -> State:
    """The accounting of a standard exit once its output is decoded: recorded as backed or
    not, and taken off the child chain if unspent (no hashing here, so the symbolic
    contracts run it on symbolic amounts)."""
    record = StandardExit(utxo_pos, output, backed=_holds(state, utxo_pos, output))
    locks = _unspent_locks(state, [(utxo_pos, output)])
    return advance(
        state,
        exits=state.exits.set(exit_id, record),
        **_lock(state, locks),
        effects=Effects(kind=ExitStarted.KIND, locked=locks),
    )


def apply_exit_challenged(state: State, event: ExitChallenged) -> State:
    """The exit is deleted on the root chain; its output stays off the child chain."""
    record = _standard(state, event.exit_id)
    exits = state.exits.set(event.exit_id, attrs.evolve(record, status="challenged"))
    return advance(state, exits=exits, effects=Effects(kind=ExitChallenged.KIND))


def apply_exit_processed(state: State, event: ExitProcessed) -> State:
    """The exit's turn in the queue: paid to its owner, or omitted (challenged or already exited)."""
    record = state.exits.get(event.exit_id)
    challenged = isinstance(record, StandardExit) and record.status == "challenged"
    if not (challenged and not event.paid):
        record = _standard(state, event.exit_id)
    changes, fx = _pay(state, record.utxo_pos, record.output) if event.paid else ({}, Effects())
    exits = state.exits.set(event.exit_id, attrs.evolve(record, status="paid" if event.paid else "omitted"))
    return advance(state, exits=exits, **changes, effects=attrs.evolve(fx, kind=ExitProcessed.KIND))


# --- in-flight exits (MoreVP) ------------------------------------------------------

def _in_flight(state: State, exit_id: int) -> InFlightExit:
    record = state.exits.get(exit_id)
    if not isinstance(record, InFlightExit):
        raise Rejected("exit_not_found", f"no in-flight exit {exit_id}")
    if record.ended:
        raise Rejected("exit_ended", f"in-flight exit {exit_id} has ended")
    return record


def _previous_instance(state: State, event: InFlightExitStarted) -> InFlightExit | None:
    """The ended exit a start restarts, if any. Only an ended exit of the same transaction
    restarts: the exit game derives the id from the transaction."""
    previous = state.exits.get(event.exit_id)
    if previous is not None and not (isinstance(previous, InFlightExit) and previous.ended and previous.tx == event.tx):
        raise Rejected("exit_already_started", f"exit {event.exit_id}")
    return previous


def _restarted(record: InFlightExit, previous: InFlightExit | None) -> InFlightExit:
    """`record` as the next instance under its id. What the id's earlier instances consumed and
    left in reserve stays the id's: the exit game counts inputs finalized by this id as its own,
    so a later instance may pay outputs an earlier one left unpaid."""
    if previous is None:
        return record
    return attrs.evolve(record, reserve=previous.reserve, inputs_consumed=previous.inputs_consumed,
                        restarts=previous.restarts + 1)


def _input_outputs(event: InFlightExitStarted, inputs: tuple[int, ...]) -> tuple[Lock, ...]:
    if tuple(event.input_positions) != inputs or len(event.input_txs) != len(inputs):
        raise Rejected("malformed_event", "one input transaction and position per input, in input order")
    if len(set(inputs)) != len(inputs):  # the exit game refuses it (verifyNoInputSpentMoreThanOnce)
        raise Rejected("duplicate_inputs", "an input appears twice")
    found = []
    for pos, raw in zip(inputs, event.input_txs):
        outputs = decode_output_tx(raw).outputs
        oindex = _output_index(pos)
        if oindex >= len(outputs):
            raise Rejected("malformed_event", f"input {pos} names a missing output")
        found.append((pos, outputs[oindex]))
    return tuple(found)


def apply_in_flight_exit_started(state: State, event: InFlightExitStarted) -> State:
    """As elixir-omg: the in-flight transaction's inputs the ledger holds leave the child chain.
    A start under the id of an ended exit of the same transaction is that exit restarted."""
    params_of(state)
    previous = _previous_instance(state, event)
    tx = decode_output_tx(event.tx)  # payments, and ORDER and SETTLEMENT txs (their exit games are the same code)
    inputs = _input_outputs(event, tx.inputs)
    record = _restarted(InFlightExit(event.tx, keccak256(event.tx), inputs, tx.outputs), previous)
    locks = _unspent_locks(state, inputs)
    return advance(
        state,
        exits=state.exits.set(event.exit_id, record),
        **_lock(state, locks),
        effects=Effects(kind=InFlightExitStarted.KIND, locked=locks),
    )


def _slot(record: InFlightExit, is_output: bool, index: int) -> Output:
    items = record.outputs if is_output else tuple(output for _, output in record.inputs)
    if index >= len(items):
        raise Rejected("malformed_event", f"{'output' if is_output else 'input'} {index} does not exist")
    return items[index]


def _output_pos(state: State, record: InFlightExit, index: int) -> int | None:
    """Position of the in-flight transaction's output `index`, if the ledger holds the
    transaction: in a sealed block, or in the open one (whose outputs are spendable already,
    so a piggyback must take them off too, or the root chain pays what the child chain keeps)."""
    tx_pos = state.tx_positions.get(record.tx_hash)
    if tx_pos is not None:
        return tx_pos + index
    for txindex, leaf in enumerate(state.open_block_txs):
        if leaf == record.tx:
            return encode_utxo_pos(state.next_child_blknum, txindex, index)
    return None


def apply_piggybacked(state: State, event: InFlightExitPiggybacked) -> State:
    """A piggybacked output of an included transaction leaves the child chain too."""
    record = _in_flight(state, event.exit_id)
    output = _slot(record, event.is_output, event.index)
    key = (event.is_output, event.index)
    if key in record.piggybacked or key in record.withdrawn:
        raise Rejected("already_piggybacked", f"exit {event.exit_id} {key}")
    locks: tuple[Lock, ...] = ()
    if event.is_output and (pos := _output_pos(state, record, event.index)) is not None:
        locks = _unspent_locks(state, [(pos, output)])
    exits = state.exits.set(event.exit_id, attrs.evolve(record, piggybacked=record.piggybacked | {key}))
    return advance(state, exits=exits, **_lock(state, locks),
                   effects=Effects(kind=InFlightExitPiggybacked.KIND, locked=locks))


def _set_canonical(state: State, exit_id: int, canonical: bool, kind: str) -> State:
    record = _in_flight(state, exit_id)
    exits = state.exits.set(exit_id, attrs.evolve(record, canonical=canonical))
    return advance(state, exits=exits, effects=Effects(kind=kind))


def apply_ife_challenged(state: State, event: InFlightExitChallenged) -> State:
    return _set_canonical(state, event.exit_id, False, InFlightExitChallenged.KIND)


def apply_ife_responded(state: State, event: InFlightExitResponded) -> State:
    return _set_canonical(state, event.exit_id, True, InFlightExitResponded.KIND)


def apply_piggyback_challenged(state: State, event: PiggybackChallenged) -> State:
    """A piggyback shown spent is dropped; what it took off the child chain stays off."""
    record = _in_flight(state, event.exit_id)
    key = (event.is_output, event.index)
    if key not in record.piggybacked:
        raise Rejected("not_piggybacked", f"exit {event.exit_id} {key}")
    exits = state.exits.set(event.exit_id, attrs.evolve(record, piggybacked=record.piggybacked - {key}))
    return advance(state, exits=exits, effects=Effects(kind=PiggybackChallenged.KIND))


def _consume_inputs(state: State, record: InFlightExit) -> tuple[dict, InFlightExit]:
    """A canonical, unincluded transaction's held inputs back its outputs' payouts: the
    root chain finalizes every input, so their value moves into the exit's reserve."""
    exiting, reserve, spent = state.exiting, record.reserve, state.spent
    for pos, output in record.inputs:
        if exiting.get(pos) == output:
            exiting, spent = exiting.delete(pos), spent.set(pos, state.event_count)
            reserve = add_to(reserve, output.token, output.amount)
    return dict(exiting=exiting, spent=spent), attrs.evolve(record, reserve=reserve, inputs_consumed=True)


def _pay_from_reserve(state: State, record: InFlightExit, output: Output, changes: dict) -> tuple[dict, Effects, InFlightExit]:
    covered = min(output.amount, record.reserve.get(output.token, 0))
    record = attrs.evolve(record, reserve=add_to(record.reserve, output.token, -covered))
    changes = dict(
        changes,
        in_exit=add_to(state.in_exit, output.token, -covered),
        exited=add_to(state.exited, output.token, covered),
    )
    short = output.amount - covered
    if short:
        changes["unbacked"] = add_to(state.unbacked, output.token, short)
    return changes, Effects(unbacked=((output.token, short),) if short else ()), record


def apply_withdrawn(state: State, event: InFlightExitWithdrawn) -> State:
    """Processing paid a piggybacked input (non-canonical) or output (canonical)."""
    record = _in_flight(state, event.exit_id)
    key = (event.is_output, event.index)
    if key not in record.piggybacked:
        raise Rejected("not_piggybacked", f"exit {event.exit_id} {key}")
    output = _slot(record, event.is_output, event.index)
    pos = _output_pos(state, record, event.index) if event.is_output else record.inputs[event.index][0]
    if event.is_output and pos is None:
        changes: dict = {}
        if not record.inputs_consumed:
            changes, record = _consume_inputs(state, record)
        changes, fx, record = _pay_from_reserve(state, record, output, changes)
    else:
        changes, fx = _pay(state, pos, output)
    record = attrs.evolve(record, piggybacked=record.piggybacked - {key}, withdrawn=record.withdrawn | {key})
    return advance(state, exits=state.exits.set(event.exit_id, record), **changes,
                   effects=attrs.evolve(fx, kind=InFlightExitWithdrawn.KIND))


def apply_ife_ended(state: State, event: InFlightExitDeleted | InFlightExitFinalized) -> State:
    """The exit game emptied the exit: its record closes, so the same transaction may exit
    again under its id. What it took off the child chain stays off, and its reserve stays
    the id's. Deletion is only of an exit never piggybacked (the exit game refuses one queued)."""
    record = _in_flight(state, event.exit_id)
    if isinstance(event, InFlightExitDeleted) and (record.piggybacked or record.withdrawn):
        raise Rejected("exit_piggybacked", f"in-flight exit {event.exit_id} is piggybacked: only processing ends it")
    exits = state.exits.set(event.exit_id, attrs.evolve(record, ended=True))
    return advance(state, exits=exits, effects=Effects(kind=event.KIND))


def reserves(state: State) -> Map:
    """Per token, the value in-flight exits hold in reserve (part of `in_exit`)."""
    totals: Map = Map()
    for record in state.exits.values():
        if isinstance(record, InFlightExit):
            for token, amount in record.reserve.items():
                totals = add_to(totals, token, amount)
    return totals


# --- payouts the receiver refused ----------------------------------------------------

def apply_payout_failed(state: State, event: PayoutFailed) -> State:
    """The vault kept the payout: it owes it to the receiver, over and above what it holds for the child chain."""
    params_of(state)
    key = (event.receiver, event.token)
    unclaimed = state.unclaimed
    if event.amount:  # a zero payout that failed owes nothing: no entry to claim
        unclaimed = unclaimed.set(key, unclaimed.get(key, 0) + event.amount)
    return advance(state, unclaimed=unclaimed, effects=Effects(kind=PayoutFailed.KIND))


def apply_payout_claimed(state: State, event: PayoutClaimed) -> State:
    """A claim takes all a receiver is owed in a token; any other amount is not what the vault did."""
    params_of(state)
    key = (event.receiver, event.token)
    owed = state.unclaimed.get(key, 0)
    if event.amount != owed or owed == 0:
        raise Rejected("claim_not_owed", f"0x{event.receiver.hex()} is owed {owed} of 0x{event.token.hex()}, "
                       f"claimed {event.amount}")
    return advance(state, unclaimed=state.unclaimed.delete(key), effects=Effects(kind=PayoutClaimed.KIND))


def unclaimed_by_token(state: State) -> Map:
    """Per token, what the vaults hold for refused payouts, not yet claimed."""
    totals: Map = Map()
    for (_, token), amount in state.unclaimed.items():
        totals = add_to(totals, token, amount)
    return totals
