"""Round-trip and rejection properties of the encodings, by Hypothesis."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import eip712, merkle
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from proofs.payment import (
    MAX_BLOCK_NUM,
    MAX_TX_INDEX,
    Output,
    PaymentTx,
    decode,
    decode_utxo_pos,
    encode,
    encode_unsigned,
    encode_utxo_pos,
    unsigned_bytes,
)

addresses = st.binary(min_size=20, max_size=20)
positions = st.builds(
    encode_utxo_pos, st.integers(0, MAX_BLOCK_NUM), st.integers(0, MAX_TX_INDEX), st.integers(0, 9999)
).filter(bool)
outputs = st.builds(Output, st.just(1), addresses.filter(any), addresses, st.integers(1, 2**256 - 1))
signatures = st.binary(min_size=65, max_size=65)
txs = st.builds(
    PaymentTx,
    inputs=st.lists(positions, max_size=4),
    outputs=st.lists(outputs, min_size=1, max_size=4),
    metadata=st.binary(min_size=32, max_size=32),
    signatures=st.lists(signatures, max_size=4),
)


@given(txs)
def test_encode_then_decode_is_identity(tx):
    raw = encode(tx)
    assert decode(raw) == tx
    assert decode(encode_unsigned(tx)) == tx.unsigned()
    if tx.signatures:
        assert unsigned_bytes(raw) == encode_unsigned(tx)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_canonically_or_raise_decode_error(raw):
    try:
        tx = decode(raw)
    except DecodeError as exc:
        assert exc.reason
    else:
        assert encode(tx) == raw or encode(tx.with_signatures(tx.signatures)) == raw


@given(txs, st.data())
def test_any_mutation_of_a_valid_encoding_is_caught_or_canonical(tx, data):
    raw = bytearray(encode(tx))
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend"]))
    if kind == "flip":
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)):]
    else:
        raw += data.draw(st.binary(min_size=1, max_size=8))
    try:
        decoded = decode(bytes(raw))
    except DecodeError:
        return
    assert encode(decoded) == bytes(raw) or encode_unsigned(decoded) == bytes(raw)


@given(st.integers(0, MAX_BLOCK_NUM), st.integers(0, MAX_TX_INDEX), st.integers(0, 9999))
def test_utxo_positions_round_trip(blknum, txindex, oindex):
    assert decode_utxo_pos(encode_utxo_pos(blknum, txindex, oindex)) == (blknum, txindex, oindex)


@settings(max_examples=25)
@given(st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < 2**255), st.binary(min_size=32, max_size=32))
def test_sign_then_recover_gives_the_signer(key, digest):
    signature = eip712.sign(digest, key)
    assert signature[64] in (27, 28) and int.from_bytes(signature[32:64], "big") <= eip712.SECP256K1_HALF_N
    assert eip712.recover(digest, signature) == eip712.address_of(key)
    assert eip712.recover(keccak256(digest), signature) != eip712.address_of(key)


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=70), st.data())
def test_every_leaf_proves_membership_and_nothing_else_does(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    root, proof = merkle.root(leaves), merkle.proof(leaves, index)
    assert len(proof) == 32 * merkle.DEPTH and merkle.verify(leaves[index], index, root, proof)
    assert not merkle.verify(leaves[index] + b"x", index, root, proof)
    assert not merkle.verify(leaves[index], index, root, proof[:-32])
    other = data.draw(st.integers(0, 2**merkle.DEPTH - 1).filter(lambda i: i != index))
    assert not merkle.verify(leaves[index], other, root, proof) or leaves.count(leaves[index]) > 1


def _naive_root(leaves: list[bytes]) -> bytes:
    """The definition: all 2**16 leaves hashed, empty ones as the hash of 32 zero bytes."""
    level = [keccak256(b"\0" + leaf) for leaf in leaves]
    level += [keccak256(b"\0" + bytes(32))] * (2**merkle.DEPTH - len(level))
    while len(level) > 1:
        level = [keccak256(b"\1" + level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def test_sparse_root_equals_the_definition():
    for leaves in ([], [b"one"], [b"a", b"b", b"c"], [bytes([i]) for i in range(33)]):
        assert merkle.root(leaves) == _naive_root(leaves)


def test_a_node_cannot_pass_as_a_leaf():
    """The second-preimage guard of the salted tree (plasma-contracts Merkle.test.js)."""
    leaves = [b"a", b"b"]
    node = merkle.leaf_hash(b"a") + merkle.leaf_hash(b"b")
    assert not merkle.verify(node, 0, merkle.root(leaves), merkle.proof(leaves, 0)[32:] + bytes(32))
