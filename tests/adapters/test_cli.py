"""The `omg` command end to end, as a user runs it: a real process on a real SQLite log."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.store import EVENTS_TABLE, EventStore

OMG = [sys.executable, "-m", "adapters.cli"]


def omg(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([*OMG, *args, *(["--home", str(home)] if args[0] not in ("audit",) else [])],
                          capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "ledger"
    omg(home, "init", "--fee", "eth:10")
    for name in ("alice", "bob"):
        omg(home, "keys", "new", name)
    omg(home, "deposit", "alice", "1000")
    omg(home, "send", "alice", "bob", "300")
    omg(home, "send", "bob", "alice", "100")
    omg(home, "seal")
    return home


def test_balances_reflect_transfers_and_fees(home):
    out = omg(home, "balance").stdout
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["alice"].endswith(": 790 eth")  # 1000 - 300 - 10 fee + 100
    assert lines["bob"].endswith(": 190 eth")  # 300 - 100 - 10 fee


def test_audit_passes_and_reports_in_json(home):
    done = omg(home, "audit", str(home / "ledger.db"), "--json")
    report = json.loads(done.stdout)
    assert report["ok"] and report["events"] == 6 and report["kinds"]["payment"] == 2
    assert report["value"]["0x" + "00" * 20] == {
        "deposited": 1000, "unspent": 980, "fees": 20, "in_exit": 0, "exited": 0, "unbacked": 0, "unclaimed": 0, "staked": 0
    }
    assert report["invariants_checked"]["INV-VALUE-CONSERVED"] >= 6


def test_rejections_exit_non_zero_with_their_code(home):
    done = omg(home, "send", "alice", "bob", "10000", ok=False)
    assert done.returncode == 1 and "insufficient_funds" in done.stderr
    done = omg(home, "send", "carol", "bob", "1", ok=False)
    assert done.returncode == 1 and "unknown_key" in done.stderr
    done = omg(home, "deposit", "0x1234", "5", ok=False)
    assert done.returncode == 2 and "20-byte hex address" in done.stderr


def test_a_tampered_log_fails_audit_naming_the_event(home, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copy(home / "ledger.db", copy)
    with sqlite3.connect(copy) as conn:
        (state,) = conn.execute(f"SELECT state FROM {EVENTS_TABLE} WHERE originator_version=3").fetchone()
        flipped = state[:-1] + bytes([state[-1] ^ 0x80])
        conn.execute(f"UPDATE {EVENTS_TABLE} SET state=? WHERE originator_version=3", (flipped,))
    done = subprocess.run([*OMG, "audit", str(copy)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "FAILED at event 3 (payment): record_tampered" in done.stdout
    report = json.loads(subprocess.run([*OMG, "audit", str(copy), "--json"], capture_output=True, text=True).stdout)
    assert report["failure"] == {"index": 3, "kind": "payment", "code": "record_tampered",
                                 "detail": "record bytes do not match its hash"}


def test_audit_of_something_that_is_not_a_log_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all")
    done = subprocess.run([*OMG, "audit", str(junk)], capture_output=True, text=True)
    assert done.returncode != 0 and "not_a_ledger" in done.stderr and junk.read_bytes() == b"not a database at all"


def test_commands_need_an_initialised_ledger(tmp_path):
    done = omg(tmp_path / "nothing", "balance", ok=False)
    assert done.returncode == 1 and "omg init" in done.stderr


def test_the_demo_runs_end_to_end(tmp_path):
    home = tmp_path / "demo"
    done = subprocess.run([*OMG, "demo", "--home", str(home), "--transfers", "250"],
                          capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "verdict       OK" in out
    assert out.count("deposited - exited - unbacked + unclaimed") == 3 and "MISMATCH" not in out  # ETH, OMG, TKN
    for step in ("invalid_exit", "-> challenged", "in-flight exit", "the follower applied no root-chain fact twice"):
        assert step in out
    assert "FAILED at event" in out and "record_tampered" in out and "log_truncated" in out
    # the scenario ran against the node as a service: its API and /eth on a loopback port, users on the SDK
    [url] = re.findall(r"serving OMG's watcher API at (http://127\.0\.0\.1:\d+)", out)
    assert f"serving the embedded chain's Ethereum JSON-RPC at {url}/eth" in out
    assert f"wallets use the SDK: the child chain at {url}, the root chain at {url}/eth" in out
    for code in ("utxo_already_spent", "unauthorized_spend", "amounts_do_not_add_up", "malformed_transaction_rlp",
                 "utxo_exiting"):
        assert f"-> submit:{code}" in out or f"refused (submit:{code})" in out, code  # OMG's error codes
    assert [int(n) for n in re.findall(r"sealed block (\d+) through block\.seal", out)] == [1000, 2000, 3000, 4000, 5000]
    # the trading round (issue 13): crossing orders in ETH/OMG and OMG/TKN, each fill checked by the demo
    assert "== trading round" in out and len(re.findall(r"^fill +\w+ +sold .* at [\d.]+, limit [<>]= ", out, re.M)) == 4
    for code in ("order_output_restricted", "order_expired"):
        assert f"-> submit:{code}" in out, code
    for step in ("order partly filled", "order.get says cancelled", "order.get says expired", "WITHHOLDS it",
                 "exits her open order in flight (ORDER exit game", "received exactly 300000000000000000000 OMG"):
        assert step in out, step
    assert re.search(r"the settlement is transaction \d+ of block 5000 \(tx type 5, 4 fill records\)", out)
    assert "utxo.get_exit_data now says exit:invalid" in out and "ChallengeDue invalid_exit" in out
    assert re.search(r"wallet watcher reports \d+ exits processable", out)
    assert re.search(r"audit\.get: the node replays its own log: \d+ events, OK", out)
    assert not (home / "node.url").exists()  # the node stopped serving
    log = EventStore(home / "ledger.db", read_only=True)
    payments = sum(record.topic == "payment" for record in log.read(0))
    log.close()
    accepted = int(re.search(r"(\d+) payments accepted", out).group(1))
    assert payments == accepted + 3  # the SDK's payments, the attack act's honest one and two cancels, nothing refused


def test_omg_node_runs_on_the_embedded_chain_and_wants_a_new_home_each_time(tmp_path):
    home = tmp_path / "node"
    done = omg(home, "node", "--steps", "2", "--interval", "0", "--fee", "eth:1")
    deployment = json.loads((home / "rootchain.json").read_text())
    assert f"operator of {deployment['framework']}" in done.stdout
    again = omg(home, "node", "--steps", "1", ok=False)
    assert again.returncode == 1 and "needs a new home" in again.stderr
    audit = omg(home, "audit", str(home / "ledger.db"), "--json")
    assert json.loads(audit.stdout)["kinds"] == {"genesis": 1, "root_chain_synced": 1}
