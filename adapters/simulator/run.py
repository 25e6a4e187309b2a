"""Run seeds: the steps with faults, a settling phase, then the end-of-run verdict.

A step: the root chain marks its head (a reorganisation can go back to it), delayed
root-chain transactions land, the fault plan strikes, every actor acts, the root chain's
clock moves `step_s`, and the invariant catalogue must hold on the node's state. After the
last step faults stop: the node seals and submits what is open, alarmed users finish their
exits, the exit period passes twice, the queues are processed and followed. Then:

- the audit (`ledger.replay.audit`) of the surviving log passes and no acknowledged event is lost;
- each vault holds what the log says it owes (deposited - exited - unbacked + unclaimed);
- every honest user's funds are spendable on the child chain (no alarm: its wallet is exactly
  what the ledger holds for it, anchored, and a payment of it is accepted) or paid out by the
  vaults (after an alarm: to the wei, per token);
- only a rogue operator's exits are paid without the ledger's backing;
- a rogue operator's block raised an alarm;
- every injected fault was survived or detected where it must be.

A failing seed prints its one-line reproduction, `omg simulate --seed S --steps N`.
"""
from __future__ import annotations

import random
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import attrs
from web3.logs import DISCARD

from adapters.ethereum.audit import reconcile
from adapters.ethereum import chain
from adapters.simulator.actors import HonestUser, cast, process_exits, sign
from adapters.simulator.faults import FaultPlan
from adapters.simulator.gaps import known_gap
from adapters.simulator.traders import Trader
from adapters.simulator.world import ETH, Action, Actor, Config, Injected, World
from ledger.errors import Rejected
from ledger.events import Event, InFlightExitWithdrawn, Payment
from ledger.replay import audit
from ledger.state import InFlightExit, StandardExit, State
from ledger.transition import apply
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, unsigned_bytes
from specs.hooks import InvariantHook, Violation

SETTLE_STEPS = 16  # after the faults: confirmations several times over, for exits to start and be followed

Cast = list[tuple[Actor, random.Random]]


@attrs.frozen
class Result:
    seed: int
    steps: int
    events: int
    head_hash: str
    restarts: int
    injected: tuple[Injected, ...]
    failures: tuple[str, ...]
    alarms: tuple[str, ...]
    rogue: str | None
    trace: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def reproduction(self) -> str:
        return f"omg simulate --seed {self.seed} --steps {self.steps}"

    def faults(self) -> dict[str, dict[str, int]]:
        """Per fault, how many times each verdict."""
        table: dict[str, dict[str, int]] = {}
        for record in self.injected:
            verdicts = table.setdefault(record.fault, {})
            verdicts[record.verdict] = verdicts.get(record.verdict, 0) + 1
        return table

    def summary(self) -> str:
        faults = ", ".join(f"{name} {sum(v.values())}" for name, v in sorted(self.faults().items())) or "none"
        gaps = sum(1 for r in self.injected if r.verdict == "known_gap")
        verdict = "ok" if self.ok else "FAILED"
        return (f"seed {self.seed}: {verdict}; {self.events} events, head {self.head_hash[:18]}..., "
                f"{self.restarts} restarts; faults: {faults}" + (f" ({gaps} known gaps)" if gaps else "")
                + (f"; rogue operator: {self.rogue}" if self.rogue else "")
                + (f"; alarms: {', '.join(self.alarms)}" if self.alarms else ""))


def run_seed(seed: int, steps: int, config: Config = Config()) -> Result:
    with tempfile.TemporaryDirectory(prefix="omg-sim-") as home:
        world = World(seed, config, Path(home))
        try:
            actors = cast(world, steps)
            plan = FaultPlan(world, world.fork())
            for step in range(steps):
                run_step(world, actors, step, plan)
                if world.failures:
                    break
            if not world.failures:
                settle(world, actors)
                final_checks(world)
        except Exception as exc:  # noqa: BLE001 - anything an actor or the node raises fails the seed, reproducibly
            world.fail(f"{type(exc).__name__}: {exc}")
            world.trace += ["  " + line for line in traceback.format_exc().splitlines()[-12:]]
        finally:
            store = world.node.store
            count, head = store.count, store.head_hash
            store.close()
        judge_root_chain_faults(world)
        return Result(seed, steps, count, "0x" + head.hex(), world.restarts, tuple(world.injected),
                      tuple(world.failures), tuple(world.alarms), world.rogue, tuple(world.trace))


def run_step(world: World, actors: Cast, step: int, plan: FaultPlan | None) -> None:
    world.step = step
    world.chain.mark()
    world.send_delayed()
    if plan is not None:
        plan.before_step()
    for actor, rng in actors:
        for action in actor.step(world, rng):
            world.perform(action)
    if plan is not None:
        plan.end_step()
    chain.travel(world.w3, world.config.step_s)
    state = world.state
    if state.event_count and (violation := InvariantHook().finish(state.event_count - 1, state)):
        world.fail(f"invariant {violation.invariant} after the step: {violation.detail}")


