"""`merkle.verify` reads every byte of a proof: each of the 16 siblings, top one included.

A block of fewer than 32,769 transactions has the empty subtree as its top sibling, so a
verifier that assumed it (instead of reading the last 32 bytes) passed every proof of
every small block; these tests name each sibling and a leaf in the upper half of a tree.
"""
from __future__ import annotations

import pytest

from proofs import merkle
from proofs.keccak import keccak256

SIBLINGS = [keccak256(b"sibling %d" % height) for height in range(merkle.DEPTH)]


def folded_root(leaf: bytes, index: int, siblings: list[bytes]) -> bytes:
    """The root a proof claims, folded by hand: leaf = keccak(0x00 || tx), node = keccak(0x01 || left || right)."""
    node = keccak256(b"\x00" + leaf)
    for height, sibling in enumerate(siblings):
        left_child = not index >> height & 1
        node = keccak256(b"\x01" + (node + sibling if left_child else sibling + node))
    return node


def flipped(proof: bytes, height: int) -> bytes:
    at = 32 * height + 7
    return proof[:at] + bytes([proof[at] ^ 0x01]) + proof[at + 1 :]


@pytest.mark.parametrize("index", [0, 5, 2**15 - 1, 2**15, 2**15 + 5, 2**16 - 1])
def test_a_proof_folds_to_its_root_and_every_sibling_counts(index):
    proof = b"".join(SIBLINGS)
    root = folded_root(b"tx", index, SIBLINGS)
    assert merkle.verify(b"tx", index, root, proof)
    for height in range(merkle.DEPTH):
        assert not merkle.verify(b"tx", index, root, flipped(proof, height)), f"sibling {height} was not read"


def test_a_real_proof_with_a_forged_top_sibling_is_refused():
    """In a 3-leaf block the top sibling is the empty subtree; any other 32 bytes there must fail."""
    leaves = [b"a", b"b", b"c"]
    root, proof = merkle.root(leaves), merkle.proof(leaves, 2)
    assert proof[-32:] == merkle.ZERO[merkle.DEPTH - 1] and merkle.verify(b"c", 2, root, proof)
    assert not merkle.verify(b"c", 2, root, flipped(proof, merkle.DEPTH - 1))
    assert not merkle.verify(b"c", 2, root, proof[:-32] + keccak256(b"forged"))
