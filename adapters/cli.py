"""The `omg` command: a thin composition root over the ledger, the wallet and the specs.

A ledger home holds `ledger.db` (the hash-chained event store) and `keys.json`.
Exit codes: 0 success, 1 a rejected or failed command (or a failed audit/check), 2 bad
usage or unreadable input (a malformed keystore, a home that is a file, a file that is
not a ledger). Every failure is one `Error:` line, never a traceback.
"""
from __future__ import annotations

import os
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TypeVar

import click
from eventsourcing.persistence import PersistenceError

from adapters.audit_report import (
    Balances,
    check_root_chain,
    load_trusted,
    passed,
    render,
    report_json,
    run_audit,
)
from adapters.node_client import UNREACHABLE, running_node, served_chain
from adapters.params import (
    ADDRESS,
    AMOUNT,
    AMOUNT_ARGUMENTS,
    COUNT,
    DEPLOYMENT_FILE,
    ETH,
    HASH,
    KEYS_FILE,
    LEDGER_FILE,
    TOKEN,
    BadInput,
    Fee,
    KeyName,
    Seconds,
    WholeNumber,
    home_folder,
    home_option,
)
from ledger.events import Deposit, FeeRule, Genesis, OrderPlaced, Payment
from ledger.node import Node, Outcome
from ledger.state import State
from ledger.store import EventStore, StoreError
from ledger.witnesses import default_workers
from proofs.keccak import keccak256
from proofs.order import order_id, sign_order
from proofs.payment import deposit_tx, encode
from specs.hooks import InvariantHook
from wallet.account import Account
from wallet.client import NodeClient, NodeError
from wallet.keys import Keystore, KeystoreError
from wallet import orders as orders_sdk
from wallet.orders import Trader
from wallet.payments import WalletError, balances, build_cancel, build_order, build_payment, depth, pair_of, \
    sign_payment

# Until a root chain is deployed (the Ethereum adapter), the EIP-712 verifying
# contract of a local ledger is this fixed, documented placeholder.
LOCAL_VERIFYING_CONTRACT = keccak256(b"omg-ledger local verifying contract")[12:]
# The demo flips a byte of a payment in the log's second half and cuts a tail past a snapshot:
# it needs a log of a few hundred events.
DEMO_MIN_TRANSFERS = 100
T = TypeVar("T")
# What opening an SQLite store can raise besides StoreError (the store does not translate these yet).
STORE_FAILURES = (StoreError, OSError, sqlite3.Error, PersistenceError)


def hexa(data: bytes) -> str:
    return "0x" + data.hex()


