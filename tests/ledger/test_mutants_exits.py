"""Exit-game edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

from ledger.events import (
    ExitProcessed,
    ExitStarted,
    InFlightExitPiggybacked,
    InFlightExitStarted,
    InFlightExitWithdrawn,
    Payment,
)
from ledger.state import State
from proofs.payment import decode, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from tests.conftest import ADDRS, ETH, checked, out, rejected, seal, signed

D1 = encode_utxo_pos(1, 0, 0)
DEPOSIT_TX = encode(deposit_tx(ADDRS[0], ETH, 100))


def _in_flight(state: State, raw: bytes, exit_id: int = 9) -> State:
    tx = decode(raw)
    return checked(state, InFlightExitStarted(exit_id, encode_unsigned(tx), (DEPOSIT_TX,), tx.inputs))


def test_an_exit_of_a_held_output_is_backed_even_when_another_exit_took_it_off(funded):
    first = checked(funded, ExitStarted(7, D1, DEPOSIT_TX))
    assert first.exits[7].backed is True and first.effects.locked == ((D1, out(0, 100)),)
    second = checked(first, ExitStarted(8, D1, DEPOSIT_TX))  # the root chain allows it; the output is exiting
    assert second.exits[8].backed is True and second.effects.locked == () and second.in_exit[ETH] == 100


def test_a_paid_exit_records_the_event_that_spent_its_output(funded):
    exiting = checked(funded, ExitStarted(7, D1, DEPOSIT_TX))
    paid = checked(exiting, ExitProcessed(7, True))
    assert paid.spent[D1] == exiting.event_count


def test_an_in_flight_input_naming_a_missing_output_is_malformed(funded):
    raw = signed([D1 + 1], [out(2, 60)], [0])  # output 1 of a one-output deposit
    tx = decode(raw)
    event = InFlightExitStarted(9, encode_unsigned(tx), (DEPOSIT_TX,), tx.inputs)
    assert rejected(funded, event) == "malformed_event"


def test_an_in_flight_exit_keeps_its_transaction_and_locks_its_held_inputs(funded):
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    started = _in_flight(funded, raw)
    assert started.exits[9].tx == encode_unsigned(decode(raw))
    assert started.effects.locked == ((D1, out(0, 100)),)


def test_piggybacking_the_second_output_of_an_included_transaction_locks_that_output(funded):
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    sealed = seal(checked(funded, Payment(raw)))
    piggybacked = checked(_in_flight(sealed, raw), InFlightExitPiggybacked(9, True, 1))
    second = encode_utxo_pos(1000, 0, 1)
    assert dict(piggybacked.exiting) == {second: out(0, 40)} and piggybacked.effects.locked == ((second, out(0, 40)),)
    paid = checked(piggybacked, InFlightExitWithdrawn(9, True, 1))
    assert paid.exited[ETH] == 40 and second in paid.spent and not paid.unbacked


def test_a_withdrawn_output_cannot_be_withdrawn_again(funded):
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    both = checked(_in_flight(funded, raw), InFlightExitPiggybacked(9, True, 0), InFlightExitPiggybacked(9, True, 1))
    once = checked(both, InFlightExitWithdrawn(9, True, 0))
    assert (True, 0) not in once.exits[9].piggybacked and once.exits[9].inputs_consumed is True
    assert once.spent[D1] == both.event_count and once.effects.unbacked == ()
    assert rejected(once, InFlightExitWithdrawn(9, True, 0)) == "not_piggybacked"
    assert rejected(once, InFlightExitPiggybacked(9, True, 0)) == "already_piggybacked"


def test_outputs_of_an_unincluded_transaction_whose_inputs_the_ledger_does_not_hold_are_unbacked(funded):
    """Its input was spent elsewhere: nothing backs the payout, and none of it comes out of `in_exit`."""
    spent_elsewhere = checked(funded, Payment(signed([D1], [out(1, 100)], [0])))
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])  # a competing spend, never included
    started = _in_flight(spent_elsewhere, raw)
    assert not started.exits[9].reserve and started.in_exit.get(ETH, 0) == 0
    piggybacked = checked(started, InFlightExitPiggybacked(9, True, 0))
    paid = checked(piggybacked, InFlightExitWithdrawn(9, True, 0))
    assert paid.unbacked[ETH] == 60 and paid.exited.get(ETH, 0) == 0 and paid.in_exit.get(ETH, 0) == 0
    assert paid.effects.unbacked == ((ETH, 60),)
