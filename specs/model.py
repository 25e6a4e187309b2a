"""A deliberately naive reference model of the payment ledger, for the property search.

Why it exists: `ledger.plasma` is written for speed and sharing (persistent maps,
running totals, early exits). This model is written for obviousness instead: plain
dicts, sets and lists, every total recomputed by summing, every rule stated once as
a plain comparison, and it shares no rule code with the ledger. The search
(`specs.search`) feeds both the same commands and demands the same verdicts and
the same resulting state.

The rules, as the model states them:
- deposit: numbered exactly the next deposit block (one more than the last block after
  the last child block), at most 999 after a child block; the unsigned form with one output.
- payment: ≤4 inputs, 1..4 outputs, nonzero amounts; inputs distinct, not from a block
  beyond the open one, existing and unspent; exactly one signature per input, in order,
  by that input's owner (all-zero signatures do not count); per token outputs ≤ inputs;
  at most one token with a surplus; under a non-empty schedule that surplus must equal
  the payment fee for its token exactly, except that a merge (one owner, fewer outputs
  than inputs, one token out) must pay none. The surplus is the block's fee.
- fee collection: for the open child block, exactly what it owes in that token (> 0).
- seal: the open child block (a multiple of 1000), fees all collected, the right
  transaction count and the Merkle root of the unsigned transactions.

The model judges *intents*: the search tells it what a command means (which
positions it spends, which outputs it creates, whose key made each signature),
and the model decides whether the ledger must accept it. A rejection comes with
the set of every rule the command breaks; the ledger reports only the first rule
it checks, so its code must be one of them (and exactly it when the set has one).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from proofs.keccak import keccak256

CHILD_INTERVAL = 1000
BLOCK_OFFSET = 1_000_000_000
PAYMENT_TX_TYPE = 1
MAX_INPUTS = 4
MAX_OUTPUTS = 4
MERKLE_DEPTH = 16

Out = tuple[bytes, bytes, int]  # (owner, token, amount)
ABSENT = b""  # the signer of an all-zero signature: nobody, and it does not count


# --- commands (what the search means by an event) ------------------------------------


@dataclass(frozen=True)
class DepositIntent:
    """A deposit transaction with `outputs` (a valid one has exactly one) in block `blknum`;
    `signed` when its bytes are the signed form (a deposit is the unsigned form)."""

    blknum: int
    outputs: tuple[Out, ...]
    leaf: bytes  # the unsigned encoding: a deposit block's one Merkle leaf
    signed: bool = False


@dataclass(frozen=True)
class PaymentIntent:
    """A payment spending `inputs` into `outputs`.

    `signers[i]` is the address whose key made a valid signature of this very
    transaction in slot i, ABSENT for an all-zero signature (which counts as no
    signature, as in elixir-omg), or None when slot i holds anything else (random
    bytes, a signature of another transaction). `leaf` is the unsigned encoding, the
    transaction's Merkle leaf.
    """

    inputs: tuple[int, ...]
    outputs: tuple[Out, ...]
    signers: tuple[bytes | None, ...]
    leaf: bytes


@dataclass(frozen=True)
class GarbagePayment:
    """Bytes that are not a well-formed payment; `codes` lists the decode errors they may raise (None: any)."""

    raw: bytes
    codes: frozenset[str] | None


@dataclass(frozen=True)
class CollectFee:
    blknum: int
    token: bytes
    amount: int


@dataclass(frozen=True)
class SealBlock:
    blknum: int
    root: bytes
    tx_count: int


Command = DepositIntent | PaymentIntent | GarbagePayment | CollectFee | SealBlock


@dataclass(frozen=True)
class Verdict:
    """accept, or reject with the codes of every broken rule (None: the model cannot say which)."""

    accept: bool
    codes: frozenset[str] | None = frozenset()

    @staticmethod
    def of(codes: set[str]) -> Verdict:
        return Verdict(not codes, frozenset(codes))


# --- a naive Merkle root -------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def empty_subtree(height: int) -> bytes:
    """Root of a subtree of `height` whose leaves are all empty (32 zero bytes)."""
    if height == 0:
        return keccak256(b"\x00" + bytes(32))
    child = empty_subtree(height - 1)
    return keccak256(b"\x01" + child + child)


def naive_root(leaves: list[bytes], height: int = MERKLE_DEPTH) -> bytes:
    """Top-down recursion over halves: a different algorithm from proofs.merkle's bottom-up levels."""
    if not leaves:
        return empty_subtree(height)
    if height == 0:
        assert len(leaves) == 1
        return keccak256(b"\x00" + leaves[0])
    half = 2 ** (height - 1)
    return keccak256(b"\x01" + naive_root(leaves[:half], height - 1) + naive_root(leaves[half:], height - 1))


# --- the model -----------------------------------------------------------------------


def position(blknum: int, txindex: int, oindex: int) -> int:
    return blknum * BLOCK_OFFSET + txindex * 10_000 + oindex


def totals(outputs: list[Out]) -> dict[bytes, int]:
    """Sum per token, by the most obvious loop."""
    result: dict[bytes, int] = {}
    for _, token, amount in outputs:
        result[token] = result.get(token, 0) + amount
    return result


