"""`omg demo`: the end-to-end scenario on the embedded defaults (SQLite, the in-process
Ethereum chain; no server).

The root chain is deployed and its PlasmaFramework becomes the verifying contract;
accounts deposit ETH and an ERC20 through the vaults; hundreds of signed transfers
fill blocks whose roots go to the root chain; forged and double-spending attempts are
rejected with their codes; exits run (honest, invalid and challenged, in flight) and
are processed after the exit period; both chains reconcile; the node restarts where
it stopped, the log audits clean, and tampered copies of it fail at the right event.
Returns 0 only if every step behaved as the specification says.
"""
from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

import click

from adapters.audit_report import render, run_audit
from adapters.cli import hexa
from adapters.params import ETH
from adapters.demo_exits import checksum, exits_act
from adapters.ethereum import chain, contracts
from adapters.ethereum.anchor import Deployment, Operator
from adapters.ethereum.audit import check_against_root_chain, reconciled
from adapters.ethereum.chain import ETHER
from adapters.simulation import Config, Simulation, validator_keys
from ledger.events import FeeRule, Genesis, Payment
from ledger.node import Node
from ledger.replay import TrustedValidators
from ledger.store import EVENTS_TABLE, EventStore
from proofs import bls, eip712
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs.hooks import InvariantHook
from wallet.keys import Keystore
from wallet.payments import WalletError, balances, build_payment, sign_payment

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
    accounts = {name: keystore.new(name, keccak256(f"omg-demo {name}".encode())) for name in (*NAMES, "watcher")}
    w3, deployment, root, omg_token = root_chain(keystore, accounts)
    store = EventStore(db)
    node = Node(store, InvariantHook(), snapshot_every=100)
    fees = (FeeRule(1, ETH, 10**12), FeeRule(1, omg_token, 10**15))
    node.submit([Genesis(deployment.verifying_contract, fees)])
    say(f"== ledger at {db}; verifying contract = the PlasmaFramework at {deployment.framework}")
    op = Operator(node, w3, root, deployment.block, challenger=checksum(accounts["watcher"]))
    deposit_all(op, accounts, omg_token)
    make_transfers(op, keystore, accounts, transfers, omg_token)
    attempt_attacks(op, keystore, accounts)
    exits_act(op, keystore, accounts, accounts["watcher"], omg_token, say, expect)
    show_balances(node, accounts, omg_token)
    state_before = node.state
    store.close()
    say("\n== restart: the node resumes from its latest snapshot and the log after it")
    store = EventStore(db)
    node = Node(store)
    resumed = Operator(node, w3, root, deployment.block).step(seal=False)
    expect(node.state.utxos == state_before.utxos and not resumed.applied[:-1], "restart lost or repeated state")
    say(f"resumed from the {node.restored_from} at event {store.count} with {len(node.state.utxos)} unspent outputs,"
        " identical to before; the follower applied no root-chain fact twice")
    store.close()
    audit_clean(db, w3, root, deployment.block)
    audit_tampered(home, db, w3, root, deployment.block)
    proof_of_stake(home)


def proof_of_stake(home: Path) -> None:
    """The seeded validator run on its own log, then its audit re-verifying every commit."""
    config = Config()
    say(f"\n== proof of stake: {config.validators} validators (one offline, one equivocating), {config.blocks} blocks,"
        f" fee epochs of {config.epoch_blocks} blocks")
    summary = Simulation(home / "pos.db", config, say).run()
    fees = ", ".join(f"{rule.amount} per payment" for rule in summary.schedule)
    say(f"{summary.commits} blocks final (aggregate BLS commits of more than 2/3 of the stake);"
        f" equivocation slashed: {', '.join(summary.slashed_equivocation)}; jailed: {', '.join(sorted(summary.jailed))}")
    say(f"{summary.epochs} fee epochs: the stake-weighted median fee is {fees}; {summary.fees_distributed} base units"
        " of fees paid to validators by stake")
    expect(summary.commits == config.blocks and len(summary.jailed) == config.offline + config.equivocating,
           "the validators did not behave as configured")
    say(f"\n== omg audit {home / 'pos.db'} --validators <the run's BLS keys, known to the auditor>")
    trusted = TrustedValidators.of(frozenset(bls.public_key(v.bls_key) for v in validator_keys(config)))
    report = run_audit(home / "pos.db", progress=False, trusted=trusted)
    say(render(report))
    expect(report.ok, "the proof-of-stake log failed its audit")
    expect(report.anchored_through >= 0, "the trusted validators' commits anchor none of the log")


