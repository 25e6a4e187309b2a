"""Fuzz whole stored logs through replay and audit (ledger/replay.py), records as arbitrary bytes.

A store is filled with records as a broken disk or a forger could leave them: valid
records, edited payloads (re-chained or not), swapped, dropped, repeated or foreign
records, index gaps, arbitrary blobs where prev hash, hash and event bytes belong, and
snapshot marks. Contract: `replay` and `audit` (with the invariant catalogue, as `omg
audit` runs it) return, never raise; a stop is a Failure with a code; a clean audit
applied every record."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eventsourcing.persistence import StoredEvent
from ledger import events
from ledger.events import BlockSubmitted, ExitProcessed, ExitStarted, FeeRule, Genesis, Payment
from ledger.node import Node
from ledger.replay import audit, replay
from ledger.store import LEDGER_ID, SNAPSHOT_MARKS_ID, EventStore, record_hash
from proofs.errors import DecodeError
from proofs.payment import deposit_tx, encode, encode_utxo_pos, unsigned_bytes
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, VC, out, signed
from tests.fuzz.harness import SHORT, code_of, mutated
from tests.fuzz.test_fuzz_events import any_event

KINDS = sorted(events.EVENT_TYPES)
RAW = 1  # a record's flag: its bytes are the whole stored blob, not chained


def _valid_log() -> list[tuple[str, bytes]]:
    """Genesis with a fee, two deposits, payments, a sealed and submitted block, an exit paid."""
    node = Node(EventStore())
    d1, d2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)
    node.submit([Genesis(VC, (FeeRule(1, ETH, 1),))])
    node.submit([events.Deposit(1, encode(deposit_tx(ADDRS[0], ETH, 100))), events.Deposit(2, encode(deposit_tx(ADDRS[1], ETH, 50)))])
    exiting = signed([d2], [out(2, 49)], [1])
    node.submit([Payment(signed([d1], [out(1, 60), out(0, 39)], [0])), Payment(exiting)])
    node.seal()
    block = node.state.blocks[1000]
    exit_ = ExitStarted(1, encode_utxo_pos(1000, 1, 0), unsigned_bytes(exiting))
    node.submit([BlockSubmitted(1000, block.root), exit_, ExitProcessed(1, True)])
    log = [(r.topic, r.payload) for r in node.store.read()]
    assert len(log) >= 10, "the scenario's events must all be accepted"
    return log


VALID = _valid_log()


def stored(records: list[tuple[int, int, str, bytes]], marks: list[tuple[int, bytes]]) -> EventStore:
    """A store holding exactly `records` (flags, index skip, topic, bytes) and snapshot `marks`."""
    store = EventStore()
    prev, index, rows = bytes(32), 0, []
    for flags, skip, topic, data in records:
        index += skip
        blob = data if flags & RAW else prev + record_hash(prev, index, data) + data
        rows.append(StoredEvent(LEDGER_ID, index, topic, blob))
        prev, index = blob[32:64], index + 1
    if rows:
        store.events.insert_events(rows)
    if marks:
        store.snapshots.insert_events([StoredEvent(SNAPSHOT_MARKS_ID, i, "snapshot_mark", h) for i, h in dict(marks).items()])
    return store


def check(records: list[tuple[int, int, str, bytes]], marks: list[tuple[int, bytes]]) -> None:
    result = replay(stored(records, marks))
    if result.failure is not None:
        code_of(result.failure)
    else:
        assert result.count == len(records)
    report = audit(stored(records, marks), InvariantHook(full_every=1))
    if report.failure is not None:
        code_of(report.failure)
        assert 0 <= report.failure.index <= len(records)
    else:
        assert report.events == len(records) == result.count


def _topic(selector: int, data: bytes) -> str:
    """Selector 0: the kind the bytes claim (a record as written); else a fixed kind, or a foreign topic."""
    if selector == 0:
        try:
            return events.decode(data).KIND
        except DecodeError:
            return "?"
    return KINDS[selector - 1] if selector <= len(KINDS) else f"topic-{selector}"


def TestOneInput(data: bytes) -> None:
    """Records as [flags, skip, topic selector, length (2 bytes), bytes]..., marks after a 0xFF flags byte."""
    records, marks = [], []
    while len(data) >= 5 and data[0] != 0xFF:
        flags, skip, selector, size = data[0], data[1] % 3, data[2], int.from_bytes(data[3:5], "big")
        payload, data = data[5 : 5 + size], data[5 + size :]
        records.append((flags & RAW, skip, _topic(selector, payload), payload))
    data = data[1:]
    while len(data) >= 2:
        marks.append((data[0], data[1:33]))
        data = data[33:]
    check(records, marks)


def seeds() -> list[bytes]:
    log = b"".join(bytes([0, 0, 0]) + len(payload).to_bytes(2, "big") + payload for _, payload in VALID)
    return [log, log + b"\xff\x03" + bytes(32)]


@st.composite
def logs(draw: st.DrawFn) -> list[tuple[int, int, str, bytes]]:
    """The valid log cut somewhere, then edited record by record."""
    records = [(0, 0, topic, payload) for topic, payload in VALID[: draw(st.integers(0, len(VALID)))]]
    for _ in range(draw(st.integers(0, 3))):
        edit = draw(st.sampled_from(("payload", "raw", "topic", "swap", "drop", "repeat", "gap")))
        if not records:
            break
        at = draw(st.integers(0, len(records) - 1))
        flags, skip, topic, payload = records[at]
        if edit == "payload":
            records[at] = (flags, skip, topic, draw(mutated(st.just(payload))))
        elif edit == "raw":
            records[at] = (RAW, skip, topic, draw(st.binary(max_size=80)))
        elif edit == "topic":
            records[at] = (flags, skip, draw(st.sampled_from(KINDS)), payload)
        elif edit == "swap":
            other = draw(st.integers(0, len(records) - 1))
            records[at], records[other] = records[other], records[at]
        elif edit == "drop":
            del records[at]
        elif edit == "repeat":
            records.insert(at, records[at])
        else:
            records[at] = (flags, 1, topic, payload)
    for event in draw(st.lists(any_event, max_size=3)):  # whatever a log may go on with
        records.append((0, 0, event.KIND, events.encode(event)))
    return records


marks = st.lists(st.tuples(st.integers(0, 14), st.binary(max_size=32)), max_size=2)


def test_the_valid_log_audits_clean():
    check([(0, 0, topic, payload) for topic, payload in VALID], [])
    assert audit(stored([(0, 0, t, p) for t, p in VALID], []), InvariantHook(full_every=1)).ok


@SHORT
@given(logs(), marks)
def test_replay_and_audit_keep_the_contract(records, snapshot_marks):
    check(records, snapshot_marks)
