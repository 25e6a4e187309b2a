"""A deliberately naive reference model of the payment ledger, for the property search.

Why it exists: `ledger.plasma` is written for speed and sharing (persistent maps,
running totals, early exits). This model is written for obviousness instead: plain
dicts, sets and lists, every total recomputed by summing, every rule stated once as
a plain comparison, and it shares no rule code with the ledger. The search
(`specs.search`) feeds both the same commands and demands the same verdicts and
the same resulting state.

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
MAX_INPUTS = 4
MAX_OUTPUTS = 4
MERKLE_DEPTH = 16

Out = tuple[bytes, bytes, int]  # (owner, token, amount)


# --- commands (what the search means by an event) ------------------------------------


@dataclass(frozen=True)
class DepositIntent:
    """A deposit transaction with `outputs` (a valid one has exactly one) in block `blknum`."""

    blknum: int
    outputs: tuple[Out, ...]


@dataclass(frozen=True)
class PaymentIntent:
    """A payment spending `inputs` into `outputs`.

    `signers[i]` is the address whose key made a valid signature of this very
    transaction in slot i, or None when slot i holds anything else (random bytes,
    a signature of another transaction). `raw` is the signed bytes submitted.
    """

    inputs: tuple[int, ...]
    outputs: tuple[Out, ...]
    signers: tuple[bytes | None, ...]
    raw: bytes


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
    return blknum * 1_000_000_000 + txindex * 10_000 + oindex


def totals(outputs: list[Out]) -> dict[bytes, int]:
    """Sum per token, by the most obvious loop."""
    result: dict[bytes, int] = {}
    for _, token, amount in outputs:
        result[token] = result.get(token, 0) + amount
    return result


def shape_codes(outputs: tuple[Out, ...], input_count: int) -> set[str]:
    """Encoding rules any transaction obeys: ≤4 inputs, 1..4 outputs, nonzero amounts."""
    codes = set()
    if input_count > MAX_INPUTS:
        codes.add("too_many_inputs")
    if not outputs:
        codes.add("empty_outputs")
    if len(outputs) > MAX_OUTPUTS:
        codes.add("too_many_outputs")
    if any(amount == 0 for _, _, amount in outputs):
        codes.add("amount_cant_be_zero")
    return codes


@dataclass
class Model:
    fee_schedule: dict[bytes, int]  # token -> exact fee of a payment; empty: no fee required
    utxos: dict[int, Out] = field(default_factory=dict)
    spent: set[int] = field(default_factory=set)
    blocks: list[int] = field(default_factory=list)  # every block number, in order
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
        return max((b for b in self.blocks if b > self.last_child()), default=self.last_child()) + 1

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
        if c.blknum != self.next_deposit():
            codes.add("wrong_block_number")
        if self.next_deposit() % CHILD_INTERVAL == 0:
            codes.add("deposit_blocks_exhausted")
        if len(c.outputs) != 1:
            codes.add("not_a_deposit")
        if not codes:
            owner, token, amount = c.outputs[0]
            self.utxos[position(c.blknum, 0, 0)] = c.outputs[0]
            self.blocks.append(c.blknum)
            self.deposited[token] = self.deposited.get(token, 0) + amount
        return Verdict.of(codes)

    def _payment(self, c: PaymentIntent) -> Verdict:
        codes = shape_codes(c.outputs, len(c.inputs))
        codes |= self._input_codes(c)
        fee: dict[bytes, int] = {}
        if all(pos in self.utxos for pos in c.inputs) and c.inputs:
            fee, fee_codes = self._fee(c)
            codes |= fee_codes
        if not codes:
            self._spend(c, fee)
        return Verdict.of(codes)

    def _input_codes(self, c: PaymentIntent) -> set[str]:
        """Inputs exist, are unspent, distinct, and each carries one valid signature by its owner."""
        codes = set()
        if not c.inputs:
            codes.add("no_inputs")
        if len(set(c.inputs)) != len(c.inputs):
            codes.add("duplicate_inputs")
        if len(c.signers) < len(c.inputs):
            codes.add("missing_signature")
        if len(c.signers) > len(c.inputs):
            codes.add("superfluous_signature")
        for i, pos in enumerate(c.inputs):
            if pos in self.spent:
                codes.add("utxo_already_spent")
            elif pos not in self.utxos:
                codes.add("utxo_not_found")
            if i >= len(c.signers):
                continue
            if c.signers[i] is None:
                codes.add("signature_corrupt")  # it may also recover to some stranger
            if pos in self.utxos and c.signers[i] != self.utxos[pos][0]:
                codes.add("unauthorized_spend")
        if any(s is None for s in c.signers[len(c.inputs):]):
            codes.add("signature_corrupt")
        return codes

    def _fee(self, c: PaymentIntent) -> tuple[dict[bytes, int], set[str]]:
        """Per token outputs ≤ inputs; at most one surplus; the schedule's fee exactly, if any."""
        ins = totals([self.utxos[pos] for pos in c.inputs])
        outs = totals(list(c.outputs))
        codes = set()
        if any(outs[t] > ins.get(t, 0) for t in outs):
            codes.add("amounts_do_not_add_up")
        surplus = {t: ins[t] - outs.get(t, 0) for t in ins if ins[t] > outs.get(t, 0)}
        if len(surplus) > 1:
            codes.add("multiple_potential_currency_fees")
        if self.fee_schedule and not surplus:
            codes.add("fees_not_covered")
        if self.fee_schedule and len(surplus) == 1:
            [(token, paid)] = surplus.items()
            if token not in self.fee_schedule:
                codes.add("fee_currency_not_accepted")
            elif paid < self.fee_schedule[token]:
                codes.add("fees_not_covered")
            elif paid > self.fee_schedule[token]:
                codes.add("overpaying_fees")
        return surplus, codes

    def _spend(self, c: PaymentIntent, fee: dict[bytes, int]) -> None:
        blknum, txindex = self.open_child(), len(self.open_txs)
        for pos in c.inputs:
            del self.utxos[pos]
            self.spent.add(pos)
        for oindex, out in enumerate(c.outputs):
            self.utxos[position(blknum, txindex, oindex)] = out
        self.open_txs.append(c.raw)
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
            self.blocks.append(c.blknum)
            self.open_txs = []
        return Verdict.of(codes)
