"""The hash-chained event store and the node on top of it: durability, group commit, restart."""
from __future__ import annotations

import sqlite3

import pytest

from ledger import events
from ledger.events import Payment
from ledger.node import Node
from ledger.store import EVENTS_TABLE, GENESIS_HASH, EventStore, StoreError, record_hash
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
