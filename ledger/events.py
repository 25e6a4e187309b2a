"""Ledger events: frozen classes with one canonical byte encoding each.

encode(event) = RLP [kind, field...] with integers minimal big-endian, so an event's
bytes (and the hash chain over them) are the same on every machine. Events carry
what is needed to re-verify them: payments carry their signed transaction bytes.
"""
from __future__ import annotations

from typing import Callable, ClassVar, Union

import attrs

from proofs import rlp
from proofs.errors import DecodeError


def _parse_uint(item: object) -> int:
    if not isinstance(item, bytes) or item[:1] == b"\0" or len(item) > 32:
        raise DecodeError("malformed_event", "expected a minimal big-endian integer")
    return int.from_bytes(item, "big")


def _parse_bytes(length: int | None) -> Callable[[object], bytes]:
    def parse(item: object) -> bytes:
        if not isinstance(item, bytes) or (length is not None and len(item) != length):
            raise DecodeError("malformed_event", f"expected {length or 'a'} byte string")
        return item

    return parse


@attrs.frozen
class FeeRule:
    """The minimum fee, in `token`, for a transaction of `tx_type`."""

    tx_type: int
    token: bytes
    amount: int


def _parse_fee_rules(item: object) -> tuple[FeeRule, ...]:
    if not isinstance(item, list) or not all(isinstance(rule, list) and len(rule) == 3 for rule in item):
        raise DecodeError("malformed_event", "fee schedule must be a list of [txType, token, amount]")
    return tuple(FeeRule(_parse_uint(t), _parse_bytes(20)(tok), _parse_uint(a)) for t, tok, a in item)


def _fee_rules_rlp(rules: tuple[FeeRule, ...]) -> list:
    return [[rlp.encode_uint(r.tx_type), r.token, rlp.encode_uint(r.amount)] for r in rules]


@attrs.frozen
class PairFee:
    """The trading fee of the pair (base, quote), base < quote bytewise, in basis points of
    the bought amount, whichever way the pair trades."""

    base: bytes
    quote: bytes
    bps: int


def _parse_pair_fees(item: object) -> tuple[PairFee, ...]:
    if not isinstance(item, list) or not all(isinstance(fee, list) and len(fee) == 3 for fee in item):
        raise DecodeError("malformed_event", "pair fees must be a list of [base, quote, bps]")
    return tuple(PairFee(_parse_bytes(20)(b), _parse_bytes(20)(q), _parse_uint(bps)) for b, q, bps in item)


def _pair_fees_rlp(fees: tuple[PairFee, ...]) -> list:
    return [[f.base, f.quote, rlp.encode_uint(f.bps)] for f in fees]


def _list_of(codec: tuple) -> tuple:
    to_rlp, parse = codec

    def parse_list(item: object) -> tuple:
        if not isinstance(item, list):
            raise DecodeError("malformed_event", "expected a list")
        return tuple(parse(element) for element in item)

    return (lambda values: [to_rlp(value) for value in values], parse_list)


UINT = (rlp.encode_uint, _parse_uint)
BYTES = (bytes, _parse_bytes(None))
ADDRESS = (bytes, _parse_bytes(20))
HASH = (bytes, _parse_bytes(32))
FEE_RULES = (_fee_rules_rlp, _parse_fee_rules)
PAIR_FEES = (_pair_fees_rlp, _parse_pair_fees)
UINTS = _list_of(UINT)
BYTES_LIST = _list_of(BYTES)


def _parse_flag(item: object) -> bool:
    value = _parse_uint(item)
    if value > 1:
        raise DecodeError("malformed_event", "expected a flag, 0 or 1")
    return bool(value)


FLAG = (lambda flag: rlp.encode_uint(int(flag)), _parse_flag)


@attrs.frozen
class Genesis:
    """Opens a ledger: the EIP-712 verifying contract and the fee schedule."""

    KIND: ClassVar[str] = "genesis"
    SCHEMA: ClassVar[tuple] = (ADDRESS, FEE_RULES)
    verifying_contract: bytes
    fee_schedule: tuple[FeeRule, ...] = ()


@attrs.frozen
class Deposit:
    """A deposit transaction (no inputs, one output) in deposit block `blknum`."""

    KIND: ClassVar[str] = "deposit"
    SCHEMA: ClassVar[tuple] = (UINT, BYTES)
    blknum: int
    tx: bytes


@attrs.frozen
class Payment:
    """A signed payment transaction, appended to the open child block."""

    KIND: ClassVar[str] = "payment"
    SCHEMA: ClassVar[tuple] = (BYTES,)
    tx: bytes


@attrs.frozen
class FeeCollected:
    """The fees in `token` paid by the transactions of the open child block `blknum`."""

    KIND: ClassVar[str] = "fee_collected"
    SCHEMA: ClassVar[tuple] = (UINT, ADDRESS, UINT)
    blknum: int
    token: bytes
    amount: int


