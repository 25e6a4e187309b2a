"""Events a wallet reacts to, from polling its node (`status.get`'s byzantine events, as
elixir-omg's watcher reports them) and the root chain (the exit queues):

- `ChallengeDue`: an exit or a piggyback the node can show invalid, or a canonicity
  challenge to answer; the node's details say which (`utxo_pos`, `txbytes`, ...).
- `ChainAlert`: anything else the node reports: a withheld or invalid block (a wallet may
  want to exit), an exit it has no spend to challenge with, an in-flight exit to piggyback.
- `ExitProcessable`: an exit's time has passed; `RootChain.process_exits` pays it out.
- `PiggybackAvailable`: an in-flight exit of a transaction with inputs or outputs of the
  wallet's own addresses that nobody has piggybacked yet: without a piggyback they do not exit.
- `CompetitorAppeared`: an in-flight exit of a transaction touching the wallet's addresses has
  a competing spend of one of its inputs: it is not canonical, its outputs will not be paid
  (piggyback inputs instead), and the competitor's data challenges it on the root chain.

The last two come from the node's list of in-flight exits (`status.get`) and its
`in_flight_exit.get_data` and `get_competitor`, for the `addresses` the watcher is given.

And for the orders of those `addresses` (the node's `trade.all` and `order.all`):
- `OrderFilled`: one per fill of one of their orders (a batch's settlement), oldest first.
- `OrderExpired`: an order of theirs reached its expiry block unfilled (or partly filled)
  and is still in custody: its owner takes it back with a cancel (`wallet.orders.Trader.cancel`).

Each is reported once, on the first poll that sees it. `poll` is one round; `watch` polls
every `interval` seconds for ever.
"""
from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from proofs.payment import decode, decode_utxo_pos
from wallet.client import PAGE_LIMIT, NodeClient, NodeError, tohex, unhex
from wallet.orders import Order, Trade, trades
from wallet.rootchain import ETH, Competitor, RootChain, competitor, in_flight_data

CHALLENGES = frozenset({"invalid_exit", "noncanonical_ife", "invalid_ife_challenge", "invalid_piggyback"})


@dataclass(frozen=True, slots=True)
class ChallengeDue:
    kind: str  # one of CHALLENGES
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChainAlert:
    kind: str  # block_withholding, invalid_block, unchallenged_exit, piggyback_available, ...
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExitProcessable:
    exit_id: int
    token: bytes
    exitable_at: int


@dataclass(frozen=True, slots=True)
class PiggybackAvailable:
    """Piggyback these (`RootChain.piggyback_output` while the transaction is canonical,
    `piggyback_input` once a competitor appeared) or they are not paid out."""
    in_flight_tx: bytes  # unsigned
    inputs: tuple[int, ...]  # indices of the wallet's inputs nobody piggybacked
    outputs: tuple[int, ...]  # and of its outputs


@dataclass(frozen=True, slots=True)
class CompetitorAppeared:
    in_flight_tx: bytes  # unsigned
    competitor: Competitor  # `RootChain.challenge_not_canonical` takes it


@dataclass(frozen=True, slots=True)
class OrderFilled:
    trade: Trade  # the fill: its order id, sold, bought (gross), fee, the pair's price, block


@dataclass(frozen=True, slots=True)
class OrderExpired:
    order: Order  # its amount still open, at its utxo_pos


Event = ChallengeDue | ChainAlert | ExitProcessable | PiggybackAvailable | CompetitorAppeared | OrderFilled | OrderExpired


class Watcher:
    """Polls `node` and, when given, `root` for the exits in `tokens`; `exit_ids` limits
    `ExitProcessable` to those exits (a wallet's own), None reports every exit; `addresses`
    (the wallet's own) are those whose in-flight exits it reports."""

    def __init__(self, node: NodeClient, root: RootChain | None = None, tokens: Collection[bytes] = (ETH,),
                 exit_ids: Collection[int] | None = None, addresses: Collection[bytes] = ()) -> None:
        self.node, self.root, self.tokens, self.exit_ids = node, root, tuple(tokens), exit_ids
        self.addresses = frozenset(addresses)
        self._seen: set[Any] = set()

    def poll(self) -> list[Event]:
        status = self.node.call("status.get")
        events = [*self._byzantine(status), *self._processable(), *self._in_flight(status), *self._orders()]
        fresh = [e for e in events if _key(e) not in self._seen]
        self._seen.update(_key(e) for e in fresh)
        return fresh

    def watch(self, interval: float = 15.0) -> Iterator[Event]:
        while True:
            yield from self.poll()
            time.sleep(interval)

    def _byzantine(self, status: dict[str, Any]) -> list[Event]:
        return [(ChallengeDue if e["event"] in CHALLENGES else ChainAlert)(e["event"], e["details"])
                for e in status["byzantine_events"]]

    def _in_flight(self, status: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        for record in status["in_flight_exits"] if self.addresses else ():
            tx = unhex(record["txbytes"])
            inputs, outputs = self._own_inputs(tx), self._own_outputs(tx)
            if not inputs and not outputs:
                continue
            found = competitor(self.node, tx)
            if found is not None:
                events.append(CompetitorAppeared(tx, found))
            open_inputs = tuple(i for i in inputs if i not in record["piggybacked_inputs"])
            open_outputs = tuple(i for i in outputs if i not in record["piggybacked_outputs"])
            if open_inputs or open_outputs:
                events.append(PiggybackAvailable(tx, open_inputs, open_outputs))
        return events

    def _own_outputs(self, tx: bytes) -> tuple[int, ...]:
        return tuple(i for i, o in enumerate(decode(tx).outputs) if o.owner in self.addresses)

    def _own_inputs(self, tx: bytes) -> tuple[int, ...]:
        """The inputs whose outputs (in the transactions the node proves them in) are ours."""
        try:
            data = in_flight_data(self.node, tx)
        except NodeError as exc:  # an input the node never saw created: not one of ours it knows
            if exc.code.endswith("tx_for_input_not_found"):
                return ()
            raise
        owners = [decode(created).outputs[decode_utxo_pos(pos)[2]].owner
                  for created, pos in zip(data.input_txs, data.input_utxos_pos)]
        return tuple(i for i, owner in enumerate(owners) if owner in self.addresses)

    def _orders(self) -> list[Event]:
        events: list[Event] = []
        for address in sorted(self.addresses):
            events += [OrderFilled(t) for t in reversed(trades(self.node, address, limit=PAGE_LIMIT))]
            listed = self.node.call("order.all", {"address": tohex(address), "limit": PAGE_LIMIT})
            events += [OrderExpired(Order.parse(o)) for o in listed if o["status"] == "expired"]
        return events

    def _processable(self) -> list[Event]:
        if self.root is None:
            return []
        now = self.root.latest_timestamp()
        return [ExitProcessable(q.exit_id, q.token, q.exitable_at) for token in self.tokens
                for q in self.root.queued(token)
                if q.exitable_at < now and (self.exit_ids is None or q.exit_id in self.exit_ids)]


def _key(event: Event) -> Any:
    if isinstance(event, ExitProcessable):
        return ("exit", event.exit_id, event.token)
    if isinstance(event, PiggybackAvailable):
        return ("piggyback", event.in_flight_tx, event.inputs, event.outputs)
    if isinstance(event, CompetitorAppeared):
        return ("competitor", event.in_flight_tx)
    if isinstance(event, OrderFilled):
        return ("filled", event.trade.txhash, event.trade.order_id)
    if isinstance(event, OrderExpired):
        return ("expired", event.order.order_id)
    return (event.kind, repr(sorted(event.details.items())))
