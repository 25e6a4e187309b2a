"""Proof of stake through the one `apply`: bonds, unbonding, withdrawal, BLS commits and
equivocation, with the whole catalogue checked after every event."""
from __future__ import annotations

import attrs
import pytest

from ledger import events
from ledger.events import (
    BlockCommitted,
    Equivocation,
    StakeBonded,
    StakeWithdrawn,
    StakingOpened,
    UnbondingStarted,
)
from ledger.staking import STAKING_POOL, active_set, block_commit_message, commit_message, proposer, proposer_seed, unbond_digest, unjail_digest
from ledger.state import State
from ledger.transition import apply
from proofs import bls, eip712
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, encode_utxo_pos
from tests.conftest import ADDRS, KEYS, TOKEN, checked, deposit, genesis, out, rejected, seal, signed

OMG = TOKEN
BLS_KEYS = [bls.secret_key(b"validator %d seed material, 32+ bytes long" % i) for i in range(4)]
UNBONDING_BLOCKS = 2
EPOCH_BLOCKS = 2
WINDOW = 4  # commits over which downtime is judged; signing fewer than half of them is downtime
JAIL_BLOCKS = 3






HEAD = b"\x0c" * 32  # a log head the equivocator signs with both roots

def bond_event(state: State, who: int, amount: int, register: bool = True) -> StakeBonded:
    pos = next(p for p, o in state.utxos.items() if o.owner == ADDRS[who] and o.token == OMG)
    held = state.utxos[pos].amount
    outputs = [Output(OUTPUT_TYPE_PAYMENT, STAKING_POOL, OMG, amount)] + ([out(who, held - amount, OMG)] if held > amount else [])
    key = BLS_KEYS[who]
    return StakeBonded(signed([pos], outputs, [who]), bls.public_key(key) if register else b"", bls.pop_prove(key) if register else b"")




@pytest.fixture
def staked() -> State:
    """Validators 0, 1, 2 bond 100, 200, 300 OMG of their 1000; equivocation slashes 5 % and
    rewards 10 % of it; downtime (under half of a 4-commit window) slashes 1 %."""
    state = genesis()
    for who in range(4):
        state = deposit(state, who, 1000, OMG)
    state = checked(state, StakingOpened(OMG, 3, UNBONDING_BLOCKS, 500, 1000, EPOCH_BLOCKS, WINDOW, 5000, 100, JAIL_BLOCKS))
    for who, amount in ((0, 100), (1, 200), (2, 300)):
        state = checked(state, bond_event(state, who, amount))
    return state


def commit(state: State, blknum: int, signers: list[int]) -> BlockCommitted:
    """The signers' commit, proposed in the first round whose drawn proposer is among them."""
    validators = active_set(state.staking)
    index = {address: i for i, (address, _) in enumerate(validators)}
    message = block_commit_message(state, blknum)
    signature = bls.aggregate([bls.sign(BLS_KEYS[w], message) for w in signers])
    seed, signing = proposer_seed(state, blknum), {ADDRS[w] for w in signers}
    round_ = next(r for r in range(64) if proposer(state.staking, blknum, seed, r) in signing)
    bitmap = bls.signer_bitmap([index[ADDRS[w]] for w in signers], len(validators))
    return BlockCommitted(blknum, round_, proposer(state.staking, blknum, seed, round_), bitmap, signature)


def test_every_staking_event_round_trips_its_encoding():
    for event in (
        StakingOpened(OMG, 3, 2, 500, 1000, 2, 4, 5000, 100, 3),
        StakeBonded(b"\x01", b"\x02" * 48, b"\x03" * 96),
        UnbondingStarted(ADDRS[0], 5, b"\x04" * 65),
        StakeWithdrawn(ADDRS[0], 0),
        BlockCommitted(1000, 2, ADDRS[1], b"\x07", b"\x05" * 96),
        events.ValidatorUnjailed(ADDRS[0], b"\x04" * 65),
        Equivocation(ADDRS[1], ADDRS[0], 1000, b"\x06" * 32, bytes(32), b"\x07" * 96, b"\x08" * 32, bytes(32), b"\x09" * 96),
    ):
        assert events.decode(events.encode(event)) == event