@attrs.frozen
class BlockSealed:
    """Closes child block `blknum` with the Merkle root of its `tx_count` transactions."""

    KIND: ClassVar[str] = "block_sealed"
    SCHEMA: ClassVar[tuple] = (UINT, HASH, UINT)
    blknum: int
    root: bytes
    tx_count: int


# --- root-chain facts: what the PlasmaFramework and the payment exit game logged ---
# A Deposit (above) is the root-chain deposit observed; the events below follow the
# exit game's own events field for field, so the follower maps them one to one.


@attrs.frozen
class BlockSubmitted:
    """The root chain holds `root` for child block `blknum` (PlasmaFramework.BlockSubmitted)."""

    KIND: ClassVar[str] = "block_submitted"
    SCHEMA: ClassVar[tuple] = (UINT, HASH)
    blknum: int
    root: bytes


@attrs.frozen
class ExitStarted:
    """A standard exit of output `utxo_pos` of `output_tx` (unsigned bytes) started."""

    KIND: ClassVar[str] = "exit_started"
    SCHEMA: ClassVar[tuple] = (UINT, UINT, BYTES)
    exit_id: int
    utxo_pos: int
    output_tx: bytes


@attrs.frozen
class ExitChallenged:
    """A standard exit was shown spent; the challenger took its bond."""

    KIND: ClassVar[str] = "exit_challenged"
    SCHEMA: ClassVar[tuple] = (UINT,)
    exit_id: int


@attrs.frozen
class ExitProcessed:
    """A standard exit's turn came: `paid` (ExitFinalized) or omitted (ExitOmitted)."""

    KIND: ClassVar[str] = "exit_processed"
    SCHEMA: ClassVar[tuple] = (UINT, FLAG)
    exit_id: int
    paid: bool


@attrs.frozen
class InFlightExitStarted:
    """An in-flight exit of `tx` (unsigned bytes), whose inputs are outputs of `input_txs`."""

    KIND: ClassVar[str] = "in_flight_exit_started"
    SCHEMA: ClassVar[tuple] = (UINT, BYTES, BYTES_LIST, UINTS)
    exit_id: int
    tx: bytes
    input_txs: tuple[bytes, ...]
    input_positions: tuple[int, ...]


@attrs.frozen
class InFlightExitPiggybacked:
    """The owner of input or output `index` of an in-flight exit joined it with a bond."""

    KIND: ClassVar[str] = "in_flight_exit_piggybacked"
    SCHEMA: ClassVar[tuple] = (UINT, FLAG, UINT)
    exit_id: int
    is_output: bool
    index: int


@attrs.frozen
class InFlightExitChallenged:
    """A competitor spending an input was shown: the exit is non-canonical for now."""

    KIND: ClassVar[str] = "in_flight_exit_challenged"
    SCHEMA: ClassVar[tuple] = (UINT, UINT)
    exit_id: int
    competitor_pos: int  # the competitor's tx position, 0 when it is not in a block


@attrs.frozen
class InFlightExitResponded:
    """The in-flight transaction was shown included at `tx_pos`: canonical again."""

    KIND: ClassVar[str] = "in_flight_exit_responded"
    SCHEMA: ClassVar[tuple] = (UINT, UINT)
    exit_id: int
    tx_pos: int


@attrs.frozen
class PiggybackChallenged:
    """A piggybacked input or output was shown spent; the piggyback is removed."""

    KIND: ClassVar[str] = "piggyback_challenged"
    SCHEMA: ClassVar[tuple] = (UINT, FLAG, UINT)
    exit_id: int
    is_output: bool
    index: int


@attrs.frozen
class InFlightExitWithdrawn:
    """Processing paid piggybacked input or output `index` of an in-flight exit."""

    KIND: ClassVar[str] = "in_flight_exit_withdrawn"
    SCHEMA: ClassVar[tuple] = (UINT, FLAG, UINT)
    exit_id: int
    is_output: bool
    index: int


@attrs.frozen
class InFlightExitDeleted:
    """An in-flight exit nobody piggybacked was deleted after its first phase (its bond returned)."""

    KIND: ClassVar[str] = "in_flight_exit_deleted"
    SCHEMA: ClassVar[tuple] = (UINT,)
    exit_id: int


@attrs.frozen
class InFlightExitFinalized:
    """Processing the last queue entry of an in-flight exit ended it (its bond returned)."""

    KIND: ClassVar[str] = "in_flight_exit_finalized"
    SCHEMA: ClassVar[tuple] = (UINT,)
    exit_id: int


