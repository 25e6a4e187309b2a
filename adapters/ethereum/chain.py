"""Reach an Ethereum chain: the embedded one (eth-tester on py-evm, in this process) or a
JSON-RPC node; send transactions signed with our own keys; move time on dev chains."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.middleware import SignAndSendRawMiddlewareBuilder

ETHER = 10**18


class ChainError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


def embedded() -> Web3:
    """A fresh in-process chain; its ten default accounts hold 1,000,000 ETH each."""
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider

    return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))


def connect(url: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        raise ChainError("eth_rpc_unreachable", f"no Ethereum JSON-RPC answers at {url}")
    return w3


def use_keys(w3: Web3, keys: Sequence[bytes]) -> list[str]:
    """Sign transactions from these keys locally (a real node holds none of ours)."""
    accounts = [Account.from_key(k) for k in keys]
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(accounts), layer=0)
    return [a.address for a in accounts]


def fund(w3: Web3, addresses: Sequence[str], wei: int, source: str | None = None) -> None:
    """Send `wei` to each address from `source` (default: the node's first account)."""
    source = source or w3.eth.accounts[0]
    for address in addresses:
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": source, "to": address, "value": wei}))
        if receipt.status != 1:
            raise ChainError("funding_failed", f"could not fund {address}")


def send(w3: Web3, call: Any, sender: str, value: int = 0) -> Any:
    """Transact `call` from `sender` and wait for its receipt; a revert, whether found when
    estimating gas or in the receipt, raises `ChainError`."""
    try:
        tx_hash = call.transact({"from": sender, "value": value})
    except (ContractLogicError, TransactionFailed) as exc:
        raise ChainError("transaction_reverted", f"{call.fn_name} from {sender}: {exc}") from None
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt.status != 1:
        raise ChainError("transaction_reverted", f"{call.fn_name} from {sender} reverted")
    return receipt


def travel(w3: Web3, seconds: int) -> None:
    """Mine a block at least `seconds` later: eth-tester's time travel, or the dev RPCs of anvil/hardhat."""
    tester = getattr(w3.provider, "ethereum_tester", None)
    if tester is not None:
        tester.time_travel(w3.eth.get_block("latest").timestamp + seconds)
    else:
        w3.provider.make_request("evm_increaseTime", [seconds])
        w3.provider.make_request("evm_mine", [])


def mine(w3: Web3, blocks: int = 1) -> None:
    """Mine empty blocks (to bury facts under confirmations on dev chains)."""
    tester = getattr(w3.provider, "ethereum_tester", None)
    for _ in range(blocks):
        if tester is not None:
            tester.mine_blocks()
        else:
            w3.provider.make_request("evm_mine", [])


def call_args(w3: Web3, contract: Any, tx_hash: bytes, function: str) -> dict[str, Any] | None:
    """The arguments of `function` when transaction `tx_hash` called it on `contract` directly
    (its calldata); None when the transaction went elsewhere or called something else.
    A confirmed transaction's calldata never changes: events need not repeat it."""
    sent = w3.eth.get_transaction(tx_hash)
    if sent["to"] != contract.address:
        return None
    called, params = contract.decode_function_input(sent["input"])
    return dict(params) if called.fn_name == function else None
