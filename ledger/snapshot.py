"""Snapshots: one canonical, versioned byte encoding of the ledger state, and its hash.

A snapshot is a cache that travels inside ledger files, so reading one must never execute
it (no pickle) and must never be trusted blindly: `decode_state` accepts exactly the bytes
`encode_state` writes (one encoding per state, maps in ascending key order, strict RLP) and raises
`DecodeError("malformed_snapshot", …)` on anything else; `state_hash` is what the log's
`state_checkpoint` events commit to, so a snapshot is used only when its hash is one the
hash-chained log vouches for.

The encoding is RLP [MAGIC, VERSION, state]: each attrs class is the list of its fields in
declaration order, each by the codec its schema names below. `Effects` (what the last event
did, for the invariant hook) is not part of a state's identity and is not stored.
"""
from __future__ import annotations

import operator
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
from proofs.order import OrderTerms
from proofs.payment import Output

MAGIC = b"omg-ledger state"
VERSION = 1


def _fail(detail: str) -> DecodeError:
    return DecodeError("malformed_snapshot", detail)


@attrs.frozen
class Codec:
    """`encode(value) -> RLP bytes` and its strict inverse `from_rlp(decoded item) -> value`.
    Encoders write bytes directly (no intermediate item tree): a snapshot holds every output
    and every spent position, so this is the hot path of taking one."""

    encode: Callable[[Any], bytes]
    from_rlp: Callable[[rlp.Item], Any]


def _string(raw: bytes) -> bytes:
    if len(raw) == 1 and raw[0] < 0x80:
        return raw
    return rlp.string_header(len(raw)) + raw


def _list(parts: list[bytes]) -> bytes:
    payload = b"".join(parts)
    return rlp.list_header(len(payload)) + payload


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

    return Codec(_string, parse)


UINT = Codec(lambda value: _string(rlp.encode_uint(value)), _uint)
FLAG = Codec(lambda value: b"\x01" if value else b"\x80", _flag)
BYTES = Codec(_string, _bytes_of)
TEXT = Codec(lambda value: _string(value.encode("ascii")), _text)
ADDRESS, HASH = _fixed(20), _fixed(32)
# (Ethereum block, hash) of the root-chain cursor; (-1, b"") before the first sync.
CURSOR = Codec(lambda c: _list([UINT.encode(c[0] + 1), _string(c[1])]), lambda item: _cursor(_list_of(item, 2)))


def _cursor(items: list) -> tuple[int, bytes]:
    block, digest = _uint(items[0]) - 1, _bytes_of(items[1])
    if (block < 0) != (digest == b"") or len(digest) not in (0, 32):
        raise _fail("malformed root-chain cursor")
    return block, digest


def tuple_of(*codecs: Codec) -> Codec:
    def parse(item: rlp.Item) -> tuple:
        return tuple(codec.from_rlp(part) for codec, part in zip(codecs, _list_of(item, len(codecs))))

    return Codec(lambda values: _list([codec.encode(v) for codec, v in zip(codecs, values)]), parse)


def sequence_of(codec: Codec, build: Callable = tuple) -> Codec:
    return Codec(lambda values: _list([codec.encode(v) for v in values]),
                 lambda item: build(codec.from_rlp(part) for part in _list_of(item)))


def _strictly_increasing(keys: list, what: str) -> None:
    """Canonical order: ascending by value (ints numerically, bytes and tuples as Python
    orders them), with no key twice."""
    if any(a >= b for a, b in zip(keys, keys[1:])):
        raise _fail(f"{what} not in canonical order")


def set_of(codec: Codec) -> Codec:
    def parse(item: rlp.Item) -> frozenset:
        members = [codec.from_rlp(p) for p in _list_of(item)]
        _strictly_increasing(members, "set members")
        return frozenset(members)

    return Codec(lambda values: _list([codec.encode(v) for v in sorted(values)]), parse)


