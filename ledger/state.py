"""The ledger state: immutable, built from persistent maps so that applying an event
shares everything it does not touch (no copy of the UTXO set, ever).

Maps are `immutables.Map` (a HAMT); the open child block's transactions are a
pyrsistent `pvector`. Amounts are integers in the token's base unit.
"""
from __future__ import annotations

import attrs
from immutables import Map
from pyrsistent import PVector, pvector

from ledger.history import GENESIS_HASH
from proofs.payment import Output

CHILD_BLOCK_INTERVAL = 1000


@attrs.frozen
class Params:
    """Chain parameters fixed at genesis."""

    verifying_contract: bytes
    domain_separator: bytes
    fee_schedule: Map  # (tx_type, token) -> the exact fee; 0 makes the tx type free


@attrs.frozen
class Block:
    root: bytes
    tx_count: int
    is_deposit: bool
    log_head: bytes = b""  # a child block: the log's head hash before its seal, which commits sign


@attrs.frozen
class StandardExit:
    """A standard exit as the ledger saw it start; `backed` when the ledger held the output."""

    utxo_pos: int
    output: Output
    backed: bool
    status: str = "pending"  # pending | challenged | paid | omitted


@attrs.frozen
class InFlightExit:
    """An in-flight exit (MoreVP): the transaction, its inputs as the exit game saw them,
    canonicity, piggybacks and payouts. `reserve` holds, per token, the value of inputs
    consumed when a canonical but unincluded transaction's outputs began to be paid.

    The exit game's id is derived from the transaction, so once an exit ended (deleted, or
    its last queue entry processed) the same transaction can exit again under the same id:
    the record is then `ended`, and a restart replaces it, keeping the id's `reserve` and
    `inputs_consumed` (the exit game counts inputs it finalized for this id as this id's, so a
    later instance may pay outputs the earlier one left) and counting `restarts`."""

    tx: bytes  # unsigned bytes
    tx_hash: bytes
    inputs: tuple[tuple[int, Output], ...]  # (position, output) per input
    outputs: tuple[Output, ...]
    canonical: bool = True
    piggybacked: frozenset = frozenset()  # (is_output, index)
    withdrawn: frozenset = frozenset()  # (is_output, index)
    reserve: Map = Map()
    inputs_consumed: bool = False
    ended: bool = False
    restarts: int = 0  # instances under this id that ended before this one


@attrs.frozen
class StakingParams:
    """Fixed when staking opens. Periods count child blocks: the ledger has no clock."""

    token: bytes  # the staking token (OMG, deposited from the root chain)
    max_validators: int
    unbonding_blocks: int
    double_sign_slash_bps: int  # of the stake, in basis points
    reporter_reward_bps: int  # of the slashed amount
    epoch_blocks: int  # child blocks per fee epoch
    signed_blocks_window: int  # commits over which downtime is judged
    min_signed_bps: int  # of the window a validator must sign
    downtime_slash_bps: int
    jail_blocks: int  # child blocks a downtime jail lasts; equivocation jails for good


@attrs.frozen
class Validator:
    bls_key: bytes  # 48-byte compressed G1, registered with a proof of possession
    bonded: int = 0
    jailed: bool = False
    jailed_until: int = 0  # first open child block at which a downtime jail may end
    tombstoned: bool = False  # equivocated: jailed for good, as x/slashing's tombstone
    nonce: int = 0  # each signed request (unbond, vote, unjail) signs the next nonce: none replays
    fee_vote: Map = Map()  # (tx_type, token) -> voted fee
    missed: int = 0  # bit i set: missed the i-th most recent commit it was expected to sign
    expected: int = 0  # commits it was in the active set for, since bonding or its last downtime slash
    trading_fee_vote: Map = Map()  # (base, quote) -> voted trading fee in basis points


@attrs.frozen
class Unbonding:
    validator: bytes
    amount: int
    mature_at: int  # the first open child block at which it may be withdrawn


