"""Proof-of-stake rules: bonding, unbonding, withdrawal, BLS block commits, equivocation.

Semantics after Cosmos SDK x/staking and x/slashing, simplified where said:
- validators bond their own stake only (no delegation yet); a bond is a signed payment
  whose outputs to STAKING_POOL (an address no one holds a key for) become stake, so the
  bond is a leaf of its child block like any payment;
- the active set is the `max_validators` largest unjailed stakes (ties by address),
  listed by address; a commit's bitmap indexes that list;
- unbonding waits `unbonding_blocks` child blocks (the ledger has no clock), then a
  withdrawal returns the stake as a new input-less output in the open block;
- an equivocation (two roots signed for one height) slashes bonded and unbonding stake
  by `double_sign_slash_bps`, jails the validator, pays the reporter
  `reporter_reward_bps` of the slash as a new output, and burns the rest. As x/evidence
  and x/slashing: the height is a child block no later than the open one and no more
  than `unbonding_blocks` child blocks old; a tombstoned validator is not slashed again;
  a validator reporting itself gets no reward (all of the cut is burned).
"""
from __future__ import annotations

import attrs
from immutables import Map

from ledger.errors import Rejected
from ledger.events import (
    BlockCommitted,
    Equivocation,
    Payment,
    StakeBonded,
    StakeWithdrawn,
    StakingOpened,
    UnbondingStarted,
    ValidatorUnjailed,
)
from ledger.plasma import apply_payment, decode_tx, params_of
from ledger.state import CHILD_BLOCK_INTERVAL, Effects, Staking, StakingParams, State, Unbonding, Validator, add_to, advance
from proofs import bls, eip712, merkle
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, encode, encode_utxo_pos

STAKING_POOL = keccak256(b"omg-ledger staking pool")[12:]
STAKE_RETURN_METADATA = keccak256(b"omg-ledger stake returned")  # marks input-less outputs the ledger mints
BPS = 10_000


def commit_message(separator: bytes, blknum: int, root: bytes, log_head: bytes) -> bytes:
    """What a validator signs to commit child block `blknum` with `root` on this chain, after
    the log whose head hash (before the block's seal) is `log_head`: a commit vouches for
    the whole history up to the block, not only for the block's transactions."""
    return keccak256(b"omg-ledger commit" + separator + blknum.to_bytes(32, "big") + root + log_head)


def block_commit_message(state: State, blknum: int) -> bytes:
    """The message that commits sealed child block `blknum` of `state`."""
    block = state.blocks[blknum]
    return commit_message(params_of(state).domain_separator, blknum, block.root, block.log_head)


def unbond_digest(separator: bytes, validator: bytes, amount: int, nonce: int) -> bytes:
    return keccak256(b"omg-ledger unbond" + separator + validator + amount.to_bytes(32, "big") + nonce.to_bytes(32, "big"))


def active_set(staking: Staking) -> list[tuple[bytes, Validator]]:
    """The validators that sign: the largest unjailed stakes, listed by address."""
    eligible = [(a, v) for a, v in staking.validators.items() if v.bonded > 0 and not v.jailed]
    top = sorted(eligible, key=lambda item: (-item[1].bonded, item[0]))[: staking.params.max_validators]
    return sorted(top, key=lambda item: item[0])


def proposer(staking: Staking, blknum: int, seed: bytes, round_: int = 0) -> bytes:
    """The proposer of child block `blknum` in `round_`: drawn with probability proportional
    to stake from keccak(seed, blknum, round) alone, so every replay draws the same one."""
    validators = active_set(staking)
    total = sum(v.bonded for _, v in validators)
    if not total:
        raise Rejected("no_validators", "no bonded, unjailed validator")
    draw = keccak256(seed + blknum.to_bytes(32, "big") + round_.to_bytes(32, "big"))
    ticket = int.from_bytes(draw, "big") % total
    for address, validator in validators:
        if ticket < validator.bonded:
            return address
        ticket -= validator.bonded
    raise AssertionError("unreachable: tickets cover the total stake")


