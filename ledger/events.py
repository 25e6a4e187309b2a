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


UINT = (rlp.encode_uint, _parse_uint)
BYTES = (bytes, _parse_bytes(None))
ADDRESS = (bytes, _parse_bytes(20))
HASH = (bytes, _parse_bytes(32))
FEE_RULES = (_fee_rules_rlp, _parse_fee_rules)


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


Event = Union[Genesis, Deposit, Payment, FeeCollected, BlockSealed]
EVENT_TYPES: dict[str, type] = {cls.KIND: cls for cls in (Genesis, Deposit, Payment, FeeCollected, BlockSealed)}


def encode(event: Event) -> bytes:
    values = attrs.astuple(event, recurse=False)
    fields = [to_rlp(value) for (to_rlp, _), value in zip(event.SCHEMA, values)]
    return rlp.encode([event.KIND.encode(), *fields])


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
    if len(items) - 1 != len(cls.SCHEMA):
        raise DecodeError("malformed_event", f"{cls.KIND} has {len(cls.SCHEMA)} fields, got {len(items) - 1}")
    return cls(*(parse(item) for (_, parse), item in zip(cls.SCHEMA, items[1:])))
