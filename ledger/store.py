"""The event store: a hash-chained log on the `eventsourcing` library's recorders.

The log is one sequence (one originator) whose version is the event's index. Each
stored record is prev_hash (32) || hash (32) || event bytes, where
hash = keccak(prev_hash || index (8 bytes) || event bytes), so an edited byte,
a deleted or reordered record is detected at its exact index. A batch of records
is written in one database transaction: it is durable when `append` returns.
Each record's topic names its batch too, `kind#ordinal/size` (a plain `kind`, as stores
wrote before, is a batch of one): a disk that loses the end of a transaction leaves a
batch whose last record is not its last ordinal. Such a torn tail was never
acknowledged; opening the store leaves it out (`torn`), and a writable open drops it, with
the snapshots taken from it on. The hash chain does not cover the framing, which changes
no stored byte of an event: the replay checks it, batch by batch.
Snapshots (canonical state bytes from `ledger.snapshot`, tagged with the index and head
hash they follow and the state's hash) sit in their own table of the same database; the
store never decodes them. `read_only=True` opens a file for audit with SQLite's `mode=ro`:
nothing is created or written, and a file without the ledger's table is refused.

This is the only module of the ledger that touches a database.
"""
from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Callable, TypeVar

import attrs
from eventsourcing.persistence import AggregateRecorder, IntegrityError, PersistenceError, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore

from ledger.history import GENESIS_HASH, record_hash

LEDGER_ID = uuid.UUID("6f6d672d-6c65-4467-8572-000000000001")
SNAPSHOT_MARKS_ID = uuid.UUID("6f6d672d-6c65-4467-8572-000000000002")  # (index, head hash) only
EVENTS_TABLE = "ledger_events"
SNAPSHOTS_TABLE = "ledger_snapshots"
READ_PAGE = 5_000
SQLITE_MAGIC = b"SQLite format 3\x00"
T = TypeVar("T")


