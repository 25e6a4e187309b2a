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
- Trading fees (the DEX, issue 13) follow the same rules in their own vote: a validator
  signs, over its next nonce, a fee per pair (base < quote bytewise) in basis points of the
  bought amount, at most 10,000; the close sets each pair's fee to the same lower
  stake-weighted median and carries it in `FeeEpochClosed.trading_fees`. A pair nobody
  voted on trades free; `trading_fee(bought, bps)` is what a fill pays, in the bought token,
  and it joins the fees collected that the next close pays out.
"""
from __future__ import annotations

import attrs
from immutables import Map

from ledger.errors import Rejected
from ledger.events import FeeEpochClosed, FeeRule, FeeVoted, PairFee, TradingFeeVoted
from ledger.plasma import params_of
from ledger.staking import active_set, check_signed, mint_output, staking_of
from ledger.state import CHILD_BLOCK_INTERVAL, Effects, State, Validator, add_to, advance
from proofs.keccak import keccak256


def vote_digest(separator: bytes, validator: bytes, schedule: tuple[FeeRule, ...], nonce: int) -> bytes:
    body = b"".join(r.tx_type.to_bytes(32, "big") + r.token + r.amount.to_bytes(32, "big") for r in schedule)
    return keccak256(b"omg-ledger fee vote" + separator + validator + nonce.to_bytes(32, "big") + body)


def apply_fee_voted(state: State, event: FeeVoted) -> State:
    validator = _voter(state, event.validator)
    keys = [(r.tx_type, r.token) for r in event.schedule]
    if len(set(keys)) != len(keys):
        raise Rejected("malformed_fee_schedule", "one fee per (tx type, token)")
    digest = vote_digest(state.params.domain_separator, event.validator, event.schedule, validator.nonce)
    vote = Map({(r.tx_type, r.token): r.amount for r in event.schedule})
    return _recorded(state, event, digest, fee_vote=vote)


def _voter(state: State, address: bytes) -> Validator:
    validator = staking_of(state).validators.get(address)
    if validator is None:
        raise Rejected("unknown_validator", f"0x{address.hex()}")
    return validator


def _recorded(state: State, event: FeeVoted | TradingFeeVoted, digest: bytes, **vote: Map) -> State:
    """The state with `event`'s vote recorded once its signature over `digest` (which signs
    the validator's next nonce) checks out: a vote replaces the voter's earlier one."""
    check_signed(digest, event.signature, event.validator, "unauthorized_vote")
    staking = staking_of(state)
    validator = staking.validators[event.validator]
    updated = attrs.evolve(validator, nonce=validator.nonce + 1, **vote)
    staking = attrs.evolve(staking, validators=staking.validators.set(event.validator, updated))
    return advance(state, staking=staking, effects=Effects(kind=event.KIND))


MAX_TRADING_FEE_BPS = 10_000  # the whole bought amount


def trading_vote_digest(separator: bytes, validator: bytes, fees: tuple[PairFee, ...], nonce: int) -> bytes:
    body = b"".join(f.base + f.quote + f.bps.to_bytes(32, "big") for f in fees)
    return keccak256(b"omg-ledger trading fee vote" + separator + validator + nonce.to_bytes(32, "big") + body)


def check_pair_fees(fees: tuple[PairFee, ...]) -> None:
    """One fee per pair, named base < quote, none above the whole bought amount."""
    for fee in fees:
        if not fee.base < fee.quote:
            raise Rejected("malformed_fee_schedule", f"a pair is named base < quote: 0x{fee.base.hex()}, 0x{fee.quote.hex()}")
        if fee.bps > MAX_TRADING_FEE_BPS:
            raise Rejected("trading_fee_too_high", f"{fee.bps} bps > {MAX_TRADING_FEE_BPS}")
    pairs = [(f.base, f.quote) for f in fees]
    if len(set(pairs)) != len(pairs):
        raise Rejected("malformed_fee_schedule", "one fee per pair")


def apply_trading_fee_voted(state: State, event: TradingFeeVoted) -> State:
    validator = _voter(state, event.validator)
    check_pair_fees(event.fees)
    digest = trading_vote_digest(state.params.domain_separator, event.validator, event.fees, validator.nonce)
    return _recorded(state, event, digest, trading_fee_vote=Map({(f.base, f.quote): f.bps for f in event.fees}))


def weighted_median(votes: list[tuple[int, int]]) -> int:
    """The lowest fee at which the stake voting at most it reaches half the voting stake."""
    total = sum(stake for _, stake in votes)
    cumulative = 0
    for fee, stake in sorted(votes):
        cumulative += stake
        if 2 * cumulative >= total:
            return fee
    raise ValueError("no votes")


def medians(ballots: list[tuple[Map, int]]) -> dict | None:
    """Per key voted on, the stake-weighted median of (vote, stake) ballots; None if no one voted."""
    votes: dict = {}
    for vote, stake in ballots:
        for key, fee in vote.items():
            votes.setdefault(key, []).append((fee, stake))
    return {key: weighted_median(votes[key]) for key in sorted(votes)} if votes else None


def median_schedule(validators: list[tuple[bytes, Validator]]) -> tuple[FeeRule, ...] | None:
    """The stake-weighted median per voted key, in (tx type, token) order; None if no one voted."""
    computed = medians([(v.fee_vote, v.bonded) for _, v in validators])
    return None if computed is None else tuple(FeeRule(t, token, fee) for (t, token), fee in computed.items())


def median_trading_fees(validators: list[tuple[bytes, Validator]]) -> tuple[PairFee, ...] | None:
    """The stake-weighted median per voted pair, in (base, quote) order; None if no one voted."""
    computed = medians([(v.trading_fee_vote, v.bonded) for _, v in validators])
    return None if computed is None else tuple(PairFee(base, quote, bps) for (base, quote), bps in computed.items())


def next_schedule(state: State) -> tuple[FeeRule, ...]:
    """The schedule the next epoch close must carry: the votes' median, or the current one."""
    computed = median_schedule(active_set(staking_of(state)))
    current = tuple(FeeRule(t, token, fee) for (t, token), fee in sorted(params_of(state).fee_schedule.items()))
    return current if computed is None else computed


def next_trading_fees(state: State) -> tuple[PairFee, ...]:
    """The trading fees the next epoch close must carry: the votes' median, or the current ones."""
    staking = staking_of(state)
    computed = median_trading_fees(active_set(staking))
    current = tuple(PairFee(base, quote, bps) for (base, quote), bps in sorted(staking.trading_fees.items()))
    return current if computed is None else computed


def trading_fee_bps(state: State, sell_token: bytes, buy_token: bytes) -> int:
    """The trading fee of the pair, in basis points of the bought amount; 0 if none was set."""
    if state.staking is None:
        return 0
    return state.staking.trading_fees.get((min(sell_token, buy_token), max(sell_token, buy_token)), 0)


def trading_fee(bought: int, bps: int) -> int:
    """What a fill of `bought` pays, in the bought token: rounded down, so never above bps."""
    return bought * bps // 10_000


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
    trading = next_trading_fees(state)
    if tuple(event.trading_fees) != trading:
        raise Rejected("wrong_fee_schedule", f"the stake-weighted median of the trading fees is {trading}")
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
    trading_fees = Map({(f.base, f.quote): f.bps for f in trading})
    staking = attrs.evolve(staking, epoch=event.epoch, fees_distributed=distributed, trading_fees=trading_fees)
    return advance(state, params=attrs.evolve(params, fee_schedule=schedule), staking=staking,
                   effects=Effects(kind=FeeEpochClosed.KIND, created=tuple(created)))
