"""proofs.rlp against pyrlp, the reference implementation, and against the strictness
plasma-contracts' RLPReader demands."""
from __future__ import annotations

import pytest
import rlp as pyrlp
from hypothesis import given
from hypothesis import strategies as st

from proofs import rlp
from proofs.errors import DecodeError

items = st.recursive(st.binary(max_size=80), lambda children: st.lists(children, max_size=6), max_leaves=30)


@given(items)
def test_encoding_matches_pyrlp_and_round_trips(item):
    raw = rlp.encode(item)
    assert raw == pyrlp.encode(item)
    assert rlp.decode(raw) == item


def _depth(item) -> int:
    return 0 if isinstance(item, bytes) else 1 + max((_depth(child) for child in item), default=0)


@given(st.binary(max_size=120))
def test_arbitrary_bytes_decode_exactly_when_pyrlp_strict_does(raw):
    try:
        expected = pyrlp.decode(raw, strict=True)
    except pyrlp.exceptions.RLPException:
        expected = None
    if expected is not None and _depth(expected) > rlp.MAX_DEPTH:
        expected = None  # we refuse what would exhaust a recursive decoder
    try:
        got = rlp.decode(raw)
    except DecodeError as exc:
        assert exc.reason == "malformed_rlp"
        got = None
    assert got == expected


@pytest.mark.parametrize(
    "raw",
    [
        "810a",  # single byte wrapped as a string (RLPReader: "Invalid short string encoding")
        "b80141",  # long form for a 1-byte payload
        "b9000141",  # leading zero in the length of the length
        "c3010203ff",  # trailing byte
        "c501020304",  # a list declaring more bytes than there are
        "83616263" "00",  # trailing
        "",
    ],
)
def test_non_canonical_or_truncated_encodings_are_refused(raw):
    with pytest.raises(DecodeError):
        rlp.decode(bytes.fromhex(raw))


def _nested(levels: int) -> bytes:
    raw = b""
    for _ in range(levels):
        raw = rlp._header(0xC0, len(raw)) + raw
    return raw


def test_nesting_is_bounded_not_a_crash():
    assert _depth(rlp.decode(_nested(rlp.MAX_DEPTH))) == rlp.MAX_DEPTH
    for levels in (rlp.MAX_DEPTH + 1, 100_000):
        with pytest.raises(DecodeError, match="nested deeper"):
            rlp.decode(_nested(levels))
