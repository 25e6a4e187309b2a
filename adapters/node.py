"""`omg node`: the operator's loop on a ledger home anchored to a root chain.

Embedded (default): a fresh in-process chain, deployed at start; it lives as long as the
process, so the ledger home must be new. `--eth-rpc URL`: any Ethereum node; the
deployment is kept in `rootchain.json` and reused on restart, and the node's first
account is the operator (the PlasmaFramework's authority) and the watcher's challenger.
"""
from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import click

from adapters.ethereum import chain, contracts
from adapters.node_client import publish, withdraw
from adapters.params import DEPLOYMENT_FILE
from adapters.ethereum.anchor import Deployment, Operator, Step
from adapters.ethereum.follower import FollowError
from ledger.events import FeeRule, Genesis
from ledger.node import Node
from ledger.store import EventStore, StoreError
from specs.hooks import InvariantHook



def run_node(home: Path, eth_rpc: str | None, confirmations: int | None, interval: float, steps: int,
             fees: tuple[FeeRule, ...], listen: tuple[str, int] | None = None) -> int:
    home.mkdir(parents=True, exist_ok=True)
    try:
        w3 = chain.connect(eth_rpc) if eth_rpc else chain.embedded()
        deployment, root = _deployment(home, w3, embedded=eth_rpc is None)
        node = Node(EventStore(home / "ledger.db"), InvariantHook(full_every=10_000))
    except (chain.ChainError, StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if node.state.params is None:
        node.submit([Genesis(deployment.verifying_contract, fees)])
    elif node.state.params.verifying_contract != deployment.verifying_contract:
        raise click.ClickException(f"the ledger at {home} is anchored to another PlasmaFramework")
    confirmations = (0 if eth_rpc is None else 12) if confirmations is None else confirmations
    operator = Operator(node, w3, root, deployment.block, confirmations, challenger=w3.eth.accounts[0])
    click.echo(f"operator of {deployment.framework} on chain {deployment.chain_id}; ledger {home / 'ledger.db'}")
    api = serve(node, home, listen, w3 if eth_rpc is None else None)
    _stop_on_sigterm()
    done = 0
    try:
        while not steps or done < steps:
            _show(operator.step() if api is None else api.step(operator.step))
            done += 1
            if not steps or done < steps:
                time.sleep(interval)
    except FollowError as exc:
        click.echo(f"stopped: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        if api is not None:
            withdraw(home)
            api.close()
        node.store.close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """SIGTERM (kill, systemd, docker; and the only stop signal a background job can take, since
    non-interactive shells start those with SIGINT ignored) stops the node as Ctrl-C does:
    the API closes and node.url goes."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def serve(node: Node, home: Path, listen: tuple[str, int] | None, embedded: chain.Web3 | None):
    """The HTTP API beside the operator loop (`--http`; `omg demo` serves the same way, on port 0):
    its writes and the loop's share one writer; an embedded chain's JSON-RPC is served at /eth.
    Returns an adapters.http.app.Api or None."""
    if listen is None:
        return None
    from adapters.http.app import Api

    try:
        api = Api.start(node, home / "ledger.db", *listen, chain=embedded)
    except OSError as exc:
        node.store.close()
        raise click.ClickException(f"cannot serve on {listen[0]}:{listen[1]}: {exc.strerror or exc}") from None
    publish(home, api.server.url)  # the CLI on this home goes through the API from now on
    click.echo(f"serving OMG's watcher API at {api.server.url}")
    if embedded is not None:
        click.echo(f"serving the embedded chain's Ethereum JSON-RPC at {api.server.url}/eth")
    return api


def _deployment(home: Path, w3: chain.Web3, embedded: bool) -> tuple[Deployment, contracts.RootChain]:
    path = home / DEPLOYMENT_FILE
    if path.exists() and not embedded:
        deployment = Deployment.load(path)
        return deployment, deployment.attach(w3)
    if (home / "ledger.db").exists():
        raise ValueError(f"{home} holds a ledger of another chain: the embedded chain needs a new home")
    deployment, root = Deployment.deploy(w3, authority=w3.eth.accounts[0])
    deployment.save(path)
    return deployment, root


def _show(step: Step) -> None:
    facts = [o for o in step.applied if o.event.KIND != "root_chain_synced"]
    for outcome in facts:
        verdict = "applied" if outcome.accepted else f"REJECTED {outcome.code}: {outcome.detail}"
        click.echo(f"root chain: {outcome.event.KIND} {verdict}")
    for blknum in step.submitted:
        click.echo(f"submitted block {blknum}")
    for report in step.reports:
        click.echo(f"watcher: {report.condition}: {report.detail}{' (challenged)' if report.challenged else ''}")
