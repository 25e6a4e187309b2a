"""Snapshot codec edges that mutation testing found unchecked (docs/mutation.md): a state
holding every kind of record (exits of both kinds, staking, votes, evidence, cursor,
foreign roots) round-trips, and malformed cursors and integers are refused cleanly."""
from __future__ import annotations

import importlib.util
from types import ModuleType

import attrs
import pytest

from ledger import events, snapshot
from ledger.events import (
    BlockSubmitted,
    Equivocation,
    ExitProcessed,
    ExitStarted,
    InFlightExitPiggybacked,
    InFlightExitStarted,
    InFlightExitWithdrawn,
)
from ledger.state import GENESIS_STATE, Effects, State
from ledger.staking import commit_message
from proofs import bls, rlp
from proofs.errors import DecodeError
from proofs.payment import decode, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from tests.conftest import ADDRS, ETH, checked, out, seal, signed
from tests.ledger.test_staking import BLS_KEYS, HEAD, commit, staked, vote  # noqa: F401 (staked is a fixture)
from tests.ledger.test_mutants_staking import _unbond


def fresh_codecs() -> ModuleType:
    """`ledger.snapshot` executed anew, under its own name but outside `sys.modules`.

    Its codec table (`record`, `map_of`, `set_of`, ...) is built once, when the module runs;
    checking a second table built from the same source against the imported one exercises
    those builders inside a test, where a mutation tool can see them (see docs/mutation.md)."""
    spec = importlib.util.spec_from_file_location(snapshot.__name__, snapshot.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _everything(staked: State) -> State:
    """A ledger with a vote, an unbonding, a commit, an equivocation, a foreign root, a
    root-chain cursor, a paid standard exit and an in-flight exit paid from its reserve."""
    state = checked(staked, vote(staked, 0, {ETH: 2}), _unbond(staked, 1, 20))
    state = seal(state)
    state = checked(state, commit(state, 1000, [0, 1, 2]), BlockSubmitted(1000, b"\x0f" * 32))
    separator = state.params.domain_separator
    roots = (b"\x0a" * 32, b"\x0b" * 32)
    sigs = [bls.sign(BLS_KEYS[2], commit_message(separator, 1000, r, HEAD)) for r in roots]
    state = checked(state, Equivocation(ADDRS[3], ADDRS[2], 1000, roots[0], HEAD, sigs[0], roots[1], HEAD, sigs[1]))
    state = checked(state, events.RootChainSynced(12, b"\x03" * 32))
    first, second = state.next_deposit_blknum, state.next_deposit_blknum + 1
    deposit_a, deposit_b = encode(deposit_tx(ADDRS[0], ETH, 100)), encode(deposit_tx(ADDRS[1], ETH, 30))
    state = checked(state, events.Deposit(first, deposit_a), events.Deposit(second, deposit_b))
    a, b = encode_utxo_pos(first, 0, 0), encode_utxo_pos(second, 0, 0)
    state = checked(state, ExitStarted(7, b, deposit_b), ExitProcessed(7, True))
    tx = decode(signed([a], [out(2, 60), out(0, 40)], [0]))  # withheld
    state = checked(state, InFlightExitStarted(9, encode_unsigned(tx), (deposit_a,), tx.inputs),
                    InFlightExitPiggybacked(9, True, 0), InFlightExitPiggybacked(9, True, 1),
                    InFlightExitWithdrawn(9, True, 0), InFlightExitWithdrawn(9, True, 1))
    return state


def test_a_state_with_every_kind_of_record_round_trips_through_a_freshly_built_codec(staked):
    state = _everything(staked)
    s = state.staking
    assert state.exits[9].inputs_consumed and state.exits[9].withdrawn and state.exits[7].status == "paid"
    assert s.evidence and s.unbonding and s.commits and state.foreign_roots and dict(s.validators[ADDRS[0]].fee_vote)
    fresh = fresh_codecs()
    raw = snapshot.encode_state(state)
    assert fresh.encode_state(state) == raw
    stored = attrs.evolve(state, effects=Effects())  # what a snapshot holds: effects are not state
    assert fresh.decode_state(raw) == stored == snapshot.decode_state(raw)
    assert fresh.state_hash(state) == snapshot.state_hash(state)
    assert len(state.exits[9].withdrawn) == 2  # a set of two: its members' canonical order counts
    # and the state before anything, with no params and no staking (the optional fields empty)
    assert fresh.encode_state(GENESIS_STATE) == snapshot.encode_state(GENESIS_STATE)
    assert fresh.decode_state(snapshot.encode_state(GENESIS_STATE)) == GENESIS_STATE


def test_an_exit_of_an_unknown_kind_is_refused_cleanly(staked):
    items = rlp.decode(snapshot.encode_state(_everything(staked)))
    exits = items[2][list(snapshot._STATE_FIELDS).index("exits")]
    for tag in (b"\x02", b"\x03"):  # two kinds exist: 0 and 1
        exits[0][1][0] = tag
        with pytest.raises(DecodeError) as info:
            snapshot.decode_state(rlp.encode(items))
        assert info.value.reason == "malformed_snapshot"


def _with_cursor(state: State, cursor: tuple[int, bytes]) -> bytes:
    return snapshot.encode_state(attrs.evolve(state, root_cursor=cursor))


def test_the_cursor_is_none_or_an_ethereum_block_and_its_32_byte_hash(staked):
    for cursor in ((0, b"\x01" * 32), (5, b"\x01" * 32), (-1, b"")):
        assert snapshot.decode_state(_with_cursor(staked, cursor)).root_cursor == cursor
    for cursor in ((5, b"\x01" * 31), (5, b""), (-1, b"\x01" * 32)):
        with pytest.raises(DecodeError) as info:
            snapshot.decode_state(_with_cursor(staked, cursor))
        assert info.value.reason == "malformed_snapshot"


def test_integers_are_at_most_32_bytes(staked):
    big = attrs.evolve(staked, event_count=2**256 - 1)
    assert snapshot.decode_state(snapshot.encode_state(big)).event_count == 2**256 - 1
    items = rlp.decode(snapshot.encode_state(staked))
    items[2][1] = b"\x01" * 33  # event_count (after params)
    with pytest.raises(DecodeError) as info:
        snapshot.decode_state(rlp.encode(items))
    assert info.value.reason == "malformed_snapshot"
