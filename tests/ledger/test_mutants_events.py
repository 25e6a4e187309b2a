"""The event codec, the log's hash chain and `fold`: edges that mutation testing found
unchecked (docs/mutation.md). Events are what the log stores, so decoding is strict: one
encoding per event."""
from __future__ import annotations

import importlib.util

import attrs
import pytest

from ledger import events
from ledger.events import ExitProcessed, FeeRule, Genesis, InFlightExitStarted
from ledger.history import record_hash
from ledger.state import GENESIS_STATE
from ledger.transition import apply, fold
from proofs import rlp
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from tests.conftest import ETH, VC


def _code(items: list) -> str:
    with pytest.raises(DecodeError) as info:
        events.decode(rlp.encode(items))
    return info.value.reason


def test_integers_in_events_are_minimal_and_at_most_32_bytes():
    assert events.decode(events.encode(ExitProcessed(2**256 - 1, True))) == ExitProcessed(2**256 - 1, True)
    for bad in (b"\x00\x07", b"\x01" * 33, [b"\x07"]):
        assert _code([b"exit_processed", bad, b"\x01"]) == "malformed_event"


def test_a_flag_is_0_or_1():
    assert events.decode(rlp.encode([b"exit_processed", b"\x07", b""])) == ExitProcessed(7, False)
    assert _code([b"exit_processed", b"\x07", b"\x02"]) == "malformed_event"


def test_fixed_width_fields_and_fee_rules_are_exact():
    good = Genesis(VC, (FeeRule(1, ETH, 2),))
    assert events.decode(events.encode(good)) == good
    assert _code([b"genesis", VC[:19], [[b"\x01", ETH, b"\x02"]]]) == "malformed_event"
    assert _code([b"genesis", VC, [[b"\x01", ETH]]]) == "malformed_event"
    assert _code([b"genesis", VC, [[b"\x01", ETH[:19], b"\x02"]]]) == "malformed_event"


def test_an_event_is_a_list_headed_by_a_known_ascii_kind():
    assert _code([]) == "malformed_event"
    assert _code([[b"genesis"]]) == "malformed_event"
    assert _code([b"\xffgenesis", VC, []]) == "unknown_event_kind"


def test_list_fields_round_trip_through_a_freshly_built_codec():
    """`events` builds its list codecs when the module runs; a second copy of the module,
    run inside this test, exercises those builders where a mutation tool can see them."""
    spec = importlib.util.spec_from_file_location(events.__name__, events.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    event = InFlightExitStarted(9, b"\xc0", (b"\x01\x02", b"\x03"), (5, 6))
    raw = events.encode(event)
    decoded = fresh.decode(raw)
    assert attrs.astuple(decoded, recurse=False) == attrs.astuple(event, recurse=False)
    assert fresh.encode(decoded) == raw
    with pytest.raises(DecodeError):
        fresh.decode(rlp.encode([b"in_flight_exit_started", b"\x09", b"\xc0", b"\x01", [b"\x05"]]))


def test_a_record_hash_is_the_documented_layout():
    prev, payload = b"\x05" * 32, b"event bytes"
    assert record_hash(prev, 7, payload) == keccak256(prev + (7).to_bytes(8, "big") + payload)


def test_fold_applies_each_event_in_turn():
    genesis, synced = Genesis(VC, ()), events.RootChainSynced(3, b"\x01" * 32)
    assert fold([genesis, synced]) == apply(apply(GENESIS_STATE, genesis), synced)
    assert fold([]) is GENESIS_STATE
