"""Staking edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

import attrs
from pyrsistent import pvector

from ledger import events
from ledger.errors import Rejected
from ledger.events import Equivocation, FeeVoted, StakeBonded, StakeWithdrawn, StakingOpened, UnbondingStarted
from ledger.fee_votes import vote_digest
from ledger.staking import (
    STAKE_RETURN_METADATA,
    active_set,
    commit_message,
    proposer,
    proposer_seed,
    unbond_digest,
    unjail_digest,
)
from ledger.state import State
from proofs import bls, eip712, merkle
from proofs.keccak import keccak256
from proofs.payment import PaymentTx, encode
from tests.conftest import ADDRS, KEYS, checked, deposit, genesis, out, rejected, seal
from tests.ledger.test_staking import (  # noqa: F401 (staked is a fixture)
    BLS_KEYS,
    HEAD,
    JAIL_BLOCKS,
    OMG,
    UNBONDING_BLOCKS,
    bond_event,
    commit,
    staked,
)

SEPARATOR = b"\x11" * 32


# --- what validators sign: the documented layouts ------------------------------------

def test_the_signed_messages_are_the_documented_layouts():
    word = lambda n: n.to_bytes(32, "big")  # noqa: E731
    root = b"\x0a" * 32
    assert commit_message(SEPARATOR, 3000, root, HEAD) == keccak256(b"omg-ledger commit" + SEPARATOR + word(3000) + root + HEAD)
    assert unbond_digest(SEPARATOR, ADDRS[1], 50, 7) == keccak256(b"omg-ledger unbond" + SEPARATOR + ADDRS[1] + word(50) + word(7))
    assert unjail_digest(SEPARATOR, ADDRS[1], 7) == keccak256(b"omg-ledger unjail" + SEPARATOR + ADDRS[1] + word(7))


def test_the_proposer_draw_is_the_documented_one(staked: State):
    """keccak(seed || blknum || round) mod total stake, walked over the active set by address;
    a ticket equal to a validator's cumulative stake belongs to the next one."""
    validators = active_set(staked.staking)
    seed = b"\x42" * 32
    assert all(proposer(staked.staking, 1000 * k, seed) == proposer(staked.staking, 1000 * k, seed, 0) for k in range(1, 40))
    boundaries = {}
    start = 0
    for address, validator in validators:
        boundaries[start] = address  # the first ticket of each validator's range
        start += validator.bonded
    hits = 0
    for round_ in range(20_000):
        draw = keccak256(seed + (1000).to_bytes(32, "big") + round_.to_bytes(32, "big"))
        ticket = int.from_bytes(draw, "big") % start
        if ticket in boundaries:
            assert proposer(staked.staking, 1000, seed, round_) == boundaries[ticket]
            hits += 1
    assert hits >= 3


def test_the_seed_of_a_block_is_the_root_of_the_child_block_before_it(staked: State):
    sealed = seal(staked)
    assert proposer_seed(sealed, 2000) == sealed.blocks[1000].root != bytes(32)
    assert proposer_seed(sealed, 1000) == bytes(32)  # no child block before the first


# --- the active set ------------------------------------------------------------------------

def _active(state: State) -> set[bytes]:
    return {address for address, _ in active_set(state.staking)}


def test_the_active_set_is_the_largest_stakes_ties_by_address(staked: State):
    assert _active(checked(staked, bond_event(staked, 3, 50))) == {ADDRS[0], ADDRS[1], ADDRS[2]}
    assert _active(checked(staked, bond_event(staked, 3, 250))) == {ADDRS[1], ADDRS[2], ADDRS[3]}
    tied = checked(staked, bond_event(staked, 3, 100))  # as validator 0
    assert _active(tied) == {ADDRS[1], ADDRS[2], min(ADDRS[0], ADDRS[3])}
    assert [a for a, _ in active_set(tied.staking)] == sorted(_active(tied))


def test_a_stake_of_one_is_active_and_none_is_not(staked: State):
    one = checked(staked, bond_event(staked, 3, 1))
    assert ADDRS[3] in {a for a, _ in active_set(attrs.evolve(one.staking, params=attrs.evolve(one.staking.params, max_validators=4)))}
    signature = eip712.sign(unbond_digest(staked.params.domain_separator, ADDRS[0], 100, 0), KEYS[0])
    gone = checked(staked, UnbondingStarted(ADDRS[0], 100, signature))  # all of it
    assert gone.staking.validators[ADDRS[0]].bonded == 0 and ADDRS[0] not in _active(gone)


