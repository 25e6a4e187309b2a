"""The rule for `state_checkpoint`: the log's commitment to the state a snapshot holds."""
from __future__ import annotations

from ledger.errors import Rejected
from ledger.events import StateCheckpoint
from ledger.plasma import params_of
from ledger.snapshot import state_hash
from ledger.state import Effects, State, advance


def apply_state_checkpoint(state: State, event: StateCheckpoint) -> State:
    """Accepted only if `event.state_hash` is the hash of the state it follows: so a snapshot
    whose bytes hash to it is the state every honest replay reaches there. O(state size)."""
    params_of(state)
    actual = state_hash(state)
    if event.state_hash != actual:
        raise Rejected("checkpoint_mismatch", f"the state here hashes to 0x{actual.hex()}")
    return advance(state, effects=Effects(kind=StateCheckpoint.KIND))
