"""Staker-voted fees: votes, the per-epoch stake-weighted median, and fee distribution.

- Each validator votes a schedule (fee per tx type and token), signed over its next vote
  nonce; a later vote replaces the earlier one.
- Closing epoch e (once child block e·epoch_blocks·1000 is sealed) sets the schedule to the
  stake-weighted median of the active validators' votes, per (tx type, token): the lowest
  voted fee at which the stake voting at most that fee reaches half the stake voting on
  that key (the lower weighted median). Keys nobody votes on leave the schedule; if no
  one voted at all, the schedule stays as it was. Payments must then pay exactly that
  fee (elixir-omg's rule: below is `fees_not_covered`, above `overpaying_fees`).
- The fees collected and not yet paid out are split among the active validators pro rata
  to their stake at the close: floor(pool·stake / total). The dust left by rounding stays
  in the pool for the next epoch, so nothing is lost and nothing is paid twice.
"""
from __future__ import annotations

import attrs
from immutables import Map

from ledger.errors import Rejected
from ledger.events import FeeEpochClosed, FeeRule, FeeVoted
from ledger.plasma import params_of
from ledger.staking import active_set, check_signed, mint_output, staking_of
from ledger.state import CHILD_BLOCK_INTERVAL, Effects, State, Validator, add_to, advance
from proofs.keccak import keccak256


def vote_digest(separator: bytes, validator: bytes, schedule: tuple[FeeRule, ...], nonce: int) -> bytes:
    body = b"".join(r.tx_type.to_bytes(32, "big") + r.token + r.amount.to_bytes(32, "big") for r in schedule)
    return keccak256(b"omg-ledger fee vote" + separator + validator + nonce.to_bytes(32, "big") + body)


def apply_fee_voted(state: State, event: FeeVoted) -> State:
    staking = staking_of(state)
    validator = staking.validators.get(event.validator)
    if validator is None:
        raise Rejected("unknown_validator", f"0x{event.validator.hex()}")
    keys = [(r.tx_type, r.token) for r in event.schedule]
    if len(set(keys)) != len(keys):
        raise Rejected("malformed_fee_schedule", "one fee per (tx type, token)")
    digest = vote_digest(state.params.domain_separator, event.validator, event.schedule, validator.nonce)
    check_signed(digest, event.signature, event.validator, "unauthorized_vote")
    vote = Map({(r.tx_type, r.token): r.amount for r in event.schedule})
    updated = attrs.evolve(validator, fee_vote=vote, nonce=validator.nonce + 1)
    staking = attrs.evolve(staking, validators=staking.validators.set(event.validator, updated))
    return advance(state, staking=staking, effects=Effects(kind=FeeVoted.KIND))


def weighted_median(votes: list[tuple[int, int]]) -> int:
    """The lowest fee at which the stake voting at most it reaches half the voting stake."""
    total = sum(stake for _, stake in votes)
    cumulative = 0
    for fee, stake in sorted(votes):
        cumulative += stake
        if 2 * cumulative >= total:
            return fee
    raise ValueError("no votes")


def median_schedule(validators: list[tuple[bytes, Validator]]) -> tuple[FeeRule, ...] | None:
    """The stake-weighted median per voted key, in (tx type, token) order; None if no one voted."""
    votes: dict[tuple[int, bytes], list[tuple[int, int]]] = {}
    for _, validator in validators:
        for key, fee in validator.fee_vote.items():
            votes.setdefault(key, []).append((fee, validator.bonded))
    if not votes:
        return None
    return tuple(FeeRule(t, token, weighted_median(votes[(t, token)])) for t, token in sorted(votes))


def next_schedule(state: State) -> tuple[FeeRule, ...]:
    """The schedule the next epoch close must carry: the votes' median, or the current one."""
    computed = median_schedule(active_set(staking_of(state)))
    current = tuple(FeeRule(t, token, fee) for (t, token), fee in sorted(params_of(state).fee_schedule.items()))
    return current if computed is None else computed


def undistributed(state: State) -> Map:
    """Per token, fees collected and not yet paid to validators."""
    paid = state.staking.fees_distributed if state.staking is not None else Map()
    return Map([(token, amount - paid.get(token, 0)) for token, amount in state.fees_collected.items()])


def apply_fee_epoch_closed(state: State, event: FeeEpochClosed) -> State:
    staking = staking_of(state)
    params = params_of(state)
    if event.epoch != staking.epoch + 1:
        raise Rejected("wrong_epoch", f"next epoch to close is {staking.epoch + 1}")
    last_block = event.epoch * staking.params.epoch_blocks * CHILD_BLOCK_INTERVAL
    if state.next_child_blknum <= last_block:
        raise Rejected("epoch_not_over", f"epoch {event.epoch} ends with block {last_block}")
    validators = active_set(staking)
    expected = next_schedule(state)
    if tuple(event.schedule) != expected:
        raise Rejected("wrong_fee_schedule", f"the stake-weighted median is {expected}")
    total = sum(v.bonded for _, v in validators)
    created, distributed = [], staking.fees_distributed
    for token, pool in sorted(undistributed(state).items()):
        for address, validator in validators if total else ():
            share = pool * validator.bonded // total
            if share:
                changes, output = mint_output(state, address, token, share)
                state = attrs.evolve(state, **changes)
                created.append(output)
                distributed = add_to(distributed, token, share)
    schedule = Map({(r.tx_type, r.token): r.amount for r in expected})
    staking = attrs.evolve(staking, epoch=event.epoch, fees_distributed=distributed)
    return advance(state, params=attrs.evolve(params, fee_schedule=schedule), staking=staking,
                   effects=Effects(kind=FeeEpochClosed.KIND, created=tuple(created)))