@attrs.frozen
class RootChainSynced:
    """Every root-chain fact up to Ethereum block `eth_block` (hash `eth_hash`) is in the log:
    the follower's cursor, appended in the same batch as the facts, so it moves with them."""

    KIND: ClassVar[str] = "root_chain_synced"
    SCHEMA: ClassVar[tuple] = (UINT, HASH)
    eth_block: int
    eth_hash: bytes


@attrs.frozen
class PayoutFailed:
    """A vault kept an exit's payout that its receiver refused (its WithdrawFailed): the value
    stays in the vault, owed to `receiver` until it claims it. The exit itself is still paid:
    its output left the child chain for good."""

    KIND: ClassVar[str] = "payout_failed"
    SCHEMA: ClassVar[tuple] = (ADDRESS, ADDRESS, UINT)
    receiver: bytes
    token: bytes
    amount: int


@attrs.frozen
class PayoutClaimed:
    """The receiver of payouts that failed took them out of the vault (its WithdrawClaimed)."""

    KIND: ClassVar[str] = "payout_claimed"
    SCHEMA: ClassVar[tuple] = (ADDRESS, ADDRESS, UINT)
    receiver: bytes
    token: bytes
    amount: int


# --- proof of stake ---------------------------------------------------------------


@attrs.frozen
class StakingOpened:
    """Opens staking in `token` with its parameters (once)."""

    KIND: ClassVar[str] = "staking_opened"
    SCHEMA: ClassVar[tuple] = (ADDRESS, UINT, UINT, UINT, UINT, UINT, UINT, UINT, UINT, UINT)
    token: bytes
    max_validators: int
    unbonding_blocks: int
    double_sign_slash_bps: int
    reporter_reward_bps: int
    epoch_blocks: int
    signed_blocks_window: int
    min_signed_bps: int
    downtime_slash_bps: int
    jail_blocks: int


@attrs.frozen
class StakeBonded:
    """A signed payment whose outputs to the staking pool bond the signer's stake; the first
    bond registers the validator's BLS key with its proof of possession."""

    KIND: ClassVar[str] = "stake_bonded"
    SCHEMA: ClassVar[tuple] = (BYTES, BYTES, BYTES)
    tx: bytes
    bls_key: bytes
    pop: bytes


@attrs.frozen
class UnbondingStarted:
    """The validator asks (secp256k1 signature) to unbond `amount`, under its next nonce."""

    KIND: ClassVar[str] = "unbonding_started"
    SCHEMA: ClassVar[tuple] = (ADDRESS, UINT, BYTES)
    validator: bytes
    amount: int
    signature: bytes


@attrs.frozen
class StakeWithdrawn:
    """A matured unbonding returns to its validator as a new output in the open block."""

    KIND: ClassVar[str] = "stake_withdrawn"
    SCHEMA: ClassVar[tuple] = (ADDRESS, UINT)
    validator: bytes
    nonce: int


@attrs.frozen
class BlockCommitted:
    """Validators' BLS signatures of a sealed child block, aggregated, and who signed; the
    block's proposer is the one the seed draws for `round` (a round per absent proposer)."""

    KIND: ClassVar[str] = "block_committed"
    SCHEMA: ClassVar[tuple] = (UINT, UINT, ADDRESS, BYTES, BYTES)
    blknum: int
    round: int
    proposer: bytes
    signers: bytes  # bitmap over the active set, ordered by address
    signature: bytes


@attrs.frozen
class ValidatorUnjailed:
    """A validator jailed for downtime returns after its jail time (signed, next nonce)."""

    KIND: ClassVar[str] = "validator_unjailed"
    SCHEMA: ClassVar[tuple] = (ADDRESS, BYTES)
    validator: bytes
    signature: bytes


@attrs.frozen
class Equivocation:
    """Evidence: `validator` signed two different (root, log head) pairs for child block `blknum`."""

    KIND: ClassVar[str] = "equivocation"
    SCHEMA: ClassVar[tuple] = (ADDRESS, ADDRESS, UINT, HASH, HASH, BYTES, HASH, HASH, BYTES)
    reporter: bytes
    validator: bytes
    blknum: int
    root_a: bytes
    head_a: bytes
    signature_a: bytes
    root_b: bytes
    head_b: bytes
    signature_b: bytes


@attrs.frozen
class FeeVoted:
    """A validator's fee schedule vote (secp256k1 signature over it and its next vote nonce)."""

    KIND: ClassVar[str] = "fee_voted"
    SCHEMA: ClassVar[tuple] = (ADDRESS, FEE_RULES, BYTES)
    validator: bytes
    schedule: tuple[FeeRule, ...]
    signature: bytes


