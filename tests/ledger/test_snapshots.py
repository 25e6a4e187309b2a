"""Snapshots are caches the log must vouch for: canonical bytes, never executed, never trusted blindly."""
from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import attrs
import pytest
from immutables import Map

from ledger.node import Node
from ledger.replay import audit
from ledger.snapshot import decode_state, encode_state, state_hash
from ledger.store import SNAPSHOTS_TABLE, EventStore, StoreError
from proofs import rlp
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, fill, out


@pytest.fixture
def home(tmp_path) -> Path:
    path = tmp_path / "ledger.db"
    store = EventStore(path)
    fill(Node(store, snapshot_every=10), payments=25, seal_every=6)
    store.close()
    return path


def snapshot_rows(path: Path) -> list[tuple[int, bytes]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(f"SELECT originator_version, state FROM {SNAPSHOTS_TABLE} WHERE topic='snapshot'"
                                 " ORDER BY originator_version"))


def put_snapshot(path: Path, index: int, row: bytes) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {SNAPSHOTS_TABLE} SET state=? WHERE topic='snapshot' AND originator_version=?", (row, index))


def full_replay(path: Path):
    store = EventStore(path, read_only=True)
    try:
        return audit(store, InvariantHook())
    finally:
        store.close()


def restart(path: Path) -> Node:
    store = EventStore(path)
    return Node(store)


def forged(row: bytes) -> bytes:
    """The snapshot's state with key 3 given a fortune, re-encoded and re-hashed consistently:
    everything inside the row agrees with itself; only the log can tell."""
    state = decode_state(row[64:])
    rich = attrs.evolve(state, utxos=state.utxos.set(999_000_000_000, out(3, 10**30)))
    encoded = encode_state(rich)
    return row[:32] + keccak256(encoded) + encoded


def test_a_consistently_forged_snapshot_is_refused_and_the_log_rebuilt(home):
    honest = restart(home).state
    index, row = snapshot_rows(home)[-1]
    put_snapshot(home, index, forged(row))
    node = restart(home)
    assert node.state == honest and 10**30 not in {o.amount for o in node.state.utxos.values()}
    assert (index, "snapshot_not_in_log") in {(i, code) for i, code, _ in node.refused_snapshots}
    assert not node.restored_from.startswith(f"snapshot at event {index}")
    report = full_replay(home)
    assert report.failure is None and (index, "snapshot_not_in_log") in {(f.index, f.code) for f in report.findings}


@pytest.mark.parametrize("offset", [0, 40, 70, -1])  # head hash, state hash, inside the state, its last byte
def test_a_flipped_snapshot_byte_is_refused_without_a_traceback(home, offset):
    honest = restart(home).state
    index, row = snapshot_rows(home)[-1]
    flipped = bytearray(row)
    flipped[offset] ^= 0x01
    put_snapshot(home, index, bytes(flipped))
    node = restart(home)
    assert node.state == honest and node.refused_snapshots[0][0] == index
    assert index in {f.index for f in full_replay(home).findings}


def test_reading_a_snapshot_never_executes_it(home, tmp_path):
    """A crafted row holding a pickle that would run code: the node neither runs it nor crashes."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    index, row = snapshot_rows(home)[-1]
    crafted = pickle.dumps(Payload())
    put_snapshot(home, index, row[:32] + keccak256(crafted) + crafted)
    node = restart(home)
    assert not marker.exists() and node.refused_snapshots[0][:2] == (index, "snapshot_not_in_log")
    assert not marker.exists()


def test_a_snapshot_ahead_of_a_truncated_log_is_not_used(home):
    index, _ = snapshot_rows(home)[-1]
    with sqlite3.connect(home) as conn:
        conn.execute("DELETE FROM ledger_events WHERE originator_version >= ?", (index,))
    node = restart(home)
    assert node.store.count == index and node.refused_snapshots[0][:2] == (index, "snapshot_ahead_of_log")
    assert full_replay(home).failure.code == "log_truncated"


def test_the_codec_round_trips_and_accepts_only_its_own_canonical_bytes(home):
    state = restart(home).state
    encoded = encode_state(state)
    back = decode_state(encoded)
    assert attrs.evolve(back, effects=state.effects) == state and state_hash(back) == keccak256(encoded)
    magic, version, body = rlp.decode(encoded)
    spent = body[4]  # position -> spending event, many entries
    assert len(spent) > 1
    swapped = [*body[:4], [spent[1], spent[0], *spent[2:]], *body[5:]]
    with pytest.raises(DecodeError) as info:
        decode_state(rlp.encode([magic, version, swapped]))
    assert info.value.reason == "malformed_snapshot"
    with pytest.raises(DecodeError) as info:
        decode_state(rlp.encode([magic, rlp.encode_uint(2), body]))
    assert info.value.reason == "unsupported_snapshot_version"
    for junk in (b"", b"\xc0", encoded[:-1], encoded + b"\x00", rlp.encode([b"x", b"\x01", []])):
        with pytest.raises(DecodeError):
            decode_state(junk)


def test_every_state_field_is_encoded():
    """A field added to the state without a codec would be silently dropped from snapshots."""
    state = attrs.evolve(small_state(), in_exit=Map({ETH: 5}), foreign_roots=Map({1000: b"\x01" * 32}),
                         root_cursor=(7, b"\x02" * 32))
    assert decode_state(encode_state(state)) == attrs.evolve(state, effects=decode_state(encode_state(state)).effects)


def test_unclaimed_payouts_are_encoded_only_when_there_are_some():
    """A field added after version 1 is left out while empty: every state without it keeps the
    bytes, and the hash, that logs' checkpoints already commit to."""
    state = small_state()
    owed = attrs.evolve(state, unclaimed=Map({(ADDRS[1], ETH): 7}))
    assert decode_state(encode_state(owed)).unclaimed == owed.unclaimed
    assert state_hash(owed) != state_hash(state)
    _, _, body = rlp.decode(encode_state(state))
    _, _, owed_body = rlp.decode(encode_state(owed))
    assert len(owed_body) == len(body) + 1 and owed_body[:-1] == body
    magic, version, _ = rlp.decode(encode_state(state))
    with pytest.raises(DecodeError):  # written empty, it is not the canonical encoding
        decode_state(rlp.encode([magic, version, [*body, []]]))


