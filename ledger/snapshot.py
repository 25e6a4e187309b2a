"""Snapshots: one canonical, versioned byte encoding of the ledger state, and its hash.

A snapshot is a cache that travels inside ledger files, so reading one must never execute
it (no pickle) and must never be trusted blindly: `decode_state` accepts exactly the bytes
`encode_state` writes (one encoding per state, maps sorted by key, strict RLP) and raises
`DecodeError("malformed_snapshot", …)` on anything else; `state_hash` is what the log's
`state_checkpoint` events commit to, so a snapshot is used only when its hash is one the
hash-chained log vouches for.

The encoding is RLP [MAGIC, VERSION, state]: each attrs class is the list of its fields in
declaration order, each by the codec its schema names below. `Effects` (what the last event
did, for the invariant hook) is not part of a state's identity and is not stored.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from immutables import Map
from pyrsistent import pvector

from ledger.state import (
    Block,
    InFlightExit,
    Params,
    Staking,
    StakingParams,
    StandardExit,
    State,
    Unbonding,
    Validator,
)
from proofs import rlp
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from proofs.payment import Output

MAGIC = b"omg-ledger state"
VERSION = 1


def _fail(detail: str) -> DecodeError:
    return DecodeError("malformed_snapshot", detail)


@attrs.frozen
class Codec:
    """`to_rlp(value) -> rlp item` and its strict inverse `from_rlp(item) -> value`."""

    to_rlp: Callable[[Any], rlp.Item]
    from_rlp: Callable[[rlp.Item], Any]


def _bytes_of(item: rlp.Item) -> bytes:
    if not isinstance(item, bytes):
        raise _fail("expected a byte string")
    return item


def _list_of(item: rlp.Item, length: int | None = None) -> list:
    if not isinstance(item, list) or (length is not None and len(item) != length):
        raise _fail(f"expected a list of {length if length is not None else 'any number of'} items")
    return item


def _uint(item: rlp.Item) -> int:
    raw = _bytes_of(item)
    if raw[:1] == b"\0" or len(raw) > 32:
        raise _fail("expected a minimal big-endian integer")
    return int.from_bytes(raw, "big")


def _flag(item: rlp.Item) -> bool:
    value = _uint(item)
    if value > 1:
        raise _fail("expected a flag, 0 or 1")
    return bool(value)


def _text(item: rlp.Item) -> str:
    try:
        return _bytes_of(item).decode("ascii")
    except UnicodeDecodeError:
        raise _fail("expected ASCII text") from None


def _fixed(length: int) -> Codec:
    def parse(item: rlp.Item) -> bytes:
        raw = _bytes_of(item)
        if len(raw) != length:
            raise _fail(f"expected {length} bytes, got {len(raw)}")
        return raw

    return Codec(bytes, parse)


UINT = Codec(rlp.encode_uint, _uint)
FLAG = Codec(lambda value: rlp.encode_uint(int(value)), _flag)
BYTES = Codec(bytes, _bytes_of)
TEXT = Codec(lambda value: value.encode("ascii"), _text)
ADDRESS, HASH = _fixed(20), _fixed(32)
# (Ethereum block, hash) of the root-chain cursor; (-1, b"") before the first sync.
CURSOR = Codec(lambda c: [rlp.encode_uint(c[0] + 1), c[1]], lambda item: _cursor(_list_of(item, 2)))


def _cursor(items: list) -> tuple[int, bytes]:
    block, digest = _uint(items[0]) - 1, _bytes_of(items[1])
    if (block < 0) != (digest == b"") or len(digest) not in (0, 32):
        raise _fail("malformed root-chain cursor")
    return block, digest


def tuple_of(*codecs: Codec) -> Codec:
    def parse(item: rlp.Item) -> tuple:
        return tuple(codec.from_rlp(part) for codec, part in zip(codecs, _list_of(item, len(codecs))))

    return Codec(lambda values: [codec.to_rlp(v) for codec, v in zip(codecs, values)], parse)


def sequence_of(codec: Codec, build: Callable = tuple) -> Codec:
    return Codec(lambda values: [codec.to_rlp(v) for v in values],
                 lambda item: build(codec.from_rlp(part) for part in _list_of(item)))


def _sorted_unique(encoded: list[bytes], what: str) -> None:
    """Canonical order: by encoded bytes, strictly increasing (so no duplicate keys either)."""
    if any(a >= b for a, b in zip(encoded, encoded[1:])):
        raise _fail(f"{what} not in canonical order")


def set_of(codec: Codec) -> Codec:
    def to_rlp(values: frozenset) -> list:
        return sorted((codec.to_rlp(v) for v in values), key=rlp.encode)

    def parse(item: rlp.Item) -> frozenset:
        parts = _list_of(item)
        _sorted_unique([rlp.encode(p) for p in parts], "set members")
        return frozenset(codec.from_rlp(p) for p in parts)

    return Codec(to_rlp, parse)


def map_of(key: Codec, value: Codec) -> Codec:
    """An immutables.Map as [[key, value], ...] sorted by the key's encoding."""

    def to_rlp(mapping: Map) -> list:
        pairs = [(key.to_rlp(k), v) for k, v in mapping.items()]
        pairs.sort(key=lambda pair: rlp.encode(pair[0]))
        return [[k, value.to_rlp(v)] for k, v in pairs]

    def parse(item: rlp.Item) -> Map:
        pairs = [_list_of(pair, 2) for pair in _list_of(item)]
        _sorted_unique([rlp.encode(k) for k, _ in pairs], "map keys")
        return Map((key.from_rlp(k), value.from_rlp(v)) for k, v in pairs)

    return Codec(to_rlp, parse)


