"""OMG's block Merkle tree: keccak, depth 16 (65,536 transactions per block).

leaf = keccak(0x00 || tx_bytes), node = keccak(0x01 || left || right); empty
positions hold the leaf hash of 32 zero bytes. A proof is the 16 sibling hashes
from the leaf up, concatenated (512 bytes), which is what plasma-contracts'
Merkle.checkMembership takes.
"""
from __future__ import annotations

from collections.abc import Sequence

from proofs.keccak import keccak256

DEPTH = 16
MAX_LEAVES = 2**DEPTH
LEAF_SALT = b"\x00"
NODE_SALT = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    return keccak256(LEAF_SALT + leaf)


def _zero_hashes() -> tuple[bytes, ...]:
    """ZERO[i] is the root of an empty subtree of height i."""
    hashes = [leaf_hash(bytes(32))]
    for _ in range(DEPTH):
        hashes.append(keccak256(NODE_SALT + hashes[-1] + hashes[-1]))
    return tuple(hashes)


ZERO = _zero_hashes()


def _next_level(level: list[bytes], height: int) -> list[bytes]:
    if len(level) % 2:
        level = [*level, ZERO[height]]
    return [keccak256(NODE_SALT + level[i] + level[i + 1]) for i in range(0, len(level), 2)]


def root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """Root of a tree whose populated prefix of leaves is already hashed."""
    if len(hashes) > MAX_LEAVES:
        raise ValueError(f"{len(hashes)} leaves, a block holds at most {MAX_LEAVES}")
    level = list(hashes)
    if not level:
        return ZERO[DEPTH]
    for height in range(DEPTH):
        level = _next_level(level, height)
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """Block root of the transactions `leaves` (their bytes, in block order)."""
    return root_of_hashes([leaf_hash(leaf) for leaf in leaves])


def proof(leaves: Sequence[bytes], index: int) -> bytes:
    """The 16 sibling hashes of leaf `index`, bottom up, concatenated."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} not in a block of {len(leaves)}")
    level = [leaf_hash(leaf) for leaf in leaves]
    siblings = []
    for height in range(DEPTH):
        sibling = index ^ 1
        siblings.append(level[sibling] if sibling < len(level) else ZERO[height])
        level = _next_level(level, height)
        index //= 2
    return b"".join(siblings)


def verify(leaf: bytes, index: int, root_hash: bytes, proof_bytes: bytes) -> bool:
    """checkMembership as plasma-contracts does it (including its index bound)."""
    if not proof_bytes or len(proof_bytes) % 32:
        return False
    if not 0 <= index < 2 ** (len(proof_bytes) // 32):
        return False
    computed = leaf_hash(leaf)
    for offset in range(0, len(proof_bytes), 32):
        sibling = proof_bytes[offset : offset + 32]
        if index % 2 == 0:
            computed = keccak256(NODE_SALT + computed + sibling)
        else:
            computed = keccak256(NODE_SALT + sibling + computed)
        index //= 2
    return computed == root_hash
