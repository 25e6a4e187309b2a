"""The actors of a simulated world. Each is `step(world, rng) -> list[Action]`, drawing only
from its own `rng`; `cast` makes the cast of a seed, in the order they act each step.

- `RogueOperator`: the operator's key turned byzantine once per run (in some seeds): it
  offers the node forged transactions, submits a root the log did not seal (a withheld block,
  or a wrong root for a block the node sealed) committing to a transaction that pays it the
  whole ETH vault, and starts the exit of that output.
- `Validators`: the proof-of-stake set of `adapters/simulation.py` (honest, offline,
  equivocating), bonding OMG deposited through the ERC20 vault and committing sealed blocks.
- `HonestUser`: deposits through the vaults, pays other honest users from outputs the root
  chain anchors, keeps its own wallet from the answers it gets (a payment whose answer was
  lost is resolved from the log or sent again), and when the watcher raises an alarm exits
  everything: standard exits of anchored outputs, in-flight exits with piggybacks for the rest.
- `MaliciousUser`: double spends, forged and high-s signatures, replays, malformed bytes,
  exits of its own spent outputs and in-flight exits of double spends (which the watcher
  must challenge), piggybacking their inputs too and then trying to delete them to restart
  under the same exit id; fake canonicity challenges of honest in-flight exits, naming an
  old spend by the input's owner of another output with the same index (the contracts must
  refuse both).
- `NodeOperator`: the honest node's operator step (follow, seal, submit, watch), and exit
  processing now and then, by the watcher's account.

Later layers add theirs beside these: the DEX's traders are in `traders.py` (`dex_cast`).
"""
from __future__ import annotations

import random

import attrs

from adapters.ethereum import chain, contracts
from adapters.ethereum.client import tx_type_of
from adapters.ethereum.contracts import PAYMENT_TX_TYPE
from adapters.simulation import Config as StakingConfig
from adapters.simulator.attacks import RootAttacker
from adapters.simulation import (
    ValidatorKeys,
    bond_event,
    commit_event,
    equivocation_event,
    equivocators,
    validator_keys,
)
from adapters.simulator.world import ETH, ETHER, Account, Action, Actor, World, tester_key
from ledger.blocks import BlockIndex
from ledger.events import Event, Payment
from ledger.staking import active_set
from ledger.state import CHILD_BLOCK_INTERVAL, InFlightExit, StandardExit
from proofs import merkle
from proofs.eip712 import SECP256K1_HALF_N
from proofs.fraud import DoubleSpendProof, Spend, output_at
from proofs.keccak import keccak256
from proofs.payment import (
    BLOCK_OFFSET,
    OUTPUT_TYPE_PAYMENT,
    TX_OFFSET,
    Output,
    PaymentTx,
    decode,
    deposit_tx,
    encode,
    encode_unsigned,
    encode_utxo_pos,
    unsigned_bytes,
)
from wallet.payments import fee_for, sign_payment

SECP256K1_N = 2 * SECP256K1_HALF_N + 1
PROCESS_EVERY = 10  # steps between exit processing during the run
RESEND_AFTER = 3  # steps past the confirmations before an action not yet in the ledger is tried again
DOUBLE_SPENT = frozenset({"utxo_already_spent", "utxo_exiting"})


# --- shared pieces ---------------------------------------------------------------------------


@attrs.define
class Deposits:
    """Deposits sent through a vault, until the ledger credits them (or a reorganisation dropped them)."""

    pending: list[tuple[int, bytes, Output, int]] = attrs.Factory(list)  # (blknum, tx, output, step sent)

    def send(self, world: World, account: Account, token: bytes, amount: int) -> None:
        blknum = world.client.deposit(account.checksum, token, amount)
        tx = deposit_tx(account.address, token, amount)
        self.pending.append((blknum, encode(tx), tx.outputs[0], world.step))

    def credited(self, world: World) -> list[tuple[int, Output]]:
        """Deposits the ledger now holds; a deposit still on the root chain but not credited
        long after its confirmations is a failure of the follower."""
        credited, waiting = [], []
        for blknum, tx, output, sent in self.pending:
            block = world.state.blocks.get(blknum)
            if block is not None:
                pos = encode_utxo_pos(blknum, 0, 0)
                if block.root == merkle.root([tx]) and pos not in dict(credited):
                    credited.append((pos, output))
                continue  # else a reorganisation dropped ours and another deposit took its number
            late = world.step - sent - world.config.confirmations
            if late > 1 and bytes(world.root.framework.functions.blocks(blknum).call()[0]) != merkle.root([tx]):
                continue  # dropped by a reorganisation: the vault kept nothing
            if late > 8:
                world.fail(f"deposit block {blknum} is confirmed on the root chain but the ledger never credited it")
                continue
            waiting.append((blknum, tx, output, sent))
        self.pending = waiting
        return credited

    def action(self, name: str, world: World, account: Account, token: bytes, amount: int) -> Action:
        return Action(name, f"deposit {amount} of {token_name(world, token)}",
                      lambda w: self.send(w, account, token, amount), root=True)