def map_of(key: Codec, value: Codec) -> Codec:
    """An immutables.Map as [[key, value], ...] in ascending key order."""
    encode_key, encode_value = key.encode, value.encode

    def encode(mapping: Map) -> bytes:
        return _list([_list([encode_key(k), encode_value(v)]) for k, v in sorted(mapping.items())])

    def parse(item: rlp.Item) -> Map:
        pairs = [(key.from_rlp(k), value.from_rlp(v)) for k, v in (_list_of(pair, 2) for pair in _list_of(item))]
        _strictly_increasing([k for k, _ in pairs], "map keys")
        return Map(pairs)

    return Codec(encode, parse)


def optional(codec: Codec) -> Codec:
    def parse(item: rlp.Item) -> Any:
        parts = _list_of(item)
        if len(parts) > 1:
            raise _fail("an optional value has at most one item")
        return codec.from_rlp(parts[0]) if parts else None

    return Codec(lambda value: _list([] if value is None else [codec.encode(value)]), parse)


def record(cls: type, later: int = 0, **fields: Codec) -> Codec:
    """An attrs class (or NamedTuple) as the list of its fields, in declaration order. The last
    `later` fields were added since version 1: trailing ones at their defaults are left out, so
    a record without them keeps its bytes (and the states holding it their hashes)."""
    names = [f.name for f in attrs.fields(cls)] if attrs.has(cls) else list(cls._fields)
    assert names == list(fields), f"{cls.__name__}: schema {list(fields)} != fields {names}"
    codecs = list(fields.values())
    getter = operator.attrgetter(*names)
    encoders = [codec.encode for codec in codecs]
    first_later = len(codecs) - later
    defaults = [f.default for f in attrs.fields(cls)[first_later:]] if later else []

    def encode(obj: Any) -> bytes:
        values = list(getter(obj))
        while len(values) > first_later and values[-1] == defaults[len(values) - 1 - first_later]:
            values.pop()
        return _list([enc(v) for enc, v in zip(encoders, values)])

    def parse(item: rlp.Item) -> Any:
        parts = _list_of(item)
        if not first_later <= len(parts) <= len(codecs):
            raise _fail(f"a {cls.__name__} has {first_later} to {len(codecs)} fields, got {len(parts)}")
        return cls(*(codec.from_rlp(part) for codec, part in zip(codecs, parts)))

    return Codec(encode, parse)


OUTPUT = record(Output, output_type=UINT, owner=ADDRESS, token=ADDRESS, amount=UINT)
ORDER_TERMS = record(OrderTerms, owner=ADDRESS, sell_token=ADDRESS, buy_token=ADDRESS, sell_amount=UINT,
                     buy_amount=UINT, expiry=UINT, nonce=UINT)
TOKEN_TOTALS = map_of(ADDRESS, UINT)
FEE_KEY = tuple_of(UINT, ADDRESS)  # (tx type, token)
PARAMS = record(Params, verifying_contract=ADDRESS, domain_separator=HASH, fee_schedule=map_of(FEE_KEY, UINT))
BLOCK = record(Block, root=HASH, tx_count=UINT, is_deposit=FLAG, log_head=BYTES)
STANDARD_EXIT = record(StandardExit, utxo_pos=UINT, output=OUTPUT, backed=FLAG, status=TEXT)
IN_FLIGHT_EXIT = record(
    InFlightExit,
    2,  # ended, restarts
    tx=BYTES,
    tx_hash=HASH,
    inputs=sequence_of(tuple_of(UINT, OUTPUT)),
    outputs=sequence_of(OUTPUT),
    canonical=FLAG,
    piggybacked=set_of(tuple_of(FLAG, UINT)),
    withdrawn=set_of(tuple_of(FLAG, UINT)),
    reserve=TOKEN_TOTALS,
    inputs_consumed=FLAG,
    ended=FLAG,
    restarts=UINT,
)
# The two kinds of exit share one map: a tag says which.
_EXIT_KINDS: tuple[tuple[type, Codec], ...] = ((StandardExit, STANDARD_EXIT), (InFlightExit, IN_FLIGHT_EXIT))


def _exit_encode(value: StandardExit | InFlightExit) -> bytes:
    tag = next(i for i, (cls, _) in enumerate(_EXIT_KINDS) if type(value) is cls)
    return _list([UINT.encode(tag), _EXIT_KINDS[tag][1].encode(value)])


