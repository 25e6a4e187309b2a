"""The invariant catalogue: what must hold after every event, each with its source.

A transition check is `(before, event, after) -> detail | None`; a state check is
`(state) -> detail | None`. A "full" state check costs O(size of the state), so
the runtime hook runs it on a cadence and at the end of an audit.

Independence: a check that shares code with the rule it guards cannot see the rule's
bugs. So the checks import no rule helper from `ledger/` (only state types, events and
constants; tests/specs/test_catalogue.py enforces it) and never trust the rule's
`Effects`: they re-derive what an event must do from the event's own bytes and the
state before it, restating the rule from its source (the specs cited below), and compare
with the state after. They share only the `proofs` codecs (RLP, EIP-712 hashing, UTXO
positions) and primitives (keccak, secp256k1 recovery).
"""
from __future__ import annotations

import functools
from fractions import Fraction
from collections.abc import Callable, Iterable
from typing import Literal

import attrs
import coincurve
from immutables import Map

from ledger.events import (
    BlockCommitted,
    BlockSealed,
    Deposit,
    Equivocation,
    Event,
    ExitProcessed,
    ExitStarted,
    FeeCollected,
    FeeEpochClosed,
    InFlightExitDeleted,
    InFlightExitFinalized,
    InFlightExitPiggybacked,
    InFlightExitStarted,
    InFlightExitWithdrawn,
    Payment,
    PayoutClaimed,
    PayoutFailed,
    StakeBonded,
    StakeWithdrawn,
    TradingFeeVoted,
    UnbondingStarted,
    OrderPlaced,
    BatchSettled,
)
from ledger.staking import STAKE_RETURN_METADATA, STAKING_POOL
from ledger.state import CHILD_BLOCK_INTERVAL, InFlightExit, StandardExit, Staking, State, Unbonding, Validator
from ledger.witnesses import prefetched
from proofs.eip712 import SECP256K1_HALF_N, signing_hash_with_separator
from proofs.errors import DecodeError
from proofs.keccak import address_of_public_key, keccak256
from proofs.order import (
    OUTPUT_TYPE_ORDER,
    OrderTx,
    SettlementTx,
    decode_order,
    decode_settlement,
    decode_transaction,
)
from proofs.order import signing_hash_with_separator as order_signing_hash
from proofs.payment import (
    MAX_OUTPUT_INDEX,
    MAX_OUTPUTS,
    PAYMENT_TX_TYPE,
    OUTPUT_TYPE_PAYMENT,
    Output,
    PaymentTx,
    decode,
    decode_utxo_pos,
    encode,
    encode_utxo_pos,
)

TransitionCheck = Callable[[State, Event, State], "str | None"]
StateCheck = Callable[[State], "str | None"]
Position = tuple[int, Output]


@attrs.frozen
class Invariant:
    id: str
    statement: str
    source: str
    scope: Literal["transition", "state", "full"]
    check: Callable


def _hex(token: bytes) -> str:
    return "0x" + token.hex()


def _totals(outputs: Iterable[Output]) -> dict[bytes, int]:
    totals: dict[bytes, int] = {}
    for output in outputs:
        totals[output.token] = totals.get(output.token, 0) + output.amount
    return totals


def _change(before: Map, after: Map, token: bytes) -> int:
    return after.get(token, 0) - before.get(token, 0)


def _nonzero(totals: Map | dict) -> dict:
    return {token: amount for token, amount in totals.items() if amount}


def _same(before: Map, after: Map) -> bool:
    return after is before or _nonzero(after) == _nonzero(before)


@functools.lru_cache(maxsize=16)
def _tx(raw: bytes) -> PaymentTx | None:
    """The transaction in an event, decoded once for all the checks of that event."""
    try:
        return decode(raw)
    except DecodeError:
        return None


@functools.lru_cache(maxsize=16)
def _order_tx(raw: bytes) -> OrderTx | None:
    try:
        return decode_order(raw)
    except DecodeError:
        return None


@functools.lru_cache(maxsize=16)
def _settlement_tx(raw: bytes) -> SettlementTx | None:
    try:
        return decode_settlement(raw)
    except DecodeError:
        return None


def _dex_tx(event: OrderPlaced | BatchSettled) -> OrderTx | SettlementTx | None:
    return _order_tx(event.tx) if isinstance(event, OrderPlaced) else _settlement_tx(event.tx)


def _mint_position(state: State, nth: int = 0) -> int:
    """Where the `nth` output the ledger mints in `state`'s open block goes (a new one-output leaf)."""
    return encode_utxo_pos(state.next_child_blknum, len(state.open_block_txs) + nth, 0)


def _minted(owner: bytes, token: bytes, amount: int) -> Output:
    return Output(OUTPUT_TYPE_PAYMENT, owner, token, amount)


# --- restated: the active validator set (ledger/staking.py's spec, Cosmos x/staking) -----

def _active_set(staking: Staking) -> list[tuple[bytes, Validator]]:
    """The `max_validators` largest stakes among validators with stake, neither jailed nor
    tombstoned; an equal stake ranks the lower address first; listed by address."""
    by_address = sorted((a, v) for a, v in staking.validators.items() if v.bonded > 0 and not (v.jailed or v.tombstoned))
    ranked = sorted(by_address, key=lambda item: item[1].bonded, reverse=True)  # stable: ties keep address order
    chosen = {address for address, _ in ranked[: staking.params.max_validators]}
    return [(address, v) for address, v in by_address if address in chosen]


# --- restated: OMG's block Merkle tree (plasma-contracts Merkle.sol) -------------------
# leaf = keccak(0x00 || tx), node = keccak(0x01 || left || right), depth 16, an empty
# position holds the leaf hash of 32 zero bytes.

TREE_DEPTH = 16


def _empty_subtrees() -> tuple[bytes, ...]:
    hashes = [keccak256(b"\x00" + bytes(32))]
    while len(hashes) <= TREE_DEPTH:
        hashes.append(keccak256(b"\x01" + hashes[-1] + hashes[-1]))
    return tuple(hashes)


EMPTY_SUBTREE = _empty_subtrees()  # EMPTY_SUBTREE[h]: the root of an empty subtree of height h


