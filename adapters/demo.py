"""`omg demo`: the end-to-end scenario on the embedded defaults (SQLite, no server).

Accounts deposit, hundreds of signed transfers fill several blocks, forged and
double-spending attempts are rejected with their codes, the node restarts where it
stopped, the log audits clean, and tampered copies of it fail at the right event.
Returns 0 only if every step behaved as the specification says.
"""
from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

import click

from adapters.cli import ETH, LOCAL_VERIFYING_CONTRACT, hexa, render, run_audit
from ledger.events import Deposit, FeeRule, Genesis, Payment
from ledger.node import Node
from ledger.store import EVENTS_TABLE, EventStore
from proofs import eip712
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, deposit_tx, encode
from specs.hooks import InvariantHook
from wallet.keys import Keystore
from wallet.payments import WalletError, balances, build_payment, sign_payment

OMG_TOKEN = bytes.fromhex("d26114cd6ee289accf82350c8d8487fedb8a0c07")  # the OMG ERC20's mainnet address
FEES = (FeeRule(1, ETH, 10**12), FeeRule(1, OMG_TOKEN, 10**15))
NAMES = ("alice", "bob", "carol", "dave")
SEAL_EVERY = 100
SEED = 2026


class DemoFailed(Exception):
    pass


def say(text: str) -> None:
    click.echo(text)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailed(what)


def run_demo(home: Path | None, transfers: int) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        home = home or Path(tmp) / "omg-demo"
        home.mkdir(parents=True, exist_ok=True)
        try:
            scenario(home, transfers)
        except DemoFailed as exc:
            say(f"\nDEMO FAILED: {exc}")
            return 1
    say(f"\ndemo complete in {time.monotonic() - started:.1f} s")
    return 0


def scenario(home: Path, transfers: int) -> None:
    db = home / "ledger.db"
    keystore = Keystore(home / "keys.json")
    accounts = {name: keystore.new(name, keccak256(f"omg-demo {name}".encode())) for name in NAMES}
    store = EventStore(db)
    node = Node(store, InvariantHook(), snapshot_every=100)
    say(f"== ledger at {db}, verifying contract {hexa(LOCAL_VERIFYING_CONTRACT)}")
    node.submit([Genesis(LOCAL_VERIFYING_CONTRACT, FEES)])
    deposit_all(node, accounts)
    make_transfers(node, keystore, accounts, transfers)
    attempt_attacks(node, keystore, accounts)
    show_balances(node, accounts)
    state_before = node.state
    store.close()
    say("\n== restart: the node resumes from its latest snapshot and the log after it")
    store = EventStore(db)
    node = Node(store)
    expect(node.state.utxos == state_before.utxos and store.count == state_before.event_count, "restart lost state")
    say(f"resumed at event {store.count} with {len(node.state.utxos)} unspent outputs, identical to before")
    store.close()
    audit_clean(db)
    audit_tampered(home, db)


def deposit_all(node: Node, accounts: dict[str, bytes]) -> None:
    say("\n== deposits: every account gets ETH and OMG in its own deposit block")
    for name, address in accounts.items():
        for token, amount in ((ETH, 10 * 10**18), (OMG_TOKEN, 5_000 * 10**18)):
            tx = encode(deposit_tx(address, token, amount))
            [outcome] = node.submit([Deposit(node.state.next_deposit_blknum, tx)])
            expect(outcome.accepted, f"deposit rejected: {outcome.code}")
        say(f"{name:6} {hexa(address)} deposited 10 ETH and 5000 OMG")


def make_transfers(node: Node, keystore: Keystore, accounts: dict[str, bytes], count: int) -> None:
    say(f"\n== {count} signed transfers, sealed every {SEAL_EVERY}")
    rng = random.Random(SEED)
    assert node.state.params is not None
    for i in range(count):
        sender, recipient = rng.sample(NAMES, 2)
        token = rng.choice((ETH, OMG_TOKEN))
        amount = rng.randint(1, 10**17)
        try:
            tx = build_payment(node.state, accounts[sender], accounts[recipient], token, amount)
        except WalletError:
            continue
        key = keystore.private_key(sender)
        raw = sign_payment(tx, {pos: key for pos in tx.inputs}, node.state.params.verifying_contract)
        [outcome] = node.submit([Payment(raw)])
        expect(outcome.accepted, f"honest transfer rejected: {outcome.code} {outcome.detail}")
        if (i + 1) % SEAL_EVERY == 0:
            seal(node)
    if node.state.open_block_txs:
        seal(node)


