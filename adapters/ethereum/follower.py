"""Follow the root chain: turn the vaults', framework's and exit game's logs into ledger events.

The exit game's events are plasma-contracts v1.0.4's: an exit's start logs its id (standard) or
its transaction's hash (in-flight), not its data; that is read from the start call's calldata or,
for an exit started through a contract, from the exit game's storage and the ledger's own blocks.

Exactly once, across restarts and reorgs: the follower reads only blocks at least
`confirmations` deep, and appends each range's facts together with a `RootChainSynced`
cursor event in one batch (one database transaction), so the log holds a fact if and
only if it holds the cursor past it. A restart resumes after the cursor; a cursor whose
block hash the chain no longer has is a reorg deeper than the confirmations, reported,
never papered over.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
from web3 import Web3
from eth_abi.exceptions import DecodingError
from web3._utils.events import get_event_data
from web3.exceptions import LogTopicError, MismatchedABI, TransactionNotFound, Web3Exception

from adapters.ethereum.chain import call_args
from adapters.ethereum.client import inputs_and_witnesses
from adapters.ethereum.contracts import ORDER_TX_TYPE, SETTLEMENT_TX_TYPE, RootChain
from ledger import events as ev
from ledger.blocks import BlockIndex
from ledger.node import Node, Outcome
from ledger.state import CHILD_BLOCK_INTERVAL, InFlightExit, StandardExit, State
from proofs import merkle
from proofs.keccak import keccak256
from proofs.payment import decode_utxo_pos, deposit_tx, encode


# What decoding a log entry that is not one of the contracts' raises (a missing field, no topics,
# data that does not match the event's ABI).
MALFORMED_LOG = (KeyError, IndexError, TypeError, ValueError, OverflowError, DecodingError, LogTopicError, MismatchedABI)


class FollowError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


@attrs.frozen
class Log:
    """One decoded root-chain log: which contract, which event, its arguments."""

    block: int
    index: int
    source: str  # framework | vault | exit_game
    name: str
    args: Any
    tx_hash: bytes
    address: str = ""  # the contract that logged it (which exit game: payments, ORDER or SETTLEMENT)


class Follower:
    def __init__(self, w3: Web3, root: RootChain, node: Node, confirmations: int = 12,
                 start_block: int = 0, span: int = 2_000) -> None:
        self.w3, self.root, self.node = w3, root, node
        self.confirmations, self.start_block, self.span = confirmations, start_block, span
        self._games = {game.address: game for game in self._exit_games()}
        self._topics = self._topic_table()
        self._handlers = self._handler_table()
        self._block_index: BlockIndex | None = None

    def _exit_games(self) -> list[Any]:
        """The payment exit game and those of the DEX's ORDER and SETTLEMENT transactions (the same
        code and events): exits of order outputs and of settlements' proceeds are facts too."""
        games = [self.root.exit_game]
        for tx_type in (ORDER_TX_TYPE, SETTLEMENT_TX_TYPE):
            if int(self.root.framework.functions.exitGames(tx_type).call(), 16):
                games.append(self.root.exit_game_of(self.w3, tx_type))
        return games

    def _topic_table(self) -> dict[tuple[str, bytes], tuple[str, Any]]:
        table = {}
        for source, contract in (("framework", self.root.framework), ("vault", self.root.eth_vault),
                                 ("vault", self.root.erc20_vault), *(("exit_game", game) for game in self._games.values())):
            for abi in contract.abi:
                if abi["type"] == "event":
                    signature = f"{abi['name']}({','.join(i['type'] for i in abi['inputs'])})"
                    table[(contract.address, Web3.keccak(text=signature))] = (source, abi)
        return table

    def poll(self) -> list[Outcome]:
        """Apply every confirmed fact past the cursor, all of a range or none; returns the outcomes."""
        self._check_cursor()
        safe = self.w3.eth.block_number - self.confirmations
        outcomes: list[Outcome] = []
        first = max(self.node.state.root_cursor[0] + 1, self.start_block)
        for low in range(first, safe + 1, self.span):
            high = min(low + self.span - 1, safe)
            facts = list(self._facts(self._logs(low, high), self.node.state))
            block_hash = bytes(self.w3.eth.get_block(high).hash)
            batch = self.node.submit([*facts, ev.RootChainSynced(high, block_hash)], atomic=True)
            refused = next((o for o in batch if o.code not in (None, "batch_rejected")), None)
            if refused is not None:  # never skip a root-chain fact: stop before the cursor passes it
                raise FollowError("root_fact_rejected", f"{refused.event.KIND} in Ethereum blocks {low}-{high}: "
                                  f"{refused.code}: {refused.detail}")
            outcomes += batch
        return outcomes

    def _check_cursor(self) -> None:
        block, block_hash = self.node.state.root_cursor
        if block >= 0 and bytes(self.w3.eth.get_block(block).hash) != block_hash:
            raise FollowError("root_chain_reorg", f"Ethereum block {block} changed after it was followed")

    def _logs(self, low: int, high: int) -> list[Log]:
        addresses = sorted({address for address, _ in self._topics})
        raw = self.w3.eth.get_logs({"fromBlock": low, "toBlock": high, "address": addresses})
        try:
            return [log for entry in sorted(raw, key=lambda e: (e["blockNumber"], e["logIndex"]))
                    if (log := self._decoded(entry)) is not None]
        except MALFORMED_LOG as exc:  # the Ethereum node's answer is not what the contracts log
            raise FollowError("malformed_root_chain_log", f"Ethereum blocks {low}-{high}: {type(exc).__name__}: {exc}") from None

    def _decoded(self, entry: Any) -> Log | None:
        known = self._topics.get((entry["address"], bytes(entry["topics"][0])))
        if known is None:
            return None
        source, abi = known
        data = get_event_data(self.w3.codec, abi, entry)
        return Log(entry["blockNumber"], entry["logIndex"], source, abi["name"], data.args, bytes(entry["transactionHash"]),
                   entry["address"])

    def _facts(self, logs: list[Log], state: State) -> Iterator[ev.Event]:
        """Ledger events for `logs`, in chain order; exit ids resolved against `state` plus
        the exits started earlier in the same range."""
        index = ExitIndex.of(state)
        for log in logs:
            handler = self._handlers.get((log.source, log.name))
            if handler is not None:
                for fact in handler(log, index):
                    index.note(fact)
                    yield fact

    def _handler_table(self) -> dict[tuple[str, str], Callable[[Log, ExitIndex], list[ev.Event]]]:
        return {
            ("vault", "DepositCreated"): self._deposit,
            ("vault", "WithdrawFailed"): _payout_event(ev.PayoutFailed),
            ("vault", "WithdrawClaimed"): _payout_event(ev.PayoutClaimed),
            ("framework", "BlockSubmitted"): self._block,
            ("exit_game", "ExitStarted"): self._exit_started,
            ("exit_game", "ExitChallenged"): lambda log, index: [ev.ExitChallenged(index.standard(log.args.utxoPos))],
            ("exit_game", "ExitFinalized"): lambda log, _: [ev.ExitProcessed(log.args.exitId, True)],
            ("exit_game", "ExitOmitted"): lambda log, _: [ev.ExitProcessed(log.args.exitId, False)],
            ("exit_game", "InFlightExitStarted"): self._in_flight_started,
            ("exit_game", "InFlightExitInputPiggybacked"): _slot_event(ev.InFlightExitPiggybacked, False, "inputIndex"),
            ("exit_game", "InFlightExitOutputPiggybacked"): _slot_event(ev.InFlightExitPiggybacked, True, "outputIndex"),
            ("exit_game", "InFlightExitInputBlocked"): _slot_event(ev.PiggybackChallenged, False, "inputIndex"),
            ("exit_game", "InFlightExitOutputBlocked"): _slot_event(ev.PiggybackChallenged, True, "outputIndex"),
            ("exit_game", "InFlightExitChallenged"): lambda log, index: [
                ev.InFlightExitChallenged(index.in_flight(log.args.txHash), log.args.challengeTxPosition)],
            ("exit_game", "InFlightExitChallengeResponded"): lambda log, index: [
                ev.InFlightExitResponded(index.in_flight(log.args.txHash), log.args.challengeTxPosition)],
            ("exit_game", "InFlightExitInputWithdrawn"): lambda log, _: [
                ev.InFlightExitWithdrawn(log.args.exitId, False, log.args.inputIndex)],
            ("exit_game", "InFlightExitOutputWithdrawn"): lambda log, _: [
                ev.InFlightExitWithdrawn(log.args.exitId, True, log.args.outputIndex)],
            # The exit's end, after which its transaction may exit again under the same id.
            ("exit_game", "InFlightExitDeleted"): lambda log, _: [ev.InFlightExitDeleted(log.args.exitId)],
            ("exit_game", "InFlightExitFinalized"): lambda log, _: [ev.InFlightExitFinalized(log.args.exitId)],
        }

    def _exit_started(self, log: Log, index: ExitIndex) -> list[ev.Event]:
        """ExitStarted names the exit; the output comes from the startStandardExit call that
        logged it, checked to be the output of that exit id."""
        utxo_pos, output_tx = self._standard_exit_output(log, index)
        is_deposit = decode_utxo_pos(utxo_pos)[0] % CHILD_BLOCK_INTERVAL != 0
        if self._game(log).functions.getStandardExitId(is_deposit, output_tx, utxo_pos).call() != log.args.exitId:
            raise FollowError("exit_unrecoverable", f"exit {log.args.exitId}: its start call names another exit")
        return [ev.ExitStarted(log.args.exitId, utxo_pos, output_tx)]

    def _standard_exit_output(self, log: Log, index: ExitIndex) -> tuple[int, bytes]:
        """(position, transaction) of the exiting output: from the start call's calldata, or, for an
        exit started through a contract (a wallet), its position from the exit game's storage as of
        the log's block and its transaction from the ledger's own blocks."""
        args = self._start_args(log, "startStandardExit")
        if args is not None:
            return args["utxoPos"], bytes(args["rlpOutputTx"])
        try:
            (record,) = self._game(log).functions.standardExits([log.args.exitId]).call(block_identifier=log.block)
        except (Web3Exception, ValueError) as exc:  # a block the node does not have, or no such exit
            raise FollowError("exit_unrecoverable", f"{log.name} in Ethereum block {log.block}: the exit game's "
                              f"storage is not readable there ({type(exc).__name__})") from None
        utxo_pos = record[1]
        return utxo_pos, self._own_tx(utxo_pos, log, index)

    def _in_flight_started(self, log: Log, index: ExitIndex) -> list[ev.Event]:
        """InFlightExitStarted names the transaction by hash; the transaction and its inputs come
        from the startInFlightExit call that logged it, or, started through a contract, from the
        ledger's own blocks (an in-flight transaction the ledger never saw is then unrecoverable)."""
        args = self._start_args(log, "startInFlightExit")
        if args is not None:
            in_flight_tx, input_txs = bytes(args["inFlightTx"]), tuple(map(bytes, args["inputTxs"]))
            positions = tuple(args["inputUtxosPos"])
        else:
            in_flight_tx = self._own_tx_by_hash(bytes(log.args.txHash), log)
            positions = inputs_and_witnesses(in_flight_tx)[0]
            input_txs = tuple(self._own_tx(pos, log, index) for pos in positions)
        if keccak256(in_flight_tx) != bytes(log.args.txHash):
            raise FollowError("exit_unrecoverable", f"in-flight exit 0x{bytes(log.args.txHash).hex()}: its start call names another transaction")
        exit_id = self._game(log).functions.getInFlightExitId(in_flight_tx).call()
        return [ev.InFlightExitStarted(exit_id, in_flight_tx, input_txs, positions)]

    def _game(self, log: Log) -> Any:
        """The exit game that logged `log`."""
        return self._games[log.address]

    def _start_args(self, log: Log, function: str) -> dict[str, Any] | None:
        """The struct argument (by field name) of the exit game's `function` call that logged `log`;
        None when the log came from a call made through another contract."""
        try:
            params = call_args(self.w3, self._game(log), log.tx_hash, function)
        except TransactionNotFound:
            params = None
        return None if params is None else dict(params["args"])

    def _blocks(self) -> BlockIndex:
        """The ledger's own blocks, folded from the log up to now (built on first need)."""
        if self._block_index is None:
            self._block_index = BlockIndex()
        self._block_index.follow(self.node.store)
        return self._block_index

    def _own_tx(self, utxo_pos: int, log: Log, index: ExitIndex) -> bytes:
        """The transaction of `utxo_pos` in the ledger's blocks, or in a deposit followed earlier in
        the same range (not yet stored)."""
        blknum, txindex, _ = decode_utxo_pos(utxo_pos)
        if blknum in index.deposits and txindex == 0:
            return index.deposits[blknum]
        try:
            return self._blocks().exit_data(utxo_pos)[0]
        except (KeyError, IndexError):
            raise FollowError("exit_unrecoverable", f"{log.name} in Ethereum block {log.block}: output {utxo_pos} "
                              "is not in the ledger's blocks and its start call is not readable") from None

    def _own_tx_by_hash(self, tx_hash: bytes, log: Log) -> bytes:
        index = self._blocks()
        for tx in (*(leaf for leaves in index.blocks.values() for leaf in leaves), *index.state.open_block_txs):
            if keccak256(tx) == tx_hash:
                return tx
        raise FollowError("exit_unrecoverable", f"{log.name} in Ethereum block {log.block}: transaction "
                          f"0x{tx_hash.hex()} is not in the ledger and its start call is not readable")

    def _deposit(self, log: Log, _: ExitIndex) -> list[ev.Event]:
        """The vault logs owner, token and amount; the deposit's bytes are rebuilt and checked
        against the block root, or read from the deposit call when it carried metadata."""
        args = log.args
        tx = encode(deposit_tx(bytes.fromhex(args.depositor[2:]), bytes.fromhex(args.token[2:]), args.amount))
        root, _ = self.root.framework.functions.blocks(args.blknum).call()
        if merkle.root([tx]) != bytes(root):
            tx = self._deposit_calldata(log)
        return [ev.Deposit(args.blknum, tx)]

    def _deposit_calldata(self, log: Log) -> bytes:
        try:
            sent = self.w3.eth.get_transaction(log.tx_hash)
        except TransactionNotFound:
            raise FollowError("deposit_unrecoverable", f"deposit block {log.args.blknum}: its transaction is unknown") from None
        for vault in (self.root.eth_vault, self.root.erc20_vault):
            if sent["to"] == vault.address:
                _, params = vault.decode_function_input(sent["input"])
                return bytes(params["depositTx"])
        raise FollowError("deposit_unrecoverable", f"deposit block {log.args.blknum} was not made by a direct call")

    def _block(self, log: Log, _: ExitIndex) -> list[ev.Event]:
        blknum = log.args.blknum
        if blknum % CHILD_BLOCK_INTERVAL:
            return []  # a deposit block: its vault's DepositCreated is the fact
        root, _ = self.root.framework.functions.blocks(blknum).call()
        return [ev.BlockSubmitted(blknum, bytes(root))]


