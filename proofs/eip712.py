"""EIP-712 signing of payment transactions with OMG's domain, as PaymentEip712Lib does.

hash = keccak(0x1901 || domainSeparator || hashStruct(Transaction)), where the
transaction always has four input and four output slots; empty slots hash the
all-zero struct. Signatures are Ethereum's 65 bytes r || s || v with v in {27, 28}.
"""
from __future__ import annotations

import coincurve

from proofs.errors import DecodeError
from proofs.keccak import address_of_public_key, keccak256
from proofs.payment import MAX_INPUTS, MAX_OUTPUTS, Output, PaymentTx, decode_utxo_pos

DOMAIN_NAME = "OMG Network"
DOMAIN_VERSION = "1"
DOMAIN_SALT = bytes.fromhex("fad5c7f626d80f9256ef01929f3beb96e058b8b4b0e3fe52d84f054c0e2a7a83")

EIP712_DOMAIN_TYPE = b"EIP712Domain(string name,string version,address verifyingContract,bytes32 salt)"
INPUT_TYPE = b"Input(uint256 blknum,uint256 txindex,uint256 oindex)"
OUTPUT_TYPE = b"Output(uint256 outputType,bytes20 outputGuard,address currency,uint256 amount)"
TX_TYPE = (
    b"Transaction(uint256 txType,Input input0,Input input1,Input input2,Input input3,"
    b"Output output0,Output output1,Output output2,Output output3,uint256 txData,bytes32 metadata)"
    + INPUT_TYPE
    + OUTPUT_TYPE
)

# Signatures with s above half the curve order are the malleable twin of a low-s one;
# the root chain's ECDSA.recover (OpenZeppelin) rejects them, so we do too.
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0

DOMAIN_TYPE_HASH = keccak256(EIP712_DOMAIN_TYPE)
INPUT_TYPE_HASH = keccak256(INPUT_TYPE)
OUTPUT_TYPE_HASH = keccak256(OUTPUT_TYPE)
TX_TYPE_HASH = keccak256(TX_TYPE)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: bytes) -> bytes:
    """`address` is left-padded to a word."""
    return address.rjust(32, b"\0")


def _bytes20_word(value: bytes) -> bytes:
    """`bytes20` is right-padded to a word (fixed bytes are left-aligned in ABI)."""
    return value.ljust(32, b"\0")


def domain_separator(verifying_contract: bytes) -> bytes:
    if len(verifying_contract) != 20:
        raise ValueError("verifying contract must be a 20-byte address")
    return keccak256(
        DOMAIN_TYPE_HASH
        + keccak256(DOMAIN_NAME.encode())
        + keccak256(DOMAIN_VERSION.encode())
        + _address_word(verifying_contract)
        + DOMAIN_SALT
    )


def _hash_input(pos: int) -> bytes:
    blknum, txindex, oindex = decode_utxo_pos(pos)
    return keccak256(INPUT_TYPE_HASH + _word(blknum) + _word(txindex) + _word(oindex))


def _hash_output(o: Output) -> bytes:
    return keccak256(
        OUTPUT_TYPE_HASH + _word(o.output_type) + _bytes20_word(o.owner) + _address_word(o.token) + _word(o.amount)
    )


EMPTY_INPUT_HASH = _hash_input(0)
EMPTY_OUTPUT_HASH = _hash_output(Output(0, bytes(20), bytes(20), 0))


def struct_hash(tx: PaymentTx) -> bytes:
    """hashStruct(Transaction), padding to four inputs and four outputs."""
    inputs = [_hash_input(pos) for pos in tx.inputs] + [EMPTY_INPUT_HASH] * (MAX_INPUTS - len(tx.inputs))
    outputs = [_hash_output(o) for o in tx.outputs] + [EMPTY_OUTPUT_HASH] * (MAX_OUTPUTS - len(tx.outputs))
    return keccak256(
        TX_TYPE_HASH + _word(tx.tx_type) + b"".join(inputs) + b"".join(outputs) + _word(tx.tx_data) + tx.metadata
    )


def signing_hash(tx: PaymentTx, verifying_contract: bytes) -> bytes:
    """The 32-byte digest every input owner signs."""
    return keccak256(b"\x19\x01" + domain_separator(verifying_contract) + struct_hash(tx))


def signing_hash_with_separator(tx: PaymentTx, separator: bytes) -> bytes:
    """`signing_hash` with a precomputed domain separator: the ledger's hot path."""
    return keccak256(b"\x19\x01" + separator + struct_hash(tx))


def sign(digest: bytes, private_key: bytes) -> bytes:
    """65-byte r || s || v signature of a 32-byte digest, v in {27, 28}."""
    rsv = coincurve.PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return rsv[:64] + bytes([rsv[64] + 27])


def recover(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address that signed `digest`; `DecodeError` if the signature is invalid."""
    if len(signature) != 65:
        raise DecodeError("malformed_witnesses", "a signature is 65 bytes")
    v = signature[64]
    if v not in (27, 28):
        raise DecodeError("signature_corrupt", f"v must be 27 or 28, got {v}")
    if int.from_bytes(signature[32:64], "big") > SECP256K1_HALF_N:
        raise DecodeError("signature_corrupt", "s is in the upper half of the curve order")
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), digest, hasher=None
        )
    except ValueError as exc:
        raise DecodeError("signature_corrupt", str(exc)) from None
    return address_of_public_key(public_key.format(compressed=False)[1:])


def address_of(private_key: bytes) -> bytes:
    return address_of_public_key(coincurve.PrivateKey(private_key).public_key.format(compressed=False)[1:])
