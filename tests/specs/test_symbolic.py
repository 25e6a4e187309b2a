"""CrossHair over the contracts: bounded ones confirmed, searches silent on the real code,
and loud on planted bugs.

PYTEST_DONT_REWRITE: the planted contracts below must keep their plain `assert`s, which
CrossHair reads as pre- and postconditions (pytest's rewritten ones are slow to trace).
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger import clearing, fees
from ledger import staking as staking_rules
from ledger.errors import Rejected
from proofs.payment import MAX_TX_INDEX, decode_utxo_pos
from specs.contracts import BOUNDED, CONTRACTS, SEARCHES
from specs.symbolic import bounded, run_symbolic


def _name(fn: Callable) -> str:
    return f"{fn.__module__}:{fn.__name__}"


@pytest.mark.parametrize("contract", BOUNDED, ids=lambda fn: fn.__name__)
def test_bounded_contract_is_confirmed(contract: Callable) -> None:
    result = run_symbolic(functions=[_name(contract)])
    [verdict] = result.verdicts
    assert verdict.status == "CONFIRMED" and verdict.paths > 0 and result.ok, result.summary()


def test_searches_find_no_counterexample() -> None:
    result = run_symbolic(per_function_s=1, functions=[_name(fn) for fn in SEARCHES])
    assert result.ok and not result.counterexamples, result.summary()
    assert {v.status for v in result.verdicts} <= {"CONFIRMED", "CANNOT_CONFIRM"}


def test_every_contract_is_bounded_or_a_search() -> None:
    assert CONTRACTS == BOUNDED + SEARCHES and len(set(CONTRACTS)) == len(CONTRACTS)
    assert all(hasattr(fn, "confirm_within_s") for fn in BOUNDED)
    assert not any(hasattr(fn, "confirm_within_s") for fn in SEARCHES)


def careless_utxo_pos(blknum: int, txindex: int, oindex: int) -> int:
    """A planted bug: no range checks, so oindex >= 10^4 spills into txindex."""
    return blknum * 1_000_000_000 + txindex * 10_000 + oindex


def careless_pos_round_trip(blknum: int, txindex: int, oindex: int) -> None:
    assert 0 <= blknum < 10**6 and 0 <= txindex <= MAX_TX_INDEX and 0 <= oindex < 2**16
    assert decode_utxo_pos(careless_utxo_pos(blknum, txindex, oindex)) == (blknum, txindex, oindex)


def test_a_search_catches_a_planted_bug() -> None:
    result = run_symbolic(per_function_s=10, functions=[f"{__name__}:careless_pos_round_trip"])
    assert not result.ok
    [finding] = result.counterexamples
    assert "when calling careless_pos_round_trip(" in finding.message, finding
    assert result.verdicts[0].status == "COUNTEREXAMPLE"
    assert result.summary().endswith("0 confirmed, 0 searched without counterexample, 1 counterexamples (1 contracts, "
                                      f"{result.elapsed_s:.0f} s)")


def test_a_bounded_contract_catches_an_off_by_one_in_the_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_slash` rounding up takes a unit more than the fraction: the bounded contract finds a
    counterexample where the real function passes it, on a forked worker too (which inherits
    the patch), and the verdicts keep the contracts' order."""
    monkeypatch.setattr(staking_rules, "_slash", lambda amount, bps: (amount * bps + staking_rules.BPS - 1) // staking_rules.BPS)
    result = run_symbolic(functions=["equivocation_slash_splits_exactly", "utxo_pos_decode_edges"], workers=2)
    assert [v.status for v in result.verdicts] == ["COUNTEREXAMPLE", "CONFIRMED"], result.summary()
    assert not result.ok and "when calling equivocation_slash_splits_exactly(" in result.counterexamples[0].message


def test_a_bounded_contract_catches_a_regression_in_the_fee_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """`fee_of_two_inputs_one_output` against an implicit_fee that forgot to refuse overspending."""
    real = fees.implicit_fee

    def forgetful(*args: object) -> tuple[bytes, int]:
        try:
            return real(*args)  # type: ignore[arg-type]
        except Rejected as rejected:
            if rejected.code == "amounts_do_not_add_up":
                return b"", 0
            raise

    monkeypatch.setattr(fees, "implicit_fee", forgetful)
    result = run_symbolic(functions=["fee_of_two_inputs_one_output"])
    assert not result.ok and result.verdicts[0].status == "COUNTEREXAMPLE", result.summary()


@bounded(0.5)
def too_wide_to_confirm(n: int) -> None:
    """Bounded in name only: `str` realises `n`, one path per value, without end."""
    assert n >= 0
    assert str(n).isdigit()


def test_a_bounded_contract_that_does_not_confirm_fails_the_check() -> None:
    result = run_symbolic(functions=[f"{__name__}:too_wide_to_confirm"])
    [verdict] = result.verdicts
    assert verdict.status == "CANNOT_CONFIRM" and not verdict.findings and verdict.paths > 1
    assert not result.ok and result.unconfirmed == (f"{__name__}:too_wide_to_confirm",)
    assert "NOT CONFIRMED within its 0.5 s budget" in result.summary()
    assert ", 1 bounded not confirmed (1 contracts," in result.summary()


def test_bounded_contracts_catch_rounding_bugs_in_the_clearing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quote range that always lets a seller round down (its limit forgotten), and a pro-rata
    share that never hands out the units left by rounding: each its contract refutes."""
    real_bounds = clearing.quote_bounds

    def forgetful(order, base, base_amount, num, den):  # type: ignore[no-untyped-def]
        _, hi, remainder = real_bounds(order, base, base_amount, num, den)
        return base_amount * num // den, hi, remainder

    monkeypatch.setattr(clearing, "quote_bounds", forgetful)
    monkeypatch.setattr(clearing, "share_pro_rata", lambda offered, traded: {
        key: traded * units // max(sum(offered.values()), 1) for key, units in offered.items()})
    result = run_symbolic(functions=["clearing_quote_bounds_respect_the_limit", "clearing_pro_rata_conserves"])
    assert [v.status for v in result.verdicts] == ["COUNTEREXAMPLE", "COUNTEREXAMPLE"], result.summary()
