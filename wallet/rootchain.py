"""A user's root-chain actions with the wallet's own key: deposits, standard exits (their
data from the node's `utxo.get_exit_data`), in-flight exits (their data from
`in_flight_exit.get_data`), piggybacks, canonicity challenges (from
`in_flight_exit.get_competitor`), processing exits, and reading the exit queues.

It speaks web3 to any Ethereum JSON-RPC node and signs locally, so it needs no unlocked
account; it knows only the plasma framework's address (the node's `status.get`) and finds
the vaults, the exit game and the queues through it, as omg-js does. It does not import
the operator's adapter (adapters/ethereum/client.py): that one builds exit data from the
ledger's log, the wallet from the node's API. The ABI entries it calls are in wallet/abi.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from proofs.payment import deposit_tx, encode
from wallet.abi import ABI
from wallet.client import ExitData, NodeClient, NodeError, unhex
from wallet.errors import WalletError

ETH = bytes(20)
ETH_VAULT_ID, ERC20_VAULT_ID = 1, 2  # plasma-contracts' deployment
PAYMENT_TX_TYPE = 1
# A queue priority: exitable_at (32 bits) | tx position (54 bits) | exit id (160 bits).
EXITABLE_AT_SHIFT, EXIT_ID_MASK = 214, (1 << 160) - 1


@dataclass(frozen=True, slots=True)
class QueuedExit:
    exit_id: int
    token: bytes
    exitable_at: int  # a timestamp: processExits takes it once a block is later


@dataclass(frozen=True, slots=True)
class InFlightData:
    """`in_flight_exit.get_data`: what `startInFlightExit` takes, in its order."""
    in_flight_tx: bytes  # unsigned
    input_txs: tuple[bytes, ...]
    input_utxos_pos: tuple[int, ...]
    input_proofs: tuple[bytes, ...]
    signatures: tuple[bytes, ...]

    def args(self) -> tuple[Any, ...]:
        return (self.in_flight_tx, list(self.input_txs), list(self.input_utxos_pos), list(self.input_proofs),
                list(self.signatures))


@dataclass(frozen=True, slots=True)
class Competitor:
    """`in_flight_exit.get_competitor`: a signed spend of one of an in-flight transaction's
    inputs other than it (included at `competing_tx_pos`, or 0 when the node holds it unsealed)."""
    in_flight_tx: bytes
    in_flight_input_index: int
    competing_tx: bytes
    competing_input_index: int
    competing_signature: bytes
    competing_tx_pos: int
    competing_proof: bytes
    input_tx: bytes
    input_utxo_pos: int

    def args(self) -> tuple[Any, ...]:
        """`challengeInFlightExitNotCanonical`'s tuple."""
        return (self.input_tx, self.input_utxo_pos, self.in_flight_tx, self.in_flight_input_index, self.competing_tx,
                self.competing_input_index, self.competing_tx_pos, self.competing_proof, self.competing_signature)


def in_flight_data(node: NodeClient, signed_tx: bytes) -> InFlightData:
    """The node's data for an in-flight exit of `signed_tx` (its inputs must be in blocks the node knows)."""
    d = node.call("in_flight_exit.get_data", {"txbytes": "0x" + signed_tx.hex()})
    return InFlightData(unhex(d["in_flight_tx"]), tuple(map(unhex, d["input_txs"])), tuple(d["input_utxos_pos"]),
                        tuple(map(unhex, d["input_txs_inclusion_proofs"])), tuple(map(unhex, d["in_flight_tx_sigs"])))


def competitor(node: NodeClient, tx: bytes) -> Competitor | None:
    """A competitor of the in-flight transaction `tx` (signed or not) the node knows, or None."""
    try:
        d = node.call("in_flight_exit.get_competitor", {"txbytes": "0x" + tx.hex()})
    except NodeError as exc:
        if exc.code.endswith("competitor_not_found"):
            return None
        raise
    return Competitor(unhex(d["in_flight_txbytes"]), d["in_flight_input_index"], unhex(d["competing_txbytes"]),
                      d["competing_input_index"], unhex(d["competing_sig"]), d["competing_tx_pos"],
                      unhex(d["competing_proof"]), unhex(d["input_tx"]), d["input_utxo_pos"])


def checksum(address: bytes) -> str:
    return Web3.to_checksum_address(address)


def vault_id(token: bytes) -> int:
    return ETH_VAULT_ID if token == ETH else ERC20_VAULT_ID