def token_name(world: World, token: bytes) -> str:
    return "ETH" if token == ETH else "OMG" if token == world.omg else "0x" + token.hex()


def sign(world: World, tx: PaymentTx, key: bytes) -> bytes:
    return sign_payment(tx, {pos: key for pos in tx.inputs}, world.deployment.verifying_contract)


def expect_rejected(world: World, actor: str, what: str, event: Event, codes: frozenset[str]) -> None:
    """Submit an attack: the node must refuse it with one of `codes` and store nothing."""
    count = world.node.store.count
    [outcome] = world.node.submit([event])
    if outcome.accepted or outcome.code not in codes:
        world.fail(f"{actor} {what}: expected {sorted(codes)}, got {outcome.code or 'accepted'} {outcome.detail}")
    elif world.node.store.count != count:
        world.fail(f"{actor} {what}: rejected ({outcome.code}) yet the store grew")
    else:
        world.note(f"{actor} {what}: refused, {outcome.code}")


def expect_accepted(world: World, actor: str, what: str, event: Event) -> bool:
    [outcome] = world.node.submit([event])
    if not outcome.accepted:
        world.fail(f"{actor} {what}: a valid event was refused: {outcome.code}: {outcome.detail}")
    return outcome.accepted


# --- the operator: honest node, and its key gone rogue ---------------------------------------


class NodeOperator:
    name = "operator"

    def step(self, world: World, rng: random.Random) -> list[Action]:
        seal = world.settling or rng.random() < world.config.seal_chance
        actions = [Action(self.name, "follow, seal, submit, watch", lambda w: w.operator_step(seal))]
        if world.step % PROCESS_EVERY == 0 and world.state.exits:
            actions.append(Action("watcher", "process exits", process_exits, root=True))
        return actions


def process_exits(world: World) -> None:
    """Anyone may process the exit queues: the watcher's account does, 25 exits a call, for as long as
    a queue shrinks (the receipts are kept: they say what the vaults paid)."""
    framework = world.root.framework.functions
    for vault_id, token in ((contracts.ETH_VAULT_ID, ETH), (contracts.ERC20_VAULT_ID, world.omg)):
        queued = framework.exitQueueSize(vault_id, chain.Web3.to_checksum_address(token)).call
        left, was = queued(), None
        while left and left != was:  # exits not yet exitable stay queued
            world.processed.append(world.client.process_exits(world.watcher_account.checksum, token, count=25))
            left, was = queued(), left