def test_bonds_take_stake_out_of_the_utxo_set(staked):
    s = staked.staking
    assert [v.bonded for _, v in sorted(s.validators.items(), key=lambda kv: kv[1].bonded)] == [100, 200, 300]
    assert s.bonded_total == 600 and staked.unspent[OMG] == 4000 - 600
    assert all(o.owner != STAKING_POOL for o in staked.utxos.values())
    assert len(staked.open_block_txs) == 3  # each bond is a leaf of the open block


def test_a_bond_needs_a_valid_key_and_proof_of_possession(staked):
    state = staked
    good = bond_event(state, 3, 50)
    assert rejected(state, StakeBonded(good.tx, good.bls_key, bls.pop_prove(BLS_KEYS[0]))) == "invalid_proof_of_possession"
    assert rejected(state, StakeBonded(good.tx, b"\x01" * 48, good.pop)) == "malformed_bls_point"
    taken = StakeBonded(good.tx, bls.public_key(BLS_KEYS[0]), bls.pop_prove(BLS_KEYS[0]))
    assert rejected(state, taken) == "bls_key_taken"
    more = checked(state, bond_event(state, 0, 10, register=False))  # a known validator bonds more
    assert more.staking.validators[ADDRS[0]].bonded == 110


def test_a_bond_must_pay_the_staking_token_to_the_pool(staked):
    pos = next(p for p, o in staked.utxos.items() if o.owner == ADDRS[3] and o.token == OMG)
    plain = StakeBonded(signed([pos], [out(3, 1000, OMG)], [3]), bls.public_key(BLS_KEYS[3]), bls.pop_prove(BLS_KEYS[3]))
    assert rejected(staked, plain) == "not_a_bond"


def test_unbonding_waits_its_period_then_returns_the_stake_as_an_output(staked):
    digest = unbond_digest(staked.params.domain_separator, ADDRS[1], 50, 0)
    event = UnbondingStarted(ADDRS[1], 50, eip712.sign(digest, KEYS[1]))
    unbonding = checked(staked, event)
    assert unbonding.staking.validators[ADDRS[1]].bonded == 150 and unbonding.staking.unbonding_total == 50
    assert rejected(unbonding, event) == "unauthorized_unbond"  # the nonce moved on: no replay
    assert rejected(unbonding, StakeWithdrawn(ADDRS[1], 0)) == "unbonding_not_mature"
    forged = UnbondingStarted(ADDRS[1], 50, eip712.sign(unbond_digest(staked.params.domain_separator, ADDRS[1], 50, 1), KEYS[0]))
    assert rejected(unbonding, forged) == "unauthorized_unbond"
    later = unbonding
    for _ in range(UNBONDING_BLOCKS):
        later = seal(later)
    withdrawn = checked(later, StakeWithdrawn(ADDRS[1], 0))
    pos = encode_utxo_pos(later.next_child_blknum, 0, 0)
    assert withdrawn.utxos[pos] == out(1, 50, OMG) and withdrawn.staking.unbonding_total == 0
    assert rejected(withdrawn, StakeWithdrawn(ADDRS[1], 0)) == "unknown_unbonding"


def test_an_unbonding_matures_at_its_block_not_one_before(staked):
    digest = unbond_digest(staked.params.domain_separator, ADDRS[1], 50, 0)
    state = checked(staked, UnbondingStarted(ADDRS[1], 50, eip712.sign(digest, KEYS[1])))
    mature_at = state.staking.unbonding[(ADDRS[1], 0)].mature_at
    assert mature_at == staked.next_child_blknum + UNBONDING_BLOCKS * 1000
    while state.next_child_blknum < mature_at - 1000:
        state = seal(state)
    assert rejected(state, StakeWithdrawn(ADDRS[1], 0)) == "unbonding_not_mature"  # the block before
    state = seal(state)
    assert state.next_child_blknum == mature_at
    assert checked(state, StakeWithdrawn(ADDRS[1], 0)).staking.unbonding_total == 0


def test_a_block_is_final_with_more_than_two_thirds_of_the_stake(staked):
    sealed = seal(staked)
    assert rejected(sealed, commit(sealed, 1000, [0, 2])) == "insufficient_commit_stake"  # exactly 2/3: not enough
    assert rejected(sealed, commit(sealed, 1000, [2])) == "insufficient_commit_stake"
    final = checked(sealed, commit(sealed, 1000, [1, 2]))  # 500 of 600
    assert final.staking.last_committed == 1000 and final.staking.commits[1000] == commit(sealed, 1000, [1, 2]).signers
    assert rejected(final, commit(sealed, 1000, [0, 1, 2])) == "wrong_block_number"


