"""Helpers for the root-chain tests: the deployed contracts and payloads built with our proofs.

The accounts are eth-tester's defaults, whose private keys are 1, 2, 3, ... as 32-byte
integers, so our own `proofs.eip712.sign` can sign for them. On a real node (anvil) the
same keys are used, funded by the caller and signed for locally by web3.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD
from web3.middleware import SignAndSendRawMiddlewareBuilder

from adapters.ethereum import chain, contracts
from proofs import eip712, merkle
from proofs.payment import PaymentTx, deposit_tx, encode, encode_unsigned

MIN_EXIT_PERIOD_S = 1000
BOND_WEI = 10**16
ETH = bytes(20)
ETH_HEX = contracts.ETH_TOKEN
TEST_CONTRACTS = Path(__file__).parent / "contracts"
# contracts the simulator deploys too (a hostile exit game, a wallet that refuses payouts)
SIM_CONTRACTS = Path(__file__).resolve().parents[3] / "adapters" / "simulator" / "contracts"
AUTHORITY, ALICE, BOB, CAROL = 0, 1, 2, 3  # account indices


def key(account: int) -> bytes:
    """eth-tester's default account i has private key i + 1."""
    return (account + 1).to_bytes(32, "big")


def raw(address: str) -> bytes:
    return bytes.fromhex(address[2:])


class Chain:
    """The deployed root chain plus helpers that build payloads with our Python proofs."""

    def __init__(
        self, tester: EthereumTester | None, w3: Web3, root: contracts.RootChain, token: Any, accounts: list[str] | None = None
    ) -> None:
        self.tester, self.w3, self.root, self.token = tester, w3, root, token  # tester is None on a real node
        self.framework, self.eth_vault, self.erc20_vault, self.exit_game = (
            root.framework, root.eth_vault, root.erc20_vault, root.exit_game,
        )
        self.accounts = accounts or w3.eth.accounts
        for i in range(4):
            assert eip712.address_of(key(i)) == raw(self.accounts[i])

    def addr(self, account: int) -> bytes:
        return raw(self.accounts[account])

    def send(self, call: Any, account: int, value: int = 0) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": self.accounts[account], "value": value}))
        assert receipt.status == 1
        return receipt

    def balance(self, account: int) -> int:
        return self.w3.eth.get_balance(self.accounts[account])

    def now(self) -> int:
        return self.w3.eth.get_block("latest").timestamp

    def travel(self, seconds: int) -> None:
        """Mine a block `seconds` after the latest one (at least that, on a real node's clock)."""
        chain.travel(self.w3, seconds)

    # --- deposits -----------------------------------------------------------------

    def deposit_eth(self, account: int, amount: int) -> tuple[int, bytes]:
        """Deposit through EthVault; returns (deposit block number, deposit tx bytes)."""
        tx = encode(deposit_tx(self.addr(account), ETH, amount))
        receipt = self.send(self.eth_vault.functions.deposit(tx), account, value=amount)
        [event] = self.eth_vault.events.DepositCreated().process_receipt(receipt, errors=DISCARD)
        return event.args.blknum, tx

    def deposit_token(self, account: int, amount: int) -> tuple[int, bytes]:
        self.send(self.token.functions.mint(self.accounts[account], amount), account)
        self.send(self.token.functions.approve(self.erc20_vault.address, amount), account)
        tx = encode(deposit_tx(self.addr(account), raw(self.token.address), amount))
        receipt = self.send(self.erc20_vault.functions.deposit(tx), account)
        [event] = self.erc20_vault.events.DepositCreated().process_receipt(receipt, errors=DISCARD)
        return event.args.blknum, tx

    # --- child blocks ---------------------------------------------------------------

    def submit_block(self, txs: list[PaymentTx]) -> tuple[int, list[bytes]]:
        """The authority submits a child block of `txs`; returns (blknum, unsigned leaves)."""
        leaves = [encode_unsigned(tx) for tx in txs]
        blknum = self.framework.functions.nextChildBlock().call()
        self.send(self.framework.functions.submitBlock(merkle.root(leaves)), AUTHORITY)
        return blknum, leaves

    def sign(self, tx: PaymentTx, account: int) -> bytes:
        """`account`'s 65-byte EIP-712 signature of `tx`, with the framework as verifying contract."""
        return eip712.sign(eip712.signing_hash(tx, raw(self.framework.address)), key(account))

    # --- exits ----------------------------------------------------------------------

    def start_exit(self, account: int, utxo_pos: int, tx_bytes: bytes, proof: bytes) -> int:
        receipt = self.send(self.exit_game.functions.startStandardExit((utxo_pos, tx_bytes, proof)), account, BOND_WEI)
        [event] = self.exit_game.events.ExitStarted().process_receipt(receipt, errors=DISCARD)
        return event.args.exitId

    def exit_of(self, exit_id: int) -> Any:
        [exit_] = self.exit_game.functions.standardExits([exit_id]).call()
        return exit_

    def process(self, token: str = ETH_HEX, count: int = 10, vault_id: int = contracts.ETH_VAULT_ID, account: int = CAROL) -> Any:
        return self.send(self.framework.functions.processExits(vault_id, token, 0, count), account)

    # --- in-flight exits --------------------------------------------------------------

    def ife_bond(self) -> int:
        return self.exit_game.functions.startIFEBondSize().call()

    def piggyback_bond(self) -> int:
        return self.exit_game.functions.piggybackBondSize().call()

    def ife_args(self, tx: PaymentTx, inputs: list[tuple[bytes, int, bytes]], signers: list[int]) -> tuple:
        """startInFlightExit's StartExitArgs for `tx`: `inputs` are (input tx, utxo position,
        inclusion proof) in the order of tx's inputs; `signers` sign tx (EIP-712), one per input."""
        return (
            encode_unsigned(tx),
            [input_tx for input_tx, _, _ in inputs],
            [pos for _, pos, _ in inputs],
            [proof for _, _, proof in inputs],
            [self.sign(tx, signer) for signer in signers],
        )

    def start_ife(self, account: int, tx: PaymentTx, inputs: list[tuple[bytes, int, bytes]], signers: list[int]) -> int:
        """`account` starts the in-flight exit of `tx` with the IFE bond; returns its exit id."""
        self.send(self.exit_game.functions.startInFlightExit(self.ife_args(tx, inputs, signers)), account, self.ife_bond())
        return self.exit_game.functions.getInFlightExitId(encode_unsigned(tx)).call()

    def piggyback(self, account: int, tx: PaymentTx, index: int, output: bool = True) -> Any:
        """`account` piggybacks output (or input) `index` of `tx`'s in-flight exit with the piggyback bond."""
        fns = self.exit_game.functions
        call = fns.piggybackInFlightExitOnOutput if output else fns.piggybackInFlightExitOnInput
        return self.send(call((encode_unsigned(tx), index)), account, self.piggyback_bond())

    def ife_of(self, exit_id: int) -> Any:
        [ife] = self.exit_game.functions.inFlightExits([exit_id]).call()
        return ife

    def sender_data(self, account: int) -> bytes:
        """The senderData of IFE input/output-spent challenges: keccak of the sender's 20 bytes."""
        from proofs.keccak import keccak256  # here, so this class's additions stay in one place

        return keccak256(self.addr(account))


