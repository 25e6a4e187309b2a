"""`omg node --http`: the operator loop on the embedded chain serves OMG's API while it runs
(the HTTP writes and the loop's share one writer: tests/adapters/http/test_group_commit.py)."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading

import httpx
from click.testing import CliRunner

from adapters.cli import main


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_bad_listen_address_is_bad_usage(tmp_path):
    result = CliRunner().invoke(main, ["node", "--home", str(tmp_path / "h"), "--http", "localhost:http"])
    assert result.exit_code == 2 and "HOST:PORT" in result.output


def test_node_serves_while_it_runs(tmp_path):
    home, port = tmp_path / "home", free_port()
    command = [sys.executable, "-c", "from adapters.cli import main; main()", "node", "--home", str(home),
               "--interval", "0.2", "--http", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        status = _first_status(process, f"http://127.0.0.1:{port}")
        framework = json.loads((home / "rootchain.json").read_text())["framework"]
        assert status["contract_addr"]["plasma_framework"] == framework.lower()
        balance = httpx.post(f"http://127.0.0.1:{port}/account.get_balance", json={"address": "0x" + "00" * 20}).json()
        assert balance == {"version": balance["version"], "success": True, "data": [], "service_name": "omg-ledger"}
    finally:
        # SIGTERM, not SIGINT: a background job (CI under `&`) starts with SIGINT ignored
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a node behind
            raise
    assert process.returncode == 0, err
    assert f"serving OMG's watcher API at http://127.0.0.1:{port}" in out and "stopped" in out


def _first_status(process: subprocess.Popen, url: str) -> dict:
    """Poll status.get until the node answers (it deploys the contracts first); the test's own
    timeout bounds the wait, and a node that exits ends it."""
    while process.poll() is None:
        try:
            answer = httpx.post(f"{url}/status.get", json={}, timeout=5).json()
            if answer["success"]:
                return answer["data"]
        except httpx.TransportError:
            threading.Event().wait(0.2)
    raise AssertionError(f"the node exited: {process.communicate()}")
