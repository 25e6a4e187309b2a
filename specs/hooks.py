"""The runtime hook: runs the catalogue after applied events and names the first violation."""
from __future__ import annotations

from collections import Counter

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
    """Transition and cheap state checks every `every` events; full checks every `full_every`."""

    def __init__(self, every: int = 1, full_every: int = 0, catalogue: tuple[Invariant, ...] = CATALOGUE) -> None:
        assert every >= 1 and full_every >= 0
        self.every, self.full_every = every, full_every
        self.transition = [i for i in catalogue if i.scope == "transition"]
        self.state = [i for i in catalogue if i.scope == "state"]
        self.full = [i for i in catalogue if i.scope == "full"]
        self.checked: Counter[str] = Counter()

    def __call__(self, index: int, before: State, event: Event, after: State) -> Violation | None:
        if index % self.every == 0:
            for invariant in self.transition:
                if violation := self._run(invariant, index, invariant.check(before, event, after)):
                    return violation
            if violation := self._check_state(self.state, index, after):
                return violation
        if self.full_every and (index + 1) % self.full_every == 0:
            return self._check_state(self.full, index, after)
        return None

    def finish(self, index: int, state: State) -> Violation | None:
        """Every state check on the final state (the last event's index)."""
        return self._check_state(self.state + self.full, index, state)

    def _check_state(self, invariants: list[Invariant], index: int, state: State) -> Violation | None:
        for invariant in invariants:
            if violation := self._run(invariant, index, invariant.check(state)):
                return violation
        return None

    def _run(self, invariant: Invariant, index: int, detail: str | None) -> Violation | None:
        self.checked[invariant.id] += 1
        return None if detail is None else Violation(invariant.id, index, detail)