def small_state():
    from tests.conftest import deposit, genesis

    return deposit(genesis(), 1, 100)


def test_the_state_hash_commits_to_history_not_only_balances():
    a, b = small_state(), small_state()
    assert state_hash(a) == state_hash(b)
    assert state_hash(attrs.evolve(a, log_head=bytes(32))) != state_hash(a)  # same balances, other history


def test_a_snapshot_that_does_not_add_up_is_refused_even_with_a_rechained_checkpoint(home):
    """The attacker rewrites the snapshot, its checkpoint and every later record consistently:
    the node still refuses a state whose tallies do not recount (the audit fails at the checkpoint)."""
    from ledger import events
    from ledger.events import StateCheckpoint
    from ledger.history import record_hash
    from ledger.store import EVENTS_TABLE
    from specs.hooks import InvariantHook

    index, row = snapshot_rows(home)[-1]
    rich = forged(row)
    with sqlite3.connect(home) as conn:
        rows = {v: (t, s) for v, t, s in conn.execute(f"SELECT originator_version, topic, state FROM {EVENTS_TABLE}")}
        prev = rows[index][1][:32]
        for at in range(index, len(rows)):
            payload = events.encode(StateCheckpoint(rich[32:64])) if at == index else rows[at][1][64:]
            digest = record_hash(prev, at, payload)
            conn.execute(f"UPDATE {EVENTS_TABLE} SET state=? WHERE originator_version=?", (prev + digest + payload, at))
            prev = digest
    put_snapshot(home, index, rich)
    store = EventStore(home)
    with pytest.raises(StoreError) as info:  # refused, then the rebuild meets the false checkpoint
        Node(store, InvariantHook())
    assert info.value.code == "corrupt_log" and f"record {index} (state_checkpoint): checkpoint_mismatch" in str(info.value)
    store.close()


def test_snapshot_rows_of_the_wrong_types_are_refused_not_a_traceback(home):
    with sqlite3.connect(home) as conn:
        conn.execute(f"UPDATE {SNAPSHOTS_TABLE} SET state=NULL WHERE topic='snapshot'")
    node = restart(home)
    assert node.refused_snapshots and node.refused_snapshots[0][1] == "snapshot_corrupt"
    node.store.close()


def test_a_snapshot_row_beyond_the_log_is_a_finding(home):
    with sqlite3.connect(home) as conn:
        conn.execute(f"UPDATE {SNAPSHOTS_TABLE} SET originator_version=99 WHERE topic='snapshot'"
                     f" AND originator_version=(SELECT MAX(originator_version) FROM {SNAPSHOTS_TABLE})")
    report = full_replay(home)
    assert report.failure is None and (99, "snapshot_ahead_of_log") in {(f.index, f.code) for f in report.findings}


def test_an_in_flight_exit_writes_its_end_and_restarts_only_once_it_has_them():
    """`ended` and `restarts` came after version 1: a record that never ended keeps its bytes
    (its nine fields), so every state written before them keeps its hash."""
    from ledger.snapshot import IN_FLIGHT_EXIT
    from ledger.state import InFlightExit

    live = InFlightExit(b"tx", b"\x01" * 32, ((1, out(0, 5)),), (out(1, 5),), reserve=Map({ETH: 2}))
    assert len(rlp.decode(IN_FLIGHT_EXIT.encode(live))) == 9
    for record in (attrs.evolve(live, ended=True), attrs.evolve(live, restarts=2), attrs.evolve(live, ended=True, restarts=1)):
        state = attrs.evolve(small_state(), exits=Map({9: record}))
        assert decode_state(encode_state(state)).exits[9] == record
        assert len(rlp.decode(IN_FLIGHT_EXIT.encode(record))) == (10 if record.restarts == 0 else 11)
    state = attrs.evolve(small_state(), exits=Map({9: live}))
    magic, version, body = rlp.decode(encode_state(state))
    tag, fields = body[17][0][1]
    padded = rlp.encode([magic, version, [*body[:17], [[body[17][0][0], [tag, [*fields, b""]]]], *body[18:]]])
    with pytest.raises(DecodeError):  # `ended` written at its default is not the canonical encoding
        decode_state(padded)
