"""Fuzz snapshots read back from storage (`ledger.snapshot.decode_state`): a State or a
DecodeError, never anything else, and an accepted snapshot is the canonical encoding of its state."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger import events
from ledger.snapshot import decode_state, encode_state
from ledger.state import GENESIS_STATE
from ledger.transition import apply
from proofs.errors import DecodeError
from tests.fuzz.harness import SHORT, code_of, near
from tests.fuzz.test_fuzz_replay import VALID


def _states() -> list:
    state, found = GENESIS_STATE, [GENESIS_STATE]
    for _, payload in VALID:
        state = apply(state, events.decode(payload))
        found.append(state)
    return found


STATES = _states()


def check(data: bytes) -> None:
    try:
        state = decode_state(data)
    except DecodeError as exc:
        code_of(exc)
        return
    assert encode_state(state) == data, "accepted a non-canonical snapshot"


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check(data)


def seeds() -> list[bytes]:
    return [encode_state(s) for s in STATES]


@SHORT
@given(near(st.sampled_from(STATES).map(encode_state), max_size=600))
def test_snapshot_decoding_keeps_the_contract(data):
    check(data)
