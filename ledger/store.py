"""The event store: a hash-chained log on the `eventsourcing` library's recorders.

The log is one sequence (one originator) whose version is the event's index. Each
stored record is prev_hash (32) || hash (32) || event bytes, where
hash = keccak(prev_hash || index (8 bytes) || event bytes), so an edited byte,
a deleted or reordered record is detected at its exact index. A batch of records
is written in one database transaction: it is durable when `append` returns.
Snapshots (pickled states, tagged with the index and hash they follow) sit in
their own table of the same database.

This is the only module of the ledger that touches a database.
"""
from __future__ import annotations

import pickle
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
from eventsourcing.persistence import AggregateRecorder, IntegrityError, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore

from proofs.keccak import keccak256

LEDGER_ID = uuid.UUID("6f6d672d-6c65-4467-8572-000000000001")
SNAPSHOT_MARKS_ID = uuid.UUID("6f6d672d-6c65-4467-8572-000000000002")  # (index, head hash) only
GENESIS_HASH = bytes(32)
EVENTS_TABLE = "ledger_events"
SNAPSHOTS_TABLE = "ledger_snapshots"
READ_PAGE = 5_000
SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreError(Exception):
    """The store cannot do what was asked; `code` is stable."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def record_hash(prev_hash: bytes, index: int, payload: bytes) -> bytes:
    return keccak256(prev_hash + index.to_bytes(8, "big") + payload)


@attrs.frozen
class Record:
    """One stored event as read back: nothing here is trusted until `omg audit` checks it."""

    index: int
    topic: str
    prev_hash: bytes
    hash: bytes
    payload: bytes


@attrs.frozen
class Snapshot:
    index: int  # the number of events the state has applied
    head_hash: bytes  # hash of record index - 1
    state: Any


def _magic(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(len(SQLITE_MAGIC))


class EventStore:
    """Append-only, hash-chained log plus snapshots. `path=None` keeps it in memory."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.events, self.snapshots = self._recorders()
        self.count, self.head_hash = self._read_head()

    def _recorders(self) -> tuple[AggregateRecorder, AggregateRecorder]:
        if self.path is None:
            return POPOAggregateRecorder(), POPOAggregateRecorder()
        if self.path.exists() and _magic(self.path) != SQLITE_MAGIC:
            raise StoreError("not_a_ledger", f"{self.path} is not an SQLite event store")
        self._datastore = SQLiteDatastore(str(self.path))
        recorders = (
            SQLiteAggregateRecorder(self._datastore, EVENTS_TABLE),
            SQLiteAggregateRecorder(self._datastore, SNAPSHOTS_TABLE),
        )
        for recorder in recorders:
            recorder.create_table()
        return recorders

    def _read_head(self) -> tuple[int, bytes]:
        last = self.events.select_events(LEDGER_ID, desc=True, limit=1)
        if not last:
            return 0, GENESIS_HASH
        return last[0].originator_version + 1, last[0].state[32:64]

    def reload_head(self) -> None:
        """Re-read the head from the database: another writer may have appended since."""
        self.count, self.head_hash = self._read_head()

    def append(self, topics_and_payloads: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Chain and write records in one transaction; returns their hashes once durable."""
        stored, hashes = [], []
        prev, index = self.head_hash, self.count
        for topic, payload in topics_and_payloads:
            digest = record_hash(prev, index, payload)
            stored.append(StoredEvent(LEDGER_ID, index, topic, prev + digest + payload))
            hashes.append(digest)
            prev, index = digest, index + 1
        if not stored:
            return []
        try:
            self.events.insert_events(stored)
        except IntegrityError as exc:
            raise StoreError("concurrent_writer", f"records from {self.count} already exist: {exc}") from None
        self.count, self.head_hash = index, prev
        return hashes

    def read_pages(self, start: int = 0, stop: int | None = None) -> Iterator[list[Record]]:
        """Records in index order from `start`, a page at a time, as stored (unverified)."""
        last = start - 1
        while stop is None or last + 1 < stop:
            limit = READ_PAGE if stop is None else min(READ_PAGE, stop - last - 1)
            page = self.events.select_events(LEDGER_ID, gt=last, limit=limit)
            yield [Record(i.originator_version, i.topic, i.state[:32], i.state[32:64], i.state[64:]) for i in page]
            if len(page) < limit:
                return
            last = page[-1].originator_version

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[Record]:
        for page in self.read_pages(start, stop):
            yield from page

    def record_at(self, index: int) -> Record | None:
        return next(self.read(index, index + 1), None)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        state = snapshot.head_hash + pickle.dumps(snapshot.state, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.snapshots.insert_events(
                [
                    StoredEvent(LEDGER_ID, snapshot.index, "snapshot", state),
                    StoredEvent(SNAPSHOT_MARKS_ID, snapshot.index, "snapshot_mark", snapshot.head_hash),
                ]
            )
        except IntegrityError:
            pass  # a snapshot at this index exists already: snapshots are deterministic

    def latest_snapshot(self) -> Snapshot | None:
        found = self.snapshots.select_events(LEDGER_ID, desc=True, limit=1)
        if not found:
            return None
        item = found[0]
        return Snapshot(item.originator_version, item.state[:32], pickle.loads(item.state[32:]))

    def snapshot_marks(self) -> list[tuple[int, bytes]]:
        """(index, head hash) of every snapshot, without loading states: truncation evidence."""
        return [(s.originator_version, s.state) for s in self.snapshots.select_events(SNAPSHOT_MARKS_ID)]

    def copy_to(self, target: str | Path) -> None:
        """A consistent single-file copy of an SQLite store (the WAL folded in)."""
        if self.path is None:
            raise StoreError("in_memory", "an in-memory store has no file to copy")
        with sqlite3.connect(self.path) as source, sqlite3.connect(target) as dest:
            source.backup(dest)

    def close(self) -> None:
        if self.path is not None:
            self._datastore.close()
