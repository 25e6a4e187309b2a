"""Fuzz Merkle membership (proofs/merkle.py `verify`) with arbitrary proof bytes and indices.

Contract: `verify` returns a bool for any leaf, index, root and proof bytes, never raises;
the proof `proof()` builds verifies, and a proof with any byte changed does not."""
from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from proofs import merkle
from tests.fuzz.harness import SHORT, chunks, framed, integer, integer_bytes, mutated


def check(leaf: bytes, index: int, root: bytes, proof: bytes) -> bool:
    verdict = merkle.verify(leaf, index, root, proof)
    assert verdict is True or verdict is False
    return verdict


def TestOneInput(data: bytes) -> None:
    leaf, index, root, proof = chunks(data, 4)
    check(leaf, integer(index), root, proof)


def seeds() -> list[bytes]:
    leaves = [b"a", b"bc", bytes(40)]
    return [framed(leaves[i], integer_bytes(i), merkle.root(leaves), merkle.proof(leaves, i)) for i in range(3)]


@SHORT
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=6, unique=True), st.data())
def test_verify_keeps_the_contract(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    root, proof = merkle.root(leaves), merkle.proof(leaves, index)
    assert check(leaves[index], index, root, proof)
    tampered = data.draw(st.one_of(mutated(st.just(proof)), st.binary(max_size=600)))
    assume(tampered != proof)
    assert not check(leaves[index], index, root, tampered)
    check(leaves[index], data.draw(st.integers(-(2**70), 2**70)), data.draw(st.binary(max_size=40)), tampered)
