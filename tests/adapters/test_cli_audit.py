"""`omg audit` as an auditor runs it on a file someone handed over: read-only, one-line errors,
findings and anchors in both outputs."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

OMG = [sys.executable, "-m", "adapters.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OMG, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("audit") / "home"
    for args in (("init", "--fee", "eth:1"), ("keys", "new", "alice"), ("deposit", "alice", "100"),
                 ("send", "alice", "0x" + "11" * 20, "7"), ("seal",)):
        done = run(*args, "--home", str(home))
        assert done.returncode == 0, done.stdout + done.stderr
    return home / "ledger.db"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_unanchored_ledger_audits_ok_but_says_so(ledger):
    before = sha(ledger)
    done = run("audit", str(ledger))
    assert done.returncode == 0 and "nothing outside the file anchors it" in done.stdout
    assert "UNANCHORED: events 0.." in done.stdout and sha(ledger) == before
    report = json.loads(run("audit", str(ledger), "--json").stdout)
    assert report["anchored_through"] == -1 and report["unanchored"] == [0, report["events"] - 1]
    assert report["findings"] == [] and report["ok"] is True
    assert run("audit", str(ledger), "--require-anchor").returncode == 1


@pytest.mark.parametrize("make", ["empty_sqlite", "other_tables", "truncated", "text"])
def test_what_is_not_a_ledger_is_a_one_line_error_and_stays_untouched(ledger, tmp_path, make):
    target = tmp_path / "input.db"
    if make == "empty_sqlite":
        sqlite3.connect(target).close()  # a 0-byte file, as SQLite leaves it
    elif make == "other_tables":
        with sqlite3.connect(target) as conn:
            conn.execute("CREATE TABLE t (x)")
    elif make == "truncated":
        target.write_bytes(ledger.read_bytes()[:1500])
    else:
        target.write_text("hello")
    before = target.read_bytes()
    done = run("audit", str(target))
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 or "FAILED" in done.stdout
    assert target.read_bytes() == before


def test_an_empty_ledger_file_has_no_genesis(tmp_path):
    from ledger.store import EventStore

    EventStore(tmp_path / "empty.db").close()  # the ledger's tables, no event
    done = run("audit", str(tmp_path / "empty.db"))
    assert done.returncode == 1 and "no_genesis" in done.stdout


def test_a_damaged_sqlite_file_is_unreadable_not_a_traceback(ledger, tmp_path):
    raw = bytearray(ledger.read_bytes())
    for i in range(200, len(raw), 7):
        raw[i] ^= 0x55
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(raw))
    done = run("audit", str(damaged))
    assert done.returncode == 1 and done.stderr.strip().startswith("Error: unreadable_ledger"), done.stderr


def test_a_refused_snapshot_is_reported_and_the_ledger_rebuilt(tmp_path):
    from ledger.node import Node
    from ledger.store import SNAPSHOTS_TABLE, EventStore
    from tests.conftest import fill

    home = tmp_path / "home"
    home.mkdir()
    store = EventStore(home / "ledger.db")
    fill(Node(store, snapshot_every=5), payments=8)
    store.close()
    with sqlite3.connect(home / "ledger.db") as conn:
        conn.execute(f"UPDATE {SNAPSHOTS_TABLE} SET state=zeroblob(80) WHERE topic='snapshot'")
    done = run("balance", "0x" + "22" * 20, "--home", str(home))
    assert done.returncode == 0 and "refused (snapshot_corrupt" in done.stderr and "rebuilt from the log" in done.stderr
