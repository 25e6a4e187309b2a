"""`omg audit --eth-rpc`: the log's roots and deposits against what the root chain holds."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from adapters.ethereum.audit import check_against_root_chain, reconciled
from ledger.replay import audit
from ledger.store import EVENTS_TABLE, EventStore
from proofs.payment import encode_utxo_pos
from specs.hooks import InvariantHook
from tests.adapters.ethereum.test_eth_follower import ALICE, BOB, ETH, Anchored, out


def audited(a: Anchored, path: Path):
    store = EventStore(path, read_only=True)
    try:
        report = audit(store, InvariantHook())
    finally:
        store.close()
    return check_against_root_chain(report, a.w3, a.root, 0)


def two_blocks(tmp_path: Path) -> Anchored:
    """A deposit, two child blocks submitted, then a third sealed but not yet submitted."""
    a = Anchored(tmp_path)
    pos = encode_utxo_pos(a.client.deposit(a.accounts[ALICE], ETH, 10**18), 0, 0)
    a.sync()
    for blknum, payer, payee in ((1000, ALICE, BOB), (2000, BOB, ALICE), (3000, ALICE, BOB)):
        a.pay([pos], [out(a.addr(payee), 10**18)], payer)
        pos = encode_utxo_pos(blknum, 0, 0)
        a.node.seal()
        if blknum < 3000:
            a.client.submit_blocks(a.node.state)
            a.sync()
    return a


def test_matching_roots_anchor_the_log_up_to_the_last_submitted_seal(tmp_path):
    a = two_blocks(tmp_path)
    path = a.node.store.path
    report, vaults = audited(a, path)
    assert report.ok and reconciled(vaults)
    seal_2000 = report.block_events[2000]
    assert report.anchored_through == seal_2000
    assert report.unanchored == (seal_2000 + 1, report.events - 1)  # block 3000 is not on the root chain yet


def test_a_lost_tail_is_named_by_the_root_chain(tmp_path):
    a = two_blocks(tmp_path)
    copy = tmp_path / "copy.db"
    a.node.store.copy_to(copy)
    report, _ = audited(a, copy)
    cut = report.block_events[2000]  # block 2000's seal and all after it lost
    with sqlite3.connect(copy) as conn:
        conn.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_version >= ?", (cut,))
    report, _ = audited(a, copy)
    assert not report.ok
    assert ("block_missing_from_log", cut) in {(f.code, f.index) for f in report.findings}


def test_a_rewritten_deposit_block_differs_from_the_root_chain(tmp_path):
    """A deposit the log invents for an empty deposit slot: the rules accept it (a local deposit),
    the root chain holds nothing there."""
    from ledger.events import Deposit
    from proofs.payment import deposit_tx, encode

    a = two_blocks(tmp_path)
    fake = Deposit(a.node.state.next_deposit_blknum, encode(deposit_tx(a.addr(ALICE), ETH, 5)))
    assert a.node.submit([fake])[0].accepted
    report, vaults = audited(a, a.node.store.path)
    assert ("root_chain_deposit_differs", report.block_events[fake.blknum]) in {(f.code, f.index) for f in report.findings}
    assert not reconciled(vaults)
