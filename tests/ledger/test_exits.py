"""Root-chain facts through the one `apply`: block submission, standard and in-flight exits,
with the whole catalogue checked after every event."""
from __future__ import annotations

from ledger import events
from ledger.errors import Rejected
from ledger.events import (
    BlockSubmitted,
    ExitChallenged,
    ExitProcessed,
    ExitStarted,
    InFlightExitChallenged,
    InFlightExitDeleted,
    InFlightExitFinalized,
    InFlightExitPiggybacked,
    InFlightExitResponded,
    InFlightExitStarted,
    InFlightExitWithdrawn,
    Payment,
    PayoutClaimed,
    PayoutFailed,
    PiggybackChallenged,
)
from ledger.state import InFlightExit, State
from ledger.transition import apply
from proofs.payment import decode, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, TOKEN, checked, out, rejected, seal, signed

D1, D2 = encode_utxo_pos(1, 0, 0), encode_utxo_pos(2, 0, 0)
DEPOSIT_TX = encode(deposit_tx(ADDRS[0], ETH, 100))








def transfer(funded: State) -> tuple[State, bytes]:
    """Key 0 pays 60 to key 2 and 40 back to itself in child block 1000, sealed."""
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    return seal(checked(funded, Payment(raw))), raw


def test_every_exit_event_round_trips_its_encoding():
    for event in (
        BlockSubmitted(1000, b"\x01" * 32),
        ExitStarted(7, D1, DEPOSIT_TX),
        ExitChallenged(7),
        ExitProcessed(7, True),
        InFlightExitStarted(9, b"\xc0", (DEPOSIT_TX,), (D1,)),
        InFlightExitPiggybacked(9, False, 0),
        InFlightExitChallenged(9, 0),
        InFlightExitResponded(9, encode_utxo_pos(1000, 0, 0)),
        PiggybackChallenged(9, True, 1),
        InFlightExitWithdrawn(9, True, 1),
        InFlightExitDeleted(9),
        InFlightExitFinalized(9),
        events.RootChainSynced(12, b"\x03" * 32),
        PayoutFailed(ADDRS[0], TOKEN, 5),
        PayoutClaimed(ADDRS[0], ETH, 5),
    ):
        assert events.decode(events.encode(event)) == event


def test_blocks_are_submitted_in_order_and_roots_never_sealed_here_are_kept_as_foreign(funded):
    sealed, _ = transfer(funded)
    root = sealed.blocks[1000].root
    assert rejected(sealed, BlockSubmitted(2000, root)) == "wrong_block_number"
    honest = checked(sealed, BlockSubmitted(1000, root))
    assert honest.submitted_blknum == 1000 and not honest.foreign_roots
    forged = checked(sealed, BlockSubmitted(1000, b"\x02" * 32))
    assert dict(forged.foreign_roots) == {1000: b"\x02" * 32}
    withheld = checked(funded, BlockSubmitted(1000, root))  # the log never sealed block 1000
    assert dict(withheld.foreign_roots) == {1000: root} and withheld.next_child_blknum == 1000
    after = checked(withheld, events.Deposit(1001, encode(deposit_tx(ADDRS[1], ETH, 5))))
    assert after.utxos[encode_utxo_pos(1001, 0, 0)] == out(1, 5)


def test_standard_exit_takes_the_output_off_the_child_chain_and_pays_it_once(funded):
    exiting = checked(funded, ExitStarted(7, D1, DEPOSIT_TX))
    assert D1 not in exiting.utxos and exiting.exiting[D1] == out(0, 100)
    assert exiting.unspent[ETH] == 0 and exiting.in_exit[ETH] == 100
    assert rejected(exiting, Payment(signed([D1], [out(2, 100)], [0]))) == "utxo_exiting"
    paid = checked(exiting, ExitProcessed(7, True))
    assert paid.exited[ETH] == 100 and paid.in_exit[ETH] == 0 and D1 in paid.spent
    assert paid.exits[7].status == "paid" and not paid.unbacked
    assert rejected(paid, ExitProcessed(7, True)) == "exit_not_pending"
    assert rejected(paid, ExitStarted(7, D1, DEPOSIT_TX)) == "exit_already_started"


