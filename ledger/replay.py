"""Replay: re-verify a stored log record by record and fold it with the same `apply`.

Used by `omg audit` (from genesis, every invariant after every event) and by a
restarting node (from its latest snapshot). The first bad record is named by its
index, its kind and a stable code; nothing after it is trusted.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import attrs

from ledger import events, witnesses
from ledger.errors import Rejected
from ledger.events import (
    BlockCommitted,
    BlockSealed,
    BlockSubmitted,
    Deposit,
    Genesis,
    Payment,
    RootChainSynced,
    StateCheckpoint,
)
from ledger.exits import unclaimed_by_token
from ledger.fee_votes import undistributed
from ledger.staking import active_set, staked
from ledger.state import GENESIS_STATE, State
from ledger.witnesses import Batch, Prefetcher
from ledger.history import GENESIS_HASH, record_hash
from ledger.snapshot import decode_state
from ledger.store import EventStore, Record, Snapshot, StoreError
from ledger.transition import apply
from proofs import bls
from proofs.eip712 import domain_separator
from proofs.errors import DecodeError
from proofs.keccak import keccak256


class Hook(Protocol):
    """A runtime check (the invariant catalogue): returns a violation or None."""

    def __call__(self, index: int, before: State, event: events.Event, after: State) -> Any: ...

    def finish(self, index: int, state: State) -> Any: ...


@attrs.frozen
class Failure:
    index: int
    kind: str
    code: str
    detail: str


@attrs.define
class Replay:
    """Where a replay got to: the state after the last good record, and why it stopped, if it did."""

    state: State
    count: int  # records verified and applied
    head_hash: bytes
    kinds: Counter = attrs.field(factory=Counter)
    failure: Failure | None = None
    batch: tuple[int, int] | None = None  # (next ordinal, size) while the last record's batch is not whole


def _record_failure(record: Record, expected_index: int, prev_hash: bytes) -> Failure | None:
    if record.index != expected_index:
        return Failure(expected_index, "missing", "missing_record", f"next stored record is {record.index}")
    if len(record.hash) != 32 or not record.topic:
        return Failure(expected_index, record.topic or "?", "malformed_record", "not a record: too short or mistyped")
    if record.prev_hash != prev_hash:
        return Failure(expected_index, record.topic, "chain_broken", "record does not follow the previous one")
    if record.hash != record_hash(prev_hash, expected_index, record.payload):
        return Failure(expected_index, record.topic, "record_tampered", "record bytes do not match its hash")
    return None


def _batch_failure(record: Record, open_batch: tuple[int, int] | None) -> Failure | None:
    """A record goes on the batch the last one left open, or (when that was whole) starts one:
    else a batch was torn inside (its last records lost) and the log written on after it."""
    batch = record.batch or (0, 1)  # an unframed record, as older stores wrote: a batch of its own
    if batch == (open_batch or (0, batch[1])):
        return None
    said = (f"it is record {batch[0]} of a batch of {batch[1]}" if record.batch else "it is unframed")
    wanted = (f"record {open_batch[0]} of a batch of {open_batch[1]}" if open_batch else "the first of a batch")
    return Failure(record.index, record.topic, "torn_batch", f"{said}; the log's batches need {wanted} here")


def _apply_record(replay: Replay, record: Record, hook: Hook | None) -> Failure | None:
    index = replay.count
    if failure := _record_failure(record, index, replay.head_hash) or _batch_failure(record, replay.batch):
        return failure
    try:
        event = events.decode(record.payload)
    except DecodeError as exc:
        return Failure(index, record.topic, exc.reason, exc.detail)
    if event.KIND != record.topic:
        return Failure(index, record.topic, "topic_mismatch", f"record holds a {event.KIND} event")
    try:
        after = apply(replay.state, event)
    except Rejected as exc:
        return Failure(index, event.KIND, exc.code, exc.detail)
    if after.log_head != record.hash:
        return Failure(index, event.KIND, "non_canonical_event", "the record's bytes are not the event's canonical encoding")
    if hook is not None and (violation := hook(index, replay.state, event, after)):
        return Failure(index, event.KIND, violation.invariant, violation.detail)
    replay.state, replay.count, replay.head_hash = after, index + 1, record.hash
    ordinal, size = record.batch or (0, 1)
    replay.batch = (ordinal + 1, size) if ordinal + 1 < size else None
    replay.kinds[event.KIND] += 1
    return None


def replay(
    store: EventStore,
    start: Replay | None = None,
    hook: Hook | None = None,
    progress: Callable[[int], None] | None = None,
    prefetcher: Prefetcher | None = None,
) -> Replay:
    """Verify and apply every record after `start` (default: genesis), stopping at the first bad one.
    With a `prefetcher`, the next page's signatures are recovered on other cores meanwhile."""
    result = start or Replay(GENESIS_STATE, 0, GENESIS_HASH)
    try:
        separator = _domain_separator(store, result.state)
        for page, batch in _pages_ahead(store.read_pages(result.count), prefetcher, separator):
            if _fold_page(result, page, batch, hook):
                break
            if progress is not None:
                progress(result.count)
    except StoreError as exc:  # the file itself failed us: name where
        result.failure = Failure(result.count, "storage", exc.code, exc.detail)
    witnesses.forget()
    return result