def _exit_from_rlp(item: rlp.Item) -> StandardExit | InFlightExit:
    tag, body = _list_of(item, 2)
    kind = _uint(tag)
    if kind >= len(_EXIT_KINDS):
        raise _fail(f"unknown exit kind {kind}")
    return _EXIT_KINDS[kind][1].from_rlp(body)


EXIT = Codec(_exit_encode, _exit_from_rlp)
STAKING_PARAMS = record(StakingParams, token=ADDRESS, **{f.name: UINT for f in attrs.fields(StakingParams)[1:]})
PAIR_KEY = tuple_of(ADDRESS, ADDRESS)  # (base, quote)
VALIDATOR = record(
    Validator,
    1,  # trading_fee_vote
    bls_key=BYTES,
    bonded=UINT,
    jailed=FLAG,
    jailed_until=UINT,
    tombstoned=FLAG,
    nonce=UINT,
    fee_vote=map_of(FEE_KEY, UINT),
    missed=UINT,
    expected=UINT,
    trading_fee_vote=map_of(PAIR_KEY, UINT),
)
UNBONDING = record(Unbonding, validator=ADDRESS, amount=UINT, mature_at=UINT)
STAKING = record(
    Staking,
    1,  # trading_fees
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
    trading_fees=map_of(PAIR_KEY, UINT),
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
# Fields added since version 1, written only when not empty: a state without them keeps the
# bytes, and the hash, that logs' state_checkpoint events already commit to.
_LATER_FIELDS: dict[str, Codec] = dict(
    unclaimed=map_of(tuple_of(ADDRESS, ADDRESS), UINT),
    orders=map_of(UINT, ORDER_TERMS),
    order_ids=map_of(HASH, UINT),
    settled_blknum=UINT,
)
assert [f.name for f in attrs.fields(State)] == [*_STATE_FIELDS, *_LATER_FIELDS, "effects"], "every State field needs a codec"
_STATE_CODECS = tuple(_STATE_FIELDS.values())


def encode_state(state: State) -> bytes:
    """The canonical bytes of `state` (its `effects` excluded)."""
    fields = [codec.encode(getattr(state, name)) for name, codec in _STATE_FIELDS.items()]
    later = [codec.encode(getattr(state, name)) for name, codec in _LATER_FIELDS.items()]
    while later and not getattr(state, list(_LATER_FIELDS)[len(later) - 1]):
        later.pop()  # trailing empty fields are left out
    return _list([_string(MAGIC), UINT.encode(VERSION), _list(fields + later)])


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
    if not isinstance(body, list) or not len(_STATE_CODECS) <= len(body) <= len(_STATE_CODECS) + len(_LATER_FIELDS):
        raise _fail(f"a state has {len(_STATE_CODECS)} to {len(_STATE_CODECS) + len(_LATER_FIELDS)} fields")
    codecs = [*_STATE_FIELDS.items(), *_LATER_FIELDS.items()]
    try:
        state = State(**{name: codec.from_rlp(part) for (name, codec), part in zip(codecs, body)})
    except (TypeError, ValueError) as exc:  # a well-formed item of the wrong shape for its class
        if isinstance(exc, DecodeError):
            raise
        raise _fail(str(exc)) from None
    if encode_state(state) != raw:
        raise _fail("not the canonical encoding of the state it holds")
    return state


# The node encodes a state to store it, then `apply` checks the checkpoint of that same state
# object: remembering the last (state, hash) pair saves the second O(state) encoding. A memo of
# a pure function, keyed by identity: it changes no answer.
_last_hashed: list = [None, b""]


def encode_and_hash(state: State) -> tuple[bytes, bytes]:
    encoded = encode_state(state)
    digest = keccak256(encoded)
    _last_hashed[:] = [state, digest]
    return encoded, digest


def state_hash(state: State) -> bytes:
    if _last_hashed[0] is state:
        return _last_hashed[1]
    return encode_and_hash(state)[1]