def optional(codec: Codec) -> Codec:
    def parse(item: rlp.Item) -> Any:
        parts = _list_of(item)
        if len(parts) > 1:
            raise _fail("an optional value has at most one item")
        return codec.from_rlp(parts[0]) if parts else None

    return Codec(lambda value: [] if value is None else [codec.to_rlp(value)], parse)


def record(cls: type, **fields: Codec) -> Codec:
    """An attrs class (or NamedTuple) as the list of its fields, in declaration order."""
    names = [f.name for f in attrs.fields(cls)] if attrs.has(cls) else list(cls._fields)
    assert names == list(fields), f"{cls.__name__}: schema {list(fields)} != fields {names}"
    codecs = list(fields.values())

    def to_rlp(obj: Any) -> list:
        return [codec.to_rlp(getattr(obj, name)) for name, codec in zip(names, codecs)]

    def parse(item: rlp.Item) -> Any:
        return cls(*(codec.from_rlp(part) for codec, part in zip(codecs, _list_of(item, len(codecs)))))

    return Codec(to_rlp, parse)


OUTPUT = record(Output, output_type=UINT, owner=ADDRESS, token=ADDRESS, amount=UINT)
TOKEN_TOTALS = map_of(ADDRESS, UINT)
FEE_KEY = tuple_of(UINT, ADDRESS)  # (tx type, token)
PARAMS = record(Params, verifying_contract=ADDRESS, domain_separator=HASH, fee_schedule=map_of(FEE_KEY, UINT))
BLOCK = record(Block, root=HASH, tx_count=UINT, is_deposit=FLAG, log_head=BYTES)
STANDARD_EXIT = record(StandardExit, utxo_pos=UINT, output=OUTPUT, backed=FLAG, status=TEXT)
IN_FLIGHT_EXIT = record(
    InFlightExit,
    tx=BYTES,
    tx_hash=HASH,
    inputs=sequence_of(tuple_of(UINT, OUTPUT)),
    outputs=sequence_of(OUTPUT),
    canonical=FLAG,
    piggybacked=set_of(tuple_of(FLAG, UINT)),
    withdrawn=set_of(tuple_of(FLAG, UINT)),
    reserve=TOKEN_TOTALS,
    inputs_consumed=FLAG,
)
# The two kinds of exit share one map: a tag says which.
_EXIT_KINDS: tuple[tuple[type, Codec], ...] = ((StandardExit, STANDARD_EXIT), (InFlightExit, IN_FLIGHT_EXIT))


def _exit_to_rlp(value: StandardExit | InFlightExit) -> list:
    tag = next(i for i, (cls, _) in enumerate(_EXIT_KINDS) if type(value) is cls)
    return [rlp.encode_uint(tag), _EXIT_KINDS[tag][1].to_rlp(value)]