def proposer_seed(state: State, blknum: int) -> bytes:
    """The seed of block `blknum`'s proposer: the root of the child block before it."""
    previous = state.blocks.get(blknum - CHILD_BLOCK_INTERVAL)
    return previous.root if previous is not None else bytes(32)


def staking_of(state: State) -> Staking:
    if state.staking is None:
        raise Rejected("staking_not_open", "no staking_opened event yet")
    return state.staking


def apply_staking_opened(state: State, event: StakingOpened) -> State:
    params_of(state)
    if state.staking is not None:
        raise Rejected("staking_already_open", "staking opens once")
    fractions = (event.double_sign_slash_bps, event.reporter_reward_bps, event.min_signed_bps, event.downtime_slash_bps)
    if not (event.max_validators > 0 and event.epoch_blocks > 0 and event.signed_blocks_window > 0
            and all(f <= BPS for f in fractions)):
        raise Rejected("malformed_event", "counts > 0, fractions in basis points <= 10000")
    params = StakingParams(*attrs.astuple(event))
    return advance(state, staking=Staking(params), effects=Effects(kind=StakingOpened.KIND))


# --- bonding ---------------------------------------------------------------------------

def _register(staking: Staking, address: bytes, event: StakeBonded) -> Validator:
    """The validator's record; the first bond must carry a valid key and proof of possession."""
    known = staking.validators.get(address)
    if known is not None:
        if event.bls_key and event.bls_key != known.bls_key:
            raise Rejected("bls_key_mismatch", "a validator keeps the BLS key it registered")
        return known
    try:
        bls.check_public_key(event.bls_key)
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None
    if not bls.pop_verify(event.bls_key, event.pop):
        raise Rejected("invalid_proof_of_possession", "the BLS key's proof of possession does not verify")
    if any(v.bls_key == event.bls_key for v in staking.validators.values()):
        raise Rejected("bls_key_taken", "another validator registered this BLS key")
    return Validator(event.bls_key)


def apply_stake_bonded(state: State, event: StakeBonded) -> State:
    """The payment is applied as any other; its outputs to the pool leave the UTXO set as stake."""
    staking = staking_of(state)
    tx = decode_tx(event.tx)
    pooled = [i for i, o in enumerate(tx.outputs) if o.owner == STAKING_POOL]
    if not pooled or any(tx.outputs[i].token != staking.params.token for i in pooled):
        raise Rejected("not_a_bond", "a bond pays the staking token to the staking pool")
    paid = apply_payment(state, Payment(event.tx))
    address = paid.effects.signers[0]
    if set(paid.effects.signers) != {address}:
        raise Rejected("not_a_bond", "a bond spends the validator's own outputs only")
    validator = _register(staking, address, event)
    created = paid.effects.created
    stake = [created[i] for i in pooled]
    amount = sum(output.amount for _, output in stake)
    utxos = paid.utxos.mutate()
    for pos, _ in stake:
        del utxos[pos]
    staking = attrs.evolve(
        staking,
        validators=staking.validators.set(address, attrs.evolve(validator, bonded=validator.bonded + amount)),
        bonded_total=staking.bonded_total + amount,
    )
    kept = tuple(item for i, item in enumerate(created) if i not in pooled)
    return attrs.evolve(
        paid,
        utxos=utxos.finish(),
        unspent=add_to(paid.unspent, staking.params.token, -amount),
        staking=staking,
        effects=attrs.evolve(paid.effects, kind=StakeBonded.KIND, created=kept),
    )


def apply_unbonding_started(state: State, event: UnbondingStarted) -> State:
    staking = staking_of(state)
    validator = staking.validators.get(event.validator)
    if validator is None:
        raise Rejected("unknown_validator", f"0x{event.validator.hex()}")
    digest = unbond_digest(state.params.domain_separator, event.validator, event.amount, validator.nonce)
    check_signed(digest, event.signature, event.validator, "unauthorized_unbond")
    return start_unbonding(state, staking, event.validator, validator, event.amount)


