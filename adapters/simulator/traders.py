"""The DEX's actors (issue 13): honest traders, a malicious one, and the operator's key proposing
wrong settlements. Forked after the rest of the cast, so the other actors' draws stay as they were.

- `Trader` (honest): deposits ETH and OMG, places crossing orders on ETH/OMG from outputs the root
  chain anchors (a limit around 1:1 either way, amounts that differ, so fills are partial),
  cancels some (a payment of the order output back to itself), lets others expire and then spends
  them back; when the watcher raises an alarm (a withheld block with its orders open) it exits
  everything the ledger holds for it: standard exits of anchored outputs (order outputs by the
  ORDER exit game, proceeds by the SETTLEMENT game), in-flight exits of the orders and cancels it
  signed in blocks the root chain does not anchor, piggybacking their outputs.
- `RogueTrader`: a replayed order (the same signed bytes), a duplicate order (the same terms,
  funded anew), an order signed by another key, a cancel that pays someone else before expiry:
  each must be refused with its code and nothing stored.
- `WrongSettler`: the operator's key proposing the open batch's settlement altered: a fill
  worse than its limit, a unit skimmed from a payout, every fill at another price: `apply`
  recomputes the batch and refuses each (`wrong_settlement`), nothing stored; the node's own
  settlement then closes the block.
"""
from __future__ import annotations

import random

import attrs

from adapters.simulator.actors import RESEND_AFTER, Deposits, expect_rejected, sign
from adapters.ethereum.client import tx_type_of
from adapters.simulator.gaps import known_gap, pending
from adapters.simulator.world import ETH, ETHER, Account, Action, World
from ledger.dex import settlement_for
from ledger.events import BatchSettled, OrderPlaced, Payment
from ledger.state import CHILD_BLOCK_INTERVAL, InFlightExit, StandardExit
from proofs.keccak import keccak256
from proofs.order import (
    ORDER_TX_TYPE,
    OUTPUT_TYPE_ORDER,
    FillRecord,
    OrderTerms,
    SettlementTx,
    encode_settlement,
    order_tx,
    sign_order,
)
from proofs.payment import OUTPUT_TYPE_PAYMENT, TX_OFFSET, Output, PaymentTx, unsigned_bytes
from wallet.payments import fee_for

ORDER_FEE_TX_TYPE = 4  # the fee schedule's key for an ORDER (DEX.md: as a payment's, keyed by its type)


def order_fee(world: World, token: bytes) -> int:
    return world.state.params.fee_schedule.get((ORDER_FEE_TX_TYPE, token), 0)


def sign_placed(world: World, inputs: list[int], terms: OrderTerms, change: tuple[Output, ...], key: bytes) -> bytes:
    tx = order_tx(tuple(inputs), terms, change)
    return sign_order(tx, (key,) * len(inputs), world.deployment.verifying_contract)


def own_outputs(world: World, owner: bytes) -> list[tuple[int, Output]]:
    return sorted((p, o) for p, o in world.state.utxos.items() if o.owner == owner)


def funding(world: World, owner: bytes, token: bytes) -> tuple[int, Output] | None:
    """Its largest anchored payment output of `token` (an order from it can always be exited in flight)."""
    coins = [(p, o) for p, o in own_outputs(world, owner)
             if o.token == token and o.output_type == OUTPUT_TYPE_PAYMENT and world.anchored(p)]
    return max(coins, key=lambda c: (c[1].amount, c[0]), default=None)


