"""Known gaps: weaknesses the simulator found, each pending its fix, in one place.

A check that meets one records it (verdict `known_gap`, in the seed's fault table) instead of
failing the seed, and puts the run back on its feet where it must. When a fix lands, set its
entry to None: the same check then fails the seed, which is how the fix is tested.
"""
from __future__ import annotations

from adapters.simulator.world import Injected, World

KNOWN_GAPS: dict[str, str | None] = {
    # Fixed: a snapshot is used only when the log's state_checkpoint vouches for its bytes.
    "snapshot_unverified": None,
    # Fixed: each record names its batch (ordinal and size); a store drops a torn tail batch whole.
    "torn_batch_split": None,
    # Fixed: the follower turns the vaults' WithdrawFailed and WithdrawClaimed into payout_failed and
    # payout_claimed, and a vault owes deposited - exited - unbacked + unclaimed.
    "withdraw_failed_counted_paid": None,
    # Fixed: the watcher reconciles each challenge with the root chain's head and sends it again if dropped.
    "challenge_lost_to_reorg": None,
    # Fixed: a competitor in a block the root chain holds another root for is shown not included (position 0).
    "challenge_on_bad_block": None,
    # Fixed: a piggyback takes its output off the child chain from the open block too.
    "piggyback_before_seal": None,
    # Fixed: the ledger follows an in-flight exit of an ORDER transaction (it refused it with
    # unrecognized_transaction_type, and the follower stopped on a trader's exit of an order in a withheld block).
    "order_in_flight_exit_unfollowed": None,
}


def pending(name: str) -> bool:
    return KNOWN_GAPS[name] is not None


def known_gap(world: World, name: str, detail: str) -> bool:
    """Record `detail` as known gap `name` if it is still pending; False if its fix has landed."""
    if not pending(name):
        return False
    world.injected.append(Injected(world.step, name, detail, "known_gap"))
    world.note(f"KNOWN GAP {name}: {detail}")
    return True