def start_unbonding(state: State, staking: Staking, address: bytes, validator: Validator, amount: int) -> State:
    """The accounting of a signed unbonding request: `amount` moves from bonded to an entry
    that matures `unbonding_blocks` child blocks after the open one."""
    if not 0 < amount <= validator.bonded:
        raise Rejected("amount_exceeds_stake", f"bonded {validator.bonded}, asked {amount}")
    entry = Unbonding(address, amount, state.next_child_blknum + staking.params.unbonding_blocks * CHILD_BLOCK_INTERVAL)
    updated = attrs.evolve(validator, bonded=validator.bonded - amount, nonce=validator.nonce + 1)
    staking = attrs.evolve(
        staking,
        validators=staking.validators.set(address, updated),
        unbonding=staking.unbonding.set((address, validator.nonce), entry),
        bonded_total=staking.bonded_total - amount,
        unbonding_total=staking.unbonding_total + amount,
    )
    return advance(state, staking=staking, effects=Effects(kind=UnbondingStarted.KIND))


def mint_output(state: State, owner: bytes, token: bytes, amount: int) -> tuple[dict, tuple[int, Output]]:
    """An input-less transaction in the open block paying `owner`: how stake comes back."""
    output = Output(OUTPUT_TYPE_PAYMENT, owner, token, amount)
    leaf = encode(PaymentTx([], [output], metadata=STAKE_RETURN_METADATA))
    txindex = len(state.open_block_txs)
    if txindex >= merkle.MAX_LEAVES:
        raise Rejected("too_many_transactions_in_block", f"block {state.next_child_blknum} is full")
    pos = encode_utxo_pos(state.next_child_blknum, txindex, 0)
    changes = dict(
        utxos=state.utxos.set(pos, output),
        unspent=add_to(state.unspent, token, amount),
        open_block_txs=state.open_block_txs.append(leaf),
    )
    return changes, (pos, output)


def apply_stake_withdrawn(state: State, event: StakeWithdrawn) -> State:
    staking = staking_of(state)
    key = (event.validator, event.nonce)
    entry = staking.unbonding.get(key)
    if entry is None:
        raise Rejected("unknown_unbonding", f"validator 0x{event.validator.hex()} nonce {event.nonce}")
    if state.next_child_blknum < entry.mature_at:
        raise Rejected("unbonding_not_mature", f"withdrawable from block {entry.mature_at}")
    staking = attrs.evolve(staking, unbonding=staking.unbonding.delete(key), unbonding_total=staking.unbonding_total - entry.amount)
    if not entry.amount:  # slashed to nothing: no output (one of amount 0 is no valid transaction), as x/staking
        return advance(state, staking=staking, effects=Effects(kind=StakeWithdrawn.KIND))
    changes, created = mint_output(state, event.validator, staking.params.token, entry.amount)
    return advance(state, staking=staking, **changes, effects=Effects(kind=StakeWithdrawn.KIND, created=(created,)))


# --- commits and equivocation -------------------------------------------------------------

