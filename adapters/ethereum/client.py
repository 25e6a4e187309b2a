"""Root-chain actions of the operator and of users, with payloads built from the log.

The operator submits sealed blocks' roots; users deposit, start and process exits;
anyone challenges with a fraud proof. Each action reads what the contracts already
hold first, so repeating one after a crash does not submit twice.
"""
from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.logs import DISCARD

from adapters.ethereum import chain, contracts
from adapters.ethereum.contracts import ERC20_VAULT_ID, ETH_VAULT_ID, RootChain
from ledger.blocks import BlockIndex
from ledger.state import CHILD_BLOCK_INTERVAL, State
from proofs.fraud import DoubleSpendProof, InvalidExitProof, Spend
from proofs import order, rlp
from proofs.keccak import keccak256
from proofs.payment import decode, deposit_tx, encode, unsigned_bytes

ETH = bytes(20)


def checksum(address: bytes) -> str:
    return Web3.to_checksum_address(address)


def tx_type_of(tx_bytes: bytes) -> int:
    """The type of a transaction in its unsigned or signed RLP form (the exit game it exits by)."""
    items = rlp.decode(tx_bytes)
    if not isinstance(items, list) or not items:
        raise ValueError("not a transaction")
    raw_type = items[1] if isinstance(items[0], list) and len(items) > 1 else items[0]
    if not isinstance(raw_type, bytes):
        raise ValueError("not a transaction")
    return int.from_bytes(raw_type, "big")


def inputs_and_witnesses(signed_tx: bytes) -> tuple[tuple[int, ...], tuple[bytes, ...]]:
    """What an in-flight exit shows of a signed transaction: its inputs and one witness per input
    (a payment's or an ORDER's signatures; a SETTLEMENT has none, its limits stand in for them)."""
    tx_type = tx_type_of(signed_tx)
    if tx_type == contracts.ORDER_TX_TYPE:
        placed = order.decode_order(signed_tx)
        return placed.inputs, placed.signatures
    if tx_type == contracts.SETTLEMENT_TX_TYPE:
        settled = order.decode_settlement(signed_tx)
        return settled.inputs, (b"",) * len(settled.inputs)
    tx = decode(signed_tx)
    return tx.inputs, tx.signatures