class RootChain:
    def __init__(self, w3: Web3, plasma_framework: bytes, private_key: bytes) -> None:
        self.w3, self._account = w3, Account.from_key(private_key)
        self.framework = self._contract("PlasmaFramework", checksum(plasma_framework))
        self.exit_game = self._contract("PaymentExitGame", self.framework.functions.exitGames(PAYMENT_TX_TYPE).call())

    @property
    def address(self) -> str:
        return self._account.address

    def _contract(self, name: str, address: str) -> Any:
        return self.w3.eth.contract(address=address, abi=ABI[name])

    def _vault(self, token: bytes) -> Any:
        name = "EthVault" if token == ETH else "Erc20Vault"
        return self._contract(name, self.framework.functions.vaults(vault_id(token)).call())

    def _send(self, call: Any, value: int = 0) -> Any:
        """Sign `call` with the wallet's key, send it and wait; a revert is `transaction_reverted`."""
        sender = self._account.address
        try:
            tx = call.build_transaction({"from": sender, "value": value,
                                         "nonce": self.w3.eth.get_transaction_count(sender, "pending")})
        except (ContractLogicError, TransactionFailed) as exc:  # a JSON-RPC node's revert; the embedded chain's
            raise WalletError("transaction_reverted", f"{call.fn_name}: {exc}") from None
        signed = self._account.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_raw_transaction(signed.raw_transaction))
        if receipt.status != 1:
            raise WalletError("transaction_reverted", f"{call.fn_name} reverted")
        return receipt

    def deposit(self, amount: int, token: bytes = ETH) -> int:
        """Deposit `amount` of `token` to the wallet's own address; returns the deposit's child
        block (its output is spendable once the node has followed the root chain there)."""
        tx = encode(deposit_tx(bytes.fromhex(self.address[2:]), token, amount))
        vault = self._vault(token)
        if token == ETH:
            receipt = self._send(vault.functions.deposit(tx), value=amount)
        else:
            erc20 = self._contract("TestERC20", checksum(token))  # ERC-20's approve
            self._send(erc20.functions.approve(vault.address, amount))
            receipt = self._send(vault.functions.deposit(tx))
        [created] = vault.events.DepositCreated().process_receipt(receipt, errors=DISCARD)
        return created.args.blknum

    def start_exit(self, data: ExitData) -> int:
        """Start a standard exit of an output with the node's exit data, paying the bond; returns the exit id."""
        bond = self.exit_game.functions.startStandardExitBondSize().call()
        call = self.exit_game.functions.startStandardExit((data.utxo_pos, data.txbytes, data.proof))
        receipt = self._send(call, value=bond)
        [started] = self.exit_game.events.ExitStarted().process_receipt(receipt, errors=DISCARD)
        return started.args.exitId

    def start_in_flight_exit(self, data: InFlightData) -> int:
        """Start an in-flight exit of a transaction with the node's data, paying the bond; returns
        its exit id. Anyone may start it; each input or output owner piggybacks to exit theirs."""
        game = self.exit_game.functions
        self._send(game.startInFlightExit(data.args()), value=game.startIFEBondSize().call())
        return game.getInFlightExitId(data.in_flight_tx).call()

    def piggyback_output(self, in_flight_tx: bytes, index: int) -> Any:
        """Join the in-flight exit of `in_flight_tx` (unsigned bytes) to exit its output `index`
        (this key's), paying the piggyback bond: paid out if the transaction is canonical."""
        game = self.exit_game.functions
        return self._send(game.piggybackInFlightExitOnOutput((in_flight_tx, index)), value=game.piggybackBondSize().call())

    def piggyback_input(self, in_flight_tx: bytes, index: int) -> Any:
        """Join the in-flight exit to take back its input `index` (this key's): paid out if the
        transaction is not canonical (a competitor won) and the input is not spent elsewhere."""
        game = self.exit_game.functions
        return self._send(game.piggybackInFlightExitOnInput((in_flight_tx, index)), value=game.piggybackBondSize().call())

    def challenge_not_canonical(self, found: Competitor) -> Any:
        """Show the in-flight transaction has a competitor: its outputs can no longer exit."""
        return self._send(self.exit_game.functions.challengeInFlightExitNotCanonical(found.args()))

    def in_flight_status(self, exit_id: int) -> dict[str, Any]:
        """The exit game's record of an in-flight exit: canonical, piggybacked inputs and outputs
        (indices), the position of its oldest competitor (0: none shown)."""
        [record] = self.exit_game.functions.inFlightExits([exit_id]).call()
        canonical, _, exit_map, _, _, _, _, _, oldest = record
        return {"canonical": canonical, "piggybacked_inputs": [i for i in range(4) if exit_map >> i & 1],
                "piggybacked_outputs": [i for i in range(4) if exit_map >> (4 + i) & 1], "oldest_competitor": oldest}

    def exit_status(self, exit_id: int) -> dict[str, Any]:
        """The exit game's record: exitable (False once processed or challenged), utxoPos, amount, ..."""
        [record] = self.exit_game.functions.standardExits([exit_id]).call()
        names = ("exitable", "utxo_pos", "output_id", "exit_target", "amount", "bond_size")
        return dict(zip(names, record))

    def queued(self, token: bytes = ETH) -> list[QueuedExit]:
        """The exits queued in `token`, in processing order."""
        key = Web3.solidity_keccak(["uint256", "address"], [vault_id(token), checksum(token)])
        queue_address = self.framework.functions.exitsQueues(key).call()
        if int(queue_address, 16) == 0:
            return []
        heap = self._contract("PriorityQueue", queue_address).functions.heapList().call()[1:]  # [0] is unused
        return [QueuedExit(p & EXIT_ID_MASK, token, p >> EXITABLE_AT_SHIFT) for p in sorted(heap)]

    def process_exits(self, token: bytes = ETH, count: int = 100) -> Any:
        """Pay out up to `count` exits in `token` whose time has come (anyone may; gas is the caller's)."""
        call = self.framework.functions.processExits(vault_id(token), checksum(token), 0, count)
        return self._send(call)

    def latest_timestamp(self) -> int:
        return self.w3.eth.get_block("latest").timestamp
