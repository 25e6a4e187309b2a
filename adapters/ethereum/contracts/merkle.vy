# pragma version ~=0.4.3
"""
@title OMG's block Merkle tree
@notice keccak, depth 16, leaf = keccak(0x00 || tx bytes), node = keccak(0x01 || left || right),
        empty leaves hold keccak(0x00 || 32 zero bytes). Proofs are the sibling hashes from
        the leaf up, 32 bytes each (plasma-contracts' Merkle.checkMembership; proofs/merkle.py).
"""
import rlp

DEPTH: constant(uint256) = 16
MAX_PROOF_BYTES: constant(uint256) = 512  # DEPTH * 32


@internal
@pure
def leaf_hash(leaf: Bytes[rlp.MAX_BYTES]) -> bytes32:
    return keccak256(concat(b"\x00", leaf))


@internal
@pure
def node_hash(left: bytes32, right: bytes32) -> bytes32:
    return keccak256(concat(b"\x01", left, right))


@internal
@pure
def check_membership(leaf: Bytes[rlp.MAX_BYTES], index: uint256, root: bytes32, proof: Bytes[MAX_PROOF_BYTES]) -> bool:
    """Whether `leaf` sits at `index` under `root`; reverts on a malformed proof."""
    assert len(proof) != 0, "Merkle proof must not be empty"
    assert len(proof) % 32 == 0, "Length of Merkle proof must be a multiple of 32"
    levels: uint256 = len(proof) // 32
    assert index < (1 << levels), "Index does not match the length of the proof"
    computed: bytes32 = self.leaf_hash(leaf)
    j: uint256 = index
    for i: uint256 in range(DEPTH):
        if i == levels:
            break
        sibling: bytes32 = extract32(proof, i * 32)
        if j % 2 == 0:
            computed = self.node_hash(computed, sibling)
        else:
            computed = self.node_hash(sibling, computed)
        j = j // 2
    return computed == root


@internal
@pure
def single_leaf_root(leaf: Bytes[rlp.MAX_BYTES]) -> bytes32:
    """Root of a depth-16 tree whose only leaf (index 0) is `leaf`: a deposit block's root."""
    zero: bytes32 = keccak256(concat(b"\x00", empty(bytes32)))  # the empty leaf
    root: bytes32 = self.leaf_hash(leaf)
    for i: uint256 in range(DEPTH):
        root = self.node_hash(root, zero)
        zero = self.node_hash(zero, zero)
    return root