def block_root(leaves: Iterable[bytes]) -> bytes:
    """The root of a block of transactions, level by level from the leaves up."""
    level = [keccak256(b"\x00" + leaf) for leaf in leaves]
    for height in range(TREE_DEPTH):
        if len(level) % 2:
            level.append(EMPTY_SUBTREE[height])
        level = [keccak256(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0] if level else EMPTY_SUBTREE[TREE_DEPTH]


# --- restated: who signed a payment (EIP-712, OpenZeppelin ECDSA.recover) --------------

SECP256K1_N = 2 * SECP256K1_HALF_N + 1
NULL_SIGNATURE = bytes(65)


def _signature_problem(signature: bytes) -> str | None:
    """What the root chain's ECDSA.recover refuses: v not 27/28, r out of range, high s."""
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    if v not in (27, 28):
        return f"v is {v}"
    if not 0 < r < SECP256K1_N:
        return "r is out of range"
    if not 0 < s <= SECP256K1_HALF_N:
        return "s is zero or in the upper half of the curve order (malleable)"
    return None


def _recover(digest: bytes, signature: bytes) -> bytes | None:
    try:
        key = coincurve.PublicKey.from_signature_and_message(signature[:64] + bytes([signature[64] - 27]), digest, hasher=None)
    except ValueError:
        return None
    return address_of_public_key(key.format(compressed=False)[1:])


def _signers(raw: bytes, tx: PaymentTx, signatures: list[bytes], separator: bytes) -> tuple[bytes | None, ...]:
    """The address behind each signature. Recovery costs more than the rest of a payment's
    checks together, so the result the node prefetched on other cores is reused when the
    rule just consumed it; without prefetching (every test) it is recovered here."""
    found = prefetched(raw, separator)
    if found is not None and len(found) == len(signatures):
        return found
    digest = signing_hash_with_separator(tx, separator)
    return tuple(_recover(digest, signature) for signature in signatures)


# --- restated: the fee a payment owes (elixir-omg OMG.Fees, MergeTransactionValidator) ---

def _fee_problem(schedule: Map, tx: PaymentTx | OrderTx, spent: list[Output], surplus: dict[bytes, int]) -> str | None:
    """None if `surplus` (inputs minus outputs, per token) is the fee `tx` owes."""
    if len(surplus) > 1:
        return f"a surplus in {len(surplus)} tokens; a fee is paid in one"
    if not schedule:
        return None  # no schedule: any surplus in one token is the fee
    owners = {o.owner for o in tx.outputs} | {o.owner for o in spent}
    if tx.tx_type == PAYMENT_TX_TYPE and 0 < len(tx.outputs) < len(tx.inputs) and len({o.token for o in tx.outputs}) == 1 and len(owners) == 1:
        return None if not surplus else f"a merge paid {surplus}; a merge pays no fee"
    if not surplus:  # free only where the schedule asks 0 of this tx type in some token
        return None if 0 in (fee for (tx_type, _), fee in schedule.items() if tx_type == tx.tx_type) else "no fee paid"
    [(token, paid)] = surplus.items()
    owed = schedule.get((tx.tx_type, token))
    return None if paid == owed else f"paid {paid} in {_hex(token)}, the schedule asks {owed}"


# --- restated: slashing (x/slashing; ledger/staking.py's spec) ---------------------------

def _cut(amount: int, bps: int) -> int:
    return amount * bps // 10_000


def _equivocation_reward(before: State, event: Equivocation) -> int:
    """The reporter's share of the cut; none to a validator reporting itself."""
    staking = before.staking
    assert staking is not None
    if event.reporter == event.validator:
        return 0
    bps = staking.params.double_sign_slash_bps
    cut = _cut(staking.validators[event.validator].bonded, bps)
    cut += sum(_cut(e.amount, bps) for e in staking.unbonding.values() if e.validator == event.validator)
    return _cut(cut, staking.params.reporter_reward_bps)


def _fee_shares(before: State) -> list[tuple[bytes, bytes, int]]:
    """(validator, token, share) minted at an epoch close, in minting order: per token (sorted),
    each active validator (by address) gets floor(pool * stake / total stake) of the fees
    collected and not yet distributed."""
    if before.staking is None:
        return []
    validators = _active_set(before.staking)
    total = sum(v.bonded for _, v in validators)
    paid = before.staking.fees_distributed
    shares = []
    for token in sorted(before.fees_collected.keys()):
        pool = before.fees_collected[token] - paid.get(token, 0)
        for address, validator in validators if total else ():
            if share := pool * validator.bonded // total:
                shares.append((address, token, share))
    return shares


# --- restated: where an event moves outputs ------------------------------------------------

@attrs.frozen
class Moves:
    """Outputs an event moves, derived from its bytes and the state before it."""

    spent: tuple[int, ...] = ()  # unspent -> spent
    created: tuple[Position, ...] = ()  # new unspent outputs
    locked: tuple[Position, ...] = ()  # unspent -> exiting (taken off by an exit)
    released: tuple[Position, ...] = ()  # exiting -> spent (paid by the root chain or consumed as reserve)


@functools.lru_cache(maxsize=16)
def _any_tx(raw: bytes) -> PaymentTx | OrderTx | SettlementTx | None:
    """A transaction an exit shows: a payment, an order or a settlement."""
    try:
        return decode_transaction(raw)
    except DecodeError:
        return None


def _output_at(raw: bytes, pos: int) -> Output | None:
    tx = _any_tx(raw)
    oindex = decode_utxo_pos(pos)[2]
    return tx.outputs[oindex] if tx is not None and oindex < len(tx.outputs) else None


def _in_block_position(state: State, record: InFlightExit, index: int) -> int | None:
    """Where output `index` of an in-flight transaction sits, if the ledger holds the transaction:
    in a sealed block, or in the open one (its outputs exist there already)."""
    first = state.tx_positions.get(keccak256(record.tx))
    if first is None and record.tx in state.open_block_txs:
        first = encode_utxo_pos(state.next_child_blknum, list(state.open_block_txs).index(record.tx), 0)
    return None if first is None else first + index


def _payment_moves(before: State, raw: bytes, pooled: bool) -> Moves | str:
    tx = _tx(raw)
    if tx is None:
        return "an accepted payment does not decode"
    slot = (before.next_child_blknum, len(before.open_block_txs))
    created = tuple(
        (encode_utxo_pos(*slot, oindex), output)
        for oindex, output in enumerate(tx.outputs)
        if not (pooled and output.owner == STAKING_POOL)  # a bond's pool outputs become stake
    )
    return Moves(spent=tx.inputs, created=created)


def _dex_moves(before: State, event: OrderPlaced | BatchSettled) -> Moves | str:
    """An order or a settlement is a leaf of the open block: it spends its inputs and creates
    its outputs there, as a payment does."""
    tx = _dex_tx(event)
    if tx is None:
        return f"an accepted {event.KIND} does not decode"
    slot = (before.next_child_blknum, len(before.open_block_txs))
    return Moves(spent=tx.inputs, created=tuple((encode_utxo_pos(*slot, i), o) for i, o in enumerate(tx.outputs)))


def _minted_moves(before: State, outputs: Iterable[Output]) -> Moves:
    return Moves(created=tuple((_mint_position(before, nth), output) for nth, output in enumerate(outputs)))


def _exit_moves(before: State, event: Event) -> Moves:
    if isinstance(event, ExitStarted):
        output = _output_at(event.output_tx, event.utxo_pos)
        held = output is not None and before.utxos.get(event.utxo_pos) == output
        return Moves(locked=((event.utxo_pos, output),) if held else ())
    if isinstance(event, InFlightExitStarted):
        tx = _tx(event.tx)
        inputs = zip(tx.inputs, event.input_txs) if tx is not None else ()
        candidates = {pos: _output_at(raw, pos) for pos, raw in inputs}
        return Moves(locked=tuple((pos, o) for pos, o in candidates.items() if before.utxos.get(pos) == o))
    record = before.exits.get(getattr(event, "exit_id", None))
    if isinstance(event, InFlightExitPiggybacked) and event.is_output and isinstance(record, InFlightExit):
        pos = _in_block_position(before, record, event.index)
        if pos is not None and event.index < len(record.outputs) and before.utxos.get(pos) == record.outputs[event.index]:
            return Moves(locked=((pos, record.outputs[event.index]),))
    if isinstance(event, ExitProcessed) and event.paid and isinstance(record, StandardExit):
        return Moves(released=_held(before, [(record.utxo_pos, record.output)]))
    if isinstance(event, InFlightExitWithdrawn) and isinstance(record, InFlightExit):
        pos, output = _ife_payout(before, record, event) or (None, None)
        if output is not None and pos is None:  # unincluded: its held inputs are consumed as reserve
            return Moves(released=() if record.inputs_consumed else _held(before, record.inputs))
        if output is not None and pos is not None:
            return Moves(released=_held(before, [(pos, output)]))
    return Moves()


def _held(state: State, candidates: Iterable[tuple[int, Output]]) -> tuple[Position, ...]:
    return tuple((pos, output) for pos, output in candidates if state.exiting.get(pos) == output)


def _ife_payout(state: State, record: InFlightExit, event: InFlightExitWithdrawn) -> tuple[int | None, Output] | None:
    """(position, output) an in-flight exit's payout is for; position None for an output of a
    transaction no sealed block holds (paid from the exit's reserve); None if no such slot."""
    slots = record.outputs if event.is_output else tuple(output for _, output in record.inputs)
    if event.index >= len(slots):
        return None
    if not event.is_output:
        return record.inputs[event.index][0], slots[event.index]
    return _in_block_position(state, record, event.index), slots[event.index]


_last_moves: list = [None, None, Moves()]  # (before, event, moves): three checks read them per event


def moves(before: State, event: Event) -> Moves | str:
    """What `event` does to the UTXO, spent and exiting sets; a string if it cannot be read."""
    if _last_moves[0] is before and _last_moves[1] is event:  # states and events are immutable
        return _last_moves[2]
    _last_moves[:] = [before, event, _derive_moves(before, event)]
    return _last_moves[2]


def _derive_moves(before: State, event: Event) -> Moves | str:
    if isinstance(event, Deposit):
        tx = _tx(event.tx)
        if tx is None or len(tx.outputs) != 1:
            return "an accepted deposit is not a one-output transaction"
        return Moves(created=((encode_utxo_pos(event.blknum, 0, 0), tx.outputs[0]),))
    if isinstance(event, (Payment, StakeBonded)):
        return _payment_moves(before, event.tx, pooled=isinstance(event, StakeBonded))
    if isinstance(event, (OrderPlaced, BatchSettled)):
        return _dex_moves(before, event)
    if isinstance(event, StakeWithdrawn) and before.staking is not None:
        entry = before.staking.unbonding.get((event.validator, event.nonce))
        if entry is None:
            return f"no unbonding {event.nonce} of {_hex(event.validator)} to withdraw"
        # an entry slashed to nothing returns no output: an output of amount 0 is no valid transaction
        return _minted_moves(before, [_minted(event.validator, before.staking.params.token, entry.amount)] if entry.amount else [])
    if isinstance(event, Equivocation) and before.staking is not None and event.validator in before.staking.validators:
        reward = _equivocation_reward(before, event)
        return _minted_moves(before, [_minted(event.reporter, before.staking.params.token, reward)] if reward else [])
    if isinstance(event, FeeEpochClosed):
        return _minted_moves(before, [_minted(*share) for share in _fee_shares(before)])
    return _exit_moves(before, event)


# --- the checks -----------------------------------------------------------------------------

def value_conserved(state: State) -> str | None:
    """deposited = unspent + fees in the open block + fees collected and not yet paid to
    validators + in exit + exited + staked (bonded, unbonding, burned by slashing), per token."""
    # Runs after every event: read the maps as they are, build none (fees paid out are subtracted).
    staking = state.staking
    paid = staking.fees_distributed if staking is not None else Map()
    parts = (state.unspent, state.open_block_fees, state.fees_collected, state.in_exit, state.exited)
    stake_token = staking.params.token if staking is not None else None
    stake = staking.bonded_total + staking.unbonding_total + staking.burned if staking is not None else 0
    tokens = set(state.deposited.keys()).union(*(part.keys() for part in parts))
    if stake_token is not None:
        tokens.add(stake_token)
    for token in tokens:
        held = sum(part.get(token, 0) for part in parts) - paid.get(token, 0) + (stake if token == stake_token else 0)
        if state.deposited.get(token, 0) != held:
            return f"token {_hex(token)}: deposited {state.deposited.get(token, 0)} but holds {held}"
    return None


def payment_balances(before: State, event: Event, after: State) -> str | None:
    """A payment's inputs equal its outputs plus the fee the schedule asks, token by token,
    and exactly that fee is booked to the open block."""
    if isinstance(event, OrderPlaced):
        tx: PaymentTx | OrderTx | None = _order_tx(event.tx)
    elif isinstance(event, (Payment, StakeBonded)):
        tx = _tx(event.tx)
    else:
        return None
    if tx is None or before.params is None:
        return None
    spent: list[Output] = []
    for pos in tx.inputs:
        if (output := before.utxos.get(pos)) is None:
            return f"input {pos} was not unspent before the payment"
        spent.append(output)
    inputs, outputs = _totals(spent), _totals(tx.outputs)
    for token, amount in outputs.items():
        if amount > inputs.get(token, 0):
            return f"token {_hex(token)}: outputs {amount} exceed inputs {inputs.get(token, 0)}"
    surplus = {token: amount - outputs.get(token, 0) for token, amount in inputs.items() if amount > outputs.get(token, 0)}
    if problem := _fee_problem(before.params.fee_schedule, tx, spent, surplus):
        return problem
    booked = before.open_block_fees
    for token, fee in surplus.items():
        booked = booked.set(token, booked.get(token, 0) + fee)
    return None if after.open_block_fees == booked else f"fees booked {dict(after.open_block_fees)}, owed {dict(booked)}"


def fees_collected_exactly(before: State, event: Event, after: State) -> str | None:
    """Collecting a token's fees moves exactly what the open block's payments paid in it,
    and a block is sealed only once all its fees are collected."""
    if isinstance(event, BlockSealed) and before.open_block_fees:
        return f"block {event.blknum} sealed with fees {dict(before.open_block_fees)} not collected"
    if not isinstance(event, FeeCollected):
        return None
    owed = before.open_block_fees.get(event.token, 0)
    if event.blknum != before.next_child_blknum or event.amount != owed or owed <= 0:
        return (f"block {before.next_child_blknum} owes {owed} in {_hex(event.token)}; "
                f"collected {event.amount} for block {event.blknum}")
    if after.open_block_fees != before.open_block_fees.delete(event.token):
        return f"open block fees {dict(after.open_block_fees)} after collecting {_hex(event.token)}"
    collected = _change(before.fees_collected, after.fees_collected, event.token)
    return None if collected == owed else f"collected total grew by {collected}, owed {owed}"


def unspent_tally(state: State) -> str | None:
    """The per-token unspent totals equal the sum over the UTXO set (full recount)."""
    recount = _totals(state.utxos.values())
    tally = _nonzero(state.unspent)
    return None if recount == tally else f"recount {recount} != tally {tally}"


def stake_tally(state: State) -> str | None:
    """Bonded and unbonding totals equal a recount of validators and unbonding entries, none negative."""
    if state.staking is None:
        return None
    s = state.staking
    if any(v.bonded < 0 for v in s.validators.values()) or any(e.amount < 0 for e in s.unbonding.values()):
        return "a validator's stake or an unbonding entry is negative"
    bonded = sum(v.bonded for v in s.validators.values())
    unbonding = sum(e.amount for e in s.unbonding.values())
    if (bonded, unbonding) != (s.bonded_total, s.unbonding_total):
        return f"recount bonded {bonded}, unbonding {unbonding} != tallies {s.bonded_total}, {s.unbonding_total}"
    return None


def commit_quorum(before: State, event: Event, after: State) -> str | None:
    """A committed block was signed by validators holding more than 2/3 of the active stake."""
    if not isinstance(event, BlockCommitted) or before.staking is None or after.staking is None:
        return None
    validators = _active_set(before.staking)
    bits = int.from_bytes(event.signers, "little")
    if len(event.signers) != (len(validators) + 7) // 8 or bits >> len(validators):
        return f"bitmap of {len(event.signers)} bytes does not fit {len(validators)} active validators"
    signed = sum(v.bonded for i, (_, v) in enumerate(validators) if bits >> i & 1)
    total = sum(v.bonded for _, v in validators)
    if 3 * signed <= 2 * total:
        return f"block {event.blknum} committed by {signed} of {total} stake"
    if event.blknum != before.staking.last_committed + CHILD_BLOCK_INTERVAL or event.blknum not in before.blocks:
        return f"block {event.blknum} committed after {before.staking.last_committed}"
    if after.staking.commits.get(event.blknum) != event.signers or after.staking.last_committed != event.blknum:
        return f"commit of block {event.blknum} not recorded as signed"
    return None


def _slash_problem(before: Staking, after: Staking, event: Equivocation) -> str | None:
    bps = before.params.double_sign_slash_bps
    was, now = before.validators[event.validator], after.validators[event.validator]
    cut = _cut(was.bonded, bps)
    if now.bonded != was.bonded - cut or not (now.jailed and now.tombstoned):
        return f"validator bonded {was.bonded} -> {now.bonded}, expected -{cut}, jailed for good"
    unbonding_cut = 0
    for key, entry in before.unbonding.items():
        expected = entry
        if entry.validator == event.validator:
            unbonding_cut += _cut(entry.amount, bps)
            expected = Unbonding(entry.validator, entry.amount - _cut(entry.amount, bps), entry.mature_at)
        if after.unbonding.get(key) != expected:
            return f"unbonding {key[1]} of {_hex(entry.validator)}: {after.unbonding.get(key)}, expected {expected}"
    if len(after.unbonding) != len(before.unbonding):
        return "unbonding entries appeared or vanished"
    reward = 0 if event.reporter == event.validator else _cut(cut + unbonding_cut, before.params.reporter_reward_bps)
    burned = after.burned - before.burned
    totals_cut = (before.bonded_total - after.bonded_total, before.unbonding_total - after.unbonding_total)
    if totals_cut != (cut, unbonding_cut):
        return f"bonded and unbonding totals cut by {totals_cut}, expected {(cut, unbonding_cut)}"
    if burned != cut + unbonding_cut - reward:
        return f"burned {burned}, expected {cut + unbonding_cut - reward} (reward {reward})"
    return None


def _evidence_problem(before: State, event: Equivocation) -> str | None:
    """Slashable evidence (x/evidence, x/slashing): a validator not yet tombstoned, at a child
    block from 1000 up to the open one, at most `unbonding_blocks` child blocks old."""
    assert before.staking is not None
    if before.staking.validators[event.validator].tombstoned:
        return f"validator {_hex(event.validator)} was already tombstoned"
    oldest = before.next_child_blknum - before.staking.params.unbonding_blocks * CHILD_BLOCK_INTERVAL
    if event.blknum % CHILD_BLOCK_INTERVAL or not max(oldest, CHILD_BLOCK_INTERVAL) <= event.blknum <= before.next_child_blknum:
        return f"evidence of block {event.blknum} with the open block {before.next_child_blknum}"
    return None


def _downtime_problem(before: Staking, after: Staking) -> str | None:
    bps, total = before.params.downtime_slash_bps, 0
    for address, was in before.validators.items():
        now = after.validators.get(address)
        if now is None:
            return f"validator {_hex(address)} vanished"
        if now.bonded != was.bonded:
            if was.bonded - now.bonded != _cut(was.bonded, bps) or not now.jailed:
                return f"validator {_hex(address)} bonded {was.bonded} -> {now.bonded}; downtime cuts {_cut(was.bonded, bps)}, jails"
            total += was.bonded - now.bonded
    if after.burned - before.burned != total or before.bonded_total - after.bonded_total != total:
        return f"downtime cut {total}, burned {after.burned - before.burned}"
    return None


def slash_exact(before: State, event: Event, after: State) -> str | None:
    """Equivocation cuts the validator's bonded stake and each of its unbonding entries by
    exactly the fraction (rounded down), jails it for good, pays the reporter its share of
    the cut and burns the rest; a downtime slash cuts by its fraction, jails, and burns it all."""
    if before.staking is None or after.staking is None:
        return None
    if isinstance(event, Equivocation):
        return _evidence_problem(before, event) or _slash_problem(before.staking, after.staking, event)
    if isinstance(event, BlockCommitted):
        return _downtime_problem(before.staking, after.staking)
    return None


def fees_distributed_exactly(before: State, event: Event, after: State) -> str | None:
    """Closing an epoch pays each active validator floor(pool * stake / total) of every
    token's undistributed fees; only the rounding dust stays, never more than one unit
    per validator, and nothing is paid twice."""
    if not isinstance(event, FeeEpochClosed) or before.staking is None or after.staking is None:
        return None
    validators = _active_set(before.staking)
    shares = _fee_shares(before)
    paid: dict[bytes, int] = {}
    for nth, (address, token, share) in enumerate(shares):
        if after.utxos.get(_mint_position(before, nth)) != _minted(address, token, share):
            return f"validator {_hex(address)} owed {share} in {_hex(token)}, paid {after.utxos.get(_mint_position(before, nth))}"
        paid[token] = paid.get(token, 0) + share
    if len(after.open_block_txs) - len(before.open_block_txs) != len(shares):
        return f"{len(after.open_block_txs) - len(before.open_block_txs)} outputs minted for {len(shares)} shares"
    was, now = before.staking.fees_distributed, after.staking.fees_distributed
    for token, collected in before.fees_collected.items():
        pool, dust = collected - was.get(token, 0), collected - now.get(token, 0)
        if _change(was, now, token) != paid.get(token, 0) or (validators and dust >= len(validators)) or dust < 0:
            return f"token {_hex(token)}: pool {pool}, distributed {_change(was, now, token)}, shares {paid.get(token, 0)}"
    return None


def exit_tally(state: State) -> str | None:
    """The per-token in-exit totals equal a recount of exiting outputs and in-flight reserves, none negative."""
    recount = _totals(state.exiting.values())
    for record in state.exits.values():
        if isinstance(record, InFlightExit):
            for token, amount in record.reserve.items():
                if amount < 0:
                    return f"an in-flight exit's reserve is {amount} in {_hex(token)}"
                recount[token] = recount.get(token, 0) + amount
    recount, tally = _nonzero(recount), _nonzero(state.in_exit)
    return None if recount == tally else f"recount {recount} != tally {tally}"


def exits_locked_and_paid_once(before: State, event: Event, after: State) -> str | None:
    """An exit takes only unspent outputs off the child chain, and the root chain pays a
    ledger output at most once, only after an exit took it off."""
    moved = moves(before, event)
    if isinstance(moved, str):
        return moved
    for pos, output in moved.locked:
        if before.utxos.get(pos) != output or pos in after.utxos or after.exiting.get(pos) != output:
            return f"output {pos} was not moved from unspent to exiting"
    for pos, output in moved.released:
        if before.exiting.get(pos) != output:
            return f"output {pos} was paid without an exit holding it"
        if pos in before.spent or pos in after.exiting or after.spent.get(pos) != before.event_count:
            return f"output {pos} was paid twice or stays exiting"
    change = len(moved.locked) - len(moved.released)
    if len(after.exiting) != len(before.exiting) + change:
        return f"{len(after.exiting) - len(before.exiting)} outputs changed exiting, the event moves {change}"
    return None


def no_double_spend(before: State, event: Event, after: State) -> str | None:
    """An output is spent at most once, creating an output never overwrites one, and no
    output enters or leaves the unspent or spent sets but those the event moves."""
    moved = moves(before, event)
    if isinstance(moved, str):
        return moved
    for pos in moved.spent:
        if pos in before.spent:
            return f"input {pos} had already been spent at event {before.spent[pos]}"
        if pos not in before.utxos:
            return f"input {pos} was not unspent before the event"
        if pos in after.utxos or after.spent.get(pos) != before.event_count:
            return f"input {pos} is still unspent after being spent"
    for pos, _ in moved.created:
        if pos in before.utxos or pos in before.spent or pos in before.exiting:
            return f"output {pos} already existed"
    gone, spent = len(moved.spent) + len(moved.locked), len(moved.spent) + len(moved.released)
    if len(after.utxos) != len(before.utxos) - gone + len(moved.created):
        return f"the UTXO set changed by {len(after.utxos) - len(before.utxos)}, the event moves {len(moved.created) - gone}"
    if len(after.spent) != len(before.spent) + spent:
        return f"{len(after.spent) - len(before.spent)} outputs became spent, the event spends {spent}"
    return None


def spends_authorized(before: State, event: Event, after: State) -> str | None:
    """Every spent input is signed by the owner of the output it spends: the i-th present
    signature of the transaction's bytes recovers to the owner of its i-th input."""
    if not isinstance(event, (Payment, StakeBonded, OrderPlaced)) or before.params is None:
        return None
    tx = _order_tx(event.tx) if isinstance(event, OrderPlaced) else _tx(event.tx)
    if tx is None:
        return f"an accepted {event.KIND} does not decode"
    signatures = [s for s in tx.signatures if s != NULL_SIGNATURE]  # as elixir-omg: all zero is absent
    if len(signatures) != len(tx.inputs):
        return f"{len(tx.inputs)} inputs but {len(signatures)} signatures"
    for i, signature in enumerate(signatures):
        if problem := _signature_problem(signature):
            return f"signature {i}: {problem}"
    if isinstance(tx, OrderTx):
        digest = order_signing_hash(tx, before.params.domain_separator)
        signers = tuple(_recover(digest, signature) for signature in signatures)
    else:
        signers = _signers(event.tx, tx, signatures, before.params.domain_separator)
    for pos, signer in zip(tx.inputs, signers):
        owner = before.utxos.get(pos)
        if owner is None or signer != owner.owner:
            return f"input {pos} owned by {_hex(owner.owner) if owner else 'nobody'} signed by {_hex(signer or b'')}"
    return None


def block_order(before: State, event: Event, after: State) -> str | None:
    """Child blocks at consecutive multiples of 1000; deposit blocks strictly increase between them."""
    if isinstance(event, BlockSealed):
        if event.blknum % CHILD_BLOCK_INTERVAL or event.blknum != before.next_child_blknum:
            return f"child block {event.blknum} after {before.next_child_blknum - CHILD_BLOCK_INTERVAL}"
        if after.next_child_blknum != event.blknum + CHILD_BLOCK_INTERVAL:
            return "next child block did not advance by 1000"
    if isinstance(event, Deposit):
        last, blknum = before.last_deposit_blknum, event.blknum
        same_interval = blknum // CHILD_BLOCK_INTERVAL == last // CHILD_BLOCK_INTERVAL
        consecutive = blknum == last + 1 if same_interval else blknum % CHILD_BLOCK_INTERVAL == 1
        ceiling = max(before.next_child_blknum, before.submitted_blknum + CHILD_BLOCK_INTERVAL)
        if not last < blknum < ceiling or not consecutive or blknum in before.blocks:
            return f"deposit block {event.blknum} out of order (last deposit block {last})"
    return None


def merkle_roots(before: State, event: Event, after: State) -> str | None:
    """A block's root is the Merkle root of its transactions' unsigned bytes: each leaf is
    the unsigned body of the payment it records (or the input-less transaction of an
    output the ledger mints), and the root is recomputed when the block is sealed."""
    if isinstance(event, (Payment, StakeBonded, OrderPlaced, BatchSettled)):
        leaf = after.open_block_txs[-1] if len(after.open_block_txs) == len(before.open_block_txs) + 1 else b""
        body = leaf[_list_header_length(leaf):] if leaf else b""
        return None if body and event.tx.endswith(body) else "the block leaf is not the transaction's unsigned body"
    if not isinstance(event, BlockSealed) and len(after.open_block_txs) > len(before.open_block_txs):
        return _minted_leaves_problem(before, after)
    if isinstance(event, BlockSealed):
        leaves, blknum, deposit = before.open_block_txs, event.blknum, False
    elif isinstance(event, Deposit):
        leaves, blknum, deposit = [event.tx], event.blknum, True
    else:
        return None
    block = after.blocks.get(blknum)
    expected = block_root(leaves)
    if block is None or block.root != expected or block.tx_count != len(leaves) or block.is_deposit != deposit:
        return f"block {blknum} root does not match its {len(leaves)} transactions"
    return None


def _minted_leaves_problem(before: State, after: State) -> str | None:
    """Each leaf the event appended is the input-less transaction of the output minted at its position."""
    for nth in range(len(after.open_block_txs) - len(before.open_block_txs)):
        output = after.utxos.get(_mint_position(before, nth))
        leaf = after.open_block_txs[len(before.open_block_txs) + nth]
        if output is None or leaf != encode(PaymentTx([], [output], metadata=STAKE_RETURN_METADATA)):
            return f"leaf {len(before.open_block_txs) + nth} is not the input-less transaction of the output it mints"
    return None


def _list_header_length(encoded: bytes) -> int:
    return 1 + max(0, encoded[0] - 0xF7)


def outputs_in_their_block(before: State, event: Event, after: State) -> str | None:
    """New outputs sit in the block the event belongs to, at consecutive output indexes
    (the positions PosLib gives them), and the event's Effects report exactly those."""
    moved = moves(before, event)
    if isinstance(moved, str):
        return moved
    for pos, output in moved.created:
        if after.utxos.get(pos) != output:
            return f"output {pos} is {after.utxos.get(pos)}, expected {output}"
    if after.effects.created != moved.created:
        return f"effects report outputs {[p for p, _ in after.effects.created]}, created {[p for p, _ in moved.created]}"
    return None


def _new_positions(before: State, after: State) -> list[int]:
    """Where the event may have put outputs: a new deposit block, and the leaves it appended
    to the open block (a seal appends none), each with up to MAX_OUTPUTS outputs."""
    found = []
    if after.last_deposit_blknum != before.last_deposit_blknum:
        found.append(encode_utxo_pos(after.last_deposit_blknum, 0, 0))
    if after.next_child_blknum == before.next_child_blknum:
        for txindex in range(len(before.open_block_txs), len(after.open_block_txs)):
            found += [encode_utxo_pos(before.next_child_blknum, txindex, oindex) for oindex in range(MAX_OUTPUTS)]
            oindex = MAX_OUTPUTS  # a settlement has up to two outputs per input: look on while there are more
            while oindex <= MAX_OUTPUT_INDEX and (pos := encode_utxo_pos(before.next_child_blknum, txindex, oindex)) in after.utxos:
                found.append(pos)
                oindex += 1
    return found


def outputs_positive(before: State, event: Event, after: State) -> str | None:
    """Every output the event created holds a positive amount: OMG has no output of 0
    (elixir-omg amount_cant_be_zero, plasma-contracts PaymentOutputModel), and the ledger
    mints none (a stake slashed to nothing, a reward or fee share of 0 is no output)."""
    for pos in _new_positions(before, after):
        output = after.utxos.get(pos)
        if output is not None and pos not in before.utxos and output.amount <= 0:
            return f"output {pos} created with amount {output.amount}"
    return None


TALLIES = ("deposited", "unspent", "open_block_fees", "fees_collected", "in_exit", "exited", "unbacked")


def non_negative(before: State, event: Event, after: State) -> str | None:
    """No tally, stake, unbonding entry or in-flight reserve the event touched is negative."""
    for name in TALLIES:
        tally = getattr(after, name)
        if tally is getattr(before, name):
            continue  # untouched by the event, checked when it last changed
        for token, amount in tally.items():
            if amount < 0:
                return f"{name} is {amount} in {_hex(token)}"
    exit_id = getattr(event, "exit_id", None)
    record = after.exits.get(exit_id)
    if isinstance(record, InFlightExit) and any(amount < 0 for amount in record.reserve.values()):
        return f"exit {exit_id}'s reserve is {dict(record.reserve)}"
    if after.staking is not None and after.staking is not before.staking:
        return _negative_stake(after.staking, after.fees_collected)
    return None


def _negative_stake(s: Staking, collected: Map) -> str | None:
    if min(s.bonded_total, s.unbonding_total, s.burned) < 0:
        return f"stake totals bonded {s.bonded_total}, unbonding {s.unbonding_total}, burned {s.burned}"
    for token, amount in s.fees_distributed.items():
        if not 0 <= amount <= collected.get(token, 0):
            return f"fees distributed {amount} in {_hex(token)}, collected {collected.get(token, 0)}"
    for address, validator in s.validators.items():
        if validator.bonded < 0:
            return f"validator {_hex(address)} bonded {validator.bonded}"
    for (address, nonce), entry in s.unbonding.items():
        if entry.amount < 0:
            return f"unbonding {nonce} of {_hex(address)} is {entry.amount}"
    return None


def unbonding_matures(before: State, event: Event, after: State) -> str | None:
    """An unbonding matures `unbonding_blocks` child blocks after it starts and is paid back,
    whole and to its validator, only from the open block at which it matures."""
    if before.staking is None or after.staking is None:
        return None
    was, now = before.staking, after.staking
    if isinstance(event, UnbondingStarted):
        key = (event.validator, was.validators[event.validator].nonce)
        mature_at = before.next_child_blknum + was.params.unbonding_blocks * CHILD_BLOCK_INTERVAL
        if key in was.unbonding or now.unbonding.get(key) != Unbonding(event.validator, event.amount, mature_at):
            return f"unbonding {key[1]} of {_hex(event.validator)}: expected {event.amount} maturing at open block {mature_at}"
        return None
    if not isinstance(event, StakeWithdrawn):
        return None
    key = (event.validator, event.nonce)
    entry = was.unbonding.get(key)
    if entry is None:
        return f"withdrew unbonding {event.nonce} of {_hex(event.validator)}, which does not exist"
    if before.next_child_blknum < entry.mature_at:
        return f"withdrawn at open block {before.next_child_blknum}; the unbonding matures at {entry.mature_at}"
    if key in now.unbonding or was.unbonding_total - now.unbonding_total != entry.amount:
        return f"unbonding {event.nonce} of {_hex(event.validator)} was not removed whole"
    paid = after.utxos.get(_mint_position(before))
    owed = _minted(event.validator, was.params.token, entry.amount) if entry.amount else None  # nothing left: no output
    return None if paid == owed else f"stake returned as {paid}"


def _payout(before: State, event: Event) -> tuple[Output, int, InFlightExit | None] | None:
    """(output the root chain paid, value the ledger holds to back it, the in-flight exit
    whose reserve backs it) for a payout event; None for any other event."""
    record = before.exits.get(getattr(event, "exit_id", None))
    if isinstance(event, ExitProcessed) and event.paid and isinstance(record, StandardExit):
        return record.output, record.output.amount if _held(before, [(record.utxo_pos, record.output)]) else 0, None
    if not isinstance(event, InFlightExitWithdrawn) or not isinstance(record, InFlightExit):
        return None
    paid = _ife_payout(before, record, event)
    if paid is None:
        return None
    pos, output = paid
    if pos is not None:
        return output, output.amount if _held(before, [(pos, output)]) else 0, None
    consumed = () if record.inputs_consumed else _held(before, record.inputs)
    backing = record.reserve.get(output.token, 0) + _totals(o for _, o in consumed).get(output.token, 0)
    return output, backing, record


def payouts_backed(before: State, event: Event, after: State) -> str | None:
    """The root chain's payout of an exit is booked in full: what the ledger holds for it
    (the exiting output, or the in-flight exit's reserve), up to the amount paid, leaves
    `in_exit` for `exited`; the rest is `unbacked`. Nothing else changes those tallies."""
    found = _payout(before, event)
    if found is None:
        if not (_same(before.exited, after.exited) and _same(before.unbacked, after.unbacked)):
            return "exited or unbacked value changed without a payout"
        return None
    output, backing, record = found
    drawn = min(output.amount, backing)
    for tally, change in (("in_exit", -drawn), ("exited", drawn), ("unbacked", output.amount - drawn)):
        was, now = getattr(before, tally), getattr(after, tally)
        if _change(was, now, output.token) != change:
            return (f"paid {output.amount} in {_hex(output.token)} against backing {backing}: "
                    f"{tally} changed by {_change(was, now, output.token)}, expected {change}")
        if _without(was, output.token) != _without(now, output.token):
            return f"{tally} changed in a token the payout is not in"
    if record is not None and isinstance(event, InFlightExitWithdrawn):
        return _reserve_problem(before, record, event, after, drawn)
    return None


def _without(totals: Map, token: bytes) -> dict:
    return {t: amount for t, amount in totals.items() if amount and t != token}


def _reserve_problem(before: State, record: InFlightExit, event: InFlightExitWithdrawn, after: State, paid: int) -> str | None:
    expected = dict(record.reserve)
    for _, output in () if record.inputs_consumed else _held(before, record.inputs):
        expected[output.token] = expected.get(output.token, 0) + output.amount
    token = record.outputs[event.index].token
    expected[token] = expected.get(token, 0) - paid
    now = after.exits[event.exit_id]
    if not isinstance(now, InFlightExit) or _nonzero(now.reserve) != _nonzero(expected) or not now.inputs_consumed:
        return f"exit {event.exit_id}'s reserve is {dict(getattr(now, 'reserve', {}))}, expected {expected}"
    return None


def unclaimed_owed(before: State, event: Event, after: State) -> str | None:
    """A refused payout adds its amount to what its receiver may claim in its token, a claim
    takes all of it, and nothing else changes what the vaults owe."""
    if after.unclaimed is before.unclaimed and not isinstance(event, (PayoutFailed, PayoutClaimed)):
        return None
    expected = dict(before.unclaimed)
    if isinstance(event, PayoutFailed):
        key = (event.receiver, event.token)
        expected[key] = expected.get(key, 0) + event.amount
    elif isinstance(event, PayoutClaimed):
        owed = expected.pop((event.receiver, event.token), 0)
        if owed != event.amount:
            return f"claimed {event.amount} of {_hex(event.token)}, owed {owed}"
    if _nonzero(after.unclaimed) != _nonzero(expected) or any(amount < 0 for amount in after.unclaimed.values()):
        return f"unclaimed payouts are {dict(after.unclaimed)}, expected {expected}"
    return None


_ENDS = (InFlightExitDeleted, InFlightExitFinalized)
_LEDGER_SETS = ("utxos", "spent", "exiting", "in_exit", "exited", "unbacked")


def in_flight_instances(before: State, event: Event, after: State) -> str | None:
    """An in-flight exit's end closes its record and moves nothing; only a start of the same
    transaction reopens an ended id, as a fresh instance keeping the id's reserve and consumed
    inputs; nothing else changes an ended record."""
    exit_id = getattr(event, "exit_id", None)
    was, now = before.exits.get(exit_id), after.exits.get(exit_id)
    if isinstance(event, _ENDS):
        moved = [name for name in _LEDGER_SETS if getattr(after, name) is not getattr(before, name)]
        if not isinstance(was, InFlightExit) or was.ended or now != attrs.evolve(was, ended=True) or moved:
            return f"exit {exit_id} ended from {was} to {now}, moving {moved}"
        return None
    if not (isinstance(was, InFlightExit) and was.ended) or now == was:
        return None
    if not isinstance(event, InFlightExitStarted) or not isinstance(now, InFlightExit) or now.tx != was.tx:
        return f"ended exit {exit_id} changed by {type(event).__name__}"
    fresh = (not now.ended, now.canonical, not now.piggybacked, not now.withdrawn, now.restarts == was.restarts + 1)
    if not all(fresh) or _nonzero(now.reserve) != _nonzero(was.reserve) or now.inputs_consumed != was.inputs_consumed:
        return f"exit {exit_id} restarted as {now} after {was}"
    return None


# --- the DEX's trading fees (issue 13) -----------------------------------------------------------

MAX_TRADING_FEE_BPS = 10_000  # restated: a fee takes at most the whole bought amount


def _lower_weighted_median(ballots: list[tuple[int, int]]) -> int:
    """The least fee f such that the stake voting at most f is at least half the stake voting."""
    voting = sum(stake for _, stake in ballots)
    return min(fee for fee, _ in ballots if 2 * sum(s for g, s in ballots if g <= fee) >= voting)


def trading_fees_follow_the_votes(before: State, event: Event, after: State) -> str | None:
    """A trading fee vote records exactly the voted pairs (base < quote, at most 10,000 bps);
    an epoch close sets each pair's fee to the lower stake-weighted median of the active
    validators' votes (or keeps the fees when none voted); nothing else changes the fees."""
    if after.staking is None:
        return None
    was = dict(before.staking.trading_fees) if before.staking is not None else {}
    now = dict(after.staking.trading_fees)
    if isinstance(event, TradingFeeVoted):
        recorded = dict(after.staking.validators[event.validator].trading_fee_vote)
        if recorded != {(f.base, f.quote): f.bps for f in event.fees} or len(recorded) != len(event.fees):
            return f"{_hex(event.validator)} voted {event.fees}, recorded {recorded}"
        if any(not base < quote or bps > MAX_TRADING_FEE_BPS for (base, quote), bps in recorded.items()):
            return f"a malformed trading fee vote was recorded: {recorded}"
    if not isinstance(event, FeeEpochClosed) or before.staking is None:
        return None if now == was else f"{type(event).__name__} changed the trading fees {was} to {now}"
    ballots: dict[tuple[bytes, bytes], list[tuple[int, int]]] = {}
    for _, validator in _active_set(before.staking):
        for pair, bps in validator.trading_fee_vote.items():
            ballots.setdefault(pair, []).append((bps, validator.bonded))
    expected = {pair: _lower_weighted_median(votes) for pair, votes in ballots.items()} if ballots else was
    return None if now == expected else f"epoch close set the trading fees {now}, the votes' median is {expected}"


# --- the DEX (DEX.md; issue 13): orders in restricted custody, settled per block ------------
# Restated from the wire format and the settlement's records, never from ledger/dex.py nor the
# clearing function: a settlement is judged by what it spent and created, against the terms the
# ledger recorded when each order was placed.

def _settled_inputs(before: State, tx: SettlementTx) -> list[tuple[int, Output, object]] | str:
    """(position, spent order output, the order's terms as placed) per input, with its record."""
    found = []
    for pos, record in zip(tx.inputs, tx.records):
        output, terms = before.utxos.get(pos), before.orders.get(pos)
        if output is None or output.output_type != OUTPUT_TYPE_ORDER or terms is None:
            return f"input {pos} is not an open order output"
        if tuple(terms) != tuple(record[:7]):
            return f"record of input {pos} carries terms {tuple(record[:7])}, the order placed was {tuple(terms)}"
        found.append((pos, output, record))
    return found


def _settlement(before: State, event: Event) -> tuple[SettlementTx, list] | str | None:
    if not isinstance(event, BatchSettled):
        return None
    tx = _settlement_tx(event.tx)
    if tx is None:
        return "an accepted settlement does not decode"
    inputs = _settled_inputs(before, tx)
    return inputs if isinstance(inputs, str) else (tx, inputs)


def settlement_conserves(before: State, event: Event, after: State) -> str | None:
    """A settlement moves value and makes none: per token, the order outputs it spends equal the
    outputs it creates plus the trading fees it books to the open block, and each fee is the one
    its record states, in the token bought."""
    found = _settlement(before, event)
    if not isinstance(found, tuple):
        return found
    tx, inputs = found
    slot = (before.next_child_blknum, len(before.open_block_txs))
    created = [after.utxos.get(encode_utxo_pos(*slot, i)) for i in range(len(tx.outputs))]
    if created != list(tx.outputs):
        return "the settlement's outputs are not where it puts them"
    booked: dict[bytes, int] = {}
    for record in tx.records:
        booked[record.buy_token] = booked.get(record.buy_token, 0) + record.fee
    spent, made = _totals(output for _, output, _ in inputs), _totals(tx.outputs)
    for token in set(spent) | set(made) | set(booked):
        fee = _change(before.open_block_fees, after.open_block_fees, token)
        if fee != booked.get(token, 0) or spent.get(token, 0) != made.get(token, 0) + fee:
            return f"token {_hex(token)}: in {spent.get(token, 0)}, out {made.get(token, 0)}, fees booked {fee}"
    return None


def fills_within_limits(before: State, event: Event, after: State) -> str | None:
    """Every fill is at or better than its order's limit (bought·sellAmount ≥ sold·buyAmount),
    of an order that has not expired, sells at most what is open and returns the rest to the
    same order: a fill never exceeds the order's amount."""
    found = _settlement(before, event)
    if not isinstance(found, tuple):
        return found
    tx, inputs = found
    slot = (before.next_child_blknum, len(before.open_block_txs))
    at = 0
    for pos, output, record in inputs:
        if record.bought * record.sell_amount < record.sold * record.buy_amount:
            return f"input {pos} sold {record.sold} for {record.bought}, below its limit {record.buy_amount}:{record.sell_amount}"
        if before.next_child_blknum >= record.expiry:
            return f"input {pos} filled in block {before.next_child_blknum}, expired at {record.expiry}"
        if not 0 < record.sold <= output.amount:
            return f"input {pos} sold {record.sold} of the {output.amount} open"
        at += 1
        remaining = output.amount - record.sold
        if remaining:
            remainder_pos = encode_utxo_pos(*slot, at)
            if after.utxos.get(remainder_pos) != Output(OUTPUT_TYPE_ORDER, output.owner, output.token, remaining):
                return f"input {pos} left {remaining} open; output {remainder_pos} is {after.utxos.get(remainder_pos)}"
            at += 1
    return None


def one_price_per_pair(before: State, event: Event, after: State) -> str | None:
    """A batch trades each pair at one price: some price p is within one unit of every fill's
    quote (|quote - base·p| < 1, the clearing's rounding rule: each quote amount is the exact
    one rounded down or up), and what one side of the pair sells, the other side buys, in each
    token. A fill at another price is more than a unit away from the others' common price."""
    found = _settlement(before, event)
    if not isinstance(found, tuple):
        return found
    tx, _ = found
    bounds: dict[tuple[bytes, bytes], tuple[Fraction, Fraction]] = {}  # the open interval of such p, per pair
    flows: dict[tuple[bytes, bytes], int] = {}  # (pair, token) -> sold minus bought
    for record in tx.records:
        base, quote = sorted((record.sell_token, record.buy_token))
        in_base, in_quote = (record.sold, record.bought) if record.sell_token == base else (record.bought, record.sold)
        low, high = Fraction(in_quote - 1, in_base), Fraction(in_quote + 1, in_base)
        if (base, quote) in bounds:
            was_low, was_high = bounds[(base, quote)]
            low, high = max(low, was_low), min(high, was_high)
        if low >= high:
            return f"pair {_hex(base)}/{_hex(quote)} trades at {in_quote}/{in_base}, more than a unit off the batch's other fills"
        bounds[(base, quote)] = (low, high)
        for token, amount in ((record.sell_token, record.sold), (record.buy_token, -record.bought)):
            flows[(base + quote, token)] = flows.get((base + quote, token), 0) + amount
    unbalanced = {key: amount for key, amount in flows.items() if amount}
    return None if not unbalanced else f"a pair's sides do not match: {len(unbalanced)} token flows left over"


def orders_in_custody(before: State, event: Event, after: State) -> str | None:
    """No event leaves an order output spendable by anyone but its owner: an order output is
    created only by an order (to the order's owner, for its sell amount) or by a settlement (the
    remainder, to the same owner, under the same terms), and recorded with its terms, so the
    custody rules apply to it; before its expiry, a payment spending one pays only its owner."""
    moved = moves(before, event)
    if isinstance(moved, str):
        return moved
    for pos, output in moved.created:
        if output.output_type != OUTPUT_TYPE_ORDER:
            continue
        terms = after.orders.get(pos)
        if not isinstance(event, (OrderPlaced, BatchSettled)) or terms is None:
            return f"{event.KIND} created order output {pos} outside an order or a settlement"
        if (terms.owner, terms.sell_token) != (output.owner, output.token) or output.amount > terms.sell_amount:
            return f"order output {pos} of {_hex(output.owner)} is held under the terms of {_hex(terms.owner)}"
    if isinstance(event, OrderPlaced):
        tx = _order_tx(event.tx)
        if tx is None or after.orders.get(moved.created[0][0]) != tx.terms or moved.created[0][1].amount != tx.terms.sell_amount:
            return "an order's output is not recorded under the terms it was signed with"
    for pos in moved.spent:
        output = before.utxos.get(pos)
        if output is None or output.output_type != OUTPUT_TYPE_ORDER:
            continue
        if isinstance(event, OrderPlaced):
            return f"order output {pos} funded another order"
        if isinstance(event, (Payment, StakeBonded)) and _paid_away(before, event.tx, pos, output):
            return f"order output {pos} was paid away from its owner before its expiry"
        if isinstance(event, BatchSettled) and _settled_to_others(event, pos, output):
            return f"settlement paid order output {pos} of {_hex(output.owner)} to someone else"
        if pos in after.orders:
            return f"spent order output {pos} is still an open order"
    return None


def _paid_away(before: State, raw: bytes, pos: int, output: Output) -> bool:
    """A payment spending an order output pays someone else before the order expires."""
    terms, tx = before.orders.get(pos), _tx(raw)
    if terms is None or tx is None:
        return True
    return before.next_child_blknum < terms.expiry and any(o.owner != output.owner for o in tx.outputs)


def _settled_to_others(event: BatchSettled, pos: int, output: Output) -> bool:
    tx = _settlement_tx(event.tx)
    assert tx is not None
    record = tx.records[tx.inputs.index(pos)]
    return record.owner != output.owner or record.sell_token != output.token


def order_book(state: State) -> str | None:
    """The order book is the set of order outputs: every unspent order output has its terms
    recorded (owner and sell token its own, no more open than the order's sell amount), and
    every recorded order is an unspent order output."""
    for pos, terms in state.orders.items():
        output = state.utxos.get(pos)
        if output is None or output.output_type != OUTPUT_TYPE_ORDER:
            return f"order {pos} is recorded but is no unspent order output"
        if (output.owner, output.token) != (terms.owner, terms.sell_token) or not 0 < output.amount <= terms.sell_amount:
            return f"order output {pos} holds {output.amount} of {_hex(output.token)} for {_hex(output.owner)}: not its terms"
    held = sum(1 for output in state.utxos.values() if output.output_type == OUTPUT_TYPE_ORDER)
    return None if held == len(state.orders) else f"{held} order outputs, {len(state.orders)} recorded orders"


CATALOGUE: tuple[Invariant, ...] = (
    Invariant(
        "INV-VALUE-CONSERVED",
        "Per token, deposits equal unspent outputs plus fees (open block and collected) plus value in exit and exited.",
        "Plasma paper (Poon, Buterin 2017) §3: the child chain only moves deposited value; OMG fees are the input-output surplus",
        "state",
        value_conserved,
    ),
    Invariant(
        "INV-PAYMENT-BALANCES",
        "A payment's inputs equal its outputs plus its fee, per token.",
        "elixir-omg OMG.State.Transaction.Validator (amounts_do_not_add_up) and OMG.Fees",
        "transition",
        payment_balances,
    ),
    Invariant(
        "INV-UNSPENT-TALLY",
        "The per-token unspent totals equal a recount of the UTXO set.",
        "Bookkeeping identity of the UTXO model (Bitcoin whitepaper §2, Plasma MVP)",
        "full",
        unspent_tally,
    ),
    Invariant(
        "INV-NO-DOUBLE-SPEND",
        "No output is spent twice; creating an output never overwrites one.",
        "Plasma MVP spec (Buterin 2018): each UTXO is spent at most once",
        "transition",
        no_double_spend,
    ),
    Invariant(
        "INV-SPEND-SIGNED",
        "Every spent input is signed by its owner (EIP-712, one signature per input).",
        "plasma-contracts PaymentOutputToPaymentTxCondition; elixir-omg unauthorized_spend",
        "transition",
        spends_authorized,
    ),
    Invariant(
        "INV-BLOCK-ORDER",
        "Child blocks are consecutive multiples of 1000; deposit blocks increase by one after each child block.",
        "plasma-contracts BlockController (childBlockInterval, nextDeposit)",
        "transition",
        block_order,
    ),
    Invariant(
        "INV-MERKLE-ROOT",
        "Every block's root is the depth-16 Merkle root of its transactions' unsigned bytes.",
        "plasma-contracts Merkle.sol and Vault.getDepositBlockRoot; elixir-omg OMG.Block.hashed_txs_at",
        "transition",
        merkle_roots,
    ),
    Invariant(
        "INV-OUTPUT-POSITIONS",
        "New outputs are placed at their block, transaction index and output index.",
        "plasma-contracts PosLib (utxo position = blknum*1e9 + txindex*1e4 + oindex)",
        "transition",
        outputs_in_their_block,
    ),
    Invariant(
        "INV-EXIT-TALLY",
        "The per-token value in exit equals a recount of exiting outputs and in-flight reserves.",
        "elixir-omg OMG.State.Core.exit_utxos: an exiting output leaves the child chain, its value stays in the vault",
        "full",
        exit_tally,
    ),
    Invariant(
        "INV-EXIT-PAID-ONCE",
        "Exits take only unspent outputs off the child chain; a ledger output is paid at most once.",
        "plasma-contracts PlasmaFramework.flagOutputFinalized / isOutputFinalized; Plasma MVP exit priority",
        "transition",
        exits_locked_and_paid_once,
    ),
    Invariant(
        "INV-STAKE-TALLY",
        "Bonded and unbonding totals equal a recount of validators and unbonding entries (with burned and liquid: the supply).",
        "Cosmos SDK x/staking: bonded + not-bonded pools equal the sum of validator tokens and unbonding entries",
        "full",
        stake_tally,
    ),
    Invariant(
        "INV-COMMIT-QUORUM",
        "A block is final only when validators holding more than 2/3 of the active stake signed it.",
        "Tendermint / CometBFT commit rule (+2/3 of voting power), Cosmos SDK x/staking",
        "transition",
        commit_quorum,
    ),
    Invariant(
        "INV-FEES-DISTRIBUTED",
        "Fees distributed plus the carried rounding dust equal the fees collected; each validator gets floor(pool * stake / total).",
        "OMG design: stakers collectively set and earn the fees; Cosmos SDK x/distribution (pro rata to stake, remainder kept)",
        "transition",
        fees_distributed_exactly,
    ),
    Invariant(
        "INV-SLASH-EXACT",
        "Equivocation cuts the validator's stake by exactly the slash fraction and jails it, once, on evidence no older than the unbonding period and from no future block; a self-report earns nothing.",
        "Cosmos SDK x/slashing (SlashFractionDoubleSign, jailing on double sign, tombstone; Keeper.Slash cuts unbonding entries too) and x/evidence (max evidence age)",
        "transition",
        slash_exact,
    ),
    Invariant(
        "INV-FEES-COLLECTED",
        "A block's fees are collected exactly, per token, before the block is sealed.",
        "elixir-omg OMG.State.Transaction.Validator.FeeClaim: a fee claim spends exactly the block's fees_paid",
        "transition",
        fees_collected_exactly,
    ),
    Invariant(
        "INV-OUTPUTS-POSITIVE",
        "Every output an event creates (deposit, payment, bond change, minted stake, reward or fee share) holds a positive amount.",
        "elixir-omg OMG.State.Transaction.Payment (amount_cant_be_zero); plasma-contracts PaymentTransactionModel (output amount must not be 0)",
        "transition",
        outputs_positive,
    ),
    Invariant(
        "INV-NON-NEGATIVE",
        "No tally (unspent, in exit, exited, unbacked, fees), stake total, validator stake, unbonding entry or in-flight reserve is negative.",
        "Bookkeeping: balances are amounts of tokens (Cosmos SDK x/bank and x/staking refuse negative coins)",
        "transition",
        non_negative,
    ),
    Invariant(
        "INV-UNBONDING-MATURE",
        "Unbonded stake is withdrawn whole, to its validator, only once its unbonding period has passed.",
        "Cosmos SDK x/staking: UnbondingDelegationEntry completes at its completion time (IsMature, CompleteUnbonding)",
        "transition",
        unbonding_matures,
    ),
    Invariant(
        "INV-EXIT-PAYOUT-BACKED",
        "An exit payout draws on the ledger exactly what backs it (the exiting output or the in-flight reserve), up to the amount paid; the rest is booked unbacked.",
        "MoreVP (Plasma research 2018) and plasma-contracts PaymentProcessInFlightExit: outputs are paid from the inputs' value",
        "transition",
        payouts_backed,
    ),
    Invariant(
        "INV-UNCLAIMED-OWED",
        "A payout its receiver refused stays owed to it, per token, until a claim takes all of it; nothing else changes it.",
        "plasma-contracts EthVault.withdraw (WithdrawFailed keeps the value in the vault); this root chain's vault claim",
        "transition",
        unclaimed_owed,
    ),
    Invariant(
        "INV-IFE-INSTANCE",
        "An in-flight exit's end closes its record and moves no value; only the same transaction restarts its id, as a fresh instance keeping the id's reserve.",
        "plasma-contracts PaymentExitGame: the in-flight exit id is derived from the transaction, deleteNonPiggybackedInFlightExit and processing empty the exit, outputs finalized per exit id",
        "transition",
        in_flight_instances,
    ),
    Invariant(
        "INV-TRADING-FEES-VOTED",
        "Each pair's trading fee is the lower stake-weighted median of the active validators' signed votes at the last epoch close (kept when none voted), at most the whole bought amount.",
        "OMG design: fees set by the stakers; this ledger's payment fee rule (same vote, epoch and median), issue 13",
        "transition",
        trading_fees_follow_the_votes,
    ),
    # the DEX (issue 13)
    Invariant(
        "INV-DEX-CONSERVED",
        "A settlement conserves value per token: the order outputs it spends equal the outputs it creates plus the trading fees it books.",
        "Issue 13 (value per token conserved, in = out + fees); CoW Protocol settlement (token conservation per batch); Gnosis DFusion (Walther et al. 2019), token balance constraint",
        "transition",
        settlement_conserves,
    ),
    Invariant(
        "INV-DEX-LIMIT",
        "Every fill is at or better than its limit, of an unexpired order, and never beyond the amount open; the rest stays the order's.",
        "Issue 13; CoW Protocol (limit price respected per order); Gnosis DFusion limit-price and order-volume constraints",
        "transition",
        fills_within_limits,
    ),
    Invariant(
        "INV-DEX-ONE-PRICE",
        "A batch settles each pair at one uniform price, and each pair's sides exchange exactly what the other side receives.",
        "Issue 13 (one price per pair per batch); CoW Protocol uniform clearing prices; Penumbra batch swaps (one price per pair per block)",
        "transition",
        one_price_per_pair,
    ),
    Invariant(
        "INV-DEX-CUSTODY",
        "No event leaves an order output spendable by anyone but its owner: created only by an order or a settlement's remainder for its owner, paid only back to its owner before expiry.",
        "Issue 13 and OmiseGO's Plasma DEX research (restricted custody); DEX.md Cancel; plasma-contracts output guards",
        "transition",
        orders_in_custody,
    ),
    Invariant(
        "INV-DEX-ORDER-BOOK",
        "The recorded open orders are exactly the unspent order outputs, each held under its own terms and no larger than its sell amount.",
        "Bookkeeping identity of restricted custody (issue 13): an order output's limit terms come from the transaction that created it",
        "full",
        order_book,
    ),
)

BY_ID = {invariant.id: invariant for invariant in CATALOGUE}
