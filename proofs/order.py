"""DEX transactions: ORDER (tx type 4) and SETTLEMENT (tx type 5), and the order output (type 3).

Our extension of OMG's transaction format, in its RLP shape (docs: DEX.md's wire format):

ORDER, signed like a payment, one EIP-712 signature per input, in input order:
    [[sig...], 4, [input...], [orderOutput, change...], [buyToken, buyAmount, expiry, nonce], metadata]
  outputs[0] = [3, [owner, sellToken, sellAmount]] is the order output; outputs[1..3] are
  payment outputs (change). The limit is at least buyAmount of buyToken for sellAmount of
  sellToken; expiry is a child block number; the nonce makes equal orders distinct.

SETTLEMENT, built by the operator, no signatures (the signed form has an empty list):
    [[], 5, [orderInput...], outputs, [record...], metadata]
  one record per input, in input order:
    [owner, sellToken, buyToken, sellAmount, buyAmount, expiry, nonce, sold, bought, fee]
  and per input, in input order, the outputs: [1, [owner, buyToken, bought - fee]], then,
  when the order is not filled completely, [3, [owner, sellToken, remaining]].

The EIP-712 typed data of an ORDER (under the ledger's OMG domain, `proofs.eip712`) puts
the order itself in front of the signer, as a struct of the transaction:
    OrderTransaction(uint256 txType,Input input0,..,Input input3,Output output0,..,Output output3,
                     Order order,bytes32 metadata)
    Order(address owner,address sellToken,address buyToken,uint256 sellAmount,uint256 buyAmount,
          uint256 expiry,uint256 nonce)
with OMG's Input and Output structs. An order's id is hashStruct(Order) with its original
sell amount: it names the order across partial fills, and a settlement record's terms hash
to it.
"""
from __future__ import annotations

from typing import ClassVar, NamedTuple

import attrs

from proofs import rlp
from proofs.eip712 import (
    DOMAIN_NAME,
    DOMAIN_SALT,
    DOMAIN_VERSION,
    EMPTY_INPUT_HASH,
    EMPTY_OUTPUT_HASH,
    INPUT_TYPE,
    OUTPUT_TYPE,
    _address_word,
    _hash_input,
    _hash_output,
    _word,
    domain_separator,
    sign,
)
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from proofs import payment
from proofs.payment import (
    MAX_INPUTS,
    MAX_OUTPUT_INDEX,
    MAX_OUTPUTS,
    NULL_METADATA,
    OUTPUT_TYPE_PAYMENT,
    Output,
    _decode_output,
    _decode_uint,
    _inputs,
    _rlp_list,
    _signatures,
    decode_utxo_pos,
)

ORDER_TX_TYPE = 4
SETTLEMENT_TX_TYPE = 5
OUTPUT_TYPE_ORDER = 3
# A settlement pays at most two outputs per input and an output index is at most 9999.
MAX_SETTLEMENT_INPUTS = (MAX_OUTPUT_INDEX + 1) // 2
RECORD_FIELDS = 10

ORDER_TYPE = (
    b"Order(address owner,address sellToken,address buyToken,uint256 sellAmount,uint256 buyAmount,"
    b"uint256 expiry,uint256 nonce)"
)
# EIP-712 encodeType: the primary type, then the types it references sorted by name.
ORDER_TX_TYPE_STRING = (
    b"OrderTransaction(uint256 txType,Input input0,Input input1,Input input2,Input input3,"
    b"Output output0,Output output1,Output output2,Output output3,Order order,bytes32 metadata)"
    + INPUT_TYPE
    + ORDER_TYPE
    + OUTPUT_TYPE
)
ORDER_TYPE_HASH = keccak256(ORDER_TYPE)
ORDER_TX_TYPE_HASH = keccak256(ORDER_TX_TYPE_STRING)


class OrderTerms(NamedTuple):
    """The EIP-712 `Order` struct: what the owner signed."""

    owner: bytes
    sell_token: bytes
    buy_token: bytes
    sell_amount: int
    buy_amount: int
    expiry: int
    nonce: int


