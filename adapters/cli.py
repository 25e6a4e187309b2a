"""The `omg` command: a thin composition root over the ledger, the wallet and the specs.

A ledger home holds `ledger.db` (the hash-chained event store) and `keys.json`.
Exit codes: 0 success, 1 a rejected command or a failed audit/check, 2 bad usage
or an unreadable ledger.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from tqdm import tqdm

from ledger.events import Deposit, FeeRule, Genesis, Payment
from ledger.node import Node, Outcome
from ledger.replay import AuditReport, audit
from ledger.store import EventStore, StoreError
from ledger.witnesses import Prefetcher, default_workers
from proofs.keccak import keccak256
from proofs.payment import deposit_tx, encode
from specs.hooks import InvariantHook
from wallet.keys import Keystore, KeystoreError
from wallet.payments import WalletError, balances, build_payment, sign_payment

ETH = bytes(20)
# Until a root chain is deployed (the Ethereum adapter), the EIP-712 verifying
# contract of a local ledger is this fixed, documented placeholder.
LOCAL_VERIFYING_CONTRACT = keccak256(b"omg-ledger local verifying contract")[12:]
home_option = click.option(
    "--home", type=click.Path(path_type=Path), default=Path("omg-data"), envvar="OMG_HOME", show_default=True,
    help="Ledger home folder (ledger.db, keys.json).",
)


def parse_address(text: str) -> bytes:
    if text.lower() == "eth":
        return ETH
    raw = text[2:] if text.lower().startswith("0x") else text
    try:
        address = bytes.fromhex(raw)
    except ValueError:
        address = b""
    if len(address) != 20:
        raise click.BadParameter(f"{text!r} is not a 20-byte hex address (or 'eth')")
    return address


def parse_fee(text: str) -> FeeRule:
    token, _, amount = text.partition(":")
    if not amount.isdigit():
        raise click.BadParameter(f"{text!r} is not TOKEN:AMOUNT")
    return FeeRule(1, parse_address(token), int(amount))


def hexa(data: bytes) -> str:
    return "0x" + data.hex()


@contextmanager
def open_node(home: Path, must_exist: bool = True) -> Iterator[Node]:
    db = home / "ledger.db"
    if must_exist and not db.exists():
        raise click.ClickException(f"no ledger at {db}: run `omg init --home {home}` first")
    home.mkdir(parents=True, exist_ok=True)
    try:
        store = EventStore(db)
        node = Node(store, InvariantHook(full_every=10_000))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield node
    finally:
        store.close()


def resolve(keystore: Keystore, who: str) -> bytes:
    """A key name from the keystore, or a raw address."""
    return keystore.addresses().get(who) or parse_address(who)


def report(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.accepted:
            click.echo(f"accepted {outcome.event.KIND} as event {outcome.index} ({hexa(outcome.hash or b'')})")
        else:
            click.echo(f"rejected {outcome.event.KIND}: {outcome.code}: {outcome.detail}")
    if not all(o.accepted for o in outcomes):
        sys.exit(1)


@click.group()
def main() -> None:
    """omg-ledger: an event-sourced OMG Network ledger with invariant checks."""


@main.command()
@home_option
@click.option("--verifying-contract", default=hexa(LOCAL_VERIFYING_CONTRACT), show_default=True,
              help="EIP-712 verifying contract (the PlasmaFramework address).")
@click.option("--fee", "fees", multiple=True, metavar="TOKEN:AMOUNT", help="Payment fee, e.g. eth:1 (repeatable).")
def init(home: Path, verifying_contract: str, fees: tuple[str, ...]) -> None:
    """Create a ledger: its genesis event fixes the verifying contract and fee schedule."""
    if (home / "ledger.db").exists():
        raise click.ClickException(f"a ledger exists at {home}")
    genesis = Genesis(parse_address(verifying_contract), tuple(parse_fee(f) for f in fees))
    with open_node(home, must_exist=False) as node:
        report(node.submit([genesis]))


@main.group()
def keys() -> None:
    """Local development keys."""


@keys.command("new")
@home_option
@click.argument("name")
def keys_new(home: Path, name: str) -> None:
    """Create key NAME and print its address."""
    home.mkdir(parents=True, exist_ok=True)
    try:
        click.echo(f"{name} {hexa(Keystore(home / 'keys.json').new(name))}")
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None


@keys.command("list")
@home_option
def keys_list(home: Path) -> None:
    for name, address in Keystore(home / "keys.json").addresses().items():
        click.echo(f"{name} {hexa(address)}")


@main.command()
@home_option
@click.argument("owner")
@click.argument("amount", type=click.IntRange(min=1))
@click.option("--token", default="eth", show_default=True)
def deposit(home: Path, owner: str, amount: int, token: str) -> None:
    """Deposit AMOUNT (base units) to OWNER (key name or address) in the next deposit block."""
    with open_node(home) as node:
        owner_address = resolve(Keystore(home / "keys.json"), owner)
        tx = encode(deposit_tx(owner_address, parse_address(token), amount))
        report(node.submit([Deposit(node.state.next_deposit_blknum, tx)]))


@main.command()
@home_option
@click.argument("sender")
@click.argument("recipient")
@click.argument("amount", type=click.IntRange(min=1))
@click.option("--token", default="eth", show_default=True)
def send(home: Path, sender: str, recipient: str, amount: int, token: str) -> None:
    """Pay AMOUNT from key SENDER to RECIPIENT; the scheduled fee is added."""
    keystore = Keystore(home / "keys.json")
    with open_node(home) as node:
        try:
            key = keystore.private_key(sender)
            owner = keystore.addresses()[sender]
            tx = build_payment(node.state, owner, resolve(keystore, recipient), parse_address(token), amount)
        except (KeystoreError, WalletError) as exc:
            raise click.ClickException(str(exc)) from None
        assert node.state.params is not None
        raw = sign_payment(tx, {pos: key for pos in tx.inputs}, node.state.params.verifying_contract)
        report(node.submit([Payment(raw)]))


@main.command()
@home_option
def seal(home: Path) -> None:
    """Collect the open child block's fees and seal it with its Merkle root."""
    with open_node(home) as node:
        report(node.seal())


