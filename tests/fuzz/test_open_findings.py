"""Each open finding still reproduces, as the harnesses tolerate it: once one is fixed,
this fails and its entry in tests/fuzz/findings.py goes."""
from __future__ import annotations

import pytest

from tests.fuzz.findings import OPEN, Finding, matches


@pytest.mark.parametrize("finding", OPEN, ids=[f.name for f in OPEN])
def test_open_finding_still_reproduces(finding: Finding):
    with pytest.raises(Exception) as info:
        finding.example()
    assert matches(finding, info.value), f"{finding.name} no longer reproduces: remove it from tests/fuzz/findings.py"
