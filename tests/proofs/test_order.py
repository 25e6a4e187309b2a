"""ORDER and SETTLEMENT transactions: fixed vectors (tests/proofs/vectors/dex_vectors.json),
the EIP-712 hashes re-derived by eth-account's independent encoder, and every decoding error."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account.messages import encode_typed_data

from proofs import eip712, rlp
from proofs import order as o
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from proofs.payment import Output, decode, encode_utxo_pos, unsigned_bytes
from tests.conftest import ADDRS, ETH, KEYS, TOKEN, VC

VECTORS = json.loads((Path(__file__).parent / "vectors" / "dex_vectors.json").read_text())


def h(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def output_of(item: dict) -> Output:
    return Output(item["outputType"], h(item["owner"]), h(item["token"]), int(item["amount"]))


def order_vector(vector: dict) -> tuple[o.OrderTx, o.OrderTerms]:
    order = vector["order"]
    terms = o.OrderTerms(h(order["owner"]), h(order["sellToken"]), h(order["buyToken"]), int(order["sellAmount"]),
                         int(order["buyAmount"]), order["expiry"], order["nonce"])
    return o.order_tx(tuple(vector["inputs"]), terms, tuple(output_of(c) for c in vector["change"])), terms


def code_of(decoder, raw: bytes) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DecodeError) as info:
        decoder(raw)
    return info.value.reason


def terms(owner: int = 0, sell: bytes = ETH, buy: bytes = TOKEN, sell_amount: int = 100, buy_amount: int = 300,
          expiry: int = 3000, nonce: int = 0) -> o.OrderTerms:
    return o.OrderTerms(ADDRS[owner], sell, buy, sell_amount, buy_amount, expiry, nonce)


def body(tx: o.OrderTx) -> list:
    return rlp.decode(o.encode_order_unsigned(tx))  # type: ignore[return-value]


D1 = encode_utxo_pos(1, 0, 0)


def test_type_strings_are_fixed():
    assert o.ORDER_TYPE_HASH == h(VECTORS["order_type_hash"]) == keccak256(o.ORDER_TYPE)
    assert o.ORDER_TX_TYPE_HASH == h(VECTORS["order_tx_type_hash"])
    assert o.ORDER_TX_TYPE_STRING.startswith(b"OrderTransaction(") and o.ORDER_TX_TYPE_STRING.endswith(eip712.OUTPUT_TYPE)


@pytest.mark.parametrize("vector", VECTORS["orders"], ids=lambda v: v["name"])
def test_order_vectors(vector):
    tx, order_terms = order_vector(vector)
    assert o.order_id(order_terms) == h(vector["order_id"])
    assert o.struct_hash(tx) == h(vector["struct_hash"])
    assert o.signing_hash(tx, VC) == h(vector["signing_hash"])
    assert o.encode_order_unsigned(tx) == h(vector["unsigned_hex"])
    raw = o.sign_order(tx, tuple(KEYS[i] for i in vector["signer_keys"]), VC)
    assert raw == h(vector["signed_hex"])
    decoded = o.decode_order(raw)
    assert decoded.with_signatures(()) == tx and decoded.terms == order_terms
    assert [eip712.recover(h(vector["signing_hash"]), s) for s in decoded.signatures] == [
        ADDRS[i] for i in vector["signer_keys"]
    ]
    assert unsigned_bytes(raw) == o.encode_order_unsigned(tx)


@pytest.mark.parametrize("vector", VECTORS["orders"], ids=lambda v: v["name"])
def test_eip712_hashes_match_an_independent_encoder(vector):
    tx, order_terms = order_vector(vector)
    signable = encode_typed_data(full_message=o.typed_data(tx, VC))
    assert signable.header == eip712.domain_separator(VC)
    assert signable.body == o.struct_hash(tx)
    typed = o.typed_data(tx, VC)
    only_order = {"types": {"EIP712Domain": typed["types"]["EIP712Domain"], "Order": typed["types"]["Order"]},
                  "primaryType": "Order", "domain": typed["domain"], "message": typed["message"]["order"]}
    assert encode_typed_data(full_message=only_order).body == o.order_id(order_terms)


@pytest.mark.parametrize("vector", VECTORS["settlements"], ids=lambda v: v["name"])
def test_settlement_vectors(vector):
    records = tuple(o.FillRecord(h(r[0]), h(r[1]), h(r[2]), *map(int, r[3:])) for r in vector["records"])
    tx = o.SettlementTx(vector["inputs"], [output_of(x) for x in vector["outputs"]], records)
    assert o.encode_settlement(tx) == h(vector["signed_hex"])
    assert o.encode_settlement_unsigned(tx) == h(vector["unsigned_hex"]) == unsigned_bytes(h(vector["signed_hex"]))
    assert o.decode_settlement(h(vector["signed_hex"])) == tx == o.decode_settlement(h(vector["unsigned_hex"]))
    assert [o.order_id(r.terms) for r in records] == [h(i) for i in vector["order_ids"]]


def test_order_terms_come_from_the_order_output_and_the_tx_data():
    tx = o.order_tx((D1,), terms(sell_amount=70), (Output(1, ADDRS[0], ETH, 30),))
    assert tx.outputs[0] == Output(o.OUTPUT_TYPE_ORDER, ADDRS[0], ETH, 70)
    assert tx.terms == terms(sell_amount=70)
    assert o.order_id(terms(nonce=1)) != o.order_id(terms()) != o.order_id(terms(expiry=4000))


def test_a_payment_decoder_refuses_order_transactions():
    raw = o.sign_order(o.order_tx((D1,), terms()), (KEYS[0],), VC)
    with pytest.raises(DecodeError) as info:
        decode(raw)
    assert info.value.reason == "unrecognized_transaction_type"


def test_an_order_signature_is_not_a_payment_signature():
    tx = o.order_tx((D1,), terms())
    from proofs.payment import PaymentTx

    as_payment = PaymentTx(tx.inputs, [Output(1, *tx.outputs[0][1:])])
    assert o.signing_hash(tx, VC) != eip712.signing_hash(as_payment, VC)


def _mutated(index: int, value: object) -> bytes:
    items = body(o.order_tx((D1,), terms(), (Output(1, ADDRS[0], ETH, 5),)))
    items[index] = value
    return rlp.encode(items)


@pytest.mark.parametrize(
    "raw, code",
    [
        (b"", "malformed_transaction"),
        (b"\xc3\x01", "malformed_transaction_rlp"),
        (rlp.encode([b"\x04", [], [], [], bytes(32)]), "empty_inputs"),
        (_mutated(0, b"\x01"), "unrecognized_transaction_type"),
        (_mutated(0, b"\x05"), "unrecognized_transaction_type"),
        (_mutated(1, [b"\x01"]), "malformed_inputs"),
        (_mutated(1, [encode_utxo_pos(1, 0, i).to_bytes(32, "big") for i in range(5)]), "too_many_inputs"),
        (_mutated(2, []), "empty_outputs"),
        (_mutated(2, [[b"\x01", [ADDRS[0], ETH, b"\x05"]]]), "missing_order_output"),
        (_mutated(2, [[b"\x03", [ADDRS[0], ETH, b"\x05"]]] * 2), "unrecognized_output_type"),
        (_mutated(2, [[b"\x03", [bytes(20), ETH, b"\x05"]]]), "output_guard_cant_be_zero"),
        (_mutated(2, [[b"\x03", [ADDRS[0], ETH, b""]]]), "amount_cant_be_zero"),
        (_mutated(2, [[b"\x03", [ADDRS[0], ETH, b"\x05"]]] * 5), "too_many_outputs"),
        (_mutated(3, b""), "malformed_order"),
        (_mutated(3, [TOKEN, b"\x01", b"\x01"]), "malformed_order"),
        (_mutated(3, [TOKEN[:19], b"\x01", b"\x01", b""]), "malformed_address"),
        (_mutated(3, [TOKEN, b"", b"\x01", b""]), "amount_cant_be_zero"),
        (_mutated(3, [TOKEN, b"\x00\x01", b"\x01", b""]), "leading_zeros_in_encoded_uint"),
        (_mutated(3, [TOKEN, b"\x01", b"\x01" * 33, b""]), "encoded_uint_too_big"),
        (_mutated(3, [ETH, b"\x01", b"\x01", b""]), "same_token_pair"),
        (_mutated(4, bytes(31)), "malformed_metadata"),
        (rlp.encode([[b"\x01" * 64], *body(o.order_tx((D1,), terms()))]), "malformed_witnesses"),
    ],
)
def test_malformed_orders_are_refused_with_a_stable_code(raw, code):
    assert code_of(o.decode_order, raw) == code


def _settlement(remaining: int = 40) -> o.SettlementTx:
    record = o.FillRecord(*terms(), 60, 180, 2)
    return o.SettlementTx((encode_utxo_pos(1000, 0, 0),), o.settlement_outputs(record, remaining), (record,))


def _settlement_items(**changes: object) -> list:
    items = rlp.decode(o.encode_settlement(_settlement()))
    fields = {"sigs": 0, "type": 1, "inputs": 2, "outputs": 3, "records": 4, "metadata": 5}
    for name, value in changes.items():
        items[fields[name]] = value  # type: ignore[index]
    return items  # type: ignore[return-value]


def _record_items(**changes: int) -> list:
    record = list(_settlement().records[0])
    names = list(o.FillRecord._fields)
    for name, value in changes.items():
        record[names.index(name)] = value
    return [record[0], record[1], record[2], *(rlp.encode_uint(v) for v in record[3:])]


def test_a_full_fill_pays_one_output_and_a_partial_fill_two():
    assert len(_settlement(0).outputs) == 1 and len(_settlement(40).outputs) == 2
    assert _settlement(40).outputs == (Output(1, ADDRS[0], TOKEN, 178), Output(3, ADDRS[0], ETH, 40))
    for tx in (_settlement(0), _settlement(40)):
        assert o.decode_settlement(o.encode_settlement(tx)) == tx


@pytest.mark.parametrize(
    "items, code",
    [
        (_settlement_items(sigs=[b"\x01" * 65]), "superfluous_signature"),
        (_settlement_items(type=b"\x04"), "unrecognized_transaction_type"),
        (_settlement_items(inputs=[]), "empty_inputs"),
        (_settlement_items(records=[]), "malformed_settlement"),
        (_settlement_items(records=[_record_items()[:9]]), "malformed_settlement"),
        (_settlement_items(records=[_record_items(sold=0)]), "malformed_settlement"),
        (_settlement_items(records=[_record_items(sold=101)]), "malformed_settlement"),
        (_settlement_items(records=[_record_items(fee=180)]), "malformed_settlement"),
        (_settlement_items(records=[_record_items(buy_amount=0)]), "malformed_settlement"),
        (_settlement_items(records=[_record_items(bought=181)]), "malformed_settlement"),
        (_settlement_items(outputs=[[b"\x01", [ADDRS[0], TOKEN, b"\xb2"]]] * 2), "malformed_settlement"),
        (_settlement_items(outputs=[[b"\x01", [ADDRS[1], TOKEN, b"\xb2"]]]), "malformed_settlement"),
        (_settlement_items(outputs=[[b"\x02", [ADDRS[0], TOKEN, b"\xb2"]]]), "unrecognized_output_type"),
        (_settlement_items(metadata=b"\x01"), "malformed_metadata"),
    ],
)
def test_malformed_settlements_are_refused_with_a_stable_code(items, code):
    assert code_of(o.decode_settlement, rlp.encode(items)) == code


def test_a_settlement_holds_at_most_what_output_indexes_can_number():
    record = _settlement().records[0]
    inputs = [encode_utxo_pos(1000, 0, i).to_bytes(32, "big") for i in range(o.MAX_SETTLEMENT_INPUTS + 1)]
    items = _settlement_items(inputs=inputs, records=[_record_items()] * len(inputs),
                              outputs=[[b"\x01", [ADDRS[0], TOKEN, rlp.encode_uint(record.bought - record.fee)]]] * len(inputs))
    assert code_of(o.decode_settlement, rlp.encode(items)) == "too_many_inputs"
    assert 2 * o.MAX_SETTLEMENT_INPUTS - 1 <= 9999
