"""Every `omg` command fails cleanly: one `Error:` line naming the problem, exit 1 for a refused
or failed command, 2 for bad usage or unreadable input, never a traceback; and what is stored
stays as it was. Each test runs the real CLI as a process."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.params import DEPLOYMENT_FILE
from ledger.events import RootChainSynced
from ledger.node import Node
from ledger.store import EventStore
from proofs.keccak import keccak256

OMG = [sys.executable, "-m", "adapters.cli"]
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # the secp256k1 group order


def run(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([*OMG, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def error(done: subprocess.CompletedProcess, exit_code: int, *needles: str) -> str:
    """The one error line of a refused command, checked for its exit code and `needles`."""
    assert done.returncode == exit_code, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def events_in(home: Path) -> int:
    store = EventStore(home / "ledger.db")
    try:
        return store.count
    finally:
        store.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A local ledger: a fee of 1 wei, alice and bob with 1000 each."""
    home = tmp_path_factory.mktemp("errors") / "ledger"
    run("init", "--fee", "eth:1", "--home", home)
    for name in ("alice", "bob"):
        run("keys", "new", name, "--home", home)
        run("deposit", name, "1000", "--home", home)
    return home


@pytest.fixture
def home(base, tmp_path) -> Path:
    """A copy of `base` this test may change."""
    return Path(shutil.copytree(base, tmp_path / "ledger"))


# --- 1. a ledger anchored to a root chain takes deposits from the vaults only ---------

def test_a_home_made_by_omg_node_refuses_a_local_deposit(tmp_path):
    home = tmp_path / "anchored"
    run("node", "--steps", "1", "--interval", "0", "--home", home)
    run("keys", "new", "alice", "--home", home)
    before = events_in(home)
    error(run("deposit", "alice", "5", "--home", home, ok=False), 1, "anchored_ledger")
    assert events_in(home) == before


def _anchor_by_cursor(home: Path) -> None:
    store = EventStore(home / "ledger.db")
    [outcome] = Node(store).submit([RootChainSynced(7, keccak256(b"block 7"))])
    store.close()
    assert outcome.accepted


@pytest.mark.parametrize("anchor", ["root_cursor", "deployment_file", "verifying_contract"])
def test_anchoring_is_read_from_the_ledger_and_the_deployment_beside_it(tmp_path, anchor):
    home = tmp_path / "ledger"
    init = ["init", "--home", home]
    run(*init, *(["--verifying-contract", "0x" + "11" * 20] if anchor == "verifying_contract" else []))
    run("keys", "new", "alice", "--home", home)
    if anchor == "root_cursor":
        _anchor_by_cursor(home)
    if anchor == "deployment_file":
        (home / DEPLOYMENT_FILE).write_text("{}")
    before = events_in(home)
    error(run("deposit", "alice", "5", "--home", home, ok=False), 1, "anchored_ledger")
    assert events_in(home) == before


# --- 2 and 5. amounts and addresses: one type each, clear messages --------------------

@pytest.mark.parametrize("amount", ["0", "-5", str(2**256), "\u0661\u0660", "5_000", "+5", " 5"])
def test_a_bad_amount_is_bad_usage(base, amount):
    before = events_in(base)
    error(run("deposit", "alice", amount, "--home", base, ok=False), 2, "amount")
    assert events_in(base) == before


@pytest.mark.parametrize("amount", ["-5", str(2**256)])
def test_a_bad_send_amount_is_reported_as_an_amount_not_an_option(base, amount):
    line = error(run("send", "alice", "bob", amount, "--home", base, ok=False), 2, "amount")
    assert "option" not in line


def test_the_largest_amount_is_accepted(home):
    run("deposit", "bob", str(2**256 - 1), "--home", home)
    assert f"{2**256 - 1 + 1000} eth" in run("balance", "bob", "--home", home).stdout