class RogueOperator:
    """The operator's own key, byzantine in a share of the seeds, striking once."""

    name = "rogue operator"

    def __init__(self, world: World, rng: random.Random, steps: int) -> None:
        self.byzantine = rng.random() < world.config.byzantine_chance
        self.strike = rng.randint(steps // 6, max(steps // 6, steps // 3))
        self.attack = rng.choice(("withhold", "wrong_root"))
        self.phase = "waiting"  # -> submitted (its root is on the chain) -> done (its exit started)
        self.blknum, self.forged = 0, b""
        self.account = world.operator_account

    def step(self, world: World, rng: random.Random) -> list[Action]:
        if not self.byzantine:
            return []
        if world.settling:
            world.hold_submissions = False
            return []
        actions = []
        if rng.random() < 0.05:
            actions += self.forge_payment(world, rng)
        if world.step < self.strike or self.phase == "done":
            return actions
        if self.phase == "waiting":
            if self.attack == "wrong_root":  # hold the node's root back until it has sealed the block
                world.hold_submissions = True
                if world.root.framework.functions.nextChildBlock().call() not in world.state.blocks:
                    return actions
            actions.append(Action(self.name, f"submit a root the log did not seal ({self.attack})", self.submit_root,
                                  root=True))
        else:
            actions.append(Action(self.name, "exit the whole ETH vault", self.exit_vault, root=True))
        return actions

    def forge_payment(self, world: World, rng: random.Random) -> list[Action]:
        """Offer the node a payment of an honest output to itself, signed with its own key."""
        honest = sorted((p, o) for p, o in world.state.utxos.items() if o.owner in world.honest)
        if not honest:
            return []
        pos, output = rng.choice(honest)
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, self.account.address, output.token, output.amount)])
        raw = sign(world, tx, self.account.key)
        return [Action(self.name, f"forged spend of {pos}", lambda w: expect_rejected(
            w, self.name, f"forged spend of {pos}", Payment(raw), frozenset({"unauthorized_spend"})))]

    def submit_root(self, world: World) -> None:
        framework = world.root.framework.functions
        blknum = framework.nextChildBlock().call()
        loot = world.client.vault_balance(ETH)
        self.forged = encode_unsigned(PaymentTx([encode_utxo_pos(1, 0, 0)],
                                                [Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH, loot)]))
        chain.send(world.w3, framework.submitBlock(merkle.root([self.forged])), world.root.authority)
        sealed = world.state.blocks.get(blknum)
        self.blknum, self.phase = blknum, "submitted"
        world.hold_submissions = False
        world.rogue = f"{'a wrong root for sealed' if sealed else 'a withheld'} block {blknum} paying it {loot} wei"
        world.note(f"{self.name}: submitted {world.rogue}")

    def exit_vault(self, world: World) -> None:
        framework, game = world.root.framework.functions, world.root.exit_game.functions
        if bytes(framework.blocks(self.blknum).call()[0]) != merkle.root([self.forged]):
            self.phase = "waiting"  # a reorganisation dropped its root: submit again
            return
        pos = encode_utxo_pos(self.blknum, 0, 0)
        call = game.startStandardExit((pos, self.forged, merkle.proof([self.forged], 0)))
        chain.send(world.w3, call, self.account.checksum, value=game.startStandardExitBondSize().call())
        self.phase = "done"
        world.note(f"{self.name}: started the exit of {pos}")


# --- validators ------------------------------------------------------------------------------


class Validators:
    """adapters/simulation.py's validators: one offline, one equivocating, the rest honest."""

    name = "validators"
    BOND = {"honest": 3_000 * ETHER, "equivocating": 3_000 * ETHER, "offline": 1_000 * ETHER}

    def __init__(self, world: World) -> None:
        config = StakingConfig(seed=world.seed, validators=world.config.validators, offline=1, equivocating=1)
        self.keys = validator_keys(config)
        self.accounts = {v.address: Account(v.name, v.key) for v in self.keys}
        self.deposits = {v.address: Deposits() for v in self.keys}
        for account in self.accounts.values():
            world.fund(account, omg=5_000 * ETHER)

    def step(self, world: World, rng: random.Random) -> list[Action]:
        actions = []
        for v in self.keys:
            self.deposits[v.address].credited(world)
            if v.address in world.state.staking.validators:
                continue
            if any(o.owner == v.address and o.token == world.omg for o in world.state.utxos.values()):
                actions.append(Action(self.name, f"{v.name} bonds", lambda w, v=v: self.bond(w, v)))
            elif not self.deposits[v.address].pending and not world.settling:
                actions.append(self.deposits[v.address].action(v.name, world, self.accounts[v.address], world.omg,
                                                               5_000 * ETHER))
        if self.next_commit(world) is not None:
            actions.append(Action(self.name, "commit sealed blocks", self.commit))
        return actions

    def bond(self, world: World, v: ValidatorKeys) -> None:
        expect_accepted(world, v.name, "bond", bond_event(world.state, v, self.BOND[v.behaviour], world.omg))

    def next_commit(self, world: World) -> int | None:
        staking = world.state.staking
        blknum = staking.last_committed + CHILD_BLOCK_INTERVAL
        return blknum if blknum in world.state.blocks and active_set(staking) else None

    def commit(self, world: World) -> None:
        """Commit every sealed block not yet committed; equivocators sign a forged root too, and are reported."""
        while (blknum := self.next_commit(world)) is not None:
            equivocating = equivocators(world.state, self.keys)
            [outcome] = world.node.submit([commit_event(world.state, self.keys, blknum)])
            if not outcome.accepted:
                if outcome.code != "insufficient_commit_stake":
                    world.fail(f"commit of block {blknum} refused: {outcome.code}: {outcome.detail}")
                world.note(f"validators: block {blknum} not committed: {outcome.code}")
                return
            for v in equivocating:
                if (v.address, blknum) not in world.state.staking.evidence:
                    expect_accepted(world, v.name, f"equivocation at {blknum}",
                                    equivocation_event(world.state, self.keys, v, blknum))


