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


def test_require_anchor_prints_the_verdict_it_exits_on(ledger):
    done = run("audit", str(ledger), "--require-anchor")
    verdict = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1 and verdict.startswith("verdict       UNANCHORED: events 0..") and "OK" not in verdict
    report = json.loads(run("audit", str(ledger), "--json", "--require-anchor").stdout)
    assert report["ok"] is False and report["unanchored"] == [0, report["events"] - 1]


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


@pytest.fixture(scope="module")
def staked(tmp_path_factory) -> tuple[Path, Path]:
    """A seeded proof-of-stake ledger, and the trusted-validators file of its BLS keys."""
    from adapters.simulation import Config, Simulation, validator_keys
    from proofs import bls

    folder = tmp_path_factory.mktemp("pos")
    config = Config(blocks=2, epoch_blocks=2, payments_per_block=2)
    Simulation(folder / "pos.db", config).run()
    trusted = folder / "validators.json"
    trusted.write_text(json.dumps({"bls_keys": ["0x" + bls.public_key(v.bls_key).hex() for v in validator_keys(config)]}))
    return folder / "pos.db", trusted


def test_commits_anchor_only_with_the_validators_the_auditor_trusts(staked):
    log, trusted = staked
    alone = run("audit", str(log), "--require-anchor")
    assert alone.returncode == 1 and "2 validator commits are self-attested" in alone.stdout
    done = run("audit", str(log), "--validators", str(trusted))
    assert done.returncode == 0 and "by the trusted validators:" in done.stdout and "self-attested" not in done.stdout
    report = json.loads(run("audit", str(log), "--validators", str(trusted), "--json").stdout)
    assert report["anchored_through"] > 0 and report["unanchoring_commits"] == []
    assert report["trusted_validators"]["quorum"] == 5 and len(report["trusted_validators"]["bls_keys"]) == 7


def test_a_ledger_forged_from_genesis_is_not_anchored_by_its_own_validators(staked, tmp_path):
    """Another seed: the same kind of history, validators of the forger's own."""
    from adapters.simulation import Config, Simulation

    _, trusted = staked
    Simulation(tmp_path / "forged.db", Config(seed=7, blocks=2, epoch_blocks=2, payments_per_block=2)).run()
    done = run("audit", str(tmp_path / "forged.db"), "--validators", str(trusted), "--require-anchor")
    assert done.returncode == 1 and "2 validator commits were signed by fewer than 5 of the 7 trusted validators" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("verdict       UNANCHORED: events 0..")


@pytest.mark.parametrize("content", ['{"bls_keys": ["0x1234"]}', '{"bls_keys": []}', "[1, 2]", "not json",
                                     '{"bls_keys": ["0x' + "ab" * 48 + '"]}'])
def test_a_bad_trusted_validators_file_is_a_one_line_error(ledger, tmp_path, content):
    (tmp_path / "v.json").write_text(content)
    done = run("audit", str(ledger), "--validators", str(tmp_path / "v.json"))
    assert done.returncode == 1 and done.stderr.startswith("Error: trusted validators") and "Traceback" not in done.stderr


def test_a_stray_row_is_printed_as_a_row_and_fails_the_audit(ledger, tmp_path):
    import shutil

    from ledger.store import EVENTS_TABLE, LEDGER_ID

    copy = tmp_path / "stray.db"
    shutil.copy(ledger, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute(f"INSERT INTO {EVENTS_TABLE} VALUES (?, -1, 'genesis', x'00')", (LEDGER_ID.hex,))
    done = run("audit", str(copy))
    assert done.returncode == 1 and "FINDING       row -1 (stray row): stray_row: a row of ledger_events" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("verdict       FINDINGS: 1")


def test_a_torn_last_batch_is_a_finding_and_a_node_drops_it_with_a_warning(ledger, tmp_path):
    import shutil

    from ledger.store import EVENTS_TABLE

    home = tmp_path / "home"
    shutil.copytree(ledger.parent, home)
    with sqlite3.connect(home / "ledger.db") as conn:  # the seal's last record lost: its batch is torn
        (last,) = conn.execute(f"SELECT max(originator_version) FROM {EVENTS_TABLE}").fetchone()
        conn.execute(f"DELETE FROM {EVENTS_TABLE} WHERE originator_version = ?", (last,))
    done = run("audit", str(home / "ledger.db"))
    assert done.returncode == 1 and f"FINDING       event {last - 1} (torn batch): torn_batch: records {last - 1}..{last - 1}" in done.stdout
    done = run("balance", "0x" + "11" * 20, "--home", str(home))
    assert done.returncode == 0 and f"warning: events {last - 1}..{last - 1} (1 of a batch of 2) were torn" in done.stderr
    assert run("audit", str(home / "ledger.db")).returncode == 0