# --- opening, bonding, unbonding, withdrawal ----------------------------------------

def _opened(**changes: int) -> str | State:
    fields = dict(token=OMG, max_validators=3, unbonding_blocks=2, double_sign_slash_bps=500, reporter_reward_bps=1000,
                  epoch_blocks=2, signed_blocks_window=4, min_signed_bps=5000, downtime_slash_bps=100, jail_blocks=3)
    try:
        return checked(deposit(genesis(), 0, 10, OMG), StakingOpened(**{**fields, **changes}))
    except Rejected as refusal:
        return refusal.code


def test_staking_opens_with_positive_counts_and_fractions_up_to_one():
    for field in ("max_validators", "epoch_blocks", "signed_blocks_window"):
        assert _opened(**{field: 0}) == "malformed_event"
        assert isinstance(_opened(**{field: 1}), State)
    for field in ("double_sign_slash_bps", "reporter_reward_bps", "min_signed_bps", "downtime_slash_bps"):
        assert _opened(**{field: 10_001}) == "malformed_event"
        assert isinstance(_opened(**{field: 10_000}), State)


def test_a_known_validator_keeps_its_key(staked: State):
    again = bond_event(staked, 0, 10)  # carries validator 0's own key
    assert checked(staked, again).staking.validators[ADDRS[0]].bonded == 110
    other = StakeBonded(again.tx, bls.public_key(BLS_KEYS[3]), bls.pop_prove(BLS_KEYS[3]))
    assert rejected(staked, other) == "bls_key_mismatch"


def _unbond(state: State, who: int, amount: int) -> UnbondingStarted:
    nonce = state.staking.validators[ADDRS[who]].nonce
    return UnbondingStarted(ADDRS[who], amount, eip712.sign(unbond_digest(state.params.domain_separator, ADDRS[who], amount, nonce), KEYS[who]))


def test_unbonding_takes_one_unit_up_to_the_whole_stake_one_nonce_at_a_time(staked: State):
    assert rejected(staked, _unbond(staked, 0, 0)) == "amount_exceeds_stake"
    assert rejected(staked, _unbond(staked, 0, 101)) == "amount_exceeds_stake"
    one = checked(staked, _unbond(staked, 0, 1))
    rest = checked(one, _unbond(one, 0, 99))  # the next nonce, the whole remaining stake
    assert rest.staking.validators[ADDRS[0]].nonce == 2 and rest.staking.unbonding_total == 100
    entry = rest.staking.unbonding[(ADDRS[0], 1)]
    assert (entry.validator, entry.amount, entry.mature_at) == (ADDRS[0], 99, staked.next_child_blknum + UNBONDING_BLOCKS * 1000)


def test_a_withdrawal_waits_every_block_of_the_period_and_mints_a_marked_leaf(staked: State):
    state = checked(staked, _unbond(staked, 1, 50))
    for _ in range(UNBONDING_BLOCKS - 1):
        state = seal(state)
        assert rejected(state, StakeWithdrawn(ADDRS[1], 0)) == "unbonding_not_mature"
    state = seal(state)
    withdrawn = checked(state, StakeWithdrawn(ADDRS[1], 0))
    leaf = encode(PaymentTx([], [out(1, 50, OMG)], metadata=STAKE_RETURN_METADATA))
    assert withdrawn.open_block_txs == state.open_block_txs.append(leaf)


def test_no_stake_is_minted_into_a_full_block(staked: State):
    state = checked(staked, _unbond(staked, 1, 50))
    for _ in range(UNBONDING_BLOCKS):
        state = seal(state)
    almost = attrs.evolve(state, open_block_txs=pvector([b"\x01"] * (merkle.MAX_LEAVES - 1)))
    assert len(checked(almost, StakeWithdrawn(ADDRS[1], 0)).open_block_txs) == merkle.MAX_LEAVES
    full = attrs.evolve(state, open_block_txs=pvector([b"\x01"] * merkle.MAX_LEAVES))
    assert rejected(full, StakeWithdrawn(ADDRS[1], 0)) == "too_many_transactions_in_block"


# --- downtime -----------------------------------------------------------------------------