def apply_block_committed(state: State, event: BlockCommitted) -> State:
    """Finality: the next sealed child block, signed by more than 2/3 of the active stake."""
    staking = staking_of(state)
    expected = staking.last_committed + CHILD_BLOCK_INTERVAL
    block = state.blocks.get(event.blknum)
    if event.blknum != expected or block is None:
        raise Rejected("wrong_block_number", f"next block to commit is {expected}, sealed: {block is not None}")
    validators = active_set(staking)
    if not validators:
        raise Rejected("no_validators", "no bonded, unjailed validator")
    try:
        signers = bls.signers(event.signers, len(validators))
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None
    drawn = proposer(staking, event.blknum, proposer_seed(state, event.blknum), event.round)
    index = {address: i for i, (address, _) in enumerate(validators)}
    if event.proposer != drawn or index[drawn] not in signers:
        raise Rejected("wrong_proposer", f"round {event.round} of block {event.blknum} is proposed (and signed) by 0x{drawn.hex()}")
    signed = sum(validators[i][1].bonded for i in signers)
    total = sum(v.bonded for _, v in validators)
    if 3 * signed <= 2 * total:
        raise Rejected("insufficient_commit_stake", f"{signed} of {total} signed; more than 2/3 is needed")
    message = block_commit_message(state, event.blknum)
    if not bls.fast_aggregate_verify([validators[i][1].bls_key for i in signers], message, event.signature):
        raise Rejected("invalid_commit_signature", "the aggregate does not verify for the named signers")
    staking = attrs.evolve(staking, commits=staking.commits.set(event.blknum, event.signers), last_committed=event.blknum)
    return advance(state, staking=_count_downtime(staking, validators, set(signers), state.next_child_blknum), effects=Effects(kind=BlockCommitted.KIND))


def _count_downtime(staking: Staking, validators: list[tuple[bytes, Validator]], signed: set[int], next_child: int) -> Staking:
    """As x/slashing: over the last `signed_blocks_window` commits a validator was expected
    to sign, signing fewer than `min_signed_bps` of them slashes (burns) `downtime_slash_bps`
    of its stake and jails it; its window starts afresh."""
    params = staking.params
    window = params.signed_blocks_window
    for i, (address, validator) in enumerate(validators):
        missed = ((validator.missed << 1) | (i not in signed)) & ((1 << window) - 1)
        updated = attrs.evolve(validator, missed=missed, expected=validator.expected + 1)
        signed_count = window - bin(missed).count("1")
        if updated.expected >= window and signed_count * BPS < params.min_signed_bps * window:
            cut = _slash(validator.bonded, params.downtime_slash_bps)
            until = next_child + params.jail_blocks * CHILD_BLOCK_INTERVAL
            updated = attrs.evolve(updated, bonded=validator.bonded - cut, jailed=True, jailed_until=until, missed=0, expected=0)
            staking = attrs.evolve(staking, bonded_total=staking.bonded_total - cut, burned=staking.burned + cut)
        staking = attrs.evolve(staking, validators=staking.validators.set(address, updated))
    return staking


def _slash(amount: int, bps: int) -> int:
    return amount * bps // BPS  # rounding down: the validator never loses more than the fraction


def apply_equivocation(state: State, event: Equivocation) -> State:
    """Two valid signatures by one validator on different (root, log head) at one height: slash, jail, reward."""
    staking = staking_of(state)
    validator = staking.validators.get(event.validator)
    if validator is None:
        raise Rejected("unknown_validator", f"0x{event.validator.hex()}")
    if (event.validator, event.blknum) in staking.evidence:
        raise Rejected("evidence_already_seen", f"0x{event.validator.hex()} at block {event.blknum}")
    if validator.tombstoned:
        raise Rejected("tombstoned", "a validator slashed for equivocation is not slashed again")
    signed = ((event.root_a, event.head_a, event.signature_a), (event.root_b, event.head_b, event.signature_b))
    if signed[0][:2] == signed[1][:2] or event.blknum % CHILD_BLOCK_INTERVAL or not event.blknum:
        raise Rejected("not_an_equivocation", "two different (root, log head) pairs for one child block are needed")
    check_evidence_age(state, staking, event.blknum)
    separator = state.params.domain_separator
    for root, head, signature in signed:
        if not bls.verify(validator.bls_key, commit_message(separator, event.blknum, root, head), signature):
            raise Rejected("invalid_evidence_signature", f"no signature of root 0x{root.hex()} by the validator")
    staking, reward = slash_equivocator(staking, event.validator, validator, event.reporter != event.validator)
    staking = attrs.evolve(staking, evidence=staking.evidence.set((event.validator, event.blknum), event.reporter))
    changes, created = mint_output(state, event.reporter, staking.params.token, reward) if reward else ({}, None)
    return advance(state, staking=staking, **changes,
                   effects=Effects(kind=Equivocation.KIND, created=(created,) if created else ()))


