"""Fuzz ledger events as read back from storage (ledger/events.py `decode`).

Contract: `decode` returns an event or raises DecodeError (`malformed_event`,
`unknown_event_kind`); an accepted record is the one canonical encoding of its event."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger import events
from proofs.errors import DecodeError
from tests.conftest import ADDRS, VC
from tests.fuzz.harness import SHORT, code_of, near

uints = st.one_of(st.integers(0, 2**16), st.integers(0, 2**64), st.integers(0, 2**256 - 1))
FIELDS = {
    id(events.UINT): uints,
    id(events.BYTES): st.binary(max_size=120),
    id(events.ADDRESS): st.binary(min_size=20, max_size=20),
    id(events.HASH): st.binary(min_size=32, max_size=32),
    id(events.FEE_RULES): st.lists(st.builds(events.FeeRule, uints, st.binary(min_size=20, max_size=20), uints), max_size=3).map(tuple),
    id(events.PAIR_FEES): st.lists(st.builds(events.PairFee, st.binary(min_size=20, max_size=20),
                                             st.binary(min_size=20, max_size=20), uints), max_size=3).map(tuple),
    id(events.UINTS): st.lists(uints, max_size=4).map(tuple),
    id(events.BYTES_LIST): st.lists(st.binary(max_size=60), max_size=4).map(tuple),
    id(events.FLAG): st.booleans(),
}


def of_kind(cls: type) -> st.SearchStrategy[events.Event]:
    """Any event of `cls`, every field drawn by its codec's shape."""
    return st.tuples(*(FIELDS[id(codec)] for codec in cls.SCHEMA)).map(lambda values: cls(*values))


any_event = st.one_of([of_kind(cls) for cls in events.EVENT_TYPES.values()])


def check(data: bytes) -> None:
    try:
        event = events.decode(data)
    except DecodeError as exc:
        assert code_of(exc) in ("malformed_event", "unknown_event_kind")
        return
    assert events.encode(event) == data, "accepted a non-canonical event encoding"


def TestOneInput(data: bytes) -> None:
    check(data)


def seeds() -> list[bytes]:
    return [
        events.encode(events.Genesis(VC, (events.FeeRule(1, ADDRS[0], 5),))),
        events.encode(events.InFlightExitStarted(3, b"tx", (b"a", b"bc"), (1, 2**70))),
        events.encode(events.ExitProcessed(9, True)),
        events.encode(events.StakingOpened(ADDRS[1], 1, 2, 3, 4, 5, 6, 7, 8, 9)),
    ]


@SHORT
@given(any_event)
def test_every_event_round_trips(event):
    assert events.decode(events.encode(event)) == event


@SHORT
@given(near(any_event.map(events.encode)))
def test_event_decoding_keeps_the_contract(data):
    check(data)
