"""The fault table: what can go wrong in a step, how often, and what must follow.

Each fault is a row: its name, where it strikes (the node's process, its disk, the root
chain), its chance per step, what the specification says must follow, and `inject`, which
does it and judges what it can judge at once. An outcome that is one of the known gaps
(`gaps.KNOWN_GAPS`, each pending its fix) is recorded as such and repaired so the run goes on.
Root-chain faults are judged by the end of the run (honest funds, audit, vaults): survived if it holds.
A later layer adds its rows (a Bitcoin node's reorg, a cash partner's lost attestation) here.

Disk faults write the SQLite tables directly (`EVENTS_TABLE`, `SNAPSHOTS_TABLE`), below the
store, as a failing disk would.
"""
from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable

import attrs

from adapters.ethereum.follower import FollowError
from adapters.simulator.gaps import pending
from adapters.simulator.world import Crash, Injected, World
from ledger.replay import Replay, audit
from ledger.state import GENESIS_STATE
from ledger.store import EVENTS_TABLE, GENESIS_HASH, SNAPSHOTS_TABLE, EventStore, StoreError
from specs.hooks import InvariantHook


@attrs.frozen
class Fault:
    name: str
    strikes: str  # process | disk | root_chain
    per_step: float
    expect: str
    inject: Callable[[World, random.Random, Injected], None]


# --- process ----------------------------------------------------------------------------------


def crash(world: World, rng: random.Random, record: Injected) -> None:
    world.restart()
    record.detail = f"node killed between actions at event {world.node.store.count}"
    judge(record, world.recovery_problem())


def arm(world: World, rng: random.Random, record: Injected) -> None:
    """Faults that wait for their moment this step: the next write, root-chain transaction or submission."""
    world.armed[record.fault] = record


def arm_write(world: World, rng: random.Random, record: Injected) -> None:
    """Strike one of the step's writes: a user's payment, a commit, the follower's facts with
    their cursor, a seal (the node's operator writes last in a step, up to three batches)."""
    record.skip_writes = rng.randrange(5)
    arm(world, rng, record)


def after_write_crash(world: World, rng: random.Random, crash_: Crash) -> None:
    """The node died inside a submit: the batch is durable but unanswered (ack_lost), or its
    write was torn, its last rows (some or all) missing, and any snapshot written after it too."""
    record = next(r for r in reversed(world.injected) if r.fault == crash_.fault and r.verdict == "armed")
    world.kill()
    end = surviving = crash_.first + crash_.written
    if crash_.fault == "torn_write":
        surviving = crash_.first + rng.randrange(crash_.written)
        tear(world, surviving)
    record.detail = (f"batch {crash_.first}..{end - 1} ({', '.join(crash_.kinds)}) unanswered; "
                     f"{end - surviving} of its {crash_.written} rows lost")
    world.open_node()
    world.restarts += 1
    problem, count = world.recovery_problem(), world.node.store.count
    if problem is None and count not in (surviving, crash_.first):  # a store may drop a torn batch whole
        problem = f"the store holds {count} events after restart, {surviving} survived the write"
    if problem is None and crash_.first < count < end and (problem := stopped_follower(world)):
        if pending("torn_batch_split"):
            world.kill()
            tear(world, crash_.first)  # what a store that knew its batches would have done
            world.open_node()
            record.verdict, record.detail = "known_gap", f"{record.detail}: {problem}"
            problem = world.recovery_problem()
            if problem is None:
                return
    judge(record, problem)
    if record.verdict == "FAILED":
        world.fail(f"fault {record.fault}: {record.detail}")


def stopped_follower(world: World) -> str | None:
    """After a batch torn inside, the node must go on: the follower polls at once (no write
    fault strikes meanwhile); why it cannot, or None."""
    armed = {name: world.armed.pop(name) for name in ("ack_lost", "torn_write") if name in world.armed}
    try:
        world.operator.follower.poll()
    except FollowError as exc:
        return f"the follower stops: {exc}"
    finally:
        world.armed.update(armed)
    return None


def tear(world: World, surviving: int) -> None:
    """Delete the events from `surviving` on, and the snapshots taken after them."""
    if world.verified.count > surviving:
        world.verified = Replay(GENESIS_STATE, 0, GENESIS_HASH)
    with sqlite3.connect(world.db) as db:
        db.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_version >= ?", (surviving,))
        db.execute(f"DELETE FROM {SNAPSHOTS_TABLE} WHERE originator_version > ?", (surviving,))


# --- disk -------------------------------------------------------------------------------------


def flip_snapshot(world: World, rng: random.Random, record: Injected) -> None:
    """A flipped byte in the newest snapshot's largest row; the node restarts. It must refuse
    the snapshot and rebuild from the log: its state equal to a full replay."""
    world.kill()
    with sqlite3.connect(world.db) as db:
        rows = db.execute(f"SELECT originator_id, originator_version, state FROM {SNAPSHOTS_TABLE} "
                          "ORDER BY originator_version DESC, length(state) DESC LIMIT 1").fetchall()
    if not rows:
        world.open_node()
        record.verdict = "not_applicable"
        return
    key, version, blob = rows[0]
    offset = rng.randrange(len(blob))
    write_blob(world, SNAPSHOTS_TABLE, key, version, flipped(blob, offset))
    record.detail = f"snapshot at event {version}: byte {offset} of {len(blob)} flipped"
    started = start_problem(world)
    problem = started or world.recovery_problem()
    if problem is None:
        record.verdict = "survived"
        return
    if started is None:
        world.kill()
    write_blob(world, SNAPSHOTS_TABLE, key, version, blob)  # restored from a backup, so the run goes on
    world.open_node()
    record.verdict = "known_gap" if pending("snapshot_unverified") else "FAILED"
    record.detail = f"{record.detail}: {problem}"
    if (after := world.recovery_problem()) is not None:
        record.verdict, record.detail = "FAILED", f"{record.detail}; after restoring it: {after}"


