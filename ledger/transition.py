"""`apply(state, event) -> State`: the one pure transition of the ledger.

No clock, no I/O, no randomness. The node accepts a command only by calling this,
and the auditor replays a log by folding it, so both reach the same verdicts.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger import checkpoints, dex, events, exits, fee_votes, plasma, staking
from ledger.errors import Rejected
from ledger.events import (
    BlockCommitted,
    BlockSealed,
    BlockSubmitted,
    Deposit,
    Equivocation,
    Event,
    ExitChallenged,
    ExitProcessed,
    ExitStarted,
    FeeCollected,
    FeeEpochClosed,
    FeeVoted,
    Genesis,
    InFlightExitChallenged,
    InFlightExitPiggybacked,
    InFlightExitResponded,
    InFlightExitStarted,
    InFlightExitDeleted,
    InFlightExitFinalized,
    InFlightExitWithdrawn,
    Payment,
    PayoutClaimed,
    PayoutFailed,
    PiggybackChallenged,
    RootChainSynced,
    StakeBonded,
    StakeWithdrawn,
    StakingOpened,
    StateCheckpoint,
    TradingFeeVoted,
    UnbondingStarted,
    ValidatorUnjailed,
    OrderPlaced,
    BatchSettled,
)
from ledger.history import record_hash
from ledger.state import GENESIS_STATE, State

RULES: dict[type, Callable] = {
    Genesis: plasma.apply_genesis,
    Deposit: plasma.apply_deposit,
    Payment: plasma.apply_payment,
    FeeCollected: plasma.apply_fee_collected,
    BlockSealed: dex.apply_block_sealed,  # the batch settled, then the Plasma seal
    BlockSubmitted: exits.apply_block_submitted,
    ExitStarted: exits.apply_exit_started,
    ExitChallenged: exits.apply_exit_challenged,
    ExitProcessed: exits.apply_exit_processed,
    InFlightExitStarted: exits.apply_in_flight_exit_started,
    InFlightExitPiggybacked: exits.apply_piggybacked,
    InFlightExitChallenged: exits.apply_ife_challenged,
    InFlightExitResponded: exits.apply_ife_responded,
    PiggybackChallenged: exits.apply_piggyback_challenged,
    InFlightExitWithdrawn: exits.apply_withdrawn,
    InFlightExitDeleted: exits.apply_ife_ended,
    InFlightExitFinalized: exits.apply_ife_ended,
    RootChainSynced: exits.apply_root_chain_synced,
    PayoutFailed: exits.apply_payout_failed,
    PayoutClaimed: exits.apply_payout_claimed,
    StakingOpened: staking.apply_staking_opened,
    StakeBonded: staking.apply_stake_bonded,
    UnbondingStarted: staking.apply_unbonding_started,
    StakeWithdrawn: staking.apply_stake_withdrawn,
    BlockCommitted: staking.apply_block_committed,
    Equivocation: staking.apply_equivocation,
    FeeVoted: fee_votes.apply_fee_voted,
    FeeEpochClosed: fee_votes.apply_fee_epoch_closed,
    ValidatorUnjailed: staking.apply_validator_unjailed,
    StateCheckpoint: checkpoints.apply_state_checkpoint,
    TradingFeeVoted: fee_votes.apply_trading_fee_voted,
    OrderPlaced: dex.apply_order_placed,
    BatchSettled: dex.apply_batch_settled,
}


def apply(state: State, event: Event) -> State:
    """The state after `event`; raises `Rejected` and leaves `state` untouched if it is invalid.
    The new state's `log_head` is the hash of the record this event becomes in the log."""
    rule = RULES.get(type(event))
    if rule is None:
        raise Rejected("unknown_event_kind", type(event).__name__)
    after = rule(state, event)
    assert after is not state and after.event_count == state.event_count + 1
    # `after` is new and not yet shared, so completing it in place is safe; a second
    # attrs.evolve of the whole state would double the cost of every event.
    object.__setattr__(after, "log_head", record_hash(state.log_head, state.event_count, events.encode(event)))
    return after


def fold(events: Iterable[Event], state: State = GENESIS_STATE) -> State:
    for event in events:
        state = apply(state, event)
    return state