def _commits(state: State, pattern: str) -> State:
    """One sealed and committed block per character: 's' validator 0 signs with 1 and 2, 'm' it misses."""
    for mark in pattern:
        state = seal(state)
        state = checked(state, commit(state, state.next_child_blknum - 1000, [0, 1, 2] if mark == "s" else [1, 2]))
    return state


def test_downtime_is_judged_over_the_last_window_only(staked: State):
    state = _commits(staked, "mmss")  # signed 2 of 4: exactly half is enough
    assert not state.staking.validators[ADDRS[0]].jailed
    state = _commits(state, "m")  # the window is now m s s m: still 2 of 4
    v0 = state.staking.validators[ADDRS[0]]
    assert not v0.jailed and v0.missed == 0b1001 and v0.expected == 5


def test_signing_one_of_the_window_is_downtime_and_the_jail_lasts_its_blocks(staked: State):
    state = _commits(staked, "mmm")
    assert not state.staking.validators[ADDRS[0]].jailed  # three commits are not a window yet
    state = _commits(state, "s")
    v0 = state.staking.validators[ADDRS[0]]
    assert v0.jailed and v0.jailed_until == state.next_child_blknum + JAIL_BLOCKS * 1000


def test_after_a_downtime_jail_the_window_starts_afresh(staked: State):
    state = _commits(staked, "mmmm")
    v0 = state.staking.validators[ADDRS[0]]
    assert v0.jailed and (v0.missed, v0.expected) == (0, 0)
    while state.next_child_blknum < v0.jailed_until:
        state = _commits(state, "m")  # jailed, it is out of the active set
    unjail = events.ValidatorUnjailed(ADDRS[0], eip712.sign(unjail_digest(state.params.domain_separator, ADDRS[0], v0.nonce), KEYS[0]))
    back = checked(state, unjail)
    assert back.staking.validators[ADDRS[0]].jailed is False and back.staking.validators[ADDRS[0]].nonce == v0.nonce + 1
    state = _commits(back, "mmm")
    assert not state.staking.validators[ADDRS[0]].jailed and state.staking.validators[ADDRS[0]].expected == 3
    # its next signed request takes the nonce after the unjail's
    digest = vote_digest(state.params.domain_separator, ADDRS[0], (), v0.nonce + 1)
    assert checked(state, FeeVoted(ADDRS[0], (), eip712.sign(digest, KEYS[0]))).staking.validators[ADDRS[0]].nonce == v0.nonce + 2


def test_an_unjail_signed_by_another_key_is_refused(staked: State):
    state = _commits(staked, "mmmm")
    while state.next_child_blknum < state.staking.validators[ADDRS[0]].jailed_until:
        state = seal(state)
    nonce = state.staking.validators[ADDRS[0]].nonce
    forged = events.ValidatorUnjailed(ADDRS[0], eip712.sign(unjail_digest(state.params.domain_separator, ADDRS[0], nonce), KEYS[1]))
    assert rejected(state, forged) == "unauthorized_unjail"


# --- equivocation -------------------------------------------------------------------------

def test_equivocation_slashes_the_offenders_unbonding_stake_too_and_only_its(staked: State):
    state = checked(staked, _unbond(staked, 1, 50))  # the offender, twice
    state = checked(state, _unbond(state, 1, 20))
    state = checked(state, _unbond(state, 0, 40))  # a bystander
    separator = state.params.domain_separator
    roots = (b"\x0a" * 32, b"\x0b" * 32)
    sigs = [bls.sign(BLS_KEYS[1], commit_message(separator, 1000, r, HEAD)) for r in roots]
    after = checked(state, Equivocation(ADDRS[3], ADDRS[1], 1000, roots[0], HEAD, sigs[0], roots[1], HEAD, sigs[1]))
    s = after.staking
    assert s.unbonding[(ADDRS[1], 0)].amount == 50 - 2  # 5 % of 50, rounded down
    assert s.unbonding[(ADDRS[1], 1)].amount == 20 - 1
    assert s.unbonding[(ADDRS[0], 0)].amount == 40
    assert s.unbonding_total == 110 - 3 and s.validators[ADDRS[1]].bonded == 130 - 6
    # 9 slashed: the 10 % reward rounds down to nothing, so all 9 burn and nothing is minted
    assert s.burned == 9 and after.open_block_txs == state.open_block_txs and after.effects.created == ()
    assert s.evidence[(ADDRS[1], 1000)] == ADDRS[3]
