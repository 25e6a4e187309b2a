"""Fuzz fraud-proof verification (proofs/fraud.py): invalid-exit and double-spend proofs
built from arbitrary transaction bytes, positions, input indices and signatures.

Contract: `Spend.of` and every `check` return or raise DecodeError with a reason; a proof
that checks out is true as the contracts would see it: each spend is a transaction in its
unsigned form (what the exit game decodes) whose input `input_index` is the output, signed
by that output's owner, and a double spend's two transactions are different transactions."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proofs import eip712
from proofs.errors import DecodeError
from proofs.fraud import DoubleSpendProof, InvalidExitProof, Spend
from proofs.payment import PaymentTx, decode, decode_utxo_pos, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from tests.conftest import ADDRS, ETH, KEYS, VC, out, signed
from tests.fuzz.harness import SHORT, chunks, code_of, framed, integer, integer_bytes, mutated

D1, D2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)
DEPOSIT = encode(deposit_tx(ADDRS[0], ETH, 100))


def _owner(input_tx: bytes, utxo_pos: int) -> bytes:
    return decode(input_tx).outputs[decode_utxo_pos(utxo_pos)[2]].owner


def _proves_spend(spend: Spend, utxo_pos: int, owner: bytes) -> bool:
    """The contracts' reading of a spend, written out apart from fraud.py."""
    tx = decode(spend.tx)
    return (
        encode_unsigned(tx) == spend.tx
        and 0 <= spend.input_index < len(tx.inputs)
        and tx.inputs[spend.input_index] == utxo_pos
        and eip712.recover(eip712.signing_hash(tx, VC), spend.signature) == owner
    )


def _checks(proof: InvalidExitProof | DoubleSpendProof) -> bool:
    try:
        proof.check(VC)
    except DecodeError as exc:
        code_of(exc)
        return False
    return True


def check(utxo_pos: int, input_tx: bytes, first: Spend, second: Spend) -> None:
    try:
        made = Spend.of(first.tx, utxo_pos)
    except DecodeError as exc:
        code_of(exc)
    else:
        assert decode(made.tx).inputs[made.input_index] == utxo_pos
    if _checks(InvalidExitProof(1, utxo_pos, input_tx, first)):
        assert _proves_spend(first, utxo_pos, _owner(input_tx, utxo_pos))
    if _checks(DoubleSpendProof(utxo_pos, input_tx, first, second)):
        owner = _owner(input_tx, utxo_pos)
        assert _proves_spend(first, utxo_pos, owner) and _proves_spend(second, utxo_pos, owner)
        assert decode(first.tx) != decode(second.tx), "a transaction shown to conflict with itself"


def TestOneInput(data: bytes) -> None:
    pos, input_tx, tx1, index1, sig1, tx2, index2, sig2 = chunks(data, 8)
    check(integer(pos), input_tx, Spend(tx1, integer(index1), sig1), Spend(tx2, integer(index2), sig2))


def _fields(spend: Spend) -> tuple[bytes, bytes, bytes]:
    return spend.tx, integer_bytes(spend.input_index), spend.signature


def seeds() -> list[bytes]:
    first = Spend.of(signed([D1], [out(1, 100)], [0]), D1)
    second = Spend.of(signed([D2, D1], [out(2, 90)], [1, 0]), D1)
    return [framed(integer_bytes(D1), DEPOSIT, *_fields(first), *_fields(second))]


def _spend(inputs: list[int], owner: int, signer: int, form: str, index: int, tamper: bool, data: st.DataObject) -> Spend:
    tx = PaymentTx(inputs, [out(owner, 100)])
    signature = eip712.sign(eip712.signing_hash(tx, VC), KEYS[signer])
    if tamper:
        signature = data.draw(mutated(st.just(signature)))
    raw = encode(tx.with_signatures((signature,) * len(inputs))) if form == "signed" else encode_unsigned(tx)
    return Spend(raw, index, signature)


spends = st.builds(
    _spend,
    st.sampled_from([[D1], [D2, D1], [D1, D2], [D2]]),
    st.integers(0, 3), st.integers(0, 3), st.sampled_from(["unsigned", "signed"]),
    st.integers(-2, 2), st.booleans(), st.data(),
)


@SHORT
@given(st.sampled_from([D1, D2, 0, -1, 2**200]), st.sampled_from([DEPOSIT, encode(deposit_tx(ADDRS[1], ETH, 5))]), spends, spends)
def test_fraud_proofs_keep_the_contract(utxo_pos, input_tx, first, second):
    check(utxo_pos, input_tx, first, second)
