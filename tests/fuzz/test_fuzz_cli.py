"""Fuzz the `omg` command line (adapters/cli.py `main`) with arbitrary argument lists.

Each run gets a fresh copy of a small ledger home (a genesis with a fee, two keys, a
deposit, a payment, a sealed block) plus files that are not ledgers, in a scratch folder
that is the working directory. Contract: the command ends with exit code 0, 1 or 2 and
no exception but click's own (usage errors, ClickException, SystemExit).

What a fuzzer must not do for real: `demo`, `node` and `check` run for minutes, so their
arguments are parsed (every option converted) but the command is not run; `--eth-rpc`
always points at a closed port of this machine; no argument reaches outside the scratch
folder (a '/' is removed from arbitrary text, and the working directory is two levels deep).
"""
from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from pathlib import Path

import click
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from adapters.cli import main
from tests.fuzz.harness import SHORT

PARSED_ONLY = {"demo", "node", "check", "simulate"}  # long-running: parsed, not run
CLOSED_PORT = "http://127.0.0.1:9"
ADDRESS = "0x" + "11" * 20
VOCABULARY = (
    "init", "keys", "new", "list", "deposit", "send", "seal", "balance", "audit", "check", "node", "demo",
    "--home", "omg-data", "elsewhere", "--fee", "eth:1", "eth:", "x:1", "--verifying-contract", "--token", "eth",
    ADDRESS, "0x", "alice", "bob", "carol", "0", "1", "-1", "10", "100", str(2**256), "1e3",
    "--json", "--workers", "ledger.db", "omg-data/ledger.db", "omg-data/keys.json", "garbage.db", "empty.db",
    "--eth-rpc", "--deployment", "rootchain.json", "--help", "--symbolic", "--examples", "--seed", "--time-budget",
    "--per-function", "--confirmations", "--interval", "--steps", "--transfers", "nan", "inf", "", "-", "--", "..",
)
_template: Path | None = None


def _home_template() -> Path:
    """Built once per process: the scratch folder every run starts from."""
    global _template
    if _template is None:
        root = Path(tempfile.mkdtemp(prefix="omg-fuzz-cli-"))
        atexit.register(shutil.rmtree, root, True)
        with contextlib.chdir(root):
            runner = CliRunner()
            for argv in (["init", "--fee", "eth:1"], ["keys", "new", "alice"], ["keys", "new", "bob"],
                         ["deposit", "alice", "100"], ["send", "alice", "bob", "10"], ["seal"]):
                result = runner.invoke(main, argv, env={"OMG_HOME": None})
                assert result.exit_code == 0, (argv, result.output, result.exception)
            Path("garbage.db").write_bytes(bytes(range(256)) * 8)
            Path("empty.db").write_bytes(b"")
            Path("rootchain.json").write_text('{"chain_id": 1}')
        _template = root
    return _template


def _safe(argv: list[str]) -> list[str]:
    """The same arguments, kept inside the scratch folder and off the network."""
    argv = [arg if arg in VOCABULARY else arg.replace("/", "").replace("\\", "").replace("\0", "") for arg in argv]
    for i, arg in enumerate(argv):
        if arg.startswith("--eth-rpc="):
            argv[i] = "--eth-rpc=" + CLOSED_PORT
        elif arg == "--eth-rpc" and i + 1 < len(argv):
            argv[i + 1] = CLOSED_PORT
    return argv


def _parse_only(argv: list[str]) -> None:
    """Parse a long-running command's arguments as `main` would, without running it."""
    try:
        with main.make_context("omg", list(argv)) as ctx:
            command = main.get_command(ctx, argv[0])
            assert command is not None
            command.make_context(argv[0], argv[1:], parent=ctx)
    except (click.ClickException, click.exceptions.Exit):
        pass


def check(argv: list[str]) -> None:
    argv = _safe(argv)
    with tempfile.TemporaryDirectory(prefix="omg-fuzz-cli-") as scratch:
        work = Path(scratch) / "a" / "cwd"
        shutil.copytree(_home_template(), work)
        with contextlib.chdir(work):
            if argv and argv[0] in PARSED_ONLY:
                _parse_only(argv)
                return
            result = CliRunner().invoke(main, argv, env={"OMG_HOME": None})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        result.exception.add_note(f"omg {argv!r}")
        raise result.exception
    assert result.exit_code in (0, 1, 2), f"omg {argv!r} exited {result.exit_code}"


def TestOneInput(data: bytes) -> None:
    """NUL-separated arguments; a one-byte argument below the vocabulary's size is that word."""
    argv = [
        VOCABULARY[part[0]] if len(part) == 1 and part[0] < len(VOCABULARY) else part.decode("utf-8", "surrogateescape")
        for part in data.split(b"\0")[:8]
    ]
    check(argv)


def seeds() -> list[bytes]:
    def encoded(*words: str) -> bytes:
        return b"\0".join(bytes([VOCABULARY.index(w)]) if w in VOCABULARY else w.encode() for w in words)

    return [encoded("send", "alice", "bob", "5"), encoded("audit", "omg-data/ledger.db", "--json"),
            encoded("balance", "bob"), encoded("deposit", "carol", "1", "--token", ADDRESS), encoded("check", "--seed", "1")]


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


COMMANDS = _commands(main)
words = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=12))
values = st.one_of(words, st.integers(-(2**300), 2**300).map(str), st.sampled_from(["eth:", "eth:0", f"eth:{2**256}", f"{ADDRESS}:5"]))


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A command with some of its own options and arguments, values of any sort, in some order."""
    path, command = draw(st.sampled_from(COMMANDS))
    argv = list(path)
    for param in command.params:
        if not draw(st.booleans()):
            continue
        if isinstance(param, click.Argument):
            argv.append(draw(values))
        elif getattr(param, "is_flag", False):
            argv.append(draw(st.sampled_from(param.opts)))
        else:
            argv += [draw(st.sampled_from(param.opts)), draw(values)]
    if draw(st.booleans()):
        argv = [*argv[: len(path)], *draw(st.permutations(argv[len(path) :]))]
    return argv


argvs = st.one_of(command_lines(), st.lists(words, max_size=6))


@SHORT
@given(argvs)
def test_cli_keeps_the_contract(argv):
    check(argv)
