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
from ledger.events import Genesis, Payment
from ledger.fee_votes import undistributed
from ledger.staking import staked
from ledger.state import GENESIS_STATE, State
from ledger.witnesses import Batch, Prefetcher
from ledger.store import GENESIS_HASH, EventStore, Record, record_hash
from ledger.transition import apply
from proofs.eip712 import domain_separator
from proofs.errors import DecodeError


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


def _record_failure(record: Record, expected_index: int, prev_hash: bytes) -> Failure | None:
    if record.index != expected_index:
        return Failure(expected_index, "missing", "missing_record", f"next stored record is {record.index}")
    if record.prev_hash != prev_hash:
        return Failure(expected_index, record.topic, "chain_broken", "record does not follow the previous one")
    if record.hash != record_hash(prev_hash, expected_index, record.payload):
        return Failure(expected_index, record.topic, "record_tampered", "record bytes do not match its hash")
    return None


def _apply_record(replay: Replay, record: Record, hook: Hook | None) -> Failure | None:
    index = replay.count
    if failure := _record_failure(record, index, replay.head_hash):
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
    if hook is not None and (violation := hook(index, replay.state, event, after)):
        return Failure(index, event.KIND, violation.invariant, violation.detail)
    replay.state, replay.count, replay.head_hash = after, index + 1, record.hash
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
    separator = _domain_separator(store, result.state)
    for page, batch in _pages_ahead(store.read_pages(result.count), prefetcher, separator):
        payments = 0
        for record in page:
            if batch is not None and record.topic == Payment.KIND:
                batch.ready(payments)
                payments += 1
            if failure := _apply_record(result, record, hook):
                result.failure = failure
                break
        if progress is not None:
            progress(result.count)
        if result.failure is not None:
            break
    witnesses.forget()
    return result


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
    """Each page with its witnesses batch, submitted one page before the fold reaches it."""
    pending = None
    for page in pages:
        batch = None
        if prefetcher is not None and separator is not None:
            raws = [_payment_tx(r) for r in page if r.topic == Payment.KIND]
            batch = prefetcher.submit(raws, separator)
        if pending is not None:
            yield pending
        pending = (page, batch)
    if pending is not None:
        yield pending


def _payment_tx(record: Record) -> bytes:
    try:
        event = events.decode(record.payload)
    except DecodeError:
        return b""
    return event.tx if isinstance(event, Payment) else b""


@attrs.frozen
class AuditReport:
    events: int
    head_hash: str
    kinds: dict[str, int]
    blocks: int
    deposit_blocks: int
    value: dict[str, dict[str, int]]  # token hex -> deposited / unspent / fees / in_exit / exited / unbacked / staked
    invariants_checked: dict[str, int]
    failure: Failure | None

    @property
    def ok(self) -> bool:
        return self.failure is None


def _truncation(store: EventStore, result: Replay) -> Failure | None:
    """Snapshots record how far the log reached: a log now shorter than that lost its tail,
    and a log whose record differs from a snapshot's head hash was rewritten."""
    for index, head_hash in store.snapshot_marks():
        if index > result.count:
            return Failure(result.count, "end of log", "log_truncated", f"a snapshot was taken after {index} events")
        record = store.record_at(index - 1) if index else None
        if record is not None and record.hash != head_hash:
            return Failure(index - 1, record.topic, "snapshot_mismatch", "history differs from the snapshot taken here")
    return None


def _value(state: State) -> dict[str, dict[str, int]]:
    tokens = sorted(set(state.deposited.keys()) | set(state.fees_collected.keys()) | set(state.unbacked.keys()))
    return {
        "0x" + token.hex(): {
            "deposited": state.deposited.get(token, 0),
            "unspent": state.unspent.get(token, 0),
            "fees": undistributed(state).get(token, 0) + state.open_block_fees.get(token, 0),
            "in_exit": state.in_exit.get(token, 0),
            "exited": state.exited.get(token, 0),
            "unbacked": state.unbacked.get(token, 0),
            "staked": staked(state).get(token, 0),
        }
        for token in tokens
    }


def audit(
    store: EventStore,
    hook: Hook,
    progress: Callable[[int], None] | None = None,
    prefetcher: Prefetcher | None = None,
) -> AuditReport:
    """Replay the whole log from genesis with `hook` after every event; report the first failure."""
    result = replay(store, hook=hook, progress=progress, prefetcher=prefetcher)
    failure = result.failure or _truncation(store, result)
    if failure is None and result.count and (violation := hook.finish(result.count - 1, result.state)):
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
        invariants_checked=dict(getattr(hook, "checked", {})),
        failure=failure,
    )

