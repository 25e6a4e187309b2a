"""Payment transaction v1, the format of OMG's plasma-contracts v2 and omg-js 4.x.

Unsigned: RLP [txType, [input...], [[outputType, [outputGuard, token, amount]]...], txData, metadata]
Signed:   RLP [[signature...], txType, inputs, outputs, txData, metadata]

Inputs are 32-byte big-endian UTXO positions; owners and tokens are 20-byte
addresses; integers are minimal big-endian (no leading zeros, 0 is the empty string).
Decoding follows plasma-contracts' PaymentTransactionModel and RLPReader: anything
they reject raises `DecodeError` here with a stable reason.
"""
from __future__ import annotations

from typing import NamedTuple

import attrs

from proofs import rlp
from proofs.errors import DecodeError

PAYMENT_TX_TYPE = 1
OUTPUT_TYPE_PAYMENT = 1
MAX_INPUTS = 4
MAX_OUTPUTS = 4
NULL_METADATA = bytes(32)
SIGNATURE_LENGTH = 65

# UTXO position = blknum * BLOCK_OFFSET + txindex * TX_OFFSET + oindex
BLOCK_OFFSET = 1_000_000_000
TX_OFFSET = 10_000
MAX_OUTPUT_INDEX = TX_OFFSET - 1
MAX_TX_INDEX = 2**16 - 1  # a block's Merkle tree has depth 16
MAX_BLOCK_NUM = (2**56 - 1 - MAX_TX_INDEX) // (BLOCK_OFFSET // TX_OFFSET)


class Output(NamedTuple):
    output_type: int
    owner: bytes
    token: bytes
    amount: int


def _outputs(items: object) -> tuple[Output, ...]:
    if type(items) is tuple and all(type(item) is Output for item in items):
        return items  # the decoder's own product: nothing to convert
    return tuple(Output(*item) for item in items)  # type: ignore[attr-defined]


@attrs.frozen
class PaymentTx:
    """A payment (or deposit) transaction; `signatures` is empty in the unsigned form."""

    inputs: tuple[int, ...] = attrs.field(converter=tuple)
    outputs: tuple[Output, ...] = attrs.field(converter=_outputs)
    metadata: bytes = NULL_METADATA
    tx_type: int = PAYMENT_TX_TYPE
    tx_data: int = 0
    signatures: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)

    def unsigned(self) -> PaymentTx:
        return attrs.evolve(self, signatures=())

    def with_signatures(self, signatures: tuple[bytes, ...]) -> PaymentTx:
        return attrs.evolve(self, signatures=signatures)


def deposit_tx(owner: bytes, token: bytes, amount: int, metadata: bytes = NULL_METADATA) -> PaymentTx:
    """A deposit: no inputs and one output, as the root-chain vaults accept it."""
    return PaymentTx(inputs=(), outputs=(Output(OUTPUT_TYPE_PAYMENT, owner, token, amount),), metadata=metadata)


# --- UTXO positions (plasma-contracts PosLib) ------------------------------------

def encode_utxo_pos(blknum: int, txindex: int, oindex: int) -> int:
    if not 0 <= oindex <= MAX_OUTPUT_INDEX:
        raise ValueError(f"oindex {oindex} out of range 0..{MAX_OUTPUT_INDEX}")
    if not 0 <= txindex <= MAX_TX_INDEX:
        raise ValueError(f"txindex {txindex} out of range 0..{MAX_TX_INDEX}")
    if not 0 <= blknum <= MAX_BLOCK_NUM:
        raise ValueError(f"blknum {blknum} out of range 0..{MAX_BLOCK_NUM}")
    return blknum * BLOCK_OFFSET + txindex * TX_OFFSET + oindex


def decode_utxo_pos(pos: int) -> tuple[int, int, int]:
    """(blknum, txindex, oindex) of a position, with PosLib's bounds."""
    if pos < 0:
        raise ValueError(f"utxo position {pos} is negative")
    blknum, rest = divmod(pos, BLOCK_OFFSET)
    txindex, oindex = divmod(rest, TX_OFFSET)
    if txindex > MAX_TX_INDEX or blknum > MAX_BLOCK_NUM:
        raise ValueError(f"utxo position {pos} is out of PosLib's range")
    return blknum, txindex, oindex


# --- encoding -------------------------------------------------------------------

def _body(tx: PaymentTx) -> list:
    return [
        rlp.encode_uint(tx.tx_type),
        [rlp.encode_uint(pos).rjust(32, b"\0") for pos in tx.inputs],
        [[rlp.encode_uint(o.output_type), [o.owner, o.token, rlp.encode_uint(o.amount)]] for o in tx.outputs],
        rlp.encode_uint(tx.tx_data),
        tx.metadata,
    ]


def encode(tx: PaymentTx) -> bytes:
    """RLP bytes: the signed form when the transaction carries signatures."""
    body = _body(tx)
    return rlp.encode([list(tx.signatures), *body] if tx.signatures else body)


def encode_unsigned(tx: PaymentTx) -> bytes:
    return rlp.encode(_body(tx))


# --- decoding -------------------------------------------------------------------
# Codes and check order follow elixir-omg (OMG.State.Transaction, Payment, Output):
# type, inputs, outputs, txData, metadata; in an output: type, owner, token, amount.

