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


@given(st.binary(max_size=120))
def test_arbitrary_bytes_decode_exactly_when_pyrlp_strict_does(raw):
    try:
        expected = pyrlp.decode(raw, strict=True)
    except pyrlp.exceptions.RLPException:
        expected = None
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
