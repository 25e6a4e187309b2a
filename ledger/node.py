"""The node: accepts commands by calling `apply`, persists what it accepted, and restarts
where it stopped.

Group commit: `submit` applies a whole batch in memory, writes the accepted events
in one database transaction and only then answers, so an acknowledged event is
durable and an unacknowledged one was never seen. What the node appends is exactly
what an auditor re-checks.
"""
from __future__ import annotations

from collections.abc import Sequence

import attrs

from ledger import events, witnesses
from ledger.errors import Rejected
from ledger.dex import settlement_for
from ledger.events import BatchSettled, BlockSealed, Event, FeeCollected, Payment, StateCheckpoint
from ledger.plasma import open_block_root
from ledger.replay import Hook, Replay, SnapshotRefused, replay, verified_snapshot
from ledger.state import State
from ledger.snapshot import encode_and_hash
from ledger.store import EventStore, Snapshot, StoreError
from ledger.transition import apply
from proofs.order import encode_settlement
from ledger.witnesses import Batch, Prefetcher


@attrs.frozen
class Outcome:
    """The answer to one submitted event: its log index and hash, or why it was rejected."""

    event: Event
    index: int | None = None
    hash: bytes | None = None
    code: str | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.code is None


class Node:
    def __init__(
        self,
        store: EventStore,
        hook: Hook | None = None,
        snapshot_every: int = 10_000,
        prefetcher: Prefetcher | None = None,
    ) -> None:
        assert snapshot_every > 0
        self.store, self.hook, self.snapshot_every = store, hook, snapshot_every
        self.prefetcher = prefetcher
        self.restored_from = "the whole log (no usable snapshot)"
        self.refused_snapshots: list[tuple[int, str, str]] = []  # (index, code, detail)
        self.state = self._restore()
        self.last_snapshot = max((index for index, _ in store.snapshot_marks()), default=0)

    def _restore(self) -> State:
        """The newest snapshot the log vouches for, then the records after it; with none, the
        whole log. `restored_from` says which, and why each newer snapshot was refused."""
        start = None
        for snapshot in self.store.snapshots_newest_first():
            try:
                start = Replay(self._consistent(verified_snapshot(self.store, snapshot)), snapshot.index, snapshot.head_hash)
                self.restored_from = f"snapshot at event {snapshot.index}, verified against the log's checkpoint"
                break
            except SnapshotRefused as exc:
                self.refused_snapshots.append((snapshot.index, exc.code, exc.detail))
        result = replay(self.store, start=start, prefetcher=self.prefetcher)
        if result.failure is not None:
            f = result.failure
            raise StoreError("corrupt_log", f"record {f.index} ({f.kind}): {f.code}: {f.detail}; run `omg audit`")
        return result.state

    def _consistent(self, state: State) -> State:
        """A snapshot's state must also hold every state invariant on its own (its tallies
        recounted): a forgery that rewrote the log's checkpoint still has to add up."""
        if self.hook is not None and (violation := self.hook.finish(state.event_count - 1, state)):
            raise SnapshotRefused("snapshot_inconsistent", f"{violation.invariant}: {violation.detail}")
        return state

    def submit(self, batch: Sequence[Event], atomic: bool = False) -> list[Outcome]:
        """Apply each event in order; persist the accepted ones together; answer once durable.
        `atomic`: persist the batch only if every event is accepted (else nothing changes).

        If another writer appended to the log since this node read it, the batch is applied
        once more after that writer's records (its verdicts may change: an input the other
        writer spent is rejected); a second lost race is a `concurrent_writer` error."""
        for attempt in range(2):
            if attempt:
                self._follow_other_writer()
            try:
                return self._submit(batch, atomic)
            except StoreError as exc:
                if exc.code != "concurrent_writer":
                    raise
        raise StoreError("concurrent_writer", "another writer kept appending to the log while this batch was "
                         "applied, twice: nothing of it was stored")

    def _follow_other_writer(self) -> None:
        """Verify and apply the records another writer appended after this node's head."""
        result = replay(self.store, start=Replay(self.state, self.store.count, self.store.head_hash),
                        prefetcher=self.prefetcher)
        if result.failure is not None:
            f = result.failure
            raise StoreError("corrupt_log", f"record {f.index} ({f.kind}): {f.code}: {f.detail}; run `omg audit`")
        self.store.reload_head()
        if (self.store.count, self.store.head_hash) != (result.count, result.head_hash):
            raise StoreError("concurrent_writer", "another writer is still appending to the log: nothing of this "
                             "batch was stored")
        self.state = result.state

    def _submit(self, batch: Sequence[Event], atomic: bool) -> list[Outcome]:
        state, staged, verdicts = self.state, [], []
        prefetched = self._prefetch(batch)
        payments = 0
        for event in batch:
            if prefetched is not None and isinstance(event, Payment):
                prefetched.ready(payments)
                payments += 1
            try:
                state = self._accept(self.store.count + len(staged), state, event)
            except Rejected as exc:
                verdicts.append((exc.code, exc.detail))
                continue
            staged.append((event.KIND, events.encode(event)))
            verdicts.append(None)
        witnesses.forget()
        if atomic and any(verdict is not None for verdict in verdicts):
            aborted = ("batch_rejected", "another event of this all-or-nothing batch was rejected")
            return [Outcome(event, code=(verdict or aborted)[0], detail=(verdict or aborted)[1])
                    for event, verdict in zip(batch, verdicts)]
        first = self.store.count
        hashes = iter(self.store.append(staged))
        self.state = state
        self._maybe_snapshot()
        indexes = iter(range(first, first + len(staged)))
        outcomes = []
        for event, verdict in zip(batch, verdicts):
            if verdict is None:
                outcomes.append(Outcome(event, next(indexes), next(hashes)))
            else:
                outcomes.append(Outcome(event, code=verdict[0], detail=verdict[1]))
        return outcomes

    def _prefetch(self, batch: Sequence[Event]) -> Batch | None:
        params = self.state.params
        if self.prefetcher is None or params is None:
            return None
        raws = [event.tx for event in batch if isinstance(event, Payment)]
        return self.prefetcher.submit(raws, params.domain_separator)

    def _accept(self, index: int, state: State, event: Event) -> State:
        after = apply(state, event)
        if self.hook is not None and (violation := self.hook(index, state, event, after)):
            raise Rejected("invariant_violated", f"{violation.invariant}: {violation.detail}")
        return after

    def _maybe_snapshot(self) -> None:
        """Every `snapshot_every` events, and no more often than the log doubles after that:
        a snapshot costs O(state), and the state (spent positions included) grows with the
        log, so this keeps snapshots a fixed fraction of ingest at any size."""
        last = self.last_snapshot
        if self.store.count - last >= max(self.snapshot_every, last):
            self.snapshot()

    def snapshot(self) -> None:
        """Append a state_checkpoint committing to the state's hash, then store the state's
        canonical bytes beside the log: a cache the log vouches for, never a source of truth."""
        encoded, digest = encode_and_hash(self.state)
        index, head_hash = self.store.count, self.store.head_hash
        self.last_snapshot = index  # before submitting: the checkpoint itself starts no snapshot
        (outcome,) = self.submit([StateCheckpoint(digest)])
        assert outcome.accepted, f"the node's own checkpoint was refused: {outcome.code}: {outcome.detail}"
        self.store.save_snapshot(Snapshot(index, head_hash, digest, encoded))

    def seal(self) -> list[Outcome]:
        """Settle the open block's batch if open orders cross, collect the block's fees and seal
        it with the root of its transactions."""
        state, closing = self.state, []
        settlement = settlement_for(state) if state.settled_blknum != state.next_child_blknum else None
        if settlement is not None:
            closing.append(BatchSettled(state.next_child_blknum, encode_settlement(settlement)))
            state = apply(state, closing[-1])  # its leaf and its trading fees close the block too
        leaves = state.open_block_txs
        closing += [
            FeeCollected(state.next_child_blknum, token, amount) for token, amount in sorted(state.open_block_fees.items())
        ]
        closing.append(BlockSealed(state.next_child_blknum, open_block_root(leaves), len(leaves)))
        return self.submit(closing)