def _fold_page(result: Replay, page: list[Record], batch: Batch | None, hook: Hook | None) -> bool:
    """Apply a page of records; True (and `result.failure` set) at the first bad one."""
    payments = 0
    for record in page:
        if batch is not None and record.topic == Payment.KIND:
            batch.ready(payments)
            payments += 1
        if failure := _apply_record(result, record, hook):
            result.failure = failure
            return True
    return False


def _domain_separator(store: EventStore, state: State) -> bytes | None:
    """The separator signatures are checked under: known once genesis is applied, and
    read ahead from record 0 otherwise (a wrong guess only wastes prefetching)."""
    if state.params is not None:
        return state.params.domain_separator
    first = store.record_at(0)
    try:
        genesis = events.decode(first.payload) if first is not None else None
    except DecodeError:
        return None
    return domain_separator(genesis.verifying_contract) if isinstance(genesis, Genesis) else None


def _pages_ahead(
    pages: Iterator[list[Record]], prefetcher: Prefetcher | None, separator: bytes | None
) -> Iterator[tuple[list[Record], Batch | None]]:
    """Each page with its witnesses batch, submitted one page before the fold reaches it.
    A page read before the store failed is still folded: the failure is named where it struck."""
    pending = None
    try:
        for page in pages:
            batch = None
            if prefetcher is not None and separator is not None:
                raws = [_payment_tx(r) for r in page if r.topic == Payment.KIND]
                batch = prefetcher.submit(raws, separator)
            if pending is not None:
                yield pending
            pending = (page, batch)
    except StoreError:
        if pending is not None:
            yield pending
        raise
    if pending is not None:
        yield pending


def _payment_tx(record: Record) -> bytes:
    try:
        event = events.decode(record.payload)
    except DecodeError:
        return b""
    return event.tx if isinstance(event, Payment) else b""


# --- snapshots: caches the log must vouch for ----------------------------------------------


class SnapshotRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


def check_snapshot_vouched(store: EventStore, snapshot: Snapshot) -> None:
    """The row's bytes hash to its state hash, and the log's record at its index is a
    state_checkpoint of that hash following its head; else `SnapshotRefused`. Decodes nothing."""
    if keccak256(snapshot.encoded) != snapshot.state_hash:
        raise SnapshotRefused("snapshot_corrupt", "the stored bytes do not hash to the snapshot's state hash")
    record = store.record_at(snapshot.index)
    if record is None:
        raise SnapshotRefused("snapshot_ahead_of_log", f"the log has no event {snapshot.index} to vouch for it")
    try:
        event = events.decode(record.payload)
    except DecodeError as exc:
        raise SnapshotRefused("snapshot_not_in_log", f"event {snapshot.index} is unreadable: {exc.reason}") from None
    if not isinstance(event, StateCheckpoint) or event.state_hash != snapshot.state_hash:
        raise SnapshotRefused("snapshot_not_in_log", f"event {snapshot.index} is not a checkpoint of this state")
    if record.prev_hash != snapshot.head_hash:
        raise SnapshotRefused("snapshot_not_in_log", "the checkpoint follows another history")