class StoreError(Exception):
    """The store cannot do what was asked; `code` is stable."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@attrs.frozen
class Record:
    """One stored event as read back: nothing here is trusted until `omg audit` checks it."""

    index: int
    topic: str
    prev_hash: bytes
    hash: bytes
    payload: bytes
    batch: tuple[int, int] | None = None  # (ordinal, size) in the batch it was written with; None: unframed


@attrs.frozen
class TornBatch:
    """The stored tail of a batch whose last records are missing: `first`..`last` of `size`."""

    first: int
    last: int
    size: int


@attrs.frozen
class StrayRow:
    """A row in the store's tables that is no part of the ledger (another originator, a
    negative index): never read as a record or a snapshot, but reported by the audit."""

    table: str
    originator_id: str
    index: object
    topic: object


STRAYS_SHOWN = 20  # at most this many stray rows are named, the rest counted


def framed_topic(kind: str, ordinal: int, size: int) -> str:
    return f"{kind}#{ordinal}/{size}"


def _unframe(topic: str) -> tuple[str, tuple[int, int] | None]:
    """(kind, (ordinal, size)) of a stored topic; a plain topic is unframed (None); a topic
    whose frame does not parse is returned whole, so the replay names it a topic mismatch."""
    kind, mark, frame = topic.partition("#")
    ordinal, slash, size = frame.partition("/")
    if not mark:
        return topic, None
    if slash and all(n.isascii() and n.isdecimal() and str(int(n)) == n for n in (ordinal, size)):
        if int(ordinal) < int(size):
            return kind, (int(ordinal), int(size))
    return topic, None


@attrs.frozen
class Snapshot:
    """A stored snapshot row, as read back: unverified bytes until someone checks them."""

    index: int  # the number of events the state has applied
    head_hash: bytes  # hash of record index - 1
    state_hash: bytes  # keccak of `encoded`, which the log's state_checkpoint at `index` must carry
    encoded: bytes  # `ledger.snapshot.encode_state` of the state


def _magic(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(len(SQLITE_MAGIC))


class EventStore:
    """Append-only, hash-chained log plus snapshots. `path=None` keeps it in memory."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self._closers: list = []
        self.events, self.snapshots = self._recorders()
        self.torn: TornBatch | None = None
        self.reload_head()

    def _recorders(self) -> tuple[AggregateRecorder, AggregateRecorder]:
        if self.path is None:
            assert not self.read_only, "an in-memory store is written by its owner"
            return POPOAggregateRecorder(), POPOAggregateRecorder()
        if self.read_only:
            return _read_only_recorders(self.path, self._closers)
        if self.path.exists() and _magic(self.path) != SQLITE_MAGIC:
            raise StoreError("not_a_ledger", f"{self.path} is not an SQLite event store")
        datastore = SQLiteDatastore(str(self.path))
        self._closers.append(datastore.close)
        recorders = (
            SQLiteAggregateRecorder(datastore, EVENTS_TABLE),
            SQLiteAggregateRecorder(datastore, SNAPSHOTS_TABLE),
        )
        for recorder in recorders:
            _guarded(recorder.create_table)
        return recorders

    def _read_head(self) -> tuple[int, bytes]:
        """The index after the last whole batch and its hash; a torn tail is set aside in `torn`."""
        last = _rows(_guarded(self.events.select_events, LEDGER_ID, gt=-1, desc=True, limit=1))
        if not last:
            return 0, GENESIS_HASH
        index, (_, batch) = last[0].originator_version, _unframe(last[0].topic)
        if batch is None or batch[0] + 1 == batch[1]:
            return index + 1, bytes(last[0].state[32:64])
        first = max(index - batch[0], 0)
        self.torn = TornBatch(first, index, batch[1])
        before = self.record_at(first - 1)
        return first, before.hash if before is not None else GENESIS_HASH

    def _drop_torn(self, first: int) -> None:
        """Delete a torn batch's records and the snapshots from its index on: nothing of it was
        acknowledged, and the next batch is written at its index."""
        assert self.path is not None, "an in-memory store is never torn"
        with sqlite3.connect(self.path) as db:
            db.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_id = ? AND originator_version >= ?",
                       (LEDGER_ID.hex, first))
            db.execute(f"DELETE FROM {SNAPSHOTS_TABLE} WHERE originator_id IN (?, ?) AND originator_version >= ?",
                       (LEDGER_ID.hex, SNAPSHOT_MARKS_ID.hex, first))

    def reload_head(self) -> None:
        """Re-read the head from the database: another writer may have appended since (or
        died inside a write, leaving a torn batch, which a writable store drops)."""
        self.torn = None
        self.count, self.head_hash = self._read_head()
        if self.torn is not None and not self.read_only:
            self._drop_torn(self.torn.first)

    def append(self, topics_and_payloads: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Chain and write records in one transaction; returns their hashes once durable."""
        stored, hashes = [], []
        prev, index = self.head_hash, self.count
        for ordinal, (topic, payload) in enumerate(topics_and_payloads):
            digest = record_hash(prev, index, payload)
            framed = framed_topic(topic, ordinal, len(topics_and_payloads))
            stored.append(StoredEvent(LEDGER_ID, index, framed, prev + digest + payload))
            hashes.append(digest)
            prev, index = digest, index + 1
        if not stored:
            return []
        if self.read_only:
            raise StoreError("read_only", f"{self.path} is open for reading only")
        try:
            self.events.insert_events(stored)
        except IntegrityError as exc:
            raise StoreError("concurrent_writer", f"records from {self.count} already exist: {exc}") from None
        self.count, self.head_hash = index, prev
        return hashes

    def read_pages(self, start: int = 0, stop: int | None = None) -> Iterator[list[Record]]:
        """Records in index order from `start`, a page at a time, as stored (unverified); a
        torn tail is not read (a writable store dropped it: what follows was written after)."""
        last = max(start, 0) - 1
        if self.torn is not None and self.read_only:
            stop = self.torn.first if stop is None else min(stop, self.torn.first)
        while stop is None or last + 1 < stop:
            limit = READ_PAGE if stop is None else min(READ_PAGE, stop - last - 1)
            page = _rows(_guarded(self.events.select_events, LEDGER_ID, gt=last, limit=limit))
            yield [_record(i) for i in page]
            if len(page) < limit:
                return
            last = page[-1].originator_version

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[Record]:
        for page in self.read_pages(start, stop):
            yield from page

    def record_at(self, index: int) -> Record | None:
        return next(self.read(index, index + 1), None) if index >= 0 else None

    def save_snapshot(self, snapshot: Snapshot) -> None:
        row = snapshot.head_hash + snapshot.state_hash + snapshot.encoded
        try:
            self.snapshots.insert_events(
                [
                    StoredEvent(LEDGER_ID, snapshot.index, "snapshot", row),
                    StoredEvent(SNAPSHOT_MARKS_ID, snapshot.index, "snapshot_mark", snapshot.head_hash),
                ]
            )
        except IntegrityError:
            pass  # a snapshot at this index exists already: snapshots are deterministic

    def snapshots_newest_first(self) -> Iterator[Snapshot]:
        """Every stored snapshot row, newest first, as stored (unverified, undecoded)."""
        last = None
        while True:
            found = _rows(_guarded(self.snapshots.select_events, LEDGER_ID, gt=-1, desc=True, limit=1,
                                   **({} if last is None else {"lte": last - 1})))
            if not found:
                return
            item = found[0]
            row = bytes(item.state)
            yield Snapshot(item.originator_version, row[:32], row[32:64], row[64:])
            last = item.originator_version

    def snapshot_marks(self) -> list[tuple[int, bytes]]:
        """(index, head hash) of every snapshot, without loading states: truncation evidence."""
        marks = _rows(_guarded(self.snapshots.select_events, SNAPSHOT_MARKS_ID, gt=-1))
        return [(s.originator_version, s.state) for s in marks]

    def stray_rows(self) -> tuple[list[StrayRow], int]:
        """The first rows of either table that are no part of the ledger, and how many there are."""
        if self.path is None:
            return [], 0  # in memory: only `append` and `save_snapshot` ever wrote
        connection = _connect_read_only(self.path)
        try:
            return _guarded(_strays, connection)
        finally:
            connection.close()

    def copy_to(self, target: str | Path) -> None:
        """A consistent single-file copy of an SQLite store (the WAL folded in)."""
        if self.path is None:
            raise StoreError("in_memory", "an in-memory store has no file to copy")
        with sqlite3.connect(self.path) as source, sqlite3.connect(target) as dest:
            source.backup(dest)

    def close(self) -> None:
        for close in self._closers:
            close()
        self._closers.clear()


def _guarded(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call`, with the database's own failures (a truncated or malformed file, a table of
    the wrong shape) turned into `StoreError("unreadable_ledger")`: never a traceback."""
    try:
        return call(*args, **kwargs)
    except (sqlite3.Error, PersistenceError, KeyError, IndexError, TypeError) as exc:
        raise StoreError("unreadable_ledger", f"{type(exc).__name__}: {exc}") from None


EXPECTED_COLUMNS = ["originator_id", "originator_version", "topic", "state"]


def _connect_read_only(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError("unreadable_ledger", str(exc)) from None


OWNERS = {EVENTS_TABLE: (LEDGER_ID.hex,), SNAPSHOTS_TABLE: (LEDGER_ID.hex, SNAPSHOT_MARKS_ID.hex)}


def _strays(connection: sqlite3.Connection) -> tuple[list[StrayRow], int]:
    """Rows of another originator, or at a negative index, in the ledger's tables."""
    shown: list[StrayRow] = []
    total = 0
    for table, owners in OWNERS.items():
        if not _columns(connection, table):
            continue
        where = f"NOT (originator_id IN ({', '.join('?' * len(owners))}) AND originator_version >= 0)"
        (count,) = connection.execute(f"SELECT count(*) FROM {table} WHERE {where}", owners).fetchone()
        rows = connection.execute(f"SELECT originator_id, originator_version, topic FROM {table} WHERE {where} "
                                  "ORDER BY originator_version LIMIT ?", (*owners, STRAYS_SHOWN - len(shown))).fetchall()
        shown += [StrayRow(table, str(key), index, topic) for key, index, topic in rows]
        total += count
    return shown, total


def _read_only_recorders(path: Path, closers: list) -> tuple[AggregateRecorder, AggregateRecorder]:
    """Recorders over `path` opened with SQLite's `mode=ro`: reads only, creates nothing."""
    if not path.is_file():
        raise StoreError("no_ledger", f"{path} is not a file")
    if _magic(path) != SQLITE_MAGIC:
        raise StoreError("not_a_ledger", f"{path} is not an SQLite database")
    connection = _connect_read_only(path)
    closers.append(connection.close)
    tables = {name: _guarded(_columns, connection, name) for name in (EVENTS_TABLE, SNAPSHOTS_TABLE)}
    if tables[EVENTS_TABLE] != EXPECTED_COLUMNS:
        found = "no such table" if not tables[EVENTS_TABLE] else f"columns {tables[EVENTS_TABLE]}"
        raise StoreError("not_a_ledger", f"{path} has no ledger table {EVENTS_TABLE!r} ({found})")
    snapshots = _ReadOnlyRecorder(connection, SNAPSHOTS_TABLE if tables[SNAPSHOTS_TABLE] else None)
    return _ReadOnlyRecorder(connection, EVENTS_TABLE), snapshots


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


class _ReadOnlyRecorder(AggregateRecorder):
    """The one query the store makes, on a read-only connection (`table=None`: no rows)."""

    def __init__(self, connection: sqlite3.Connection, table: str | None) -> None:
        self.connection, self.table = connection, table

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        raise StoreError("read_only", "this store is open for reading only")

    def select_events(self, originator_id: uuid.UUID, *, gt: int | None = None, lte: int | None = None,
                      desc: bool = False, limit: int | None = None) -> list[StoredEvent]:
        if self.table is None:
            return []
        sql, params = f"SELECT * FROM {self.table} WHERE originator_id=?", [originator_id.hex]
        for bound, op in ((gt, ">"), (lte, "<=")):
            if bound is not None:
                sql, params = f"{sql} AND originator_version{op}?", [*params, bound]
        sql += f" ORDER BY originator_version {'DESC' if desc else 'ASC'}"
        if limit is not None:
            sql, params = f"{sql} LIMIT ?", [*params, limit]
        rows = self.connection.execute(sql, params).fetchall()
        return [_stored(originator_id, *row[1:]) for row in rows]


def _record(item: StoredEvent) -> Record:
    kind, batch = _unframe(item.topic)
    state = item.state
    return Record(item.originator_version, kind, bytes(state[:32]), bytes(state[32:64]), bytes(state[64:]), batch)


def _rows(items: Sequence[StoredEvent]) -> list[StoredEvent]:
    """Rows as read, each checked for its types (a file may hold anything)."""
    return [_stored(i.originator_id, i.originator_version, i.topic, i.state) for i in items]


def _stored(originator_id: uuid.UUID, version: object, topic: object, state: object) -> StoredEvent:
    """A row as stored; a topic or state of the wrong type reads as an empty record, which the
    replay reports as malformed at its own index."""
    if not isinstance(version, int):
        raise StoreError("malformed_record", f"a stored row's index is a {type(version).__name__}")
    readable = state if isinstance(state, (bytes, bytearray, memoryview)) else b""
    return StoredEvent(originator_id, version, topic if isinstance(topic, str) else "", bytes(readable))
