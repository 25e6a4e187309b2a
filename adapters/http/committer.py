"""One writer for the node: group commit across clients.

Every write (an HTTP submission, the operator's step) holds `lock`, so the node's one
`apply` sees one sequence. Submissions queue; the writer thread takes the first, waits at
most `max_wait` for more, then, holding the lock, also takes every submission that queued
meanwhile (while the operator or the previous batch held the lock), applies the batch with
one `Node.submit` (one durable transaction) and only then answers each submitter: with one
wake-up of the submitters' event loop per batch, not one per submission.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time

import attrs

from ledger.events import Event, OrderPlaced, Payment, StakeBonded
from ledger.node import Node, Outcome


@attrs.frozen
class Placed:
    """A submission's outcome and, for an accepted transaction, where it sits."""

    outcome: Outcome
    blknum: int | None = None
    txindex: int | None = None


Submission = tuple[Event, asyncio.Future]


class Committer:
    def __init__(self, node: Node, after_write=lambda: None, max_wait: float = 0.002, max_batch: int = 512) -> None:
        self.node, self.after_write = node, after_write
        self.max_wait, self.max_batch = max_wait, max_batch
        self.lock = threading.Lock()
        self.batches = 0  # Node.submit calls made for submitters
        self.received = 0  # submissions taken (from the event loop's thread only)
        self._queue: queue.Queue[Submission | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="omg-http-commit", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> asyncio.Future:
        """Queue `event`; the future (of the running event loop) gets its `Placed` once durable."""
        future = asyncio.get_running_loop().create_future()
        self.received += 1
        self._queue.put((event, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, stop = self._gather([first], time.monotonic() + self.max_wait)
            with self.lock:
                batch, stop = self._gather(batch, None, stop)
                self._commit(batch)
            self.after_write()
            if stop:
                return

    def _gather(self, batch: list, deadline: float | None, stop: bool = False) -> tuple[list, bool]:
        """More submissions: until `deadline`, or (None) only those already queued."""
        while not stop and len(batch) < self.max_batch:
            try:
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    break
                item = self._queue.get_nowait() if deadline is None else self._queue.get(timeout=timeout)
            except queue.Empty:
                break
            if item is None:
                stop = True
            else:
                batch.append(item)
        return batch, stop

    def _commit(self, batch: list[Submission]) -> None:
        state = self.node.state
        blknum, txindex = state.next_child_blknum, len(state.open_block_txs)
        try:
            outcomes = self.node.submit([event for event, _ in batch])
            self.batches += 1
        except Exception as exc:  # the store failed: nothing of the batch is acknowledged
            _answer([(future, exc) for _, future in batch])
            return
        answers: list[tuple[asyncio.Future, Placed | Exception]] = []
        for (event, future), outcome in zip(batch, outcomes):
            if outcome.accepted and isinstance(event, (Payment, StakeBonded, OrderPlaced)):
                answers.append((future, Placed(outcome, blknum, txindex)))
                txindex += 1
            else:
                answers.append((future, Placed(outcome)))
        _answer(answers)


def _answer(answers: list[tuple[asyncio.Future, Placed | Exception]]) -> None:
    """Settle the futures from the writer's thread: one call into each event loop they belong to."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for future, answer in answers:
        by_loop.setdefault(future.get_loop(), []).append((future, answer))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # that loop was closed (the server stopped): nobody waits for these
            pass


def _settle(answers: list[tuple[asyncio.Future, Placed | Exception]]) -> None:
    for future, answer in answers:
        if future.cancelled():  # the client went away
            continue
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result(answer)