def test_a_commit_signature_must_match_its_bitmap(staked):
    sealed = seal(staked)
    good = commit(sealed, 1000, [0, 1, 2])
    lying = attrs.evolve(good, signature=commit(sealed, 1000, [1, 2]).signature)
    assert rejected(sealed, lying) == "invalid_commit_signature"
    assert rejected(sealed, attrs.evolve(good, signers=b"\xff")) == "malformed_signer_bitmap"
    assert rejected(sealed, attrs.evolve(good, blknum=2000)) == "wrong_block_number"


def test_equivocation_slashes_jails_and_rewards_the_reporter(staked):
    separator = staked.params.domain_separator
    roots = (b"\x0a" * 32, b"\x0b" * 32)
    sigs = [bls.sign(BLS_KEYS[2], commit_message(separator, 1000, r, HEAD)) for r in roots]
    evidence = Equivocation(ADDRS[3], ADDRS[2], 1000, roots[0], HEAD, sigs[0], roots[1], HEAD, sigs[1])
    after = checked(staked, evidence)
    v = after.staking.validators[ADDRS[2]]
    assert v.bonded == 300 - 15 and v.jailed and after.staking.burned == 15 - 1
    reward = [o for o in after.utxos.values() if o.owner == ADDRS[3] and o.amount == 1]
    assert reward == [out(3, 1, OMG)]
    assert ADDRS[2] not in {a for a, _ in active_set(after.staking)}
    assert rejected(after, evidence) == "evidence_already_seen"
    forged = Equivocation(ADDRS[3], ADDRS[1], 1000, roots[0], HEAD, sigs[0], roots[1], HEAD, sigs[1])
    assert rejected(staked, forged) == "invalid_evidence_signature"
    same = Equivocation(ADDRS[3], ADDRS[2], 1000, roots[0], HEAD, sigs[0], roots[0], HEAD, sigs[0])
    assert rejected(staked, same) == "not_an_equivocation"


def test_the_proposer_is_drawn_by_stake_and_replayable(staked):
    seed = b"\x42" * 32
    draws = [proposer(staked.staking, 1000 * k, seed) for k in range(1, 601)]
    assert draws == [proposer(staked.staking, 1000 * k, seed) for k in range(1, 601)]
    counts = {who: draws.count(ADDRS[who]) for who in range(3)}
    assert counts[0] < counts[1] < counts[2]  # 100 : 200 : 300


# --- fee votes, epochs, distribution --------------------------------------------------

from ledger.events import FeeCollected, FeeEpochClosed, FeeRule, FeeVoted, Payment  # noqa: E402
from ledger.fee_votes import undistributed, vote_digest, weighted_median  # noqa: E402
from tests.conftest import ETH  # noqa: E402


def vote(state: State, who: int, fees: dict[bytes, int]) -> FeeVoted:
    schedule = tuple(FeeRule(1, token, fee) for token, fee in sorted(fees.items()))
    nonce = state.staking.validators[ADDRS[who]].nonce
    digest = vote_digest(state.params.domain_separator, ADDRS[who], schedule, nonce)
    return FeeVoted(ADDRS[who], schedule, eip712.sign(digest, KEYS[who]))


def close_epoch(state: State) -> State:
    """Seal until the epoch's last block, then close it with the schedule the rule expects."""
    epoch = state.staking.epoch + 1
    while state.next_child_blknum <= epoch * EPOCH_BLOCKS * 1000:
        state = seal(state)
    return state


def test_the_weighted_median_is_the_lower_median_by_stake():
    assert weighted_median([(5, 100), (1, 200), (9, 300)]) == 5  # stake at or below 5: 300 of 600
    assert weighted_median([(5, 100), (1, 200), (9, 301)]) == 9
    assert weighted_median([(7, 1)]) == 7