def settle(world: World, actors: Cast) -> None:
    """No more faults or new business: what is open is sealed and submitted, exits start and
    are followed; then, if there are exits, the exit period passes twice and they are processed."""
    world.settling = True
    first = world.step + 1
    for step in range(first, first + SETTLE_STEPS):
        run_step(world, actors, step, None)
    if not world.state.exits:
        return
    chain.travel(world.w3, 2 * world.config.exit_period_s + 1)
    world.perform(Action("watcher", "process exits", process_exits))
    for step in range(first + SETTLE_STEPS, first + SETTLE_STEPS + world.config.confirmations + 2):
        run_step(world, actors, step, None)


def final_checks(world: World) -> None:
    hook = UnbackedPayouts(world.config.full_check_every)
    report = audit(world.node.store, hook)
    if report.failure is not None:
        f = report.failure
        world.fail(f"audit of the log fails at event {f.index} ({f.kind}): {f.code}: {f.detail}")
    if lost := world.lost_acknowledged():
        world.fail(lost)
    payouts, failed = vault_payouts(world)
    check_vaults(world, report, failed)
    for user in world.honest.values():
        check_honest_funds(world, user, payouts.get(user.account.address, {}))
    for trader in world.traders.values():
        check_trader_funds(world, trader, payouts.get(trader.account.address, {}))
    check_unbacked(world, hook)
    if world.rogue and not world.alarmed:
        world.fail(f"the rogue operator submitted {world.rogue} and no alarm was raised")


def check_vaults(world: World, report: object, failed: dict[bytes, int]) -> None:
    for token, balance in reconcile(report, world.client.vault_balance).items():
        gap = balance["vault"] - balance["owed"]
        if gap and gap == failed.get(bytes.fromhex(token[2:])) and known_gap(
                world, "withdraw_failed_counted_paid", f"vault {token} holds {gap} more than the log owes"):
            continue
        if gap:
            world.fail(f"vault {token} holds {balance['vault']}, the log says it owes {balance['owed']}")


def vault_payouts(world: World) -> tuple[dict[bytes, dict[bytes, int]], dict[bytes, int]]:
    """What the vaults paid, per receiver and token: the events of the exit processing still on
    the chain (a reorganisation may have dropped some), and whose payouts failed, per token."""
    paid: dict[bytes, dict[bytes, int]] = {}
    failed: dict[bytes, int] = {}
    for receipt in world.processed:
        if world.w3.eth.get_block(receipt.blockNumber).hash != receipt.blockHash:
            continue
        for name in ("EthWithdrawn", "Erc20Withdrawn"):
            vault = world.root.eth_vault if name == "EthWithdrawn" else world.root.erc20_vault
            for event in getattr(vault.events, name)().process_receipt(receipt, errors=DISCARD):
                token = bytes.fromhex(event.args.token[2:]) if "token" in event.args else ETH
                receiver = paid.setdefault(bytes.fromhex(event.args.receiver[2:]), {})
                receiver[token] = receiver.get(token, 0) + event.args.amount
        for event in world.root.eth_vault.events.WithdrawFailed().process_receipt(receipt, errors=DISCARD):
            failed[ETH] = failed.get(ETH, 0) + event.args.amount
    return paid, failed


def check_honest_funds(world: World, user: HonestUser, paid: dict[bytes, int]) -> None:
    owed: dict[bytes, int] = {}
    for held in user.wallet.values():
        owed[held.output.token] = owed.get(held.output.token, 0) + held.output.amount
    if user.in_doubt:
        world.fail(f"{user.name} still has {len(user.in_doubt)} payments in doubt")
    if world.alarmed:
        if paid != {t: a for t, a in owed.items() if a}:
            world.fail(f"{user.name} was owed {owed} and the vaults paid it {paid}")
        return
    state = world.state
    held = {pos: o for pos, o in state.utxos.items() if o.owner == user.account.address}
    mine = {pos: h.output for pos, h in user.wallet.items()}
    if held != mine or paid:
        world.fail(f"{user.name}: its wallet {sorted(mine)} but the ledger holds {sorted(held)} for it; paid {paid}")
        return
    stuck = sorted(pos for pos in mine if not world.anchored(pos))
    if stuck:
        world.fail(f"{user.name}: outputs {stuck} are not anchored on the root chain after settling")
    fees = state.params.fee_schedule
    for pos, output in sorted(mine.items(), key=lambda item: -item[1].amount)[:1]:
        change = output.amount - fees.get((1, output.token), 0)
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, user.account.address, output.token, change)])
        try:  # its largest output, paid to itself with the fee
            apply(state, Payment(sign(world, tx, user.account.key)))
        except Rejected as exc:
            world.fail(f"{user.name} cannot spend {pos}: {exc.code}")