def events(contract: Any, name: str, receipt: Any) -> list[Any]:
    """The `name` events `contract` logged in `receipt` (other contracts' logs are skipped)."""
    return [e.args for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)]


def reverts(reason: str) -> Any:
    """Expect a revert whose message contains `reason`."""
    return pytest.raises((ContractLogicError, TransactionFailed), match=re.escape(reason))


def new_chain(w3: Web3 | None = None) -> Chain:
    """A fresh chain with the root chain deployed and an ERC20 with its exit queue: in process,
    or on `w3`, a real node where the addresses of key(0..3) are funded (signed for locally)."""
    tester: EthereumTester | None = None
    if w3 is None:
        tester = EthereumTester(PyEVMBackend())
        w3 = Web3(EthereumTesterProvider(tester))
        accounts = list(w3.eth.accounts)
    else:  # a real node holds no keys of ours: web3 signs each transaction and sends it raw
        signers = [Account.from_key(key(i)) for i in range(4)]
        w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(signers), layer=0)
        accounts = [s.address for s in signers]
    root = contracts.deploy_plasma(
        w3, min_exit_period_s=MIN_EXIT_PERIOD_S, standard_exit_bond_wei=BOND_WEI, authority=accounts[AUTHORITY]
    )
    token = contracts.deploy(w3, "TestERC20", "Test token", "TST", sender=accounts[AUTHORITY])
    receipt = w3.eth.wait_for_transaction_receipt(
        root.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, token.address).transact({"from": root.authority})
    )
    assert receipt.status == 1
    return Chain(tester, w3, root, token, accounts)