@attrs.frozen
class Staking:
    params: StakingParams
    validators: Map = Map()  # address -> Validator
    unbonding: Map = Map()  # (validator, nonce) -> Unbonding
    bonded_total: int = 0
    unbonding_total: int = 0
    burned: int = 0  # slashed and not paid to reporters
    commits: Map = Map()  # child blknum -> signer bitmap over the active set at commit time
    last_committed: int = 0
    evidence: Map = Map()  # (validator, blknum) -> reporter: each equivocation slashed once
    epoch: int = 0  # fee epochs closed
    fees_distributed: Map = Map()  # token -> paid out to validators
    trading_fees: Map = Map()  # (base, quote) -> trading fee in basis points, set at epoch closes


@attrs.frozen
class Effects:
    """What the last applied event did, for the invariant checks to re-verify.

    `spent` and `created` are (utxo position, output) pairs; `signers` are the
    addresses recovered from the signatures, one per input, in input order.
    """

    kind: str = ""
    spent: tuple[tuple[int, Output], ...] = ()
    created: tuple[tuple[int, Output], ...] = ()
    signers: tuple[bytes, ...] = ()
    fee_token: bytes = b""
    fee_amount: int = 0
    locked: tuple[tuple[int, Output], ...] = ()  # outputs an exit took off the child chain
    exited: tuple[tuple[int, Output], ...] = ()  # locked outputs the root chain paid
    unbacked: tuple[tuple[bytes, int], ...] = ()  # (token, amount) paid with no ledger backing


@attrs.frozen
class State:
    params: Params | None = None
    event_count: int = 0
    log_head: bytes = GENESIS_HASH  # hash of the last applied event's record (`ledger.history`)
    utxos: Map = Map()  # position -> Output
    spent: Map = Map()  # position -> spending event index
    blocks: Map = Map()  # blknum -> Block
    next_child_blknum: int = CHILD_BLOCK_INTERVAL
    last_deposit_blknum: int = 0
    open_block_txs: PVector = pvector()  # unsigned tx bytes (the Merkle leaves) of the open child block
    open_block_fees: Map = Map()  # token -> fees paid in the open block, not yet collected
    deposited: Map = Map()  # token -> total deposited
    unspent: Map = Map()  # token -> total of unspent outputs
    fees_collected: Map = Map()  # token -> total collected
    submitted_blknum: int = 0  # last child block whose root the root chain holds
    foreign_roots: Map = Map()  # blknum -> a root the root chain holds that this ledger did not seal
    root_cursor: tuple[int, bytes] = (-1, b"")  # (Ethereum block, hash) the root-chain facts reach
    tx_positions: Map = Map()  # keccak(unsigned tx) -> position of a sealed transaction (oindex 0)
    exits: Map = Map()  # exit id -> StandardExit | InFlightExit
    exiting: Map = Map()  # position -> Output taken off the child chain by an exit, not yet paid
    in_exit: Map = Map()  # token -> value of exiting outputs and in-flight reserves
    exited: Map = Map()  # token -> value the root chain paid for ledger outputs
    unbacked: Map = Map()  # token -> value the root chain paid for outputs the ledger did not hold
    staking: Staking | None = None
    unclaimed: Map = Map()  # (receiver, token) -> value a vault kept for a payout the receiver refused
    # the DEX (ledger/dex.py)
    orders: Map = Map()  # position -> OrderTerms of an order output unspent on the child chain
    order_ids: Map = Map()  # order id -> position where it was placed: an id names one order, ever
    settled_blknum: int = 0  # the last child block whose batch was settled
    effects: Effects = Effects()

    @property
    def next_deposit_blknum(self) -> int:
        """Where PlasmaFramework numbers the next deposit once the open block's predecessor is submitted."""
        open_base = self.next_child_blknum - CHILD_BLOCK_INTERVAL
        return max(self.last_deposit_blknum, open_base) + 1


GENESIS_STATE = State()


def advance(state: State, **changes: object) -> State:
    """The state after one more event, with `changes`: every rule's single evolve."""
    return attrs.evolve(state, event_count=state.event_count + 1, **changes)


def add_to(totals: Map, token: bytes, amount: int) -> Map:
    """`totals` with `amount` added under `token` (amount may be negative)."""
    return totals.set(token, totals.get(token, 0) + amount)
