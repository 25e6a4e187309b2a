"""Events a wallet reacts to, from polling its node (`status.get`'s byzantine events, as
elixir-omg's watcher reports them) and the root chain (the exit queues):

- `ChallengeDue`: an exit or a piggyback the node can show invalid, or a canonicity
  challenge to answer; the node's details say which (`utxo_pos`, `txbytes`, ...).
- `ChainAlert`: anything else the node reports: a withheld or invalid block (a wallet may
  want to exit), an exit it has no spend to challenge with, an in-flight exit to piggyback.
- `ExitProcessable`: an exit's time has passed; `RootChain.process_exits` pays it out.

Each is reported once, on the first poll that sees it. `poll` is one round; `watch` polls
every `interval` seconds for ever.
"""
from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from wallet.client import NodeClient
from wallet.rootchain import ETH, RootChain

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


Event = ChallengeDue | ChainAlert | ExitProcessable


class Watcher:
    """Polls `node` and, when given, `root` for the exits in `tokens`; `exit_ids` limits
    `ExitProcessable` to those exits (a wallet's own), None reports every exit."""

    def __init__(self, node: NodeClient, root: RootChain | None = None, tokens: Collection[bytes] = (ETH,),
                 exit_ids: Collection[int] | None = None) -> None:
        self.node, self.root, self.tokens, self.exit_ids = node, root, tuple(tokens), exit_ids
        self._seen: set[Any] = set()

    def poll(self) -> list[Event]:
        events = [*self._byzantine(), *self._processable()]
        fresh = [e for e in events if _key(e) not in self._seen]
        self._seen.update(_key(e) for e in fresh)
        return fresh

    def watch(self, interval: float = 15.0) -> Iterator[Event]:
        while True:
            yield from self.poll()
            time.sleep(interval)

    def _byzantine(self) -> list[Event]:
        return [(ChallengeDue if e.event in CHALLENGES else ChainAlert)(e.event, e.details)
                for e in self.node.status().byzantine_events]

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
    return (event.kind, repr(sorted(event.details.items())))
