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

import functools
from dataclasses import dataclass, field

from proofs.keccak import keccak256

CHILD_INTERVAL = 1000
BLOCK_OFFSET = 1_000_000_000
TX_OFFSET = 10_000
MAX_TXINDEX = 2**16 - 1  # PosLib: a block holds at most 2^16 transactions
MAX_BLKNUM = (2**56 - 1 - MAX_TXINDEX) // (BLOCK_OFFSET // TX_OFFSET)  # PosLib: a position fits 56 bits
PAYMENT_TX_TYPE = 1
MAX_INPUTS = 4
MAX_OUTPUTS = 4
MERKLE_DEPTH = 16
BPS = 10_000
STAKING_POOL = keccak256(b"omg-ledger staking pool")[12:]  # nobody's key: outputs paid to it are stake
MINT_METADATA = keccak256(b"omg-ledger stake returned")  # the metadata of transactions the ledger mints

Out = tuple[bytes, bytes, int]  # (owner, token, amount)
Slot = tuple[bool, int]  # (is_output, index) of an in-flight exit
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


# root-chain facts


@dataclass(frozen=True)
class SubmitBlock:
    blknum: int
    root: bytes


@dataclass(frozen=True)
class SyncRootChain:
    eth_block: int
    eth_hash: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A state checkpoint carrying the hash of the ledger's state after `at` accepted commands
    (`honest`) or another hash. The model cannot hash a state it does not hold; it judges only
    that a true checkpoint, where it was taken, is accepted and changes nothing, and any other
    (a false hash, or a true one replayed later) is refused."""

    honest: bool
    at: int


@dataclass(frozen=True)
class StartExit:
    """A standard exit of output `pos`, whose transaction's outputs are `outputs`
    (None: its bytes do not decode, and `codes` are the errors they may raise)."""

    exit_id: int
    pos: int
    outputs: tuple[Out, ...] | None
    codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ChallengeExit:
    exit_id: int


@dataclass(frozen=True)
class ProcessExit:
    exit_id: int
    paid: bool


@dataclass(frozen=True)
class StartInFlightExit:
    """An in-flight exit of the transaction with unsigned bytes `leaf`. `inputs[i]` is the
    position the transaction spends and `input_outputs[i]` what the event's i-th input
    transaction holds at that output index (None: no such output); `consistent` is False
    when the event's positions or input transactions do not match the transaction's inputs."""

    exit_id: int
    leaf: bytes
    inputs: tuple[int, ...]
    input_outputs: tuple[Out | None, ...]
    outputs: tuple[Out, ...]
    consistent: bool = True


@dataclass(frozen=True)
class Piggyback:
    exit_id: int
    slot: Slot


@dataclass(frozen=True)
class SetCanonical:
    """A competitor shown (canonical False) or the inclusion shown (canonical True)."""

    exit_id: int
    canonical: bool


@dataclass(frozen=True)
class ChallengePiggyback:
    exit_id: int
    slot: Slot


@dataclass(frozen=True)
class WithdrawPiggyback:
    exit_id: int
    slot: Slot


# proof of stake


@dataclass(frozen=True)
class Signed:
    """A secp256k1 signature: made by address `by` over `meaning` (None: random bytes)."""

    by: bytes | None
    meaning: tuple


@dataclass(frozen=True)
class OpenStaking:
    """The staking parameters, named as `STAKING_FIELDS`."""

    values: tuple


STAKING_FIELDS = ("token", "max_validators", "unbonding_blocks", "double_sign_slash_bps", "reporter_reward_bps",
                  "epoch_blocks", "signed_blocks_window", "min_signed_bps", "downtime_slash_bps", "jail_blocks")


@dataclass(frozen=True)
class Bond:
    """A bond: `payment` pays the pool; `bls_key` (raw bytes, `key_ok` when a valid point)
    with a proof of possession made by the secret of `pop_for` (None: random bytes)."""

    payment: PaymentIntent
    bls_key: bytes
    key_ok: bool
    pop_for: bytes | None


@dataclass(frozen=True)
class Unbond:
    validator: bytes
    amount: int
    signature: Signed


@dataclass(frozen=True)
class WithdrawStake:
    validator: bytes
    nonce: int


@dataclass(frozen=True)
class Commit:
    """A commit of `blknum`: `bitmap` as sent, and the aggregate as the (BLS public key,
    meaning) of each signature in it (None: the aggregate is random bytes)."""

    blknum: int
    round: int
    proposer: bytes
    bitmap: bytes
    signatures: tuple[tuple[bytes, tuple], ...] | None


@dataclass(frozen=True)
class Equivocate:
    """Evidence against `validator`; each signature as (BLS public key, meaning) or None."""

    reporter: bytes
    validator: bytes
    blknum: int
    roots: tuple[bytes, bytes]
    signatures: tuple[tuple[bytes, tuple] | None, tuple[bytes, tuple] | None]


@dataclass(frozen=True)
class VoteFees:
    validator: bytes
    schedule: tuple[tuple[int, bytes, int], ...]  # (tx type, token, fee) as sent, in order
    signature: Signed


@dataclass(frozen=True)
class CloseEpoch:
    epoch: int
    schedule: tuple[tuple[int, bytes, int], ...]


@dataclass(frozen=True)
class Unjail:
    validator: bytes
    signature: Signed


Command = (
    DepositIntent | PaymentIntent | GarbagePayment | CollectFee | SealBlock
    | SubmitBlock | SyncRootChain | Checkpoint | StartExit | ChallengeExit | ProcessExit | StartInFlightExit | Piggyback
    | SetCanonical | ChallengePiggyback | WithdrawPiggyback
    | OpenStaking | Bond | Unbond | WithdrawStake | Commit | Equivocate | VoteFees | CloseEpoch | Unjail
)


@dataclass(frozen=True)
class Verdict:
    """accept, or reject with the codes of every broken rule (None: the model cannot say which)."""

    accept: bool
    codes: frozenset[str] | None = frozenset()

    @staticmethod
    def of(codes: set[str]) -> Verdict:
        return Verdict(not codes, frozenset(codes))


# --- naive encodings: a Merkle root, and the transactions the ledger mints ------------


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


def _rlp_header(offset: int, length: int) -> bytes:
    if length <= 55:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def _rlp(item: bytes | list) -> bytes:
    """RLP, written out again from the yellow paper's appendix B."""
    if isinstance(item, list):
        payload = b"".join(_rlp(child) for child in item)
        return _rlp_header(0xC0, len(payload)) + payload
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _rlp_header(0x80, len(item)) + item