# --- users -----------------------------------------------------------------------------------


@attrs.frozen
class Held:
    output: Output
    tx: bytes | None = None  # the signed payment that created it; None for a deposit


class HonestUser:
    def __init__(self, world: World, account: Account) -> None:
        self.name, self.account = account.name, account
        self.wallet: dict[int, Held] = {}  # what it owns, as it learned from the answers it got
        self.deposits = Deposits()
        self.in_doubt: list[bytes] = []  # payments sent whose answer was lost
        self.asked: dict[tuple, int] = {}  # exit requests -> step sent
        self.exit_kind: dict[int, str] = {}
        world.fund(account, omg=100_000 * ETHER)

    def step(self, world: World, rng: random.Random) -> list[Action]:
        for pos, output in self.deposits.credited(world):
            self.wallet[pos] = Held(output)
        if self.in_doubt:
            return [Action(self.name, "resolve payments in doubt", self.resolve)]
        if world.alarmed:
            return self.exits(world)
        if world.settling:
            return []
        roll = rng.random()
        if roll < 0.02 or not (self.wallet or self.deposits.pending):
            token = rng.choice((ETH, world.omg))
            return [self.deposits.action(self.name, world, self.account, token, rng.randint(1, 50) * ETHER // 10)]
        if roll < 0.75:
            return self.pay(world, rng)
        if roll < 0.85:
            return self.merge(world, rng)
        return []

    def spendable(self, world: World, token: bytes) -> list[tuple[int, Output]]:
        """Outputs it holds that the ledger holds unspent and the root chain anchors: a payment
        from them can always be exited in flight, whatever happens to its own block."""
        state = world.state
        return [(pos, held.output) for pos, held in sorted(self.wallet.items())
                if held.output.token == token and state.utxos.get(pos) == held.output and world.anchored(pos)]

    def pay(self, world: World, rng: random.Random) -> list[Action]:
        token = rng.choice((ETH, world.omg))
        coins = sorted(self.spendable(world, token), key=lambda c: (-c[1].amount, c[0]))[:4]
        fee = fee_for(world.state, token)
        total = sum(o.amount for _, o in coins)
        payees = sorted(a for a in world.honest if a != self.account.address)
        if total <= fee or not payees:
            return []
        amount = rng.randint(1, total - fee)
        while len(coins) > 1 and total - coins[-1][1].amount >= amount + fee:
            total -= coins.pop()[1].amount
        payee = rng.choice(payees)
        outputs = [Output(OUTPUT_TYPE_PAYMENT, payee, token, amount)]
        if total > amount + fee:
            outputs.append(Output(OUTPUT_TYPE_PAYMENT, self.account.address, token, total - amount - fee))
        raw = sign(world, PaymentTx([pos for pos, _ in coins], outputs), self.account.key)
        what = f"pays {amount} {token_name(world, token)} to {world.honest[payee].name}"
        return [Action(self.name, what, lambda w: self.submit(w, raw, what))]

    def merge(self, world: World, rng: random.Random) -> list[Action]:
        """Merge its smallest outputs of a token into one (a merge pays no fee)."""
        token = rng.choice((ETH, world.omg))
        coins = sorted(self.spendable(world, token), key=lambda c: (c[1].amount, c[0]))[:4]
        if len(coins) < 3:
            return []
        output = Output(OUTPUT_TYPE_PAYMENT, self.account.address, token, sum(o.amount for _, o in coins))
        raw = sign(world, PaymentTx([pos for pos, _ in coins], [output]), self.account.key)
        return [Action(self.name, f"merges {len(coins)} outputs", lambda w: self.submit(w, raw, "merge"))]

    def submit(self, world: World, raw: bytes, what: str) -> None:
        self.in_doubt.append(raw)  # until an answer comes: a crash inside the submit loses it
        [outcome] = world.node.submit([Payment(raw)])
        self.in_doubt.remove(raw)
        if not outcome.accepted:
            world.fail(f"{self.name} {what}: honest payment refused: {outcome.code}: {outcome.detail}")
            return
        self.settle(world, raw, world.position_of(raw))

    def resolve(self, world: World) -> None:
        """A payment whose answer was lost is in the log (settled) or not (sent again, the same bytes)."""
        for raw in list(self.in_doubt):
            base = world.position_of(raw)
            if base is None:
                [outcome] = world.node.submit([Payment(raw)])
                if not outcome.accepted:
                    world.fail(f"{self.name}: a payment in doubt, not in the log, is refused: {outcome.code}")
                    self.in_doubt.remove(raw)
                    continue
                base = world.position_of(raw)
            world.note(f"{self.name}: payment in doubt is at {base}")
            self.in_doubt.remove(raw)
            self.settle(world, raw, base)

    def settle(self, world: World, raw: bytes, base: int | None) -> None:
        """The payment is in the log at `base`: its inputs leave the wallet, its outputs go to
        their owners' wallets (the payer hands the payee its receipt)."""
        assert base is not None, "an accepted payment is in the log"
        tx = decode(raw)
        for pos in tx.inputs:
            self.wallet.pop(pos, None)
        for oindex, output in enumerate(tx.outputs):
            if (owner := world.honest.get(output.owner)) is not None:
                owner.wallet[base + oindex] = Held(output, raw)

    def exits(self, world: World) -> list[Action]:
        """Exit everything: standard exits for anchored outputs, in-flight exits (and a piggyback
        on its output) for outputs of payments the root chain does not anchor."""
        state = world.state
        standard = {r.utxo_pos for r in state.exits.values() if isinstance(r, StandardExit)}
        in_flight = {r.tx_hash: r for r in state.exits.values() if isinstance(r, InFlightExit)}
        me, actions = self.account.checksum, []
        for pos, held in sorted(self.wallet.items()):
            kind = self.exit_kind.setdefault(pos, "standard" if world.anchored(pos) else "in_flight")
            if kind == "standard":
                if pos not in standard and self.ask(world, ("standard", pos)):
                    actions.append(Action(self.name, f"standard exit of {pos}", lambda w, pos=pos:
                                          w.client.start_standard_exit(me, pos, w.index()), root=True))
                continue
            unsigned = unsigned_bytes(held.tx)
            record = in_flight.get(keccak256(unsigned))
            if record is None:
                if self.ask(world, ("in_flight", unsigned)):
                    actions.append(Action(self.name, f"in-flight exit for {pos}", lambda w, raw=held.tx:
                                          w.client.start_in_flight_exit(me, raw, w.index()), root=True))
            elif (True, pos % TX_OFFSET) not in record.piggybacked | record.withdrawn and self.ask(world, ("pb", pos)):
                actions.append(Action(self.name, f"piggyback {pos}", lambda w, u=unsigned, i=pos % TX_OFFSET:
                                      w.client.piggyback(me, u, True, i), root=True))
        return actions

    def ask(self, world: World, key: tuple) -> bool:
        """Whether to send this request now: once, and again only if the ledger has not seen it
        well after its confirmations (it was dropped, reorganised away or reverted)."""
        last = self.asked.get(key)
        if last is not None and world.step - last <= world.config.confirmations + RESEND_AFTER:
            return False
        self.asked[key] = world.step
        return True


class MaliciousUser:
    ATTACKS = ("pay", "pay", "double_spend", "forge", "high_s", "replay", "malformed", "exit_spent", "exit_twin")
    EXITS = 2  # exits of spent outputs, and in-flight exits of double spends, per malicious user and run

    def __init__(self, world: World, account: Account) -> None:
        self.name, self.account = account.name, account
        self.deposits = Deposits()
        self.accepted: list[bytes] = []  # its own payments the node took
        self.exited: set[int] = set()
        self.twinned: set[bytes] = set()  # its payments whose double spend it exited in flight
        self.twin_exits: set[bytes] = set()  # the unsigned double spends it exited, not yet tried to delete
        self.twin_txs: dict[bytes, bytes] = {}  # unsigned double spend -> signed, until it is restarted once
        self.faked: set[int] = set()  # honest in-flight exits it challenged with a fake competitor

    def step(self, world: World, rng: random.Random) -> list[Action]:
        self.deposits.credited(world)
        if world.settling:
            return []
        # Attacks on the in-flight exit game, whenever there is an opening: they draw nothing from
        # `rng`, so the seed's other moves stay as they were.
        lurking = self.fake_competitor(world) + self.delete_twin(world) + self.restart_twin(world)
        mine = sorted((p, o) for p, o in world.state.utxos.items()
                      if o.owner == self.account.address and o.token == ETH and o.amount > 10**15)
        if not mine:
            deposit = [] if self.deposits.pending else [self.deposits.action(self.name, world, self.account, ETH, ETHER)]
            return lurking + deposit
        attack = rng.choice(self.ATTACKS)
        return lurking + getattr(self, attack)(world, rng, mine)

    def pay(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        pos, output = rng.choice(mine)
        fee = fee_for(world.state, ETH)
        half = (output.amount - fee) // 2
        to = rng.choice(sorted(world.malicious))
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, to, ETH, half),
                               Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH, output.amount - half - fee)])
        raw = sign(world, tx, self.account.key)

        def run(w: World) -> None:
            if expect_accepted(w, self.name, f"pays from {pos}", Payment(raw)):
                self.accepted.append(raw)
        return [Action(self.name, f"pays from {pos}", run)]

    def attack(self, what: str, event: Event, codes: frozenset[str]) -> list[Action]:
        return [Action(self.name, what, lambda w: expect_rejected(w, self.name, what, event, codes))]

    def double_spend(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        if not self.accepted:
            return self.pay(world, rng, mine)
        spent = decode(rng.choice(self.accepted)).inputs[0]
        tx = PaymentTx([spent], [Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH, 10**15)])
        return self.attack(f"double spend of {spent}", Payment(sign(world, tx, self.account.key)), DOUBLE_SPENT)

    def forge(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        honest = sorted((p, o) for p, o in world.state.utxos.items() if o.owner in world.honest)
        if not honest:
            return []
        pos, output = rng.choice(honest)
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, self.account.address, output.token, output.amount)])
        return self.attack(f"spend of {world.honest[output.owner].name}'s {pos} with its own key",
                           Payment(sign(world, tx, self.account.key)), frozenset({"unauthorized_spend"}))

    def high_s(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        """A valid signature's malleable twin (s -> n - s, v flipped): recovers the same signer."""
        pos, output = rng.choice(mine)
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH, output.amount - 10**12)])
        signature = decode(sign(world, tx, self.account.key)).signatures[0]
        s = int.from_bytes(signature[32:64], "big")
        twin = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
        return self.attack(f"high-s signature on {pos}", Payment(encode(tx.with_signatures((twin,)))),
                           frozenset({"signature_corrupt"}))

    def replay(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        if not self.accepted:
            return self.pay(world, rng, mine)
        return self.attack("replay of an accepted payment", Payment(rng.choice(self.accepted)), DOUBLE_SPENT)

    def malformed(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        pos, output = rng.choice(mine)
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH, output.amount - 10**12)])
        raw = sign(world, tx, self.account.key)
        cut = rng.randint(1, len(raw) - 1)
        return self.attack(f"payment cut to {cut} bytes", Payment(raw[:cut]), frozenset({"malformed_transaction_rlp"}))

    def exit_spent(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        """Exit an output it already spent, in an anchored block: the watcher must challenge it."""
        spent = sorted({pos for raw in self.accepted for pos in decode(raw).inputs
                        if pos not in self.exited and world.anchored(pos) and pos in world.state.spent})
        if not spent or len(self.exited) >= self.EXITS:
            return self.pay(world, rng, mine)
        pos = rng.choice(spent)
        self.exited.add(pos)
        me = self.account.checksum
        return [Action(self.name, f"exit of its spent output {pos}",
                       lambda w: w.client.start_standard_exit(me, pos, w.index()), root=True)]


    def exit_twin(self, world: World, rng: random.Random, mine: list[tuple[int, Output]]) -> list[Action]:
        """Sign a second spend of inputs it already spent (in an anchored block), exit it in flight and
        piggyback its input and (the first time) its output: the watcher must show it non-canonical
        and challenge the input piggyback, and the output is never paid."""
        spent = [raw for raw in self.accepted if raw not in self.twinned and world.position_of(raw) is not None
                 and all(world.anchored(pos) for pos in decode(raw).inputs)]
        if not spent or len(self.twinned) >= self.EXITS:
            return self.pay(world, rng, mine)
        chosen = rng.choice(spent)
        self.twinned.add(chosen)
        first = decode(chosen)
        twin = PaymentTx(first.inputs, [Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH,
                                               sum(o.amount for o in first.outputs))])
        raw, me = sign(world, twin, self.account.key), self.account.checksum

        on_output = len(self.twinned) == 1  # the second twin piggybacks only its input, then tries a delete

        def run(w: World) -> None:
            w.client.start_in_flight_exit(me, raw, w.index())
            if on_output:
                w.client.piggyback(me, unsigned_bytes(raw), True, 0)
            w.client.piggyback(me, unsigned_bytes(raw), False, 0)  # the watcher challenges it
            self.twin_exits.add(unsigned_bytes(raw))
            self.twin_txs[unsigned_bytes(raw)] = raw
        return [Action(self.name, f"in-flight exit of a double spend of {list(first.inputs)}", run, root=True)]

    def delete_twin(self, world: World) -> list[Action]:
        """Delete a twin's in-flight exit once its piggybacks were challenged away and its first
        phase is over, to restart it under the same id with the old queue entry due early: the
        exit game must refuse while that entry is queued."""
        game = world.root.exit_game.functions
        ready = []
        for unsigned in sorted(self.twin_exits):
            exit_id = game.getInFlightExitId(unsigned).call()
            [ife] = game.inFlightExits([exit_id]).call()
            started, exit_map = ife[1], ife[2]
            first_phase_over = world.w3.eth.get_block("latest").timestamp - started > world.config.exit_period_s // 2
            if started and exit_map == 0 and first_phase_over:
                ready.append((unsigned, exit_id))
        if not ready:
            return []
        unsigned, exit_id = ready[0]
        self.twin_exits.discard(unsigned)

        def run(w: World) -> None:
            try:
                chain.send(w.w3, game.deleteNonPiggybackedInFlightExit(exit_id), self.account.checksum)
            except chain.ChainError:
                w.note(f"{self.name}: delete of its queued in-flight exit {exit_id} refused")
                return
            w.fail(f"{self.name} deleted its in-flight exit {exit_id} while its queue entry stands")
        return [Action(self.name, f"delete of its in-flight exit {exit_id}", run)]

    def restart_twin(self, world: World) -> list[Action]:
        """Once the ledger saw a twin's in-flight exit end, start it again (the exit game gives it
        the same id) with both piggybacks: the follower must take the new instance in, and the
        watcher challenge it again, or its output or input is paid a second time."""
        for unsigned, raw in sorted(self.twin_txs.items()):
            exit_id = world.root.exit_game.functions.getInFlightExitId(unsigned).call()
            record = world.state.exits.get(exit_id)
            if isinstance(record, InFlightExit) and record.ended:
                del self.twin_txs[unsigned]
                me = self.account.checksum

                def run(w: World) -> None:
                    w.client.start_in_flight_exit(me, raw, w.index())
                    w.client.piggyback(me, unsigned, True, 0)
                    w.client.piggyback(me, unsigned, False, 0)
                return [Action(self.name, f"restart of its ended in-flight exit {exit_id}", run, root=True)]
        return []

    def fake_competitor(self, world: World) -> list[Action]:
        """Challenge an honest in-flight exit with a spend its input's owner signed of another
        output with the same index (a child-block output id does not say where it is)."""
        index = world.index()
        found = []
        for exit_id, record in sorted(world.state.exits.items()):
            if not isinstance(record, InFlightExit) or exit_id in self.faked or not record.canonical:
                continue
            for input_index, (pos, output) in enumerate(record.inputs):
                fake = fake_competitor_of(index, record, input_index, pos, output.owner)
                if fake is not None:
                    found.append((exit_id, fake))
                    break
        if not found:
            return []
        exit_id, proof = found[0]
        self.faked.add(exit_id)

        def run(w: World) -> None:
            try:
                w.client.challenge_not_canonical(self.account.checksum, proof, 0, b"")  # 0: not included
            except chain.ChainError:
                w.note(f"{self.name}: fake canonicity challenge of in-flight exit {exit_id} refused")
                return
            w.fail(f"{self.name}'s fake competitor made honest in-flight exit {exit_id} non-canonical")
        return [Action(self.name, f"fake canonicity challenge of in-flight exit {exit_id}", run)]


