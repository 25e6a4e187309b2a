"""The search's proof-of-stake steps: staking, bonds, unbonding, withdrawal, unjailing,
commits with offline validators, equivocation evidence, fee votes and epochs."""
from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ledger.events import (
    BlockCommitted,
    Equivocation,
    FeeEpochClosed,
    FeeRule,
    FeeVoted,
    PairFee,
    StakeBonded,
    StakeWithdrawn,
    StakingOpened,
    UnbondingStarted,
    TradingFeeVoted,
    ValidatorUnjailed,
)
from ledger.staking import STAKING_POOL
from proofs import bls
from proofs.keccak import keccak256
from specs.actors import (
    ADDRESSES,
    BLS_SECRETS,
    CONTRACT,
    KEYS,
    MALFORMED_BLS_KEYS,
    OTHER_CONTRACT,
    TOKENS,
    Draft,
    bls_index,
    bls_pop,
    bls_public,
    commit_head,
    commit_signature,
    key_of,
    malleated,
    request_digest,
    sign,
)
from specs.commands import (
    Bond,
    CloseEpoch,
    Commit,
    Equivocate,
    OpenStaking,
    Signed,
    Unbond,
    Unjail,
    VoteFees,
    VoteTradingFees,
    WithdrawStake,
)
from specs.model import Model
from specs.naive import totals
from specs.strategies import (
    BOND_FLAWS,
    COMMIT_FLAWS,
    KEY,
    REQUEST_FLAWS,
    SIGNATURE,
    STAKING_PARAMS,
    TRADING_VOTE,
    VOTE,
    mostly,
)


def registered_validators(model: Model) -> bool:
    return model.stakes is not None and bool(model.stakes.validators)