def make_home(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot make the ledger home {home}: {exc.strerror}") from None


def keystore_at(home: Path) -> Keystore:
    try:
        return Keystore(home / KEYS_FILE)
    except KeystoreError as exc:
        raise BadInput(str(exc)) from None


@contextmanager
def open_node(home: Path) -> Iterator[Node]:
    db = home / LEDGER_FILE
    if not os.path.lexists(db):
        raise click.ClickException(f"no ledger at {db}: run `omg init --home {home}` first")
    try:
        store = EventStore(db)
    except STORE_FAILURES as exc:
        raise BadInput(f"{db}: {exc}") from None
    try:
        try:
            node = Node(store, InvariantHook(full_every=10_000))
        except STORE_FAILURES as exc:
            raise BadInput(f"{db}: {exc}") from None
        if (torn := store.torn) is not None:
            click.echo(f"warning: events {torn.first}..{torn.last} ({torn.last - torn.first + 1} of a batch of"
                       f" {torn.size}) were torn in the writing, never acknowledged: dropped", err=True)
        for index, code, detail in node.refused_snapshots:
            click.echo(f"warning: snapshot at event {index} refused ({code}: {detail}); rebuilt from the log", err=True)
        try:
            yield node
        except StoreError as exc:  # a write the store refused, e.g. a writer that lost a race twice
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def create_ledger(db: Path, genesis: Genesis) -> list[Outcome]:
    """Build the ledger in a draft beside `db` and link it in only once its genesis is
    accepted: a failed init leaves no file, and a ledger made meanwhile is never replaced."""
    draft = db.with_name(f".{db.name}.{secrets.token_hex(8)}.tmp")
    try:
        try:
            store = EventStore(draft)
        except STORE_FAILURES as exc:
            raise BadInput(f"cannot create a ledger beside {db}: {exc}") from None
        try:
            outcomes = Node(store, InvariantHook()).submit([genesis])
        finally:
            store.close()  # the last connection folds the WAL into the file
        if all(outcome.accepted for outcome in outcomes):
            _link(draft, db)
        return outcomes
    finally:
        for leftover in (draft, *(draft.with_name(draft.name + end) for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)


def _link(draft: Path, db: Path) -> None:
    try:
        os.link(draft, db)  # unlike a rename, fails if `db` exists
    except FileExistsError:
        raise click.ClickException(f"a ledger exists at {db.parent}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot create {db}: {exc.strerror}") from None
    folder = os.open(db.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)  # the new name is durable before init says so
    finally:
        os.close(folder)


def resolve(keystore: Keystore, who: str) -> bytes:
    """A key name from the keystore, or an address."""
    address = keystore.addresses().get(who)
    if address is not None:
        return address
    try:
        return ADDRESS.convert(who, None, None)
    except click.BadParameter as exc:
        raise click.BadParameter(f"no key named {who!r}, and {exc.message}") from None


def anchoring(home: Path, state: State) -> str | None:
    """Why this ledger follows a root chain (its deposits come from the vaults only), or None."""
    if os.path.lexists(home / DEPLOYMENT_FILE):
        return f"{home / DEPLOYMENT_FILE} names its root-chain contracts"
    if state.root_cursor[0] >= 0:
        return f"it has followed a root chain up to Ethereum block {state.root_cursor[0]}"
    if state.params is not None and state.params.verifying_contract != LOCAL_VERIFYING_CONTRACT:
        return f"its verifying contract {hexa(state.params.verifying_contract)} is not the local placeholder"
    return None


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
@click.option("--verifying-contract", type=ADDRESS, default=hexa(LOCAL_VERIFYING_CONTRACT), show_default=True,
              help="EIP-712 verifying contract (the PlasmaFramework address).")
@click.option("--fee", "fees", type=Fee(), multiple=True, help="Payment fee, e.g. eth:1; order:eth:1 the fee of placing an order (repeatable).")
def init(home: Path, verifying_contract: bytes, fees: tuple[FeeRule, ...]) -> None:
    """Create a ledger: its genesis event fixes the verifying contract and fee schedule."""
    db = home / LEDGER_FILE
    if os.path.lexists(db):
        raise click.ClickException(f"a ledger exists at {home}")
    made_home = not os.path.lexists(home)
    make_home(home)
    try:
        outcomes = create_ledger(db, Genesis(verifying_contract, fees))
    finally:
        if made_home and not os.path.lexists(db):
            with suppress(OSError):
                home.rmdir()
    report(outcomes)


@main.group()
def keys() -> None:
    """Local development keys."""


@keys.command("new")
@home_option
@click.argument("name", type=KeyName())
def keys_new(home: Path, name: str) -> None:
    """Create key NAME and print its address."""
    make_home(home)
    try:
        address = keystore_at(home).new(name)
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name} {hexa(address)}")


@keys.command("list")
@home_option
def keys_list(home: Path) -> None:
    """Print every local key's name and address."""
    keystore = keystore_at(home)
    if not keystore.exists:
        raise click.ClickException(f"no keystore at {keystore.path}: "
                                   f"create a key with `omg keys new NAME --home {home}`")
    for name, address in keystore.addresses().items():
        click.echo(f"{name} {hexa(address)}")


@main.command(context_settings=AMOUNT_ARGUMENTS)
@home_option
@click.argument("owner")
@click.argument("amount", type=AMOUNT)
@click.option("--token", type=TOKEN, default="eth", show_default=True)
def deposit(home: Path, owner: str, amount: int, token: bytes) -> None:
    """Deposit AMOUNT (base units) to OWNER (key name or address) in the next deposit block
    of a local ledger (a ledger anchored to a root chain takes deposits from its vaults).
    When a node serves the home: through the vault on its embedded chain, signed by OWNER's key."""
    keystore = keystore_at(home)
    if (client := running_node(home)) is not None:
        return _deposit_through(client, keystore, owner, amount, token)
    with open_node(home) as node:
        if reason := anchoring(home, node.state):
            raise click.ClickException(f"anchored_ledger: {reason}; deposit through the root chain's vaults")
        tx = encode(deposit_tx(resolve(keystore, owner), token, amount))
        report(node.submit([Deposit(node.state.next_deposit_blknum, tx)]))


@main.command(context_settings=AMOUNT_ARGUMENTS)
@home_option
@click.argument("sender")
@click.argument("recipient")
@click.argument("amount", type=AMOUNT)
@click.option("--token", type=TOKEN, default="eth", show_default=True)
def send(home: Path, sender: str, recipient: str, amount: int, token: bytes) -> None:
    """Pay AMOUNT from key SENDER to RECIPIENT; the scheduled fee is added."""
    keystore = keystore_at(home)
    if (client := running_node(home)) is not None:
        return _send_through(client, keystore, sender, recipient, amount, token)
    with open_node(home) as node:
        try:
            key = keystore.private_key(sender)
            owner = keystore.addresses()[sender]
            tx = build_payment(node.state, owner, resolve(keystore, recipient), token, amount)
        except (KeystoreError, WalletError) as exc:
            raise click.ClickException(str(exc)) from None
        assert node.state.params is not None
        raw = sign_payment(tx, {pos: key for pos in tx.inputs}, node.state.params.verifying_contract)
        report(node.submit([Payment(raw)]))


@main.command()
@home_option
@click.option("--allow-empty", is_flag=True,
              help="Seal even a block with no transaction (refused by default: elixir-omg never forms one).")
def seal(home: Path, allow_empty: bool) -> None:
    """Collect the open child block's fees and seal it with its Merkle root."""
    if (client := running_node(home)) is not None:
        sealed = _through(client, "block_sealed", lambda: client.call("block.seal", {"allow_empty": allow_empty}))
        click.echo(f"sealed block {sealed['blknum']} ({sealed['hash']}, {sealed['tx_count']} transactions) "
                   f"through {client.url}")
        return
    with open_node(home) as node:
        if not node.state.open_block_txs and not allow_empty:
            raise click.ClickException(f"empty_block: block {node.state.next_child_blknum} holds no transaction "
                                       "(--allow-empty seals it anyway)")
        report(node.seal())


@main.group()
def order() -> None:
    """DEX orders: place, cancel, and the order book (through the node when one serves the home)."""


@order.command("place", context_settings=AMOUNT_ARGUMENTS)
@home_option
@click.argument("owner")
@click.argument("sell_amount", type=AMOUNT)
@click.argument("sell_token", type=TOKEN)
@click.argument("buy_amount", type=AMOUNT)
@click.argument("buy_token", type=TOKEN)
@click.option("--expiry", type=WholeNumber("block number", 1, 2**63 - 1), default=None,
              help="Child block number from which the order is no longer matched (default: 100 blocks on).")
@click.option("--nonce", type=WholeNumber("nonce", 0, 2**256 - 1), default=None,
              help="Tells apart orders of equal terms (default: the first input's position).")
def order_place(home: Path, owner: str, sell_amount: int, sell_token: bytes, buy_amount: int, buy_token: bytes,
                expiry: int | None, nonce: int | None) -> None:
    """Key OWNER offers SELL_AMOUNT of SELL_TOKEN for at least BUY_AMOUNT of BUY_TOKEN; the
    scheduled order fee (tx type 4) is paid in the sell token. The order is filled in the
    batch each sealed block settles, at one price per pair."""
    keystore = keystore_at(home)
    key = _private_key(keystore, owner)
    if (client := running_node(home)) is not None:
        trader = Trader(Account(client, key))
        oid, placed = _through(client, "order_placed", lambda: trader.place(
            sell_token, sell_amount, buy_token, buy_amount, expiry, nonce, fee_currency=sell_token))
        click.echo(f"accepted order {hexa(oid)} in block {placed.blknum} at index {placed.txindex} through {client.url}")
        return
    with open_node(home) as node:
        try:
            tx = build_order(node.state, keystore.addresses()[owner], sell_token, sell_amount, buy_token, buy_amount,
                             expiry, nonce)
        except WalletError as exc:
            raise click.ClickException(str(exc)) from None
        assert node.state.params is not None
        outcomes = node.submit([OrderPlaced(sign_order(tx, tuple(key for _ in tx.inputs),
                                                       node.state.params.verifying_contract))])
        if outcomes[0].accepted:
            click.echo(f"order {hexa(order_id(tx.terms))}")
        report(outcomes)


@order.command("cancel")
@home_option
@click.argument("owner")
@click.argument("order_id", type=HASH)
def order_cancel(home: Path, owner: str, order_id: bytes) -> None:
    """Key OWNER takes order ORDER_ID back: a payment of its order output to OWNER, less the fee."""
    keystore = keystore_at(home)
    key = _private_key(keystore, owner)
    if (client := running_node(home)) is not None:
        placed = _through(client, "payment", lambda: Trader(Account(client, key)).cancel(order_id))
        click.echo(f"accepted cancel {hexa(placed.txhash)} in block {placed.blknum} at index {placed.txindex} "
                   f"through {client.url}")
        return
    with open_node(home) as node:
        try:
            tx = build_cancel(node.state, keystore.addresses()[owner], order_id)
        except WalletError as exc:
            raise click.ClickException(str(exc)) from None
        assert node.state.params is not None
        report(node.submit([Payment(sign_payment(tx, {tx.inputs[0]: key}, node.state.params.verifying_contract))]))


@order.command("book")
@home_option
@click.argument("tokens", nargs=-1, type=TOKEN)
def order_book(home: Path, tokens: tuple[bytes, ...]) -> None:
    """Depth of every pair with open orders, or of the pair of TOKENS (two tokens, either order):
    per price level (quote units per base unit) the open amount and the number of orders."""
    if len(tokens) not in (0, 2):
        raise click.BadParameter("give two tokens, or none for every pair", param_hint="TOKENS")
    pair = pair_of(*tokens) if tokens else None
    if (client := running_node(home)) is not None:
        books = _through(client, "order_book", lambda: orders_sdk.book(client, pair))
        found = {(b.base, b.quote): ([(x.price, x.amount, x.orders) for x in b.asks],
                                     [(x.price, x.amount, x.orders) for x in b.bids]) for b in books}
    else:
        with open_node(home) as node:
            found = depth(node.state, pair)
    if not found:
        click.echo("no open orders")
    for (base, quote), (asks, bids) in found.items():
        click.echo(f"pair {hexa(base)} / {hexa(quote)} (price: quote per base)")
        for side, levels in (("ask", asks), ("bid", bids)):
            for price, amount, count in levels:
                click.echo(f"  {side} {price.numerator}/{price.denominator} ({float(price):.6g}): {amount} in {count} order(s)")


def _private_key(keystore: Keystore, name: str) -> bytes:
    try:
        return keystore.private_key(name)
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None


def _through(client: NodeClient, kind: str, call: Callable[[], T]) -> T:
    """A call through the running node with the wallet SDK; a refusal (the node's, or the SDK's
    own: insufficient_funds, ...) reads as a local one (exit 1)."""
    try:
        return call()
    except NodeError as exc:
        if exc.code in UNREACHABLE:
            raise click.ClickException(f"the node at {client.url} failed: {exc}") from None
        click.echo(f"rejected {kind}: {exc}")
        sys.exit(1)
    except WalletError as exc:
        click.echo(f"rejected {kind}: {exc}")
        sys.exit(1)


def _send_through(client: NodeClient, keystore: Keystore, sender: str, recipient: str, amount: int,
                  token: bytes) -> None:
    """The SDK plans the payment from the node's list of the sender's outputs (fee in `token`, as
    on the home), signs it here and submits it."""
    try:
        key = keystore.private_key(sender)
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None
    to = resolve(keystore, recipient)
    placed = _through(client, "payment", lambda: Account(client, key).pay(to, amount, token, fee_currency=token))
    click.echo(f"accepted payment {hexa(placed.txhash)} in block {placed.blknum} at index {placed.txindex} "
               f"through {client.url}")


def _deposit_through(client: NodeClient, keystore: Keystore, owner: str, amount: int, token: bytes) -> None:
    """On a served home the ledger is anchored: the deposit goes through the vault, signed by OWNER."""
    from web3.exceptions import Web3Exception  # web3 only for this path: the CLI starts fast

    try:
        key = keystore.private_key(owner)
    except KeystoreError as exc:
        raise click.ClickException(f"{exc}: a deposit through the vault is signed by its owner's key") from None
    try:
        blknum = _through(client, "deposit", lambda: served_chain(client, key).deposit(amount, token))
    except (Web3Exception, OSError, ValueError) as exc:
        raise click.ClickException(f"the deposit through {client.url}/eth failed: {exc}") from None
    click.echo(f"deposited {amount} in deposit block {blknum} through {client.url}/eth; "
               "the node applies it when it follows the root chain")


@main.command()
@home_option
@click.argument("who", required=False)
def balance(home: Path, who: str | None) -> None:
    """Balances of WHO (key name or address), or of every local key (through the node's
    `account.get_balance` when one serves the home)."""
    keystore = keystore_at(home)
    if (client := running_node(home)) is not None:
        for name, address in _targets(keystore, who).items():
            _show_balance(name, address, _through(client, "balance", partial(client.balance, address)))
        return
    with open_node(home) as node:
        for name, address in _targets(keystore, who).items():
            _show_balance(name, address, balances(node.state, address))


def _targets(keystore: Keystore, who: str | None) -> dict[str, bytes]:
    return {who: resolve(keystore, who)} if who else keystore.addresses()


def _show_balance(name: str, address: bytes, held: dict[bytes, int]) -> None:
    shown = ", ".join(f"{amount} {'eth' if t == ETH else hexa(t)}" for t, amount in sorted(held.items()))
    click.echo(f"{name} {hexa(address)}: {shown or 'nothing'}")


@main.command("audit")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option("--workers", type=click.IntRange(min=0), default=default_workers(), show_default="cores - 1",
              help="Processes recovering signatures ahead of the replay (0: none).")
@click.option("--eth-rpc", default=None, metavar="URL",
              help="Also check every block root, deposit and vault against the root chain.")
@click.option("--deployment", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="rootchain.json of the contracts [default: beside LOG].")
@click.option("--validators", "validators", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help='JSON {"bls_keys": [...], "quorum": n} of the validators you trust: only their '
              "commits anchor (without it, commits are self-attested).")
@click.option("--require-anchor", is_flag=True, help="Exit 1 if any event is unanchored.")
def audit_command(log: Path, as_json: bool, workers: int, eth_rpc: str | None, deployment: Path | None,
                  validators: Path | None, require_anchor: bool) -> None:
    """Replay LOG from genesis, read-only: hash chain, signatures, Merkle roots, every invariant,
    every snapshot; say how far the history is anchored (commits of the validators you trust;
    with --eth-rpc the root chain's block roots and deposits) and check each vault holds what
    the log owes."""
    trusted = load_trusted(validators) if validators is not None else None
    result = run_audit(log, as_json, workers=workers, trusted=trusted)
    balances: Balances = {}
    if eth_rpc:
        result, balances = check_root_chain(result, log, eth_rpc, deployment)
    if as_json:
        click.echo(report_json(result, balances, require_anchor))
    else:
        click.echo(render(result, balances, require_anchor))
    sys.exit(0 if passed(result, balances, require_anchor) else 1)


@main.command()
@click.option("--symbolic", is_flag=True, help="Run CrossHair on the transitions' contracts instead.")
@click.option("--examples", type=WholeNumber("count", 1), default=200, show_default=True,
              help="Property search: examples to try.")
@click.option("--seed", type=WholeNumber("seed", 0), default=None,
              help="Property search: seed, for a reproducible run.")
@click.option("--seeds", type=WholeNumber("count", 1), default=1, show_default=True,
              help="Property search: this many seeds in turn (from --seed, else random), --examples each.")
@click.option("--time-budget", type=Seconds(positive=True), default=60.0, show_default=True,
              help="Seconds for the whole search.")
@click.option("--per-function", type=Seconds(positive=True), default=10.0, show_default=True,
              help="Symbolic: CPU seconds for each searched (unbounded) contract; bounded ones have their own budget.")
def check(symbolic: bool, examples: int, seed: int | None, seeds: int, time_budget: float, per_function: float) -> None:
    """Search for counterexamples to the invariant catalogue (property-based, or symbolic)."""
    from specs import search, symbolic as symbolic_

    if symbolic:
        results = [symbolic_.run_symbolic(per_function_s=per_function)]
    else:
        results = search.run_seeds(max_examples=examples, seeds=seeds, first_seed=seed, deadline_s=time_budget)
    click.echo("\n".join(r.summary() for r in results))
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.command()
@home_option
@click.option("--eth-rpc", default=None, metavar="URL", help="An Ethereum JSON-RPC node (default: the embedded chain).")
@click.option("--confirmations", type=COUNT, default=None,
              help="Root-chain blocks a fact must be buried under before it is applied [default: 0 embedded, 12 RPC].")
@click.option("--interval", type=Seconds(positive=False), default=5.0, show_default=True, help="Seconds between steps.")
@click.option("--steps", type=COUNT, default=0, help="Stop after this many steps (0: run until stopped).")
@click.option("--fee", "fees", type=Fee(), multiple=True, help="Payment fee of a new ledger, e.g. eth:1; order:eth:1 for orders (repeatable).")
@click.option("--http", "listen", is_flag=False, flag_value="127.0.0.1:7434", default=None, metavar="HOST:PORT",
              callback=lambda ctx, param, value: _listen(value),
              help="Serve OMG's watcher API while running (alone: 127.0.0.1:7434).")
@click.option("--brand", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="The web wallet's brand (name, logo, colours, tokens), kept in the home as brand.json.")
def node(home: Path, eth_rpc: str | None, confirmations: int | None, interval: float, steps: int,
         fees: tuple[FeeRule, ...], listen: tuple[str, int] | None, brand: Path | None) -> None:
    """Run the operator: follow the root chain, seal and submit blocks, watch and challenge."""
    from adapters.node import run_node

    if brand is not None:
        _install_brand(home, brand)

    sys.exit(run_node(home, eth_rpc, confirmations, interval, steps, fees, listen))


def _install_brand(home: Path, brand: Path) -> None:
    from adapters.http.pages.brand import BrandError, install

    try:
        install(home, brand)
    except BrandError as exc:
        raise click.BadParameter(str(exc), param_hint="'--brand'") from None


def _listen(value: str | None) -> tuple[str, int] | None:
    from adapters.http.app import parse_listen

    try:
        return None if value is None else parse_listen(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option("--home", type=click.Path(path_type=Path), callback=home_folder, default=None,
              help="Keep the demo ledger here.")
@click.option("--transfers", type=WholeNumber("count", DEMO_MIN_TRANSFERS), default=400, show_default=True,
              help=f"Signed transfers (at least {DEMO_MIN_TRANSFERS}: the tampering steps need a long log).")
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
