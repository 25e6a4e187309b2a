"""The runtime hook: runs the catalogue after applied events and names the first violation."""
from __future__ import annotations

import attrs

from ledger.events import Event
from ledger.state import State
from specs.catalogue import CATALOGUE, Invariant


@attrs.frozen
class Violation:
    invariant: str
    index: int
    detail: str


class InvariantHook:
    """Transition and cheap state checks every `every` events; full checks every `full_every`.

    `checked` counts, per invariant, how many times it was evaluated."""

    def __init__(self, every: int = 1, full_every: int = 0, catalogue: tuple[Invariant, ...] = CATALOGUE) -> None:
        assert every >= 1 and full_every >= 0
        self.every, self.full_every = every, full_every
        self.transition = [(i.id, i.check) for i in catalogue if i.scope == "transition"]
        self.state = [(i.id, i.check) for i in catalogue if i.scope == "state"]
        self.full = [(i.id, i.check) for i in catalogue if i.scope == "full"]
        self._runs = {"transition": 0, "state": 0, "full": 0}

    @property
    def checked(self) -> dict[str, int]:
        scopes = (("transition", self.transition), ("state", self.state), ("full", self.full))
        return {id_: self._runs[scope] for scope, checks in scopes for id_, _ in checks if self._runs[scope]}

    def __call__(self, index: int, before: State, event: Event, after: State) -> Violation | None:
        if index % self.every == 0:
            self._runs["transition"] += 1
            for id_, check in self.transition:
                if (detail := check(before, event, after)) is not None:
                    return Violation(id_, index, detail)
            if violation := self._check_state("state", index, after):
                return violation
        if self.full_every and (index + 1) % self.full_every == 0:
            return self._check_state("full", index, after)
        return None

    def finish(self, index: int, state: State) -> Violation | None:
        """Every state check on the final state (the last event's index)."""
        return self._check_state("state", index, state) or self._check_state("full", index, state)

    def _check_state(self, scope: str, index: int, state: State) -> Violation | None:
        self._runs[scope] += 1
        for id_, check in self.state if scope == "state" else self.full:
            if (detail := check(state)) is not None:
                return Violation(id_, index, detail)
        return None
