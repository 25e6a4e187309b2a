"""Payment decoding edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

import pytest

from proofs import rlp
from proofs.errors import DecodeError
from proofs.payment import (
    BLOCK_OFFSET,
    MAX_BLOCK_NUM,
    NULL_METADATA,
    TX_OFFSET,
    Output,
    PaymentTx,
    decode,
    decode_utxo_pos,
    deposit_tx,
    encode_utxo_pos,
)

OWNER, TOKEN = b"\x11" * 20, b"\x22" * 20
INPUT = encode_utxo_pos(1, 0, 0).to_bytes(32, "big")


def _raw(tx_type: rlp.Item = b"\x01", inputs: rlp.Item = None, outputs: rlp.Item = None, sigs: list | None = None) -> bytes:
    """RLP of a payment with its fields as given (well-formed where not given)."""
    body = [tx_type, [INPUT] if inputs is None else inputs,
            [[b"\x01", [OWNER, TOKEN, b"\x05"]]] if outputs is None else outputs, b"", NULL_METADATA]
    return rlp.encode(body if sigs is None else [sigs, *body])


def _code(raw: bytes) -> str:
    with pytest.raises(DecodeError) as info:
        decode(raw)
    return info.value.reason


def test_the_helper_builds_a_valid_payment():
    assert decode(_raw()) == PaymentTx([encode_utxo_pos(1, 0, 0)], [Output(1, OWNER, TOKEN, 5)])


def test_a_transaction_type_is_a_minimal_integer():
    assert _code(_raw(tx_type=b"\x00\x01")) == "unrecognized_transaction_type"
    # a list in its place: only reachable behind a witness list (a leading list is one)
    assert _code(_raw(tx_type=[b"\x01"], sigs=[])) == "unrecognized_transaction_type"


@pytest.mark.parametrize("output_type", [b"\x00\x01", [b"\x01"]])
def test_an_output_type_is_a_minimal_integer(output_type):
    assert _code(_raw(outputs=[[output_type, [OWNER, TOKEN, b"\x05"]]])) == "unrecognized_output_type"


@pytest.mark.parametrize("output", [[b"\x01"], [b"\x01", [OWNER, TOKEN, b"\x05"], b""], [b"\x01", [OWNER, TOKEN]]])
def test_an_output_is_a_type_and_three_fields(output):
    assert _code(_raw(outputs=[output])) == "malformed_outputs"


@pytest.mark.parametrize("owner, token, code", [
    (OWNER[:19], TOKEN, "malformed_address"),
    (OWNER, TOKEN[:19], "malformed_address"),
    (bytes(20), TOKEN, "output_guard_cant_be_zero"),
])
def test_owner_and_token_are_20_byte_addresses_and_the_owner_is_not_zero(owner, token, code):
    assert _code(_raw(outputs=[[b"\x01", [owner, token, b"\x05"]]])) == code


@pytest.mark.parametrize("amount, code", [
    (b"\x00\x05", "leading_zeros_in_encoded_uint"),
    (b"\x01" * 33, "encoded_uint_too_big"),
])
def test_an_amount_is_a_minimal_uint256(amount, code):
    assert _code(_raw(outputs=[[b"\x01", [OWNER, TOKEN, amount]]])) == code
    assert decode(_raw(outputs=[[b"\x01", [OWNER, TOKEN, b"\xff" * 32]]])).outputs[0].amount == 2**256 - 1


def test_an_input_is_32_bytes():
    assert _code(_raw(inputs=[INPUT[1:]])) == "malformed_inputs"


def test_a_signature_is_65_bytes():
    assert _code(_raw(sigs=[b"\x01" * 64])) == "malformed_witnesses"
    assert decode(_raw(sigs=[b"\x01" * 65])).signatures == (b"\x01" * 65,)


def test_utxo_positions_keep_poslib_bounds():
    assert decode_utxo_pos(encode_utxo_pos(MAX_BLOCK_NUM, 0, 0)) == (MAX_BLOCK_NUM, 0, 0)
    with pytest.raises(ValueError):
        decode_utxo_pos(1 * BLOCK_OFFSET + 70_000 * TX_OFFSET)  # txindex past 2**16 - 1
    with pytest.raises(ValueError):
        decode_utxo_pos((MAX_BLOCK_NUM + 1) * BLOCK_OFFSET)


def test_outputs_given_as_plain_tuples_become_outputs():
    tx = PaymentTx((), ((1, OWNER, TOKEN, 5),))
    assert type(tx.outputs[0]) is Output and tx.outputs[0].owner == OWNER


def test_a_deposit_keeps_its_metadata():
    assert deposit_tx(OWNER, TOKEN, 5, metadata=b"\x01" * 32).metadata == b"\x01" * 32