def test_challenged_exit_is_omitted_and_its_output_stays_off_the_child_chain(funded):
    challenged = checked(funded, ExitStarted(7, D1, DEPOSIT_TX), ExitChallenged(7))
    assert rejected(challenged, ExitProcessed(7, True)) == "exit_not_pending"
    omitted = checked(challenged, ExitProcessed(7, False))
    assert omitted.exits[7].status == "omitted" and omitted.in_exit[ETH] == 100 and D1 in omitted.exiting
    assert rejected(omitted, ExitChallenged(7)) == "exit_not_pending"


def test_exit_of_a_spent_output_is_unbacked_and_paying_it_is_counted_apart(funded):
    sealed, _ = transfer(funded)
    invalid = checked(sealed, ExitStarted(7, D1, DEPOSIT_TX))
    assert invalid.exits[7].backed is False and invalid.utxos == sealed.utxos
    stolen = checked(invalid, ExitProcessed(7, True))
    assert stolen.unbacked[ETH] == 100 and stolen.exited.get(ETH, 0) == 0
    assert stolen.effects.unbacked == ((ETH, 100),)


def test_unknown_exits_and_bad_indexes_are_rejected(funded):
    assert rejected(funded, ExitChallenged(1)) == "exit_not_found"
    assert rejected(funded, InFlightExitPiggybacked(1, True, 0)) == "exit_not_found"
    assert rejected(funded, ExitStarted(7, D1 + 1, DEPOSIT_TX)) == "malformed_event"
    assert rejected(funded, ExitStarted(7, D1, b"\x01\x02")) == "malformed_transaction_rlp"
    assert rejected(funded, ExitStarted(7, 2**100, DEPOSIT_TX)) == "malformed_event"  # outside PosLib: was a ValueError


def in_flight(state: State, raw: bytes, exit_id: int = 9) -> State:
    tx = decode(raw)
    return checked(state, InFlightExitStarted(exit_id, encode_unsigned(tx), (DEPOSIT_TX,), tx.inputs))


def test_in_flight_exit_of_an_included_transaction_pays_its_piggybacked_output(funded):
    sealed, raw = transfer(funded)
    started = in_flight(sealed, raw)
    assert started.utxos == sealed.utxos  # its input was already spent by the included transaction
    out0 = encode_utxo_pos(1000, 0, 0)
    piggybacked = checked(started, InFlightExitPiggybacked(9, True, 0))
    assert piggybacked.exiting[out0] == out(2, 60) and out0 not in piggybacked.utxos
    assert rejected(piggybacked, InFlightExitPiggybacked(9, True, 0)) == "already_piggybacked"
    assert rejected(piggybacked, InFlightExitWithdrawn(9, True, 1)) == "not_piggybacked"
    paid = checked(piggybacked, InFlightExitWithdrawn(9, True, 0))
    assert paid.exited[ETH] == 60 and out0 in paid.spent and not paid.unbacked


def test_an_output_piggybacked_while_its_transaction_is_in_the_open_block_leaves_the_child_chain(funded):
    """Found by the simulator: the output was left spendable, and the root chain paid it too."""
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    pending = checked(funded, Payment(raw))  # in the open block 1000, not sealed
    out0 = encode_utxo_pos(1000, 0, 0)
    assert pending.utxos[out0] == out(2, 60)
    piggybacked = checked(in_flight(pending, raw), InFlightExitPiggybacked(9, True, 0))
    assert out0 not in piggybacked.utxos and piggybacked.exiting[out0] == out(2, 60)
    paid = checked(piggybacked, InFlightExitWithdrawn(9, True, 0))
    assert paid.exited[ETH] == 60 and not paid.unbacked
    spend = signed([out0], [out(3, 60)], [2])
    assert rejected(paid, Payment(spend)) in ("utxo_exiting", "utxo_already_spent", "utxo_not_found")


def test_in_flight_exit_of_a_withheld_transaction_pays_outputs_from_its_inputs(funded):
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])  # never included: the operator withholds it
    started = in_flight(funded, raw)
    assert started.exiting[D1] == out(0, 100) and started.in_exit[ETH] == 100
    both = checked(started, InFlightExitPiggybacked(9, True, 0), InFlightExitPiggybacked(9, True, 1))
    paid = checked(both, InFlightExitWithdrawn(9, True, 0), InFlightExitWithdrawn(9, True, 1))
    assert paid.exited[ETH] == 100 and paid.in_exit[ETH] == 0 and D1 in paid.spent
    assert not paid.unbacked and paid.exits[9].withdrawn == {(True, 0), (True, 1)}