def _payout_event(kind: type) -> Callable[[Log, ExitIndex], list[ev.Event]]:
    """A handler for a vault's payout that failed or was claimed: the ETH vault's events name no token."""
    def handler(log: Log, _: ExitIndex) -> list[ev.Event]:
        token = bytes.fromhex(log.args.token[2:]) if "token" in log.args else bytes(20)
        return [kind(bytes.fromhex(log.args.receiver[2:]), token, log.args.amount)]
    return handler


def _slot_event(kind: type, is_output: bool, field: str) -> Callable[[Log, ExitIndex], list[ev.Event]]:
    """A handler for the events naming an in-flight exit by tx hash and one input or output index."""
    return lambda log, index: [kind(index.in_flight(log.args.txHash), is_output, log.args[field])]


@attrs.define
class ExitIndex:
    """Exit ids by what the exit game's events name them by (utxo position or tx hash), and the
    deposits followed in the current range, which an exit started in the same range may spend."""

    standard_by_pos: dict[int, int]
    in_flight_by_hash: dict[bytes, int]
    deposits: dict[int, bytes] = attrs.Factory(dict)  # blknum -> deposit tx, this range's

    @classmethod
    def of(cls, state: State) -> ExitIndex:
        by_pos, by_hash = {}, {}
        for exit_id, record in state.exits.items():
            if isinstance(record, StandardExit) and record.status == "pending":
                by_pos[record.utxo_pos] = exit_id
            elif isinstance(record, InFlightExit):
                by_hash[record.tx_hash] = exit_id
        return cls(by_pos, by_hash)

    def note(self, fact: ev.Event) -> None:
        if isinstance(fact, ev.ExitStarted):
            self.standard_by_pos[fact.utxo_pos] = fact.exit_id
        elif isinstance(fact, ev.ExitChallenged):
            self.standard_by_pos = {pos: i for pos, i in self.standard_by_pos.items() if i != fact.exit_id}
        elif isinstance(fact, ev.InFlightExitStarted):
            self.in_flight_by_hash[keccak256(fact.tx)] = fact.exit_id
        elif isinstance(fact, ev.Deposit):
            self.deposits[fact.blknum] = fact.tx

    def standard(self, utxo_pos: int) -> int:
        exit_id = self.standard_by_pos.get(utxo_pos)
        if exit_id is None:
            raise FollowError("unknown_exit", f"no pending standard exit of output {utxo_pos}")
        return exit_id

    def in_flight(self, tx_hash: bytes) -> int:
        exit_id = self.in_flight_by_hash.get(bytes(tx_hash))
        if exit_id is None:
            raise FollowError("unknown_exit", f"no in-flight exit of transaction 0x{bytes(tx_hash).hex()}")
        return exit_id