def terms_for(world: World, owner: bytes, sell: bytes, amount: int, nonce: int, rng: random.Random) -> OrderTerms:
    """Sell `amount` of ETH or OMG for the other at a limit within 5% of 1:1 either way (orders
    cross), expiring 1 to 4 blocks after the open one."""
    buy = world.omg if sell == ETH else ETH
    limit = amount * rng.randint(95, 105) // 100
    expiry = (world.state.next_child_blknum // CHILD_BLOCK_INTERVAL + rng.randint(1, 4)) * CHILD_BLOCK_INTERVAL
    return OrderTerms(owner, sell, buy, amount, limit, expiry, nonce)


@attrs.define
class Trader:
    account: Account
    deposits: Deposits = attrs.Factory(Deposits)
    signed: dict[bytes, bytes] = attrs.Factory(dict)  # unsigned -> signed: what it placed or cancelled
    nonce: int = 0
    asked: dict[tuple, int] = attrs.Factory(dict)
    exited: dict[int, Output] = attrs.Factory(dict)  # outputs it exited (standard or piggybacked)

    @property
    def name(self) -> str:
        return self.account.name

    def step(self, world: World, rng: random.Random) -> list[Action]:
        self.deposits.credited(world)
        if world.alarmed:
            return self.exits(world)
        if world.settling:
            return []
        me = self.account.address
        if not any(o.output_type == OUTPUT_TYPE_PAYMENT for _, o in own_outputs(world, me)):
            if self.deposits.pending:
                return []
            return [self.deposits.action(self.name, world, self.account, token, 5 * ETHER) for token in (ETH, world.omg)]
        roll = rng.random()
        if roll < 0.5:
            return self.place(world, rng)
        if roll < 0.6:
            return self.cancel(world, rng)
        return self.reclaim(world)

    def place(self, world: World, rng: random.Random) -> list[Action]:
        sell = rng.choice((ETH, world.omg))
        coin = funding(world, self.account.address, sell)
        fee = order_fee(world, sell)
        if coin is None or coin[1].amount <= fee + ETHER // 100:
            return []
        pos, output = coin
        amount = rng.randint(ETHER // 100, min(ETHER, output.amount - fee))
        self.nonce += 1
        terms = terms_for(world, self.account.address, sell, amount, self.nonce, rng)
        change = output.amount - amount - fee
        rest = (Output(OUTPUT_TYPE_PAYMENT, self.account.address, sell, change),) if change else ()
        raw = sign_placed(world, [pos], terms, rest, self.account.key)
        what = f"order: sells {amount} of {'ETH' if sell == ETH else 'OMG'} for at least {terms.buy_amount}"
        return [Action(self.name, what, lambda w: self.submit(w, OrderPlaced(raw), raw, what))]

    def open_orders(self, world: World, expired: bool) -> list[tuple[int, Output]]:
        state = world.state
        return [(p, o) for p, o in own_outputs(world, self.account.address) if o.output_type == OUTPUT_TYPE_ORDER
                and (state.next_child_blknum >= state.orders[p].expiry) == expired and world.anchored(p)]

    def cancel(self, world: World, rng: random.Random) -> list[Action]:
        """Cancel an open order: its output back to itself, the payment's fee taken from it."""
        candidates = self.open_orders(world, expired=False)
        if not candidates:
            return []
        return self.spend_back(world, *rng.choice(candidates), "cancels its order at")

    def reclaim(self, world: World) -> list[Action]:
        """An order it let expire: from its expiry block on, it spends it freely (here, to itself)."""
        expired = self.open_orders(world, expired=True)
        return self.spend_back(world, *expired[0], "spends back its expired order at") if expired else []

    def spend_back(self, world: World, pos: int, output: Output, what: str) -> list[Action]:
        fee = fee_for(world.state, output.token)
        if output.amount <= fee:
            return []
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, self.account.address, output.token, output.amount - fee)])
        raw = sign(world, tx, self.account.key)
        return [Action(self.name, f"{what} {pos}", lambda w: self.submit(w, Payment(raw), raw, f"{what} {pos}"))]

    def submit(self, world: World, event: OrderPlaced | Payment, raw: bytes, what: str) -> None:
        [outcome] = world.node.submit([event])
        if not outcome.accepted:
            world.fail(f"{self.name} {what}: refused: {outcome.code}: {outcome.detail}")
            return
        world.note(f"{self.name} {what}: accepted")
        self.signed[unsigned_bytes(raw)] = raw

    # --- the operator withholds: everything out --------------------------------------------

    def exits(self, world: World) -> list[Action]:
        """Standard exits of its anchored outputs; for the others, an in-flight exit of the order or
        cancel it signed that made them, with a piggyback on the output."""
        state, me, actions = world.state, self.account.checksum, []
        standard = {r.utxo_pos for r in state.exits.values() if isinstance(r, StandardExit)}
        in_flight = {r.tx_hash: r for r in state.exits.values() if isinstance(r, InFlightExit)}
        for pos, output in own_outputs(world, self.account.address):
            if pos in self.exited:
                continue
            if world.anchored(pos):
                if pos not in standard and self.ask(world, ("standard", pos)):
                    actions.append(Action(self.name, f"standard exit of {pos}", self.standard_exit(pos, output), root=True))
                continue
            raw = next((r for r in self.signed.values() if world.position_of(r) == pos - pos % TX_OFFSET), None)
            if raw is None:
                continue  # a settlement's proceeds in a block the root chain lacks: its inputs exit instead
            unsigned = unsigned_bytes(raw)
            if tx_type_of(raw) == ORDER_TX_TYPE and self.gap_met(world, pos):
                continue
            record = in_flight.get(keccak256(unsigned))
            if record is None:
                if self.ask(world, ("in_flight", unsigned)):
                    actions.append(Action(self.name, f"in-flight exit for {pos}", lambda w, raw=raw:
                                          w.client.start_in_flight_exit(me, raw, w.index()), root=True))
            elif self.ask(world, ("pb", pos)):
                actions.append(Action(self.name, f"piggyback {pos}", self.piggyback(unsigned, pos, output), root=True))
        return actions

    def gap_met(self, world: World, pos: int) -> bool:
        """Whether the known gap keeps it from exiting its order at `pos` in flight (noted once an output)."""
        if not pending("order_in_flight_exit_unfollowed"):
            return False
        if ("gap", pos) not in self.asked:
            self.asked[("gap", pos)] = world.step
            known_gap(world, "order_in_flight_exit_unfollowed", f"{self.name}'s order output {pos} in a withheld block")
        return True

    def standard_exit(self, pos: int, output: Output):  # noqa: ANN201 - an Action's run
        def run(w: World) -> None:
            w.client.start_standard_exit(self.account.checksum, pos, w.index())
            self.exited[pos] = output
        return run

    def piggyback(self, unsigned: bytes, pos: int, output: Output):  # noqa: ANN201 - an Action's run
        def run(w: World) -> None:
            w.client.piggyback(self.account.checksum, unsigned, True, pos % TX_OFFSET)
            self.exited[pos] = output
        return run

    def ask(self, world: World, key: tuple) -> bool:
        last = self.asked.get(key)
        if last is not None and world.step - last <= world.config.confirmations + RESEND_AFTER:
            return False
        self.asked[key] = world.step
        return True


