"""A node anchored to a root chain: where its contracts are, and one operator step.

The deployment (addresses, chain id, the block it was deployed in) is kept in the
ledger home as `rootchain.json`, so a restarted node follows the same contracts from
where its cursor stopped. Its PlasmaFramework is the ledger's EIP-712 verifying contract.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
from web3 import Web3

from adapters.ethereum import contracts
from adapters.ethereum.client import RootChainClient
from adapters.ethereum.follower import Follower
from adapters.ethereum.watcher import Report, Watcher
from ledger.node import Node, Outcome
from ledger.state import CHILD_BLOCK_INTERVAL

# Deposit griefing: 999 deposits (about 117k gas each) fill a child block interval, and the
# framework then refuses every deposit until the next child block. Once this many of the slots
# are used, the operator submits a block even if it is empty, so an attacker must pay for ~500
# deposits per operator step to block anyone (docs/THREATS.md).
EMPTY_BLOCK_AT = CHILD_BLOCK_INTERVAL // 2


@attrs.frozen
class Deployment:
    chain_id: int
    block: int  # the Ethereum block the framework was deployed in: the follower starts there
    framework: str
    eth_vault: str
    erc20_vault: str
    exit_game: str
    authority: str

    @classmethod
    def deploy(cls, w3: Web3, **options: Any) -> tuple[Deployment, contracts.RootChain]:
        first = w3.eth.block_number + 1
        root = contracts.deploy_plasma(w3, **options)
        names = {name: getattr(root, name).address for name in ("framework", "eth_vault", "erc20_vault", "exit_game")}
        return cls(w3.eth.chain_id, first, authority=root.authority, **names), root

    def attach(self, w3: Web3) -> contracts.RootChain:
        if w3.eth.chain_id != self.chain_id:
            raise ValueError(f"the contracts are on chain {self.chain_id}, the node is on {w3.eth.chain_id}")
        return contracts.RootChain(
            contracts.at(w3, "PlasmaFramework", self.framework),
            contracts.at(w3, "EthVault", self.eth_vault),
            contracts.at(w3, "Erc20Vault", self.erc20_vault),
            contracts.at(w3, "PaymentExitGame", self.exit_game),
            self.authority,
        )

    @property
    def verifying_contract(self) -> bytes:
        return bytes.fromhex(self.framework[2:])

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(attrs.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment:
        return cls(**json.loads(path.read_text()))


@attrs.frozen
class Step:
    applied: list[Outcome]  # root-chain facts and cursors the follower submitted
    sealed: list[Outcome]
    submitted: list[int]  # child blocks whose roots went to the root chain
    reports: list[Report]


class Operator:
    """Follows the root chain, seals the open block, submits roots, and watches."""

    def __init__(self, node: Node, w3: Web3, root: contracts.RootChain, deployment_block: int = 0,
                 confirmations: int = 0, challenger: str | None = None, empty_block_at: int = EMPTY_BLOCK_AT) -> None:
        self.node, self.w3, self.empty_block_at = node, w3, empty_block_at
        self.client = RootChainClient(w3, root)
        self.follower = Follower(w3, root, node, confirmations=confirmations, start_block=deployment_block)
        self.watcher = Watcher(node.store, self.client, challenger=challenger)

    def step(self, seal: bool = True, submit: bool = True) -> Step:
        """`submit=False`: this step's roots are not sent (the next step sends every one missing)."""
        applied = self.follower.poll()
        sealed = self.node.seal() if seal and (self.node.state.open_block_txs or self._deposits_filling()) else []
        submitted = self.client.submit_blocks(self.node.state) if submit else []
        applied += self.follower.poll()
        return Step(applied, sealed, submitted, self.watcher.check(self.node.state))

    def _deposits_filling(self) -> bool:
        """The root chain's deposit slots are filling up and no sealed block waits to reset them."""
        framework = self.client.root.framework.functions
        used = framework.nextDeposit().call() - 1
        return used >= self.empty_block_at and framework.nextChildBlock().call() not in self.node.state.blocks
