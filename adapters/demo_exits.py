"""The root-chain act of `omg demo`, played by wallets through the SDK: an honest exit per
token (exit data from `utxo.get_exit_data`), an exit of a spent output that the node's watcher
challenges (taking the bond) and a wallet's watcher sees due, an in-flight exit of a withheld
transaction (`in_flight_exit.get_data`) with piggybacks, and processing after the exit period
(the audit then reconciles the vaults). The log's records of these exits are checked directly:
they are the operator's."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.ethereum import chain, contracts
from adapters.ethereum.anchor import Step
from adapters.ethereum.chain import ETHER
from adapters.ethereum.client import tx_type_of
from ledger.state import StandardExit
from proofs.payment import decode
from wallet.client import ExitData, NodeError, Utxo
from wallet.rootchain import RootChain, in_flight_data
from wallet.watch import ChallengeDue, ExitProcessable, Watcher

if TYPE_CHECKING:
    from adapters.demo import Served

ETH = bytes(20)
Say = Callable[[str], None]
Expect = Callable[[bool, str], None]


def checksum(address: bytes) -> str:
    return chain.Web3.to_checksum_address(address)


def exits_act(service: Served, kept: ExitData, watcher: bytes, omg_token: bytes, say: Say, expect: Expect) -> None:
    """`kept`: the exit data alice fetched for her first deposit before she spent it."""
    client, node, eth = service.client, service.operator.node, service.eth
    alice, bob, dave = (service.wallets[name] for name in ("alice", "bob", "dave"))
    eth_of = lambda name: eth.eth.get_balance(checksum(service.wallets[name].address))  # noqa: E731
    period = bob.root.framework.functions.minExitPeriod().call()

    say("\n== exits on the root chain (minimum exit period %d days)" % (period // 86400))
    service.step()
    bob_eth, bob_omg = (largest(client.exitable_utxos(bob.address), token) for token in (ETH, omg_token))
    honest = start_exit(bob.root, client.exit_data(bob_eth.utxo_pos))  # an ORDER's change exits by its game
    say(f"bob      starts a standard exit of {bob_eth.amount} wei at {bob_eth.utxo_pos} (exit {honest})")
    honest_omg = start_exit(bob.root, client.exit_data(bob_omg.utxo_pos))
    say(f"bob      starts a standard exit of {bob_omg.amount} OMG base units at {bob_omg.utxo_pos} (exit {honest_omg})")

    spent = kept.utxo_pos
    refused = refusal(lambda: client.exit_data(spent))
    expect(refused is not None, "the node still gives exit data for alice's spent deposit")
    cheat = alice.root.start_exit(kept)
    say(f"alice    starts an exit of her SPENT deposit {spent} with exit data she kept from before she spent it"
        f" (the node's utxo.get_exit_data now says {refused}) (exit {cheat})")
    watcher_before = eth.eth.get_balance(checksum(watcher))
    step = service.step()
    show_reports(step, say)
    expect(any(r.condition == "invalid_exit" and r.exit_id == cheat and r.challenged for r in step.reports),
           "the node's watcher did not challenge the invalid exit")
    due = [e for e in Watcher(client).poll() if isinstance(e, ChallengeDue)]
    expect(any(e.kind == "invalid_exit" and e.details.get("utxo_pos") == spent for e in due),
           "status.get does not report the invalid exit")
    say(f"wallet   sees it in status.get's byzantine events: ChallengeDue invalid_exit of utxo_pos {spent}")
    service.step()
    record = node.state.exits[cheat]
    expect(isinstance(record, StandardExit) and record.status == "challenged", "the challenge was not followed")
    expect(not alice.root.exit_status(cheat)["exitable"], "the exit game still holds the challenged exit")
    gained = eth.eth.get_balance(checksum(watcher)) - watcher_before
    say(f"watcher  challenged it with the signed spending transaction and took the bond (+{gained} wei net of gas)")

    ife_exit, dave_amount = in_flight_exit(service, say, expect)

    say(f"\n== {2 * period // 86400} days later: processing the exit queues")
    service.direct(lambda: chain.travel(service.operator.w3, 2 * period + 1))
    before = {name: eth_of(name) for name in ("bob", "carol", "dave")}
    omg = contracts.at(eth, "TestERC20", checksum(omg_token))
    bob_omg_before = omg.functions.balanceOf(checksum(bob.address)).call()
    processable = [e for e in Watcher(client, dave.root, tokens=(ETH, omg_token)).poll()
                   if isinstance(e, ExitProcessable)]
    expect({honest, honest_omg, ife_exit} <= {e.exit_id for e in processable}, "the exits are not processable")
    say(f"dave's wallet watcher reports {len(processable)} exits processable; dave calls processExits for each queue")
    for token in sorted({e.token for e in processable}):
        dave.root.process_exits(token)
    service.step()
    state = node.state
    expect(state.exits[honest].status == state.exits[honest_omg].status == "paid", "honest exits not paid")
    expect(state.exits[cheat].status == "omitted", "the challenged exit was not omitted")
    expect(state.exits[ife_exit].withdrawn == {(True, 0), (True, 1)}, "the in-flight exit's outputs were not paid")
    expect(dave.root.queued(ETH) == dave.root.queued(omg_token) == [], "exits left in the queues")
    bob_got, dave_got = eth_of("bob") - before["bob"], eth_of("dave") - before["dave"]
    say(f"bob      received {bob_got} wei (his output plus the bond back, less gas)"
        f" and {omg.functions.balanceOf(checksum(bob.address)).call() - bob_omg_before} OMG base units")
    say(f"dave     received {dave_got} wei from the in-flight exit (his output plus the piggyback bond, less gas)")
    expect(bob_got > bob_eth.amount and dave_got > dave_amount - ETHER // 100, "exits did not pay")


def game_root(wallet_root: RootChain, tx_type: int) -> RootChain:
    """The wallet's root-chain client aimed at the exit game of `tx_type` (the SDK's RootChain
    only knows the payment game's; ORDER and SETTLEMENT outputs exit by their own)."""
    aimed = copy.copy(wallet_root)
    aimed.exit_game = wallet_root._contract("PaymentExitGame", wallet_root.framework.functions.exitGames(tx_type).call())
    return aimed


