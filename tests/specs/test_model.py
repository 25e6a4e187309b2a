"""The reference model against the ledger on cases the search reaches rarely, and on the
ledger bugs it found: both must give the same verdict and code."""
from __future__ import annotations

import pytest

from ledger import transition
from ledger.errors import Rejected
from ledger.events import BlockSubmitted, Deposit, ExitStarted, Genesis, InFlightExitStarted
from ledger.fee_votes import weighted_median
from ledger.staking import mint_output
from ledger.state import GENESIS_STATE, State
from proofs import payment
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs import search
from specs.model import (
    DepositIntent,
    Model,
    StartExit,
    StartInFlightExit,
    SubmitBlock,
    lower_weighted_median,
    mint_leaf,
    position,
)

OWNER, ETH = search.ADDRESSES[0], search.TOKENS[0]
DEPOSIT = ((OWNER, ETH, 5),)


def funded() -> tuple[State, Model]:
    """Genesis and one deposit of 5 ETH at block 1, in the ledger and in the model."""
    state = transition.apply(GENESIS_STATE, Genesis(search.CONTRACT, ()))
    state = transition.apply(state, Deposit(1, search.deposit_bytes(DEPOSIT)))
    model = Model({}, search.CONTRACT)
    assert model.step(DepositIntent(1, DEPOSIT, search.unsigned_deposit(DEPOSIT))).accept
    return state, model


def test_an_exit_of_a_position_outside_poslib_is_refused_not_a_crash() -> None:
    """Found by the search: ExitStarted with a txindex past 2^16 - 1 raised ValueError from `apply`."""
    state, model = funded()
    pos = position(1, 70_000, 0)
    verdict = model.step(StartExit(1, pos, DEPOSIT))
    with pytest.raises(Rejected) as info:
        transition.apply(state, ExitStarted(1, pos, search.deposit_bytes(DEPOSIT)))
    assert not verdict.accept and verdict.codes == {info.value.code} == {"malformed_event"}


def test_an_in_flight_exit_spending_one_output_twice_is_refused_not_a_crash() -> None:
    """Found by the search: an in-flight transaction naming an unspent input twice raised
    KeyError (the input was taken off twice); the exit game refuses such a transaction."""
    state, model = funded()
    pos = position(1, 0, 0)
    tx = payment.encode_unsigned(PaymentTx([pos, pos], [Output(OUTPUT_TYPE_PAYMENT, OWNER, ETH, 10)]))
    deposit_tx = search.deposit_bytes(DEPOSIT)
    verdict = model.step(StartInFlightExit(1, tx, (pos, pos), (DEPOSIT[0], DEPOSIT[0]), ((OWNER, ETH, 10),)))
    with pytest.raises(Rejected) as info:
        transition.apply(state, InFlightExitStarted(1, tx, (deposit_tx, deposit_tx), (pos, pos)))
    assert not verdict.accept and verdict.codes == {info.value.code} == {"malformed_event"}
    assert state.utxos[pos].amount == 5 and model.utxos[pos] == DEPOSIT[0]


def test_the_models_minted_transaction_is_the_ledgers() -> None:
    """The model encodes the input-less transactions the ledger mints (stake returned,
    rewards, fee shares) with its own RLP; both must give the same Merkle leaf."""
    state, _ = funded()
    for amount in (1, 127, 128, 2**64 + 5):
        changes, _ = mint_output(state, OWNER, ETH, amount)
        assert list(changes["open_block_txs"])[-1] == mint_leaf((OWNER, ETH, amount))


@pytest.mark.parametrize("votes", [[(5, 100), (1, 200), (9, 300)], [(5, 100), (1, 200), (9, 301)], [(7, 1)],
                                   [(0, 3), (0, 3), (4, 6)], [(2, 1), (1, 1)]])
def test_the_models_median_is_the_ledgers(votes: list[tuple[int, int]]) -> None:
    assert lower_weighted_median(votes) == weighted_median(votes)


def test_a_foreign_block_on_the_root_chain_moves_deposit_numbering_past_it() -> None:
    """The root chain holds block 1000 that this log never sealed: the next deposit is 1001."""
    state, model = funded()
    assert model.step(SubmitBlock(1000, bytes(32))).accept
    state = transition.apply(state, BlockSubmitted(1000, bytes(32)))
    assert model.deposit_numbers() == {1001} and dict(state.foreign_roots) == {1000: bytes(32)}
    for blknum in (2, 1001):
        verdict = model.step(DepositIntent(blknum, DEPOSIT, search.unsigned_deposit(DEPOSIT)))
        try:
            state = transition.apply(state, Deposit(blknum, search.deposit_bytes(DEPOSIT)))
        except Rejected as exc:
            assert not verdict.accept and exc.code in verdict.codes
        else:
            assert verdict.accept
    assert search.differences(model, state) == []
