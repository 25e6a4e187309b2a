"""The property search: green on the real ledger, red on a broken one, and its model sound."""
from __future__ import annotations

import pytest

from ledger import events, transition
from ledger.errors import Rejected
from ledger.events import Deposit, Event, Genesis, Payment
from ledger.state import GENESIS_STATE, State
from proofs import eip712, merkle, payment
from proofs.errors import DecodeError
from specs import actors, search
from specs.commands import DepositIntent
from specs.model import Model
from specs.naive import naive_root


def test_search_finds_no_counterexample_and_reaches_every_event_kind() -> None:
    """The fixed seed: no disagreement, and every kind of event accepted at least once, and an
    in-flight exit restarted (so a change that stops the search reaching, say, a commit or an
    unjail shows up here)."""
    accepted: set[str] = set()

    def recording_apply(state: State, event: Event) -> State:
        after = transition.apply(state, event)
        accepted.add(event.KIND)
        if isinstance(event, events.InFlightExitStarted) and after.exits[event.exit_id].restarts:
            accepted.add("in_flight_exit_restarted")
        return after

    result = search.run_search(max_examples=300, seed=20_261_127, deadline_s=600, apply=recording_apply)
    assert result.ok, result.counterexample
    assert result.examples == 300
    assert accepted == {*events.EVENT_TYPES, "in_flight_exit_restarted"}  # an ended exit started again too


def test_several_seeds_run_in_turn_under_one_budget() -> None:
    results = search.run_seeds(max_examples=5, seeds=3, first_seed=41, deadline_s=600, steps=5)
    assert [r.seed for r in results] == [41, 42, 43] and all(r.ok and r.examples == 5 for r in results)
    spent = search.run_seeds(max_examples=5, seeds=3, first_seed=41, deadline_s=1e-9, steps=5)
    assert [r.seed for r in spent] == [41]  # the budget is gone after the first


def trusting_apply(state: State, event: Event) -> State:
    """`apply` with the owner check gone: every valid signature counts as the owner's."""
    if isinstance(event, Payment):
        event = Payment(resigned_by_owners(state, event.tx))
    return transition.apply(state, event)


def resigned_by_owners(state: State, raw: bytes) -> bytes:
    """`raw` with each valid signature replaced by the input owner's own signature."""
    try:
        tx = payment.decode(raw)
    except DecodeError:
        return raw
    digest = eip712.signing_hash(tx.unsigned(), actors.CONTRACT)
    signatures = list(tx.signatures)
    for i, (pos, signature) in enumerate(zip(tx.inputs, signatures)):
        output = state.utxos.get(pos)
        if output is not None and output.owner in actors.ADDRESSES and is_valid(digest, signature):
            signatures[i] = actors.sign(digest, actors.key_of(output.owner))
    return payment.encode(tx.with_signatures(tuple(signatures)))


def is_valid(digest: bytes, signature: bytes) -> bool:
    try:
        eip712.recover(digest, signature)
    except DecodeError:
        return False
    return True


def test_search_catches_a_missing_owner_check() -> None:
    """The model sees this bug first, on the first of several seeds (the seeds after it are not
    run); the catalogue, which recovers the signers from the event's own bytes, sees it too
    (tests/specs/test_catalogue.py)."""
    results = search.run_seeds(max_examples=300, seeds=3, first_seed=10, deadline_s=600, shrink_s=1, apply=trusting_apply)
    assert len(results) == 1 and not results[0].ok
    assert "ledger accepted; the model rejects" in results[0].counterexample


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 8, 13])
def test_naive_root_agrees_with_proofs_merkle(count: int) -> None:
    leaves = [bytes([i]) * (i + 1) for i in range(count)]
    assert naive_root(leaves) == merkle.root(leaves)


def test_a_signed_deposit_is_rejected() -> None:
    state = transition.apply(GENESIS_STATE, Genesis(actors.CONTRACT, ()))
    outputs = ((actors.ADDRESSES[0], actors.TOKENS[0], 5),)
    model = Model({})
    assert not model.step(DepositIntent(1, outputs, actors.unsigned_deposit(outputs), signed=True)).accept
    with pytest.raises(Rejected, match="not_a_deposit"):
        transition.apply(state, Deposit(1, actors.deposit_bytes(outputs, [actors.sign(bytes(32), 0)])))


def test_model_and_ledger_agree_when_deposit_blocks_run_out() -> None:
    """999 deposit blocks fit between two child blocks; the 1000th is refused (too long for the search)."""
    machine = search.LedgerMachine()
    machine.genesis(schedule=())
    for _ in range(999):
        machine.deposit(owner=0, token=actors.TOKENS[0], amount=1)
    assert machine.state.next_deposit_blknum == 1000
    machine.deposit(owner=0, token=actors.TOKENS[0], amount=1)  # submit asserts both refuse it
    assert len(machine.state.utxos) == 999
    machine.close_block(flaw="none", data=None)  # type: ignore[arg-type]
    machine.deposit(owner=1, token=actors.TOKENS[1], amount=2)
    assert machine.model.next_deposit() == 1002


def test_deeply_nested_bytes_are_rejected() -> None:
    state = transition.apply(GENESIS_STATE, Genesis(actors.CONTRACT, ()))
    with pytest.raises(Rejected):
        transition.apply(state, Payment(actors.nested_lists(1200)))
