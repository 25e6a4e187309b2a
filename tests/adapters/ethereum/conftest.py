"""The root chain on an in-process EVM: one chain per test module, rolled back after each test.

Nothing here imports vyper or eth-tester at collection time.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def deployed() -> Any:
    from tests.adapters.ethereum.rootchain import new_chain

    return new_chain()


@pytest.fixture
def chain(deployed: Any) -> Iterator[Any]:
    """The module's chain as freshly deployed; whatever a test does is rolled back after it."""
    snapshot = deployed.tester.take_snapshot()
    yield deployed
    deployed.tester.revert_to_snapshot(snapshot)
