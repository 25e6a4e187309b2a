"""CrossHair over the contracts: silent on the real code, loud on planted bugs.

PYTEST_DONT_REWRITE: the planted contract below must keep its plain `assert`s, which
CrossHair reads as pre- and postconditions (pytest's rewritten ones are slow to trace).
"""
from __future__ import annotations

import pytest

from ledger import fees
from ledger.errors import Rejected
from proofs.payment import MAX_TX_INDEX, decode_utxo_pos
from specs.contracts import CONTRACTS
from specs.symbolic import run_symbolic


def test_contracts_hold() -> None:
    result = run_symbolic(per_function_s=3)
    assert result.ok, result.summary()
    assert [name for name, _ in result.statuses] == [f"specs.contracts.{fn.__name__}" for fn in CONTRACTS]


def careless_utxo_pos(blknum: int, txindex: int, oindex: int) -> int:
    """A planted bug: no range checks, so oindex >= 10^4 spills into txindex."""
    return blknum * 1_000_000_000 + txindex * 10_000 + oindex


def careless_pos_round_trip(blknum: int, txindex: int, oindex: int) -> None:
    assert 0 <= blknum < 10**6 and 0 <= txindex <= MAX_TX_INDEX and 0 <= oindex < 2**16
    assert decode_utxo_pos(careless_utxo_pos(blknum, txindex, oindex)) == (blknum, txindex, oindex)


def test_symbolic_catches_a_planted_bug() -> None:
    result = run_symbolic(per_function_s=10, functions=[f"{__name__}:careless_pos_round_trip"])
    assert not result.ok
    [finding] = result.counterexamples
    assert "when calling careless_pos_round_trip(" in finding.message, finding


def test_a_contract_catches_a_regression_in_the_real_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """`fee_is_the_surplus` against an implicit_fee that forgot to refuse overspending."""
    real = fees.implicit_fee

    def forgetful(*args: object) -> tuple[bytes, int]:
        try:
            return real(*args)  # type: ignore[arg-type]
        except Rejected as rejected:
            if rejected.code == "amounts_do_not_add_up":
                return b"", 0
            raise

    monkeypatch.setattr(fees, "implicit_fee", forgetful)
    result = run_symbolic(per_function_s=10, functions=["fee_is_the_surplus"])
    assert not result.ok, result.summary()
