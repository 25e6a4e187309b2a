"""omg-js 4.1.2-1.0.4's own RootChain (node, `make omgjs`) at our framework's address on anvil,
for the test_omgjs_* integration tests: one node process per call (omgjs_rootchain.js).

A missing node or omg-js is a failure, not a skip, as a missing anvil is (conftest.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from proofs import eip712
from tests.adapters.ethereum.rootchain import Chain, key, new_chain
from tests.integration.conftest import ROOT

ONE_ETH = 10**18
FUNDS_WEI = 1000 * ONE_ETH
ETH_ADDRESS = "0x" + "00" * 20
SCRIPT = Path(__file__).parent / "omgjs_rootchain.js"
OMGJS_MODULES = ROOT / ".tools/omgjs/node_modules"
CALL_TIMEOUT_S = 120


class OmgJs:
    """omg-js's RootChain at our framework's address, one node process per call."""

    def __init__(self, chain: Chain) -> None:
        node = shutil.which("node")
        if node is None or not (OMGJS_MODULES / "@omisego/omg-js-rootchain").is_dir():
            pytest.fail(f"no node or no omg-js under {OMGJS_MODULES}: run `make omgjs`", pytrace=False)
        self.node, self.chain = node, chain

    def __call__(self, method: str, args: Any, account: int | None = None) -> Any:
        request = {"rpc": self.chain.w3.provider.endpoint_uri, "plasma": self.chain.framework.address,
                   "method": method, "args": args}
        if account is not None:
            request |= {"from": self.chain.accounts[account], "privateKey": "0x" + key(account).hex()}
        done = subprocess.run([self.node, str(SCRIPT), json.dumps(request)], capture_output=True, text=True,
                              timeout=CALL_TIMEOUT_S, env={**os.environ, "NODE_PATH": str(OMGJS_MODULES)})
        assert done.returncode == 0, f"omg-js {method} failed: {done.stderr[-2000:]}"
        return json.loads(done.stdout)

    def sent(self, method: str, args: dict, account: int) -> Any:
        """Send a transaction through omg-js; returns web3's receipt of it (status checked)."""
        answer = self(method, args, account)
        receipt = self.chain.w3.eth.get_transaction_receipt(answer["transactionHash"])
        assert receipt.status == 1, f"omg-js {method} reverted"
        return receipt


def omgjs_on(anvil: Web3) -> tuple[Chain, OmgJs]:
    """Our root chain deployed on `anvil`, its accounts (keys 1..4) funded, and omg-js on it."""
    for i in range(4):
        anvil.provider.make_request("anvil_setBalance", ["0x" + eip712.address_of(key(i)).hex(), hex(FUNDS_WEI)])
    chain = new_chain(anvil)
    return chain, OmgJs(chain)


def hexed(data: bytes) -> str:
    return "0x" + data.hex()


def fee_of(receipt: Any) -> int:
    return receipt.gasUsed * receipt.effectiveGasPrice