class RootChainClient:
    def __init__(self, w3: Web3, root: RootChain) -> None:
        self.w3, self.root = w3, root
        self._games: dict[int, Any] = {contracts.PAYMENT_TX_TYPE: root.exit_game}

    def game(self, tx_bytes: bytes) -> Any:
        """The exit game of `tx_bytes`'s type: payments, ORDER and SETTLEMENT each have theirs."""
        tx_type = tx_type_of(tx_bytes)
        if tx_type not in self._games:
            self._games[tx_type] = self.root.exit_game_of(self.w3, tx_type)
        return self._games[tx_type]

    def submit_blocks(self, state: State) -> list[int]:
        """Submit, in order, every child block sealed in `state` that the framework lacks."""
        submitted = []
        blknum = self.root.framework.functions.nextChildBlock().call()
        while (block := state.blocks.get(blknum)) is not None:
            chain.send(self.w3, self.root.framework.functions.submitBlock(block.root), self.root.authority)
            submitted.append(blknum)
            blknum += CHILD_BLOCK_INTERVAL
        return submitted

    def deposit(self, sender: str, token: bytes, amount: int) -> int:
        """Deposit `amount` of `token` (ETH: 20 zero bytes) for `sender`; returns the deposit block."""
        tx = encode(deposit_tx(bytes.fromhex(sender[2:]), token, amount))
        if token == ETH:
            receipt = chain.send(self.w3, self.root.eth_vault.functions.deposit(tx), sender, value=amount)
            vault = self.root.eth_vault
        else:
            erc20 = contracts.at(self.w3, "TestERC20", checksum(token))  # any ERC20's approve
            chain.send(self.w3, erc20.functions.approve(self.root.erc20_vault.address, amount), sender)
            receipt = chain.send(self.w3, self.root.erc20_vault.functions.deposit(tx), sender)
            vault = self.root.erc20_vault
        [created] = vault.events.DepositCreated().process_receipt(receipt, errors=DISCARD)
        return created.args.blknum

    def start_standard_exit(self, sender: str, utxo_pos: int, index: BlockIndex) -> int:
        """Start an exit of `utxo_pos` with its inclusion proof from the log; returns the exit id."""
        tx_bytes, proof = index.exit_data(utxo_pos)
        game = self.game(tx_bytes)
        bond = game.functions.startStandardExitBondSize().call()
        call = game.functions.startStandardExit((utxo_pos, tx_bytes, proof))
        receipt = chain.send(self.w3, call, sender, value=bond)
        [started] = game.events.ExitStarted().process_receipt(receipt, errors=DISCARD)
        return started.args.exitId

    def challenge_standard_exit(self, sender: str, proof: InvalidExitProof) -> Any:
        args = (*proof.contract_args(), self._sender_data(sender))
        return chain.send(self.w3, self.game(proof.exiting_tx).functions.challengeStandardExit(args), sender)

    def start_in_flight_exit(self, sender: str, signed_tx: bytes, index: BlockIndex) -> int:
        """Start an in-flight exit of a signed transaction; its inputs' data come from the log."""
        (inputs, witnesses), unsigned = inputs_and_witnesses(signed_tx), unsigned_bytes(signed_tx)
        input_txs, proofs = zip(*(index.exit_data(pos) for pos in inputs))
        args = (unsigned, list(input_txs), list(inputs), list(proofs), list(witnesses))
        game = self.game(signed_tx).functions
        chain.send(self.w3, game.startInFlightExit(args), sender, value=game.startIFEBondSize().call())
        return game.getInFlightExitId(unsigned).call()

    def piggyback(self, sender: str, in_flight_tx: bytes, is_output: bool, index: int) -> Any:
        """Join an in-flight exit (unsigned tx bytes) on one of its outputs or inputs, with the bond."""
        game = self.game(in_flight_tx).functions
        call = (game.piggybackInFlightExitOnOutput if is_output else game.piggybackInFlightExitOnInput)((in_flight_tx, index))
        return chain.send(self.w3, call, sender, value=game.piggybackBondSize().call())

    def challenge_not_canonical(self, sender: str, proof: DoubleSpendProof, competitor_pos: int, inclusion: bytes) -> Any:
        """Show the in-flight transaction (`proof.first`) has a competitor (`proof.second`)."""
        args = (proof.input_tx, proof.utxo_pos, proof.first.tx, proof.first.input_index, proof.second.tx,
                proof.second.input_index, competitor_pos, inclusion, proof.second.signature)
        return chain.send(self.w3, self.game(proof.first.tx).functions.challengeInFlightExitNotCanonical(args), sender)

    def respond_to_non_canonical(self, sender: str, in_flight_tx: bytes, tx_pos: int, inclusion: bytes) -> Any:
        """Show the in-flight transaction (unsigned bytes) included at `tx_pos`, older than every competitor."""
        call = self.game(in_flight_tx).functions.respondToNonCanonicalChallenge(in_flight_tx, tx_pos, inclusion)
        return chain.send(self.w3, call, sender)

    def challenge_input_spent(self, sender: str, proof: DoubleSpendProof) -> Any:
        """Show a piggybacked input of the in-flight transaction (`proof.first`) spent by `proof.second`."""
        args = (proof.first.tx, proof.first.input_index, proof.second.tx, proof.second.input_index,
                proof.second.signature, proof.input_tx, proof.utxo_pos, self._sender_data(sender))
        return chain.send(self.w3, self.game(proof.first.tx).functions.challengeInFlightExitInputSpent(args), sender)

    def challenge_output_spent(self, sender: str, in_flight_tx: bytes, inclusion: bytes, output_pos: int,
                               spend: Spend) -> Any:
        """Show a piggybacked output of an included in-flight transaction spent by `spend`."""
        args = (in_flight_tx, inclusion, output_pos, spend.tx, spend.input_index, spend.signature, self._sender_data(sender))
        return chain.send(self.w3, self.game(in_flight_tx).functions.challengeInFlightExitOutputSpent(args), sender)

    @staticmethod
    def _sender_data(sender: str) -> bytes:
        """Binds a challenge (and the bond it wins) to its sender, against front-running."""
        return keccak256(bytes.fromhex(sender[2:]))

    def process_exits(self, sender: str, token: bytes = ETH, count: int = 100) -> Any:
        vault_id = ETH_VAULT_ID if token == ETH else ERC20_VAULT_ID
        return chain.send(self.w3, self.root.framework.functions.processExits(vault_id, checksum(token), 0, count), sender)

    def vault_balance(self, token: bytes) -> int:
        """What the vault of `token` holds on the root chain."""
        if token == ETH:
            return self.w3.eth.get_balance(self.root.eth_vault.address)
        erc20 = contracts.at(self.w3, "TestERC20", checksum(token))
        return erc20.functions.balanceOf(self.root.erc20_vault.address).call()