def fake_competitor_of(index: BlockIndex, record: InFlightExit, input_index: int, pos: int,
                       owner: bytes) -> DoubleSpendProof | None:
    """Input `input_index` of `record` (at `pos`, owned by `owner`) "spent" by a spend `owner`
    signed of another child-block output with the same output index, if the log holds one."""
    if is_deposit(pos) or pos // BLOCK_OFFSET not in index.blocks:
        return None  # a deposit's output id commits to its position
    input_tx = index.exit_data(pos)[0]
    for other, spent in sorted(index.spends.items()):
        same_index = other % TX_OFFSET == pos % TX_OFFSET
        if other == pos or not same_index or is_deposit(other) or other // BLOCK_OFFSET not in index.blocks:
            continue
        if unsigned_bytes(spent.signed_tx) == record.tx:
            continue
        created_by = index.exit_data(other)[0]
        if PAYMENT_TX_TYPE != tx_type_of(created_by) or PAYMENT_TX_TYPE != tx_type_of(spent.signed_tx):
            continue  # an order's or a settlement's output, or spent by an order: the fake is made of payments
        if output_at(created_by, other).owner != owner:
            continue
        first = Spend(record.tx, input_index, b"")  # the in-flight side: its witness is not part of the call
        return DoubleSpendProof(other, input_tx, first, Spend.of(spent.signed_tx, other))
    return None


