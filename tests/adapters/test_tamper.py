"""The tamper property: any single-byte change, deletion, insertion, reordering or consistent
rewrite (hashes recomputed) of a stored log is either caught by the audit at the tampered index
or falls after the last anchored event, where the report says the history is unanchored.

The log is a seeded proof-of-stake run: its validator commits sign the log head, so to an auditor
who trusts its validators they anchor every event up to each committed block's seal."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.simulation import Config, Simulation, validator_keys
from ledger.history import record_hash
from ledger.replay import AuditReport, TrustedValidators, audit
from ledger.store import EVENTS_TABLE, EventStore
from proofs import bls
from specs.hooks import InvariantHook

Rows = dict[int, tuple[str, bytes]]
CONFIG = Config(blocks=4, epoch_blocks=2, payments_per_block=3)
TRUSTED = TrustedValidators.of(frozenset(bls.public_key(v.bls_key) for v in validator_keys(CONFIG)))


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tamper") / "pos.db"
    Simulation(path, CONFIG).run()
    return path


def rows_of(path: Path) -> Rows:
    with sqlite3.connect(path) as conn:
        return {v: (t, s) for v, t, s in conn.execute(f"SELECT originator_version, topic, state FROM {EVENTS_TABLE}")}


def write(path: Path, rows: Rows) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"DELETE FROM {EVENTS_TABLE}")
        conn.executemany(f"INSERT INTO {EVENTS_TABLE} VALUES (?,?,?,?)",
                         [(LEDGER_HEX, v, t, s) for v, (t, s) in sorted(rows.items())])


def audited(path: Path) -> AuditReport:
    store = EventStore(path, read_only=True)
    try:
        return audit(store, InvariantHook(full_every=50), trusted=TRUSTED)
    finally:
        store.close()


def flip(rows: Rows, at: int, offset: int) -> Rows:
    topic, state = rows[at]
    changed = bytearray(state)
    changed[offset % len(changed)] ^= 0x01
    return {**rows, at: (topic, bytes(changed))}


def delete(rows: Rows, at: int, _: int) -> Rows:
    return {v: r for v, r in rows.items() if v != at}


def insert(rows: Rows, at: int, offset: int) -> Rows:
    """A copy of another record squeezed in at `at`; everything after shifts up by one."""
    extra = rows[offset % len(rows)]
    return {**{v: r for v, r in rows.items() if v < at}, at: extra, **{v + 1: r for v, r in rows.items() if v >= at}}


def swap(rows: Rows, at: int, _: int) -> Rows:
    if at + 1 not in rows:
        return delete(rows, at, 0)
    return {**rows, at: rows[at + 1], at + 1: rows[at]}


def rewrite(rows: Rows, at: int, offset: int) -> Rows:
    """Record `at` replaced by another record's event, and every hash from there recomputed."""
    payload = rows[offset % len(rows)][1][64:]
    if payload == rows[at][1][64:]:
        return rows
    out, prev = dict(rows), rows[at][1][:32]
    for index in range(at, len(rows)):
        topic, state = (rows[offset % len(rows)][0], payload) if index == at else (rows[index][0], rows[index][1][64:])
        digest = record_hash(prev, index, state)
        out[index] = (topic, prev + digest + state)
        prev = digest
    return out


TAMPERS = {"flip": flip, "delete": delete, "insert": insert, "swap": swap, "rewrite": rewrite}
LEDGER_HEX = ""  # set from the honest file: the originator id the recorder stored


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(tamper=st.sampled_from(sorted(TAMPERS)), where=st.floats(0, 1, exclude_max=True), offset=st.integers(0, 10**6))
def test_tampering_is_caught_at_its_index_or_reported_unanchored(honest, tmp_path_factory, tamper, where, offset):
    global LEDGER_HEX
    with sqlite3.connect(honest) as conn:
        (LEDGER_HEX,) = conn.execute(f"SELECT originator_id FROM {EVENTS_TABLE} LIMIT 1").fetchone()
    rows = rows_of(honest)
    at = int(where * len(rows))
    tampered = TAMPERS[tamper](rows, at, offset)
    if tampered == rows:
        return
    copy = tmp_path_factory.mktemp("copy") / "pos.db"
    shutil.copy(honest, copy)
    write(copy, tampered)
    report = audited(copy)
    assert report.anchored_through < at, f"{tamper} at {at} still reported anchored through {report.anchored_through}"
    if tamper == "rewrite":
        assert report.failure is not None or report.unanchored is not None and report.unanchored[0] <= at
    elif tamper != "delete" or at < len(rows) - 1:
        assert report.failure is not None and report.failure.index == at, (tamper, at, report.failure)


def test_the_honest_log_is_anchored_by_its_commits(honest):
    report = audited(honest)
    assert report.ok and report.anchored_through > 0 and report.kinds["block_committed"] == 4
