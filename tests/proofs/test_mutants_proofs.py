"""Merkle, signature, fraud-proof and RLP edges that mutation testing found unchecked
(docs/mutation.md)."""
from __future__ import annotations

import coincurve
import pytest

from proofs import eip712, merkle, rlp
from proofs.errors import DecodeError
from proofs.fraud import Spend, output_at
from proofs.keccak import keccak256
from proofs.payment import Output, PaymentTx, encode, encode_utxo_pos

KEY = keccak256(b"mutation key")
OWNER, TOKEN = eip712.address_of(KEY), b"\x22" * 20
VC = b"\x44" * 20
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# --- Merkle -------------------------------------------------------------------------------

def test_empty_subtree_roots_follow_the_definition():
    expected = [keccak256(b"\x00" + bytes(32))]
    for _ in range(merkle.DEPTH):
        expected.append(keccak256(b"\x01" + expected[-1] + expected[-1]))
    assert merkle._zero_hashes() == tuple(expected) == merkle.ZERO


def test_a_block_holds_exactly_max_leaves():
    hashes = [keccak256(i.to_bytes(4, "big")) for i in range(merkle.MAX_LEAVES)]
    assert len(merkle.root_of_hashes(hashes)) == 32
    with pytest.raises(ValueError):
        merkle.root_of_hashes([*hashes, hashes[0]])


def test_no_proof_for_a_leaf_past_the_end():
    with pytest.raises(IndexError):
        merkle.proof([b"a", b"b", b"c"], 3)


def test_an_empty_or_ragged_proof_proves_nothing():
    leaf = b"tx"
    assert merkle.verify(leaf, 0, merkle.leaf_hash(leaf), b"") is False
    assert merkle.verify(leaf, 0, merkle.root([leaf]), merkle.proof([leaf], 0)[:-1]) is False


def test_the_index_is_bounded_by_the_proof_depth():
    """Index 2**16 has leaf 0's path bits: plasma-contracts refuses it, so must we."""
    leaves = [b"a", b"b"]
    root, proof = merkle.root(leaves), merkle.proof(leaves, 0)
    assert merkle.verify(b"a", 0, root, proof)
    assert merkle.verify(b"a", merkle.MAX_LEAVES, root, proof) is False
    assert merkle.verify(b"a", 3 * merkle.MAX_LEAVES, root, proof) is False


def test_leaves_deep_in_a_large_block_verify():
    leaves = [i.to_bytes(3, "big") for i in range(2**15 + 1)]
    root = merkle.root(leaves)
    for index in (40, 2**15):
        assert merkle.verify(leaves[index], index, root, merkle.proof(leaves, index))


# --- signatures -----------------------------------------------------------------------------

def test_the_high_s_twin_of_a_signature_is_refused_though_it_recovers_the_signer():
    digest = keccak256(b"a digest")
    sig = eip712.sign(digest, KEY)
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])  # v 27 <-> 28
    raw = twin[:64] + bytes([twin[64] - 27])
    assert eip712.address_of_public_key(
        coincurve.PublicKey.from_signature_and_message(raw, digest, hasher=None).format(compressed=False)[1:]
    ) == OWNER  # secp256k1 alone would accept it: the malleability EIP-2 rules out
    with pytest.raises(DecodeError) as info:
        eip712.recover(digest, twin)
    assert info.value.reason == "signature_corrupt"
    assert eip712.recover(digest, sig) == OWNER


def test_s_at_exactly_half_the_order_is_the_lower_half():
    digest = keccak256(b"a digest")
    sig = eip712.sign(digest, KEY)
    half = (SECP256K1_N // 2).to_bytes(32, "big")
    assert len(eip712.recover(digest, sig[:32] + half + sig[64:])) == 20  # some key, not a refusal


# --- fraud proofs -----------------------------------------------------------------------------

def _two_input_tx(signatures: int) -> bytes:
    tx = PaymentTx([encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)], [Output(1, OWNER, TOKEN, 5)])
    digest = eip712.signing_hash(tx, VC)
    return encode(tx.with_signatures(tuple(eip712.sign(digest, KEY) for _ in range(signatures))))


def test_a_proof_naming_a_missing_output_is_invalid():
    raw = _two_input_tx(2)
    with pytest.raises(DecodeError):
        output_at(raw, encode_utxo_pos(1000, 0, 1))  # the transaction has one output


def test_a_spend_needs_the_signature_of_its_input():
    with pytest.raises(DecodeError):
        Spend.of(_two_input_tx(1), encode_utxo_pos(2, 0, 0))  # input 1 carries no signature
    assert Spend.of(_two_input_tx(2), encode_utxo_pos(2, 0, 0)).input_index == 1


def test_a_spend_whose_input_index_is_past_the_inputs_is_invalid():
    spend = Spend.of(_two_input_tx(2), encode_utxo_pos(2, 0, 0))
    past = Spend(spend.tx, 2, spend.signature)
    with pytest.raises(DecodeError):
        past.check(encode_utxo_pos(2, 0, 0), OWNER, VC)
    spend.check(encode_utxo_pos(2, 0, 0), OWNER, VC)


# --- RLP ------------------------------------------------------------------------------------

def test_the_byte_0x80_is_wrapped_and_read_back():
    assert rlp.encode(b"\x80") == b"\x81\x80" and rlp.decode(b"\x81\x80") == b"\x80"
    assert rlp.encode(b"\x7f") == b"\x7f"


def test_a_55_byte_string_is_short_and_56_long():
    assert rlp.encode(b"x" * 55)[:1] == b"\xb7" and rlp.decode(rlp.encode(b"x" * 55)) == b"x" * 55
    assert rlp.encode(b"x" * 56)[:2] == b"\xb8\x38" and rlp.decode(rlp.encode(b"x" * 56)) == b"x" * 56
    with pytest.raises(DecodeError):
        rlp.decode(b"\xb8\x37" + b"x" * 55)  # the long form of a 55-byte string is not canonical
