"""`omg demo`: the end-to-end scenario on the embedded defaults (SQLite, the in-process
Ethereum chain), played against the node as a service.

The node serves as `omg node --http` serves (adapters/node.py's `serve`): OMG's watcher API
on an ephemeral loopback port, the embedded chain's JSON-RPC at `/eth`, its URL in the home's
`node.url`. The service runs in this process, its server on its own thread, because the
embedded chain is an in-process eth-tester: only the process that holds it can make time pass
on it (the exit period), keep it across the node's restart, and reconcile the log with it.

Users act only through the wallet SDK (wallet/) over HTTP: accounts deposit ETH and an ERC20
through the vaults at `/eth`; hundreds of payments are planned, signed and submitted by the
SDK and blocks sealed with `block.seal`; forged and double-spending payments are refused with
OMG's error codes; a trading round (adapters/demo_dex.py: orders placed and cancelled with the
SDK, fills checked against the clearing rule, an open order exited in flight from a withheld
block); exits start with the node's `utxo.get_exit_data` and
`in_flight_exit.get_data` (honest, invalid and challenged, in flight with piggybacks), a
wallet's watcher sees the challenge due and the exits processable, and they are processed
after the exit period; the node audits its own log (`audit.get`).

Operator-side, hence direct: deploying the contracts, funding the accounts and minting the
ERC20 before the node starts; the operator's loop (follow the root chain, submit roots, watch
and challenge), one step where the scenario needs one instead of on a timer, so every run is
the same; time passing on the chain; reading the log to check that a refusal stored nothing
and that the follower recorded the exits; the restart; the audit against the root chain, and
tampered copies of the log failing at the right event; the proof-of-stake run on its own log.
Returns 0 only if every step behaved as the specification says.
"""
from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click
from web3 import Web3

from adapters.audit_report import render, run_audit
from adapters.cli import hexa
from adapters.demo_dex import check_payout, deploy_pair_token, dex_round, omg_held
from adapters.demo_exits import checksum, exits_act, refusal
from adapters.ethereum import chain, contracts
from adapters.ethereum.anchor import Deployment, Operator, Step
from adapters.ethereum.audit import check_against_root_chain, reconciled
from adapters.ethereum.chain import ETHER
from adapters.http.app import Api
from adapters.node import serve
from adapters.node_client import withdraw
from adapters.params import DEPLOYMENT_FILE, ETH, KEYS_FILE, LEDGER_FILE
from adapters.simulation import Config, Simulation, validator_keys
from ledger.events import FeeRule, Genesis
from ledger.node import Node
from ledger.replay import TrustedValidators
from ledger.store import EVENTS_TABLE, EventStore
from proofs import bls
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, encode_utxo_pos
from specs.hooks import InvariantHook
from wallet.account import Account
from wallet.client import ExitData, NodeClient, NodeError
from wallet.errors import WalletError
from wallet.keys import Keystore
from wallet.rootchain import RootChain

NAMES = ("alice", "bob", "carol", "dave")
SEAL_EVERY = 100
SEED = 2026
TIMEOUT_S = 30.0


class DemoFailed(Exception):
    pass


def say(text: str) -> None:
    click.echo(text)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailed(what)


@dataclass(frozen=True)
class Wallet:
    """One user's SDK objects: the child chain through the node's API, the root chain through `/eth`."""

    account: Account
    root: RootChain

    @property
    def address(self) -> bytes:
        return self.account.address


@dataclass(frozen=True)
class Served:
    """The node serving its API, the operator loop the demo steps, and the users' wallets."""

    api: Api
    operator: Operator
    client: NodeClient
    eth: Web3  # the embedded chain as users reach it: JSON-RPC at the node's /eth
    wallets: dict[str, Wallet]

    @property
    def url(self) -> str:
        return self.api.server.url

    def step(self) -> Step:
        """One step of the node's operator loop, under its writer's lock, as `omg node` runs every --interval."""
        return self.api.step(self.operator.step)

    def direct(self, action) -> object:
        """An operator-side action on the embedded chain (eth-tester is not thread-safe: /eth holds this lock)."""
        return self.api.service.operator_step(action)