def verified_snapshot(store: EventStore, snapshot: Snapshot) -> State:
    """The snapshot's state, only once the log vouches for its bytes and they decode canonically
    to a state at that index and head (the replay from it then re-derives the checkpoint)."""
    check_snapshot_vouched(store, snapshot)
    try:
        state = decode_state(snapshot.encoded)
    except DecodeError as exc:
        raise SnapshotRefused(exc.reason, exc.detail) from None
    if (state.event_count, state.log_head) != (snapshot.index, snapshot.head_hash):
        raise SnapshotRefused("snapshot_not_in_log", "the state was not taken at this index and head")
    return state


# --- the audit ----------------------------------------------------------------------------


@attrs.frozen
class Finding:
    """Something the auditor must see that does not stop the replay: the history applies, but a
    cache or a root-chain fact contradicts it."""

    index: int
    kind: str
    code: str
    detail: str


@attrs.frozen
class Anchor:
    """Something outside the file's control vouches for events 0..`through` (inclusive)."""

    through: int
    source: str  # "trusted validators", "root chain": what kind of outside evidence
    by: str  # the piece of evidence


@attrs.frozen
class TrustedValidators:
    """The validators an auditor trusts, named from outside the file (their BLS keys), and how
    many of them must sign a commit for it to anchor. Without them a commit is self-attested:
    the log registers its own validators, so a ledger forged from genesis brings its own."""

    bls_keys: frozenset[bytes]
    quorum: int

    @classmethod
    def of(cls, bls_keys: frozenset[bytes], quorum: int | None = None) -> "TrustedValidators":
        """Default quorum: more than 2/3 of the keys (counted, not weighed: the log's stakes are its own word)."""
        quorum = 2 * len(bls_keys) // 3 + 1 if quorum is None else quorum
        if not 1 <= quorum <= len(bls_keys):
            raise ValueError(f"a quorum of {quorum} out of {len(bls_keys)} trusted validators")
        return cls(bls_keys, quorum)


def commit_signer_keys(before: State, event: BlockCommitted) -> set[bytes]:
    """The BLS keys of a commit's signers: its bitmap over the active set it was applied to."""
    assert before.staking is not None, "a commit applies only once staking is open"
    validators = active_set(before.staking)
    return {validators[i][1].bls_key for i in bls.signers(event.signers, len(validators))}


class Auditor:
    """The audit's hook: the invariant hook, plus what the audit learns on the way — where each
    child block was sealed, which roots the root chain holds that the ledger never sealed, and
    which validator commits anchor the log (only those a quorum of `trusted` validators signed)."""

    def __init__(self, invariants: Hook, trusted: TrustedValidators | None = None) -> None:
        self.invariants, self.trusted = invariants, trusted
        self.block_events: dict[int, int] = {}  # blknum -> index of its block_sealed or deposit event
        self.cursor_event = -1  # index of the last root_chain_synced event
        self.findings: list[Finding] = []
        self.anchors: list[Anchor] = []
        self.unanchoring_commits: list[int] = []  # valid commits that anchor nothing: untrusted or short of the quorum

    @property
    def checked(self) -> dict[str, int]:
        return dict(getattr(self.invariants, "checked", {}))

    def __call__(self, index: int, before: State, event: events.Event, after: State) -> Any:
        if isinstance(event, (BlockSealed, Deposit)):
            self.block_events[event.blknum] = index
        elif isinstance(event, RootChainSynced):
            self.cursor_event = index
        elif isinstance(event, BlockSubmitted) and event.blknum in after.foreign_roots:
            sealed = after.blocks.get(event.blknum)
            self.findings.append(Finding(index, event.KIND, "foreign_root", (
                f"the root chain holds 0x{event.root.hex()} for block {event.blknum}; the ledger "
                + (f"sealed 0x{sealed.root.hex()}" if sealed else "sealed no such block"))))
        elif isinstance(event, BlockCommitted):
            self._commit(index, before, event)
        return self.invariants(index, before, event, after)

    def _commit(self, index: int, before: State, event: BlockCommitted) -> None:
        """`apply` verified the aggregate signature; it anchors only if trusted keys signed it."""
        trusted = self.trusted
        signed = len(commit_signer_keys(before, event) & trusted.bls_keys) if trusted is not None else 0
        if trusted is None or signed < trusted.quorum:
            self.unanchoring_commits.append(index)
            return
        self.anchors.append(Anchor(self.block_events[event.blknum], "trusted validators",
                                   f"the BLS commit of block {event.blknum} (event {index}) signs the log head;"
                                   f" {signed} of the {len(trusted.bls_keys)} trusted validators signed it"
                                   f" (quorum {trusted.quorum})"))

    def finish(self, index: int, state: State) -> Any:
        return self.invariants.finish(index, state)


