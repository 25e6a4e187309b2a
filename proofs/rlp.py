"""Strict RLP (Ethereum yellow paper, appendix B): byte strings and lists.

Hand-written because every transaction and every stored event passes through it
twice per audit, and a direct parser is about twice as fast as pyrlp's generic one
for our shapes. Strict as plasma-contracts' RLPReader is: one canonical encoding
per value (no long form for short payloads, no leading zeros in lengths, no single
byte below 0x80 wrapped as a string) and no trailing bytes. pyrlp remains the
reference these functions are tested against.
"""
from __future__ import annotations

from typing import Union

from proofs.errors import DecodeError

Item = Union[bytes, list["Item"]]
UINT256_MAX = 2**256 - 1
MAX_DEPTH = 32  # our deepest structure nests 4 lists; deeper input is refused, not recursed into


def encode_uint(value: int) -> bytes:
    """A uint256 as RLP wants it: minimal big-endian, zero as the empty string."""
    if not 0 <= value <= UINT256_MAX:
        raise ValueError(f"{value} is not a uint256")
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def list_header(payload_length: int) -> bytes:
    return _header(0xC0, payload_length)


def string_header(length: int) -> bytes:
    """The header of a byte string of `length` (not for a single byte below 0x80, which is its own encoding)."""
    return _header(0x80, length)


def encode(item: Item) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        if len(item) == 1 and item[0] < 0x80:
            return bytes(item)
        return _header(0x80, len(item)) + item
    payload = b"".join([encode(child) for child in item])
    return _header(0xC0, len(payload)) + payload


def _header(offset: int, length: int) -> bytes:
    if length <= 55:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size


def decode(raw: bytes) -> Item:
    """The one item encoded by all of `raw`; `DecodeError("malformed_rlp", ...)` otherwise."""
    if not raw:
        raise DecodeError("malformed_rlp", "no bytes")
    item, end = _item(raw, 0, len(raw), MAX_DEPTH)
    if end != len(raw):
        raise DecodeError("malformed_rlp", f"{len(raw) - end} trailing bytes")
    return item


def _item(raw: bytes, pos: int, limit: int, depth: int) -> tuple[Item, int]:
    prefix = raw[pos]
    if prefix < 0x80:
        return raw[pos : pos + 1], pos + 1
    if prefix <= 0xB7:  # short string, the common case, inlined
        start = pos + 1
        end = start + prefix - 0x80
        if end > limit:
            raise DecodeError("malformed_rlp", f"payload of {end - start} bytes runs past its container")
        if end - start == 1 and raw[start] < 0x80:
            raise DecodeError("malformed_rlp", "a single byte below 0x80 is its own encoding")
        return raw[start:end], end
    if prefix < 0xC0:
        start, end = _long_span(raw, pos, limit, prefix - 0xB7)
        return raw[start:end], end
    if prefix <= 0xF7:
        start = pos + 1
        end = start + prefix - 0xC0
        if end > limit:
            raise DecodeError("malformed_rlp", f"list of {end - start} bytes runs past its container")
    else:
        start, end = _long_span(raw, pos, limit, prefix - 0xF7)
    if depth == 0:
        raise DecodeError("malformed_rlp", f"lists nested deeper than {MAX_DEPTH}")
    items = []
    while start < end:
        child, start = _item(raw, start, end, depth - 1)
        items.append(child)
    return items, end


def _long_span(raw: bytes, pos: int, limit: int, size: int) -> tuple[int, int]:
    """(start, end) of a payload over 55 bytes whose length takes `size` bytes."""
    start = pos + 1 + size
    if start > limit or raw[pos + 1] == 0:
        raise DecodeError("malformed_rlp", "length of length truncated or with leading zeros")
    length = int.from_bytes(raw[pos + 1 : start], "big")
    if length <= 55:
        raise DecodeError("malformed_rlp", "long form used for a short payload")
    if start + length > limit:
        raise DecodeError("malformed_rlp", f"payload of {length} bytes runs past its container")
    return start, start + length
