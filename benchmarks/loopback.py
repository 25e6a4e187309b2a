"""Loopback load: `transaction.submit` over HTTP from many concurrent clients, against the
node's API (adapters/http, the app `omg node --http` serves) in its own process, durable.

The server is a subprocess (`python -m benchmarks.loopback LEDGER`): a `Node` on the
SQLite log the harness prepared (the workload's untimed setup), behind `Api.start`, as
`omg node --http` runs it, with the operator's sealing on a clock. The clients are
asyncio connections in this process, each one request in flight at a time, speaking
HTTP/1.1 keep-alive over pre-built request bytes, so the client's own cost per request
is a write, a read and a timestamp; its CPU share is measured and reported beside the
server's. Afterwards the log must hold exactly the submitted transactions.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger import events
from ledger.events import Payment
from ledger.node import Node
from ledger.store import EventStore
from specs.hooks import InvariantHook

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
ROUTE = "/transaction.submit"
SEAL_INTERVAL = 1.0  # seconds between the server's seals, as the operator loop's --interval


METHOD = """\
- Server: a subprocess serving `adapters.http.app.Api` (the FastAPI app, uvicorn and the
  group-commit writer `omg node --http` runs) on an ephemeral loopback port, over a
  file-backed `EventStore` (SQLite, WAL, durable commits) with `InvariantHook(full_every=10_000)`
  as `adapters/node.py` opens it, no signature prefetcher; the workload's untimed setup is
  in its log before it starts. In place of the operator loop's root-chain step, it seals
  the open block every second under the writer's lock. Its read model (`Folder`) folds
  every committed event on its own thread, as in the node.
- Clients: asyncio connections in the harness process, HTTP/1.1 keep-alive, each with one
  `transaction.submit` in flight (a closed loop), taking the next pre-built, pre-signed
  request as soon as its answer arrives. A request's latency is from writing it to having
  read its whole answer. The first `--load-warmup` submissions (default 1,000) warm up and
  are not timed; throughput is the timed submissions over the timed phase's wall time.
- Client cost: the clients write pre-built request bytes and read answers, so their cost is
  small; it is measured (`time.process_time` of the harness process over the timed phase)
  and reported beside the server's CPU (`/proc/PID/stat` of the server subprocess), each as
  a share of one core, together with the server's CPU per transaction. The server is one
  Python process (one interpreter lock for its HTTP stack, writer and read model), so its
  CPU per transaction bounds its rate on one core; on a machine shared with other jobs it
  gets the share of a core shown.
- Afterwards every answer must be `success: true` with a txhash, and the log must hold
  exactly the submitted transactions (the payments after the setup, compared as a
  multiset of signed bytes): the run fails otherwise.
