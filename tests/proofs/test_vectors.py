"""Fixed vectors from OMG's own test suites (omg-js 4.x, elixir-omg, ex_plasma,
plasma-contracts), each cited in vectors/omg_vectors.json by repository, commit and file."""
from __future__ import annotations

import json
from pathlib import Path

import coincurve
import pytest

from proofs import eip712, merkle
from proofs.errors import DecodeError
from proofs.keccak import address_of_public_key, keccak256
from proofs.payment import (
    MAX_BLOCK_NUM,
    MAX_OUTPUT_INDEX,
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

VECTORS = json.loads((Path(__file__).parent / "vectors" / "omg_vectors.json").read_text())


def by_name(group: str) -> dict[str, dict]:
    return {item["name"]: item for item in VECTORS[group]}


def h(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def output(o: dict) -> Output:
    guard = o["outputGuard_ascii"].encode() if "outputGuard_ascii" in o else h(o["outputGuard"])
    amount = o["amount_effective"] if "amount_effective" in o else o["amount"]  # what the JS Number became
    return Output(int(o["outputType"]), guard, h(o["currency"]), int(amount))


def position(i: dict | list) -> int:
    """Packed without PosLib's bounds: some upstream vectors use oindex > 9999."""
    blknum, txindex, oindex = (i["blknum"], i["txindex"], i["oindex"]) if isinstance(i, dict) else i
    return int(blknum) * 10**9 + int(txindex) * 10**4 + int(oindex)


def tx_of(t: dict) -> PaymentTx:
    inputs = [position(i) for i in t["inputs"]] if "inputs" in t else [int(x, 16) for x in t["inputs_raw32"]]
    metadata = t.get("metadata", "")
    return PaymentTx(
        inputs=inputs,
        outputs=[output(o) for o in t["outputs"]],
        metadata=h(metadata) if metadata.startswith("0x") else b"",  # omg-js writes a missing metadata as 0x80
    )


PAYMENTS = by_name("payment_encoding")


@pytest.mark.parametrize(
    "name",
    [n for n, v in PAYMENTS.items() if "expected_hex" in v and "sigs" not in v.get("tx", {}) and "kind" not in v
     or v.get("kind") == "deposit"],
)
def test_payment_encoding_matches_upstream(name):
    vector = PAYMENTS[name]
    assert encode(tx_of(vector["tx"])) == h(vector["expected_hex"])


@pytest.mark.parametrize("name", ["omgjs_encodeDeposit_333", "omgjs_encodeDeposit_1e18", "omgjs_encodeDeposit_3000e18"])
def test_deposit_encodings_decode_back(name):
    raw = h(PAYMENTS[name]["expected_hex"])
    assert encode(decode(raw)) == raw and decode(raw).inputs == ()


def test_omg_js_payments_without_metadata_are_not_contract_valid():
    """omg-js encodes a missing metadata as 0x80; plasma-contracts needs 32 bytes, and so do we."""
    for name in ("omgjs_encode_1in_1out", "omgjs_encode_4in_4out"):
        with pytest.raises(DecodeError) as info:
            decode(h(PAYMENTS[name]["expected_hex"]))
        assert info.value.reason == "malformed_metadata"
    with pytest.raises(DecodeError) as info:
        decode(h(PAYMENTS["omgjs_encode_no_outputs"]["expected_hex"]))
    assert info.value.reason == "empty_outputs"


def test_signed_payment_of_ex_plasma_byte_for_byte():
    vector = PAYMENTS["explasma_payment_signed_2in_1out"]
    tx = tx_of(vector["tx"])
    key, contract = h(vector["signer_private_key"]), h(vector["eip712_verifying_contract"])
    assert eip712.address_of(key) == h(vector["signer_address"])
    digest = eip712.signing_hash(tx, contract)
    signature = eip712.sign(digest, key)
    signed = encode(tx.with_signatures((signature, signature)))
    assert signed == h(vector["expected_signed_hex"])
    assert encode_unsigned(tx) == unsigned_bytes(signed) == h(vector["expected_unsigned_hex"])
    assert keccak256(unsigned_bytes(signed)) == h(vector["expected_txhash_keccak_unsigned"])
    assert decode(signed) == tx.with_signatures((signature, signature))
    assert eip712.recover(digest, signature) == h(vector["signer_address"])


def test_ex_plasma_signed_form_with_empty_signature_list():
    vector = PAYMENTS["explasma_doctest_decode_signed_empty_sigs"]
    raw = h(vector["expected_hex"])
    assert raw[2] == 0xC0 and unsigned_bytes(raw) == encode_unsigned(tx_of(vector["tx"]))  # [[], txType, ...]
    with pytest.raises(DecodeError) as info:  # its only input is position 0: a null input
        decode(raw)
    assert info.value.reason == "malformed_inputs"


def test_elixir_tx_hash_prefix():
    vector = PAYMENTS["elixir_raw_txhash_prefix"]
    assert keccak256(encode_unsigned(tx_of(vector["tx"]))).hex().startswith(vector["expected_txhash_prefix"][2:])


EIP712 = by_name("eip712")


def test_type_hashes_and_empty_structs():
    v = EIP712["helper_type_hashes_of_real_strings"]
    assert eip712.DOMAIN_TYPE_HASH == h(v["EIP712_DOMAIN_HASH"])
    assert eip712.TX_TYPE_HASH == h(v["TX_TYPE_HASH"])
    assert eip712.INPUT_TYPE_HASH == h(v["INPUT_TYPE_HASH"])
    assert eip712.OUTPUT_TYPE_HASH == h(v["OUTPUT_TYPE_HASH"])
    assert eip712.EMPTY_INPUT_HASH == h(v["EMPTY_INPUT_HASH"]) == h(EIP712["elixir_hash_input_0_0_0"]["expected"])
    assert eip712.EMPTY_OUTPUT_HASH == h(v["EMPTY_OUTPUT_HASH"])


def test_domain_separator_of_elixir():
    v = EIP712["elixir_domain_separator"]
    assert eip712.DOMAIN_SALT == h(v["salt"]) and eip712.DOMAIN_NAME == v["name_field"]
    assert eip712.domain_separator(h(v["verifyingContract"])) == h(v["expected_domain_separator"])


@pytest.mark.parametrize("name", [n for n, v in EIP712.items() if v.get("kind") in ("input_hash", "output_hash")])
def test_struct_hashes_of_inputs_and_outputs(name):
    v = EIP712[name]
    if v["kind"] == "input_hash":
        assert eip712._hash_input(position(v["input"])) == h(v["expected"])
    else:
        assert eip712._hash_output(output(v["output"])) == h(v["expected"])


@pytest.mark.parametrize("name", ["elixir_tx_hash_empty", "elixir_tx_hash_3in_4out", "elixir_tx_hash_3in_4out_metadata",
                                  "explasma_empty_tx_signing_hash", "omgjs_hashTypedData_message_and_domain"])
def test_transaction_signing_hashes(name):
    v = EIP712[name]
    tx, contract = tx_of(v["tx"]), h(v["verifyingContract"])
    if "expected_struct_hash" in v:
        assert eip712.struct_hash(tx) == h(v["expected_struct_hash"])
    if "expected_domain_separator" in v:
        assert eip712.domain_separator(contract) == h(v["expected_domain_separator"])
    if "expected_signing_hash" in v:
        assert eip712.signing_hash(tx, contract) == h(v["expected_signing_hash"])


SIGNATURES = by_name("signatures")


@pytest.mark.parametrize("name", [n for n, v in SIGNATURES.items() if v.get("kind") == "private_key_to_address"])
def test_private_key_to_address(name):
    v = SIGNATURES[name]
    assert eip712.address_of(h(v["private_key"])) == h(v["expected_address"])


def test_signatures_are_deterministic_and_match_upstream():
    empty = SIGNATURES["explasma_sign_empty_tx"]
    digest = eip712.signing_hash(tx_of(empty["tx"]), h(empty["verifyingContract"]))
    assert digest == h(empty["signing_hash"])
    assert eip712.sign(digest, h(empty["private_key"])) == h(empty["expected_signature"])
    raw = SIGNATURES["explasma_signature_digest"]
    assert eip712.sign(h(raw["digest"]), h(raw["private_key"])) == h(raw["expected_signature"])
    py = SIGNATURES["pyethereum_priv_keccak11"]
    key = keccak256(b"11")
    assert key == h(py["expected_private_key"]) and eip712.address_of(key) == h(py["expected_address"])
    assert eip712.sign(keccak256(b"1234"), key) == h(py["expected_signature"])
    assert eip712.recover(keccak256(b"1234"), h(py["expected_signature"])) == h(py["expected_address"])


def test_omg_js_transaction_signature():
    v = SIGNATURES["omgjs_signTransaction"]
    signature = h(v["expected_signature"])
    assert eip712.recover(h(v["helper_computed_signing_hash"]), signature) == h(v["helper_computed_signer_address"])
    assert eip712.sign(h(v["helper_computed_signing_hash"]), h(v["private_key"])) == signature


def test_elixir_recovers_public_keys():
    packed = SIGNATURES["elixir_recover_public_packed"]
    expected = h(packed["expected_public_key_64"])
    assert eip712.recover(h(packed["digest"]), h(packed["signature_rsv"])) == address_of_public_key(expected)
    vrs = SIGNATURES["elixir_recover_public_vrs"]
    sig = int(vrs["r"]).to_bytes(32, "big") + int(vrs["s"]).to_bytes(32, "big") + bytes([int(vrs["v"])])
    recovered = coincurve.PublicKey.from_signature_and_message(sig[:64] + bytes([sig[64] - 27]), h(vrs["digest"]),
                                                                hasher=None)
    assert recovered.format(compressed=False)[1:] == h(vrs["expected_public_key_64"])


MERKLE = by_name("merkle")


def test_merkle_roots_of_elixir_blocks():
    abc = MERKLE["elixir_merkle_abc_def_ghi"]
    leaves = [s.encode() for s in abc["leaves_utf8"]]
    assert merkle.root(leaves) == h(abc["expected_root"])
    assert merkle.proof(leaves, 1).hex().startswith(abc["expected_proof_index1_prefix"][2:])
    assert merkle.verify(leaves[1], 1, h(abc["expected_root"]), merkle.proof(leaves, 1))
    two = MERKLE["elixir_block_root_2txs"]
    assert merkle.root([h(x) for x in two["leaves_hex"]]) == h(two["expected_root"])
    assert merkle.root([]) == h(MERKLE["elixir_block_root_empty"]["expected_root"])
    assert merkle.ZERO[0] == h(MERKLE["null_hash_definitions"]["helper_computed_null_hash"])


def test_merkle_root_of_elixir_64000_transaction_block():
    v = MERKLE["elixir_block_root_64000txs"]
    bob, eth = h(v["stable_bob"]), bytes(20)
    txs = [
        encode_unsigned(PaymentTx([10**9 + index * 10**4 + index], [Output(1, bob, eth, 100)]))
        for index in range(1, 64_001)
    ]
    assert merkle.root(txs) == h(v["expected_root"])


def test_merkle_vectors_of_ex_plasma():
    five = MERKLE["explasma_root_5_identical"]
    assert merkle.root([h(five["leaf_hex"])] * five["leaf_count"]) == h(five["expected_root"])
    v = MERKLE["explasma_proof_16_identical_index10"]
    leaves = [h(v["leaf_hex"])] * v["leaf_count"]
    proof = merkle.proof(leaves, v["index"])
    assert proof == h(v["expected_proof"]) and len(proof) == 512
    assert merkle.verify(leaves[0], v["index"], merkle.root(leaves), proof)
    single = MERKLE["explasma_root_single_empty_payment"]
    assert merkle.root([h(single["leaf_hex"])]) == h(single["expected_root"])


UTXO = by_name("utxo_pos")


@pytest.mark.parametrize("name", [n for n, v in UTXO.items() if "expected_pos" in v and "blknum" in v])
def test_utxo_positions(name):
    v = UTXO[name]
    parts = int(v["blknum"]), int(v["txindex"]), int(v["oindex"])
    pos = encode_utxo_pos(*parts)
    assert pos == int(v["expected_pos"]) and decode_utxo_pos(pos) == parts
    assert pos.to_bytes(32, "big") == h(v["expected_rlp_item_32bytes"])


def test_poslib_constants():
    v = UTXO["poslib_constants"]
    assert (MAX_OUTPUT_INDEX, MAX_TX_INDEX, MAX_BLOCK_NUM) == (
        int(v["MAX_OUTPUT_INDEX"]), int(v["MAX_TX_INDEX"]), int(v["MAX_BLOCK_NUM_helper_computed"])
    )
    assert decode_utxo_pos(int.from_bytes(h(UTXO["elixir_pos_binary_4_5_1"]["binary32"]), "big")) == (4, 5, 1)
    with pytest.raises(ValueError):
        encode_utxo_pos(MAX_BLOCK_NUM + 1, 0, 0)
    with pytest.raises(ValueError):
        encode_utxo_pos(1, MAX_TX_INDEX + 1, 0)


@pytest.mark.parametrize("vector", [v for v in VECTORS["decode_errors"] if "expected_error" in v], ids=lambda v: v["name"])
def test_decode_errors_match_elixir(vector):
    with pytest.raises(DecodeError) as info:
        decode(h(vector["input_hex"]))
    assert info.value.reason == vector["expected_error"].lstrip(":")