def flip_record(world: World, rng: random.Random, record: Injected) -> None:
    """A flipped byte in one stored event: the audit must fail exactly at that index. The node
    refuses to start if it must replay that record; the byte is then restored from a backup."""
    count = world.node.store.count
    index = rng.randrange(count)
    world.kill()
    with sqlite3.connect(world.db) as db:
        key, blob = db.execute(f"SELECT originator_id, state FROM {EVENTS_TABLE} WHERE originator_version = ?",
                               (index,)).fetchone()
    offset = rng.randrange(len(blob))
    write_blob(world, EVENTS_TABLE, key, index, flipped(blob, offset))
    store = EventStore(world.db)
    try:
        failure = audit(store, InvariantHook(full_every=world.config.full_check_every)).failure
    finally:
        store.close()
    started = start_problem(world)
    if started is None:
        world.kill()
    node = f"node refused to start ({started})" if started else "node started (a snapshot covers it)"
    record.detail = f"event {index}: byte {offset} of {len(blob)} flipped; audit: " + (
        "passed" if failure is None else f"{failure.code} at {failure.index}") + f"; {node}"
    write_blob(world, EVENTS_TABLE, key, index, blob)
    world.open_node()
    if failure is None or failure.index != index:
        record.verdict = "FAILED"
        return
    judge(record, world.recovery_problem(), verdict="detected")


def flipped(blob: bytes, offset: int) -> bytes:
    return blob[:offset] + bytes([blob[offset] ^ 0xFF]) + blob[offset + 1:]


def write_blob(world: World, table: str, key: str, version: int, blob: bytes) -> None:
    with sqlite3.connect(world.db) as db:
        db.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                   (blob, key, version))


def start_problem(world: World) -> str | None:
    """Start the node; why it would not start, or None."""
    try:
        world.open_node()
    except StoreError as exc:
        return f"{exc.code}: {exc.detail[:100]}"
    except Exception as exc:  # noqa: BLE001 - whatever reading a damaged snapshot raises is the finding
        return f"{type(exc).__name__}: {str(exc)[:100]}"
    world.restarts += 1
    return None


# --- root chain -------------------------------------------------------------------------------


def reorg(world: World, rng: random.Random, record: Injected) -> None:
    """Abandon the newest blocks, fewer than the follower's confirmations, with their transactions."""
    depth = world.chain.reorg(rng, world.config.confirmations - 1)
    record.verdict = "pending" if depth else "not_applicable"
    record.detail = f"{depth} blocks abandoned, back to block {world.chain.head}"
    if depth:
        world.note(f"root chain reorganised: {record.detail}")


def delay(world: World, rng: random.Random, record: Injected) -> None:
    record.delay_steps = rng.randint(1, 3)
    arm(world, rng, record)


def judge(record: Injected, problem: str | None, verdict: str = "survived") -> None:
    record.verdict = verdict if problem is None else "FAILED"
    if problem is not None:
        record.detail = f"{record.detail}: {problem}"


FAULTS = (
    Fault("crash", "process", 0.015, "the node restarts from its store; its state equals a full replay", crash),
    Fault("ack_lost", "process", 0.012, "the node dies after a write, before answering: the batch is kept, "
          "its submitter learns of it from the log", arm_write),
    Fault("torn_write", "disk", 0.012, "the last batch's rows partly or wholly lost: only that unanswered batch is "
          "lost, the node restarts on the rest", arm_write),
    Fault("snapshot_flip", "disk", 0.008, "the node refuses the snapshot and rebuilds from the log, state equal to "
          "a full replay", flip_snapshot),
    Fault("record_flip", "disk", 0.008, "the audit fails exactly at that record", flip_record),
    Fault("submission_dropped", "root_chain", 0.1, "the operator's block roots go later; nothing lost", arm),
    Fault("root_tx_dropped", "root_chain", 0.05, "a user's root-chain transaction is lost; the user tries again", arm),
    Fault("root_tx_delayed", "root_chain", 0.08, "a user's root-chain transaction lands 1-3 steps late", delay),
    Fault("reorg", "root_chain", 0.05, "blocks under the confirmation depth are replaced; the follower applies "
          "nothing twice and misses nothing", reorg),
)


class FaultPlan:
    """Draws the faults of each step from its own generator and keeps what happened."""

    def __init__(self, world: World, rng: random.Random, faults: tuple[Fault, ...] = FAULTS) -> None:
        self.world, self.rng, self.faults = world, rng, faults
        world.injected = []
        world.on_crash = lambda crash_: after_write_crash(world, self.rng, crash_)

    def before_step(self) -> None:
        for fault in self.faults:
            if self.rng.random() < fault.per_step:
                record = Injected(self.world.step, fault.name)
                self.world.injected.append(record)
                fault.inject(self.world, self.rng, record)
                if record.verdict == "FAILED":
                    self.world.fail(f"fault {fault.name}: {record.detail}")

    def end_step(self) -> None:
        """Faults whose moment did not come this step did not happen."""
        self.world.armed.clear()
        self.world.injected = [r for r in self.world.injected if r.verdict not in ("armed", "not_applicable")]
