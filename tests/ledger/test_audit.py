"""`audit` re-verifies a stored log and names the first bad record, whatever was done to it."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import events
from ledger.events import Payment
from ledger.node import Node
from ledger.replay import audit
from ledger.store import EVENTS_TABLE, EventStore, record_hash
from specs.hooks import InvariantHook
from proofs.eip712 import recover, signing_hash
from proofs.payment import decode
from tests.conftest import ADDRS, VC, fill, out, signed


@pytest.fixture
def log(tmp_path) -> Path:
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    fill(Node(store, snapshot_every=10), payments=30, seal_every=8)
    store.close()
    return path


def run(path: Path):
    store = EventStore(path)
    try:
        return audit(store, InvariantHook(full_every=5))
    finally:
        store.close()


def rows(path: Path) -> dict[int, tuple[str, bytes]]:
    with sqlite3.connect(path) as conn:
        return {v: (t, s) for v, t, s in conn.execute(f"SELECT originator_version, topic, state FROM {EVENTS_TABLE}")}


def put(path: Path, version: int, topic: str, state: bytes) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {EVENTS_TABLE} SET topic=?, state=? WHERE originator_version=?", (topic, state, version))


def test_an_honest_log_audits_clean(log):
    report = run(log)
    assert report.ok and report.events == len(rows(log))
    assert report.kinds["payment"] == 30 and report.blocks == 3 and report.deposit_blocks == 1
    assert report.value["0x" + "00" * 20] == {
        "deposited": 10**6, "unspent": 10**6 - 30, "fees": 30, "in_exit": 0, "exited": 0, "unbacked": 0, "unclaimed": 0, "staked": 0
    }
    assert set(report.invariants_checked) >= {"INV-VALUE-CONSERVED", "INV-NO-DOUBLE-SPEND", "INV-SPEND-SIGNED",
                                              "INV-BLOCK-ORDER", "INV-MERKLE-ROOT", "INV-UNSPENT-TALLY"}


@pytest.mark.parametrize("where", [64, 70, -1])  # first payload byte, inside the tx, last byte
def test_one_flipped_byte_fails_at_its_record(log, where):
    topic, state = rows(log)[12]
    flipped = bytearray(state)
    flipped[where] ^= 0x01
    put(log, 12, topic, bytes(flipped))
    failure = run(log).failure
    assert (failure.index, failure.code) == (12, "record_tampered")


def test_a_flipped_hash_fails_at_its_record(log):
    topic, state = rows(log)[7]
    put(log, 7, topic, state[:40] + bytes([state[40] ^ 1]) + state[41:])
    assert (run(log).failure.index, run(log).failure.code) == (7, "record_tampered")


@pytest.mark.parametrize("at", [40, -1])  # inside the stored hash, the payload's last byte
def test_the_last_record_is_checked_like_any_other(log, at):
    """No later record's prev_hash covers the last one: only its own hash check catches an edit."""
    last = len(rows(log)) - 1
    topic, state = rows(log)[last]
    edited = bytearray(state)
    edited[at] ^= 0x01
    put(log, last, topic, bytes(edited))
    failure = run(log).failure
    assert failure is not None and (failure.index, failure.code) == (last, "record_tampered")


def test_reordered_records_fail_at_the_first_moved(log):
    all_rows = rows(log)
    put(log, 15, *all_rows[16])
    put(log, 16, *all_rows[15])
    failure = run(log).failure
    assert (failure.index, failure.code) == (15, "chain_broken")


def test_a_deleted_record_fails_at_the_gap(log):
    with sqlite3.connect(log) as conn:
        conn.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_version=9")
    failure = run(log).failure
    assert (failure.index, failure.code) == (9, "missing_record")


def test_a_truncated_tail_fails_against_the_snapshot_marks(log):
    total = len(rows(log))
    with sqlite3.connect(log) as conn:
        conn.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_version >= ?", (total - 12,))
    failure = run(log).failure
    assert (failure.index, failure.code) == (total - 12, "log_truncated")


def test_a_rechained_forgery_fails_where_the_rule_breaks(log):
    """Recomputing every hash after an edit keeps the chain whole; `apply` still catches the lie."""
    all_rows = rows(log)
    at = next(i for i in range(12, len(all_rows)) if all_rows[i][0].startswith("payment#"))
    topic, state = all_rows[at]
    honest = decode(events.decode(state[64:]).tx)  # type: ignore[union-attr]
    owner = recover(signing_hash(honest, VC), honest.signatures[0])
    thief = next(i for i in range(4) if ADDRS[i] != owner)
    forged = events.encode(Payment(signed(list(honest.inputs), [out(thief, honest.outputs[0].amount)], [thief])))
    prev = state[:32]
    for index in range(at, len(all_rows)):
        payload = forged if index == at else all_rows[index][1][64:]
        digest = record_hash(prev, index, payload)
        put(log, index, all_rows[index][0], prev + digest + payload)
        prev = digest
    failure = run(log).failure
    assert (failure.index, failure.code) == (at, "unauthorized_spend")


def test_a_record_filed_under_the_wrong_topic_fails(log):
    topic, state = rows(log)[5]
    put(log, 5, "deposit", state)
    failure = run(log).failure
    assert (failure.index, failure.code) == (5, "topic_mismatch")


def test_an_empty_log_fails_for_want_of_a_genesis(tmp_path):
    EventStore(tmp_path / "empty.db").close()
    store = EventStore(tmp_path / "empty.db", read_only=True)
    report = audit(store, InvariantHook())
    assert not report.ok and (report.failure.index, report.failure.code) == (0, "no_genesis")
    store.close()
