"""The CLI's writing commands against a running `omg node --http` that serves the same home.

While it serves, the node keeps its URL in `HOME/node.url` (written once it listens, removed
when it stops). A file a dead node left behind is stale: its URL refuses the connection, or
answers for another root chain, and the CLI then says so and works on the home directly, as
on a home no node serves. Through the node, every write goes through its one writer:
payments by `transaction.create` + local signing + `transaction.submit`, seals by
`block.seal`, and deposits through the vault on the node's embedded chain (`/eth`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import click
import httpx

from adapters.params import DEPLOYMENT_FILE
from proofs.payment import PaymentTx, decode
from wallet.payments import sign_payment

NODE_URL_FILE = "node.url"
TIMEOUT_S = 30.0


class NodeError(Exception):
    """The node answered `success: false`: OMG's error code and description."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


def publish(home: Path, url: str) -> None:
    """Write the URL atomically: a CLI reading meanwhile sees the old file or the new one."""
    draft = home / f".{NODE_URL_FILE}.{os.getpid()}.tmp"
    draft.write_text(url + "\n")
    draft.replace(home / NODE_URL_FILE)


def withdraw(home: Path) -> None:
    (home / NODE_URL_FILE).unlink(missing_ok=True)


@attrs.frozen
class NodeClient:
    url: str
    verifying_contract: bytes

    def call(self, route: str, body: dict[str, Any]) -> Any:
        answer = httpx.post(f"{self.url}/{route}", json=body, timeout=TIMEOUT_S).json()
        if not answer.get("success"):
            error = answer.get("data") or {}
            raise NodeError(str(error.get("code", "unknown")), str(error.get("description", "")))
        return answer["data"]

    def pay(self, owner: bytes, key: bytes, to: bytes, token: bytes, amount: int) -> dict[str, Any]:
        """The node's advice for the payment (fee in `token`), checked, signed here, submitted."""
        advice = self.call("transaction.create", {
            "owner": _hex(owner), "payments": [{"owner": _hex(to), "currency": _hex(token), "amount": amount}],
            "fee": {"currency": _hex(token)}})
        [proposal] = advice["transactions"]
        tx = decode(bytes.fromhex(proposal["txbytes"][2:]))
        _check(tx, proposal, owner, to, token, amount)
        signed = sign_payment(tx, {pos: key for pos in tx.inputs}, self.verifying_contract)
        return self.call("transaction.submit", {"transaction": _hex(signed)})

    def seal(self, allow_empty: bool) -> dict[str, Any]:
        return self.call("block.seal", {"allow_empty": allow_empty})

    def deposit(self, home: Path, key: bytes, token: bytes, amount: int) -> int:
        """Deposit through the vault on the node's embedded chain, signed by (and for) `key`'s owner;
        returns the deposit block. The node applies it when its loop follows the root chain."""
        from web3 import Web3

        from adapters.ethereum import chain
        from adapters.ethereum.anchor import Deployment
        from adapters.ethereum.client import RootChainClient

        probe = httpx.post(f"{self.url}/eth", json={"jsonrpc": "2.0", "id": 0, "method": "eth_chainId", "params": []},
                           timeout=TIMEOUT_S)
        if probe.status_code == 404:
            raise NodeError("not_embedded", "the node follows an --eth-rpc chain: deposit through its vaults there")
        w3 = Web3(Web3.HTTPProvider(f"{self.url}/eth", request_kwargs={"timeout": TIMEOUT_S}))
        [sender] = chain.use_keys(w3, [key])
        root = Deployment.load(home / DEPLOYMENT_FILE).attach(w3)
        return RootChainClient(w3, root).deposit(sender, token, amount)


def _check(tx: PaymentTx, proposal: dict[str, Any], owner: bytes, to: bytes, token: bytes, amount: int) -> None:
    """Sign only what was asked: the payment, change to the owner, and no fee above the advised one."""
    paid = [o for o in tx.outputs if o.owner == to and o.token == token]
    spent = sum(int(i["amount"]) for i in proposal["inputs"] if i["currency"] == _hex(token))
    kept = sum(o.amount for o in tx.outputs if o.owner == owner)
    if [o.amount for o in paid] != [amount] or any(o.owner not in (owner, to) for o in tx.outputs) \
            or [i["utxo_pos"] for i in proposal["inputs"]] != list(tx.inputs) \
            or any(i["owner"] != _hex(owner) for i in proposal["inputs"]) \
            or spent - amount - kept != int(proposal["fee"]["amount"]):
        raise NodeError("unexpected_advice", "the node's transaction is not the payment asked for")


def running_node(home: Path) -> NodeClient | None:
    """The node serving `home`, or None (no file, or a stale one: said on stderr)."""
    path = home / NODE_URL_FILE
    try:
        url = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        status = httpx.post(f"{url}/status.get", json={}, timeout=TIMEOUT_S).json()["data"]
        framework = status["contract_addr"]["plasma_framework"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        click.echo(f"warning: {path} names {url}, where no node answers (stale): using the home directly", err=True)
        return None
    expected = json.loads((home / DEPLOYMENT_FILE).read_text())["framework"] if (home / DEPLOYMENT_FILE).exists() else None
    if expected is None or framework.lower() != expected.lower():
        click.echo(f"warning: {path} names {url}, a node of another root chain (stale): using the home directly",
                   err=True)
        return None
    return NodeClient(url, bytes.fromhex(framework[2:]))


def _hex(data: bytes) -> str:
    return "0x" + data.hex()
