"""Two writers on one log: the one that loses the race follows the other's records and
tries its batch once more; nothing stored is lost or written twice."""
from __future__ import annotations

import pytest

from ledger.events import Deposit, Genesis, Payment
from ledger.node import Node
from ledger.replay import replay
from ledger.store import EventStore, StoreError
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, VC, out, signed


def deposit_event(node: Node, owner: int, amount: int) -> Deposit:
    return Deposit(node.state.next_deposit_blknum, encode(deposit_tx(ADDRS[owner], ETH, amount)))


@pytest.fixture
def writers(tmp_path):
    """Two nodes on one SQLite file, both knowing genesis and deposits to keys 0 and 1."""
    path = tmp_path / "ledger.db"
    first = EventStore(path)
    node_a = Node(first, InvariantHook())
    node_a.submit([Genesis(VC, ())])
    node_a.submit([deposit_event(node_a, 0, 100)])
    node_a.submit([deposit_event(node_a, 1, 100)])
    second = EventStore(path)
    node_b = Node(second, InvariantHook())
    yield node_a, node_b
    first.close()
    second.close()


def audited(store: EventStore) -> int:
    """The number of records a full replay of the file verifies (it must verify them all)."""
    fresh = EventStore(store.path)
    try:
        result = replay(fresh, hook=InvariantHook())
        assert result.failure is None and result.count == fresh.count
        return result.count
    finally:
        fresh.close()


def test_the_loser_follows_the_new_head_and_its_batch_lands(writers):
    node_a, node_b = writers
    deposit_1, deposit_2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)
    [won] = node_a.submit([Payment(signed([deposit_1], [out(2, 100)], [0]))])
    [retried] = node_b.submit([Payment(signed([deposit_2], [out(3, 100)], [1]))])
    assert won.accepted and retried.accepted and retried.index == won.index + 1
    assert set(node_b.state.spent.keys()) == {deposit_1, deposit_2}
    assert (node_b.store.count, node_b.store.head_hash) == (won.index + 2, retried.hash)
    assert audited(node_b.store) == won.index + 2


def test_a_retried_batch_that_spends_what_the_winner_spent_is_rejected(writers):
    node_a, node_b = writers
    deposit_1 = encode_utxo_pos(1, 0, 0)
    [won] = node_a.submit([Payment(signed([deposit_1], [out(2, 100)], [0]))])
    [lost] = node_b.submit([Payment(signed([deposit_1], [out(3, 100)], [0]))])
    assert won.accepted and lost.code == "utxo_already_spent"
    assert audited(node_b.store) == won.index + 1 == node_b.store.count


def test_a_writer_that_loses_twice_stores_nothing_and_says_so(writers, monkeypatch):
    node_a, node_b = writers
    append = node_b.store.append

    def raced(staged):  # the other writer gets in first, every time
        assert node_a.submit([deposit_event(node_a, 2, 5)])[0].accepted
        return append(staged)

    monkeypatch.setattr(node_b.store, "append", raced)
    with pytest.raises(StoreError) as info:
        node_b.submit([Payment(signed([encode_utxo_pos(2, 0, 0)], [out(3, 100)], [1]))])
    assert info.value.code == "concurrent_writer" and "nothing of it was stored" in str(info.value)
    assert audited(node_a.store) == node_a.store.count == 5  # genesis, 2 deposits, the 2 raced in
    assert not any(record.topic == "payment" for record in node_a.store.read())