# --- the malicious ones ------------------------------------------------------------------------


@attrs.define
class RogueTrader:
    account: Account
    other: Account  # whose key it signs with, and whom its cancel pays
    deposits: Deposits = attrs.Factory(Deposits)
    placed: list[tuple[bytes, OrderTerms]] = attrs.Factory(list)  # its accepted orders
    nonce: int = 0

    @property
    def name(self) -> str:
        return self.account.name

    def step(self, world: World, rng: random.Random) -> list[Action]:
        self.deposits.credited(world)
        if world.settling or world.alarmed:
            return []
        me = self.account.address
        coin = funding(world, me, ETH)
        if coin is None or coin[1].amount < ETHER // 10:
            if self.deposits.pending:
                return []
            return [self.deposits.action(self.name, world, self.account, ETH, 2 * ETHER)]
        move = rng.choice(("place", "place", "replay", "duplicate", "wrong_key", "cancel_elsewhere"))
        return getattr(self, move)(world, rng, coin)

    def order(self, world: World, rng: random.Random, coin: tuple[int, Output], key: bytes) -> tuple[bytes, OrderTerms]:
        pos, output = coin
        fee = order_fee(world, ETH)
        amount = rng.randint(ETHER // 100, min(ETHER // 10, output.amount - fee))
        self.nonce += 1
        terms = terms_for(world, self.account.address, ETH, amount, self.nonce, rng)
        change = (Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH, output.amount - amount - fee),)
        return sign_placed(world, [pos], terms, change, key), terms

    def attack(self, what: str, event: object, codes: frozenset[str]) -> list[Action]:
        return [Action(self.name, what, lambda w: expect_rejected(w, self.name, what, event, codes))]

    def place(self, world: World, rng: random.Random, coin: tuple[int, Output]) -> list[Action]:
        raw, terms = self.order(world, rng, coin, self.account.key)

        def run(w: World) -> None:
            [outcome] = w.node.submit([OrderPlaced(raw)])
            if not outcome.accepted:
                w.fail(f"{self.name} order from {coin[0]}: a valid order was refused: {outcome.code}")
            else:
                self.placed.append((raw, terms))
        return [Action(self.name, f"order from {coin[0]}", run)]

    def replay(self, world: World, rng: random.Random, coin: tuple[int, Output]) -> list[Action]:
        """The same signed bytes again: its inputs are spent (or exiting)."""
        if not self.placed:
            return self.place(world, rng, coin)
        raw, _ = rng.choice(self.placed)
        return self.attack("replay of an accepted order", OrderPlaced(raw),
                           frozenset({"utxo_already_spent", "utxo_exiting"}))

    def duplicate(self, world: World, rng: random.Random, coin: tuple[int, Output]) -> list[Action]:
        """An accepted order's terms again (the same id), funded by another output."""
        if not self.placed:
            return self.place(world, rng, coin)
        _, terms = rng.choice(self.placed)
        pos, output = coin
        fee = order_fee(world, ETH)
        if output.amount < terms.sell_amount + fee or world.state.next_child_blknum >= terms.expiry:
            return []
        change = output.amount - terms.sell_amount - fee
        rest = (Output(OUTPUT_TYPE_PAYMENT, self.account.address, ETH, change),) if change else ()
        raw = sign_placed(world, [pos], terms, rest, self.account.key)
        return self.attack("duplicate of an accepted order", OrderPlaced(raw), frozenset({"duplicate_order"}))

    def wrong_key(self, world: World, rng: random.Random, coin: tuple[int, Output]) -> list[Action]:
        raw, _ = self.order(world, rng, coin, self.other.key)
        return self.attack(f"order from {coin[0]} signed by {self.other.name}'s key", OrderPlaced(raw),
                           frozenset({"unauthorized_spend"}))

    def cancel_elsewhere(self, world: World, rng: random.Random, coin: tuple[int, Output]) -> list[Action]:
        """A 'cancel' of its open order that pays someone else before expiry."""
        state = world.state
        open_ = [(p, o) for p, o in own_outputs(world, self.account.address)
                 if o.output_type == OUTPUT_TYPE_ORDER and state.next_child_blknum < state.orders[p].expiry]
        if not open_:
            return self.place(world, rng, coin)
        pos, output = rng.choice(open_)
        fee = fee_for(state, ETH)
        tx = PaymentTx([pos], [Output(OUTPUT_TYPE_PAYMENT, self.other.address, ETH, output.amount - fee)])
        return self.attack(f"cancel of its order {pos} paying {self.other.name}", Payment(sign(world, tx, self.account.key)),
                           frozenset({"order_output_restricted"}))


