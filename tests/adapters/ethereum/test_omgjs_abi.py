"""Our compiled root-chain ABI speaks plasma-contracts v1.0.4's, as omg-js 4.1.2-1.0.4 calls it.

The reference is a vendored subset of omg-js's own ABI files (vectors/README.md): every function
its RootChain calls and every event of those contracts. A function must have the same selector,
input types, output types (and the names of struct fields, which web3 decodes by) and state
mutability; an event the same topic, indexed fields and field names.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector, keccak

from adapters.ethereum import contracts

VECTORS = json.loads((Path(__file__).parent / "vectors" / "omgjs_4.1.2-1.0.4_abi.json").read_text())
REFERENCE = [(name, entry) for name, abi in VECTORS["contracts"].items() for entry in abi]


def canonical(param: dict[str, Any]) -> str:
    """The ABI type of a parameter as it appears in a signature: tuples spelled out."""
    if param["type"].startswith("tuple"):
        return "(" + ",".join(canonical(c) for c in param["components"]) + ")" + param["type"][len("tuple"):]
    return param["type"]


def field_names(param: dict[str, Any]) -> Any:
    """The names web3 decodes a struct's fields by, nested as the struct is."""
    return [(c["name"], field_names(c)) for c in param.get("components", [])]


def signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(canonical(i) for i in entry['inputs'])})"


def outputs(entry: dict[str, Any]) -> list[tuple[str, Any]]:
    """Output types and struct field names. A single struct of static fields is encoded as its
    fields one after another, as v1.0.4's named outputs are (`blocks` -> root, timestamp), and
    decoded by the same names: both shapes compare equal."""
    outs = entry["outputs"]
    if len(outs) == 1 and outs[0]["type"] == "tuple" and not _dynamic(outs[0]):
        outs = outs[0]["components"]
    if len(outs) > 1:
        return [(canonical(o), o["name"]) for o in outs]
    return [(canonical(o), field_names(o)) for o in outs]


def _dynamic(param: dict[str, Any]) -> bool:
    if param["type"] in ("bytes", "string") or param["type"].endswith("[]"):
        return True
    return any(_dynamic(c) for c in param.get("components", []))


@pytest.fixture(scope="module")
def ours() -> dict[str, list[dict[str, Any]]]:
    """Our ABI at each contract's address (the exit game's includes the code it delegates to)."""
    return {name: contracts.contract_abi(name) for name in VECTORS["contracts"]}


def find(abi: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [e for e in abi if e["type"] == kind and e["name"] == name]
    assert len(matches) == 1, f"{len(matches)} {kind}s named {name}"
    return matches[0]


FUNCTIONS = [(c, e) for c, e in REFERENCE if e["type"] == "function"]
EVENTS = [(c, e) for c, e in REFERENCE if e["type"] == "event"]


@pytest.mark.parametrize(("contract", "reference"), FUNCTIONS, ids=[f"{c}.{e['name']}" for c, e in FUNCTIONS])
def test_function_matches_v1_0_4(ours: dict, contract: str, reference: dict) -> None:
    mine = find(ours[contract], "function", reference["name"])
    assert function_signature_to_4byte_selector(signature(mine)) == function_signature_to_4byte_selector(signature(reference))
    assert signature(mine) == signature(reference)
    assert outputs(mine) == outputs(reference)
    assert mine["stateMutability"] == reference["stateMutability"]


@pytest.mark.parametrize(("contract", "reference"), EVENTS, ids=[f"{c}.{e['name']}" for c, e in EVENTS])
def test_event_matches_v1_0_4(ours: dict, contract: str, reference: dict) -> None:
    mine = find(ours[contract], "event", reference["name"])
    assert keccak(text=signature(mine)) == keccak(text=signature(reference))
    assert [(i["name"], canonical(i), i["indexed"]) for i in mine["inputs"]] == [
        (i["name"], canonical(i), i["indexed"]) for i in reference["inputs"]
    ]
    assert mine.get("anonymous", False) == reference["anonymous"]


def test_reference_covers_what_omgjs_calls() -> None:
    """The vectors hold every function omg-js's RootChain calls: a trimmed file would pass vacuously."""
    called = {c: {e["name"] for e in abi if e["type"] == "function"} for c, abi in VECTORS["contracts"].items()}
    assert {"processExits", "exitsQueues", "blocks", "vaults", "exitGames", "addExitQueue"} <= called["PlasmaFramework"]
    assert called["PriorityQueue"] == {"heapList"}
    assert {"challengeStandardExit", "deleteNonPiggybackedInFlightExit", "inFlightExits", "getInFlightExitId",
            "startStandardExitBondSize"} <= called["PaymentExitGame"]
    assert len(FUNCTIONS) == 29 and len(EVENTS) == 28
