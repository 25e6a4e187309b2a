"""The root-chain act of `omg demo`: an honest exit per token, an exit of a spent output
that the watcher challenges (taking the bond), an in-flight exit of a withheld
transaction, and processing after the exit period (the audit then reconciles the vaults)."""
from __future__ import annotations

from collections.abc import Callable

from adapters.ethereum import chain, contracts
from adapters.ethereum.anchor import Operator, Step
from adapters.ethereum.chain import ETHER
from ledger.state import StandardExit, State
from proofs.payment import Output, decode, encode_utxo_pos, unsigned_bytes
from wallet.keys import Keystore
from wallet.payments import build_payment, sign_payment, utxos_of

ETH = bytes(20)
Say = Callable[[str], None]
Expect = Callable[[bool, str], None]


def checksum(address: bytes) -> str:
    return chain.Web3.to_checksum_address(address)


def exits_act(op: Operator, keystore: Keystore, accounts: dict[str, bytes], watcher: bytes,
              omg_token: bytes, say: Say, expect: Expect) -> None:
    w3, client, node = op.w3, op.client, op.node
    eth_of = lambda name: w3.eth.get_balance(checksum(accounts[name]))  # noqa: E731
    period = client.root.framework.functions.minExitPeriod().call()

    say("\n== exits on the root chain (minimum exit period %d days)" % (period // 86400))
    op.step()
    index = op.watcher.index
    bob_pos, bob_out = largest(node.state, accounts["bob"], ETH)
    honest = client.start_standard_exit(checksum(accounts["bob"]), bob_pos, index)
    say(f"bob      starts a standard exit of {bob_out.amount} wei at {bob_pos} (exit {honest})")
    omg_pos, omg_out = largest(node.state, accounts["bob"], omg_token)
    honest_omg = client.start_standard_exit(checksum(accounts["bob"]), omg_pos, index)
    say(f"bob      starts a standard exit of {omg_out.amount} OMG base units at {omg_pos} (exit {honest_omg})")

    spent = encode_utxo_pos(1, 0, 0)  # alice's first ETH deposit, long spent on the child chain
    expect(spent in node.state.spent, "alice's deposit should be spent")
    cheat = client.start_standard_exit(checksum(accounts["alice"]), spent, index)
    say(f"alice    starts an exit of her SPENT deposit {spent} (exit {cheat})")
    watcher_before = w3.eth.get_balance(checksum(watcher))
    step = op.step()
    show_reports(step, say)
    expect(any(r.condition == "invalid_exit" and r.exit_id == cheat and r.challenged for r in step.reports),
           "the watcher did not challenge the invalid exit")
    op.step()
    record = node.state.exits[cheat]
    expect(isinstance(record, StandardExit) and record.status == "challenged", "the challenge was not followed")
    gained = w3.eth.get_balance(checksum(watcher)) - watcher_before
    say(f"watcher  challenged it with the signed spending transaction and took the bond (+{gained} wei net of gas)")

    ife_exit, dave_amount = in_flight_exit(op, keystore, accounts, say, expect)

    say(f"\n== {2 * period // 86400} days later: processing the exit queues")
    chain.travel(w3, 2 * period + 1)
    before = {name: eth_of(name) for name in ("bob", "carol", "dave")}
    omg = contracts.at(w3, "TestERC20", checksum(omg_token))
    bob_omg = omg.functions.balanceOf(checksum(accounts["bob"])).call()
    client.process_exits(checksum(accounts["dave"]))
    client.process_exits(checksum(accounts["dave"]), token=omg_token)
    op.step()
    state = node.state
    expect(state.exits[honest].status == state.exits[honest_omg].status == "paid", "honest exits not paid")
    expect(state.exits[cheat].status == "omitted", "the challenged exit was not omitted")
    expect(state.exits[ife_exit].withdrawn == {(True, 0), (True, 1)}, "the in-flight exit's outputs were not paid")
    bob_got, dave_got = eth_of("bob") - before["bob"], eth_of("dave") - before["dave"]
    say(f"bob      received {bob_got} wei (his output plus the bond back, less gas)"
        f" and {omg.functions.balanceOf(checksum(accounts['bob'])).call() - bob_omg} OMG base units")
    say(f"dave     received {dave_got} wei from the in-flight exit (his output plus the piggyback bond, less gas)")
    expect(bob_got > bob_out.amount and dave_got > dave_amount - ETHER // 100, "exits did not pay")


def largest(state: State, owner: bytes, token: bytes) -> tuple[int, Output]:
    return max(((p, o) for p, o in utxos_of(state, owner).items() if o.token == token), key=lambda item: item[1].amount)


def in_flight_exit(op: Operator, keystore: Keystore, accounts: dict[str, bytes], say: Say,
                   expect: Expect) -> tuple[int, int]:
    """Carol pays dave; the operator withholds the transaction; they exit it in flight."""
    node, client = op.node, op.client
    assert node.state.params is not None
    tx = build_payment(node.state, accounts["carol"], accounts["dave"], ETH, ETHER)
    key = keystore.private_key("carol")
    signed = sign_payment(tx, {pos: key for pos in tx.inputs}, node.state.params.verifying_contract)
    say("\ncarol    signs 1 ETH to dave; the operator WITHHOLDS it (never in a block)")
    exit_id = client.start_in_flight_exit(checksum(accounts["dave"]), signed, op.watcher.index)
    unsigned = unsigned_bytes(signed)
    say(f"dave     starts an in-flight exit of it with carol's inputs' proofs (exit {exit_id})")
    step = op.step()
    show_reports(step, say)
    client.piggyback(checksum(accounts["dave"]), unsigned, True, 0)
    client.piggyback(checksum(accounts["carol"]), unsigned, True, 1)
    say("dave and carol piggyback their outputs (payment and change), each with a bond")
    op.step()
    record = node.state.exits[exit_id]
    expect(record.piggybacked == {(True, 0), (True, 1)}, "piggybacks were not followed")
    expect(all(pos in node.state.exiting for pos in decode(signed).inputs), "carol's inputs are still spendable")
    say("the ledger took carol's inputs off the child chain: spending them now is refused (utxo_exiting)")
    return exit_id, tx.outputs[0].amount


def show_reports(step: Step, say: Say) -> None:
    for report in step.reports:
        flag = " -> challenged" if report.challenged else ""
        say(f"watcher  {report.condition}: {report.detail}{flag}")
