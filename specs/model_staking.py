"""The model's proof-of-stake rules: staking, bonds, unbonding, commits, downtime,
equivocation, fee votes and epochs, unjailing."""
from __future__ import annotations

from proofs.keccak import keccak256
from specs.commands import (
    STAKING_FIELDS,
    Bond,
    CloseEpoch,
    Commit,
    Equivocate,
    OpenStaking,
    Signed,
    Unbond,
    Unjail,
    Verdict,
    VoteFees,
    VoteTradingFees,
    WithdrawStake,
)
from specs.naive import (
    BPS,
    CHILD_INTERVAL,
    STAKING_POOL,
    add,
    lower_weighted_median,
    position,
)
from specs.records import Stakes, ValidatorRecord


class StakingRules:
    """`Model`'s proof-of-stake rules (a mixin: the state is `Model`'s)."""

    def active_set(self) -> list[tuple[bytes, ValidatorRecord]]:
        """The max_validators largest bonded, unjailed stakes (ties: lower address), by address."""
        assert self.stakes is not None
        eligible = [(v.bonded, address) for address, v in self.stakes.validators.items() if v.bonded and not v.jailed]
        eligible.sort(key=lambda pair: (-pair[0], pair[1]))
        chosen = sorted(address for _, address in eligible[: self.stakes.param("max_validators")])
        return [(address, self.stakes.validators[address]) for address in chosen]

    def proposer(self, blknum: int, round_: int) -> bytes:
        """Ticket keccak(seed, blknum, round) mod total stake, walked through the active set by
        address; the seed is the root of the child block before."""
        active = self.active_set()
        seed = self.blocks.get(blknum - CHILD_INTERVAL, (bytes(32), 0))[0]
        ticket = int.from_bytes(keccak256(seed + blknum.to_bytes(32, "big") + round_.to_bytes(32, "big")), "big")
        ticket %= sum(v.bonded for _, v in active)
        start = 0
        for address, v in active:
            if start <= ticket < start + v.bonded:
                return address
            start += v.bonded
        raise AssertionError("the tickets cover the stake")

    def expected_schedule(self) -> tuple[tuple[int, bytes, int], ...]:
        """What closing the next epoch must set: per key voted by the active set, the lower
        stake-weighted median; the current schedule if nobody active voted."""
        votes: dict[tuple[int, bytes], list[tuple[int, int]]] = {}
        for _, v in self.active_set():
            for key, fee in v.vote.items():
                votes.setdefault(key, []).append((fee, v.bonded))
        chosen = {key: lower_weighted_median(pairs) for key, pairs in votes.items()} if votes else self.fee_schedule
        return tuple((tx_type, token, fee) for (tx_type, token), fee in sorted(chosen.items()))

    def expected_trading_fees(self) -> tuple[tuple[bytes, bytes, int], ...]:
        """The same median per pair over the active set's trading votes; the current fees if
        nobody active voted on any pair."""
        votes: dict[tuple[bytes, bytes], list[tuple[int, int]]] = {}
        for _, v in self.active_set():
            for pair, bps in v.trading_vote.items():
                votes.setdefault(pair, []).append((bps, v.bonded))
        assert self.stakes is not None
        chosen = {pair: lower_weighted_median(pairs) for pair, pairs in votes.items()} if votes else self.stakes.trading_fees
        return tuple((base, quote, bps) for (base, quote), bps in sorted(chosen.items()))

    def missed_mask(self, v: ValidatorRecord) -> int:
        """Bit i set: missed the i-th most recent commit of the window."""
        assert self.stakes is not None
        window = v.history[-self.stakes.param("signed_blocks_window"):]
        return sum(1 << age for age, signed in enumerate(reversed(window)) if not signed)

    def _signature_codes(self, signature: Signed, signer: bytes, meaning: tuple, code: str) -> set[str]:
        if signature.by is None:
            return {"signature_corrupt", code}  # random bytes: no signature, or a stranger's
        return set() if signature.by == signer and signature.meaning == meaning else {code}

    def _open_staking(self, c: OpenStaking) -> Verdict:
        if self.stakes is not None:
            return Verdict.of({"staking_already_open"})
        params = dict(zip(STAKING_FIELDS, c.values))
        counts = [params[name] for name in ("max_validators", "epoch_blocks", "signed_blocks_window")]
        fractions = [params[name] for name in STAKING_FIELDS if name.endswith("_bps")]
        if 0 in counts or any(f > BPS for f in fractions):  # type: ignore[operator]
            return Verdict.of({"malformed_event"})
        self.stakes = Stakes(params)
        return Verdict.of(set())

    def _bond(self, c: Bond) -> Verdict:
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        pay = c.payment
        pooled = [(oindex, out) for oindex, out in enumerate(pay.outputs) if out[0] == STAKING_POOL]
        if not pooled or any(token != self.stakes.params["token"] for _, (_, token, _) in pooled):
            return Verdict.of({"not_a_bond"})
        codes, fee = self._payment_codes(pay)
        if codes:
            return Verdict.of(codes)
        owners = {self.utxos[pos][0] for pos in pay.inputs}
        if len(owners) != 1:
            return Verdict.of({"not_a_bond"})
        address = self.utxos[pay.inputs[0]][0]
        known = self.stakes.validators.get(address)
        if known is not None and c.bls_key and c.bls_key != known.bls_key:
            codes.add("bls_key_mismatch")
        if known is None and not c.key_ok:
            codes.add("malformed_bls_point")
        elif known is None and c.pop_for != c.bls_key:
            codes.add("invalid_proof_of_possession")
        elif known is None and any(v.bls_key == c.bls_key for v in self.stakes.validators.values()):
            codes.add("bls_key_taken")
        if codes:
            return Verdict.of(codes)
        blknum, txindex = self.open_child(), len(self.open_txs)
        self._spend(pay, fee)
        for oindex, _ in pooled:
            del self.utxos[position(blknum, txindex, oindex)]
        record = known or self.stakes.validators.setdefault(address, ValidatorRecord(c.bls_key))
        record.bonded += sum(amount for _, (_, _, amount) in pooled)
        return Verdict.of(set())

    def _unbond(self, c: Unbond) -> Verdict:
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        v = self.stakes.validators.get(c.validator)
        if v is None:
            return Verdict.of({"unknown_validator"})
        meaning = ("unbond", self.contract, c.validator, c.amount, v.nonce)
        codes = self._signature_codes(c.signature, c.validator, meaning, "unauthorized_unbond")
        if not 0 < c.amount <= v.bonded:
            codes.add("amount_exceeds_stake")
        if not codes:
            mature_at = self.open_child() + self.stakes.param("unbonding_blocks") * CHILD_INTERVAL
            self.stakes.unbonding[(c.validator, v.nonce)] = (c.amount, mature_at)
            v.bonded -= c.amount
            v.nonce += 1
        return Verdict.of(codes)

    def _withdraw_stake(self, c: WithdrawStake) -> Verdict:
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        entry = self.stakes.unbonding.get((c.validator, c.nonce))
        if entry is None:
            return Verdict.of({"unknown_unbonding"})
        amount, mature_at = entry
        if self.open_child() < mature_at:
            return Verdict.of({"unbonding_not_mature"})
        del self.stakes.unbonding[(c.validator, c.nonce)]
        if amount:  # what slashing left; an output of nothing is no output (no decoder takes one)
            self._mint((c.validator, self.stakes.params["token"], amount))  # type: ignore[arg-type]
        return Verdict.of(set())

    def _commit(self, c: Commit) -> Verdict:
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        codes = set()
        if c.blknum != self.stakes.last_committed + CHILD_INTERVAL or c.blknum not in self.blocks:
            codes.add("wrong_block_number")
        active = self.active_set()
        if not active:
            return Verdict.of(codes | {"no_validators"})
        bits = int.from_bytes(c.bitmap, "little")
        if len(c.bitmap) != (len(active) + 7) // 8 or bits >= 1 << len(active):
            return Verdict.of(codes | {"malformed_signer_bitmap"})
        named = [i for i in range(len(active)) if bits & (1 << i)]
        drawn = self.proposer(c.blknum, c.round)
        if c.proposer != drawn or drawn not in [active[i][0] for i in named]:
            codes.add("wrong_proposer")
        signed_stake = sum(active[i][1].bonded for i in named)
        if 3 * signed_stake <= 2 * sum(v.bonded for _, v in active):
            codes.add("insufficient_commit_stake")
        meaning = ("commit", self.contract, c.blknum, self.blocks.get(c.blknum, (None, 0))[0])
        keys = sorted(active[i][1].bls_key for i in named)
        if c.signatures is None or sorted(key for key, _ in c.signatures) != keys or any(
            m != meaning for _, m in c.signatures
        ):
            codes.add("invalid_commit_signature")
        if not codes:
            self.stakes.commits[c.blknum] = c.bitmap
            self.stakes.last_committed = c.blknum
            for i, (_, v) in enumerate(active):
                v.history.append(i in named)
                self._judge_downtime(v)
        return Verdict.of(codes)

    def _judge_downtime(self, v: ValidatorRecord) -> None:
        """Signing fewer than min_signed_bps of the last window commits it was due to sign
        burns downtime_slash_bps of the stake and jails; the record starts afresh."""
        assert self.stakes is not None
        window = self.stakes.param("signed_blocks_window")
        signed = sum(1 for s in v.history[-window:] if s)
        if len(v.history) >= window and signed * BPS < self.stakes.param("min_signed_bps") * window:
            cut = v.bonded * self.stakes.param("downtime_slash_bps") // BPS
            v.bonded -= cut
            self.stakes.burned += cut
            v.jailed = True
            v.jailed_until = self.open_child() + self.stakes.param("jail_blocks") * CHILD_INTERVAL
            v.history = []

    def _equivocate(self, c: Equivocate) -> Verdict:
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        v = self.stakes.validators.get(c.validator)
        if v is None:
            return Verdict.of({"unknown_validator"})
        codes = set()
        if (c.validator, c.blknum) in self.stakes.evidence:
            codes.add("evidence_already_seen")
        if v.tombstoned:
            codes.add("tombstoned")  # slashed once, for good
        if c.roots[0] == c.roots[1] or c.blknum % CHILD_INTERVAL or c.blknum == 0:
            codes.add("not_an_equivocation")
        if c.blknum > self.open_child():
            codes.add("evidence_from_future")
        elif (self.open_child() - c.blknum) // CHILD_INTERVAL > self.stakes.param("unbonding_blocks"):
            codes.add("evidence_too_old")
        for root, signature in zip(c.roots, c.signatures):
            if signature != (v.bls_key, ("commit", self.contract, c.blknum, root)):
                codes.add("invalid_evidence_signature")
        if not codes:
            self._slash_equivocator(c.validator, v, c.reporter)
            self.stakes.evidence[(c.validator, c.blknum)] = c.reporter
        return Verdict.of(codes)

    def _slash_equivocator(self, address: bytes, v: ValidatorRecord, reporter: bytes) -> None:
        assert self.stakes is not None
        bps = self.stakes.param("double_sign_slash_bps")
        cut = v.bonded * bps // BPS
        v.bonded -= cut
        for key, (amount, mature_at) in sorted(self.stakes.unbonding.items()):
            if key[0] == address:
                self.stakes.unbonding[key] = (amount - amount * bps // BPS, mature_at)
                cut += amount * bps // BPS
        reward = 0 if reporter == address else cut * self.stakes.param("reporter_reward_bps") // BPS  # no self-reward
        self.stakes.burned += cut - reward
        v.jailed = v.tombstoned = True
        if reward:
            self._mint((reporter, self.stakes.params["token"], reward))  # type: ignore[arg-type]

    def _vote(self, c: VoteFees) -> Verdict:
        keys = [(tx_type, token) for tx_type, token, _ in c.schedule]
        codes = {"malformed_fee_schedule"} if len(set(keys)) != len(keys) else set()
        return self._record_vote(c, "vote", c.schedule, codes,
                                 vote={(tx_type, token): fee for tx_type, token, fee in c.schedule})

    def _vote_trading(self, c: VoteTradingFees) -> Verdict:
        """A trading fee vote: pairs named base < quote, once each, at most 10,000 bps (the whole
        bought amount), signed over the validator's next nonce."""
        codes = set()
        pairs = [(base, quote) for base, quote, _ in c.fees]
        if len(set(pairs)) != len(pairs) or any(base >= quote for base, quote in pairs):
            codes.add("malformed_fee_schedule")
        if any(bps > BPS for _, _, bps in c.fees):
            codes.add("trading_fee_too_high")
        return self._record_vote(c, "trading_vote", c.fees, codes,
                                 trading_vote={(base, quote): bps for base, quote, bps in c.fees})

    def _record_vote(self, c: VoteFees | VoteTradingFees, kind: str, items: tuple, codes: set[str],
                     **vote: dict) -> Verdict:
        """A vote signed over the validator's next nonce replaces its last one when nothing objects."""
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        v = self.stakes.validators.get(c.validator)
        if v is None:
            return Verdict.of({"unknown_validator"})
        meaning = (kind, self.contract, c.validator, items, v.nonce)
        codes = codes | self._signature_codes(c.signature, c.validator, meaning, "unauthorized_vote")
        if not codes:
            for field, value in vote.items():
                setattr(v, field, value)
            v.nonce += 1
        return Verdict.of(codes)

    def _close_epoch(self, c: CloseEpoch) -> Verdict:
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        codes = set()
        if c.epoch != self.stakes.epoch + 1:
            codes.add("wrong_epoch")
        if self.open_child() <= c.epoch * self.stakes.param("epoch_blocks") * CHILD_INTERVAL:
            codes.add("epoch_not_over")
        expected, trading = self.expected_schedule(), self.expected_trading_fees()
        if c.schedule != expected or c.trading_fees != trading:
            codes.add("wrong_fee_schedule")
        if codes:
            return Verdict.of(codes)
        active = self.active_set()
        stake = sum(v.bonded for _, v in active)
        for token in sorted(self.collected):
            pool = self.collected[token] - self.stakes.distributed.get(token, 0)
            for address, v in active:
                share = pool * v.bonded // stake if stake else 0
                if share:
                    self._mint((address, token, share))
                    add(self.stakes.distributed, token, share)
        self.fee_schedule = {(tx_type, token): fee for tx_type, token, fee in expected}
        self.stakes.trading_fees = {(base, quote): bps for base, quote, bps in trading}
        self.stakes.epoch = c.epoch
        return Verdict.of(set())

    def _unjail(self, c: Unjail) -> Verdict:
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        v = self.stakes.validators.get(c.validator)
        if v is None or not v.jailed:
            return Verdict.of({"not_jailed"})
        codes = set()
        if v.tombstoned:
            codes.add("tombstoned")
        if self.open_child() < v.jailed_until:
            codes.add("still_jailed")
        meaning = ("unjail", self.contract, c.validator, v.nonce)
        codes |= self._signature_codes(c.signature, c.validator, meaning, "unauthorized_unjail")
        if not codes:
            v.jailed = False
            v.nonce += 1
        return Verdict.of(codes)