def test_votes_are_signed_once_each_and_set_the_next_epoch_fee(staked):
    v0 = vote(staked, 0, {OMG: 1})
    voted = checked(staked, v0, vote(staked, 1, {OMG: 3}), vote(staked, 2, {OMG: 10, ETH: 2}))
    assert rejected(voted, v0) == "unauthorized_vote"  # replayed: the nonce moved on
    ready = close_epoch(voted)
    assert rejected(ready, FeeEpochClosed(1, (FeeRule(1, OMG, 10),))) == "wrong_fee_schedule"
    expected = (FeeRule(1, ETH, 2), FeeRule(1, OMG, 3))  # OMG: 1@100, 3@200, 10@300 -> 3
    assert rejected(voted, FeeEpochClosed(1, expected)) == "epoch_not_over"
    closed = checked(ready, FeeEpochClosed(1, expected))
    assert dict(closed.params.fee_schedule) == {(1, ETH): 2, (1, OMG): 3}
    pos = next(p for p, o in closed.utxos.items() if o.owner == ADDRS[3] and o.token == OMG)
    cheap = Payment(signed([pos], [out(0, 999, OMG)], [3]))  # pays 1, the schedule asks 3
    assert rejected(closed, cheap) == "fees_not_covered"
    assert checked(closed, Payment(signed([pos], [out(0, 997, OMG)], [3]))).open_block_fees[OMG] == 3


def test_collected_fees_go_to_validators_by_stake_and_the_dust_carries_over(staked):
    voted = checked(staked, vote(staked, 0, {OMG: 7}), vote(staked, 1, {OMG: 7}), vote(staked, 2, {OMG: 7}))
    closed = checked(close_epoch(voted), FeeEpochClosed(1, (FeeRule(1, OMG, 7),)))
    pos = next(p for p, o in closed.utxos.items() if o.owner == ADDRS[3] and o.token == OMG)
    paid = checked(closed, Payment(signed([pos], [out(0, 993, OMG)], [3])))
    paid = checked(paid, FeeCollected(paid.next_child_blknum, OMG, 7))
    ready = close_epoch(paid)
    before = {who: sum(o.amount for o in ready.utxos.values() if o.owner == ADDRS[who] and o.token == OMG) for who in range(3)}
    distributed = checked(ready, FeeEpochClosed(2, (FeeRule(1, OMG, 7),)))
    after = {who: sum(o.amount for o in distributed.utxos.values() if o.owner == ADDRS[who] and o.token == OMG) for who in range(3)}
    assert {who: after[who] - before[who] for who in range(3)} == {0: 1, 1: 2, 2: 3}  # 7 * 100/600 ... floor
    assert undistributed(distributed)[OMG] == 1  # the dust, kept for the next epoch
    assert distributed.staking.fees_distributed[OMG] == 6


def test_downtime_over_the_window_slashes_and_jails(staked):
    state = staked
    for _ in range(WINDOW):  # validator 0 signs none of the window's commits
        state = seal(state)
        state = checked(state, commit(state, state.next_child_blknum - 1000, [1, 2]))
    v0 = state.staking.validators[ADDRS[0]]
    assert v0.jailed and v0.bonded == 99 and state.staking.burned == 1
    assert not state.staking.validators[ADDRS[1]].jailed
    assert ADDRS[0] not in {a for a, _ in active_set(state.staking)}


def test_only_the_drawn_proposer_of_the_round_may_propose_and_it_signs(staked):
    sealed = seal(staked)
    good = commit(sealed, 1000, [0, 1, 2])
    others = [a for a, _ in active_set(sealed.staking) if a != good.proposer]
    assert rejected(sealed, attrs.evolve(good, proposer=others[0])) == "wrong_proposer"
    seed = proposer_seed(sealed, 1000)
    later = next(r for r in range(good.round + 1, 64) if proposer(sealed.staking, 1000, seed, r) != good.proposer)
    assert rejected(sealed, attrs.evolve(good, round=later)) == "wrong_proposer"
    absent = commit(sealed, 1000, [1, 2])
    assert proposer(sealed.staking, 1000, seed, absent.round) != ADDRS[0]  # a round its proposer signed
    checked(sealed, absent)