@attrs.frozen
class FeeEpochClosed:
    """Closes fee epoch `epoch`: `schedule` is the stake-weighted median of the votes (the
    rule recomputes and compares it) and the collected fees go to the validators by stake.
    `trading_fees`, the same median of the trading fee votes per pair, came later: it is
    left out of the encoding when empty, so the closes logged before it keep their bytes."""

    KIND: ClassVar[str] = "fee_epoch_closed"
    SCHEMA: ClassVar[tuple] = (UINT, FEE_RULES, PAIR_FEES)
    LATER: ClassVar[int] = 1  # trailing fields added since; written only when not at their default
    epoch: int
    schedule: tuple[FeeRule, ...]
    trading_fees: tuple[PairFee, ...] = ()


@attrs.frozen
class TradingFeeVoted:
    """A validator's trading fee vote, per pair (secp256k1 signature over it and the
    validator's next nonce, the one its fee votes use): a vote replaces its previous one."""

    KIND: ClassVar[str] = "trading_fee_voted"
    SCHEMA: ClassVar[tuple] = (ADDRESS, PAIR_FEES, BYTES)
    validator: bytes
    fees: tuple[PairFee, ...]
    signature: bytes


# --- the DEX: orders in restricted custody, settled in one batch per child block ---------


@attrs.frozen
class OrderPlaced:
    """A signed ORDER transaction (tx type 4, `proofs.order`), appended to the open child block:
    its inputs fund an order output that only a settlement, its owner's cancel or, after
    expiry, its owner can spend."""

    KIND: ClassVar[str] = "order_placed"
    SCHEMA: ClassVar[tuple] = (BYTES,)
    tx: bytes


@attrs.frozen
class BatchSettled:
    """The SETTLEMENT transaction (tx type 5) of child block `blknum`'s batch, as the operator
    proposed it before the seal; `apply` recomputes it from the open orders and refuses any other."""

    KIND: ClassVar[str] = "batch_settled"
    SCHEMA: ClassVar[tuple] = (UINT, BYTES)
    blknum: int
    tx: bytes


# --- the log's own bookkeeping --------------------------------------------------------


@attrs.frozen
class StateCheckpoint:
    """The hash of the state after every event before this one (`ledger.snapshot.state_hash`):
    the log's commitment to a snapshot taken there, re-derived by every replay."""

    KIND: ClassVar[str] = "state_checkpoint"
    SCHEMA: ClassVar[tuple] = (HASH,)
    state_hash: bytes


Event = Union[
    Genesis, Deposit, Payment, FeeCollected, BlockSealed, BlockSubmitted,
    ExitStarted, ExitChallenged, ExitProcessed,
    InFlightExitStarted, InFlightExitPiggybacked, InFlightExitChallenged, InFlightExitResponded,
    PiggybackChallenged, InFlightExitWithdrawn, InFlightExitDeleted, InFlightExitFinalized, RootChainSynced, PayoutFailed, PayoutClaimed,
    StakingOpened, StakeBonded, UnbondingStarted, StakeWithdrawn, BlockCommitted, Equivocation,
    FeeVoted, FeeEpochClosed, ValidatorUnjailed, StateCheckpoint,
    TradingFeeVoted,
    OrderPlaced, BatchSettled,
]
EVENT_TYPES: dict[str, type] = {cls.KIND: cls for cls in Event.__args__}  # type: ignore[attr-defined]


def encode(event: Event) -> bytes:
    values = list(attrs.astuple(event, recurse=False))
    while len(values) > _required(type(event)) and values[-1] == _default(type(event), len(values) - 1):
        values.pop()  # a later field at its default is left out: older events keep their bytes
    fields = [to_rlp(value) for (to_rlp, _), value in zip(event.SCHEMA, values)]
    return rlp.encode([event.KIND.encode(), *fields])


def _required(cls: type) -> int:
    """How many fields every encoding of `cls` has: all but the `LATER` ones."""
    return len(cls.SCHEMA) - getattr(cls, "LATER", 0)


def _default(cls: type, index: int) -> object:
    return attrs.fields(cls)[index].default


def decode(raw: bytes) -> Event:
    """The event encoded in `raw`; `DecodeError` if it is not a canonical event encoding."""
    try:
        items = rlp.decode(raw)
    except DecodeError as exc:
        raise DecodeError("malformed_event", exc.detail) from None
    if not isinstance(items, list) or not items or not isinstance(items[0], bytes):
        raise DecodeError("malformed_event", "an event is an RLP list headed by its kind")
    cls = EVENT_TYPES.get(items[0].decode("ascii", "replace"))
    if cls is None:
        raise DecodeError("unknown_event_kind", repr(items[0]))
    if not _required(cls) <= len(items) - 1 <= len(cls.SCHEMA):
        raise DecodeError("malformed_event", f"{cls.KIND} has {len(cls.SCHEMA)} fields, got {len(items) - 1}")
    event = cls(*(parse(item) for (_, parse), item in zip(cls.SCHEMA, items[1:])))
    if len(items) - 1 > _required(cls) and encode(event) != raw:
        raise DecodeError("malformed_event", f"{cls.KIND} writes a later field at its default")
    return event
