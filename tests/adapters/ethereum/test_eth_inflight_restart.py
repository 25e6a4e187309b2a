"""An in-flight exit restarted under its id, on the embedded root chain.

The exit game derives an in-flight exit's id from its transaction, so once an exit is deleted
or processing ends it, anyone can start the same transaction's exit again, under the same id.
The follower must take that restart as a new instance (before, the ledger refused the second
start and the follower stopped for good), the watcher must challenge it again, and what the
earlier instance took off the child chain must stay accounted exactly.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters.ethereum import chain
from proofs.payment import encode_utxo_pos, unsigned_bytes
from tests.adapters.ethereum.test_eth_follower import ALICE, BOB, CAROL, ETH, OPERATOR, PERIOD, Anchored, out


@pytest.fixture
def anchored(tmp_path: Path) -> Anchored:
    return Anchored(tmp_path)


def funded(a: Anchored) -> int:
    """Alice's deposit of 1 ETH, followed; its position."""
    blknum = a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    a.sync()
    return encode_utxo_pos(blknum, 0, 0)


def noncanonical(a: Anchored, exit_id: int) -> set[tuple[str, int | None, bool]]:
    return {(r.condition, r.exit_id, r.challenged) for r in a.watcher.check(a.node.state) if r.condition == "noncanonical_ife"}


def test_an_in_flight_exit_deleted_and_restarted_is_followed_and_challenged_again(anchored: Anchored):
    """Bob exits a withheld double spend of Alice's deposit; the watcher makes it non-canonical,
    nobody piggybacks, Bob deletes it and starts it again: a fresh, canonical instance the
    follower takes in and the watcher challenges once more."""
    a = anchored
    deposit = funded(a)
    withheld = a.sign([deposit], [out(a.addr(BOB), 10**18)], ALICE)
    a.pay([deposit], [out(a.addr(CAROL), 10**18)], ALICE)  # the spend the operator includes
    a.node.seal()
    a.client.submit_blocks(a.node.state)
    a.sync()
    a.watcher.check(a.node.state)  # its block index: the start call's input data

    exit_id = a.client.start_in_flight_exit(a.accounts[BOB], withheld, a.watcher.index)
    a.sync()
    assert noncanonical(a, exit_id) == {("noncanonical_ife", exit_id, True)}
    a.sync()
    assert a.node.state.exits[exit_id].canonical is False

    chain.travel(a.w3, PERIOD)  # past the first phase
    chain.send(a.w3, a.root.exit_game.functions.deleteNonPiggybackedInFlightExit(exit_id), a.accounts[BOB])
    assert a.client.start_in_flight_exit(a.accounts[BOB], withheld, a.watcher.index) == exit_id
    a.sync()  # stopped here with root_fact_rejected (exit_already_started) before the ledger knew exits end
    record = a.node.state.exits[exit_id]
    assert (record.ended, record.restarts, record.canonical) == (False, 1, True)
    assert noncanonical(a, exit_id) == {("noncanonical_ife", exit_id, True)}
    [ife] = a.root.exit_game.functions.inFlightExits([exit_id]).call()
    assert ife[0] is False  # the restarted instance is non-canonical on the root chain too
    a.sync()
    assert a.node.state.exits[exit_id].canonical is False


def test_the_watcher_leaves_an_ended_in_flight_exit_alone(anchored: Anchored):
    a = anchored
    deposit = funded(a)
    a.watcher.check(a.node.state)
    exit_id = a.client.start_in_flight_exit(a.accounts[BOB], a.sign([deposit], [out(a.addr(BOB), 10**18)], ALICE),
                                            a.watcher.index)
    a.sync()
    assert {r.condition for r in a.watcher.check(a.node.state)} == {"piggyback_available"}
    chain.travel(a.w3, PERIOD)
    chain.send(a.w3, a.root.exit_game.functions.deleteNonPiggybackedInFlightExit(exit_id), a.accounts[BOB])
    a.sync()
    assert a.node.state.exits[exit_id].ended and a.node.state.exiting[deposit] == out(a.addr(ALICE), 10**18)
    assert a.watcher.check(a.node.state) == []


def test_an_in_flight_exit_restarted_after_processing_pays_what_the_first_left_exactly_once(anchored: Anchored):
    """A withheld payment of Alice's 1 ETH: 0.6 to Bob, 0.4 back to Alice. Bob's in-flight exit
    pays his output and ends; Alice restarts it for hers. The ledger follows both instances,
    pays Alice from what the first left in reserve (no unbacked value), and the vault holds
    exactly what the child chain and refused payouts are owed."""
    a = anchored
    deposit = funded(a)
    withheld = a.sign([deposit], [out(a.addr(BOB), 6 * 10**17), out(a.addr(ALICE), 4 * 10**17)], ALICE)
    unsigned = unsigned_bytes(withheld)
    a.watcher.check(a.node.state)

    exit_id = a.client.start_in_flight_exit(a.accounts[BOB], withheld, a.watcher.index)
    a.client.piggyback(a.accounts[BOB], unsigned, True, 0)
    chain.travel(a.w3, 2 * PERIOD + 1)
    a.client.process_exits(a.accounts[OPERATOR])
    a.sync()
    assert a.node.state.exited[ETH] == 6 * 10**17 and a.node.state.in_exit[ETH] == 4 * 10**17

    assert a.client.start_in_flight_exit(a.accounts[ALICE], withheld, a.watcher.index) == exit_id
    a.client.piggyback(a.accounts[ALICE], unsigned, True, 1)
    a.sync()  # stopped here with root_fact_rejected (exit_already_started) before the ledger knew exits end
    restarted = a.node.state.exits[exit_id]
    assert restarted.restarts == 1 and dict(restarted.reserve) == {ETH: 4 * 10**17}  # what the first left
    chain.travel(a.w3, 2 * PERIOD + 1)
    alice_before = a.w3.eth.get_balance(a.accounts[ALICE])
    a.client.process_exits(a.accounts[OPERATOR])
    a.sync()
    state = a.node.state
    game = a.root.exit_game.functions
    bonds = game.piggybackBondSize().call() + game.startIFEBondSize().call()  # she started this instance too
    assert a.w3.eth.get_balance(a.accounts[ALICE]) == alice_before + 4 * 10**17 + bonds
    assert state.exits[exit_id].ended and state.exited[ETH] == 10**18 and not state.unbacked
    assert state.in_exit[ETH] == 0 and a.client.vault_balance(ETH) == state.deposited[ETH] - state.exited[ETH] == 0