@pytest.mark.parametrize("fee", [f"eth:{2**256}", "eth:\u0661", "eth:0", "eth:-1", "eth", "0x12:1"])
def test_a_bad_fee_is_bad_usage_and_creates_nothing(tmp_path, fee):
    error(run("init", "--fee", fee, "--home", tmp_path / "new", ok=False), 2)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("address", [
    "0X" + "ab" * 20,  # capital X
    " 0x" + "ab" * 20,
    "0x" + "ab" * 19 + "a",  # 39 digits
    "ab" * 20,  # no 0x
    "0x" + "gg" * 20,
    "eth",  # the ETH token, not an owner
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  # EIP-55 checksum broken in the last digit
])
def test_a_bad_owner_address_is_bad_usage(base, address):
    error(run("deposit", address, "5", "--home", base, ok=False), 2, "20-byte hex address")


@pytest.mark.parametrize("address", ["0x" + "AB" * 20, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"])
def test_upper_case_and_checksummed_addresses_are_accepted(home, address):
    run("deposit", address, "5", "--home", home)
    assert ": 5 eth" in run("balance", address, "--home", home).stdout


# --- homes that cannot be one ---------------------------------------------------------

@pytest.mark.parametrize("command", [["init"], ["keys", "new", "alice"], ["balance"]])
def test_a_home_that_is_a_file_is_bad_usage(tmp_path, command):
    file = tmp_path / "file"
    file.write_text("not a folder")
    error(run(*command, "--home", file, ok=False), 2, "not a folder")
    error(run(*command, "--home", file / "below", ok=False), 2, "not a folder")
    assert file.read_text() == "not a folder"


def test_a_file_that_is_not_a_ledger_is_unreadable_input(home):
    (home / "ledger.db").write_bytes(b"not a database")
    error(run("balance", "--home", home, ok=False), 2, "not_a_ledger")


# --- the keystore ---------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    b'{"alice": "ab', b"", b"[]", b'{"alice": 5}', b'{"alice": "' + b"00" * 32 + b'"}',
    b'{"alice": "' + N.to_bytes(32, "big").hex().encode() + b'"}', b'{"alice": "0102"}', b"\xff\xfe",
])
def test_a_malformed_keystore_is_unreadable_input(home, content):
    (home / "keys.json").write_bytes(content)
    error(run("keys", "list", "--home", home, ok=False), 2, "malformed_keystore")
    assert (home / "keys.json").read_bytes() == content


@pytest.mark.parametrize("command", [["balance"], ["send", "alice", "bob", "5"], ["keys", "new", "carol"],
                                    ["deposit", "alice", "5"]])
def test_every_command_reading_keys_refuses_a_malformed_keystore(home, command):
    (home / "keys.json").write_text("[]")
    before = events_in(home)
    error(run(*command, "--home", home, ok=False), 2, "malformed_keystore")
    assert (home / "keys.json").read_text() == "[]" and events_in(home) == before


def test_a_keystore_that_is_a_folder_or_a_symlink_is_unreadable_input(home, tmp_path):
    (home / "keys.json").unlink()
    (home / "keys.json").mkdir()
    error(run("keys", "list", "--home", home, ok=False), 2, "unreadable_keystore")
    (home / "keys.json").rmdir()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    (home / "keys.json").symlink_to(elsewhere)
    error(run("keys", "list", "--home", home, ok=False), 2, "keystore_symlink")
    error(run("keys", "new", "carol", "--home", home, ok=False), 2, "keystore_symlink")
    assert elsewhere.read_text() == "{}"


@pytest.mark.parametrize("name", ["", "   ", "a\x07b", "tab\tname", "0x" + "ab" * 20])
def test_a_bad_key_name_is_bad_usage(home, name):
    before = (home / "keys.json").read_bytes()
    error(run("keys", "new", name, "--home", home, ok=False), 2, "bad_key_name")
    assert (home / "keys.json").read_bytes() == before


def test_listing_keys_where_there_is_no_keystore_says_so(tmp_path):
    error(run("keys", "list", "--home", tmp_path / "nothing", ok=False), 1, "no keystore")


