"""The audit's value table and report: edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

from ledger import events
from ledger.events import BlockSubmitted, ExitProcessed, ExitStarted, Genesis, Payment, StakingOpened
from ledger.node import Node
from ledger.replay import Failure, TrustedValidators, _value, audit
from ledger.store import EventStore
from ledger.state import State
from proofs.payment import decode_utxo_pos, deposit_tx, encode, encode_utxo_pos
from specs.hooks import Violation
from tests.conftest import ADDRS, ETH, VC, checked, out, signed
from proofs import bls
from tests.ledger.test_staking import BLS_KEYS, OMG, bond_event, commit, staked  # noqa: F401 (staked is a fixture)

NEVER_DEPOSITED = b"\x33" * 20


def test_the_value_table_reports_every_token_and_every_place_value_sits(staked: State):
    first = staked.next_deposit_blknum
    dep_a, dep_b = encode(deposit_tx(ADDRS[0], ETH, 100)), encode(deposit_tx(ADDRS[1], ETH, 30))
    state = checked(staked, events.Deposit(first, dep_a), events.Deposit(first + 1, dep_b))
    a, b = encode_utxo_pos(first, 0, 0), encode_utxo_pos(first + 1, 0, 0)
    state = checked(state, ExitStarted(7, b, dep_b), ExitProcessed(7, True))  # 30 exited
    state = checked(state, Payment(signed([a], [out(2, 60), out(0, 39)], [0])))  # a fee of 1 in the open block
    sixty = next(pos for pos, o in state.utxos.items() if o == out(2, 60))
    state = checked(state, ExitStarted(8, sixty, _tx_of(state, sixty)))  # 60 in exit
    fake = encode(deposit_tx(ADDRS[3], NEVER_DEPOSITED, 5))
    state = checked(state, ExitStarted(9, encode_utxo_pos(first + 2, 0, 0), fake), ExitProcessed(9, True))  # 5 unbacked
    zero = dict(deposited=0, unspent=0, fees=0, in_exit=0, exited=0, unbacked=0, unclaimed=0, staked=0)
    assert _value(state) == {
        "0x" + ETH.hex(): {**zero, "deposited": 130, "unspent": 39, "fees": 1, "in_exit": 60, "exited": 30},
        "0x" + OMG.hex(): {**zero, "deposited": 4000, "unspent": 3400, "staked": 600},
        "0x" + NEVER_DEPOSITED.hex(): {**zero, "unbacked": 5},
    }


def _tx_of(state: State, pos: int) -> bytes:
    """The unsigned bytes of the open-block transaction that created `pos`."""
    _, txindex, _ = decode_utxo_pos(pos)
    return state.open_block_txs[txindex]


# --- the audit's report ------------------------------------------------------------------

class FinalVerdict:
    """A hook that passes every event and finds `violation` (or nothing) in the final state."""

    def __init__(self, violation: Violation | None) -> None:
        self.violation, self.finished_at, self.kinds = violation, None, []

    def __call__(self, index, before, event, after):  # type: ignore[no-untyped-def]
        self.kinds.append((index, event.KIND, after.event_count))
        return None

    def finish(self, index: int, state: State) -> Violation | None:
        self.finished_at = (index, state)
        return self.violation


def _small_log() -> EventStore:
    node = Node(EventStore(None))
    deposit_raw = encode(deposit_tx(ADDRS[0], ETH, 100))
    assert all(o.accepted for o in node.submit([Genesis(VC, ()), events.Deposit(1, deposit_raw),
                                                 events.RootChainSynced(5, b"\x01" * 32),
                                                 Payment(signed([encode_utxo_pos(1, 0, 0)], [out(1, 100)], [0]))]))
    assert all(o.accepted for o in node.seal())
    assert all(o.accepted for o in node.submit([BlockSubmitted(1000, b"\x0f" * 32)]))  # not the root it sealed
    return node.store


def test_the_final_state_verdict_is_reported_at_the_last_event():
    store = _small_log()
    hook = FinalVerdict(Violation("value_conserved", 5, "token 0x..: deposited 100 but holds 99"))
    report = audit(store, hook)
    assert report.failure == Failure(5, "final state", "value_conserved", "token 0x..: deposited 100 but holds 99")
    assert hook.finished_at[0] == 5 and hook.finished_at[1] == report.final_state
    assert not report.ok


def test_the_report_says_where_blocks_were_made_and_the_cursor_moved():
    store = _small_log()
    hook = FinalVerdict(None)
    report = audit(store, hook)
    kinds = ["genesis", "deposit", "root_chain_synced", "payment", "block_sealed", "block_submitted"]
    assert hook.kinds == [(i, kind, i + 1) for i, kind in enumerate(kinds)]  # each event, decoded, in order
    assert report.failure is None and report.events == 6
    assert report.block_events == {1: 1, 1000: 4} and report.cursor_event == 2
    assert report.head_hash == "0x" + report.final_state.log_head.hex()
    [finding] = report.findings
    assert (finding.index, finding.kind, finding.code) == (5, "block_submitted", "foreign_root")
    assert "sealed 0x" + report.final_state.blocks[1000].root.hex() in finding.detail


def test_an_empty_log_has_no_genesis():
    report = audit(EventStore(None), FinalVerdict(None))
    assert report.failure == Failure(0, "end of log", "no_genesis",
                                     "the log holds no event: a ledger starts with its genesis")


def test_without_a_root_chain_sync_there_is_no_cursor_and_a_withheld_block_is_named():
    node = Node(EventStore(None))
    assert all(o.accepted for o in node.submit([Genesis(VC, ()), BlockSubmitted(1000, b"\x0f" * 32)]))
    report = audit(node.store, FinalVerdict(None))
    assert report.cursor_event == -1 and report.block_events == {}
    [finding] = report.findings
    assert finding.code == "foreign_root" and finding.detail.endswith("the ledger sealed no such block")


def test_a_trusted_validator_commit_anchors_the_log_through_its_block():
    node = Node(EventStore(None))

    def accept(*batch):  # type: ignore[no-untyped-def]
        assert all(o.accepted for o in node.submit(list(batch)))

    accept(Genesis(VC, ()), *[events.Deposit(i + 1, encode(deposit_tx(ADDRS[i], OMG, 1000))) for i in range(3)])
    accept(StakingOpened(OMG, 3, 2, 500, 1000, 2, 4, 5000, 100, 3))
    for who, amount in ((0, 100), (1, 200), (2, 300)):
        accept(bond_event(node.state, who, amount))
    assert all(o.accepted for o in node.seal())
    accept(commit(node.state, 1000, [0, 1, 2]))
    trusted = TrustedValidators.of(frozenset(bls.public_key(key) for key in BLS_KEYS[:3]))
    report = audit(node.store, FinalVerdict(None), trusted=trusted)
    seal_index = report.block_events[1000]
    (anchor,) = report.anchors
    assert (anchor.through, anchor.source) == (seal_index, "trusted validators")
    assert anchor.by.startswith(f"the BLS commit of block 1000 (event {report.events - 1}) signs the log head;")
    assert anchor.by.endswith("3 of the 3 trusted validators signed it (quorum 3)") and report.unanchoring_commits == ()
    assert report.anchored_through == seal_index and report.unanchored == (seal_index + 1, report.events - 1)
