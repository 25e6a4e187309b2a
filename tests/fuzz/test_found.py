"""Every crash the fuzz harnesses found is fixed: its reproducing input now runs through its
harness's contract (typed errors only, and the harness's own checks) without an exception."""
from __future__ import annotations

import pytest

from tests.fuzz.found import FOUND, Finding


@pytest.mark.parametrize("finding", FOUND, ids=[f.name for f in FOUND])
def test_what_the_fuzzers_found_stays_fixed(finding: Finding):
    finding.example()