def _exit_from_rlp(item: rlp.Item) -> StandardExit | InFlightExit:
    tag, body = _list_of(item, 2)
    kind = _uint(tag)
    if kind >= len(_EXIT_KINDS):
        raise _fail(f"unknown exit kind {kind}")
    return _EXIT_KINDS[kind][1].from_rlp(body)


EXIT = Codec(_exit_to_rlp, _exit_from_rlp)
STAKING_PARAMS = record(StakingParams, token=ADDRESS, **{f.name: UINT for f in attrs.fields(StakingParams)[1:]})
VALIDATOR = record(
    Validator,
    bls_key=BYTES,
    bonded=UINT,
    jailed=FLAG,
    jailed_until=UINT,
    tombstoned=FLAG,
    nonce=UINT,
    fee_vote=map_of(FEE_KEY, UINT),
    missed=UINT,
    expected=UINT,
)
UNBONDING = record(Unbonding, validator=ADDRESS, amount=UINT, mature_at=UINT)
STAKING = record(
    Staking,
    params=STAKING_PARAMS,
    validators=map_of(ADDRESS, VALIDATOR),
    unbonding=map_of(tuple_of(ADDRESS, UINT), UNBONDING),
    bonded_total=UINT,
    unbonding_total=UINT,
    burned=UINT,
    commits=map_of(UINT, BYTES),
    last_committed=UINT,
    evidence=map_of(tuple_of(ADDRESS, UINT), ADDRESS),
    epoch=UINT,
    fees_distributed=TOKEN_TOTALS,
)
_STATE_FIELDS: dict[str, Codec] = dict(
    params=optional(PARAMS),
    event_count=UINT,
    log_head=HASH,
    utxos=map_of(UINT, OUTPUT),
    spent=map_of(UINT, UINT),
    blocks=map_of(UINT, BLOCK),
    next_child_blknum=UINT,
    last_deposit_blknum=UINT,
    open_block_txs=sequence_of(BYTES, pvector),
    open_block_fees=TOKEN_TOTALS,
    deposited=TOKEN_TOTALS,
    unspent=TOKEN_TOTALS,
    fees_collected=TOKEN_TOTALS,
    submitted_blknum=UINT,
    foreign_roots=map_of(UINT, HASH),
    root_cursor=CURSOR,
    tx_positions=map_of(HASH, UINT),
    exits=map_of(UINT, EXIT),
    exiting=map_of(UINT, OUTPUT),
    in_exit=TOKEN_TOTALS,
    exited=TOKEN_TOTALS,
    unbacked=TOKEN_TOTALS,
    staking=optional(STAKING),
)
assert [f.name for f in attrs.fields(State)] == [*_STATE_FIELDS, "effects"], "every State field needs a codec"
_STATE_CODECS = tuple(_STATE_FIELDS.values())


def encode_state(state: State) -> bytes:
    """The canonical bytes of `state` (its `effects` excluded)."""
    body = [codec.to_rlp(getattr(state, name)) for name, codec in _STATE_FIELDS.items()]
    return rlp.encode([MAGIC, rlp.encode_uint(VERSION), body])


def decode_state(raw: bytes) -> State:
    """The state encoded in `raw`; `DecodeError` unless `raw` is exactly a canonical encoding."""
    try:
        items = rlp.decode(raw)
    except DecodeError as exc:
        raise _fail(exc.detail) from None
    magic, version, body = _list_of(items, 3)
    if magic != MAGIC:
        raise _fail("not an omg-ledger state")
    if _uint(version) != VERSION:
        raise DecodeError("unsupported_snapshot_version", f"version {_uint(version)}; this build reads {VERSION}")
    parts = _list_of(body, len(_STATE_CODECS))
    try:
        state = State(**{name: codec.from_rlp(part) for (name, codec), part in zip(_STATE_FIELDS.items(), parts)})
    except (TypeError, ValueError) as exc:  # a well-formed item of the wrong shape for its class
        if isinstance(exc, DecodeError):
            raise
        raise _fail(str(exc)) from None
    if encode_state(state) != raw:
        raise _fail("not the canonical encoding of the state it holds")
    return state


def state_hash(state: State) -> bytes:
    return keccak256(encode_state(state))