def test_in_flight_outputs_paid_beyond_the_reserve_are_booked_unbacked(funded):
    """An unchallenged in-flight double spend: one input was already spent here, so its
    reserve holds only the other; the root chain pays the whole output anyway."""
    sealed, transfer_raw = transfer(funded)  # spends D1; 40 back to key 0 at 1000-0-1
    change = encode_utxo_pos(1000, 0, 1)
    double = decode(signed([D1, change], [out(2, 140)], [0, 0]))
    transfer_tx = encode_unsigned(decode(transfer_raw))
    started = checked(sealed, InFlightExitStarted(9, encode_unsigned(double), (DEPOSIT_TX, transfer_tx), (D1, change)))
    assert dict(started.exiting) == {change: out(0, 40)} and started.in_exit[ETH] == 40
    paid = checked(started, InFlightExitPiggybacked(9, True, 0), InFlightExitWithdrawn(9, True, 0))
    assert (paid.exited[ETH], paid.unbacked.get(ETH, 0), paid.in_exit[ETH]) == (40, 100, 0)
    assert dict(paid.exits[9].reserve) == {ETH: 0} and change in paid.spent and not paid.exiting


def test_non_canonical_exit_pays_piggybacked_inputs(funded):
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    started = in_flight(funded, raw)
    challenged = checked(started, InFlightExitChallenged(9, 0), InFlightExitPiggybacked(9, False, 0))
    assert challenged.exits[9].canonical is False
    paid = checked(challenged, InFlightExitWithdrawn(9, False, 0))
    assert paid.exited[ETH] == 100 and D1 in paid.spent
    assert checked(started, InFlightExitChallenged(9, 0), InFlightExitResponded(9, 1)).exits[9].canonical


def test_challenged_piggyback_cannot_be_paid(funded):
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    piggybacked = checked(in_flight(funded, raw), InFlightExitPiggybacked(9, False, 0))
    dropped = checked(piggybacked, PiggybackChallenged(9, False, 0))
    assert rejected(dropped, InFlightExitWithdrawn(9, False, 0)) == "not_piggybacked"
    assert rejected(dropped, PiggybackChallenged(9, False, 0)) == "not_piggybacked"


def test_an_ended_in_flight_exit_closes_and_the_same_transaction_restarts_under_its_id(funded):
    """The exit game derives the id from the transaction: once deleted, the same transaction
    exits again under the same id, a fresh instance; nothing it took off comes back."""
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    started = in_flight(funded, raw)
    assert rejected(started, InFlightExitStarted(9, started.exits[9].tx, (DEPOSIT_TX,), (D1,))) == "exit_already_started"
    deleted = checked(started, InFlightExitDeleted(9))
    assert deleted.exits[9].ended and deleted.exiting[D1] == out(0, 100) and deleted.in_exit[ETH] == 100
    for late in (InFlightExitPiggybacked(9, True, 0), InFlightExitChallenged(9, 0), InFlightExitDeleted(9), InFlightExitFinalized(9)):
        assert rejected(deleted, late) == "exit_ended"
    other = encode_unsigned(decode(signed([D1], [out(2, 100)], [0])))
    assert rejected(deleted, InFlightExitStarted(9, other, (DEPOSIT_TX,), (D1,))) == "exit_already_started"
    again = in_flight(deleted, raw)
    record = again.exits[9]
    assert (record.ended, record.restarts, record.canonical, record.piggybacked) == (False, 1, True, frozenset())
    assert again.exiting == deleted.exiting and again.in_exit == deleted.in_exit  # its input left once


def test_only_an_in_flight_exit_never_piggybacked_is_deleted(funded):
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    piggybacked = checked(in_flight(funded, raw), InFlightExitPiggybacked(9, True, 0))
    assert rejected(piggybacked, InFlightExitDeleted(9)) == "exit_piggybacked"
    assert rejected(funded, InFlightExitFinalized(9)) == "exit_not_found"
    assert rejected(checked(funded, ExitStarted(7, D1, DEPOSIT_TX)), InFlightExitDeleted(7)) == "exit_not_found"