def order_id(terms: OrderTerms) -> bytes:
    """hashStruct(Order): the order's id, the same across its partial fills."""
    return keccak256(
        ORDER_TYPE_HASH
        + _address_word(terms.owner)
        + _address_word(terms.sell_token)
        + _address_word(terms.buy_token)
        + _word(terms.sell_amount)
        + _word(terms.buy_amount)
        + _word(terms.expiry)
        + _word(terms.nonce)
    )


@attrs.frozen
class OrderTx:
    """An ORDER transaction; `signatures` is empty in the unsigned form."""

    tx_type: ClassVar[int] = ORDER_TX_TYPE
    inputs: tuple[int, ...] = attrs.field(converter=tuple)
    outputs: tuple[Output, ...] = attrs.field(converter=lambda items: tuple(Output(*o) for o in items))
    buy_token: bytes
    buy_amount: int
    expiry: int
    nonce: int
    metadata: bytes = NULL_METADATA
    signatures: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)

    @property
    def terms(self) -> OrderTerms:
        order = self.outputs[0]
        return OrderTerms(order.owner, order.token, self.buy_token, order.amount, self.buy_amount,
                          self.expiry, self.nonce)

    def with_signatures(self, signatures: tuple[bytes, ...]) -> OrderTx:
        return attrs.evolve(self, signatures=signatures)


def order_tx(inputs: tuple[int, ...], terms: OrderTerms, change: tuple[Output, ...] = (),
             metadata: bytes = NULL_METADATA) -> OrderTx:
    """The unsigned ORDER transaction placing `terms`, funded by `inputs`, with `change`."""
    order_output = Output(OUTPUT_TYPE_ORDER, terms.owner, terms.sell_token, terms.sell_amount)
    return OrderTx(inputs, (order_output, *change), terms.buy_token, terms.buy_amount, terms.expiry,
                   terms.nonce, metadata)


class FillRecord(NamedTuple):
    """One settled input: the order's terms as signed, then this fill (`bought` is gross)."""

    owner: bytes
    sell_token: bytes
    buy_token: bytes
    sell_amount: int
    buy_amount: int
    expiry: int
    nonce: int
    sold: int
    bought: int
    fee: int

    @property
    def terms(self) -> OrderTerms:
        return OrderTerms(*self[:7])


@attrs.frozen
class SettlementTx:
    tx_type: ClassVar[int] = SETTLEMENT_TX_TYPE
    inputs: tuple[int, ...] = attrs.field(converter=tuple)
    outputs: tuple[Output, ...] = attrs.field(converter=lambda items: tuple(Output(*o) for o in items))
    records: tuple[FillRecord, ...] = attrs.field(converter=lambda items: tuple(FillRecord(*r) for r in items))
    metadata: bytes = NULL_METADATA


def settlement_outputs(record: FillRecord, remaining: int) -> tuple[Output, ...]:
    """The outputs one settled input pays: the bought tokens net of the fee to its owner, then
    the `remaining` sell amount (if any) back as an order output of the same order."""
    paid = Output(OUTPUT_TYPE_PAYMENT, record.owner, record.buy_token, record.bought - record.fee)
    if remaining == 0:
        return (paid,)
    return paid, Output(OUTPUT_TYPE_ORDER, record.owner, record.sell_token, remaining)


# --- encoding -------------------------------------------------------------------

def _inputs_rlp(inputs: tuple[int, ...]) -> list:
    return [rlp.encode_uint(pos).rjust(32, b"\0") for pos in inputs]


def _outputs_rlp(outputs: tuple[Output, ...]) -> list:
    return [[rlp.encode_uint(o.output_type), [o.owner, o.token, rlp.encode_uint(o.amount)]] for o in outputs]


def _order_body(tx: OrderTx) -> list:
    data = [tx.buy_token, rlp.encode_uint(tx.buy_amount), rlp.encode_uint(tx.expiry), rlp.encode_uint(tx.nonce)]
    return [rlp.encode_uint(ORDER_TX_TYPE), _inputs_rlp(tx.inputs), _outputs_rlp(tx.outputs), data, tx.metadata]