def run_demo(home: Path | None, transfers: int) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        home = home or Path(tmp) / "omg-demo"
        home.mkdir(parents=True, exist_ok=True)
        try:
            scenario(home, transfers)
        except (DemoFailed, WalletError) as exc:
            say(f"\nDEMO FAILED: {exc}")
            return 1
    say(f"\ndemo complete in {time.monotonic() - started:.1f} s")
    return 0


def scenario(home: Path, transfers: int) -> None:
    db = home / LEDGER_FILE
    keystore = Keystore(home / KEYS_FILE)
    accounts = {name: keystore.new(name, keccak256(f"omg-demo {name}".encode())) for name in (*NAMES, "watcher")}
    w3, deployment, root, omg_token = root_chain(keystore, accounts)
    deployment.save(home / DEPLOYMENT_FILE)  # as `omg node` keeps it: the CLI checks node.url against it
    store = EventStore(db)
    node = Node(store, InvariantHook(), snapshot_every=100)
    tkn = deploy_pair_token(w3, root, [checksum(accounts[name]) for name in NAMES])
    fees = tuple(FeeRule(tx_type, token, amount) for tx_type in (1, 4)  # payments and ORDER txs (type 4)
                 for token, amount in ((ETH, 10**12), (omg_token, 10**15), (tkn, 10**15)))
    node.submit([Genesis(deployment.verifying_contract, fees)])
    say(f"== ledger at {db}; verifying contract = the PlasmaFramework at {deployment.framework}")
    operator = Operator(node, w3, root, deployment.block, challenger=checksum(accounts["watcher"]))
    api = serve(node, home, ("127.0.0.1", 0), w3)
    try:
        service = connect(api, operator, keystore)
        kept = deposit_all(service, omg_token)
        make_transfers(service, transfers, omg_token)
        attempt_attacks(service)
        order_exit, order_amount = dex_round(service, omg_token, tkn, say, expect)
        omg_before = omg_held(service, omg_token)
        exits_act(service, kept, accounts["watcher"], omg_token, say, expect)
        check_payout(service, order_exit, order_amount, omg_before, omg_token, say, expect)
        show_balances(service, omg_token)
        audit_served(service)
    finally:
        withdraw(home)
        api.close()
    say(f"the node stopped serving; {home / 'node.url'} removed")
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


def connect(api: Api, operator: Operator, keystore: Keystore) -> Served:
    """Each user's wallet on the served node: the SDK's client, and web3 on the node's /eth."""
    client = NodeClient(api.server.url, timeout=TIMEOUT_S)
    eth = Web3(Web3.HTTPProvider(f"{api.server.url}/eth", request_kwargs={"timeout": TIMEOUT_S}))
    framework = client.status().plasma_framework
    wallets = {name: Wallet(Account(client, keystore.private_key(name)), RootChain(eth, framework,
                                                                                   keystore.private_key(name)))
               for name in NAMES}
    say(f"wallets use the SDK: the child chain at {api.server.url}, the root chain at {api.server.url}/eth")
    return Served(api, operator, client, eth, wallets)


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


def deposit_all(service: Served, omg_token: bytes) -> ExitData:
    """Every account deposits through the vaults; returns the exit data alice keeps of her
    first deposit (she will try to exit it once spent)."""
    say("\n== deposits through the root-chain vaults at /eth: every account puts in 10 ETH and 5000 OMG")
    blknums = {}
    for name in NAMES:
        wallet = service.wallets[name]
        blknums[name] = [wallet.root.deposit(amount, token) for token, amount in ((ETH, 10 * ETHER),
                                                                                  (omg_token, 5_000 * ETHER))]
        say(f"{name:6} {hexa(wallet.address)} deposited 10 ETH and 5000 OMG (deposit blocks {blknums[name]})")
    step = service.step()
    deposits = [o for o in step.applied if o.event.KIND == "deposit"]
    expect(len(deposits) == 2 * len(NAMES) and all(o.accepted for o in step.applied), "deposits not followed")
    for name in NAMES:
        held = service.wallets[name].account.balance()
        expect(held == {ETH: 10 * ETHER, omg_token: 5_000 * ETHER}, f"account.get_balance of {name}: {held}")
    say(f"the node's follower turned {len(deposits)} vault events into ledger deposits; account.get_balance shows"
        " each account's 10 ETH and 5000 OMG")
    return service.client.exit_data(encode_utxo_pos(blknums["alice"][0], 0, 0))