def root_chain(keystore: Keystore, accounts: dict[str, bytes]) -> tuple[chain.Web3, Deployment, contracts.RootChain, bytes]:
    """The embedded chain with the root-chain contracts and an OMG-like ERC20; accounts funded."""
    w3 = chain.embedded()
    chain.use_keys(w3, [keystore.private_key(name) for name in accounts])
    chain.fund(w3, [checksum(address) for address in accounts.values()], 100 * ETHER)
    deployment, root = Deployment.deploy(w3)
    omg = contracts.deploy(w3, "TestERC20", "OMG Network (demo)", "OMG", sender=root.authority)
    chain.send(w3, root.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, omg.address), root.authority)
    for address in accounts.values():
        chain.send(w3, omg.functions.mint(checksum(address), 5_000 * ETHER), root.authority)
    say(f"== embedded Ethereum chain {w3.eth.chain_id}: PlasmaFramework, EthVault, Erc20Vault and the payment exit"
        f" game deployed; OMG ERC20 at {omg.address}")
    return w3, deployment, root, bytes.fromhex(omg.address[2:])


def deposit_all(op: Operator, accounts: dict[str, bytes], omg_token: bytes) -> None:
    say("\n== deposits through the root-chain vaults: every account puts in 10 ETH and 5000 OMG")
    for name in NAMES:
        for token, amount in ((ETH, 10 * ETHER), (omg_token, 5_000 * ETHER)):
            op.client.deposit(checksum(accounts[name]), token, amount)
        say(f"{name:6} {hexa(accounts[name])} deposited 10 ETH and 5000 OMG on Ethereum")
    step = op.step()
    deposits = [o for o in step.applied if o.event.KIND == "deposit"]
    expect(len(deposits) == 2 * len(NAMES) and all(o.accepted for o in step.applied), "deposits not followed")
    say(f"the follower turned {len(deposits)} vault events into ledger deposits")


def make_transfers(op: Operator, keystore: Keystore, accounts: dict[str, bytes], count: int, omg_token: bytes) -> None:
    say(f"\n== {count} signed transfers, sealed every {SEAL_EVERY}, each root submitted to the root chain")
    node = op.node
    rng = random.Random(SEED)
    assert node.state.params is not None
    for i in range(count):
        sender, recipient = rng.sample(NAMES, 2)
        token = rng.choice((ETH, omg_token))
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
            seal(op)
    if node.state.open_block_txs:
        seal(op)


def seal(op: Operator) -> None:
    """Seal the open block, submit its root, and follow the root chain's BlockSubmitted."""
    blknum, count = op.node.state.next_child_blknum, len(op.node.state.open_block_txs)
    step = op.step()
    expect(all(o.accepted for o in step.sealed + step.applied), "seal or root-chain fact rejected")
    expect(step.submitted == [blknum] and op.node.state.submitted_blknum == blknum, f"block {blknum} not submitted")
    fees = ", ".join(f"{o.event.amount} in {hexa(o.event.token)[:10]}" for o in step.sealed[:-1])
    say(f"sealed block {blknum}: {count} txs, root {hexa(step.sealed[-1].event.root)[:18]}..., fees {fees or 'none'};"
        " submitted")


def attempt_attacks(op: Operator, keystore: Keystore, accounts: dict[str, bytes]) -> None:
    say("\n== attacks, each rejected with a stable code and nothing stored")
    node = op.node
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
    seal(op)


def show_balances(node: Node, accounts: dict[str, bytes], omg_token: bytes) -> None:
    say("\n== child-chain balances (base units)")
    for name in NAMES:
        held = balances(node.state, accounts[name])
        say(f"{name:6} ETH {held.get(ETH, 0):>22}  OMG {held.get(omg_token, 0):>26}")


def audit_clean(db: Path, w3: chain.Web3, root: contracts.RootChain, deployed_at: int) -> None:
    """The audit, checking every block root and deposit against the root chain and reconciling
    each vault with what the log says it owes."""
    say(f"\n== omg audit {db} --eth-rpc <the embedded chain>")
    report, balances = check_against_root_chain(run_audit(db, progress=False), w3, root, deployed_at)
    say(render(report, balances))
    expect(report.ok, "the honest log failed its audit")
    expect(report.anchored_through >= 0, "the root chain anchors none of the log")
    expect(reconciled(balances), "a vault does not hold what the log owes")


def audit_tampered(home: Path, db: Path, w3: chain.Web3, root: contracts.RootChain, deployed_at: int) -> None:
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
    say(f"\n== the last {count - cut} events deleted from another copy, audited against the root chain")
    report, _ = check_against_root_chain(run_audit(truncated, progress=False), w3, root, deployed_at)
    say("\n".join(line for line in render(report).splitlines() if line.startswith(("FINDING", "verdict"))))
    caught = {f.code for f in report.findings} | ({report.failure.code} if report.failure else set())
    expect(bool(caught & {"log_truncated", "block_missing_from_log"}), "truncation not caught")