def shape_codes(outputs: tuple[Out, ...], input_count: int) -> set[str]:
    """Encoding rules any transaction obeys: ≤4 inputs, 1..4 outputs, nonzero amounts and owners."""
    codes = set()
    if input_count > MAX_INPUTS:
        codes.add("too_many_inputs")
    if not outputs:
        codes.add("empty_outputs")
    if len(outputs) > MAX_OUTPUTS:
        codes.add("too_many_outputs")
    if any(amount == 0 for _, _, amount in outputs):
        codes.add("amount_cant_be_zero")
    if any(owner == bytes(20) for owner, _, _ in outputs):
        codes.add("output_guard_cant_be_zero")
    return codes


@dataclass
class Model:
    """The ledger as plain containers; `step` judges a command and applies it if accepted."""

    fee_schedule: dict[tuple[int, bytes], int]  # (tx type, token) -> exact fee; empty: no fee required
    utxos: dict[int, Out] = field(default_factory=dict)
    spent: set[int] = field(default_factory=set)
    blocks: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # blknum -> (root, tx count)
    open_txs: list[bytes] = field(default_factory=list)
    open_fees: dict[bytes, int] = field(default_factory=dict)
    collected: dict[bytes, int] = field(default_factory=dict)
    deposited: dict[bytes, int] = field(default_factory=dict)

    # -- derived, recomputed every time ----------------------------------------------

    def last_child(self) -> int:
        return max((b for b in self.blocks if b % CHILD_INTERVAL == 0), default=0)

    def open_child(self) -> int:
        return self.last_child() + CHILD_INTERVAL

    def next_deposit(self) -> int:
        last_child = self.last_child()
        return max((b for b in self.blocks if b > last_child), default=last_child) + 1

    def deposit_numbers(self) -> set[int]:
        """Numbers the root chain may give the next deposit: the one after the last deposit
        block, or the first after any child block sealed since (the root chain numbers after
        the last block it holds, and a block sealed here may not be submitted yet)."""
        last = max((b for b in self.blocks if b % CHILD_INTERVAL), default=0)
        after_seal = {c + 1 for c in range(last - last % CHILD_INTERVAL + CHILD_INTERVAL, self.open_child(), CHILD_INTERVAL)}
        return after_seal | ({last + 1} if (last + 1) % CHILD_INTERVAL else set())

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
        }[type(command)]
        return judge(command)

    def _deposit(self, c: DepositIntent) -> Verdict:
        codes = shape_codes(c.outputs, 0)
        last = max((b for b in self.blocks if b % CHILD_INTERVAL), default=0)
        if (last + 1) % CHILD_INTERVAL == 0 and c.blknum == last + 1:
            codes.add("deposit_blocks_exhausted")
        elif c.blknum not in self.deposit_numbers():
            codes.add("wrong_block_number")
        if len(c.outputs) != 1 or c.signed:
            codes.add("not_a_deposit")
        if not codes:
            owner, token, amount = c.outputs[0]
            self.utxos[position(c.blknum, 0, 0)] = c.outputs[0]
            self.blocks[c.blknum] = (naive_root([c.leaf]), 1)
            self.deposited[token] = self.deposited.get(token, 0) + amount
        return Verdict.of(codes)

    def _payment(self, c: PaymentIntent) -> Verdict:
        codes = shape_codes(c.outputs, len(c.inputs))
        codes |= self._input_codes(c)
        fee: dict[bytes, int] = {}
        if all(pos in self.utxos for pos in c.inputs):
            fee, fee_codes = self._fee(c)
            codes |= fee_codes
        if not codes:
            self._spend(c, fee)
        return Verdict.of(codes)

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
        """Per token outputs ≤ inputs; at most one surplus; the schedule's fee exactly, if any;
        a merge pays none."""
        ins = totals([self.utxos[pos] for pos in c.inputs])
        outs = totals(list(c.outputs))
        codes = set()
        if any(outs[t] > ins.get(t, 0) for t in outs):
            codes.add("amounts_do_not_add_up")
        surplus = {t: ins[t] - outs.get(t, 0) for t in ins if ins[t] > outs.get(t, 0)}
        if len(surplus) > 1:
            codes.add("multiple_potential_currency_fees")
        if self.fee_schedule and self._is_merge(c):
            if surplus:
                codes.add("overpaying_fees")
        elif self.fee_schedule and not surplus:
            codes.add("fees_not_covered")
        elif self.fee_schedule and len(surplus) == 1:
            [(token, paid)] = surplus.items()
            required = self.payment_fee(token)
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
        for oindex, out in enumerate(c.outputs):
            self.utxos[position(blknum, txindex, oindex)] = out
        self.open_txs.append(c.leaf)
        for token, amount in fee.items():
            self.open_fees[token] = self.open_fees.get(token, 0) + amount

    def _collect(self, c: CollectFee) -> Verdict:
        codes = set()
        if c.blknum != self.open_child():
            codes.add("wrong_block_number")
        if c.amount == 0 or self.open_fees.get(c.token, 0) != c.amount:
            codes.add("fee_mismatch")
        if not codes:
            del self.open_fees[c.token]
            self.collected[c.token] = self.collected.get(c.token, 0) + c.amount
        return Verdict.of(codes)

    def _seal(self, c: SealBlock) -> Verdict:
        codes = set()
        if c.blknum != self.open_child():
            codes.add("wrong_block_number")
        if any(self.open_fees.values()):
            codes.add("fees_not_collected")
        if c.tx_count != len(self.open_txs):
            codes.add("wrong_tx_count")
        if c.root != self.root():
            codes.add("wrong_merkle_root")
        if not codes:
            self.blocks[c.blknum] = (c.root, c.tx_count)
            self.open_txs = []
        return Verdict.of(codes)