def is_deposit(pos: int) -> bool:
    return pos // BLOCK_OFFSET % CHILD_BLOCK_INTERVAL != 0


def cast(world: World, steps: int) -> list[tuple[Actor, random.Random]]:
    """The actors of a seed with their generators, in the order they act each step: the rogue
    operator first (it races the node), the node's operator last (it seals what the others sent)."""
    honest = [HonestUser(world, Account(f"honest{i}", tester_key(2 + i))) for i in range(world.config.honest)]
    malicious = [MaliciousUser(world, Account(f"malicious{i}", tester_key(2 + world.config.honest + i)))
                 for i in range(world.config.malicious)]
    world.honest = {user.account.address: user for user in honest}
    world.malicious = {user.account.address: user for user in malicious}
    actors: list[Actor] = [RogueOperator(world, world.fork(), steps), Validators(world), *honest, *malicious,
                           NodeOperator()]
    forked = [(actor, world.fork()) for actor in actors]
    # the root-chain attacker forks last, so the others draw as they did before it joined; it acts
    # before the node's operator, which follows and watches what it sent
    account = Account("attacker", tester_key(2 + world.config.honest + world.config.malicious))
    attacker = RootAttacker(world, world.fork(), steps, account)
    return [*forked[:-1], (attacker, world.fork()), *dex_cast(world), forked[-1]]


def dex_cast(world: World) -> list[tuple[Actor, random.Random]]:
    """The DEX's actors (`traders.py`), forked after everyone else: two honest traders, a rogue
    one signing with the first trader's key, and the operator's key proposing wrong settlements."""
    if not world.config.dex:
        return []
    from adapters.simulator.traders import RogueTrader, Trader, WrongSettler  # it imports this module

    base = 2 + world.config.honest + world.config.malicious + 1
    traders = [Trader(Account(f"trader{i}", tester_key(base + i))) for i in range(2)]
    rogue = RogueTrader(Account("rogue trader", tester_key(base + 2)), traders[0].account)
    for actor in (*traders, rogue):
        world.fund(actor.account, omg=100 * ETHER)
    world.traders = {t.account.address: t for t in traders}
    return [(actor, world.fork()) for actor in (*traders, rogue, WrongSettler())]
