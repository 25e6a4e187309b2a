"""The world of one simulated seed: the real node on its SQLite store in a temporary folder,
the real contracts on a seeded embedded chain, the real follower and watcher (`Operator`).

Everything follows from the seed: `World.rng` is `random.Random(seed)`, and the chain, the
fault plan and each actor draw from their own generator seeded from it (`fork`), so adding an
actor does not shift the others' draws. Nothing reads the clock or global randomness.

Actors act through `Action`s the world performs; a root-chain action passes through the
flaky root chain first. The node is `FaultyNode`, the real `Node` whose process the fault
plan may kill inside a submit, after its write (the answer is lost) or tearing the write.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from adapters.ethereum import chain, contracts
from adapters.ethereum.anchor import Deployment, Operator
from adapters.ethereum.chain import ChainError
from adapters.ethereum.client import RootChainClient
from adapters.ethereum.watcher import Report
from adapters.simulator.rootchain import SeededChain
from ledger.blocks import BlockIndex
from ledger.events import Event, FeeRule, Genesis, StakingOpened
from ledger.node import Node, Outcome
from ledger.replay import Replay, replay
from ledger.state import CHILD_BLOCK_INTERVAL, GENESIS_STATE, State
from ledger.store import GENESIS_HASH, EventStore
from proofs import eip712
from proofs.keccak import keccak256
from proofs.payment import BLOCK_OFFSET, encode_utxo_pos, unsigned_bytes
from specs.hooks import InvariantHook

ETH = bytes(20)
ETHER = 10**18
ALARMS = ("invalid_block", "block_withholding", "unchallenged_exit")  # watcher reports that send users out


@attrs.frozen
class Config:
    honest: int = 3
    malicious: int = 2
    dex: bool = True  # the DEX's actors (`traders.py`): traders, a rogue trader, altered settlements
    validators: int = 4  # one offline and one equivocating among them
    confirmations: int = 4  # root-chain blocks a fact is buried under before the follower applies it
    exit_period_s: int = 600
    step_s: int = 20  # root-chain time per step: the exit period is 30 steps
    snapshot_every: int = 40
    full_check_every: int = 50  # the node's hook runs the O(state) checks every this many events
    seal_chance: float = 0.3  # per step, the operator seals the open block
    byzantine_chance: float = 0.5  # of seeds whose operator turns rogue once
    fees: tuple[tuple[str, int], ...] = (("eth", 10**12), ("omg", 10**15))  # a payment's, and an ORDER's (tx type 4)


@attrs.frozen
class Account:
    name: str
    key: bytes
    address: bytes = attrs.field(init=False)

    @address.default
    def _address(self) -> bytes:
        return eip712.address_of(self.key)

    @property
    def checksum(self) -> str:
        return chain.Web3.to_checksum_address(self.address)


def tester_key(index: int) -> bytes:
    """eth-tester's default account `index` has private key index + 1."""
    return (index + 1).to_bytes(32, "big")


@attrs.frozen
class Action:
    """One thing an actor does in a step: `run` performs it on the world. Root-chain
    transactions (`root=True`) pass through the flaky root chain, which may drop or delay them."""

    actor: str
    what: str
    run: Callable[[World], object]
    root: bool = False


class Actor(Protocol):
    name: str

    def step(self, world: World, rng: random.Random) -> list[Action]: ...


@attrs.define
class Injected:
    """One injected fault and what came of it: survived, detected (where the specification
    says it must be), known_gap (a known weakness, pending its fix) or FAILED. On its way there:
    armed (waiting for its moment this step), pending (a root-chain fault, judged at the end)."""

    step: int
    fault: str
    detail: str = ""
    verdict: str = "armed"  # until its moment comes (a write, a root-chain transaction) this step
    delay_steps: int = 0  # root_tx_delayed: how long
    skip_writes: int = 0  # ack_lost, torn_write: the batches written before the one it strikes


