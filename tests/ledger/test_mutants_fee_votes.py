"""Fee votes and epochs: edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

from ledger.events import FeeEpochClosed, FeeRule
from ledger.fee_votes import vote_digest
from ledger.state import State
from proofs.keccak import keccak256
from tests.conftest import ADDRS, ETH, checked, rejected, seal
from tests.ledger.test_staking import EPOCH_BLOCKS, OMG, close_epoch, staked, vote  # noqa: F401 (fixture)


def test_the_vote_message_is_the_documented_layout():
    """What a validator's wallet signs: tag, separator, validator, nonce, then per rule
    (tx type, token, fee), integers 32-byte big-endian. Another signer must be able to build it."""
    separator, validator = b"\x11" * 32, ADDRS[1]
    schedule = (FeeRule(1, ETH, 2), FeeRule(1, OMG, 300))
    layout = (b"omg-ledger fee vote" + separator + validator + (7).to_bytes(32, "big")
              + (1).to_bytes(32, "big") + ETH + (2).to_bytes(32, "big")
              + (1).to_bytes(32, "big") + OMG + (300).to_bytes(32, "big"))
    assert vote_digest(separator, validator, schedule, 7) == keccak256(layout)


def test_a_validator_votes_again_with_its_next_nonce(staked: State):
    first = checked(staked, vote(staked, 0, {OMG: 1}))
    assert first.staking.validators[ADDRS[0]].nonce == 1
    second = checked(first, vote(first, 0, {OMG: 2}))
    assert dict(second.staking.validators[ADDRS[0]].fee_vote) == {(1, OMG): 2}


def test_an_epoch_nobody_voted_in_keeps_the_current_schedule(staked: State):
    voted = checked(staked, vote(staked, 0, {OMG: 4}))
    first = checked(close_epoch(voted), FeeEpochClosed(1, (FeeRule(1, OMG, 4),)))
    withdrawn = checked(first, vote(first, 0, {}))  # an empty vote: now no one votes on anything
    ready = close_epoch(withdrawn)
    assert rejected(ready, FeeEpochClosed(2, ())) == "wrong_fee_schedule"
    kept = checked(ready, FeeEpochClosed(2, (FeeRule(1, OMG, 4),)))
    assert dict(kept.params.fee_schedule) == {(1, OMG): 4}


def test_an_epoch_closes_only_once_its_last_block_is_sealed(staked: State):
    last_block = EPOCH_BLOCKS * 1000
    state = staked
    while state.next_child_blknum < last_block:
        state = seal(state)
    assert state.next_child_blknum == last_block  # the epoch's last block is open, not sealed
    assert rejected(state, FeeEpochClosed(1, ())) == "epoch_not_over"
    assert checked(seal(state), FeeEpochClosed(1, ())).staking.epoch == 1
