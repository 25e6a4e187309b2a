"""What every fuzz harness shares: the suite's short budget, the typed-error contract and
the mutations that turn valid encodings into nearly valid ones.

A harness module `tests/fuzz/test_fuzz_<target>.py` has one body, `check(...)`, that calls
its target and holds it to the contract: it returns or raises one of the target's typed
errors (each with a stable code), never anything else, and never hangs. Two drivers feed it:
- `TestOneInput(data)`, atheris' entry point (`python -m tests.fuzz.run <target>`), which turns
  the fuzzer's bytes into `check`'s arguments, coverage-guided;
- Hypothesis tests drawing those arguments from strategies that know the formats, with the
  small fixed budget of `SHORT` in the suite.
`seeds()` gives the valid inputs atheris' corpus starts from.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The suite's budget per Hypothesis test; `make fuzz` raises it with OMG_FUZZ_EXAMPLES.
SHORT = settings(
    max_examples=int(os.environ.get("OMG_FUZZ_EXAMPLES", "40")),
    deadline=None,  # a shared 2-core machine: hangs are atheris' -timeout's to catch, not a clock's here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def code_of(exc: Exception) -> str:
    """The stable code a typed error carries (`reason` of DecodeError, `code` of the others)."""
    code = getattr(exc, "reason", None) or getattr(exc, "code", None)
    assert isinstance(code, str) and code, f"{type(exc).__name__} without a stable code: {exc!r}"
    return code


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid encoding with one to three byte-level edits: flip, cut, insert or delete."""
    raw = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        edit = draw(st.sampled_from(("flip", "cut", "insert", "delete")))
        if edit == "flip" and at < len(raw):
            raw[at] ^= draw(st.integers(1, 255))
        elif edit == "cut":
            del raw[at:]
        elif edit == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[at : at + draw(st.integers(1, 4))]
    return bytes(raw)


def near(valid: st.SearchStrategy[bytes], max_size: int = 300) -> st.SearchStrategy[bytes]:
    """Valid encodings, mutated ones and arbitrary bytes."""
    return st.one_of(valid, mutated(valid), st.binary(max_size=max_size))



def chunks(data: bytes, count: int) -> list[bytes]:
    """`count` byte strings out of `data`, each but the last behind a 2-byte big-endian length
    (cut short where `data` ends; the last takes the rest): every input means something."""
    parts = []
    for _ in range(count - 1):
        size = int.from_bytes(data[:2], "big")
        parts.append(data[2 : 2 + size])
        data = data[2 + size :]
    return [*parts, data]


def framed(*parts: bytes) -> bytes:
    """The input `chunks` splits back into `parts`: seeds for atheris."""
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts[:-1]) + parts[-1]


def integer(raw: bytes) -> int:
    """A signed big-endian integer: negative and huge values are inputs too."""
    return int.from_bytes(raw, "big", signed=True)


def integer_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