class StakingSteps:
    """`LedgerMachine`'s proof-of-stake rules (a mixin: `submit` and the state are the machine's)."""

    @rule(data=st.data(), flaw=st.sampled_from(("open", "malformed", "early")))
    def open_staking(self, data: st.DataObject, flaw: str) -> None:
        """Staking opens once, with sane parameters; a staking event before it is refused."""
        if flaw == "early" and self.model.stakes is None:
            validator, signature = ADDRESSES[data.draw(KEY)], data.draw(st.binary(min_size=65, max_size=65))
            self.submit(Unbond(validator, 1, Signed(None, ())), UnbondingStarted(validator, 1, signature))
            return
        values = list(data.draw(STAKING_PARAMS))
        if flaw == "malformed":
            at = data.draw(st.sampled_from([1, 3, 4, 5, 6, 7, 8]))
            values[at] = 0 if at in (1, 5, 6) else 10_001  # no validators, epochs or window; a fraction over 1
        self.submit(OpenStaking(tuple(values)), StakingOpened(*values))

    def _validator(self, data: st.DataObject) -> bytes:
        """Mostly a registered validator, sometimes any address."""
        assert self.model.stakes is not None
        return mostly(data, sorted(self.model.stakes.validators), st.sampled_from(ADDRESSES))

    def _request(self, data: st.DataObject, signer: bytes, meaning: tuple) -> tuple[bytes, Signed]:
        """A validator's signed request over `meaning` (its kind, chain, fields and nonce),
        honest or with a flaw; the signature's bytes and what they mean."""
        flaw, key = data.draw(st.sampled_from(REQUEST_FLAWS)), key_of(signer)
        if flaw == "wrong_key":
            key = (key + data.draw(st.integers(1, len(KEYS) - 1))) % len(KEYS)
        elif flaw == "stale_nonce":
            meaning = (*meaning[:-1], max(meaning[-1] + data.draw(st.sampled_from([-1, 1])), 0))
        elif flaw == "other_chain":
            meaning = (meaning[0], OTHER_CONTRACT, *meaning[2:])
        signature = sign(request_digest(meaning), key)
        if flaw == "garbage":
            return data.draw(st.binary(min_size=65, max_size=65)), Signed(None, meaning)
        if flaw == "malleable":
            return malleated(signature), Signed(None, meaning)
        return signature, Signed(ADDRESSES[key], meaning)

    @precondition(lambda self: self.model.stakes is not None)
    @rule(data=st.data(), k=KEY, flaw=st.sampled_from(BOND_FLAWS))
    def bond(self, data: st.DataObject, k: int, flaw: str) -> None:
        self._bond(data, k, flaw)

    def _bond(self, data: st.DataObject, k: int, flaw: str, every_output: bool = False) -> None:
        """Validator `k` bonds part of its staking token (a new one registers its BLS key with a
        proof of possession), honestly or with a flaw."""
        me, draft = ADDRESSES[k], self._bond_draft(data, k, every_output)
        if draft is None:
            return
        bls_key, pop, pop_for = self._registration(data, me, flaw)
        _, token, amount = draft.outputs[0]
        signature_flaws: list[str] = []
        if flaw == "not_to_pool":
            draft.outputs[0] = (me, token, amount)
        elif flaw == "wrong_token":
            draft.outputs[0] = (STAKING_POOL, next(t for t in TOKENS if t != token), amount)
        elif flaw == "two_owners":
            self._add_strangers_input(data, draft, me)
        elif flaw == "payment":
            signature_flaws.append(data.draw(st.sampled_from(SIGNATURE)))
        raw, intent = self._forged(data, draft, signature_flaws)
        key_ok = bls_key in [bls_public(i) for i in range(len(BLS_SECRETS))]
        self.submit(Bond(intent, bls_key, key_ok, pop_for), StakeBonded(raw, bls_key, pop))

    def _bond_draft(self, data: st.DataObject, k: int, every_output: bool) -> Draft | None:
        """Some (or all, up to four) of `k`'s outputs, at least one in the staking token, paying
        the fee; the pool gets part of the staking token (the first output), `k` the rest."""
        assert self.model.stakes is not None
        me, token = ADDRESSES[k], self.model.stakes.params["token"]
        mine = sorted(pos for pos, out in self.model.utxos.items() if out[0] == me)
        in_token = [pos for pos in mine if self.model.utxos[pos][1] == token]
        if not in_token:
            return None
        inputs = mine[:4] if every_output else data.draw(st.lists(st.sampled_from(mine), min_size=1, max_size=3, unique=True))
        if not set(inputs) & set(in_token):
            inputs.append(data.draw(st.sampled_from(in_token)))
        remainder = self._after_fee(data, totals([self.model.utxos[pos] for pos in inputs]))
        if not remainder.get(token):
            return None
        amount = data.draw(st.integers(1, remainder[token]))
        outputs = [(STAKING_POOL, token, amount)] + [(me, token, remainder[token] - amount)] * (remainder[token] > amount)
        outputs += [(me, t, left) for t, left in sorted(remainder.items()) if t != token]  # type: ignore[misc]
        return Draft(inputs, outputs, [k] * len(inputs))  # type: ignore[arg-type]

    def _registration(self, data: st.DataObject, me: bytes, flaw: str) -> tuple[bytes, bytes, bytes]:
        """(BLS key, proof of possession, the key the proof is for) a bond carries: its own
        (a registered validator may send none), or a flawed one."""
        assert self.model.stakes is not None
        known = self.model.stakes.validators.get(me)
        at = bls_index(known.bls_key) if known else key_of(me)
        bls_key = b"" if known and data.draw(st.booleans()) else bls_public(at)
        other = (at + data.draw(st.integers(1, len(BLS_SECRETS) - 1))) % len(BLS_SECRETS)
        if flaw == "wrong_pop":
            return bls_key, bls_pop(other), bls_public(other)
        if flaw == "malformed_key":
            return data.draw(st.sampled_from(MALFORMED_BLS_KEYS)), bls_pop(at), bls_public(at)
        if flaw in ("other_key", "taken_key"):
            taken = sorted(v.bls_key for a, v in self.model.stakes.validators.items() if a != me)
            if flaw == "taken_key" and taken:
                other = bls_index(data.draw(st.sampled_from(taken)))
            return bls_public(other), bls_pop(other), bls_public(other)
        return bls_key, bls_pop(at), bls_public(at)

    def _add_strangers_input(self, data: st.DataObject, draft: Draft, me: bytes) -> None:
        """Another owner signs one more input and takes it back whole: a valid payment, not a bond."""
        theirs = sorted(pos for pos, out in self.model.utxos.items() if out[0] != me and pos not in draft.inputs)
        if theirs and len(draft.outputs) < 4:
            pos = data.draw(st.sampled_from(theirs))
            draft.inputs.append(pos)
            draft.keys.append(key_of(self.model.utxos[pos][0]))
            draft.outputs.append(self.model.utxos[pos])

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data())
    def unbond(self, data: st.DataObject) -> None:
        assert self.model.stakes is not None
        validator = self._validator(data)
        record = self.model.stakes.validators.get(validator)
        bonded, nonce = (record.bonded, record.nonce) if record else (0, 0)
        amount = mostly(data, [bonded, bonded // 2 + 1] if bonded else [], st.sampled_from([0, 1, bonded + 1]))
        signature, signed = self._request(data, validator, ("unbond", CONTRACT, validator, amount, nonce))
        self.submit(Unbond(validator, amount, signed), UnbondingStarted(validator, amount, signature))

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), wait=st.booleans())
    def withdraw_stake(self, data: st.DataObject, wait: bool) -> None:
        """A withdrawal of an unbonding entry, after blocks are sealed until it matures (`wait`)
        or at once, or of one that does not exist."""
        assert self.model.stakes is not None
        if wait and not self.model.stakes.unbonding:  # someone asks to unbond first
            self.unbond(data)
        made_up = st.tuples(st.sampled_from(ADDRESSES), st.integers(0, 3))
        validator, nonce = mostly(data, sorted(self.model.stakes.unbonding), made_up)  # type: ignore[misc]
        if wait and (validator, nonce) in self.model.stakes.unbonding:
            self._seal_until(self.model.stakes.unbonding[(validator, nonce)][1], data)
        self.submit(WithdrawStake(validator, nonce), StakeWithdrawn(validator, nonce))

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), wait=st.booleans())
    def unjail(self, data: st.DataObject, wait: bool) -> None:
        """A jailed validator (or anyone) asks to return, after its jail time (`wait`) or at once."""
        assert self.model.stakes is not None
        jailed = sorted(a for a, v in self.model.stakes.validators.items() if v.jailed)
        self._unjail(data, mostly(data, jailed, st.sampled_from(ADDRESSES)), wait)  # type: ignore[arg-type]

    def _unjail(self, data: st.DataObject, validator: bytes, wait: bool) -> None:
        assert self.model.stakes is not None
        record = self.model.stakes.validators.get(validator)
        if wait and record is not None:
            self._seal_until(record.jailed_until, data)
        signature, signed = self._request(data, validator, ("unjail", CONTRACT, validator, record.nonce if record else 0))
        self.submit(Unjail(validator, signed), ValidatorUnjailed(validator, signature))

    def _seal_until(self, blknum: int, data: st.DataObject) -> None:
        """Time passes: the operator collects and seals until child block `blknum` is open."""
        while self.model.open_child() < blknum:
            before = self.model.open_child()
            self.close_block("none", data)
            assert self.model.open_child() > before, "an honest seal was refused by both"

    # -- commits, downtime, equivocation ---------------------------------------------------------

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), rejoin=st.booleans())
    def downtime(self, data: st.DataObject, rejoin: bool) -> None:
        """A validator (mostly the smallest active one: the others can still commit) stops
        signing for a window of commits, jailed if it signed too few of them; then perhaps it
        rejoins: signs again, and asks to leave jail once its time is over."""
        assert self.model.stakes is not None
        smallest = sorted((v.bonded, a) for a, v in self.model.active_set())[:1]
        validator: bytes = mostly(data, [a for _, a in smallest], st.sampled_from(ADDRESSES))  # type: ignore[assignment]
        self.offline.add(validator)
        for _ in range(self.model.stakes.param("signed_blocks_window")):
            self.commit(data, "none")
        if rejoin:
            self.offline.discard(validator)
            self._unjail(data, validator, wait=True)

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), flaw=st.sampled_from(COMMIT_FLAWS))
    def commit(self, data: st.DataObject, flaw: str) -> None:
        """The online validators commit the next block (sealed first if it is open), proposed
        in the first round whose drawn proposer signs; or a commit with a flaw."""
        assert self.model.stakes is not None
        blknum = self.model.stakes.last_committed + 1000
        if blknum == self.model.open_child() and flaw != "blknum":
            self.close_block("none", data)
        if flaw == "blknum":
            blknum += data.draw(st.sampled_from([-1000, 1000, 1]))
        active = self.model.active_set()
        if not active:
            self.submit(Commit(blknum, 0, ADDRESSES[0], b"", None), BlockCommitted(blknum, 0, ADDRESSES[0], b"", bytes(96)))
            return
        named, signers, round_, proposer = self._commit_parties(data, flaw, blknum, [a for a, _ in active])
        root = self.model.blocks.get(blknum, (keccak256(b"not sealed"), 0))[0]
        signed_root = keccak256(root) if flaw == "wrong_root" else root
        stranger = len(BLS_SECRETS) - 1
        signed = [commit_signature(self.state, bls_index(active[i][1].bls_key) if i >= 0 else stranger, blknum, signed_root)
                  for i in signers]
        if flaw == "garbage" or not signed:
            signature, meaning = data.draw(st.binary(min_size=96, max_size=96)), None
        else:
            signature, meaning = bls.aggregate([s for s, _ in signed]), tuple(m for _, m in signed)
        bitmap = self._bitmap(data, flaw, named, len(active))
        self.submit(Commit(blknum, round_, proposer, bitmap, meaning), BlockCommitted(blknum, round_, proposer, bitmap, signature))

    def _commit_parties(self, data: st.DataObject, flaw: str, blknum: int, addresses: list[bytes]
                        ) -> tuple[list[int], list[int], int, bytes]:
        """Who the bitmap names (the online validators, by index in the active set), whose
        signatures the aggregate holds (-1: a stranger's), the round (the first whose drawn
        proposer is named) and the proposer; as `flaw` has them."""
        named = [i for i, address in enumerate(addresses) if address not in self.offline]
        if flaw == "short":
            named = sorted(data.draw(st.sets(st.sampled_from(range(len(addresses))), max_size=len(addresses) - 1)))
        round_ = next((r for r in range(16) if self.model.proposer(blknum, r) in [addresses[i] for i in named]), 0)
        proposer, signers = self.model.proposer(blknum, round_), list(named)
        if flaw == "proposer":
            proposer = data.draw(st.sampled_from([*addresses, *ADDRESSES]))
        elif flaw == "later_round":
            round_ += data.draw(st.integers(1, 3))
        elif flaw == "missing_signer" and signers:
            del signers[data.draw(st.integers(0, len(signers) - 1))]
        elif flaw == "extra_signer":
            signers.append(data.draw(st.integers(-1, len(addresses) - 1)))
        return named, signers, round_, proposer

    @staticmethod
    def _bitmap(data: st.DataObject, flaw: str, named: list[int], validators: int) -> bytes:
        bitmap = bls.signer_bitmap(named, validators)
        if flaw == "bitmap_length":
            return data.draw(st.sampled_from([bitmap + b"\x00", bitmap[:-1]]))
        if flaw == "bitmap_bit":  # a signer past the last validator
            bits = int.from_bytes(bitmap, "little") | 1 << data.draw(st.integers(validators, len(bitmap) * 8))
            return bits.to_bytes(len(bitmap) + (bits.bit_length() > len(bitmap) * 8), "little")
        return bitmap

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), flaw=st.sampled_from(("none", "none", "same_roots", "other_key", "garbage", "other_height",
                                                "not_a_height", "future_height")))
    def equivocate(self, data: st.DataObject, flaw: str) -> None:
        """Evidence that a validator signed two roots at one height, or evidence that is not."""
        assert self.model.stakes is not None
        validator = self._validator(data)
        record = self.model.stakes.validators.get(validator)
        at = bls_index(record.bls_key) if record else key_of(validator)
        heights = sorted(b for b in self.model.blocks if b % 1000 == 0) + [self.model.open_child()]
        blknum = data.draw(st.sampled_from(heights))
        root_a = self.model.blocks.get(blknum, (keccak256(b"proposal %d" % blknum), 0))[0]
        root_b, signed_at = root_a if flaw == "same_roots" else keccak256(b"forged" + root_a), blknum
        if flaw == "other_key":
            at = (at + data.draw(st.integers(1, len(BLS_SECRETS) - 1))) % len(BLS_SECRETS)
        elif flaw == "other_height":
            signed_at = blknum + 1000
        elif flaw == "not_a_height":
            blknum = signed_at = blknum + 1
        elif flaw == "future_height":  # a height the chain has not opened yet
            blknum = signed_at = self.model.open_child() + 1000 * data.draw(st.integers(1, 2))
        signed = [commit_signature(self.state, at, signed_at, root) for root in (root_a, root_b)]
        signatures, meanings = [s for s, _ in signed], [m for _, m in signed]
        if flaw == "garbage":
            signatures[1], meanings[1] = data.draw(st.binary(min_size=96, max_size=96)), None
        reporter = ADDRESSES[data.draw(KEY)]
        intent = Equivocate(reporter, validator, blknum, (root_a, root_b), (meanings[0], meanings[1]))
        head = commit_head(self.state, signed_at)  # both signed over one history: only the roots differ
        self.submit(intent, Equivocation(reporter, validator, blknum, root_a, head, signatures[0], root_b, head, signatures[1]))

    # -- staker-voted fees -------------------------------------------------------------------------

    def _signed_vote(self, data: st.DataObject, kind: str, items: tuple) -> tuple[bytes, bytes, Signed]:
        """A voter (a validator, or anyone) and its signature, maybe bad, over its next nonce."""
        assert self.model.stakes is not None
        validator = self._validator(data)
        record = self.model.stakes.validators.get(validator)
        signature, signed = self._request(data, validator, (kind, CONTRACT, validator, items, record.nonce if record else 0))
        return validator, signature, signed

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), schedule=VOTE)
    def vote_fees(self, data: st.DataObject, schedule: list[tuple[int, bytes, int]]) -> None:
        """A validator (or anyone) votes a fee schedule, maybe naming one fee twice."""
        assert self.model.stakes is not None
        validator, signature, signed = self._signed_vote(data, "vote", tuple(schedule))
        rules = tuple(FeeRule(*r) for r in schedule)
        self.submit(VoteFees(validator, tuple(schedule), signed), FeeVoted(validator, rules, signature))

    @precondition(lambda self: registered_validators(self.model))
    @rule(data=st.data(), fees=TRADING_VOTE, ordered=st.integers(0, 4))
    def vote_trading_fees(self, data: st.DataObject, fees: list[tuple[bytes, bytes, int]], ordered: int) -> None:
        """A validator (or anyone) votes trading fees per pair, mostly naming each pair base <
        quote; maybe a pair twice, reversed or of one token, or a fee above 10,000 bps."""
        assert self.model.stakes is not None
        if ordered:
            fees = [(min(a, b), max(a, b), bps) for a, b, bps in fees]
        validator, signature, signed = self._signed_vote(data, "trading_vote", tuple(fees))
        pair_fees = tuple(PairFee(*f) for f in fees)
        self.submit(VoteTradingFees(validator, tuple(fees), signed), TradingFeeVoted(validator, pair_fees, signature))

    @precondition(lambda self: self.model.stakes is not None)
    @rule(data=st.data(), flaw=st.sampled_from(("none", "none", "epoch", "schedule", "trading")), wait=st.booleans())
    def close_epoch(self, data: st.DataObject, flaw: str, wait: bool) -> None:
        """Close the next fee epoch, once its blocks are sealed (`wait`) or at once, with the
        schedule the model expects (or a flawed one)."""
        assert self.model.stakes is not None
        if wait:
            self._seal_until((self.model.stakes.epoch + 1) * self.model.stakes.param("epoch_blocks") * 1000 + 1000, data)
        epoch, schedule = self.model.stakes.epoch + 1, self.model.expected_schedule()
        trading = self.model.expected_trading_fees()
        if flaw == "epoch":
            epoch += data.draw(st.sampled_from([-1, 1]))
        elif flaw == "schedule":
            dearer = tuple((tx_type, token, fee + 1) for tx_type, token, fee in schedule)
            schedule = data.draw(st.sampled_from([schedule[1:], schedule[::-1], dearer]))
        elif flaw == "trading":
            dearer_pairs = tuple((base, quote, bps + 1) for base, quote, bps in trading)
            trading = data.draw(st.sampled_from([trading[1:], trading[::-1], dearer_pairs]))
        rules, pair_fees = tuple(FeeRule(*r) for r in schedule), tuple(PairFee(*f) for f in trading)
        self.submit(CloseEpoch(epoch, schedule, trading), FeeEpochClosed(epoch, rules, pair_fees))
