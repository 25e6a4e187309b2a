"""Fuzz the root-chain log parsers (adapters/ethereum/follower.py): what turns web3 log
entries and their ABI-decoded arguments into ledger events.

The follower runs against the root chain deployed on the embedded EVM (its contract reads
are real), but `get_logs` answers the fuzzed entries: events of the framework, vaults and
exit game encoded with arbitrary or wrong arguments, and entries broken at the dict level.
Contract: `poll` returns the ledger's outcomes or raises FollowError with a code."""
from __future__ import annotations

import functools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from web3 import Web3
from web3.datastructures import AttributeDict

from adapters.ethereum.follower import Follower, FollowError
from ledger.events import Genesis
from ledger.node import Node
from ledger.store import EventStore
from tests.fuzz.harness import SHORT, chunks, code_of, framed

ENTRY_KEYS = ("address", "topics", "data", "blockNumber", "logIndex", "transactionIndex", "transactionHash", "blockHash")


@functools.cache
def deployed() -> Any:
    from tests.adapters.ethereum.rootchain import new_chain

    return new_chain()


class _FedEth:
    """The chain's `eth`, except that `get_logs` answers the fuzzed entries."""

    def __init__(self, eth: Any, entries: list[dict]) -> None:
        self._eth, self._entries = eth, entries

    def get_logs(self, _filter: dict) -> list[dict]:
        return self._entries

    def __getattr__(self, name: str) -> Any:
        return getattr(self._eth, name)


class _Fed:
    def __init__(self, w3: Web3, entries: list[dict]) -> None:
        self.codec, self.eth = w3.codec, _FedEth(w3.eth, entries)


@functools.cache
def event_abis() -> list[tuple[str, dict]]:
    """(contract address, event ABI) of every event the follower listens to."""
    root = deployed().root
    return [(c.address, abi) for c in (root.framework, root.eth_vault, root.erc20_vault, root.exit_game)
            for abi in c.abi if abi["type"] == "event"]


def topic_of(abi: dict) -> bytes:
    return bytes(Web3.keccak(text=f"{abi['name']}({','.join(i['type'] for i in abi['inputs'])})"))


def entry(address: str, topics: list[bytes], data: bytes, index: int = 0) -> dict:
    return {"address": address, "topics": topics, "data": data, "blockNumber": 1, "logIndex": index,
            "transactionIndex": 0, "transactionHash": bytes(32), "blockHash": bytes(32), "removed": False}


def check(entries: list[dict]) -> None:
    entries = [AttributeDict(e) for e in entries]  # as web3's get_logs gives them
    chain = deployed()
    node = Node(EventStore())
    node.submit([Genesis(bytes.fromhex(chain.root.framework.address[2:]))])
    follower = Follower(_Fed(chain.w3, entries), chain.root, node, confirmations=0)  # type: ignore[arg-type]
    try:
        follower.poll()
    except FollowError as exc:
        code_of(exc)


def TestOneInput(data: bytes) -> None:
    """Entries of [event selector, data, topic, topic, topic], the rest for the next entry."""
    entries = []
    while data and len(entries) < 4:
        selector, body, *topics, data = chunks(data, 6)
        address, abi = event_abis()[selector[0] % len(event_abis())] if selector else event_abis()[0]
        entries.append(entry(address, [topic_of(abi), *(t for t in topics if t)], body, len(entries)))
    check(entries)


def _encoded(address: str, abi: dict, values: list) -> dict:
    indexed = [(i["type"], v) for i, v in zip(abi["inputs"], values) if i["indexed"]]
    plain = [(i["type"], v) for i, v in zip(abi["inputs"], values) if not i["indexed"]]
    codec = deployed().w3.codec
    topics = [topic_of(abi), *(codec.encode([t], [v]) for t, v in indexed)]
    return entry(address, topics, codec.encode([t for t, _ in plain], [v for _, v in plain]))


SIMPLE = {"address": "0x" + "11" * 20, "bytes32": bytes(32), "bytes": b"tx"}


def seeds() -> list[bytes]:
    """Each followed event with simple arguments, framed as `TestOneInput` reads entries."""
    found = []
    for selector, (address, abi) in enumerate(event_abis()):
        values = [[] if i["type"].endswith("[]") else SIMPLE.get(i["type"], 1) for i in abi["inputs"]]
        log = _encoded(address, abi, values)
        topics = [*log["topics"][1:], b"", b"", b""][:3]
        found.append(framed(bytes([selector]), log["data"], *topics, b""))
    return found


def _value(abi_type: str) -> st.SearchStrategy:
    if abi_type.endswith("[]"):
        return st.lists(_value(abi_type[:-2]), max_size=3)
    if abi_type.startswith("uint"):
        top = 2 ** int(abi_type[4:]) - 1
        return st.one_of(st.integers(0, 5), st.integers(0, min(top, 2**64)), st.integers(0, top))
    if abi_type == "address":
        return st.binary(min_size=20, max_size=20).map(Web3.to_checksum_address)
    if abi_type == "bytes32":
        return st.binary(min_size=32, max_size=32)
    return st.binary(max_size=80)  # bytes


BREAKAGES = ("none", "none", "data", "topics", "key", "address")


@st.composite
def log_entries(draw: st.DrawFn) -> dict:
    """A log of one of the followed events with any arguments of its types, then perhaps broken."""
    address, abi = draw(st.sampled_from(event_abis()))
    log = _encoded(address, abi, [draw(_value(i["type"])) for i in abi["inputs"]])
    breakage = draw(st.sampled_from(BREAKAGES))
    if breakage == "data":
        log["data"] = draw(st.binary(max_size=100))
    elif breakage == "topics":
        log["topics"] = draw(st.lists(st.binary(min_size=32, max_size=32), max_size=4))
    elif breakage == "key":
        del log[draw(st.sampled_from(ENTRY_KEYS))]
    elif breakage == "address":
        log["address"] = draw(st.sampled_from([a for a, _ in event_abis()]))
    return log


@SHORT
@given(st.lists(log_entries(), max_size=3))
def test_follower_keeps_the_contract(entries):
    check(entries)
