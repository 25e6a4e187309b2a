"""A deliberately naive reference model of the whole ledger, for the property search.

Why it exists: `ledger.plasma`, `ledger.exits`, `ledger.staking` and `ledger.fee_votes`
are written for speed and sharing (persistent maps, running totals, bitmasks, early
exits). This model is written for obviousness instead: plain dicts, sets and lists,
every total recomputed by summing, every rule stated once as a plain comparison, and it
shares no rule code with the ledger. The search (`specs.search`) feeds both the same
commands and demands the same verdicts and the same resulting state.

The rules, as the model states them:
- deposit: numbered one after the last block the root chain may hold (the last deposit
  block, or a child block sealed here or submitted there since, never before the last
  submitted one), at most 999 after a child block; the unsigned form with one output.
- payment: ≤4 inputs, 1..4 outputs, nonzero amounts; inputs distinct, not from a block
  beyond the open one, existing, unspent and not taken off by an exit; exactly one
  signature per input, in order, by that input's owner (all-zero signatures do not
  count); per token outputs ≤ inputs; at most one token with a surplus; under a non-empty
  schedule that surplus must equal the payment fee for its token exactly, except that a
  merge (one owner, fewer outputs than inputs, one token out) must pay none, and no
  surplus pays a schedule that asks 0 of payments in some token. The surplus is the
  block's fee.
- fee collection: for the open child block, exactly what it owes in that token (> 0).
- seal: the open child block (a multiple of 1000), fees all collected, the right
  transaction count and the Merkle root of the unsigned transactions.
- root chain: blocks are submitted in order (a root not sealed here is kept as foreign);
  the follower's cursor only moves forward; an exit takes the outputs it names off the
  child chain if they are unspent here, whatever happens to it later; a payout comes out
  of what exits took off, and anything beyond is unbacked; an in-flight transaction that
  was never included pays its outputs out of its inputs' value, once.
- staking: opens once; a bond is a valid payment by one owner paying the staking token
  to the pool, and a new validator brings a valid BLS key with its proof of possession,
  nobody else's; unbonding, votes and unjailing are signed over the validator's next
  nonce; a commit is the next sealed block, proposed and signed by the validator drawn by
  stake for its round, signed by more than 2/3 of the active stake, the aggregate made of
  exactly the named signers' signatures of that block; missing too many commits in the
  window slashes and jails; equivocation (at a child block no later than the open one,
  at most `unbonding_blocks` old, by a validator not yet tombstoned) slashes bonded and
  unbonding stake, jails for good and rewards the reporter, unless it reports itself; an epoch closes after its last block with the lower
  stake-weighted median of the votes and shares the undistributed fees by stake.

The model judges *intents*: the search tells it what a command means (which positions
it spends, which outputs it creates, whose key made each signature and over what), and
the model decides whether the ledger must accept it. A rejection comes with the set of
every rule the command breaks; the ledger reports only the first rule it checks, so its
code must be one of them (and exactly it when the set has one).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from specs.commands import (
    Bond,
    ChallengeExit,
    ChallengePiggyback,
    Checkpoint,
    ClaimPayout,
    CloseEpoch,
    CollectFee,
    Command,
    Commit,
    DepositIntent,
    Equivocate,
    FailPayout,
    GarbagePayment,
    OrderIntent,
    SettleIntent,
    OpenStaking,
    PaymentIntent,
    Piggyback,
    ProcessExit,
    SealBlock,
    SetCanonical,
    StartExit,
    EndInFlightExit,
    StartInFlightExit,
    SubmitBlock,
    SyncRootChain,
    Unbond,
    Unjail,
    Verdict,
    VoteFees,
    VoteTradingFees,
    WithdrawPiggyback,
    WithdrawStake,
)
from specs.model_dex import DexRules
from specs.model_exits import ExitRules
from specs.model_staking import StakingRules
from specs.naive import (
    ABSENT,
    BLOCK_OFFSET,
    CHILD_INTERVAL,
    PAYMENT_TX_TYPE,
    Out,
    add,
    mint_leaf,
    naive_root,
    position,
    shape_codes,
    totals,
)
from specs.records import ExitRecord, InFlightRecord, Stakes

# --- the model -----------------------------------------------------------------------


@dataclass
class Model(ExitRules, StakingRules, DexRules):
    """The ledger as plain containers; `step` judges a command and applies it if accepted."""

    fee_schedule: dict[tuple[int, bytes], int]  # (tx type, token) -> exact fee; empty: no fee required
    contract: bytes = b""  # what every signature is bound to
    utxos: dict[int, Out] = field(default_factory=dict)
    spent: set[int] = field(default_factory=set)
    blocks: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # blknum -> (root, tx count)
    leaves: dict[int, list[bytes]] = field(default_factory=dict)  # blknum -> its transactions' unsigned bytes
    open_txs: list[bytes] = field(default_factory=list)
    open_fees: dict[bytes, int] = field(default_factory=dict)
    collected: dict[bytes, int] = field(default_factory=dict)
    deposited: dict[bytes, int] = field(default_factory=dict)
    submitted: int = 0  # the last child block the root chain holds
    foreign: dict[int, bytes] = field(default_factory=dict)  # blknum -> a submitted root not sealed here
    cursor: tuple[int, bytes] = (-1, b"")
    exits: dict[int, ExitRecord | InFlightRecord] = field(default_factory=dict)
    exiting: dict[int, Out] = field(default_factory=dict)  # outputs exits took off, not yet paid
    exited: dict[bytes, int] = field(default_factory=dict)
    unbacked: dict[bytes, int] = field(default_factory=dict)
    unclaimed: dict[tuple[bytes, bytes], int] = field(default_factory=dict)  # (receiver, token) -> kept by a vault
    stakes: Stakes | None = None
    accepted: int = 0  # commands accepted so far: a checkpoint is true only where it was taken
    orders: dict = field(default_factory=dict)  # position -> OrderTerms of an order output unspent here
    order_ids: set[bytes] = field(default_factory=set)  # every order id ever placed
    settled: int = 0  # the last child block whose batch was settled

    # -- derived, recomputed every time ----------------------------------------------

    def last_child(self) -> int:
        return max((b for b in self.blocks if b % CHILD_INTERVAL == 0), default=0)

    def open_child(self) -> int:
        return self.last_child() + CHILD_INTERVAL

    def last_deposit(self) -> int:
        return max((b for b in self.blocks if b % CHILD_INTERVAL), default=0)

    def next_deposit(self) -> int:
        last_child = self.last_child()
        return max((b for b in self.blocks if b > last_child), default=last_child) + 1

    def deposit_numbers(self) -> set[int]:
        """Numbers the next deposit may carry. The root chain numbers it one after the last
        block it holds: the last deposit block, or a child block submitted since, or one
        sealed here since (it may be submitted by the time the deposit lands); never a number
        before the last child block the root chain is known to hold."""
        last = self.last_deposit()
        last_base = last - last % CHILD_INTERVAL
        newest_child = max(self.open_child() - CHILD_INTERVAL, self.submitted)
        numbers = {c + 1 for c in range(last_base + CHILD_INTERVAL, newest_child + 1, CHILD_INTERVAL) if c >= self.submitted}
        if last_base >= self.submitted and (last + 1) % CHILD_INTERVAL:
            numbers.add(last + 1)
        return numbers

    def payment_fee(self, token: bytes) -> int | None:
        """The fee a payment pays in `token`, None if the schedule takes no fee in it.
        (A non-empty schedule with no payment entry at all makes every payment unpayable.)"""
        return self.fee_schedule.get((PAYMENT_TX_TYPE, token))

    def unspent(self) -> dict[bytes, int]:
        return totals(list(self.utxos.values()))

    def root(self) -> bytes:
        return naive_root(self.open_txs)

    # -- rules ---------------------------------------------------------------------------

    def step(self, command: Command) -> Verdict:
        """Judge `command`; when it is accepted, apply it."""
        judge = {
            DepositIntent: self._deposit,
            PaymentIntent: self._payment,
            GarbagePayment: lambda c: Verdict(False, c.codes),
            CollectFee: self._collect,
            SealBlock: self._seal,
            SubmitBlock: self._submit_block,
            SyncRootChain: self._sync,
            Checkpoint: lambda c: Verdict.of(set() if c.honest and c.at == self.accepted else {"checkpoint_mismatch"}),
            StartExit: self._start_exit,
            ChallengeExit: self._challenge_exit,
            ProcessExit: self._process_exit,
            StartInFlightExit: self._start_in_flight,
            Piggyback: self._piggyback,
            SetCanonical: self._set_canonical,
            ChallengePiggyback: self._challenge_piggyback,
            WithdrawPiggyback: self._withdraw,
            EndInFlightExit: self._end_in_flight,
            FailPayout: self._fail_payout,
            ClaimPayout: self._claim_payout,
            OpenStaking: self._open_staking,
            Bond: self._bond,
            Unbond: self._unbond,
            WithdrawStake: self._withdraw_stake,
            Commit: self._commit,
            Equivocate: self._equivocate,
            VoteFees: self._vote,
            CloseEpoch: self._close_epoch,
            Unjail: self._unjail,
            VoteTradingFees: self._vote_trading,
            OrderIntent: self._place_order,
            SettleIntent: self._settle,
        }[type(command)]
        verdict = judge(command)
        self.accepted += verdict.accept
        return verdict

    # -- deposits, payments, fees, seals -----------------------------------------------------

    def _deposit(self, c: DepositIntent) -> Verdict:
        codes = shape_codes(c.outputs, 0)
        last = self.last_deposit()
        if (last + 1) % CHILD_INTERVAL == 0 and c.blknum == last + 1:
            codes.add("deposit_blocks_exhausted")
        elif c.blknum not in self.deposit_numbers():
            codes.add("wrong_block_number")
        if len(c.outputs) != 1 or c.signed:
            codes.add("not_a_deposit")
        if not codes:
            self.utxos[position(c.blknum, 0, 0)] = c.outputs[0]
            self.blocks[c.blknum] = (naive_root([c.leaf]), 1)
            self.leaves[c.blknum] = [c.leaf]
            add(self.deposited, c.outputs[0][1], c.outputs[0][2])
        return Verdict.of(codes)

    def _payment(self, c: PaymentIntent) -> Verdict:
        codes, fee = self._payment_codes(c)
        if not codes:
            self._spend(c, fee)
        return Verdict.of(codes)

    def _payment_codes(self, c: PaymentIntent) -> tuple[set[str], dict[bytes, int]]:
        codes = shape_codes(c.outputs, len(c.inputs))
        codes |= self._input_codes(c)
        if not codes:
            codes |= self.custody_codes(c.inputs, c.outputs)
        fee: dict[bytes, int] = {}
        if all(pos in self.utxos for pos in c.inputs):
            fee, fee_codes = self._fee(c)
            codes |= fee_codes
        return codes, fee

    def _input_codes(self, c: PaymentIntent) -> set[str]:
        """Inputs exist, are unspent, distinct, and each carries one valid signature by its owner.
        (No inputs at all is caught by the amounts: outputs then exceed inputs.)"""
        codes = set()
        signers = [s for s in c.signers if s != ABSENT]
        if len(set(c.inputs)) != len(c.inputs):
            codes.add("duplicate_inputs")
        if len(signers) < len(c.inputs):
            codes.add("missing_signature")
        if len(signers) > len(c.inputs):
            codes.add("superfluous_signature")
        if None in signers:
            codes.add("signature_corrupt")  # random bytes may also recover to some stranger
        for pos, signer in zip(c.inputs, signers + [ABSENT] * len(c.inputs)):
            if pos // BLOCK_OFFSET > self.open_child():
                codes.add("input_utxo_ahead_of_state")
            elif pos in self.exiting:
                codes.add("utxo_exiting")
            elif pos in self.spent:
                codes.add("utxo_already_spent")
            elif pos not in self.utxos:
                codes.add("utxo_not_found")
            elif signer != self.utxos[pos][0]:
                codes.add("unauthorized_spend")
        return codes

    def _is_merge(self, c: PaymentIntent) -> bool:
        """One owner folding more inputs into fewer outputs of one token (elixir-omg's merge rule)."""
        owners = {owner for owner, _, _ in c.outputs} | {self.utxos[pos][0] for pos in c.inputs}
        tokens = {token for _, token, _ in c.outputs}
        return 0 < len(c.outputs) < len(c.inputs) and len(tokens) == 1 and len(owners) == 1

    def _fee(self, c: PaymentIntent) -> tuple[dict[bytes, int], set[str]]:
        return self._implicit_fee(c.inputs, list(c.outputs), PAYMENT_TX_TYPE, bool(self.fee_schedule) and self._is_merge(c))

    def _implicit_fee(self, inputs: Sequence[int], outputs: list[Out], tx_type: int,
                      merge: bool = False) -> tuple[dict[bytes, int], set[str]]:
        """Per token outputs ≤ inputs; at most one surplus; the schedule's fee for `tx_type`
        exactly, if any (a zero fee makes the tx type free); a merge pays none."""
        ins, outs = totals([self.utxos[pos] for pos in inputs]), totals(outputs)
        codes = set()
        if any(outs[t] > ins.get(t, 0) for t in outs):
            codes.add("amounts_do_not_add_up")
        surplus = {t: ins[t] - outs.get(t, 0) for t in ins if ins[t] > outs.get(t, 0)}
        if len(surplus) > 1:
            codes.add("multiple_potential_currency_fees")
        if self.fee_schedule and merge:
            if surplus:
                codes.add("overpaying_fees")
        elif self.fee_schedule and not surplus:
            if 0 not in (fee for (kind, _), fee in self.fee_schedule.items() if kind == tx_type):
                codes.add("fees_not_covered")
        elif self.fee_schedule and len(surplus) == 1:
            [(token, paid)] = surplus.items()
            required = self.fee_schedule.get((tx_type, token))
            if required is None or paid < required:
                codes.add("fees_not_covered")
            elif paid > required:
                codes.add("overpaying_fees")
        return surplus, codes

    def _spend(self, c: PaymentIntent, fee: dict[bytes, int]) -> None:
        blknum, txindex = self.open_child(), len(self.open_txs)
        for pos in c.inputs:
            del self.utxos[pos]
            self.spent.add(pos)
            self.orders.pop(pos, None)
        for oindex, out in enumerate(c.outputs):
            self.utxos[position(blknum, txindex, oindex)] = out
        self.open_txs.append(c.leaf)
        for token, amount in fee.items():
            add(self.open_fees, token, amount)

    def _mint(self, out: Out) -> None:
        """An input-less transaction in the open block paying `out` (stake, rewards, fee shares)."""
        self.utxos[position(self.open_child(), len(self.open_txs), 0)] = out
        self.open_txs.append(mint_leaf(out))

    def _collect(self, c: CollectFee) -> Verdict:
        codes = set()
        if c.blknum != self.open_child():
            codes.add("wrong_block_number")
        if c.amount == 0 or self.open_fees.get(c.token, 0) != c.amount:
            codes.add("fee_mismatch")
        if not codes:
            del self.open_fees[c.token]
            add(self.collected, c.token, c.amount)
        return Verdict.of(codes)

    def _seal(self, c: SealBlock) -> Verdict:
        codes = set()
        if c.blknum != self.open_child():
            codes.add("wrong_block_number")
        elif self.settlement_due():
            codes.add("settlement_missing")
        if any(self.open_fees.values()):
            codes.add("fees_not_collected")
        if c.tx_count != len(self.open_txs):
            codes.add("wrong_tx_count")
        if c.root != self.root():
            codes.add("wrong_merkle_root")
        if not codes:
            self.blocks[c.blknum] = (c.root, c.tx_count)
            self.leaves[c.blknum] = self.open_txs
            self.open_txs = []
        return Verdict.of(codes)