def check_trader_funds(world: World, trader: Trader, paid: dict[bytes, int]) -> None:
    """After an alarm the vaults paid a trader exactly what it exited (orders, proceeds, change);
    without one it was paid nothing and everything the ledger holds for it is anchored."""
    if world.alarmed:
        owed: dict[bytes, int] = {}
        for output in trader.exited.values():
            owed[output.token] = owed.get(output.token, 0) + output.amount
        if paid != owed:
            world.fail(f"{trader.name} exited {owed} and the vaults paid it {paid}")
        return
    held = sorted(pos for pos, o in world.state.utxos.items() if o.owner == trader.account.address)
    if paid or any(not world.anchored(pos) for pos in held):
        world.fail(f"{trader.name}: paid {paid} without an alarm, or outputs {held} not all anchored")


class UnbackedPayouts(InvariantHook):
    """The audit's hook, also keeping each payout the ledger counts as unbacked: (event, token, amount)."""

    def __init__(self, full_every: int) -> None:
        super().__init__(full_every=full_every)
        self.payouts: list[tuple[Event, bytes, int]] = []

    def __call__(self, index: int, before: State, event: Event, after: State) -> Violation | None:
        self.payouts += [(event, token, amount) for token, amount in after.effects.unbacked]
        return super().__call__(index, before, event, after)


def check_unbacked(world: World, hook: UnbackedPayouts) -> None:
    """Every payout the ledger could not back is the rogue operator's, or a known gap."""
    state = world.state
    for event, token, amount in hook.payouts:
        record = state.exits[event.exit_id]
        what = f"{amount} of 0x{token.hex()} paid by exit {event.exit_id} without the ledger's backing"
        if isinstance(record, StandardExit) and record.output.owner == world.operator_account.address:
            continue  # the rogue operator's exit: paid from what the honest users left in the vault
        if isinstance(event, InFlightExitWithdrawn) and (pos := still_spendable(state, record, event)) is not None:
            if known_gap(world, "piggyback_before_seal", f"output {pos}: {what}; still spendable"):
                continue
        reported = {c: taken for (c, e), taken in world.exit_reports.items() if e == event.exit_id}
        if any(reported.values()) and known_gap(world, "challenge_lost_to_reorg", f"{what}; challenged: {reported}"):
            continue
        if reported.get("noncanonical_ife") is False and competitor_unanchored(world, record) and known_gap(
                world, "challenge_on_bad_block", f"{what}; its competitor is in a block the root chain does not anchor"):
            continue
        world.fail(f"{what}; the watcher reported {reported or 'nothing'}")


def competitor_unanchored(world: World, record: InFlightExit) -> bool:
    """A competitor of the in-flight transaction sits in a child block whose root on the root chain is not the log's."""
    spends = world.index().spends
    for pos, _ in record.inputs:
        spent = spends.get(pos)
        if spent is not None and spent.tx_pos and keccak256(unsigned_bytes(spent.signed_tx)) != record.tx_hash:
            if not world.anchored(spent.tx_pos):
                return True
    return False


def still_spendable(state: State, record: InFlightExit, event: InFlightExitWithdrawn) -> int | None:
    """Where the paid output still is unspent on the child chain, if it is."""
    tx_pos = state.tx_positions.get(record.tx_hash)
    if not event.is_output or tx_pos is None:
        return None
    pos = tx_pos + event.index
    return pos if state.utxos.get(pos) == record.outputs[event.index] else None


def judge_root_chain_faults(world: World) -> None:
    """Root-chain faults are survived if the run's end held."""
    for record in world.injected:
        if record.verdict == "pending":
            record.verdict = "survived" if not world.failures else "not_judged"


def run_batch(seed: int, steps: int, seeds: int, say: Callable[[str], None], verbose: bool = False,
              config: Config = Config()) -> int:
    """Run seeds `seed` .. `seed + seeds - 1`; print a line per seed and, for each failure, its
    reasons, its last trace lines and its reproduction. Returns the exit code."""
    failed: list[Result] = []
    totals: dict[str, dict[str, int]] = {}
    for current in range(seed, seed + seeds):
        result = run_seed(current, steps, config)
        say(result.summary())
        for name, verdicts in result.faults().items():
            for verdict, count in verdicts.items():
                totals.setdefault(name, {})[verdict] = totals.setdefault(name, {}).get(verdict, 0) + count
        if verbose or not result.ok:
            for line in result.trace if verbose else result.trace[-25:]:
                say(f"    {line}")
        if not result.ok:
            for reason in result.failures:
                say(f"  FAILED {reason}")
            say(f"  reproduce: {result.reproduction}")
            failed.append(result)
    say(f"{seeds} seeds x {steps} steps: {seeds - len(failed)} ok, {len(failed)} failed")
    for name, verdicts in sorted(totals.items()):
        say(f"  {name:18} " + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())))
    for result in failed:
        say(f"reproduce: {result.reproduction}")
    return 1 if failed else 0
