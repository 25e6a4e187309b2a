"""`omg node --eth-rpc` on a real node: it deploys the root chain, keeps the deployment,
follows a deposit after a restart, and its watcher challenges an invalid exit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from web3 import Web3

from adapters.ethereum import chain
from adapters.ethereum.anchor import Deployment, Operator
from adapters.ethereum.client import RootChainClient
from adapters.params import DEPLOYMENT_FILE
from ledger.node import Node
from ledger.store import EventStore
from proofs.payment import encode_utxo_pos

ETH = bytes(20)


def omg_node(home: Path, url: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "adapters.cli", "node", "--home", str(home), "--eth-rpc", url,
               "--confirmations", "0", "--steps", "1", "--interval", "0"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_omg_node_deploys_follows_and_resumes_on_anvil(anvil: Web3, tmp_path: Path) -> None:
    url = anvil.provider.endpoint_uri
    first = omg_node(tmp_path, url)
    assert first.returncode == 0, first.stdout + first.stderr
    deployment = Deployment.load(tmp_path / DEPLOYMENT_FILE)
    assert deployment.chain_id == 31337 and f"operator of {deployment.framework}" in first.stdout

    root = deployment.attach(anvil)
    depositor = anvil.eth.accounts[1]
    blknum = RootChainClient(anvil, root).deposit(depositor, ETH, 10**18)
    second = omg_node(tmp_path, url)
    assert second.returncode == 0 and "root chain: deposit applied" in second.stdout, second.stdout + second.stderr

    audit = subprocess.run([sys.executable, "-m", "adapters.cli", "audit", str(tmp_path / "ledger.db"), "--eth-rpc", url],
                           capture_output=True, text=True, timeout=300)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert f"vault 0x{'00' * 20}  holds {10**18} = deposited - exited - unbacked + unclaimed {10**18}: OK" in audit.stdout

    store = EventStore(tmp_path / "ledger.db")
    node = Node(store)
    output = node.state.utxos[encode_utxo_pos(blknum, 0, 0)]
    assert output.owner == bytes.fromhex(depositor[2:]) and output.amount == 10**18
    count = store.count
    operator = Operator(node, anvil, root, deployment.block)
    chain.mine(anvil)
    assert [o.event.KIND for o in operator.step().applied] == ["root_chain_synced"]  # nothing twice
    assert store.count == count + 1
    store.close()


def test_the_watcher_challenges_an_invalid_exit_on_anvil(anvil: Web3, tmp_path: Path) -> None:
    from ledger.events import Genesis, Payment
    from proofs import eip712
    from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, encode

    keys = [(i + 11).to_bytes(32, "big") for i in range(2)]
    alice, watcher = chain.use_keys(anvil, keys)
    chain.fund(anvil, [alice, watcher], 10**20)
    deployment, root = Deployment.deploy(anvil, min_exit_period_s=100)
    node = Node(EventStore(tmp_path / "ledger.db"))
    node.submit([Genesis(deployment.verifying_contract)])
    operator = Operator(node, anvil, root, deployment.block, challenger=watcher)
    blknum = operator.client.deposit(alice, ETH, 10**18)
    operator.step()
    deposit = encode_utxo_pos(blknum, 0, 0)
    tx = PaymentTx([deposit], [Output(OUTPUT_TYPE_PAYMENT, bytes.fromhex(watcher[2:]), ETH, 10**18)])
    signature = eip712.sign(eip712.signing_hash(tx, deployment.verifying_contract), keys[0])
    assert node.submit([Payment(encode(tx.with_signatures((signature,))))])[0].accepted
    assert operator.step().submitted == [1000]

    cheat = operator.client.start_standard_exit(alice, deposit, operator.watcher.index)
    reports = operator.step().reports
    assert [(r.condition, r.exit_id, r.challenged) for r in reports] == [("invalid_exit", cheat, True)]
    operator.step()
    assert node.state.exits[cheat].status == "challenged"
    chain.travel(anvil, 201)
    operator.client.process_exits(watcher)
    operator.step()
    assert node.state.exits[cheat].status == "omitted" and not node.state.exited
    assert operator.client.vault_balance(ETH) == 10**18
    node.store.close()