def make_transfers(service: Served, count: int, omg_token: bytes) -> None:
    say(f"\n== {count} payments planned and signed by the SDK, submitted with transaction.submit; sealed every"
        f" {SEAL_EVERY} with block.seal, each root submitted to the root chain")
    rng = random.Random(SEED)
    accepted = 0
    for i in range(count):
        sender, recipient = rng.sample(NAMES, 2)
        token = rng.choice((ETH, omg_token))
        amount = rng.randint(1, 10**17)
        try:
            service.wallets[sender].account.pay(service.wallets[recipient].address, amount, token, fee_currency=token)
            accepted += 1
        except NodeError as exc:
            raise DemoFailed(f"honest payment rejected by the node: {exc}") from None
        except WalletError:
            pass  # the SDK found no inputs to cover it (too many small outputs): nothing sent
        if (i + 1) % SEAL_EVERY == 0:
            seal(service)
    if service.operator.node.state.open_block_txs:
        seal(service)
    expect(accepted > count // 2, f"only {accepted} of {count} payments could be planned")
    say(f"{accepted} payments accepted ({count - accepted} not planned: the sender's outputs could not cover them)")


def seal(service: Served) -> None:
    """Seal the open block over the API, then the operator's step submits its root and follows it."""
    sealed = service.client.call("block.seal", {})
    blknum = sealed["blknum"]
    step = service.step()
    expect(all(o.accepted for o in step.sealed + step.applied), "a root-chain fact was rejected")
    expect(step.submitted == [blknum] and service.client.status().last_mined_child_block_number == blknum,
           f"block {blknum} not submitted")
    say(f"sealed block {blknum} through block.seal: {sealed['tx_count']} txs, root {sealed['hash'][:18]}...;"
        " the operator submitted its root, status.get shows it mined")


def attempt_attacks(service: Served) -> None:
    say("\n== attacks over transaction.submit, each refused with OMG's error code and nothing stored")
    client, wallets = service.client, service.wallets
    alice, bob, carol, dave = (wallets[name].account for name in NAMES)
    honest_raw = alice.sign(alice.plan(bob.address, 10**15, ETH, ETH))
    client.submit(honest_raw)
    mallory = Account(client, keccak256(b"mallory"))
    stolen = bob.plan(mallory.address, 10**15, ETH, ETH)
    carols = carol.plan(dave.address, 10**15, ETH, ETH)
    overspend = PaymentTx(carols.inputs, [Output(OUTPUT_TYPE_PAYMENT, dave.address, ETH, 10**24)])
    cases = [
        ("double spend of alice's spent output", honest_raw, "submit:utxo_already_spent"),
        ("bob's output signed with mallory's key", mallory.sign(stolen), "submit:unauthorized_spend"),
        ("carol pays more than she holds", carol.sign(overspend), "submit:amounts_do_not_add_up"),
        ("truncated transaction bytes", honest_raw[:-7], "submit:malformed_transaction_rlp"),
    ]
    node = service.operator.node
    before = (node.store.count, node.state)
    for what, raw, code in cases:
        expect(refusal(lambda: client.submit(raw)) == code, f"{what}: expected {code}")
        say(f"rejected  {what:42} -> {code}")
    expect((node.store.count, node.state) == before, "a rejected payment changed the ledger")
    seal(service)


def show_balances(service: Served, omg_token: bytes) -> None:
    say("\n== child-chain balances (base units, account.get_balance)")
    for name in NAMES:
        held = service.wallets[name].account.balance()
        say(f"{name:6} ETH {held.get(ETH, 0):>22}  OMG {held.get(omg_token, 0):>26}")


def audit_served(service: Served) -> None:
    """The node's audit of its own log, over the API."""
    verdict = service.client.call("audit.get")
    say(f"\n== audit.get: the node replays its own log: {verdict['events']} events,"
        f" {'OK' if verdict['ok'] else 'FAILED'}, head {verdict['head_hash'][:18]}...")
    expect(verdict["ok"] and not verdict["findings"], f"the node's audit of its log failed: {verdict['failure']}")


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
