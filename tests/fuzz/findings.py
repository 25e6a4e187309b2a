"""Open findings: crashes the harnesses found in files outside the fuzzing work's own fixes
(proofs/ and ledger/events.py are fixed where found), reported to their owners.

Each is tolerated by `harness.holds` only as what it is, an exception of that type raised
through that function, so the harness keeps exploring everything else meanwhile; its
example is checked to still reproduce (tests/fuzz/test_open_findings.py). When the fix
lands, that test fails: delete the entry, and the harness holds the fixed code to the
contract from then on."""
from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import NamedTuple


class Finding(NamedTuple):
    name: str
    exceptions: tuple[str, ...]  # class names, matched along the exception's MRO
    file: str  # path from the repository root
    function: str  # a function the exception passed through
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


OPEN: tuple[Finding, ...] = (
    Finding("exit-started-beyond-poslib", ("ValueError",), "ledger/exits.py", "apply_exit_started",
            _exit_started_beyond_poslib),
    Finding("cli-surrogate-key-name", ("UnicodeEncodeError",), "adapters/cli.py", "keys_new", _cli("keys", "new", "\udcff")),
    Finding("cli-audit-unreachable-rpc", ("ChainError",), "adapters/cli.py", "root_chain_vaults",
            _cli("audit", "--workers", "0", "--eth-rpc", "http://127.0.0.1:9", "--deployment", "rootchain.json",
                 "omg-data/ledger.db")),
    Finding("cli-deposit-over-uint256", ("ValueError",), "adapters/cli.py", "deposit", _cli("deposit", "alice", str(2**256))),
    Finding("cli-fee-over-uint256", ("ValueError",), "adapters/cli.py", "init",
            _cli("init", "--home", "elsewhere", "--fee", f"eth:{2**256}")),
    Finding("cli-home-is-a-file", ("FileExistsError",), "adapters/cli.py", "open_node",
            _cli("init", "--home", "omg-data/keys.json")),
    Finding("cli-keys-home-is-a-file", ("FileExistsError",), "adapters/cli.py", "keys_new",
            _cli("keys", "new", "x", "--home", "garbage.db")),
    Finding("follower-malformed-log-entry", ("KeyError", "IndexError", "DecodingError", "LogTopicError", "MismatchedABI", "OverflowError"), "adapters/ethereum/follower.py",
            "_logs", _follower_log("no topics")),
    Finding("follower-deposit-of-unknown-transaction", ("TransactionNotFound",), "adapters/ethereum/follower.py",
            "_deposit_calldata", _deposit_of_unknown_transaction),
)


def matches(finding: Finding, exc: BaseException) -> bool:
    if not any(cls.__name__ in finding.exceptions for cls in type(exc).__mro__):
        return False
    return any(
        frame.filename.endswith("/" + finding.file) and frame.name == finding.function
        for frame in traceback.extract_tb(exc.__traceback__)
    )


def known(exc: BaseException) -> Finding | None:
    return next((finding for finding in OPEN if matches(finding, exc)), None)
