"""Fuzz payment transaction RLP (proofs/payment.py), signed and unsigned, and the ledger's
two doors for it: a `deposit` and a `payment` event applied to a funded ledger.

Contract: `decode` returns a PaymentTx or raises DecodeError with a reason; what it accepts
re-encodes to the same bytes (the signed form with an empty signature list aside, which
elixir-omg accepts too and which re-encodes unsigned), cuts to the same unsigned bytes and
hashes for EIP-712; `apply` of either event returns a state or raises Rejected with a code."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import Rejected
from ledger.events import Deposit, Payment
from ledger.state import State
from ledger.transition import apply
from proofs import eip712, rlp
from proofs.errors import DecodeError
from proofs.payment import (
    MAX_BLOCK_NUM,
    MAX_TX_INDEX,
    Output,
    PaymentTx,
    decode,
    deposit_tx,
    encode,
    encode_unsigned,
    encode_utxo_pos,
    unsigned_bytes,
)
from tests.conftest import ADDRS, ETH, TOKEN, deposit, genesis, out, signed
from tests.fuzz.harness import SHORT, code_of, near

FUNDED: State = deposit(deposit(genesis(), 0, 100), 1, 50, TOKEN)  # key 0: 100 ETH at 1, key 1: 50 TOKEN at 2
DEPOSIT_1, DEPOSIT_2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)

addresses = st.binary(min_size=20, max_size=20)
positions = st.builds(
    encode_utxo_pos, st.integers(0, MAX_BLOCK_NUM), st.integers(0, MAX_TX_INDEX), st.integers(0, 9999)
).filter(bool)
outputs = st.builds(Output, st.just(1), addresses.filter(any), addresses, st.integers(1, 2**256 - 1))
txs = st.builds(
    PaymentTx,
    inputs=st.lists(positions, max_size=4),
    outputs=st.lists(outputs, min_size=1, max_size=4),
    metadata=st.binary(min_size=32, max_size=32),
    signatures=st.lists(st.binary(min_size=65, max_size=65), max_size=4),
)
spends = st.builds(
    lambda owner, amount, to: signed([DEPOSIT_1], [out(to, amount)], [owner]),
    st.sampled_from([0, 1]), st.integers(1, 120), st.integers(0, 3),
)
deposits = st.builds(lambda owner, token, amount: encode(deposit_tx(owner, token, amount)), addresses, addresses, st.integers(0, 2**256 - 1))
encodings = st.one_of(txs.map(encode), txs.map(encode_unsigned), spends, deposits)


def _decoded(data: bytes) -> PaymentTx | None:
    try:
        tx = decode(data)
    except DecodeError as exc:
        code_of(exc)
        return None
    unsigned = encode_unsigned(tx)
    signed_forms = {encode(tx), rlp.encode([[], *rlp.decode(unsigned)])} if not tx.signatures else {encode(tx)}
    assert data == unsigned or data in signed_forms, "accepted a non-canonical encoding"
    if data != unsigned:
        assert unsigned_bytes(data) == unsigned
    assert len(eip712.struct_hash(tx)) == 32
    return tx


def _applied(event: Deposit | Payment) -> State | None:
    try:
        return apply(FUNDED, event)
    except Rejected as exc:
        code_of(exc)
        return None


def check(data: bytes) -> None:
    tx = _decoded(data)
    if _applied(Deposit(FUNDED.next_deposit_blknum, data)) is not None:
        assert tx is not None and not tx.inputs and len(tx.outputs) == 1 and data == encode_unsigned(tx)
    if _applied(Payment(data)) is not None:
        assert tx is not None and tx.signatures and set(tx.inputs) <= {DEPOSIT_1, DEPOSIT_2}


def TestOneInput(data: bytes) -> None:
    check(data)


def seeds() -> list[bytes]:
    return [
        signed([DEPOSIT_1], [out(1, 60), out(0, 40)], [0]),
        signed([DEPOSIT_1, DEPOSIT_2], [out(2, 100), out(2, 50, TOKEN)], [0, 1]),
        encode_unsigned(PaymentTx([DEPOSIT_1], [out(3, 1)])),
        encode(deposit_tx(ADDRS[2], ETH, 7)),
    ]


@SHORT
@given(near(encodings))
def test_payment_decoding_and_application_keep_the_contract(data):
    check(data)
