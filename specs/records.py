"""The model's records of exits and stake: plain mutable containers."""
from __future__ import annotations

from dataclasses import dataclass, field

from specs.naive import Out, Slot


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
    ended: bool = False
    restarts: int = 0  # instances under this id that ended before this one


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
    trading_vote: dict[tuple[bytes, bytes], int] = field(default_factory=dict)  # (base, quote) -> bps


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
    trading_fees: dict[tuple[bytes, bytes], int] = field(default_factory=dict)  # (base, quote) -> bps

    def param(self, name: str) -> int:
        value = self.params[name]
        assert isinstance(value, int)
        return value
