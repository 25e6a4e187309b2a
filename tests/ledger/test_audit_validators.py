"""Validator commits anchor a log only when validators the auditor trusts signed them: the log
registers its own validators, so a ledger forged from genesis brings validators of its own."""
from __future__ import annotations

import pytest

from ledger import events
from ledger.events import Genesis, StakingOpened
from ledger.node import Node
from ledger.replay import AuditReport, TrustedValidators, audit
from ledger.store import EventStore
from proofs import bls
from proofs.payment import deposit_tx, encode
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, VC
from tests.ledger import test_staking
from tests.ledger.test_staking import OMG, bond_event, commit

HONEST = test_staking.BLS_KEYS[:3]
FORGER = [bls.secret_key(b"the forger's validator %d, 32+ bytes of seed" % i) for i in range(3)]


def keys(secrets: list[int]) -> frozenset[bytes]:
    return frozenset(bls.public_key(secret) for secret in secrets)


def ledger(signers: list[int]) -> Node:
    """Genesis, three validators bonded with the module's BLS keys, block 1000 sealed and committed by `signers`."""
    node = Node(EventStore(None))

    def accept(*batch: events.Event) -> None:
        assert all(o.accepted for o in node.submit(list(batch)))

    accept(Genesis(VC, ()), *[events.Deposit(i + 1, encode(deposit_tx(ADDRS[i], OMG, 1000))) for i in range(3)])
    accept(StakingOpened(OMG, 3, 2, 500, 1000, 2, 4, 5000, 100, 3))
    for who, amount in ((0, 100), (1, 200), (2, 300)):
        accept(bond_event(node.state, who, amount))
    assert all(o.accepted for o in node.seal())
    accept(commit(node.state, 1000, signers))
    return node


def audited(node: Node, trusted: TrustedValidators | None) -> AuditReport:
    return audit(node.store, InvariantHook(full_every=1), trusted=trusted)


@pytest.fixture
def forged(monkeypatch) -> Node:
    """The same history, forged from genesis: its validators register the forger's keys."""
    monkeypatch.setattr(test_staking, "BLS_KEYS", FORGER)
    return ledger([0, 1, 2])


def test_a_ledger_forged_from_genesis_with_its_own_validators_is_unanchored(forged):
    for trusted in (None, TrustedValidators.of(keys(HONEST))):
        report = audited(forged, trusted)
        assert report.ok and report.anchors == () and report.anchored_through == -1
        assert report.unanchored == (0, report.events - 1) and report.unanchoring_commits == (report.events - 1,)


def test_the_honest_ledger_is_anchored_by_its_trusted_validators():
    node = ledger([0, 1, 2])
    report = audited(node, TrustedValidators.of(keys(HONEST)))
    assert report.ok and report.anchored_through == report.block_events[1000] and report.unanchoring_commits == ()
    assert audited(node, None).anchored_through == -1  # the same commits, self-attested


def test_a_commit_anchors_only_with_the_quorum_of_trusted_signers():
    node = ledger([1, 2])  # 500 of the 600 staked: the ledger accepts it
    assert audited(node, TrustedValidators.of(keys(HONEST))).anchored_through == -1  # 2 of 3: the default needs 3
    assert audited(node, TrustedValidators.of(keys(HONEST), quorum=2)).anchored_through == node.state.event_count - 2
    mixed = TrustedValidators.of(keys(HONEST[:1] + HONEST[2:] + FORGER[:1]), quorum=2)  # of the signers, only 2 is trusted
    assert audited(node, mixed).anchored_through == -1


@pytest.mark.parametrize("quorum", [0, 4])
def test_a_quorum_outside_the_trusted_set_is_refused(quorum):
    with pytest.raises(ValueError, match="trusted validators"):
        TrustedValidators.of(keys(HONEST), quorum)
