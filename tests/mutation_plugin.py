"""pytest plugin for mutation testing (`make mutants`, loaded with `-p tests.mutation_plugin`).

tests/conftest.py derives its test addresses with `eip712.address_of` when it is imported,
and pytest reports any exception there as a usage error (exit code 4), hiding what was
raised. mutmut's sanity check, which makes every mutated function raise and expects the
tests to fail, then stops with "bad test command" instead. Re-raising the original
exception lets mutmut see its own failure; a mutant that breaks the conftest is
caught all the same (mutmut files it under "timeout", its code for a crashed run).
"""
from __future__ import annotations

from collections.abc import Generator

import pytest
from _pytest.config import ConftestImportFailure


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests() -> Generator[None, None, None]:
    try:
        return (yield)
    except ConftestImportFailure as failure:
        raise failure.cause from None