def test_a_restarted_exit_pays_what_the_finalized_one_left_from_the_same_reserve(funded):
    """Instance 1 of a withheld transaction pays output 0 and ends; its inputs' value left over
    stays the id's, so instance 2 paying output 1 is backed, and no value appears or vanishes."""
    raw = signed([D1], [out(2, 60), out(0, 40)], [0])
    first = checked(in_flight(funded, raw), InFlightExitPiggybacked(9, True, 0), InFlightExitWithdrawn(9, True, 0))
    ended = checked(first, InFlightExitFinalized(9))
    assert dict(ended.exits[9].reserve) == {ETH: 40} and ended.in_exit[ETH] == 40
    second = checked(in_flight(ended, raw), InFlightExitPiggybacked(9, True, 1), InFlightExitWithdrawn(9, True, 1))
    assert second.exits[9].restarts == 1 and second.exited[ETH] == 100 and not second.unbacked
    assert second.in_exit[ETH] == 0 and dict(second.exits[9].reserve) == {ETH: 0}


def test_in_flight_exit_event_must_match_its_transaction(funded):
    tx = decode(signed([D1], [out(2, 100)], [0]))
    unsigned = encode_unsigned(tx)
    assert rejected(funded, InFlightExitStarted(9, unsigned, (DEPOSIT_TX,), (D2,))) == "malformed_event"
    assert rejected(funded, InFlightExitStarted(9, unsigned, (), (D1,))) == "malformed_event"
    assert rejected(funded, InFlightExitStarted(9, unsigned, (b"\xc0",), (D1,))) == "malformed_transaction"


def test_in_flight_exit_spending_an_input_twice_is_rejected_not_crashed_on(funded):
    """The exit game refuses it (PaymentStartInFlightExit.verifyNoInputSpentMoreThanOnce); a log carrying it is refused by code."""
    tx = decode(signed([D1, D1], [out(2, 100)], [0, 0]))
    event = InFlightExitStarted(9, encode_unsigned(tx), (DEPOSIT_TX, DEPOSIT_TX), (D1, D1))
    assert rejected(funded, event) == "duplicate_inputs"


def test_deposits_follow_the_root_chain_numbering_across_an_unsubmitted_seal(funded):
    """Block 1000 is sealed but not yet on the root chain, which still numbers deposits 3, 4..."""
    sealed, _ = transfer(funded)
    tx = encode(deposit_tx(ADDRS[1], ETH, 5))
    late = checked(sealed, events.Deposit(3, tx))
    assert late.utxos[encode_utxo_pos(3, 0, 0)] == out(1, 5) and late.next_deposit_blknum == 1001
    submitted = checked(sealed, BlockSubmitted(1000, sealed.blocks[1000].root))
    assert rejected(submitted, events.Deposit(3, tx)) == "wrong_block_number"
    assert checked(submitted, events.Deposit(1001, tx)).last_deposit_blknum == 1001
    assert rejected(late, events.Deposit(5, tx)) == "wrong_block_number"


def test_the_root_chain_cursor_only_moves_forward(funded):
    synced = checked(funded, events.RootChainSynced(12, b"\x03" * 32))
    assert synced.root_cursor == (12, b"\x03" * 32)
    assert rejected(synced, events.RootChainSynced(12, b"\x04" * 32)) == "root_facts_replayed"
    assert rejected(synced, events.RootChainSynced(3, b"\x04" * 32)) == "root_facts_replayed"


# --- random root-chain facts: the catalogue holds after every accepted one ---------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXIT_IDS = st.integers(1, 4)
SLOT = st.tuples(st.booleans(), st.integers(0, 2))