@main.command()
@home_option
@click.argument("who", required=False)
def balance(home: Path, who: str | None) -> None:
    """Balances of WHO (key name or address), or of every local key."""
    keystore = Keystore(home / "keys.json")
    with open_node(home) as node:
        targets = {who: resolve(keystore, who)} if who else keystore.addresses()
        for name, address in targets.items():
            held = balances(node.state, address)
            shown = ", ".join(f"{amount} {'eth' if t == ETH else hexa(t)}" for t, amount in sorted(held.items()))
            click.echo(f"{name} {hexa(address)}: {shown or 'nothing'}")


def render(report_: AuditReport) -> str:
    lines = [
        f"events        {report_.events} ({', '.join(f'{k} {n}' for k, n in report_.kinds.items())})",
        f"blocks        {report_.blocks} child, {report_.deposit_blocks} deposit",
        f"head hash     {report_.head_hash}",
    ]
    for token, value in report_.value.items():
        lines.append(
            f"value {token}  deposited {value['deposited']} = unspent {value['unspent']} + fees {value['fees']}"
            f" + in exit {value['in_exit']} + exited {value['exited']}" + (f" + staked {value['staked']}" if value["staked"] else "")
        )
        if value["unbacked"]:
            lines.append(f"      {token}  UNBACKED: the root chain paid {value['unbacked']} for outputs the ledger did not hold")
    checked = sum(report_.invariants_checked.values())
    lines.append(f"invariants    {len(report_.invariants_checked)} checked {checked} times")
    if report_.failure is None:
        lines.append("verdict       OK: every record, signature, Merkle root and invariant holds")
    else:
        f = report_.failure
        lines.append(f"verdict       FAILED at event {f.index} ({f.kind}): {f.code}: {f.detail}")
    return "\n".join(lines)


VaultBalance = Callable[[bytes], int]


def reconcile(report_: AuditReport, vault_balance: VaultBalance) -> dict[str, dict[str, int]]:
    """Per token, what its root-chain vault holds against what the log says it must:
    deposited - exited - unbacked."""
    return {
        token: {"vault": vault_balance(bytes.fromhex(token[2:])),
                "owed": value["deposited"] - value["exited"] - value["unbacked"]}
        for token, value in report_.value.items()
    }


def render_reconciliation(balances: dict[str, dict[str, int]]) -> str:
    return "\n".join(
        f"vault {token}  holds {b['vault']} = deposited - exited - unbacked {b['owed']}: "
        + ("OK" if b["vault"] == b["owed"] else "MISMATCH")
        for token, b in balances.items()
    )


def root_chain_vaults(log: Path, eth_rpc: str, deployment_path: Path | None) -> VaultBalance:
    """The vault balances of the deployment kept beside the log (or at `deployment_path`)."""
    from adapters.ethereum import chain
    from adapters.ethereum.anchor import Deployment
    from adapters.ethereum.client import RootChainClient

    path = deployment_path or log.parent / "rootchain.json"
    if not path.exists():
        raise click.ClickException(f"no deployment at {path}: pass --deployment")
    w3 = chain.connect(eth_rpc)
    return RootChainClient(w3, Deployment.load(path).attach(w3)).vault_balance


def report_json(report_: AuditReport) -> str:
    failure = report_.failure
    return json.dumps(
        {
            "ok": report_.ok,
            "events": report_.events,
            "head_hash": report_.head_hash,
            "kinds": report_.kinds,
            "blocks": report_.blocks,
            "deposit_blocks": report_.deposit_blocks,
            "value": report_.value,
            "invariants_checked": report_.invariants_checked,
            "failure": None if failure is None else {
                "index": failure.index, "kind": failure.kind, "code": failure.code, "detail": failure.detail
            },
        },
        indent=2,
    )