class WrongSettler:
    """The operator's key proposing the open batch's settlement altered, once per block at most."""

    name = "rogue settler"
    TAMPERS = ("below_limit", "skim", "other_price")

    def __init__(self) -> None:
        self.tried: set[int] = set()

    def step(self, world: World, rng: random.Random) -> list[Action]:
        state = world.state
        blknum = state.next_child_blknum
        if world.settling or blknum in self.tried or state.settled_blknum == blknum or state.params is None:
            return []
        honest = settlement_for(state)
        if honest is None:
            return []
        self.tried.add(blknum)
        how = rng.choice(self.TAMPERS)
        wrong = tamper(honest, how)
        what = f"settlement of block {blknum} altered ({how})"
        return [Action(self.name, what, lambda w: expect_rejected(w, self.name, what, BatchSettled(blknum, wrong),
                                                                   frozenset({"wrong_settlement"})))]


def tamper(tx: SettlementTx, how: str) -> bytes:
    """The settlement's bytes with its first fill changed: paid below its limit (one unit under
    what the limit asks, for the same sold amount), a unit skimmed from its payout (into the fee),
    or every fill at another price (bought + 1 each)."""
    records = list(tx.records)
    first = records[0]
    if how == "below_limit":
        at_limit = -(-first.sold * first.buy_amount // first.sell_amount)  # the least the limit accepts
        records[0] = first._replace(bought=at_limit - 1, fee=0)
    elif how == "skim":
        records[0] = first._replace(fee=first.fee + 1)
    else:
        records = [r._replace(bought=r.bought + 1) for r in records]
    outputs, at = list(tx.outputs), 0
    for record in records:  # each input's payout follows its record; a remainder output stays as it was
        outputs[at] = outputs[at]._replace(amount=record.bought - record.fee)
        at += 2 if at + 1 < len(outputs) and outputs[at + 1].output_type == OUTPUT_TYPE_ORDER else 1
    return encode_settlement(SettlementTx(tx.inputs, outputs, [FillRecord(*r) for r in records]))