@attrs.frozen
class AuditReport:
    events: int
    head_hash: str
    kinds: dict[str, int]
    blocks: int
    deposit_blocks: int
    value: dict[str, dict[str, int]]  # token hex -> deposited / unspent / fees / in_exit / exited / unbacked / unclaimed / staked
    invariants_checked: dict[str, int]
    failure: Failure | None
    findings: tuple[Finding, ...] = ()
    anchors: tuple[Anchor, ...] = ()
    block_events: dict[int, int] = attrs.field(factory=dict)  # blknum -> index of its seal or deposit
    cursor_event: int = -1  # index of the last root_chain_synced event
    unanchoring_commits: tuple[int, ...] = ()  # valid commits no quorum of trusted validators signed
    trusted: TrustedValidators | None = None
    final_state: State | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def ok(self) -> bool:
        """Every record verified and nothing the auditor must look at (unanchored events are
        reported apart: they may be honest, but nothing outside the file vouches for them)."""
        return self.failure is None and not self.findings

    @property
    def anchored_through(self) -> int:
        """The last event something outside the file vouches for (-1: none)."""
        return max((a.through for a in self.anchors), default=-1)

    @property
    def unanchored(self) -> tuple[int, int] | None:
        """(first, last) index of the verified events no anchor covers, if any."""
        last = self.events - 1
        return (self.anchored_through + 1, last) if last > self.anchored_through else None

    def with_root_chain(self, findings: list[Finding], anchors: list[Anchor]) -> "AuditReport":
        return attrs.evolve(self, findings=(*self.findings, *findings), anchors=(*self.anchors, *anchors))


def _truncation(store: EventStore, result: Replay) -> Failure | None:
    """Snapshots record how far the log reached: a log now shorter than that lost its tail,
    and a log whose record differs from a snapshot's head hash was rewritten."""
    for index, head_hash in store.snapshot_marks():
        if index >= result.count:  # a snapshot's checkpoint is record `index`
            return Failure(result.count, "end of log", "log_truncated", f"a snapshot was taken after {index} events")
        record = store.record_at(index - 1) if index else None
        if record is not None and record.hash != head_hash:
            return Failure(index - 1, record.topic, "snapshot_mismatch", "history differs from the snapshot taken here")
    return None


def _value(state: State) -> dict[str, dict[str, int]]:
    unclaimed = unclaimed_by_token(state)
    tokens = sorted(set(state.deposited.keys()) | set(state.fees_collected.keys()) | set(state.unbacked.keys())
                    | set(unclaimed))
    return {
        "0x" + token.hex(): {
            "deposited": state.deposited.get(token, 0),
            "unspent": state.unspent.get(token, 0),
            "fees": undistributed(state).get(token, 0) + state.open_block_fees.get(token, 0),
            "in_exit": state.in_exit.get(token, 0),
            "exited": state.exited.get(token, 0),
            "unbacked": state.unbacked.get(token, 0),
            "unclaimed": unclaimed.get(token, 0),
            "staked": staked(state).get(token, 0),
        }
        for token in tokens
    }


