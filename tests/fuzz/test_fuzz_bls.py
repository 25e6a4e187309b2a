"""Fuzz BLS point decoding (proofs/bls.py `check_public_key`, `check_signature`) and the
signer bitmap, differentially: py-ecc (the reference) and arkworks must agree.

Contract: each decoder returns its input or raises DecodeError("malformed_bls_point"),
both backends find the same bytes valid, `verify` answers a bool for any bytes, and
`signers` returns indices or raises DecodeError("malformed_signer_bitmap"), the accepted
bitmap being the canonical one of its indices."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proofs import bls
from proofs.errors import DecodeError
from tests.fuzz.harness import SHORT, code_of, near

BACKENDS = tuple(bls.BACKENDS.values())
SECRETS = [bls.secret_key(bytes([i]) * 32) for i in range(3)]
KEYS = [bls.public_key(sk) for sk in SECRETS]
SIGNATURES = [bls.sign(sk, b"commit") for sk in SECRETS]
FLAGS = (0x80, 0xA0, 0xC0, 0xE0, 0x00, 0x40)  # compressed, with sign, infinity, both, and the invalid ones


def _verdicts(check: str, data: bytes) -> set[bool]:
    verdicts = set()
    for backend in BACKENDS:
        try:
            assert getattr(bls, check)(data, backend=backend) == data
            verdicts.add(True)
        except DecodeError as exc:
            assert code_of(exc) == bls.MALFORMED_POINT
            verdicts.add(False)
    return verdicts


def check_point(data: bytes) -> None:
    assert len(_verdicts("check_public_key", data)) == 1, "backends disagree on a public key"
    assert len(_verdicts("check_signature", data)) == 1, "backends disagree on a signature"
    # arkworks only: py-ecc takes 0.4 s a verification
    assert bls.verify(KEYS[0], b"commit", data, backend=BACKENDS[-1]) in (True, False)
    assert bls.verify(data, b"commit", SIGNATURES[0], backend=BACKENDS[-1]) in (True, False)


def check_bitmap(bitmap: bytes, validators: int) -> None:
    try:
        indices = bls.signers(bitmap, validators)
    except DecodeError as exc:
        assert code_of(exc) == bls.MALFORMED_BITMAP
        return
    assert bls.signer_bitmap(indices, validators) == bitmap


def TestOneInput(data: bytes) -> None:
    check_point(data)
    check_bitmap(data[1:], data[0] + 1 if data else 1)


def seeds() -> list[bytes]:
    return [*KEYS, *SIGNATURES, bytes([0xC0]) + bytes(47), bytes([0xC0]) + bytes(95)]


def _encoding(size: int) -> st.SearchStrategy[bytes]:
    """Flags over a coordinate, near the field modulus or anywhere below 2^381."""
    words = size // 48
    coordinate = st.one_of(st.integers(0, 2**381 - 1), st.integers(bls.FIELD_MODULUS - 3, bls.FIELD_MODULUS + 3))
    return st.builds(
        lambda flags, xs: (flags << (8 * size - 8) | sum(x << (384 * i) for i, x in enumerate(xs)) % 2 ** (8 * size - 3)
                           ).to_bytes(size, "big"),
        st.sampled_from(FLAGS), st.lists(coordinate, min_size=words, max_size=words),
    )


points = st.one_of(st.sampled_from(KEYS + SIGNATURES), _encoding(48), _encoding(96))


@SHORT
@given(near(points, max_size=100))
def test_point_decoding_keeps_the_contract(data):
    check_point(data)


@SHORT
@given(st.integers(1, 70), st.data())
def test_signer_bitmap_keeps_the_contract(validators, data):
    indices = data.draw(st.lists(st.integers(0, validators - 1), unique=True))
    bitmap = bls.signer_bitmap(indices, validators)
    assert bls.signers(bitmap, validators) == tuple(sorted(indices))
    check_bitmap(data.draw(near(st.just(bitmap), max_size=12)), validators)
