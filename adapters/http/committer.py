"""One writer for the node: group commit across clients.

Every write (an HTTP submission, the operator's step) holds `lock`, so the node's one
`apply` sees one sequence. Submissions queue; the writer thread takes the first, waits at
most `max_wait` for more, then, holding the lock, also takes every submission that queued
meanwhile (while the operator or the previous batch held the lock), applies the batch with
one `Node.submit` (one durable transaction) and only then answers each submitter.
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future

import attrs

from ledger.events import Event, Payment, StakeBonded
from ledger.node import Node, Outcome


@attrs.frozen
class Placed:
    """A submission's outcome and, for an accepted transaction, where it sits."""

    outcome: Outcome
    blknum: int | None = None
    txindex: int | None = None


class Committer:
    def __init__(self, node: Node, after_write=lambda: None, max_wait: float = 0.002, max_batch: int = 512) -> None:
        self.node, self.after_write = node, after_write
        self.max_wait, self.max_batch = max_wait, max_batch
        self.lock = threading.Lock()
        self.batches = 0  # Node.submit calls made for submitters
        self.received = 0  # submissions taken (from the event loop's thread only)
        self._queue: queue.Queue[tuple[Event, Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="omg-http-commit", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> Future:
        future: Future = Future()
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

    def _commit(self, batch: list[tuple[Event, Future]]) -> None:
        state = self.node.state
        blknum, txindex = state.next_child_blknum, len(state.open_block_txs)
        try:
            outcomes = self.node.submit([event for event, _ in batch])
            self.batches += 1
        except Exception as exc:  # the store failed: nothing of the batch is acknowledged
            for _, future in batch:
                future.set_exception(exc)
            return
        for (event, future), outcome in zip(batch, outcomes):
            if outcome.accepted and isinstance(event, (Payment, StakeBonded)):
                future.set_result(Placed(outcome, blknum, txindex))
                txindex += 1
            else:
                future.set_result(Placed(outcome))