def run_audit(log: Path, as_json: bool = False, progress: bool = True, workers: int = 0) -> AuditReport:
    try:
        store = EventStore(log)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    prefetcher = Prefetcher(workers)
    try:
        with tqdm(total=store.count, unit="ev", desc="audit", disable=as_json or not progress, file=sys.stderr) as bar:
            hook = InvariantHook(full_every=10_000)
            return audit(store, hook, lambda done: bar.update(done - bar.n), prefetcher)
    finally:
        prefetcher.close()
        store.close()


@main.command("audit")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option("--workers", type=click.IntRange(min=0), default=default_workers(), show_default="cores - 1",
              help="Processes recovering signatures ahead of the replay (0: none).")
@click.option("--eth-rpc", default=None, metavar="URL", help="Also reconcile the root chain's vaults with the log.")
@click.option("--deployment", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="rootchain.json of the contracts [default: beside LOG].")
def audit_command(log: Path, as_json: bool, workers: int, eth_rpc: str | None, deployment: Path | None) -> None:
    """Replay LOG from genesis: hash chain, signatures, Merkle roots, every invariant;
    with --eth-rpc, check each vault holds what the log says it owes."""
    result = run_audit(log, as_json, workers=workers)
    balances = reconcile(result, root_chain_vaults(log, eth_rpc, deployment)) if eth_rpc else {}
    if as_json:
        click.echo(json.dumps({**json.loads(report_json(result)), "vaults": balances}, indent=2))
    else:
        click.echo(render(result) + ("\n" + render_reconciliation(balances) if balances else ""))
    reconciled = all(b["vault"] == b["owed"] for b in balances.values())
    sys.exit(0 if result.ok and reconciled else 1)


@main.command()
@click.option("--symbolic", is_flag=True, help="Run CrossHair on the transitions' contracts instead.")
@click.option("--examples", default=200, show_default=True, help="Property search: examples to try.")
@click.option("--seed", type=int, default=None, help="Property search: seed, for a reproducible run.")
@click.option("--time-budget", default=60.0, show_default=True, help="Seconds for the whole search.")
@click.option("--per-function", default=10.0, show_default=True, help="Symbolic: seconds per function.")
def check(symbolic: bool, examples: int, seed: int | None, time_budget: float, per_function: float) -> None:
    """Search for counterexamples to the invariant catalogue (property-based, or symbolic)."""
    from specs import search, symbolic as symbolic_

    if symbolic:
        result = symbolic_.run_symbolic(per_function_s=per_function)
    else:
        result = search.run_search(max_examples=examples, seed=seed, deadline_s=time_budget)
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)


@main.command()
@home_option
@click.option("--eth-rpc", default=None, metavar="URL", help="An Ethereum JSON-RPC node (default: the embedded chain).")
@click.option("--confirmations", type=click.IntRange(min=0), default=None,
              help="Root-chain blocks a fact must be buried under before it is applied [default: 0 embedded, 12 RPC].")
@click.option("--interval", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Seconds between steps.")
@click.option("--steps", type=click.IntRange(min=0), default=0, help="Stop after this many steps (0: run until stopped).")
@click.option("--fee", "fees", multiple=True, metavar="TOKEN:AMOUNT", help="Payment fee of a new ledger (repeatable).")
def node(home: Path, eth_rpc: str | None, confirmations: int | None, interval: float, steps: int,
         fees: tuple[str, ...]) -> None:
    """Run the operator: follow the root chain, seal and submit blocks, watch and challenge."""
    from adapters.node import run_node

    sys.exit(run_node(home, eth_rpc, confirmations, interval, steps, tuple(parse_fee(f) for f in fees)))


@main.command()
@click.option("--home", type=click.Path(path_type=Path), default=None, help="Keep the demo ledger here.")
@click.option("--transfers", default=400, show_default=True)
def demo(home: Path | None, transfers: int) -> None:
    """The end-to-end scenario on the embedded defaults."""
    from adapters.demo import run_demo

    sys.exit(run_demo(home, transfers))


@main.command()
@click.option("--seed", type=int, default=1, show_default=True, help="The seed that drives everything.")
@click.option("--steps", type=click.IntRange(min=1), default=150, show_default=True, help="Steps with faults per seed.")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True, help="Seeds to run, from --seed up.")
@click.option("--verbose", is_flag=True, help="Print every seed's trace.")
def simulate(seed: int, steps: int, seeds: int, verbose: bool) -> None:
    """Deterministic simulation: honest, malicious and byzantine actors, crashes, disk and
    root-chain faults, on the real node, store, contracts, follower and watcher."""
    from adapters.simulator.run import run_batch

    sys.exit(run_batch(seed, steps, seeds, click.echo, verbose))



if __name__ == "__main__":
    main()
