"""The embedded root chain made reproducible: the same seed mines the same blocks, byte for byte.

eth-tester's py-evm backend reads the clock (a block's timestamp is at least now) and draws
`os.urandom` for each block's mix hash, so two runs of one seed would hash their blocks
differently, and `RootChainSynced` cursors (which carry block hashes) would differ. Here the
genesis block is dated in 2096, so every block is stamped parent + 1 s (or later, by
`chain.travel`) whatever the wall clock says, and mix hashes come from the seeded `rng`.
Two costs of eth-tester that would dominate a simulated step are cut, not its semantics: gas
is a fixed bound instead of an estimate (estimating runs each transaction a dozen times in
py-evm, a binary search), and a transaction is found by py-evm's own canonical index instead of
eth-tester's scan of every block back from the head (which `get_logs` does per transaction).
"""
from __future__ import annotations

import random
from typing import Any

import attrs
from eth.exceptions import PyEVMError
from eth_account import Account as EthAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.serializers import serialize_transaction, serialize_transaction_receipt
from eth_tester.exceptions import TransactionNotFound
from web3 import EthereumTesterProvider, Web3
from web3.middleware.base import Web3Middleware

GENESIS_TIMESTAMP = 4_000_000_000  # 2096-10-02: past any wall clock a run meets, within exit games' uint32
CALLER = EthAccount.from_key((1).to_bytes(32, "big")).address  # eth-tester's funded account 0: views only read
GAS_PER_TX = 6_000_000  # above any root-chain call of ours (an in-flight exit is the largest), under the block limit


class SeededBackend(PyEVMBackend):
    """py-evm with its only randomness, the mix hash of each mined block, drawn from `rng`."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        super().__init__(genesis_parameters=PyEVMBackend.generate_genesis_params({"timestamp": GENESIS_TIMESTAMP}))

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = bytes(20)) -> tuple[bytes, ...]:
        # eth-tester's own loop, minus os.urandom; our transactions carry no blobs
        return tuple(self.chain.mine_block(coinbase=coinbase, mix_hash=self._rng.randbytes(32)).hash
                     for _ in range(num_blocks))

    def _locate(self, transaction_hash: bytes) -> tuple[Any, Any, int]:
        """(block, transaction, index): the pending block first, then py-evm's canonical index
        (checked against the block, as a reorganisation may leave an entry behind)."""
        pending = self.chain.get_block()
        for index, transaction in enumerate(pending.transactions):
            if transaction.hash == transaction_hash:
                return pending, transaction, index
        try:
            number, index = self.chain.chaindb.get_transaction_index(transaction_hash)
            block = self.chain.get_canonical_block_by_number(number)
        except PyEVMError as exc:  # not indexed, or its block is gone
            raise TransactionNotFound(f"no transaction 0x{transaction_hash.hex()}") from exc
        if index >= len(block.transactions) or block.transactions[index].hash != transaction_hash:
            raise TransactionNotFound(f"no transaction 0x{transaction_hash.hex()} in the canonical chain")
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._locate(transaction_hash)
        return serialize_transaction(block, transaction, index, block.number == self.chain.get_block().number)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._locate(transaction_hash)
        return serialize_transaction_receipt(block, block.get_receipts(self.chain.chaindb), transaction, index,
                                             block.number == self.chain.get_block().number, self.chain.get_vm())


class Defaults(Web3Middleware):
    """Sends each transaction with `GAS_PER_TX` (only the gas used is paid) instead of estimating
    it, and names a caller for each call (else eth-tester lists and checksums every account per call)."""

    def request_processor(self, method: Any, params: Any) -> Any:
        if method == "eth_sendTransaction" and "gas" not in params[0]:
            params = ({**params[0], "gas": hex(GAS_PER_TX)}, *params[1:])
        elif method == "eth_call" and "from" not in params[0]:
            params = ({**params[0], "from": CALLER}, *params[1:])
        return method, params


@attrs.define
class SeededChain:
    """An in-process chain whose every block follows from the seed; it can be reorganised."""

    tester: EthereumTester
    w3: Web3
    marks: list[tuple[int, int]] = attrs.Factory(list)  # (block number, eth-tester snapshot id), oldest first

    @classmethod
    def create(cls, rng: random.Random) -> SeededChain:
        tester = EthereumTester(SeededBackend(rng))
        w3 = Web3(EthereumTesterProvider(tester))
        w3.middleware_onion.replace("gas_estimate", Defaults)
        return cls(tester, w3)

    @property
    def head(self) -> int:
        return self.w3.eth.block_number

    def mark(self) -> None:
        """Remember the current head, to reorganise back to it later (a bounded few are kept)."""
        if not self.marks or self.marks[-1][0] != self.head:
            self.marks = [*self.marks[-31:], (self.head, self.tester.take_snapshot())]

    def reorg(self, rng: random.Random, max_depth: int) -> int:
        """Abandon the blocks above a mark at most `max_depth` blocks down, with their
        transactions (as a reorganisation that drops them); returns how many blocks went (0: none)."""
        head = self.head
        points = [(n, s) for n, s in self.marks if 1 <= head - n <= max_depth]
        if not points:
            return 0
        number, snapshot = rng.choice(points)
        self.tester.revert_to_snapshot(snapshot)
        self.marks = [(n, s) for n, s in self.marks if n <= number]
        return head - number

    def add_account(self, private_key: bytes) -> str:
        """Let eth-tester sign for `private_key` (a validator's key) as for its own accounts."""
        return Web3.to_checksum_address(self.tester.add_account("0x" + private_key.hex()))
