"""The CLI against a running `omg node --http` that serves the same home, through the wallet SDK.

While it serves, the node keeps its URL in `HOME/node.url` (written once it listens, removed
when it stops). A file a dead node left behind is stale: its URL refuses the connection, or
answers for another root chain, and the CLI then says so and works on the home directly, as
on a home no node serves. Through the node the CLI is a wallet like any other (wallet/):
payments are planned, signed and submitted by `wallet.account.Account`, balances read by
`account.get_balance`, seals go to `block.seal` (ours) and deposits through the vault on the
node's embedded chain (`/eth`) by `wallet.rootchain.RootChain`; every write reaches the node's
one writer.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import click

from adapters.params import DEPLOYMENT_FILE
from wallet.client import NodeClient, NodeError

NODE_URL_FILE = "node.url"
TIMEOUT_S = 30.0
# The SDK's codes for a node that did not answer with OMG's envelope: a failure, not a refusal.
UNREACHABLE = frozenset({"node_unreachable", "http_error", "malformed_answer"})


def publish(home: Path, url: str) -> None:
    """Write the URL atomically: a CLI reading meanwhile sees the old file or the new one."""
    draft = home / f".{NODE_URL_FILE}.{os.getpid()}.tmp"
    draft.write_text(url + "\n")
    draft.replace(home / NODE_URL_FILE)


def withdraw(home: Path) -> None:
    (home / NODE_URL_FILE).unlink(missing_ok=True)


def running_node(home: Path) -> NodeClient | None:
    """The SDK's client of the node serving `home`, or None (no file, or a stale one: said on stderr)."""
    path = home / NODE_URL_FILE
    try:
        url = path.read_text().strip()
    except FileNotFoundError:
        return None
    client = NodeClient(url, timeout=TIMEOUT_S)
    try:
        framework = client.status().plasma_framework
    except (NodeError, KeyError, TypeError, ValueError):
        click.echo(f"warning: {path} names {url}, where no node answers (stale): using the home directly", err=True)
        return None
    expected = json.loads((home / DEPLOYMENT_FILE).read_text())["framework"] if (home / DEPLOYMENT_FILE).exists() else None
    if expected is None or framework.hex() != expected[2:].lower():
        click.echo(f"warning: {path} names {url}, a node of another root chain (stale): using the home directly",
                   err=True)
        return None
    return client


def served_chain(client: NodeClient, private_key: bytes):
    """The wallet's root chain on the node's embedded chain (`/eth`), signing with `private_key`.
    Returns a wallet.rootchain.RootChain; `not_embedded` if the node follows an --eth-rpc chain."""
    import requests  # web3's HTTP client; web3 only for deposits: the CLI starts fast
    from web3 import Web3

    from wallet.rootchain import RootChain

    w3 = Web3(Web3.HTTPProvider(f"{client.url}/eth", request_kwargs={"timeout": TIMEOUT_S}))
    try:
        w3.eth.chain_id
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            raise NodeError("not_embedded", "the node follows an --eth-rpc chain: deposit through its vaults there") \
                from None
        raise
    return RootChain(w3, client.status().plasma_framework, private_key)
