"""Who signed a payment: its witnesses, recovered from its signatures.

Recovery is a pure function of (signed tx bytes, domain separator) and costs more
than everything else `apply` does, so it may be done ahead of time on other cores:
`Prefetcher` runs the same `recover_witnesses` in worker processes and leaves the
results in a memo that `witnesses` consumes. A miss simply computes in place, so
an `apply` reaches the same verdict with or without prefetching; only the time
differs. As in elixir-omg, an all-zero signature counts as absent.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from proofs import eip712
from proofs.errors import DecodeError
from proofs.payment import PaymentTx, decode

NULL_SIGNATURE = bytes(65)
MAX_CHUNK = 256  # transactions per worker task: ~15 ms of work, far above the task overhead
MIN_PARALLEL = 64  # below this, shipping bytes to workers costs more than it saves
FIRST_CHUNK = 16

_memo: dict[tuple[bytes, bytes], tuple[bytes, ...] | DecodeError] = {}
_handed: dict[tuple[bytes, bytes], tuple[bytes, ...]] = {}  # the last prefetched result `witnesses` returned


def present_signatures(tx: PaymentTx) -> list[bytes]:
    return [s for s in tx.signatures if s != NULL_SIGNATURE]


def recover_witnesses(tx: PaymentTx, separator: bytes) -> tuple[bytes, ...]:
    """The address behind each present signature, in order; `DecodeError` if one is corrupt."""
    digest = eip712.signing_hash_with_separator(tx, separator)
    return tuple(eip712.recover(digest, signature) for signature in present_signatures(tx))


def witnesses(raw: bytes, tx: PaymentTx, separator: bytes) -> tuple[bytes, ...]:
    """`recover_witnesses(tx, separator)`, taken from the memo when it was prefetched."""
    found = _memo.pop((raw, separator), None)
    if found is None:
        return recover_witnesses(tx, separator)
    if isinstance(found, DecodeError):
        raise found
    _handed.clear()
    _handed[(raw, separator)] = found
    return found


def prefetched(raw: bytes, separator: bytes) -> tuple[bytes, ...] | None:
    """The witnesses the last `witnesses` call took from the memo, if it was for `raw`: the
    invariant hook runs right after and re-checks the owners without recovering again."""
    return _handed.get((raw, separator))


def _recover_chunk(raws: Sequence[bytes], separator: bytes) -> list[tuple[bytes, ...] | DecodeError | None]:
    results: list[tuple[bytes, ...] | DecodeError | None] = []
    for raw in raws:
        try:
            tx = decode(raw)
        except DecodeError:
            results.append(None)  # `apply` rejects it before asking for witnesses
            continue
        try:
            results.append(recover_witnesses(tx, separator))
        except DecodeError as exc:
            results.append(exc)
    return results


def forget() -> None:
    """Drop prefetched results no `apply` asked for (transactions rejected before recovery)."""
    _memo.clear()
    _handed.clear()


class Batch:
    """Witnesses of some transactions being recovered; `ready(i)` before applying the i-th."""

    def __init__(self, raws: Sequence[bytes], separator: bytes, starts: list[int], futures: list[Future]) -> None:
        self.raws, self.separator, self.futures = raws, separator, futures
        self.bounds = list(zip(starts, [*starts[1:], len(raws)]))
        self.collected = 0

    def ready(self, index: int) -> None:
        while self.collected < len(self.futures) and self.bounds[self.collected][0] <= index:
            start, end = self.bounds[self.collected]
            for raw, result in zip(self.raws[start:end], self.futures[self.collected].result()):
                if result is not None:
                    _memo[(raw, self.separator)] = result
            self.collected += 1


def default_workers() -> int:
    """One worker per core beside the one the fold runs on."""
    return max(0, (os.cpu_count() or 1) - 1)


class Prefetcher:
    """`workers` processes recovering witnesses ahead of the fold (0: recover in place)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, raws: Sequence[bytes], separator: bytes) -> Batch | None:
        """Start recovering; None when it is not worth it (few transactions, no workers)."""
        if self.workers < 1 or len(raws) < MIN_PARALLEL:
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        # a small first chunk lets the fold start almost at once; then at least eight
        # chunks per worker keep the workers ahead of it
        size = max(FIRST_CHUNK, min(MAX_CHUNK, len(raws) // (8 * self.workers)))
        starts = [0, *range(FIRST_CHUNK, len(raws), size)]
        futures = [
            self._pool.submit(_recover_chunk, raws[start:end], separator)
            for start, end in zip(starts, [*starts[1:], len(raws)])
        ]
        return Batch(raws, separator, starts, futures)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        forget()
