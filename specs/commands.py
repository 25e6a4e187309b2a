"""What the search means by an event: the commands the model judges, and its verdicts."""
from __future__ import annotations

from dataclasses import dataclass

from specs.naive import Out, Slot


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


@dataclass(frozen=True)
class EndInFlightExit:
    """The exit game emptied an in-flight exit: `deleted` (never piggybacked, after its first
    phase) or finalized (its last queue entry processed). Its transaction may then exit again."""

    exit_id: int
    deleted: bool


@dataclass(frozen=True)
class FailPayout:
    """A vault kept a payout `receiver` refused."""

    receiver: bytes
    token: bytes
    amount: int


@dataclass(frozen=True)
class ClaimPayout:
    receiver: bytes
    token: bytes
    amount: int


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
    trading_fees: tuple[tuple[bytes, bytes, int], ...] = ()  # (base, quote, bps)


@dataclass(frozen=True)
class VoteTradingFees:
    validator: bytes
    fees: tuple[tuple[bytes, bytes, int], ...]  # (base, quote, bps) as sent, in order
    signature: Signed


@dataclass(frozen=True)
class Unjail:
    validator: bytes
    signature: Signed


# the DEX


@dataclass(frozen=True)
class OrderIntent:
    """An ORDER transaction spending `inputs` into the order output of `terms` (owner, sell
    token, buy token, sell amount, buy amount, expiry, nonce) and the `change` outputs; `signers`
    as a payment's; `order_id` is the hash the order is known by."""

    inputs: tuple[int, ...]
    terms: tuple
    change: tuple[Out, ...]
    signers: tuple[bytes | None, ...]
    leaf: bytes
    order_id: bytes


@dataclass(frozen=True)
class SettleIntent:
    """Settlement bytes sent for child block `blknum`; the model judges them against its own."""

    blknum: int
    raw: bytes


Command = (
    DepositIntent | PaymentIntent | GarbagePayment | CollectFee | SealBlock
    | SubmitBlock | SyncRootChain | Checkpoint | StartExit | ChallengeExit | ProcessExit | StartInFlightExit | Piggyback
    | SetCanonical | ChallengePiggyback | WithdrawPiggyback | EndInFlightExit
    | OpenStaking | Bond | Unbond | WithdrawStake | Commit | Equivocate | VoteFees | CloseEpoch | Unjail
    | VoteTradingFees
    | OrderIntent | SettleIntent
)


@dataclass(frozen=True)
class Verdict:
    """accept, or reject with the codes of every broken rule (None: the model cannot say which)."""

    accept: bool
    codes: frozenset[str] | None = frozenset()

    @staticmethod
    def of(codes: set[str]) -> Verdict:
        return Verdict(not codes, frozenset(codes))
