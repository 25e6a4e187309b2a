"""A real node behind a real uvicorn server on an ephemeral loopback port, over a real
SQLite store: genesis with a 1-wei ETH fee, key 0 holds 100 ETH (block 1) and key 1 holds
50 TOKEN (block 2), and each of keys 0..3 holds ten 10-ETH deposits for concurrent spending."""
from __future__ import annotations

from collections.abc import Iterator

import attrs
import httpx
import pytest

from adapters.http.app import Server
from adapters.http.service import Service
from ledger.events import Deposit, FeeRule, Genesis
from ledger.node import Node
from ledger.store import EventStore
from proofs.payment import deposit_tx, encode
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, TOKEN, VC


class CountingStore(EventStore):
    """Counts the durable transactions (non-empty appends) the node makes."""

    appends = 0

    def append(self, topics_and_payloads):
        if topics_and_payloads:
            self.appends += 1
        return super().append(topics_and_payloads)


@attrs.define
class Api:
    url: str
    client: httpx.Client
    node: Node
    service: Service
    store: CountingStore

    def post(self, route: str, body: object = None, **kwargs) -> httpx.Response:
        return self.client.post(f"{self.url}/{route}", json={} if body is None else body, **kwargs)

    def ok(self, route: str, body: object = None) -> object:
        answer = self.post(route, body)
        assert answer.status_code == 200, answer.text
        payload = answer.json()
        assert payload["success"] is True, payload
        return payload["data"]

    def error(self, route: str, body: object = None, status: int = 200) -> dict:
        answer = self.post(route, body)
        assert answer.status_code == status, answer.text
        payload = answer.json()
        assert payload["success"] is False and payload["data"]["object"] == "error", payload
        return payload["data"]


def fund(node: Node) -> None:
    node.submit([Genesis(VC, (FeeRule(1, ETH, 1),))])
    deposits = [(ADDRS[0], ETH, 100), (ADDRS[1], TOKEN, 50)]
    deposits += [(ADDRS[k], ETH, 10) for k in range(4) for _ in range(10)]
    for owner, token, amount in deposits:
        [outcome] = node.submit([Deposit(node.state.next_deposit_blknum, encode(deposit_tx(owner, token, amount)))])
        assert outcome.accepted, outcome


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    yield from serve(tmp_path, fund)


def serve(tmp_path, setup) -> Iterator[Api]:
    """A node whose log `setup` starts, served on an ephemeral loopback port."""
    store = CountingStore(tmp_path / "ledger.db")
    node = Node(store, InvariantHook())
    setup(node)
    service = Service(node, tmp_path / "ledger.db")
    server = Server(service, port=0).start()
    with httpx.Client(timeout=30) as client:
        yield Api(server.url, client, node, service, store)
    server.stop()
    service.close()
    store.close()
