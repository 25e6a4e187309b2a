"""Submissions from many clients go through the one `apply`, batched into one durable
transaction; each client is answered only once its batch is stored."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from proofs.payment import encode_utxo_pos
from tests.conftest import out, signed


def wait_until(condition) -> None:
    """Poll a condition (no deadline: the test's own timeout bounds it; nothing here is timed)."""
    while not condition():
        threading.Event().wait(0.005)


def spends(count: int) -> list[bytes]:
    """`count` independent payments: each 10-ETH deposit of keys 0..3 (blocks 3..42) to key 0."""
    txs = []
    for k in range(4):
        for d in range(10):
            blknum = 3 + 10 * k + d
            txs.append(signed([encode_utxo_pos(blknum, 0, 0)], [out(0, 9)], [k]))
    return txs[:count]


def test_concurrent_submissions_share_one_durable_transaction(api):
    txs = spends(24)
    before, received = api.store.appends, api.service.committer.received
    # The writer is busy (as during an operator step) while the clients submit: they queue. The
    # lock is released before the pool is joined.
    with ThreadPoolExecutor(len(txs)) as pool, api.service.committer.lock:
        answers = [pool.submit(api.post, "transaction.submit", {"transaction": "0x" + tx.hex()}) for tx in txs]
        wait_until(lambda: api.service.committer.received == received + len(txs))
        assert not any(answer.done() for answer in answers)  # nobody is answered before the write
    results = [answer.result().json() for answer in answers]
    assert all(r["success"] for r in results), results
    assert api.store.appends - before <= 2  # 24 clients: the writer's first pick, then all the rest
    assert sorted(r["data"]["txindex"] for r in results) == list(range(24))
    assert len(api.node.state.open_block_txs) == 24


def test_a_double_spend_across_clients_is_decided_by_order(api):
    tx = spends(1)[0]
    rival = signed([encode_utxo_pos(3, 0, 0)], [out(1, 9)], [0])
    received = api.service.committer.received
    with ThreadPoolExecutor(2) as pool, api.service.committer.lock:
        first = pool.submit(api.post, "transaction.submit", {"transaction": "0x" + tx.hex()})
        wait_until(lambda: api.service.committer.received == received + 1)
        second = pool.submit(api.post, "transaction.submit", {"transaction": "0x" + rival.hex()})
        wait_until(lambda: api.service.committer.received == received + 2)
    assert first.result().json()["success"] is True
    assert second.result().json()["data"]["code"] == "submit:utxo_already_spent"
