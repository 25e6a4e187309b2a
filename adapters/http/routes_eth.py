"""`POST /eth`: the embedded chain's Ethereum JSON-RPC on the node's own port, so a wallet,
the web wallet or omg-js's RootChain can deposit and exit against `omg node` alone.

The embedded chain is eth-tester in this process: a request goes through web3's eth-tester
middleware (the same translation `Web3(EthereumTesterProvider)` applies) under the writer's
lock, which the operator's step also holds while it uses the chain (eth-tester is not
thread-safe). Answers are standard JSON-RPC: quantities as `0x` hex, bytes as `0x` hex.
With `--eth-rpc` there is no embedded chain and clients use that node: this route is 404.
It is JSON-RPC, not OMG's API, so it stays out of the OpenAPI document.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from starlette.responses import JSONResponse
from eth_utils import ValidationError
from web3 import Web3
from web3.datastructures import AttributeDict

from adapters.http.errors import ApiError
from adapters.http.service import Service

router = APIRouter()
MAX_BATCH = 100  # requests in one JSON-RPC batch
INVALID_REQUEST, SERVER_ERROR = -32600, -32000


@router.post("/eth", include_in_schema=False)
def eth_rpc(request: Request, body: Any = Body(None)) -> JSONResponse:
    """A plain `def`: FastAPI runs it on a worker thread, so waiting for the lock blocks no other route."""
    svc: Service = request.app.state.service
    if svc.chain is None:
        raise ApiError("", "operation_not_found", "this node's root chain is not embedded: use its --eth-rpc node",
                       status=404)
    if isinstance(body, list):
        if not 0 < len(body) <= MAX_BATCH:
            return JSONResponse(_error(None, INVALID_REQUEST, f"a batch holds 1 to {MAX_BATCH} requests"))
        return JSONResponse([_answer(svc, item) for item in body])
    return JSONResponse(_answer(svc, body))


def _answer(svc: Service, call: Any) -> dict[str, Any]:
    """One JSON-RPC call on the embedded chain; a failure is a JSON-RPC error, never a 500."""
    if not isinstance(call, dict) or not isinstance(call.get("method"), str) \
            or not isinstance(call.get("params", []), list):
        return _error(call.get("id") if isinstance(call, dict) else None, INVALID_REQUEST, "not a JSON-RPC request")
    try:
        with svc.committer.lock:
            answer = _request(svc.chain, call["method"], call.get("params", []))
    except Exception as exc:  # eth-tester raises on reverts and bad parameters: the caller's error
        return _error(call.get("id"), SERVER_ERROR, f"{type(exc).__name__}: {exc}")
    if "error" in answer:
        return {"jsonrpc": "2.0", "id": call.get("id"), "error": answer["error"]}
    return {"jsonrpc": "2.0", "id": call.get("id"), "result": _wire(answer.get("result"))}


def _request(w3: Web3, method: str, params: list) -> dict[str, Any]:
    """eth-tester charges an eth_call's gas to its sender; geth and anvil do not (a call without
    fee fields costs nothing), and omg-js reads views `from` the framework, which holds no
    ether. Such a call, refused for that alone, runs again without a sender (the views
    wallets read do not look at msg.sender)."""
    send = w3.provider.request_func(w3, w3.middleware_onion)
    try:
        return send(method, params)
    except ValidationError as exc:
        if method != "eth_call" or "cannot afford txn gas" not in str(exc) or not params or not isinstance(params[0], dict):
            raise
        return send(method, [{k: v for k, v in params[0].items() if k != "from"}, *params[1:]])


def _error(call_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": call_id, "error": {"code": code, "message": message}}


def _wire(value: Any) -> Any:
    """web3's Python values back to JSON-RPC's: every integer is a hex quantity."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (dict, AttributeDict)):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(item) for item in value]
    return value
