"""Compiled contracts are reused across processes only while every source is unchanged."""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters.ethereum import contracts


def test_the_disk_cache_follows_the_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "src" / "Answer.vy"
    source.parent.mkdir()
    source.write_text("@external\n@pure\ndef answer() -> uint256:\n    return 41\n")
    first = contracts.compile_contract("Answer", source.parent)
    assert len(list((tmp_path / "cache").rglob("Answer-*.json"))) == 1
    contracts.compile_contract.cache_clear()
    assert contracts.compile_contract("Answer", source.parent) == first  # read back from disk

    source.write_text(source.read_text().replace("41", "42"))
    contracts.compile_contract.cache_clear()
    changed = contracts.compile_contract("Answer", source.parent)
    assert changed.bytecode != first.bytecode
    assert len(list((tmp_path / "cache").rglob("Answer-*.json"))) == 2
    contracts.compile_contract.cache_clear()