def _snapshot_findings(store: EventStore, result: Replay) -> list[Finding]:
    """Every snapshot row the file holds, checked against the log the replay verified."""
    findings = []
    try:
        for snapshot in store.snapshots_newest_first():
            if snapshot.index >= result.count and result.failure is not None:
                continue  # beyond where the replay stopped: the failure speaks for it
            try:
                check_snapshot_vouched(store, snapshot)
            except SnapshotRefused as exc:
                findings.append(Finding(snapshot.index, "snapshot", exc.code, exc.detail))
    except StoreError as exc:
        findings.append(Finding(result.count, "snapshot", exc.code, exc.detail))
    return findings


def _torn_findings(store: EventStore) -> list[Finding]:
    """A batch whose last records the disk lost: the replay stopped before it; the auditor is told."""
    torn = store.torn
    if torn is None:
        return []
    return [Finding(torn.first, "torn batch", "torn_batch", (
        f"records {torn.first}..{torn.last} are {torn.last - torn.first + 1} of a batch of {torn.size}: its write was"
        " torn, so none of it was acknowledged; the audit stops before it, and a node opening the file drops it"))]


def _stray_findings(store: EventStore) -> list[Finding]:
    """Rows of the ledger's tables that are no part of it: the replay never reads them, so the
    auditor is told, row by row (the first few, then how many more)."""
    try:
        shown, total = store.stray_rows()
    except StoreError as exc:
        return [Finding(0, "stray row", exc.code, exc.detail)]
    findings = [Finding(row.index if isinstance(row.index, int) else -1, "stray row", "stray_row",
                        f"a row of {row.table} (originator {row.originator_id}, index {row.index!r}, topic"
                        f" {row.topic!r}) that is no part of the ledger: never read")
                for row in shown]
    if total > len(shown):
        findings.append(Finding(-1, "stray row", "stray_row", f"and {total - len(shown)} more such rows"))
    return findings


def audit(
    store: EventStore,
    hook: Hook,
    progress: Callable[[int], None] | None = None,
    prefetcher: Prefetcher | None = None,
    trusted: TrustedValidators | None = None,
) -> AuditReport:
    """Replay the whole log from genesis with `hook` after every event; report the first failure,
    the findings (foreign roots, snapshots the log does not vouch for) and the anchors (validator
    commits only when a quorum of the `trusted` validators signed them)."""
    auditor = Auditor(hook, trusted)
    result = replay(store, hook=auditor, progress=progress, prefetcher=prefetcher)
    failure = result.failure or _truncation(store, result)
    if failure is None and result.count == 0:
        failure = Failure(0, "end of log", "no_genesis", "the log holds no event: a ledger starts with its genesis")
    if failure is None and (violation := auditor.finish(result.count - 1, result.state)):
        failure = Failure(result.count - 1, "final state", violation.invariant, violation.detail)
    state = result.state
    deposit_blocks = sum(1 for block in state.blocks.values() if block.is_deposit)
    return AuditReport(
        events=result.count,
        head_hash="0x" + result.head_hash.hex(),
        kinds={kind: result.kinds[kind] for kind in events.EVENT_TYPES if result.kinds[kind]},
        blocks=len(state.blocks) - deposit_blocks,
        deposit_blocks=deposit_blocks,
        value=_value(state),
        invariants_checked=auditor.checked,
        failure=failure,
        findings=(*_torn_findings(store), *auditor.findings, *_snapshot_findings(store, result), *_stray_findings(store)),
        anchors=tuple(auditor.anchors),
        block_events=auditor.block_events,
        cursor_event=auditor.cursor_event,
        unanchoring_commits=tuple(auditor.unanchoring_commits),
        trusted=trusted,
        final_state=state,
    )