def mint_leaf(out: Out) -> bytes:
    """The unsigned bytes of the input-less transaction by which the ledger pays `out`:
    [txType 1, no inputs, [[outputType 1, [owner, token, amount]]], txData 0, metadata]."""
    owner, token, amount = out
    amount_bytes = amount.to_bytes((amount.bit_length() + 7) // 8, "big")
    return _rlp([b"\x01", [], [[b"\x01", [owner, token, amount_bytes]]], b"", MINT_METADATA])


def position(blknum: int, txindex: int, oindex: int) -> int:
    return blknum * BLOCK_OFFSET + txindex * TX_OFFSET + oindex


def totals(outputs: list[Out]) -> dict[bytes, int]:
    """Sum per token, by the most obvious loop."""
    result: dict[bytes, int] = {}
    for _, token, amount in outputs:
        result[token] = result.get(token, 0) + amount
    return result


def add(totals_map: dict[bytes, int], token: bytes, amount: int) -> None:
    totals_map[token] = totals_map.get(token, 0) + amount


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


def lower_weighted_median(votes: list[tuple[int, int]]) -> int:
    """Of (fee, stake) votes: the lowest voted fee such that the stake voting at most it is
    at least half of all the stake voting."""
    total = sum(stake for _, stake in votes)
    for fee in sorted({fee for fee, _ in votes}):
        if 2 * sum(stake for voted, stake in votes if voted <= fee) >= total:
            return fee
    raise AssertionError("no votes")


# --- the model's records ---------------------------------------------------------------


@dataclass
class ExitRecord:
    """A standard exit: the output it names, whether this ledger held it, and its fate."""

    pos: int
    out: Out
    backed: bool
    status: str = "pending"  # pending | challenged | paid | omitted


@dataclass
class InFlightRecord:
    leaf: bytes
    inputs: list[tuple[int, Out]]
    outputs: list[Out]
    canonical: bool = True
    piggybacked: set[Slot] = field(default_factory=set)
    withdrawn: set[Slot] = field(default_factory=set)
    reserve: dict[bytes, int] = field(default_factory=dict)  # inputs' value backing an unincluded tx's outputs
    inputs_consumed: bool = False


@dataclass
class ValidatorRecord:
    bls_key: bytes
    bonded: int = 0
    jailed: bool = False
    jailed_until: int = 0
    tombstoned: bool = False
    nonce: int = 0
    vote: dict[tuple[int, bytes], int] = field(default_factory=dict)
    history: list[bool] = field(default_factory=list)  # signed or not, each commit it was due to sign since its last reset


@dataclass
class Stakes:
    params: dict[str, object]
    validators: dict[bytes, ValidatorRecord] = field(default_factory=dict)
    unbonding: dict[tuple[bytes, int], tuple[int, int]] = field(default_factory=dict)  # (validator, nonce) -> (amount, mature at)
    burned: int = 0
    commits: dict[int, bytes] = field(default_factory=dict)  # blknum -> signer bitmap
    last_committed: int = 0
    evidence: dict[tuple[bytes, int], bytes] = field(default_factory=dict)  # (validator, blknum) -> reporter
    epoch: int = 0
    distributed: dict[bytes, int] = field(default_factory=dict)

    def param(self, name: str) -> int:
        value = self.params[name]
        assert isinstance(value, int)
        return value


# --- the model -----------------------------------------------------------------------


@dataclass
class Model:
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
    stakes: Stakes | None = None
    accepted: int = 0  # commands accepted so far: a checkpoint is true only where it was taken

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

    def in_exit(self) -> dict[bytes, int]:
        """Value exits took off the child chain and the root chain has not paid: exiting
        outputs plus in-flight reserves."""
        result = totals(list(self.exiting.values()))
        for record in self.exits.values():
            if isinstance(record, InFlightRecord):
                for token, amount in record.reserve.items():
                    add(result, token, amount)
        return {token: amount for token, amount in result.items() if amount}

    def tx_bytes(self, pos: int) -> bytes | None:
        """The unsigned bytes of the transaction holding output `pos` (deposit, sealed or open block)."""
        blknum, txindex = pos // BLOCK_OFFSET, pos % BLOCK_OFFSET // TX_OFFSET
        leaves = self.open_txs if blknum == self.open_child() else self.leaves.get(blknum, [])
        return leaves[txindex] if txindex < len(leaves) else None

    def included_at(self, leaf: bytes) -> int | None:
        """Position (output 0) of the sealed child-block transaction with unsigned bytes `leaf`;
        the latest when the same bytes were sealed twice (minted transactions can repeat); else
        its first place in the open block, whose outputs exist already."""
        found = None
        for blknum in sorted(b for b in self.leaves if b % CHILD_INTERVAL == 0):
            for txindex, sealed in enumerate(self.leaves[blknum]):
                if sealed == leaf:
                    found = position(blknum, txindex, 0)
        if found is None and leaf in self.open_txs:
            found = position(self.open_child(), self.open_txs.index(leaf), 0)
        return found

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

    def missed_mask(self, v: ValidatorRecord) -> int:
        """Bit i set: missed the i-th most recent commit of the window."""
        assert self.stakes is not None
        window = v.history[-self.stakes.param("signed_blocks_window"):]
        return sum(1 << age for age, signed in enumerate(reversed(window)) if not signed)

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
            OpenStaking: self._open_staking,
            Bond: self._bond,
            Unbond: self._unbond,
            WithdrawStake: self._withdraw_stake,
            Commit: self._commit,
            Equivocate: self._equivocate,
            VoteFees: self._vote,
            CloseEpoch: self._close_epoch,
            Unjail: self._unjail,
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
            if 0 not in (fee for (tx_type, _), fee in self.fee_schedule.items() if tx_type == PAYMENT_TX_TYPE):
                codes.add("fees_not_covered")  # a zero fee makes payments free
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

    # -- root-chain facts ---------------------------------------------------------------------

    def _submit_block(self, c: SubmitBlock) -> Verdict:
        if c.blknum != self.submitted + CHILD_INTERVAL:
            return Verdict.of({"wrong_block_number"})
        self.submitted = c.blknum
        if self.blocks.get(c.blknum, (None, 0))[0] != c.root:
            self.foreign[c.blknum] = c.root
        return Verdict.of(set())

    def _sync(self, c: SyncRootChain) -> Verdict:
        if c.eth_block <= self.cursor[0]:
            return Verdict.of({"root_facts_replayed"})
        self.cursor = (c.eth_block, c.eth_hash)
        return Verdict.of(set())

    def _take_off(self, pos: int, out: Out) -> None:
        """An exit takes `out` off the child chain if it is unspent here."""
        if self.utxos.get(pos) == out:
            del self.utxos[pos]
            self.exiting[pos] = out

    def _pay_out(self, pos: int | None, out: Out) -> None:
        """The root chain paid `out`: from what an exit took off, else unbacked."""
        if pos is not None and self.exiting.get(pos) == out:
            del self.exiting[pos]
            self.spent.add(pos)
            add(self.exited, out[1], out[2])
        else:
            add(self.unbacked, out[1], out[2])

    def _start_exit(self, c: StartExit) -> Verdict:
        codes = set()
        if c.exit_id in self.exits:
            codes.add("exit_already_started")
        blknum, txindex, oindex = c.pos // BLOCK_OFFSET, c.pos % BLOCK_OFFSET // TX_OFFSET, c.pos % TX_OFFSET
        if txindex > MAX_TXINDEX or blknum > MAX_BLKNUM:
            codes.add("malformed_event")
        if c.outputs is None:
            codes |= c.codes
        elif oindex >= len(c.outputs):
            codes.add("malformed_event")
        if codes:
            return Verdict.of(codes)
        assert c.outputs is not None
        out = c.outputs[oindex]
        held = self.utxos.get(c.pos) == out or self.exiting.get(c.pos) == out
        self.exits[c.exit_id] = ExitRecord(c.pos, out, backed=held)
        self._take_off(c.pos, out)
        return Verdict.of(set())

    def _pending_exit(self, exit_id: int) -> set[str]:
        record = self.exits.get(exit_id)
        if not isinstance(record, ExitRecord):
            return {"exit_not_found"}
        return set() if record.status == "pending" else {"exit_not_pending"}

    def _challenge_exit(self, c: ChallengeExit) -> Verdict:
        codes = self._pending_exit(c.exit_id)
        if not codes:
            self.exits[c.exit_id].status = "challenged"  # type: ignore[union-attr]
        return Verdict.of(codes)

    def _process_exit(self, c: ProcessExit) -> Verdict:
        """Paid or omitted when pending; a challenged exit can only be omitted."""
        record = self.exits.get(c.exit_id)
        challenged = isinstance(record, ExitRecord) and record.status == "challenged"
        codes = set() if challenged and not c.paid else self._pending_exit(c.exit_id)
        if codes:
            return Verdict.of(codes)
        assert isinstance(record, ExitRecord)
        if c.paid:
            self._pay_out(record.pos, record.out)
        record.status = "paid" if c.paid else "omitted"
        return Verdict.of(set())

    def _start_in_flight(self, c: StartInFlightExit) -> Verdict:
        codes = set()
        if c.exit_id in self.exits:
            codes.add("exit_already_started")
        if not c.consistent or None in c.input_outputs:
            codes.add("malformed_event")
        elif len(set(c.inputs)) != len(c.inputs):
            codes.add("duplicate_inputs")  # the exit game refuses a transaction spending one output twice
        if codes:
            return Verdict.of(codes)
        inputs = [(pos, out) for pos, out in zip(c.inputs, c.input_outputs) if out is not None]
        self.exits[c.exit_id] = InFlightRecord(c.leaf, inputs, list(c.outputs))
        for pos, out in inputs:
            self._take_off(pos, out)
        return Verdict.of(set())

    def _in_flight(self, exit_id: int) -> InFlightRecord | None:
        record = self.exits.get(exit_id)
        return record if isinstance(record, InFlightRecord) else None

    @staticmethod
    def _slot_out(record: InFlightRecord, slot: Slot) -> Out | None:
        is_output, index = slot
        items = record.outputs if is_output else [out for _, out in record.inputs]
        return items[index] if index < len(items) else None

    def _piggyback(self, c: Piggyback) -> Verdict:
        record = self._in_flight(c.exit_id)
        if record is None:
            return Verdict.of({"exit_not_found"})
        out = self._slot_out(record, c.slot)
        if out is None:
            return Verdict.of({"malformed_event"})
        if c.slot in record.piggybacked or c.slot in record.withdrawn:
            return Verdict.of({"already_piggybacked"})
        record.piggybacked.add(c.slot)
        included = self.included_at(record.leaf)
        if c.slot[0] and included is not None:
            self._take_off(included + c.slot[1], out)
        return Verdict.of(set())

    def _set_canonical(self, c: SetCanonical) -> Verdict:
        record = self._in_flight(c.exit_id)
        if record is None:
            return Verdict.of({"exit_not_found"})
        record.canonical = c.canonical
        return Verdict.of(set())

    def _challenge_piggyback(self, c: ChallengePiggyback) -> Verdict:
        record = self._in_flight(c.exit_id)
        if record is None:
            return Verdict.of({"exit_not_found"})
        if c.slot not in record.piggybacked:
            return Verdict.of({"not_piggybacked"})
        record.piggybacked.remove(c.slot)
        return Verdict.of(set())

    def _withdraw(self, c: WithdrawPiggyback) -> Verdict:
        """An input, or an output of an included transaction, is paid as a standard exit would
        be; an output of a transaction never included is paid from its inputs' value."""
        record = self._in_flight(c.exit_id)
        if record is None:
            return Verdict.of({"exit_not_found"})
        if c.slot not in record.piggybacked:
            return Verdict.of({"not_piggybacked"})
        out = self._slot_out(record, c.slot)
        assert out is not None
        is_output, index = c.slot
        included = self.included_at(record.leaf)
        if not is_output:
            self._pay_out(record.inputs[index][0], out)
        elif included is not None:
            self._pay_out(included + index, out)
        else:
            self._pay_from_inputs(record, out)
        record.piggybacked.remove(c.slot)
        record.withdrawn.add(c.slot)
        return Verdict.of(set())

    def _pay_from_inputs(self, record: InFlightRecord, out: Out) -> None:
        if not record.inputs_consumed:  # the first output paid finalizes every input exiting here
            for pos, held in record.inputs:
                if self.exiting.get(pos) == held:
                    del self.exiting[pos]
                    self.spent.add(pos)
                    add(record.reserve, held[1], held[2])
            record.inputs_consumed = True
        covered = min(out[2], record.reserve.get(out[1], 0))
        record.reserve[out[1]] = record.reserve.get(out[1], 0) - covered
        add(self.exited, out[1], covered)
        if out[2] > covered:
            add(self.unbacked, out[1], out[2] - covered)

    # -- proof of stake ------------------------------------------------------------------------

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
        if self.stakes is None:
            return Verdict.of({"staking_not_open"})
        v = self.stakes.validators.get(c.validator)
        if v is None:
            return Verdict.of({"unknown_validator"})
        codes = set()
        keys = [(tx_type, token) for tx_type, token, _ in c.schedule]
        if len(set(keys)) != len(keys):
            codes.add("malformed_fee_schedule")
        meaning = ("vote", self.contract, c.validator, c.schedule, v.nonce)
        codes |= self._signature_codes(c.signature, c.validator, meaning, "unauthorized_vote")
        if not codes:
            v.vote = {(tx_type, token): fee for tx_type, token, fee in c.schedule}
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
        expected = self.expected_schedule()
        if c.schedule != expected:
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