def _settlement_body(tx: SettlementTx) -> list:
    records = [[r.owner, r.sell_token, r.buy_token, *(rlp.encode_uint(v) for v in r[3:])] for r in tx.records]
    return [rlp.encode_uint(SETTLEMENT_TX_TYPE), _inputs_rlp(tx.inputs), _outputs_rlp(tx.outputs), records,
            tx.metadata]


def encode_order(tx: OrderTx) -> bytes:
    """RLP bytes: the signed form when the transaction carries signatures."""
    body = _order_body(tx)
    return rlp.encode([list(tx.signatures), *body] if tx.signatures else body)


def encode_order_unsigned(tx: OrderTx) -> bytes:
    return rlp.encode(_order_body(tx))


def encode_settlement(tx: SettlementTx) -> bytes:
    """The signed form with an empty signature list: the form a ledger event carries."""
    return rlp.encode([[], *_settlement_body(tx)])


def encode_settlement_unsigned(tx: SettlementTx) -> bytes:
    """The unsigned form: the block's Merkle leaf, and what an exit shows the root chain."""
    return rlp.encode(_settlement_body(tx))


# --- EIP-712 --------------------------------------------------------------------

def struct_hash(tx: OrderTx) -> bytes:
    """hashStruct(OrderTransaction), padding to four inputs and four outputs."""
    inputs = [_hash_input(pos) for pos in tx.inputs] + [EMPTY_INPUT_HASH] * (MAX_INPUTS - len(tx.inputs))
    outputs = [_hash_output(o) for o in tx.outputs] + [EMPTY_OUTPUT_HASH] * (MAX_OUTPUTS - len(tx.outputs))
    return keccak256(
        ORDER_TX_TYPE_HASH + _word(ORDER_TX_TYPE) + b"".join(inputs) + b"".join(outputs) + order_id(tx.terms)
        + tx.metadata
    )


def signing_hash_with_separator(tx: OrderTx, separator: bytes) -> bytes:
    """The 32-byte digest every input owner signs, under a precomputed domain separator."""
    return keccak256(b"\x19\x01" + separator + struct_hash(tx))


def signing_hash(tx: OrderTx, verifying_contract: bytes) -> bytes:
    return signing_hash_with_separator(tx, domain_separator(verifying_contract))


def sign_order(tx: OrderTx, private_keys: tuple[bytes, ...], verifying_contract: bytes) -> bytes:
    """Signed ORDER bytes: `private_keys` holds each input owner's key, in input order."""
    digest = signing_hash(tx, verifying_contract)
    return encode_order(tx.with_signatures(tuple(sign(digest, key) for key in private_keys)))


