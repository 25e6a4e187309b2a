"""Fuzz the strict RLP codec (proofs/rlp.py) against pyrlp, the reference.

Contract: `decode` returns an item or raises DecodeError("malformed_rlp"); it accepts
exactly what pyrlp's strict decoder accepts (up to our nesting limit), returns the same
item, and an accepted input is the one canonical encoding of its item."""
from __future__ import annotations

import rlp as pyrlp
from hypothesis import given
from hypothesis import strategies as st

from proofs import rlp
from proofs.errors import DecodeError
from tests.fuzz.harness import SHORT, code_of, near

items = st.recursive(st.binary(max_size=70), lambda children: st.lists(children, max_size=5), max_leaves=20)


def _depth(item: rlp.Item) -> int:
    return 0 if isinstance(item, bytes) else 1 + max((_depth(child) for child in item), default=0)


def _reference(data: bytes) -> rlp.Item | None:
    try:
        item = pyrlp.decode(data, strict=True)
    except pyrlp.exceptions.RLPException:
        return None
    return item if _depth(item) <= rlp.MAX_DEPTH else None  # we refuse deeper nesting on purpose


def check(data: bytes) -> None:
    try:
        item = rlp.decode(data)
    except DecodeError as exc:
        assert code_of(exc) == "malformed_rlp"
        assert _reference(data) is None, "pyrlp accepts what we refuse"
        return
    assert rlp.encode(item) == data, "accepted a non-canonical encoding"
    assert _reference(data) == item


def TestOneInput(data: bytes) -> None:
    check(data)


def seeds() -> list[bytes]:
    return [rlp.encode(item) for item in (b"", b"\x7f", b"a" * 56, [], [b"ab", [b"", [b"\x80" * 60]]], [[]] * 30)]


@SHORT
@given(near(items.map(rlp.encode)))
def test_rlp_decode_keeps_the_contract(data):
    check(data)


def test_seeds_decode():
    for data in seeds():
        check(data)
