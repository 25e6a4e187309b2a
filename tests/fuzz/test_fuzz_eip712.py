"""Fuzz EIP-712 signature recovery (proofs/eip712.py `recover`).

Contract: `recover(digest, signature)` returns a 20-byte address or raises DecodeError
(`malformed_witnesses`, `signature_corrupt`); it accepts only v in {27, 28} and low s, and
gives back the signer of any signature `sign` made."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proofs import eip712
from proofs.errors import DecodeError
from tests.conftest import KEYS
from tests.fuzz.harness import SHORT, chunks, code_of, framed, mutated

digests = st.binary(min_size=32, max_size=32)


def check(digest: bytes, signature: bytes) -> None:
    try:
        address = eip712.recover(digest, signature)
    except DecodeError as exc:
        assert code_of(exc) in ("malformed_witnesses", "signature_corrupt")
        return
    assert len(address) == 20 and len(signature) == 65 and signature[64] in (27, 28)
    assert int.from_bytes(signature[32:64], "big") <= eip712.SECP256K1_HALF_N


def TestOneInput(data: bytes) -> None:
    check(*chunks(data, 2))


def seeds() -> list[bytes]:
    digest = bytes(range(32))
    return [framed(digest, eip712.sign(digest, key)) for key in KEYS]


@SHORT
@given(digests, st.sampled_from(KEYS), st.data())
def test_recover_keeps_the_contract(digest, key, data):
    signature = eip712.sign(digest, key)
    assert eip712.recover(digest, signature) == eip712.address_of(key)
    check(digest, signature)
    check(data.draw(st.one_of(digests, mutated(digests))), data.draw(st.one_of(mutated(st.just(signature)), st.binary(max_size=80))))