class Crash(Exception):
    """The node's process died inside a submit, `written` events after index `first`."""

    def __init__(self, fault: str, first: int, kinds: list[str]) -> None:
        super().__init__(f"{fault}: crashed after writing events {first}..{first + len(kinds) - 1}")
        self.fault, self.first, self.written, self.kinds = fault, first, len(kinds), kinds


class FaultyNode(Node):
    """The real node. When the world has armed a write fault, the process dies right after a
    batch is durable, before anyone hears back: the batch is unacknowledged."""

    def __init__(self, world: World, store: EventStore, **options: object) -> None:
        self.world = world
        super().__init__(store, **options)

    def submit(self, batch: Sequence[Event], atomic: bool = False) -> list[Outcome]:
        first = self.store.count
        outcomes = super().submit(batch, atomic)
        written = self.store.count - first
        if written and (fault := self.world.take_write_fault()):
            # the rows as stored: a batch may carry the node's own events too (a state checkpoint)
            raise Crash(fault, first, [record.topic for record in self.store.read(first, first + written)])
        self.world.acked.update((o.index, o.hash) for o in outcomes if o.accepted)
        return outcomes


class World:
    def __init__(self, seed: int, config: Config, home: Path) -> None:
        self.seed, self.config, self.home = seed, config, home
        self.rng = random.Random(seed)
        self.chain = SeededChain.create(self.fork())
        self.w3 = self.chain.w3
        self.operator_account = Account("operator", tester_key(0))  # the framework's authority
        self.watcher_account = Account("watcher", tester_key(1))  # challenges and processes exits
        self.deployment, self.root = Deployment.deploy(self.w3, min_exit_period_s=config.exit_period_s,
                                                       authority=self.operator_account.checksum)
        self.omg_contract = self._erc20()
        self.omg = bytes.fromhex(self.omg_contract.address[2:])
        self.client = RootChainClient(self.w3, self.root)
        self.db = home / "ledger.db"
        self.step = 0
        self.trace: list[str] = []
        self.failures: list[str] = []
        self.acked: dict[int, bytes] = {}  # index -> hash of every event whose submitter heard back
        self.alarms: dict[str, int] = {}  # watcher condition -> first step it was reported
        self.exit_reports: dict[tuple[str, int], bool] = {}  # (condition, exit id) reported -> ever challenged
        self.bad_blknum: int | None = None  # first child block whose root on the root chain the log did not seal
        self.injected: list[Injected] = []  # every fault that struck, with its verdict
        self.armed: dict[str, Injected] = {}  # faults waiting for their moment this step
        self.hold_submissions = False  # a rogue operator keeps the node's roots for itself
        self.delayed: list[tuple[int, Action]] = []  # (due step, root-chain action)
        self.honest: dict[bytes, Any] = {}  # the honest users by address (set by the cast)
        self.malicious: dict[bytes, Any] = {}
        self.traders: dict[bytes, Any] = {}  # the honest DEX traders by address (`traders.py`)
        self.rogue: str | None = None  # what a rogue operator did, once it did
        self.processed: list[Any] = []  # receipts of processExits: the only calls that make the vaults pay
        self.verified = Replay(GENESIS_STATE, 0, GENESIS_HASH)  # the log as last replayed and verified
        self.restarts = 0
        self.settling = False  # the run's last phase: no faults, no new business, exits finish
        self.on_crash: Callable[[Crash], None] = lambda crash: self.restart()  # the fault plan's, once it runs
        self.node: FaultyNode
        self.operator: Operator
        self.open_node()
        self._genesis()

    # --- setup ------------------------------------------------------------------------

    def fork(self) -> random.Random:
        """A generator of its own for one part of the world, seeded from the world's."""
        return random.Random(self.rng.getrandbits(64))

    def _erc20(self) -> Any:
        """The OMG token: an ERC20 with its exit queue (validators stake it, users pay with it)."""
        omg = contracts.deploy(self.w3, "TestERC20", "OMG Network (simulated)", "OMG", sender=self.root.authority)
        chain.send(self.w3, self.root.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, omg.address),
                   self.root.authority)
        return omg

    def _genesis(self) -> None:
        tokens = {"eth": ETH, "omg": self.omg}
        tx_types = (1, 4) if self.config.dex else (1,)  # an ORDER pays the payment's fee (DEX.md)
        fees = tuple(FeeRule(tx_type, tokens[name], amount) for tx_type in tx_types for name, amount in self.config.fees)
        # staking as adapters/simulation.py's run opens it: 5% double-sign slash, 10% of it to the reporter,
        # downtime judged over 4 commits (half must be signed), 1% downtime slash
        staking = StakingOpened(self.omg, self.config.validators, 2, 500, 1000, 4, 4, 5000, 100, 100)
        outcomes = self.node.submit([Genesis(self.deployment.verifying_contract, fees), staking])
        assert all(o.accepted for o in outcomes), outcomes

    def fund(self, account: Account, omg: int) -> None:
        """Make `account` a root-chain account eth-tester signs for, with ETH and `omg` OMG."""
        if account.checksum not in self.w3.eth.accounts:
            self.chain.add_account(account.key)
            chain.fund(self.w3, [account.checksum], 1_000 * ETHER)
        chain.send(self.w3, self.omg_contract.functions.mint(account.checksum, omg), account.checksum)

    # --- the node's process -------------------------------------------------------------

    def open_node(self) -> None:
        """Start the node from its store (snapshot, then the log after it) and its operator."""
        store = EventStore(self.db)
        try:
            self.node = FaultyNode(self, store, hook=InvariantHook(full_every=self.config.full_check_every),
                                   snapshot_every=self.config.snapshot_every)
        except BaseException:
            store.close()
            raise
        self.operator = Operator(self.node, self.w3, self.root, self.deployment.block, self.config.confirmations,
                                 challenger=self.watcher_account.checksum)

    def kill(self) -> None:
        """The node's process dies: its SQLite connection goes with it (committed data stays)."""
        self.node.store.close()

    def restart(self) -> None:
        self.kill()
        self.open_node()
        self.restarts += 1

    def take_write_fault(self) -> str | None:
        """The write fault armed for this write, if any (each lets its `skip_writes` pass first)."""
        for fault in ("ack_lost", "torn_write"):
            if (record := self.armed.get(fault)) is not None:
                if record.skip_writes:
                    record.skip_writes -= 1
                    continue
                del self.armed[fault]
                return fault
        return None

    def recovery_problem(self) -> str | None:
        """Why the running node is not what a full replay of its store gives, or None: replayed
        with every invariant checked, equal state, no acknowledged event lost. The replay goes on
        from the last one verified (the prefix a fault may change is restored before this runs)."""
        hook = InvariantHook(full_every=self.config.full_check_every)
        start = self.verified
        result = replay(self.node.store, start=Replay(start.state, start.count, start.head_hash), hook=hook)
        if result.failure is not None:
            f = result.failure
            return f"replay of the store fails at event {f.index} ({f.kind}): {f.code}: {f.detail}"
        if result.count and (violation := hook.finish(result.count - 1, result.state)):
            return f"final state violates {violation.invariant}: {violation.detail}"
        if result.state != self.node.state:
            return "the restored state differs from a full replay of the store"
        self.verified = result
        return self.lost_acknowledged()

    def lost_acknowledged(self) -> str | None:
        stored = {r.index: r.hash for r in self.node.store.read()}
        lost = sorted(i for i, h in self.acked.items() if stored.get(i) != h)
        return f"acknowledged events lost or changed: {lost[:10]}" if lost else None

    # --- steps and actions ------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.node.state

    @property
    def alarmed(self) -> bool:
        return bool(self.alarms)

    def note(self, line: str) -> None:
        self.trace.append(f"[{self.step}] {line}")

    def fail(self, what: str) -> None:
        self.failures.append(f"step {self.step}: {what}")
        self.note(f"FAILED {what}")

    def perform(self, action: Action) -> None:
        """Run an action: a crash inside it restarts the node; a reverted root-chain call is noted."""
        if action.root and not self._sent_now(action):
            return
        self.chain.mark()  # a reorganisation may come back to here, dropping what this action sends
        try:
            action.run(self)
            if action.root:
                self.note(f"{action.actor} {action.what}: sent")
        except Crash as crash:
            self.note(f"{action.actor} {action.what}: node died ({crash})")
            self.on_crash(crash)
        except ChainError as exc:
            self.note(f"{action.actor} {action.what}: reverted: {exc.detail[:120]}")

    def _sent_now(self, action: Action) -> bool:
        """The flaky root chain: an armed drop loses the transaction, an armed delay sends it later."""
        if (dropped := self.armed.pop("root_tx_dropped", None)) is not None:
            dropped.detail, dropped.verdict = f"{action.actor} {action.what}: never sent", "pending"
            self.note(f"root chain dropped {action.actor} {action.what}")
            return False
        if (delayed := self.armed.pop("root_tx_delayed", None)) is not None:
            delayed.detail = f"{action.actor} {action.what}: sent {delayed.delay_steps} steps late"
            delayed.verdict = "pending"
            self.delayed.append((self.step + delayed.delay_steps, action))
            self.note(f"root chain delays {action.actor} {action.what} by {delayed.delay_steps} steps")
            return False
        return True

    def send_delayed(self) -> None:
        """Root-chain transactions whose delay is over, in the order they were sent."""
        due = [action for at, action in self.delayed if at <= self.step]
        self.delayed = [(at, action) for at, action in self.delayed if at > self.step]
        for action in due:
            self.perform(attrs.evolve(action, root=False))

    def operator_step(self, seal: bool) -> None:
        """The node's operator step (follow, seal, submit unless dropped or held, watch); what the
        watcher reports raises the users' alarms."""
        dropped = self.armed.pop("submission_dropped", None)
        if dropped is not None:
            dropped.detail, dropped.verdict = "the operator's block submissions of this step not sent", "pending"
        step = self.operator.step(seal=seal, submit=not (dropped is not None or self.hold_submissions))
        refused = [o for o in step.sealed if not o.accepted]
        if refused:
            self.fail(f"sealing refused: {refused[0].code}: {refused[0].detail}")
        self.observe(step.reports)

    def observe(self, reports: list[Report]) -> None:
        for report in reports:
            if report.exit_id is not None:
                key = (report.condition, report.exit_id)
                if report.challenged and not self.exit_reports.get(key):
                    self.note(f"watcher challenged: {report.condition}: {report.detail}")
                self.exit_reports[key] = self.exit_reports.get(key, False) or report.challenged
            if report.condition in ALARMS and report.condition not in self.alarms:
                self.alarms[report.condition] = self.step
                self.note(f"ALARM {report.condition}: {report.detail}")
            if report.condition in ("invalid_block", "block_withholding") and report.blknum is not None:
                self.bad_blknum = min(report.blknum, self.bad_blknum or report.blknum)

    def index(self) -> BlockIndex:
        """The watcher's fold of the log (blocks' leaves and spends), brought up to date."""
        index = self.operator.watcher.index
        index.follow(self.node.store)
        return index

    # --- what the log holds -------------------------------------------------------------

    def position_of(self, signed_tx: bytes) -> int | None:
        """Where the ledger holds this payment (its output 0), or None if the log does not have it."""
        unsigned = unsigned_bytes(signed_tx)
        state = self.state
        sealed = state.tx_positions.get(keccak256(unsigned))
        if sealed is not None:
            return sealed
        for txindex, leaf in enumerate(state.open_block_txs):
            if leaf == unsigned:
                return encode_utxo_pos(state.next_child_blknum, txindex, 0)
        return None

    def anchored(self, pos: int) -> bool:
        """The output's block is on the root chain as the log has it, confirmed, and before any
        bad block: a standard exit of it comes before a rogue operator's."""
        blknum = pos // BLOCK_OFFSET
        state = self.state
        if blknum % CHILD_BLOCK_INTERVAL:
            return blknum in state.blocks  # a deposit the follower applied: confirmed
        return (blknum <= state.submitted_blknum and blknum not in state.foreign_roots
                and (self.bad_blknum is None or blknum < self.bad_blknum))