def _fact(draw_from: State, data: st.DataObject, txs: dict[int, bytes]) -> events.Event:
    """A root-chain fact about the ledger's own outputs and payments, valid or not."""
    positions = sorted({*draw_from.utxos.keys(), *draw_from.exiting.keys(), *draw_from.spent.keys()})
    kind = data.draw(st.sampled_from(["start", "challenge", "process", "ife", "piggyback", "canonicity",
                                      "block_piggyback", "withdraw", "end"]))
    exit_id = data.draw(EXIT_IDS)
    if kind == "start" and positions:
        pos = data.draw(st.sampled_from(positions))
        return ExitStarted(exit_id, pos, txs[pos])
    if kind == "challenge":
        return ExitChallenged(exit_id)
    if kind == "process":
        return ExitProcessed(exit_id, data.draw(st.booleans()))
    ended = [(i, r) for i, r in draw_from.exits.items() if isinstance(r, InFlightExit) and r.ended]
    if kind == "ife" and ended and data.draw(st.booleans()):  # the same transaction exits again
        exit_id, record = data.draw(st.sampled_from(ended))
        return InFlightExitStarted(exit_id, record.tx, tuple(txs[p] for p, _ in record.inputs), tuple(p for p, _ in record.inputs))
    if kind == "ife" and positions:
        inputs = data.draw(st.lists(st.sampled_from(positions), min_size=1, max_size=2, unique=True))
        outputs = [out(data.draw(st.integers(0, 3)), data.draw(st.integers(1, 120))) for _ in range(2)]
        tx = encode_unsigned(decode(signed(inputs, outputs, [0] * len(inputs))))
        return InFlightExitStarted(exit_id + 10, tx, tuple(txs[p] for p in inputs), tuple(inputs))
    if kind == "end":
        return InFlightExitDeleted(exit_id + 10) if data.draw(st.booleans()) else InFlightExitFinalized(exit_id + 10)
    is_output, index = data.draw(SLOT)
    if kind == "canonicity":
        return InFlightExitChallenged(exit_id + 10, 0) if data.draw(st.booleans()) else InFlightExitResponded(exit_id + 10, 0)
    cls = {"piggyback": InFlightExitPiggybacked, "block_piggyback": PiggybackChallenged}.get(kind, InFlightExitWithdrawn)
    return cls(exit_id + 10, is_output, index)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # immutable
@given(data=st.data())
def test_random_exit_facts_keep_every_invariant(funded, data):
    state, raw = transfer(funded)
    paid = encode_unsigned(decode(raw))
    txs = {D1: DEPOSIT_TX, D2: encode(deposit_tx(ADDRS[1], TOKEN, 50)),
           encode_utxo_pos(1000, 0, 0): paid, encode_utxo_pos(1000, 0, 1): paid}
    hook = InvariantHook(full_every=1)
    for _ in range(data.draw(st.integers(1, 12))):
        event = _fact(state, data, txs)
        try:
            after = apply(state, event)
        except Rejected:
            continue  # a refused fact leaves the state as it was: `apply` returns nothing
        violation = hook(0, state, event, after)
        assert violation is None, (event, violation)
        state = after


def test_a_refused_payout_is_owed_to_its_receiver_until_it_claims_all_of_it(funded):
    exit_tx = encode(deposit_tx(ADDRS[0], ETH, 100))
    paid = checked(funded, ExitStarted(7, D1, exit_tx), ExitProcessed(7, True))
    failed = checked(paid, PayoutFailed(ADDRS[0], ETH, 100), PayoutFailed(ADDRS[0], ETH, 1))
    assert dict(failed.unclaimed) == {(ADDRS[0], ETH): 101}
    assert failed.exited == paid.exited and failed.unbacked == paid.unbacked  # the exit is paid all the same
    assert rejected(failed, PayoutClaimed(ADDRS[0], ETH, 100)) == "claim_not_owed"  # a claim takes all
    assert rejected(failed, PayoutClaimed(ADDRS[1], ETH, 101)) == "claim_not_owed"
    assert rejected(failed, PayoutClaimed(ADDRS[0], TOKEN, 101)) == "claim_not_owed"
    claimed = checked(failed, PayoutClaimed(ADDRS[0], ETH, 101))
    assert not claimed.unclaimed
    assert rejected(claimed, PayoutClaimed(ADDRS[0], ETH, 101)) == "claim_not_owed"
    nothing = checked(claimed, PayoutFailed(ADDRS[0], ETH, 0))  # a zero payout that failed owes nothing
    assert not nothing.unclaimed and rejected(nothing, PayoutClaimed(ADDRS[0], ETH, 0)) == "claim_not_owed"
