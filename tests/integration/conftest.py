"""Real nodes for integration tests: an `anvil` Ethereum node on a free loopback port.

The binary comes from npm (`make anvil`); OMG_ANVIL overrides its path. A missing binary is
a failure, not a skip, so CI cannot pass without having run the test.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
START_TIMEOUT_S = 20.0


def anvil_path() -> Path:
    path = Path(os.environ.get("OMG_ANVIL") or ANVIL)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"no anvil binary at {path}: run `make anvil` (or set OMG_ANVIL to one)", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Web3]:
    """A fresh anvil node (cancun, our contracts' EVM version) and a web3 connection to it."""
    port, log_path = free_port(), tmp_path / "anvil.log"
    command = [str(anvil_path()), "--host", "127.0.0.1", "--port", str(port), "--silent", "--hardfork", "cancun"]
    with open(log_path, "wb") as log:  # a file, not a pipe: nothing can block on a full pipe
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 30}))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not w3.is_connected():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"anvil did not answer on port {port} (exit {process.poll()}): {log_path.read_text()}")
            time.sleep(0.05)
        yield w3
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