def typed_data(tx: OrderTx, verifying_contract: bytes) -> dict:
    """The EIP-712 typed data a wallet shows and signs (eth_signTypedData_v4's JSON form)."""
    def output(o: Output) -> dict:
        return {"outputType": o.output_type, "outputGuard": "0x" + o.owner.hex(),
                "currency": "0x" + o.token.hex(), "amount": o.amount}

    empty_output = Output(0, bytes(20), bytes(20), 0)
    positions = [*tx.inputs, *[0] * (MAX_INPUTS - len(tx.inputs))]
    outputs = [*tx.outputs, *[empty_output] * (MAX_OUTPUTS - len(tx.outputs))]
    terms = tx.terms
    message: dict = {"txType": ORDER_TX_TYPE}
    for i, pos in enumerate(positions):
        blknum, txindex, oindex = decode_utxo_pos(pos)
        message[f"input{i}"] = {"blknum": blknum, "txindex": txindex, "oindex": oindex}
    for i, o in enumerate(outputs):
        message[f"output{i}"] = output(o)
    message["order"] = {
        "owner": "0x" + terms.owner.hex(), "sellToken": "0x" + terms.sell_token.hex(),
        "buyToken": "0x" + terms.buy_token.hex(), "sellAmount": terms.sell_amount,
        "buyAmount": terms.buy_amount, "expiry": terms.expiry, "nonce": terms.nonce,
    }
    message["metadata"] = "0x" + tx.metadata.hex()
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "verifyingContract", "type": "address"}, {"name": "salt", "type": "bytes32"}],
            "OrderTransaction": [
                {"name": "txType", "type": "uint256"},
                *({"name": f"input{i}", "type": "Input"} for i in range(MAX_INPUTS)),
                *({"name": f"output{i}", "type": "Output"} for i in range(MAX_OUTPUTS)),
                {"name": "order", "type": "Order"},
                {"name": "metadata", "type": "bytes32"},
            ],
            "Input": [{"name": n, "type": "uint256"} for n in ("blknum", "txindex", "oindex")],
            "Output": [{"name": "outputType", "type": "uint256"}, {"name": "outputGuard", "type": "bytes20"},
                       {"name": "currency", "type": "address"}, {"name": "amount", "type": "uint256"}],
            "Order": [{"name": "owner", "type": "address"}, {"name": "sellToken", "type": "address"},
                      {"name": "buyToken", "type": "address"}, {"name": "sellAmount", "type": "uint256"},
                      {"name": "buyAmount", "type": "uint256"}, {"name": "expiry", "type": "uint256"},
                      {"name": "nonce", "type": "uint256"}],
        },
        "primaryType": "OrderTransaction",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION,
                   "verifyingContract": "0x" + verifying_contract.hex(), "salt": "0x" + DOMAIN_SALT.hex()},
        "message": message,
    }


# --- decoding -------------------------------------------------------------------
# The checks and codes of `proofs.payment.decode`, in its order (type, inputs, outputs,
# txData, metadata), and a few of our own for what a payment does not have.

def _tx_type(raw: object, expected: int) -> None:
    if not isinstance(raw, bytes) or raw[:1] == b"\0" or int.from_bytes(raw, "big") != expected:
        raise DecodeError("unrecognized_transaction_type", f"tx type {raw!r}")


def _address(item: object, field: str) -> bytes:
    if not isinstance(item, bytes) or len(item) != 20:
        raise DecodeError("malformed_address", f"{field} must be 20 bytes")
    return item


def _metadata(item: object) -> bytes:
    if not isinstance(item, bytes) or len(item) != 32:
        raise DecodeError("malformed_metadata", "metadata must be 32 bytes")
    return item


def _split(raw: bytes) -> tuple[list | None, list]:
    """(signatures or None for the unsigned form, the five body fields)."""
    items = _rlp_list(raw)
    signatures = None
    if items and isinstance(items[0], list):
        signatures, items = items[0], items[1:]
    if len(items) != 5:
        raise DecodeError("malformed_transaction", f"expected 5 fields, got {len(items)}")
    return signatures, items


def decode_order(raw: bytes) -> OrderTx:
    """Parse an ORDER transaction, unsigned or signed; `DecodeError` on anything malformed."""
    raw_signatures, (raw_type, raw_inputs, raw_outputs, raw_data, metadata) = _split(raw)
    signatures = _signatures(raw_signatures) if raw_signatures is not None else ()
    _tx_type(raw_type, ORDER_TX_TYPE)
    inputs = _inputs(raw_inputs)
    if not inputs:
        raise DecodeError("empty_inputs", "an order is funded by at least one input")
    if not isinstance(raw_outputs, list):
        raise DecodeError("malformed_outputs", "outputs must be a list")
    if not raw_outputs:
        raise DecodeError("empty_outputs", "an order transaction needs its order output")
    if len(raw_outputs) > MAX_OUTPUTS:
        raise DecodeError("too_many_outputs", f"{len(raw_outputs)} outputs, at most {MAX_OUTPUTS}")
    try:
        order = _decode_output(raw_outputs[0], (OUTPUT_TYPE_ORDER,))
    except DecodeError as exc:
        raise DecodeError("missing_order_output" if exc.reason == "unrecognized_output_type" else exc.reason,
                          exc.detail) from None
    outputs = (order, *(_decode_output(o) for o in raw_outputs[1:]))
    if not isinstance(raw_data, list) or len(raw_data) != 4:
        raise DecodeError("malformed_order", "txData must be [buyToken, buyAmount, expiry, nonce]")
    buy_token = _address(raw_data[0], "buy token")
    buy_amount, expiry, nonce = (_decode_uint(v, f) for v, f in zip(raw_data[1:], ("buy amount", "expiry", "nonce")))
    if buy_amount == 0:
        raise DecodeError("amount_cant_be_zero", "buy amount must not be 0")
    if buy_token == order.token:
        raise DecodeError("same_token_pair", "an order sells one token for another")
    return OrderTx(inputs, outputs, buy_token, buy_amount, expiry, nonce, _metadata(metadata), signatures)


