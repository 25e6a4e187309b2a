"""Staker-voted trading fees per pair: signed votes, the stake-weighted median at an epoch's
close, replay, and the refusals, through the one `apply` with the catalogue checked."""
from __future__ import annotations

import pytest

from ledger import events
from ledger.events import FeeEpochClosed, FeeRule, PairFee, TradingFeeVoted
from ledger.fee_votes import trading_fee, trading_fee_bps, trading_vote_digest
from ledger.snapshot import STAKING, VALIDATOR, decode_state, encode_state
from ledger.state import State
from ledger.transition import fold
from proofs import eip712, rlp
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from tests.conftest import ADDRS, ETH, KEYS, checked, rejected
from tests.ledger.test_staking import OMG, close_epoch, staked  # noqa: F401 (fixture)

LOW, HIGH = ETH, OMG  # ETH (all zeros) < OMG bytewise: the pair (ETH, OMG)
assert LOW < HIGH


def trading_vote(state: State, who: int, fees: dict[tuple[bytes, bytes], int], nonce: int | None = None,
                 signer: int | None = None) -> TradingFeeVoted:
    pair_fees = tuple(PairFee(base, quote, bps) for (base, quote), bps in fees.items())
    nonce = state.staking.validators[ADDRS[who]].nonce if nonce is None else nonce
    digest = trading_vote_digest(state.params.domain_separator, ADDRS[who], pair_fees, nonce)
    return TradingFeeVoted(ADDRS[who], pair_fees, eip712.sign(digest, KEYS[who if signer is None else signer]))


def test_the_vote_message_is_the_documented_layout():
    """What a validator's wallet signs: tag, separator, validator, nonce, then per pair
    (base, quote, bps), integers 32-byte big-endian."""
    separator, validator = b"\x11" * 32, ADDRS[1]
    layout = (b"omg-ledger trading fee vote" + separator + validator + (7).to_bytes(32, "big")
              + LOW + HIGH + (30).to_bytes(32, "big"))
    assert trading_vote_digest(separator, validator, (PairFee(LOW, HIGH, 30),), 7) == keccak256(layout)


def test_votes_set_each_pairs_fee_to_the_stake_weighted_median_at_the_close(staked):
    # Stakes 100, 200, 300: votes 10, 30, 50 bps -> the lower median by stake is 30 (300 of 600).
    state = staked
    for who, bps in ((0, 10), (1, 30), (2, 50)):
        state = checked(state, trading_vote(state, who, {(LOW, HIGH): bps}))
    assert trading_fee_bps(state, HIGH, LOW) == 0  # votes count only from the close
    ready = close_epoch(state)
    assert rejected(ready, FeeEpochClosed(1, ())) == "wrong_fee_schedule"
    assert rejected(ready, FeeEpochClosed(1, (), (PairFee(LOW, HIGH, 50),))) == "wrong_fee_schedule"
    closed = checked(ready, FeeEpochClosed(1, (), (PairFee(LOW, HIGH, 30),)))
    assert trading_fee_bps(closed, HIGH, LOW) == trading_fee_bps(closed, LOW, HIGH) == 30
    assert trading_fee_bps(closed, LOW, b"\x77" * 20) == 0  # a pair nobody voted on is free
    assert dict(closed.params.fee_schedule) == dict(staked.params.fee_schedule)  # payment fees untouched


def test_an_epoch_nobody_voted_in_keeps_the_trading_fees(staked):
    voted = checked(staked, trading_vote(staked, 0, {(LOW, HIGH): 25}))
    first = checked(close_epoch(voted), FeeEpochClosed(1, (), (PairFee(LOW, HIGH, 25),)))
    withdrawn = checked(first, trading_vote(first, 0, {}))
    ready = close_epoch(withdrawn)
    assert rejected(ready, FeeEpochClosed(2, ())) == "wrong_fee_schedule"
    kept = checked(ready, FeeEpochClosed(2, (), (PairFee(LOW, HIGH, 25),)))
    assert trading_fee_bps(kept, LOW, HIGH) == 25


def test_trading_and_payment_votes_share_the_validators_nonce(staked):
    from tests.ledger.test_staking import vote

    state = checked(staked, vote(staked, 0, {OMG: 2}))
    state = checked(state, trading_vote(state, 0, {(LOW, HIGH): 5}))
    assert state.staking.validators[ADDRS[0]].nonce == 2
    closed = checked(close_epoch(state), FeeEpochClosed(1, (FeeRule(1, OMG, 2),), (PairFee(LOW, HIGH, 5),)))
    assert dict(closed.params.fee_schedule) == {(1, OMG): 2} and trading_fee_bps(closed, HIGH, LOW) == 5