def decode(raw: bytes) -> PaymentTx:
    """Parse the unsigned or the signed form; raise `DecodeError` on anything malformed."""
    items = _rlp_list(raw)
    signatures: tuple[bytes, ...] = ()
    if items and isinstance(items[0], list):
        signatures, items = _signatures(items[0]), items[1:]
    if len(items) != 5:
        raise DecodeError("malformed_transaction", f"expected 5 fields, got {len(items)}")
    raw_type, raw_inputs, raw_outputs, raw_data, metadata = items
    if not isinstance(raw_type, bytes) or raw_type[:1] == b"\0" or int.from_bytes(raw_type, "big") != PAYMENT_TX_TYPE:
        raise DecodeError("unrecognized_transaction_type", f"tx type {raw_type!r}")
    inputs, outputs = _inputs(raw_inputs), _decode_outputs(raw_outputs)
    if not isinstance(raw_data, bytes):
        raise DecodeError("malformed_uint256", "txData must be an integer")
    if _decode_uint(raw_data, "tx_data") != 0:
        raise DecodeError("malformed_tx_data", "txData must be 0")
    if not isinstance(metadata, bytes) or len(metadata) != 32:
        raise DecodeError("malformed_metadata", "metadata must be 32 bytes")
    return PaymentTx(inputs=inputs, outputs=outputs, metadata=metadata, signatures=signatures)


def _rlp_list(raw: bytes) -> list:
    if not isinstance(raw, (bytes, bytearray)):
        raise DecodeError("malformed_transaction_rlp", f"expected bytes, got {type(raw).__name__}")
    if not raw:
        raise DecodeError("malformed_transaction", "no bytes")
    try:
        items = rlp.decode(bytes(raw))
    except DecodeError as exc:
        raise DecodeError("malformed_transaction_rlp", exc.detail) from None
    if not isinstance(items, list):
        raise DecodeError("malformed_transaction", "not an RLP list")
    return items


def _signatures(item: list) -> tuple[bytes, ...]:
    if not all(isinstance(s, bytes) and len(s) == SIGNATURE_LENGTH for s in item):
        raise DecodeError("malformed_witnesses", f"every signature must be {SIGNATURE_LENGTH} bytes")
    return tuple(item)


def _decode_uint(item: object, field: str) -> int:
    if not isinstance(item, bytes):
        raise DecodeError("malformed_outputs", f"{field} must be an integer, got a list")
    if len(item) > 32:
        raise DecodeError("encoded_uint_too_big", f"{field} is over 32 bytes")
    if item[:1] == b"\0":
        raise DecodeError("leading_zeros_in_encoded_uint", field)
    return int.from_bytes(item, "big")


def _inputs(item: object, max_inputs: int = MAX_INPUTS) -> tuple[int, ...]:
    if not isinstance(item, list):
        raise DecodeError("malformed_inputs", "inputs must be a list")
    if len(item) > max_inputs:
        raise DecodeError("too_many_inputs", f"{len(item)} inputs, at most {max_inputs}")
    positions = []
    for raw in item:
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise DecodeError("malformed_inputs", "an input must be a 32-byte UTXO position")
        pos = int.from_bytes(raw, "big")
        if pos == 0:
            raise DecodeError("malformed_inputs", "null input")
        try:
            decode_utxo_pos(pos)
        except ValueError as exc:
            raise DecodeError("malformed_inputs", str(exc)) from None
        positions.append(pos)
    return tuple(positions)


def _decode_outputs(item: object) -> tuple[Output, ...]:
    if not isinstance(item, list):
        raise DecodeError("malformed_outputs", "outputs must be a list")
    if not item:
        raise DecodeError("empty_outputs", "a transaction needs at least one output")
    if len(item) > MAX_OUTPUTS:
        raise DecodeError("too_many_outputs", f"{len(item)} outputs, at most {MAX_OUTPUTS}")
    return tuple(_decode_output(raw) for raw in item)


def _decode_output(raw: object, output_types: tuple[int, ...] = (OUTPUT_TYPE_PAYMENT,)) -> Output:
    """One output whose type is one of `output_types` (an order transaction's have others)."""
    if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], list) or len(raw[1]) != 3:
        raise DecodeError("malformed_outputs", "an output must be [outputType, [outputGuard, token, amount]]")
    raw_type, (owner, token, raw_amount) = raw
    if not isinstance(raw_type, bytes) or raw_type[:1] == b"\0" or len(raw_type) > 32:
        raise DecodeError("unrecognized_output_type", f"output type {raw_type!r}")
    output_type = int.from_bytes(raw_type, "big")
    if output_type not in output_types:
        raise DecodeError("unrecognized_output_type", f"output type {output_type}")
    if not isinstance(owner, bytes) or len(owner) != 20:
        raise DecodeError("malformed_address", "output guard must be 20 bytes")
    if owner == bytes(20):
        raise DecodeError("output_guard_cant_be_zero", "output guard must not be the zero address")
    if not isinstance(token, bytes) or len(token) != 20:
        raise DecodeError("malformed_address", "token must be 20 bytes")
    amount = _decode_uint(raw_amount, "amount")
    if amount == 0:
        raise DecodeError("amount_cant_be_zero", "output amount must not be 0")
    return Output(output_type, owner, token, amount)


def unsigned_bytes(signed: bytes) -> bytes:
    """The unsigned encoding inside a well-formed signed encoding (the Merkle leaf of a
    block), cut out of the bytes rather than re-encoded: RLP is canonical, so it is exact."""
    body_start = _payload_start(signed, 0)
    sigs_end = _payload_start(signed, body_start) + _payload_length(signed, body_start)
    rest = signed[sigs_end:]
    return rlp.list_header(len(rest)) + rest


def _payload_start(raw: bytes, at: int) -> int:
    prefix = raw[at]
    return at + 1 + (prefix - 0xF7 if prefix > 0xF7 else 0)


def _payload_length(raw: bytes, at: int) -> int:
    prefix = raw[at]
    if prefix <= 0xF7:
        return prefix - 0xC0
    return int.from_bytes(raw[at + 1 : at + 1 + prefix - 0xF7], "big")
