"""Signature recovery ahead of the fold changes the speed, never the verdict."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import events, witnesses
from ledger.events import Deposit, FeeRule, Genesis, Payment
from ledger.node import Node
from ledger.replay import audit
from ledger.store import EVENTS_TABLE, EventStore, record_hash
from ledger.witnesses import Prefetcher
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, VC, out, signed

PAYMENTS = 800  # many worker chunks


def chain(count: int) -> list:
    """Genesis, one deposit, then `count` payments each spending the last, passed round four keys."""
    batch: list = [Genesis(VC, (FeeRule(1, ETH, 1),)), Deposit(1, encode(deposit_tx(ADDRS[0], ETH, 10**6)))]
    pos, amount = encode_utxo_pos(1, 0, 0), 10**6
    for i in range(count):
        batch.append(Payment(signed([pos], [out((i + 1) % 4, amount - 1)], [i % 4])))
        pos, amount = encode_utxo_pos(1000, i, 0), amount - 1
    return batch


@pytest.fixture(scope="module")
def events_in_order() -> list:
    return chain(PAYMENTS)


@pytest.fixture
def prefetcher():
    p = Prefetcher(1)
    yield p
    p.close()


def test_a_batch_gets_the_same_outcomes_with_and_without_workers(tmp_path, events_in_order, prefetcher):
    bad = Payment(signed([encode_utxo_pos(1000, 397, 0)], [out(0, 5)], [3]))  # key 2's output, key 3 signs
    batch = events_in_order[2:400] + [bad] + events_in_order[400:]
    outcomes = []
    for name, pool in (("serial", None), ("parallel", prefetcher)):
        node = Node(EventStore(tmp_path / f"{name}.db"), prefetcher=pool)
        node.submit(events_in_order[:2])
        outcomes.append([(o.index, o.code) for o in node.submit(batch)])
        node.store.close()
    assert prefetcher._pool is not None  # the batch did go to the worker
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][398][1] == "unauthorized_spend"
    assert sum(code is None for _, code in outcomes[0]) == PAYMENTS
    assert not witnesses._memo  # nothing left behind for a later batch


def _log(path: Path, batch: list) -> Path:
    store = EventStore(path)
    Node(store).submit(batch)
    store.close()
    return path


def _audit(path: Path, prefetcher: Prefetcher | None):
    store = EventStore(path)
    try:
        return audit(store, InvariantHook(), prefetcher=prefetcher)
    finally:
        store.close()


def test_audit_reports_the_same_with_and_without_workers(tmp_path, events_in_order, prefetcher):
    path = _log(tmp_path / "log.db", events_in_order)
    assert _audit(path, prefetcher) == _audit(path, None) and _audit(path, None).ok


def test_a_forged_signature_is_caught_at_its_index_with_workers(tmp_path, events_in_order, prefetcher):
    """Re-sign one payment with a thief's key and re-chain every hash after it."""
    forged = list(events_in_order)
    victim = 300
    honest = forged[victim]
    forged[victim] = Payment(signed([encode_utxo_pos(1000, victim - 3, 0)], [out(2, 10**6 - victim + 1)], [(victim + 1) % 4]))
    assert forged[victim] != honest
    path = _log(tmp_path / "honest.db", events_in_order)
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} ORDER BY originator_version")
        rows = list(rows)
        prev = rows[victim][2][:32]
        for index, topic, state in rows[victim:]:
            payload = events.encode(forged[index]) if index == victim else state[64:]
            digest = record_hash(prev, index, payload)
            conn.execute(f"UPDATE {EVENTS_TABLE} SET state=? WHERE originator_version=?", (prev + digest + payload, index))
            prev = digest
    serial, parallel = _audit(path, None), _audit(path, prefetcher)
    assert serial.failure == parallel.failure
    assert (parallel.failure.index, parallel.failure.code) == (victim, "unauthorized_spend")