def decode_settlement(raw: bytes) -> SettlementTx:
    """Parse a SETTLEMENT transaction (the signed form with no signatures, or the unsigned
    form) and check its shape: one record per input, each input's outputs as its record says."""
    raw_signatures, (raw_type, raw_inputs, raw_outputs, raw_records, metadata) = _split(raw)
    if raw_signatures:
        raise DecodeError("superfluous_signature", "a settlement carries no signatures")
    _tx_type(raw_type, SETTLEMENT_TX_TYPE)
    inputs = _inputs(raw_inputs, MAX_SETTLEMENT_INPUTS)
    if not inputs:
        raise DecodeError("empty_inputs", "a settlement fills at least one order")
    if not isinstance(raw_outputs, list):
        raise DecodeError("malformed_outputs", "outputs must be a list")
    outputs = tuple(_decode_output(o, (OUTPUT_TYPE_PAYMENT, OUTPUT_TYPE_ORDER)) for o in raw_outputs)
    if not isinstance(raw_records, list) or len(raw_records) != len(inputs):
        raise DecodeError("malformed_settlement", "txData must hold one record per input")
    records = tuple(_record(item) for item in raw_records)
    _check_outputs(records, outputs)
    return SettlementTx(inputs, outputs, records, _metadata(metadata))


def _record(item: object) -> FillRecord:
    if not isinstance(item, list) or len(item) != RECORD_FIELDS:
        raise DecodeError("malformed_settlement", f"a fill record has {RECORD_FIELDS} fields")
    owner, sell_token, buy_token = (_address(v, f) for v, f in zip(item, ("owner", "sell token", "buy token")))
    numbers = [_decode_uint(v, "fill record") for v in item[3:]]
    record = FillRecord(owner, sell_token, buy_token, *numbers)
    if sell_token == buy_token or record.sell_amount == 0 or record.buy_amount == 0:
        raise DecodeError("malformed_settlement", "a record's terms must be an order's")
    if not 0 < record.sold <= record.sell_amount or not record.fee < record.bought:
        raise DecodeError("malformed_settlement", "a fill sells 1..sellAmount and keeps some of what it bought")
    return record


def _check_outputs(records: tuple[FillRecord, ...], outputs: tuple[Output, ...]) -> None:
    """Per record: its payment output, then its remainder if the next output is an order output
    (each record's outputs start with a payment output, so the split is unambiguous)."""
    at = 0
    for index, record in enumerate(records):
        following = outputs[at + 1] if at + 1 < len(outputs) else None
        remaining = following.amount if following is not None and following.output_type == OUTPUT_TYPE_ORDER else 0
        expected = settlement_outputs(record, remaining)
        if outputs[at : at + len(expected)] != expected:
            raise DecodeError("malformed_settlement", f"outputs from index {at} do not pay record {index}")
        at += len(expected)
    if at != len(outputs):
        raise DecodeError("malformed_settlement", f"{len(outputs) - at} outputs belong to no record")


def decode_transaction(raw: bytes) -> payment.PaymentTx | OrderTx | SettlementTx:
    """Any transaction a block holds, by its type: what an exit shows the root chain."""
    _, (raw_type, *_) = _split(raw)
    if raw_type == bytes([ORDER_TX_TYPE]):
        return decode_order(raw)
    if raw_type == bytes([SETTLEMENT_TX_TYPE]):
        return decode_settlement(raw)
    return payment.decode(raw)