@pytest.mark.parametrize("fees, code", [
    ({(LOW, HIGH): 10_001}, "trading_fee_too_high"),
    ({(HIGH, LOW): 5}, "malformed_fee_schedule"),  # a pair is named base < quote
    ({(LOW, LOW): 5}, "malformed_fee_schedule"),
])
def test_malformed_votes_are_refused(staked, fees, code):
    assert rejected(staked, trading_vote(staked, 0, fees)) == code


def test_a_pair_named_twice_is_refused(staked):
    twice = (PairFee(LOW, HIGH, 5), PairFee(LOW, HIGH, 6))
    digest = trading_vote_digest(staked.params.domain_separator, ADDRS[0], twice, 0)
    assert rejected(staked, TradingFeeVoted(ADDRS[0], twice, eip712.sign(digest, KEYS[0]))) == "malformed_fee_schedule"


def test_the_whole_bought_amount_is_the_highest_fee(staked):
    state = checked(staked, trading_vote(staked, 0, {(LOW, HIGH): 10_000}))
    assert dict(state.staking.validators[ADDRS[0]].trading_fee_vote) == {(LOW, HIGH): 10_000}


def test_a_vote_signed_by_another_key_for_another_nonce_or_by_a_stranger_is_refused(staked):
    assert rejected(staked, trading_vote(staked, 0, {(LOW, HIGH): 5}, signer=1)) == "unauthorized_vote"
    assert rejected(staked, trading_vote(staked, 0, {(LOW, HIGH): 5}, nonce=1)) == "unauthorized_vote"
    assert rejected(staked, trading_vote(staked, 3, {(LOW, HIGH): 5}, nonce=0)) == "unknown_validator"


def test_a_replayed_vote_is_refused(staked):
    first = trading_vote(staked, 0, {(LOW, HIGH): 5})
    state = checked(staked, first)
    assert rejected(state, first) == "unauthorized_vote"  # it signed nonce 0; the next is 1


def test_votes_and_closes_replay_to_the_same_state_and_snapshot(staked):
    log = []
    state = staked
    for who, bps in ((0, 10), (2, 40)):
        vote_event = trading_vote(state, who, {(LOW, HIGH): bps})
        log.append(vote_event)
        state = checked(state, vote_event)
    ready = close_epoch(state)
    close = FeeEpochClosed(1, (), (PairFee(LOW, HIGH, 40),))  # 40 has 300 of 400 stake
    closed = checked(ready, close)
    raw = [events.encode(e) for e in log + [close]]
    assert [events.decode(r) for r in raw] == log + [close]
    replayed = fold(log, staked)
    assert replayed.log_head == state.log_head
    restored = decode_state(encode_state(closed))
    assert encode_state(restored) == encode_state(closed)
    assert dict(restored.staking.trading_fees) == {(LOW, HIGH): 40}
    assert dict(restored.staking.validators[ADDRS[2]].trading_fee_vote) == {(LOW, HIGH): 40}


def test_a_close_without_trading_fees_keeps_its_old_bytes():
    """An epoch close logged before trading fees existed: two fields, decoded and re-encoded
    byte for byte; writing the new field empty is not canonical."""
    old = rlp.encode([b"fee_epoch_closed", rlp.encode_uint(3), [[rlp.encode_uint(1), OMG, rlp.encode_uint(2)]]])
    event = events.decode(old)
    assert event == FeeEpochClosed(3, (FeeRule(1, OMG, 2),)) and events.encode(event) == old
    padded = rlp.encode([b"fee_epoch_closed", rlp.encode_uint(3), [], []])
    with pytest.raises(DecodeError):
        events.decode(padded)
    with_fees = events.encode(FeeEpochClosed(3, (), (PairFee(LOW, HIGH, 9),)))
    assert events.decode(with_fees).trading_fees == (PairFee(LOW, HIGH, 9),)


def test_a_snapshot_without_trading_fees_keeps_its_bytes(staked):
    """Validators and staking with no trading votes encode as before the fields existed."""
    validator = staked.staking.validators[ADDRS[0]]
    assert len(rlp.decode(VALIDATOR.encode(validator))) == 9
    assert len(rlp.decode(STAKING.encode(staked.staking))) == 11


def test_the_fee_of_a_fill_is_rounded_down():
    assert trading_fee(10_000, 30) == 30
    assert trading_fee(333, 30) == 0  # 0.999 rounds down: never above the voted rate
    assert trading_fee(12_345, 10_000) == 12_345
