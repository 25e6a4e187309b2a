"""Where and why a replay stops: the index, kind, code and detail of each failure and
finding, and the state left at the last good record. Mutation testing found these
unasserted (docs/mutation.md): a report naming the wrong record sends the reader to it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import events, store as store_module
from ledger.events import Deposit, Genesis
from ledger.node import Node
from ledger.replay import Anchor, Failure, Finding, Replay, audit, replay
from ledger.store import EventStore, Record, Snapshot, StoreError
from proofs.errors import DecodeError
from proofs.payment import deposit_tx, encode
from specs.hooks import Violation
from tests.conftest import ADDRS, ETH, VC


def two_events() -> EventStore:
    """An in-memory log of a genesis and one deposit, both accepted."""
    node = Node(EventStore(None))
    assert all(o.accepted for o in node.submit([Genesis(VC, ()), Deposit(1, encode(deposit_tx(ADDRS[0], ETH, 100)))]))
    return node.store


def stopped_after_two(result: Replay, store: EventStore) -> None:
    """The replay kept the state, count, head and kinds of the last good record, record 1."""
    assert result.count == 2 and result.state.event_count == 2
    assert result.head_hash == store.record_at(1).hash == result.state.log_head
    assert dict(result.kinds) == {"genesis": 1, "deposit": 1}


class Passes:
    """A hook that passes every event, or reports `violation` at event `at`."""

    def __init__(self, at: int = -1, violation: Violation | None = None) -> None:
        self.at, self.violation = at, violation

    def __call__(self, index, before, event, after):  # type: ignore[no-untyped-def]
        return self.violation if index == self.at else None

    def finish(self, index, state):  # type: ignore[no-untyped-def]
        return None


def test_an_undecodable_record_fails_at_its_index_under_its_topic():
    store = two_events()
    store.append([("payment", b"\x01\x02")])
    with pytest.raises(DecodeError) as why:
        events.decode(b"\x01\x02")
    result = replay(store)
    assert result.failure == Failure(2, "payment", why.value.reason, why.value.detail)
    stopped_after_two(result, store)


def test_a_rejected_event_fails_with_the_rules_code_and_detail():
    store = two_events()
    store.append([("genesis", events.encode(Genesis(VC, ())))])
    result = replay(store)
    assert result.failure == Failure(2, "genesis", "genesis_repeated", "a ledger has one genesis, its first event")
    stopped_after_two(result, store)


def test_a_record_under_another_events_topic_names_both():
    store = two_events()
    store.append([("deposit", events.encode(Genesis(VC, ())))])
    result = replay(store)
    assert result.failure == Failure(2, "deposit", "topic_mismatch", "record holds a genesis event")
    stopped_after_two(result, store)


def test_a_hook_violation_fails_at_its_event_and_keeps_the_state_before_it():
    store = two_events()
    store.append([("deposit", events.encode(Deposit(2, encode(deposit_tx(ADDRS[1], ETH, 5)))))])
    result = replay(store, hook=Passes(2, Violation("INV-X", 2, "made up")))
    assert result.failure == Failure(2, "deposit", "INV-X", "made up")
    stopped_after_two(result, store)


def filled(store: EventStore) -> EventStore:
    assert all(o.accepted for o in Node(store).submit([Genesis(VC, ()), Deposit(1, encode(deposit_tx(ADDRS[0], ETH, 100)))]))
    store.broken = True  # type: ignore[attr-defined]
    return store


def test_the_first_bad_record_stops_the_replay_whatever_page_follows(monkeypatch):
    """Records are read a page at a time; a failure in one page must end the fold, not let the
    next page overwrite it (with `missing_record`, the verified count having stopped)."""
    monkeypatch.setattr(store_module, "READ_PAGE", 2)
    store = two_events()
    store.append([("genesis", events.encode(Genesis(VC, ())))])  # record 2, refused
    store.append([("deposit", events.encode(Deposit(2, encode(deposit_tx(ADDRS[1], ETH, 5)))))] * 3)  # pages 2 and 3
    result = replay(store)
    assert result.failure == Failure(2, "genesis", "genesis_repeated", "a ledger has one genesis, its first event")
    stopped_after_two(result, store)


def test_a_non_canonical_encoding_is_caught_even_if_the_codec_accepted_it(monkeypatch):
    """The record's hash covers its bytes; the state's head hash covers the event's canonical
    encoding. Were the codec ever lenient (here: two trailing junk bytes ignored), the two differ."""
    store = two_events()
    deposit = events.encode(Deposit(2, encode(deposit_tx(ADDRS[1], ETH, 5))))
    store.append([("deposit", deposit + b"\xee\xee")])
    strict = events.decode
    monkeypatch.setattr(events, "decode", lambda raw: strict(raw.removesuffix(b"\xee\xee")))
    result = replay(store)
    assert result.failure == Failure(2, "deposit", "non_canonical_event",
                                     "the record's bytes are not the event's canonical encoding")
    stopped_after_two(result, store)


class FailsAfterOnePage(EventStore):
    """A store whose file, once `broken`, fails after its first page of records."""

    broken = False

    def read_pages(self, start: int = 0, stop: int | None = None) -> Iterator[list[Record]]:
        pages = super().read_pages(start, stop)
        if not self.broken:
            yield from pages
            return
        yield next(pages)
        raise StoreError("unreadable_ledger", "DatabaseError: disk image is malformed")


def test_a_storage_error_fails_where_the_replay_got_to():
    store = filled(FailsAfterOnePage(None))
    result = replay(store)
    assert result.failure == Failure(2, "storage", "unreadable_ledger", "DatabaseError: disk image is malformed")
    stopped_after_two(result, store)


# --- snapshots the audit holds the log to ----------------------------------------------------

def mark(store: EventStore, index: int, head_hash: bytes) -> None:
    """A snapshot row (its bytes need not verify: the marks alone say how far the log reached)."""
    store.save_snapshot(Snapshot(index, head_hash, bytes(32), b""))


def test_a_log_shorter_than_a_snapshot_is_truncated_at_its_end():
    store = two_events()
    mark(store, 2, store.record_at(1).hash)  # the checkpoint would be record 2, which is missing
    report = audit(store, Passes())
    assert report.failure == Failure(2, "end of log", "log_truncated", "a snapshot was taken after 2 events")


def test_a_rewritten_history_is_named_at_the_record_the_snapshot_followed():
    store = two_events()
    store.append([("deposit", events.encode(Deposit(2, encode(deposit_tx(ADDRS[1], ETH, 5)))))])
    mark(store, 0, b"\x07" * 32)  # before any record: nothing to compare
    mark(store, 1, store.record_at(0).hash)  # agrees
    mark(store, 2, b"\x09" * 32)  # the log's record 1 is not what this snapshot followed
    report = audit(store, Passes())
    assert report.failure == Failure(1, "deposit", "snapshot_mismatch", "history differs from the snapshot taken here")


@pytest.mark.parametrize("older", [False, True])
def test_snapshots_where_and_past_where_the_replay_stopped_are_left_to_its_failure(older):
    store = two_events()
    store.append([("genesis", events.encode(Genesis(VC, ())))])  # record 2 is refused
    if older:  # before the failure: still checked, past the newer ones (marks are saved in index order)
        mark(store, 1, store.record_at(0).hash)
    mark(store, 2, store.record_at(1).hash)
    mark(store, 7, b"\x01" * 32)
    report = audit(store, Passes())
    assert report.failure is not None and report.failure.index == 2
    assert [(f.index, f.code) for f in report.findings] == ([(1, "snapshot_corrupt")] if older else [])


def test_a_snapshot_the_log_does_not_vouch_for_is_a_finding_at_its_index():
    store = two_events()
    mark(store, 1, store.record_at(0).hash)  # record 1 is a deposit, not a checkpoint of it
    report = audit(store, Passes())
    assert report.failure is None
    assert [(f.index, f.kind, f.code) for f in report.findings] == [(1, "snapshot", "snapshot_corrupt")]


class SnapshotsUnreadable(EventStore):
    """A store whose snapshot table, once `broken`, cannot be read."""

    broken = False

    def snapshots_newest_first(self) -> Iterator[Snapshot]:
        if self.broken:
            raise StoreError("unreadable_ledger", "OperationalError: no such table")
        yield from super().snapshots_newest_first()


def test_an_unreadable_snapshot_table_is_a_finding_at_the_end_of_the_log():
    store = filled(SnapshotsUnreadable(None))
    report = audit(store, Passes())
    assert report.findings == (Finding(2, "snapshot", "unreadable_ledger", "OperationalError: no such table"),)


def test_root_chain_findings_and_anchors_are_added_to_the_logs_own():
    store = two_events()
    mark(store, 1, store.record_at(0).hash)
    report = audit(store, Passes())
    own = report.findings
    extra_finding, extra_anchor = Finding(1, "deposit", "deposit_missing_from_log", "x"), Anchor(1, "root chain", "y")
    joined = report.with_root_chain([extra_finding], [extra_anchor])
    assert joined.findings == (*own, extra_finding) and len(own) == 1
    assert joined.anchors == (*report.anchors, extra_anchor) and joined.anchored_through == 1
    assert (joined.events, joined.head_hash, joined.value, joined.failure) == (report.events, report.head_hash,
                                                                              report.value, report.failure)
