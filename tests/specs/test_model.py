"""The reference model against the ledger on cases the search reaches rarely, and on the
ledger bugs it found: both must give the same verdict and code."""
from __future__ import annotations

import pytest

from ledger import transition
from ledger.errors import Rejected
from ledger.events import (
    BlockSubmitted,
    Deposit,
    Equivocation,
    ExitStarted,
    FeeRule,
    Genesis,
    Payment,
    InFlightExitStarted,
    StakeBonded,
    StakeWithdrawn,
    StakingOpened,
    UnbondingStarted,
)
from ledger.fee_votes import weighted_median
from ledger.staking import mint_output
from ledger.state import GENESIS_STATE, State
from proofs import payment
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs import actors, compare, search
from specs.commands import (
    Bond,
    DepositIntent,
    Equivocate,
    OpenStaking,
    Signed,
    StartExit,
    StartInFlightExit,
    SubmitBlock,
    Unbond,
    WithdrawStake,
)
from specs.model import Model
from specs.naive import STAKING_POOL, lower_weighted_median, mint_leaf, position

OWNER, ETH = actors.ADDRESSES[0], actors.TOKENS[0]
DEPOSIT = ((OWNER, ETH, 5),)


def funded() -> tuple[State, Model]:
    """Genesis and one deposit of 5 ETH at block 1, in the ledger and in the model."""
    state = transition.apply(GENESIS_STATE, Genesis(actors.CONTRACT, ()))
    state = transition.apply(state, Deposit(1, actors.deposit_bytes(DEPOSIT)))
    model = Model({}, actors.CONTRACT)
    assert model.step(DepositIntent(1, DEPOSIT, actors.unsigned_deposit(DEPOSIT))).accept
    return state, model


def test_an_exit_of_a_position_outside_poslib_is_refused_not_a_crash() -> None:
    """Found by the search: ExitStarted with a txindex past 2^16 - 1 raised ValueError from `apply`."""
    state, model = funded()
    pos = position(1, 70_000, 0)
    verdict = model.step(StartExit(1, pos, DEPOSIT))
    with pytest.raises(Rejected) as info:
        transition.apply(state, ExitStarted(1, pos, actors.deposit_bytes(DEPOSIT)))
    assert not verdict.accept and verdict.codes == {info.value.code} == {"malformed_event"}


def test_an_in_flight_exit_spending_one_output_twice_is_refused_not_a_crash() -> None:
    """Found by the search: an in-flight transaction naming an unspent input twice raised
    KeyError (the input was taken off twice); the exit game refuses such a transaction."""
    state, model = funded()
    pos = position(1, 0, 0)
    tx = payment.encode_unsigned(PaymentTx([pos, pos], [Output(OUTPUT_TYPE_PAYMENT, OWNER, ETH, 10)]))
    deposit_tx = actors.deposit_bytes(DEPOSIT)
    verdict = model.step(StartInFlightExit(1, tx, (pos, pos), (DEPOSIT[0], DEPOSIT[0]), ((OWNER, ETH, 10),)))
    with pytest.raises(Rejected) as info:
        transition.apply(state, InFlightExitStarted(1, tx, (deposit_tx, deposit_tx), (pos, pos)))
    assert not verdict.accept and verdict.codes == {info.value.code} == {"duplicate_inputs"}
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


def test_a_zero_fee_makes_payments_free_in_the_model_and_the_ledger() -> None:
    """Found by review: a schedule of 0 could never be met (no surplus was "no fee paid");
    `submit` asserts the model and the ledger agree on each verdict and code."""
    machine = search.LedgerMachine()
    machine.genesis(schedule=(FeeRule(payment.PAYMENT_TX_TYPE, ETH, 0),))
    machine.deposit(owner=0, token=ETH, amount=5)
    for outputs in ([(OWNER, ETH, 4)], [(OWNER, ETH, 5)]):  # overpays, then pays 0 exactly
        raw, intent = machine._forged(None, actors.Draft([position(1, 0, 0)], outputs, [0]), ())  # type: ignore[arg-type]
        machine.submit(intent, Payment(raw))
    assert machine.state.utxos[position(1000, 0, 0)].amount == 5 and not machine.state.open_block_fees


def test_a_foreign_block_on_the_root_chain_moves_deposit_numbering_past_it() -> None:
    """The root chain holds block 1000 that this log never sealed: the next deposit is 1001."""
    state, model = funded()
    assert model.step(SubmitBlock(1000, bytes(32))).accept
    state = transition.apply(state, BlockSubmitted(1000, bytes(32)))
    assert model.deposit_numbers() == {1001} and dict(state.foreign_roots) == {1000: bytes(32)}
    for blknum in (2, 1001):
        verdict = model.step(DepositIntent(blknum, DEPOSIT, actors.unsigned_deposit(DEPOSIT)))
        try:
            state = transition.apply(state, Deposit(blknum, actors.deposit_bytes(DEPOSIT)))
        except Rejected as exc:
            assert not verdict.accept and exc.code in verdict.codes
        else:
            assert verdict.accept
    assert compare.differences(model, state) == []


def test_a_withdrawal_of_stake_slashed_to_nothing_mints_no_output() -> None:
    """Found by the search: equivocation slashing 100 % left an unbonding entry of 0, and
    withdrawing it minted a zero-amount output: a transaction no decoder accepts, in the block."""
    machine, k = search.LedgerMachine(), 1
    me, token = actors.ADDRESSES[k], actors.TOKENS[1]
    machine.genesis(schedule=())
    machine.deposit(owner=k, token=token, amount=100)
    values = (token, 4, 0, 10_000, 0, 1, 1, 0, 0, 0)  # equivocation slashes all, rewards nothing
    machine.submit(OpenStaking(values), StakingOpened(*values))
    bond = actors.Draft([position(1, 0, 0)], [(STAKING_POOL, token, 60), (me, token, 40)], [k])
    raw, intent = machine._forged(None, bond, ())  # type: ignore[arg-type]
    public = actors.bls_public(k)
    machine.submit(Bond(intent, public, True, public), StakeBonded(raw, public, actors.bls_pop(k)))
    meaning = ("unbond", actors.CONTRACT, me, 60, 0)
    machine.submit(Unbond(me, 60, Signed(me, meaning)), UnbondingStarted(me, 60, actors.sign(actors.request_digest(meaning), k)))
    roots = (b"\x0a" * 32, b"\x0b" * 32)
    (sig_a, meant_a), (sig_b, meant_b) = (actors.commit_signature(machine.state, k, 1000, root) for root in roots)
    head = actors.commit_head(machine.state, 1000)
    machine.submit(Equivocate(me, me, 1000, roots, (meant_a, meant_b)),
                   Equivocation(me, me, 1000, roots[0], head, sig_a, roots[1], head, sig_b))
    assert machine.state.staking.unbonding[(me, 0)].amount == 0
    machine.submit(WithdrawStake(me, 0), StakeWithdrawn(me, 0))  # both agree, on the state too
    assert (me, 0) not in machine.state.staking.unbonding
    assert all(output.amount for output in machine.state.utxos.values())
    for leaf in machine.state.open_block_txs:
        payment.decode(leaf)
