"""The hash-chained event store and the node on top of it: durability, group commit, restart."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import events
from ledger.events import Payment
from ledger.node import Node
from ledger.replay import audit
from ledger.store import EVENTS_TABLE, GENESIS_HASH, EventStore, StoreError, TornBatch, record_hash
from specs.hooks import InvariantHook
from tests.conftest import fill, out, signed


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    s = EventStore(None if request.param == "memory" else tmp_path / "ledger.db")
    yield s
    s.close()


def test_records_chain_each_to_the_previous(store):
    fill(Node(store), payments=5)
    prev = GENESIS_HASH
    for index, record in enumerate(store.read()):
        assert record.index == index and record.prev_hash == prev
        assert record.hash == record_hash(prev, index, record.payload)
        assert events.decode(record.payload).KIND == record.topic
        prev = record.hash
    assert (store.count, store.head_hash) == (index + 1, prev)


def test_a_batch_keeps_the_accepted_and_drops_the_rejected(store):
    node = Node(store, InvariantHook())
    fill(node, payments=1)
    count, last = store.count, max(node.state.utxos)
    spend = Payment(signed([last], [out(3, node.state.utxos[last].amount - 1)], [1]))
    outcomes = node.submit([Payment(b"\xc2\x01\x02"), spend, spend])
    assert [o.code for o in outcomes] == ["malformed_transaction", None, "utxo_already_spent"]
    assert outcomes[1].index == count and store.count == count + 1
    assert [r.payload for r in store.read(count)] == [events.encode(spend)]


def test_restart_resumes_exactly_where_it_stopped(tmp_path):
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    node = Node(store, snapshot_every=7)
    fill(node, payments=23, seal_every=5)
    state, count, head = node.state, store.count, store.head_hash
    store.close()

    store = EventStore(path)
    snapshot = next(store.snapshots_newest_first())
    assert 0 < snapshot.index <= count
    restarted = Node(store, snapshot_every=7)
    assert restarted.restored_from.startswith(f"snapshot at event {snapshot.index}")
    assert restarted.state == state and (store.count, store.head_hash) == (count, head)
    fill_more = restarted.seal()
    assert all(o.accepted for o in fill_more) and fill_more[-1].index == count + len(fill_more) - 1
    store.close()


def test_restart_ignores_a_snapshot_that_does_not_match_the_log(tmp_path):
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    node = Node(store, snapshot_every=5)
    fill(node, payments=6)
    state = node.state
    store.close()
    with sqlite3.connect(path) as conn:  # a snapshot whose head hash is wrong must not be trusted
        for version, blob in conn.execute("SELECT originator_version, state FROM ledger_snapshots WHERE topic='snapshot'"):
            conn.execute(
                "UPDATE ledger_snapshots SET state=? WHERE topic='snapshot' AND originator_version=?",
                (bytes(32) + blob[32:], version),
            )
    store = EventStore(path)
    restarted = Node(store)
    assert restarted.state == state and restarted.restored_from.startswith("the whole log")
    assert {code for _, code, _ in restarted.refused_snapshots} == {"snapshot_not_in_log"}
    store.close()


def test_a_corrupt_local_log_stops_the_node_with_a_clear_error(tmp_path):
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    fill(Node(store), payments=3)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {EVENTS_TABLE} SET topic='deposit' WHERE originator_version=3")
    store = EventStore(path)
    with pytest.raises(StoreError) as info:
        Node(store)
    assert info.value.code == "corrupt_log" and "record 3" in str(info.value)
    store.close()


def test_a_second_writer_cannot_fork_the_log(tmp_path):
    path = tmp_path / "ledger.db"
    first, second = EventStore(path), EventStore(path)
    node_a, node_b = Node(first), Node(second)
    fill(node_a, payments=1)
    [outcome] = node_b.submit([events.Genesis(b"\x01" * 20, ())])  # retried after node_a's records
    assert outcome.code == "genesis_repeated"
    assert first.count == second.count == len(list(first.read()))
    first.close()
    second.close()


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(StoreError) as info:
        EventStore(path)
    assert info.value.code == "not_a_ledger" and path.read_text() == "hello"


# --- batches: a write torn inside is dropped whole -------------------------------------------


@pytest.fixture
def torn(tmp_path) -> tuple[Path, int]:
    """A ledger whose last batch (a seal: fee collected, block sealed) lost its last record,
    as a disk that tears a transaction leaves it; and the index of that batch."""
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    node = Node(store)
    fill(node, payments=4, seal_every=100)
    first = store.count
    assert [o.event.KIND for o in node.seal()] == ["fee_collected", "block_sealed"]
    store.close()
    with sqlite3.connect(path) as db:
        db.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_version = ?", (first + 1,))
    return path, first


def rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT originator_version, topic FROM {EVENTS_TABLE} ORDER BY originator_version").fetchall()


def test_each_record_names_its_batch(tmp_path):
    store = EventStore(tmp_path / "ledger.db")
    node = Node(store)
    fill(node, payments=1)
    node.seal()
    assert rows(tmp_path / "ledger.db")[-3:] == [(2, "payment#0/1"), (3, "fee_collected#0/2"), (4, "block_sealed#1/2")]
    assert [(r.topic, r.batch) for r in store.read(3)] == [("fee_collected", (0, 2)), ("block_sealed", (1, 2))]
    store.close()


def test_a_torn_batch_is_left_out_of_a_read_and_reported_by_the_audit(torn):
    path, first = torn
    store = EventStore(path, read_only=True)
    assert (store.count, store.torn) == (first, TornBatch(first, first, 2))
    assert [r.index for r in store.read()] == list(range(first)) and store.record_at(first) is None
    report = audit(store, InvariantHook())
    store.close()
    assert report.failure is None and report.events == first
    [finding] = report.findings
    assert (finding.index, finding.code) == (first, "torn_batch") and finding.detail.startswith(f"records {first}..{first} are 1 of a batch of 2")
    assert rows(path)[-1] == (first, "fee_collected#0/2")  # read-only: the file keeps it


def test_a_node_opening_a_torn_store_drops_the_batch_and_goes_on(torn):
    path, first = torn
    store = EventStore(path)
    assert (store.count, store.torn) == (first, TornBatch(first, first, 2)) and len(rows(path)) == first
    node = Node(store, InvariantHook())
    resealed = node.seal()
    assert all(o.accepted for o in resealed) and resealed[0].index == first
    # the same store reads what was written in the torn batch's place (a follower on it sees it)
    assert [r.index for r in store.read(first)] == [first, first + 1]
    store.close()
    store = EventStore(path, read_only=True)
    report = audit(store, InvariantHook())
    store.close()
    assert report.ok and report.events == first + 2 and store.torn is None


def test_records_of_older_stores_without_a_batch_are_batches_of_one(tmp_path):
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    fill(Node(store), payments=3)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE {EVENTS_TABLE} SET topic = substr(topic, 1, instr(topic, '#') - 1)")
    store = EventStore(path)
    assert all(r.batch is None for r in store.read()) and store.torn is None
    node = Node(store, InvariantHook())
    assert all(o.accepted for o in node.seal())
    store.close()
    store = EventStore(path, read_only=True)
    assert audit(store, InvariantHook()).ok
    store.close()


@pytest.mark.parametrize("topic", ["block_sealed#0/1", "block_sealed"])
def test_a_batch_torn_inside_the_log_fails_the_replay_where_it_breaks(tmp_path, topic):
    """A torn batch that was written on after (a forgery, or an old writer): the log stops there."""
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    node = Node(store)
    fill(node, payments=2, seal_every=100)
    first = store.count
    node.seal()
    fill_more = node.submit([events.BlockSubmitted(1000, node.state.blocks[1000].root)])
    assert fill_more[0].accepted
    store.close()
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE {EVENTS_TABLE} SET topic = ? WHERE originator_version = ?", (topic, first + 1))
    store = EventStore(path, read_only=True)
    failure = audit(store, InvariantHook()).failure
    store.close()
    assert (failure.index, failure.code) == (first + 1, "torn_batch")
    assert failure.detail.endswith("the log's batches need record 1 of a batch of 2 here")