- Ratio: throughput ÷ the in-process batched ingest of the same workload measured in the
  same run (`run_ingest`, batch 500, with its signature worker)."""


# --- the server process ---------------------------------------------------------------


def serve(ledger: Path, seal_interval: float) -> None:
    """The node's API on an ephemeral loopback port; prints its URL once the read model has
    caught up with the log; seals the open block every `seal_interval` under the writer's
    lock (the operator loop's step, without a root chain); stops on SIGTERM."""
    from adapters.http.app import Api  # the server's imports stay out of the harness process

    node = Node(EventStore(ledger), InvariantHook(full_every=10_000))  # as adapters/node.py opens it
    api = Api.start(node, ledger, HOST, 0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while api.service.view().state.event_count < node.state.event_count:
            pass  # the read model holds the setup before the first client connects (raises if it failed)
        print(api.server.url, flush=True)
        while not stop.wait(seal_interval):
            api.service.operator_step(lambda: node.seal() if node.state.open_block_txs else [])
    finally:
        api.close()
        node.store.close()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of process `pid` so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """`serve` in a subprocess; `host` and `port` once it listens."""

    def __init__(self, ledger: Path, seal_interval: float = SEAL_INTERVAL) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loopback", str(ledger), str(seal_interval)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline().strip() if self.process.stdout else ""
        if not line.startswith("http://"):
            self.process.kill()
            self.process.wait()
            if self.process.stdout:
                self.process.stdout.close()
            raise RuntimeError(f"the server did not start (exit {self.process.returncode})")
        self.host, port = line.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)

    def cpu_seconds(self) -> float | None:
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.stdout:
                self.process.stdout.close()
        if self.process.returncode != 0:
            raise RuntimeError(f"the server exited with {self.process.returncode}")


# --- the clients ----------------------------------------------------------------------


def request_bytes(payment: Payment, host: str, port: int) -> bytes:
    body = json.dumps({"transaction": "0x" + payment.tx.hex()}).encode()
    head = (f"POST {ROUTE} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    """One request and its whole answer on a kept-alive connection."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        status = head.split(b"\r\n", 1)[0]
        raise RuntimeError(f"the server answered {status!r}")
    length = next(int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))
    return await reader.readexactly(length)


async def _phase(connections: list, requests: Sequence[bytes]) -> tuple[float, list[float], list[bytes]]:
    """Every request, each connection taking the next one as soon as it has its answer;
    returns the wall time, each request's latency and each answer, in request order."""
    latencies, answers = [0.0] * len(requests), [b""] * len(requests)
    queue: Iterator[int] = iter(range(len(requests)))

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in queue:
            sent = time.perf_counter()
            answers[i] = await _exchange(reader, writer, requests[i])
            latencies[i] = time.perf_counter() - sent

    started = time.perf_counter()
    await asyncio.gather(*(client(reader, writer) for reader, writer in connections))
    return time.perf_counter() - started, latencies, answers


@dataclass
class LoadResult:
    clients: int
    warmup: int
    timed: int  # transactions in the timed phase
    seconds: float  # the timed phase's wall time
    latencies: list[float]  # of the timed phase, sorted
    client_cpu_s: float  # this process's CPU during the timed phase
    server_cpu_s: float | None  # the server process's CPU during the timed phase
    logged: int  # payments in the log after the setup: must equal warmup + timed

    @property
    def per_s(self) -> float:
        return self.timed / self.seconds

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the timed latencies, in seconds."""
        return self.latencies[max(0, math.ceil(len(self.latencies) * p / 100) - 1)]


async def _load(host: str, port: int, requests: list[bytes], clients: int, warmup: int, server: ServerProcess):
    connections = [await asyncio.open_connection(host, port) for _ in range(clients)]
    try:
        _, _, warm_answers = await _phase(connections, requests[:warmup])
        client_cpu, server_cpu = time.process_time(), server.cpu_seconds()
        seconds, latencies, answers = await _phase(connections, requests[warmup:])
        client_cpu = time.process_time() - client_cpu
        server_after = server.cpu_seconds()
        server_cpu = None if server_cpu is None or server_after is None else server_after - server_cpu
    finally:
        for _, writer in connections:
            writer.close()
    return seconds, latencies, warm_answers + answers, client_cpu, server_cpu


def _check_answers(answers: list[bytes]) -> None:
    for i, answer in enumerate(answers):
        payload = json.loads(answer)
        if payload.get("success") is not True or not payload["data"].get("txhash"):
            raise RuntimeError(f"transaction {i} was not accepted: {payload}")


def _logged_payments(ledger: Path, after: int) -> list[bytes]:
    """The signed bytes of every payment in the log from record `after` on."""
    store = EventStore(ledger, read_only=True)
    try:
        return [event.tx for page in store.read_pages(after) for record in page
                if isinstance(event := events.decode(record.payload), Payment)]
    finally:
        store.close()


def run_load(ledger: Path, payments: Sequence[Payment], clients: int = 64, warmup: int = 1_000,
             seal_interval: float = SEAL_INTERVAL) -> LoadResult:
    """Serve the prepared log at `ledger` from a subprocess and submit `payments` over HTTP
    from `clients` connections: the first `warmup` untimed, the rest timed. Raises unless
    every answer is a success and the log then holds exactly these payments."""
    assert clients >= 1 and 0 <= warmup < len(payments)
    store = EventStore(ledger, read_only=True)
    setup_count = store.count
    store.close()
    server = ServerProcess(ledger, seal_interval)
    try:
        requests = [request_bytes(payment, server.host, server.port) for payment in payments]
        seconds, latencies, answers, client_cpu, server_cpu = asyncio.run(
            _load(server.host, server.port, requests, clients, warmup, server))
    finally:
        server.stop()
    _check_answers(answers)
    logged = _logged_payments(ledger, setup_count)
    if sorted(logged) != sorted(payment.tx for payment in payments):
        raise RuntimeError(f"the log holds {len(logged):,} payments, not the {len(payments):,} submitted")
    return LoadResult(clients, warmup, len(payments) - warmup, seconds, sorted(latencies), client_cpu, server_cpu,
                      len(logged))


if __name__ == "__main__":
    serve(Path(sys.argv[1]), float(sys.argv[2]))
