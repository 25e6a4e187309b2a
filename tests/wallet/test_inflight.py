"""In-flight exits from the wallet SDK on the embedded root chain, with a live node's HTTP API
and the operator following the chain: Alice signs a payment to Bob that the operator never
gets and spends the same deposit with Carol through the node; Bob exits his payment in flight
from the node's `in_flight_exit.get_data`, the wallets' watchers report the piggybacks
open to them and the competitor, Bob piggybacks his output and Carol challenges the exit's
canonicity with the competitor the node served."""
from __future__ import annotations

from proofs import eip712
from proofs.payment import decode, encode_unsigned, encode_utxo_pos
from tests.wallet.nodes import ALICE, ALICE_KEY, AMOUNT, BOB, BOB_KEY, CAROL_KEY
from tests.wallet.nodes import followed  # noqa: F401 (fixture)
from wallet.account import Account
from wallet.client import NodeClient
from wallet.rootchain import ETH, RootChain, competitor, in_flight_data
from wallet.watch import CompetitorAppeared, PiggybackAvailable, Watcher

CAROL = eip712.address_of(CAROL_KEY)


def exit_listed(followed, exit_id: int) -> dict:
    [listed] = [x for x in followed.api.ok("exit.all") if x["exit_id"] == exit_id]
    return listed


def test_an_in_flight_exit_its_piggyback_and_its_competitor(followed):
    node = NodeClient(followed.api.url)
    framework = node.status().plasma_framework
    alice_root, bob_root, carol_root = (RootChain(followed.w3, framework, k) for k in (ALICE_KEY, BOB_KEY, CAROL_KEY))
    deposit = encode_utxo_pos(alice_root.deposit(AMOUNT), 0, 0)
    followed.step()  # the node follows the deposit
    alice = Account(node, ALICE_KEY)
    to_bob = alice.sign(alice.plan(BOB, AMOUNT // 4, ETH))  # handed to Bob, never to the operator
    assert decode(to_bob).inputs == (deposit,)
    alice.pay(CAROL, AMOUNT // 2, ETH)  # the same deposit, spent through the node
    followed.step()  # sealed in block 1000, its root submitted
    in_flight = encode_unsigned(decode(to_bob))

    exit_id = bob_root.start_in_flight_exit(in_flight_data(node, to_bob))
    assert bob_root.in_flight_status(exit_id) == {"canonical": True, "piggybacked_inputs": [], "piggybacked_outputs": [],
                                                  "oldest_competitor": 0}
    bob_watch, alice_watch = Watcher(node, addresses={BOB}), Watcher(node, addresses={ALICE})
    carol_watch = Watcher(node, addresses={CAROL})
    assert bob_watch.poll() == []  # the node has not followed the exit yet
    followed.step()

    found = competitor(node, to_bob)
    assert found is not None and decode(found.competing_tx).outputs[0].owner == CAROL
    assert found.competing_tx_pos == encode_utxo_pos(1000, 0, 0) and found.input_utxo_pos == deposit
    assert bob_watch.poll() == [CompetitorAppeared(in_flight, found), PiggybackAvailable(in_flight, (), (0,))]
    assert alice_watch.poll() == [CompetitorAppeared(in_flight, found), PiggybackAvailable(in_flight, (0,), (1,))]
    assert carol_watch.poll() == []  # the exit's transaction is not Carol's

    bob_root.piggyback_output(in_flight, 0)
    assert bob_root.in_flight_status(exit_id)["piggybacked_outputs"] == [0]
    followed.step()
    assert exit_listed(followed, exit_id)["piggybacked_outputs"] == [0]
    assert bob_watch.poll() == []  # his output is piggybacked, the competitor was reported
    assert alice_watch.poll() == []  # her slots did not change

    carol_root.challenge_not_canonical(found)  # anyone may; Carol, whose payment the exit would undo
    assert bob_root.in_flight_status(exit_id)["canonical"] is False
    assert bob_root.in_flight_status(exit_id)["oldest_competitor"] == found.competing_tx_pos
    followed.step()
    assert exit_listed(followed, exit_id)["canonical"] is False