def test_a_new_keystore_is_private_whatever_was_left_beside_it(tmp_path):
    home = tmp_path / "ledger"
    home.mkdir()
    leftover = home / "keys.tmp"
    leftover.write_text("left by a crash")
    leftover.chmod(0o644)
    run("keys", "new", "alice", "--home", home)
    assert (home / "keys.json").stat().st_mode & 0o777 == 0o600
    assert leftover.read_text() == "left by a crash"


# --- 3. a failed init leaves nothing behind -------------------------------------------

def test_a_failed_init_leaves_nothing_and_a_second_init_works(tmp_path):
    home = tmp_path / "ledger"
    done = run("init", "--fee", "eth:1", "--fee", "eth:2", "--home", home, ok=False)
    assert done.returncode == 1 and "malformed_fee_schedule" in done.stdout
    assert not home.exists()
    run("init", "--fee", "eth:1", "--home", home)
    assert sorted(p.name for p in home.iterdir()) == ["ledger.db"]
    audit = json.loads(run("audit", home / "ledger.db", "--json", "--workers", "0").stdout)
    assert audit["ok"] and audit["events"] == 1


def test_a_failed_init_in_an_existing_home_leaves_it_as_it_was(tmp_path):
    home = tmp_path / "ledger"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    run("init", "--fee", "eth:1", "--fee", "eth:2", "--home", home, ok=False)
    assert [p.name for p in home.iterdir()] == ["notes.txt"]


def test_init_over_a_ledger_is_refused(base):
    error(run("init", "--home", base, ok=False), 1, "a ledger exists")


# --- 4. seal ------------------------------------------------------------------------

def test_sealing_an_empty_block_needs_allow_empty(home):
    before = events_in(home)
    error(run("seal", "--home", home, ok=False), 1, "empty_block")
    assert events_in(home) == before
    assert "accepted block_sealed" in run("seal", "--allow-empty", "--home", home).stdout


# --- counts and durations of the other commands ---------------------------------------

@pytest.mark.parametrize("args", [
    ["check", "--examples", "-1"], ["check", "--examples", "\u0662"],
    ["check", "--time-budget", "nan"], ["check", "--time-budget", "0"],
    ["check", "--symbolic", "--per-function", "inf"],
    ["check", "--seed", "-3"],
    ["demo", "--transfers", "-5"], ["demo", "--transfers", "0"],
    ["node", "--interval", "nan"], ["node", "--interval", "1e400"],
])
def test_bad_counts_and_durations_are_bad_usage(tmp_path, args):
    error(run(*args, *(["--home", tmp_path / "h"] if args[0] == "node" else []), ok=False), 2, "Invalid value")
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize("args", [["audit", "missing.db"], ["audit", "{db}", "--workers", "-1"], ["audit"]])
def test_audit_argument_errors_are_bad_usage(base, args):
    error(run(*(a.format(db=base / "ledger.db") for a in args), ok=False), 2)


# --- two writers on one home ----------------------------------------------------------

def test_two_concurrent_sends_both_land_or_one_is_clearly_refused(home):
    before = events_in(home)
    racers = [subprocess.Popen([*OMG, "send", a, b, "100", "--home", str(home)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for a, b in (("alice", "bob"), ("bob", "alice"))]
    outputs = [p.communicate(timeout=120) for p in racers]
    results = [(p.returncode, out, err) for p, (out, err) in zip(racers, outputs)]
    for code, out, err in results:
        assert "Traceback" not in err
        assert code == 0 or (code == 1 and "concurrent_writer" in err), out + err
    landed = sum(code == 0 for code, _, _ in results)
    assert events_in(home) == before + landed
    audit = json.loads(run("audit", home / "ledger.db", "--json", "--workers", "0").stdout)
    assert audit["ok"] and audit["kinds"]["payment"] == landed


def test_a_keystore_is_private_under_any_umask(tmp_path):
    home = tmp_path / "ledger"
    command = [*OMG, "keys", "new", "alice", "--home", str(home)]
    done = subprocess.run(["sh", "-c", 'umask 000 && exec "$@"', "sh", *command], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert (home / "keys.json").stat().st_mode & 0o777 == 0o600