def seal(node: Node) -> None:
    blknum, count = node.state.next_child_blknum, len(node.state.open_block_txs)
    outcomes = node.seal()
    expect(all(o.accepted for o in outcomes), "seal rejected")
    fees = ", ".join(f"{o.event.amount} in {hexa(o.event.token)[:10]}" for o in outcomes[:-1])
    say(f"sealed block {blknum}: {count} txs, root {hexa(outcomes[-1].event.root)[:18]}..., fees {fees or 'none'}")


def attempt_attacks(node: Node, keystore: Keystore, accounts: dict[str, bytes]) -> None:
    say("\n== attacks, each rejected with a stable code and nothing stored")
    state = node.state
    assert state.params is not None
    vc = state.params.verifying_contract
    alice_key = keystore.private_key("alice")
    honest = build_payment(state, accounts["alice"], accounts["bob"], ETH, 10**15)
    honest_raw = sign_payment(honest, {pos: alice_key for pos in honest.inputs}, vc)
    [first] = node.submit([Payment(honest_raw)])
    expect(first.accepted, "honest payment rejected")
    mallory = keccak256(b"mallory")
    stolen = build_payment(node.state, accounts["bob"], eip712.address_of(mallory), ETH, 10**15)
    carols = build_payment(node.state, accounts["carol"], accounts["dave"], ETH, 10**15)
    overspend = PaymentTx(carols.inputs, [Output(OUTPUT_TYPE_PAYMENT, accounts["dave"], ETH, 10**24)])
    cases = [
        ("double spend of alice's spent output", Payment(honest_raw), "utxo_already_spent"),
        ("bob's output signed with mallory's key", Payment(sign_payment(stolen, {p: mallory for p in stolen.inputs}, vc)),
         "unauthorized_spend"),
        ("carol pays more than she holds", Payment(sign_payment(overspend, {p: keystore.private_key("carol")
                                                                           for p in overspend.inputs}, vc)),
         "amounts_do_not_add_up"),
        ("truncated transaction bytes", Payment(honest_raw[:-7]), "malformed_transaction_rlp"),
    ]
    before = (node.store.count, node.state)
    for what, event, code in cases:
        [outcome] = node.submit([event])
        expect(outcome.code == code, f"{what}: expected {code}, got {outcome.code}")
        say(f"rejected  {what:42} -> {outcome.code}")
    expect((node.store.count, node.state) == before, "a rejected event changed the ledger")
    seal(node)


def show_balances(node: Node, accounts: dict[str, bytes]) -> None:
    say("\n== balances (base units)")
    for name, address in accounts.items():
        held = balances(node.state, address)
        say(f"{name:6} ETH {held.get(ETH, 0):>22}  OMG {held.get(OMG_TOKEN, 0):>26}")


def audit_clean(db: Path) -> None:
    say(f"\n== omg audit {db}")
    report = run_audit(db, progress=False)
    say(render(report))
    expect(report.ok, "the honest log failed its audit")


def audit_tampered(home: Path, db: Path) -> None:
    store = EventStore(db)
    chosen = next(record for record in store.read(store.count // 2) if record.topic == "payment")
    target, payload = chosen.index, chosen.payload
    tampered, truncated = home / "tampered.db", home / "truncated.db"
    store.copy_to(tampered)
    store.copy_to(truncated)
    count = store.count
    store.close()

    raw = bytearray(tampered.read_bytes())
    offset = raw.find(payload)
    expect(offset >= 0 and raw.find(payload, offset + 1) < 0, "payload not found once in the file")
    raw[offset + len(payload) // 2] ^= 0x01
    tampered.write_bytes(bytes(raw))
    say(f"\n== one byte flipped at file offset {offset + len(payload) // 2} (inside event {target}) of a copy")
    report = run_audit(tampered, progress=False)
    say(render(report).splitlines()[-1])
    expect(report.failure is not None and report.failure.index == target, f"tampering not caught at {target}")

    cut = count - 150
    with sqlite3.connect(truncated) as conn:
        conn.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_version >= ?", (cut,))
    say(f"\n== the last {count - cut} events deleted from another copy")
    report = run_audit(truncated, progress=False)
    say(render(report).splitlines()[-1])
    expect(report.failure is not None and report.failure.code == "log_truncated", "truncation not caught")
