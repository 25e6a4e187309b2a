"""The hash chain over the log: what every stored record and every state commits to.

record i = (prev_hash, hash, event bytes) with hash = keccak(prev_hash || i || event bytes).
`apply` carries the head of this chain in the state (`State.log_head`), so a validator
commit that signs the head at a block vouches for the whole history up to it, and a
replayed state says which log it came from. Pure: no database here (see `ledger.store`).
"""
from __future__ import annotations

from proofs.keccak import keccak256

GENESIS_HASH = bytes(32)  # the "previous hash" of record 0


def record_hash(prev_hash: bytes, index: int, payload: bytes) -> bytes:
    return keccak256(prev_hash + index.to_bytes(8, "big") + payload)
