"""What the fuzz harnesses found outside proofs/ (fixed where found): each reproducing input,
kept as a regression case that must now run through its harness's contract cleanly
(tests/fuzz/test_found.py)."""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Finding(NamedTuple):
    name: str
    crashed_with: str  # what it raised before its fix
    file: str  # where it was fixed, from the repository root
    example: Callable[[], None]  # runs a harness check on the reproducing input


def _check(target: str) -> Callable[..., None]:
    import importlib

    return importlib.import_module(f"tests.fuzz.test_fuzz_{target}").check


def _cli(*argv: str) -> Callable[[], None]:
    return lambda: _check("cli")(list(argv))


def _exit_started_beyond_poslib() -> None:
    from ledger import events
    from tests.fuzz.test_fuzz_replay import VALID

    exit_ = events.encode(events.ExitStarted(9, 2**100, b""))
    _check("replay")([(0, 0, topic, payload) for topic, payload in VALID] + [(0, 0, "exit_started", exit_)], [])


def _follower_log(breakage: str) -> Callable[[], None]:
    def run() -> None:
        from tests.fuzz import test_fuzz_follower as f

        address, abi = next((a, abi) for a, abi in f.event_abis() if abi["name"] == "BlockSubmitted")
        log = f.entry(address, [f.topic_of(abi)], (1000).to_bytes(32, "big"))
        if breakage == "no topics":
            log["topics"] = []
        elif breakage == "short data":
            log["data"] = b"\1" * 17
        else:
            del log["blockHash"]
        f.check([log])

    return run


def _deposit_of_unknown_transaction() -> None:
    from tests.fuzz import test_fuzz_follower as f

    address, abi = next((a, abi) for a, abi in f.event_abis() if abi["name"] == "DepositCreated")
    f.check([f._encoded(address, abi, [f"0x{'11' * 20}", 1, f"0x{'00' * 20}", 5])])


FOUND: tuple[Finding, ...] = (
    Finding("exit-started-beyond-poslib", "ValueError", "ledger/exits.py", _exit_started_beyond_poslib),
    Finding("cli-surrogate-key-name", "UnicodeEncodeError", "adapters/cli.py", _cli("keys", "new", "\udcff")),
    Finding("cli-audit-unreachable-rpc", "ChainError", "adapters/cli.py",
            _cli("audit", "--workers", "0", "--eth-rpc", "http://127.0.0.1:9", "--deployment", "rootchain.json",
                 "omg-data/ledger.db")),
    Finding("cli-deposit-over-uint256", "ValueError", "adapters/cli.py", _cli("deposit", "alice", str(2**256))),
    Finding("cli-fee-over-uint256", "ValueError", "adapters/cli.py", _cli("init", "--home", "elsewhere", "--fee", f"eth:{2**256}")),
    Finding("cli-home-is-a-file", "FileExistsError", "adapters/cli.py", _cli("init", "--home", "omg-data/keys.json")),
    Finding("cli-keys-home-is-a-file", "FileExistsError", "adapters/cli.py", _cli("keys", "new", "x", "--home", "garbage.db")),
    Finding("follower-log-without-topics", "IndexError", "adapters/ethereum/follower.py", _follower_log("no topics")),
    Finding("follower-log-with-short-data", "DecodingError", "adapters/ethereum/follower.py", _follower_log("short data")),
    Finding("follower-log-without-block-hash", "KeyError", "adapters/ethereum/follower.py", _follower_log("no block hash")),
    Finding("follower-deposit-of-unknown-transaction", "TransactionNotFound", "adapters/ethereum/follower.py",
            _deposit_of_unknown_transaction),
)