def check_evidence_age(state: State, staking: Staking, blknum: int) -> None:
    """Evidence of a height no later than the open block (x/evidence: none from the future)
    and at most `unbonding_blocks` child blocks old (x/evidence's max age: stake unbonded
    since could have left)."""
    if blknum > state.next_child_blknum:
        raise Rejected("evidence_from_future", f"block {blknum} is past the open block {state.next_child_blknum}")
    if state.next_child_blknum - blknum > staking.params.unbonding_blocks * CHILD_BLOCK_INTERVAL:
        raise Rejected("evidence_too_old", f"block {blknum} is more than {staking.params.unbonding_blocks} child blocks old")


def slash_equivocator(staking: Staking, address: bytes, validator: Validator, rewarded: bool) -> tuple[Staking, int]:
    """Cuts the equivocator's bonded and unbonding stake by `double_sign_slash_bps` and
    tombstones it; returns the staking and the reporter's reward (none when `rewarded` is
    false: a self-report), the rest of the cut burned."""
    bps = staking.params.double_sign_slash_bps
    slashed = _slash(validator.bonded, bps)
    unbonding, unbonding_slashed = staking.unbonding, 0
    for key, entry in staking.unbonding.items():
        if entry.validator == address:
            cut = _slash(entry.amount, bps)
            unbonding = unbonding.set(key, attrs.evolve(entry, amount=entry.amount - cut))
            unbonding_slashed += cut
    total = slashed + unbonding_slashed
    reward = _slash(total, staking.params.reporter_reward_bps) if rewarded else 0
    staking = attrs.evolve(
        staking,
        validators=staking.validators.set(address, attrs.evolve(validator, bonded=validator.bonded - slashed, jailed=True, tombstoned=True)),
        unbonding=unbonding,
        bonded_total=staking.bonded_total - slashed,
        unbonding_total=staking.unbonding_total - unbonding_slashed,
        burned=staking.burned + total - reward,
    )
    return staking, reward


def unjail_digest(separator: bytes, validator: bytes, nonce: int) -> bytes:
    return keccak256(b"omg-ledger unjail" + separator + validator + nonce.to_bytes(32, "big"))


def apply_validator_unjailed(state: State, event: ValidatorUnjailed) -> State:
    """Back into the active set after a downtime jail; an equivocator never returns."""
    staking = staking_of(state)
    validator = staking.validators.get(event.validator)
    if validator is None or not validator.jailed:
        raise Rejected("not_jailed", f"0x{event.validator.hex()}")
    if validator.tombstoned:
        raise Rejected("tombstoned", "a validator slashed for equivocation stays jailed")
    if state.next_child_blknum < validator.jailed_until:
        raise Rejected("still_jailed", f"jailed until block {validator.jailed_until}")
    check_signed(unjail_digest(state.params.domain_separator, event.validator, validator.nonce), event.signature,
                  event.validator, "unauthorized_unjail")
    updated = attrs.evolve(validator, jailed=False, nonce=validator.nonce + 1)
    staking = attrs.evolve(staking, validators=staking.validators.set(event.validator, updated))
    return advance(state, staking=staking, effects=Effects(kind=ValidatorUnjailed.KIND))


def check_signed(digest: bytes, signature: bytes, signer: bytes, code: str) -> None:
    """A validator's secp256k1 signature of `digest`, or `Rejected(code)`."""
    try:
        recovered = eip712.recover(digest, signature)
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None
    if recovered != signer:
        raise Rejected(code, "not signed by the validator for its next nonce")


def staked(state: State) -> Map:
    """Per token, the value held as stake (bonded, unbonding) or burned by slashing."""
    if state.staking is None:
        return Map()
    s = state.staking
    return Map([(s.params.token, s.bonded_total + s.unbonding_total + s.burned)])
