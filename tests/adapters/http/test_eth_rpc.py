"""`POST /eth`: web3.py over HTTP, against the live server, reads the embedded chain and
deposits through the vault with a locally signed raw transaction; the operator then
follows the deposit onto the child chain. Without an embedded chain the route is 404."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from web3 import Web3

from adapters.ethereum import chain
from adapters.ethereum.anchor import Deployment, Operator
from adapters.ethereum.client import RootChainClient
from adapters.http.app import Server
from adapters.http.service import Service
from ledger.events import Genesis
from ledger.node import Node
from ledger.store import EventStore
from proofs.payment import encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, key

ETH = bytes(20)


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[Server, Web3, Operator, Deployment]]:
    """A node anchored to a fresh embedded chain, its API serving that chain at /eth."""
    w3 = chain.embedded()
    deployment, root = Deployment.deploy(w3, authority=w3.eth.accounts[0])
    store = EventStore(tmp_path / "ledger.db")
    node = Node(store)
    node.submit([Genesis(deployment.verifying_contract)])
    service = Service(node, tmp_path / "ledger.db", chain=w3)
    server = Server(service, port=0).start()
    yield server, w3, Operator(node, w3, root, deployment.block), deployment
    server.stop()
    service.close()
    store.close()


def remote(server: Server) -> Web3:
    return Web3(Web3.HTTPProvider(f"{server.url}/eth", request_kwargs={"timeout": 30}))


def test_web3_over_http_reads_the_chain_and_deposits_through_the_vault(served) -> None:
    server, w3, operator, deployment = served
    client = remote(server)
    assert client.eth.block_number == w3.eth.block_number > 0  # the deployment's blocks
    assert client.eth.chain_id == w3.eth.chain_id
    [alice] = chain.use_keys(client, [key(ALICE)])  # signed here, sent raw: as a wallet does
    assert alice == w3.eth.accounts[ALICE]
    nonce = w3.eth.get_transaction_count(alice)

    root = deployment.attach(client)
    blknum = RootChainClient(client, root).deposit(alice, ETH, 10**18)
    assert blknum == 1 and w3.eth.get_transaction_count(alice) == nonce + 1
    assert client.eth.get_balance(root.eth_vault.address) == w3.eth.get_balance(root.eth_vault.address) == 10**18

    server.service.operator_step(operator.step)
    answer = httpx.post(f"{server.url}/account.get_utxos", json={"address": alice}).json()
    assert [(u["utxo_pos"], u["amount"]) for u in answer["data"]] == [(encode_utxo_pos(1, 0, 0), 10**18)]


def test_json_rpc_errors_and_batches(served) -> None:
    server, w3, _, deployment = served
    post = lambda body: httpx.post(f"{server.url}/eth", json=body).json()  # noqa: E731
    assert post({"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []}) == {
        "jsonrpc": "2.0", "id": 7, "result": hex(w3.eth.block_number)}
    unknown = post({"jsonrpc": "2.0", "id": 1, "method": "eth_nothing", "params": []})
    assert unknown["id"] == 1 and unknown["error"]["code"] == -32601
    assert post({"id": 2, "params": []})["error"]["code"] == -32600
    batch = post([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(3)])
    assert [(a["id"], a["result"]) for a in batch] == [(i, hex(w3.eth.chain_id)) for i in range(3)]
    assert post([])["error"]["code"] == -32600
    # a call that reverts (no such function on the framework) is the caller's error, not a 500
    reverted = post({"jsonrpc": "2.0", "id": 3, "method": "eth_call", "params": [
        {"to": deployment.framework, "data": "0xdeadbeef"}, "latest"]})
    assert reverted["id"] == 3 and reverted["error"]["code"] == -32000, reverted


def test_no_embedded_chain_no_eth_route(api) -> None:
    answer = api.post("eth", {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})
    assert answer.status_code == 404 and answer.json()["data"]["code"] == "operation:not_found"
    assert "/eth" not in api.client.get(f"{api.url}/openapi.json").json()["paths"]


def test_a_call_from_an_account_without_ether_is_answered(served) -> None:
    """As on geth and anvil (omg-js reads views `from` the framework, which holds no ether)."""
    server, w3, operator, deployment = served
    vaults = operator.client.root.framework.functions.vaults(1)._encode_transaction_data()
    call = {"jsonrpc": "2.0", "id": 1, "method": "eth_call",
            "params": [{"from": deployment.framework, "to": deployment.framework, "data": vaults}, "latest"]}
    assert w3.eth.get_balance(deployment.framework) == 0
    answer = httpx.post(f"{server.url}/eth", json=call).json()
    assert int(answer["result"], 16) == int(deployment.eth_vault, 16)