def start_exit(wallet_root: RootChain, data: ExitData) -> int:
    """A standard exit by the game of the output's transaction type (a payment, or an ORDER's change)."""
    return game_root(wallet_root, tx_type_of(data.txbytes)).start_exit(data)


def refusal(call: Callable[[], object]) -> str | None:
    """The node's error code for `call`, or None if it succeeded."""
    try:
        call()
    except NodeError as exc:
        return exc.code
    return None


def largest(utxos: list[Utxo], currency: bytes) -> Utxo:
    return max((u for u in utxos if u.currency == currency), key=lambda u: u.amount)


def in_flight_exit(service: Served, say: Say, expect: Expect) -> tuple[int, int]:
    """Carol pays dave; the operator withholds the transaction; they exit it in flight."""
    client, node = service.client, service.operator.node
    carol, dave = service.wallets["carol"], service.wallets["dave"]
    tx = carol.account.plan(dave.address, ETHER, ETH, ETH)
    expect(len(tx.outputs) == 2, "carol's payment has no change output")
    signed = carol.account.sign(tx)
    say("\ncarol    signs 1 ETH to dave; the operator WITHHOLDS it (never in a block)")
    data = in_flight_data(client, signed)
    exit_id = dave.root.start_in_flight_exit(data)
    say(f"dave     starts an in-flight exit of it with in_flight_exit.get_data's input proofs (exit {exit_id})")
    step = service.step()
    show_reports(step, say)
    dave.root.piggyback_output(data.in_flight_tx, 0)
    carol.root.piggyback_output(data.in_flight_tx, 1)
    say("dave and carol piggyback their outputs (payment and change), each with a bond")
    service.step()
    record = node.state.exits[exit_id]
    expect(record.piggybacked == {(True, 0), (True, 1)}, "piggybacks were not followed")
    code = refusal(lambda: client.submit(signed))
    expect(code == "submit:utxo_exiting", f"spending carol's exiting inputs: expected submit:utxo_exiting, got {code}")
    expect(all(pos in node.state.exiting for pos in decode(signed).inputs), "carol's inputs are still spendable")
    say(f"the ledger took carol's inputs off the child chain: submitting the payment now is refused ({code})")
    return exit_id, tx.outputs[0].amount


def show_reports(step: Step, say: Say) -> None:
    for report in step.reports:
        flag = " -> challenged" if report.challenged else ""
        say(f"watcher  {report.condition}: {report.detail}{flag}")
