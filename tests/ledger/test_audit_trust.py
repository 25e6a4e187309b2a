"""The audit trusts nothing in the file: it reads it without writing, refuses what is not a
ledger, reports what contradicts the history, and says how far outside evidence anchors it."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from ledger import events
from ledger.events import BlockSubmitted
from ledger.history import record_hash
from ledger.node import Node
from ledger.replay import audit
from ledger.store import EVENTS_TABLE, LEDGER_ID, SNAPSHOT_MARKS_ID, SNAPSHOTS_TABLE, STRAYS_SHOWN, EventStore, StoreError
from specs.hooks import InvariantHook
from tests.conftest import fill


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audited(path: Path):
    store = EventStore(path, read_only=True)
    try:
        return audit(store, InvariantHook(full_every=5))
    finally:
        store.close()


@pytest.fixture
def log(tmp_path) -> Path:
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    node = Node(store, snapshot_every=10)
    fill(node, payments=12, seal_every=6)
    node.submit([BlockSubmitted(1000, node.state.blocks[1000].root), BlockSubmitted(2000, node.state.blocks[2000].root)])
    store.close()
    return path


def test_the_audit_changes_nothing_in_the_file_it_reads(log):
    before = digest(log)
    report = audited(log)
    assert report.ok and digest(log) == before


def test_an_sqlite_file_that_is_not_a_ledger_is_refused_untouched(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    before = digest(other)
    with pytest.raises(StoreError) as info:
        EventStore(other, read_only=True)
    assert info.value.code == "not_a_ledger" and digest(other) == before
    with sqlite3.connect(other) as conn:
        assert [name for (name,) in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_a_ledger_table_with_the_wrong_columns_is_refused(tmp_path):
    odd = tmp_path / "odd.db"
    with sqlite3.connect(odd) as conn:
        conn.execute(f"CREATE TABLE {EVENTS_TABLE} (a TEXT, b INTEGER)")
    with pytest.raises(StoreError) as info:
        EventStore(odd, read_only=True)
    assert info.value.code == "not_a_ledger" and "columns" in info.value.detail


def test_a_truncated_database_file_is_an_error_not_a_traceback(log, tmp_path):
    cut = tmp_path / "cut.db"
    cut.write_bytes(log.read_bytes()[: 3 * 4096 + 100])
    try:
        store = EventStore(cut, read_only=True)
    except StoreError as exc:
        assert exc.code in ("unreadable_ledger", "not_a_ledger")
        return
    report = audit(store, InvariantHook())
    store.close()
    assert report.failure is not None and report.failure.code in ("unreadable_ledger", "missing_record", "log_truncated")


def test_rows_of_the_wrong_types_are_an_error_at_their_index(log):
    with sqlite3.connect(log) as conn:
        conn.execute(f"UPDATE {EVENTS_TABLE} SET state=? WHERE originator_version=4", ("text, not bytes",))
    report = audited(log)
    assert (report.failure.index, report.failure.code) == (4, "malformed_record")


def test_a_rewritten_root_with_recomputed_hashes_is_a_finding_at_its_event(log):
    """The stored root of block 2000 is changed and every later hash recomputed: the chain is whole,
    every rule accepts it (a foreign root is a root-chain fact), and the audit still says so."""
    with sqlite3.connect(log) as conn:
        rows = dict(((v, (t, s)) for v, t, s in conn.execute(f"SELECT originator_version, topic, state FROM {EVENTS_TABLE}")))
    at = max(v for v, (t, _) in rows.items() if t.startswith("block_submitted#"))
    forged = events.encode(BlockSubmitted(2000, b"\x66" * 32))
    prev = rows[at][1][:32]
    with sqlite3.connect(log) as conn:
        for index in range(at, len(rows)):
            payload = forged if index == at else rows[index][1][64:]
            hashed = record_hash(prev, index, payload)
            conn.execute(f"UPDATE {EVENTS_TABLE} SET state=? WHERE originator_version=?", (prev + hashed + payload, index))
            prev = hashed
    report = audited(log)
    assert not report.ok and (at, "foreign_root") in [(f.index, f.code) for f in report.findings]
    # a later checkpoint commits to the honest state, so it no longer matches either
    assert report.failure is None or (report.failure.kind, report.failure.code) == ("state_checkpoint", "checkpoint_mismatch")


def test_a_log_without_anchors_is_reported_unanchored_whole(log):
    report = audited(log)
    assert report.ok and report.anchored_through == -1 and report.unanchored == (0, report.events - 1)


OTHER_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("table, originator, index", [
    (EVENTS_TABLE, OTHER_ID, 3),  # another originator, at an index the ledger uses
    (EVENTS_TABLE, LEDGER_ID.hex, -1),  # the ledger's originator, before genesis
    (SNAPSHOTS_TABLE, LEDGER_ID.hex, -4),
])
def test_a_stray_row_is_a_finding_with_its_row(log, table, originator, index):
    with sqlite3.connect(log) as conn:
        conn.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", (originator, index, "payment", b"\x00" * 80))
    report = audited(log)
    assert report.failure is None and not report.ok
    [finding] = [f for f in report.findings if f.code == "stray_row"]
    assert (finding.index, finding.kind) == (index, "stray row")
    assert f"a row of {table} (originator {originator}, index {index}, topic 'payment')" in finding.detail


def test_stray_rows_past_the_first_few_are_counted(log):
    with sqlite3.connect(log) as conn:
        conn.executemany(f"INSERT INTO {EVENTS_TABLE} VALUES (?, ?, 'x', x'00')", [(OTHER_ID, i) for i in range(25)])
    strays = [f for f in audited(log).findings if f.code == "stray_row"]
    assert len(strays) == STRAYS_SHOWN + 1 and strays[-1].detail == f"and {25 - STRAYS_SHOWN} more such rows"


def test_a_snapshot_mark_before_genesis_is_a_stray_row_not_an_event_before_it(log):
    with sqlite3.connect(log) as conn:
        conn.execute(f"INSERT INTO {SNAPSHOTS_TABLE} VALUES (?, -1, 'snapshot_mark', ?)", (SNAPSHOT_MARKS_ID.hex, b"\x01" * 32))
    report = audited(log)
    assert report.failure is None, report.failure  # it was "snapshot_mismatch at event -2"
    assert [(f.index, f.code) for f in report.findings] == [(-1, "stray_row")]