def test_a_downtime_jail_ends_after_its_time_an_equivocation_jail_never(staked):
    state = staked
    for _ in range(WINDOW):
        state = seal(state)
        state = checked(state, commit(state, state.next_child_blknum - 1000, [1, 2]))
    v0 = state.staking.validators[ADDRS[0]]
    unjail = events.ValidatorUnjailed(ADDRS[0], eip712.sign(unjail_digest(state.params.domain_separator, ADDRS[0], v0.nonce), KEYS[0]))
    assert rejected(state, unjail) == "still_jailed"
    while state.next_child_blknum < v0.jailed_until:
        state = seal(state)
    back = checked(state, unjail)
    assert ADDRS[0] in {a for a, _ in active_set(back.staking)}
    assert rejected(back, unjail) == "not_jailed"

    separator = staked.params.domain_separator
    roots = (b"\x0a" * 32, b"\x0b" * 32)
    sigs = [bls.sign(BLS_KEYS[2], commit_message(separator, 1000, r, HEAD)) for r in roots]
    slashed = checked(staked, Equivocation(ADDRS[3], ADDRS[2], 1000, roots[0], HEAD, sigs[0], roots[1], HEAD, sigs[1]))
    nonce = slashed.staking.validators[ADDRS[2]].nonce
    forever = events.ValidatorUnjailed(ADDRS[2], eip712.sign(unjail_digest(separator, ADDRS[2], nonce), KEYS[2]))
    assert rejected(slashed, forever) == "tombstoned"


def test_a_commit_signs_the_history_not_only_the_root(staked):
    """Two ledgers whose block 1000 has the same transactions but whose logs differ before it
    (here: the same history with a different head) cannot share a commit."""
    sealed = seal(staked)
    good = commit(sealed, 1000, [0, 1, 2])
    block = sealed.blocks[1000]
    elsewhere = attrs.evolve(sealed, blocks=sealed.blocks.set(1000, attrs.evolve(block, log_head=b"\x01" * 32)))
    assert block.log_head == staked.log_head != bytes(32)
    assert rejected(elsewhere, good) == "invalid_commit_signature"
    assert checked(sealed, good).staking.last_committed == 1000


def evidence(state: State, who: int, blknum: int, reporter: int = 3) -> Equivocation:
    """Validator `who` signed two roots over one history at `blknum`; `reporter` reports it."""
    separator = state.params.domain_separator
    roots = (b"\x0a" * 32, b"\x0b" * 32)
    sigs = [bls.sign(BLS_KEYS[who], commit_message(separator, blknum, r, HEAD)) for r in roots]
    return Equivocation(ADDRS[reporter], ADDRS[who], blknum, roots[0], HEAD, sigs[0], roots[1], HEAD, sigs[1])


def test_a_tombstoned_validator_is_not_slashed_again(staked):
    """As x/slashing: a tombstone ends the validator's slashing; new evidence at another height
    (here the next one) would otherwise cut what is left of its stake once more."""
    slashed = seal(checked(staked, evidence(staked, 2, 1000)))
    assert slashed.staking.validators[ADDRS[2]].tombstoned
    assert rejected(slashed, evidence(slashed, 2, 2000)) == "tombstoned"


def test_evidence_must_be_of_a_height_the_chain_reached_within_the_unbonding_period(staked):
    """Evidence names a child block up to the open one (a height the validators are signing),
    and no older than `unbonding_blocks` child blocks: stake unbonded since may be gone."""
    assert rejected(staked, evidence(staked, 2, 0)) == "not_an_equivocation"
    assert rejected(staked, evidence(staked, 2, 2000)) == "evidence_from_future"
    state = staked
    for _ in range(UNBONDING_BLOCKS):
        state = seal(state)
    assert state.next_child_blknum == 1000 + UNBONDING_BLOCKS * 1000
    checked(state, evidence(state, 2, 1000))  # as old as the unbonding period: still slashable
    assert rejected(seal(state), evidence(state, 2, 1000)) == "evidence_too_old"


def test_a_self_report_slashes_in_full_and_pays_no_reward(staked):
    """A validator reporting its own equivocation must not recoup part of the slash: the
    evidence is taken (a delay would help no one) and the whole cut is burned."""
    after = checked(staked, evidence(staked, 2, 1000, reporter=2))
    assert after.staking.validators[ADDRS[2]].bonded == 300 - 15 and after.staking.burned == 15
    assert after.utxos == staked.utxos and after.open_block_txs == staked.open_block_txs
