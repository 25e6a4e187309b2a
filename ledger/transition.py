"""`apply(state, event) -> State`: the one pure transition of the ledger.

No clock, no I/O, no randomness. The node accepts a command only by calling this,
and the auditor replays a log by folding it, so both reach the same verdicts.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger import plasma
from ledger.errors import Rejected
from ledger.events import BlockSealed, Deposit, Event, FeeCollected, Genesis, Payment
from ledger.state import GENESIS_STATE, State

RULES: dict[type, Callable] = {
    Genesis: plasma.apply_genesis,
    Deposit: plasma.apply_deposit,
    Payment: plasma.apply_payment,
    FeeCollected: plasma.apply_fee_collected,
    BlockSealed: plasma.apply_block_sealed,
}


def apply(state: State, event: Event) -> State:
    """The state after `event`; raises `Rejected` and leaves `state` untouched if it is invalid."""
    rule = RULES.get(type(event))
    if rule is None:
        raise Rejected("unknown_event_kind", type(event).__name__)
    return rule(state, event)


def fold(events: Iterable[Event], state: State = GENESIS_STATE) -> State:
    for event in events:
        state = apply(state, event)
    return state
