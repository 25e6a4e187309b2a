"""The FastAPI application and its server: OMG's routes, ours, and OMG-style errors for
everything a client can get wrong (a body over the size limit, not JSON, the wrong content
type, bad hex, wrong lengths, unknown fields, an unknown route). No answer carries a
stack trace: an unexpected failure is `server:internal_server_error` with its type only."""
from __future__ import annotations

import gc
import logging
import socket
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http import models as m
from adapters.http.errors import ApiError, bad_request, error_body, error_response
from adapters.http.routes_dex import router as dex_router
from adapters.http.routes_eth import router as eth_router
from adapters.http.routes_omg import router as omg_router
from adapters.http.routes_ours import router as our_router
from adapters.http.pages import router as pages_router
from adapters.http.routes_seal import router as seal_router
from adapters.http.service import Service
from ledger.store import StoreError

MAX_BODY = 256 * 1024  # bytes; four-input transactions and typed data are a few KiB
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7434
GC_YOUNG_THRESHOLD = 10_000  # net allocations between young collections (CPython's default: 700)
log = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": m.Error, "description": what}
    for status, what in ((400, "the body is not JSON"), (413, "the body is over the size limit"),
                         (415, "the content type is not application/json"), (500, "an unexpected failure"))
}


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="omg-ledger node API", version="1.0.0",
                  description="OMG's watcher and child-chain API (elixir-omg's routes and shapes), and the "
                              "ledger's own: validators, fee votes, invariants, the audit of the node's log.",
                  responses=ERROR_RESPONSES, docs_url=None, redoc_url=None)
    app.state.service = service
    app.include_router(omg_router)
    app.include_router(our_router)
    app.include_router(dex_router)
    app.include_router(pages_router)  # the web wallet and explorer
    app.include_router(eth_router)
    app.include_router(seal_router)
    app.add_exception_handler(ApiError, lambda _, exc: error_response(exc))
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StoreError, lambda _, exc: error_response(ApiError("store", exc.code, exc.detail, status=500)))
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(GuardBody)
    return app


class GuardBody:
    """Refuse a body over MAX_BODY before reading it all, and a non-JSON content type (elixir's 415).

    Plain ASGI (not `BaseHTTPMiddleware`, whose task group and streams per request cost more
    than the rest of a submission's HTTP path): the body is read here, within the limit, and
    handed to the route as the one `http.request` message it receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        length, kind = self._header(scope, b"content-length"), self._header(scope, b"content-type")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await self._too_large(scope, receive, send)
        if (kind or b"application/json").split(b";")[0].strip().lower() != b"application/json":
            error = ApiError("", "operation_bad_request", "Invalid Content-Type header, use application/json.", status=415)
            return await error_response(error)(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                return await self._too_large(scope, receive, send)
        read = False

        async def replay() -> Message:
            nonlocal read
            if read:
                return await receive()
            read = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _header(scope: Scope, name: bytes) -> bytes | None:
        return next((value for key, value in scope["headers"] if key.lower() == name), None)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
        error = ApiError("", "operation_bad_request", f"the body exceeds {MAX_BODY} bytes", status=413)
        await error_response(error)(scope, receive, send)


def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    """The first failed parameter, as elixir's validators name it (`payments.0.owner`, `:hex`)."""
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return JSONResponse(error_body(ApiError("", "operation_bad_request", "Server has failed to parse the request.")),
                            status_code=400)
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    parameter = ".".join(location) or "body"
    kind = first.get("type", "")
    validator = {"missing": ":missing", "extra_forbidden": ":unknown_field", "hex": ":hex"}.get(kind)
    if validator is None:
        validator = first.get("msg", "") if kind == "length" else f":{kind}"
    return error_response(bad_request(parameter, validator))


def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 404:
        return error_response(ApiError("", "operation_not_found", status=404))
    if exc.status_code == 405:
        response = error_response(ApiError("", "operation_not_found", "Use POST with a JSON body.", status=405))
        response.headers.update(exc.headers or {"Allow": "POST"})
        return response
    return error_response(ApiError("", "operation_bad_request", str(exc.detail), status=exc.status_code))


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected failure in a route")
    return error_response(ApiError("server", "internal_server_error", f"unexpected {type(exc).__name__}", status=500))


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets) -> (host, port); ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (a port from 1 to 65535)")
    return host, int(port)


class Server:
    """uvicorn on its own thread, bound before `start` returns (port 0: an ephemeral port)."""

    def __init__(self, service: Service, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.service = service
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family)
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(create_app(service), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.socket]},
                                        name="omg-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Server:
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join()
        self.socket.close()


def _settle_garbage_collector() -> None:
    """A serving node allocates per request and keeps what it commits: CPython's default
    collector then rescans every module, route model and state entry on each full collection
    (measured: ~170 ms each under the loopback load of benchmarks/loopback.py, a pause every
    request in flight waits out) and runs a young collection every 700 net allocations. Objects that exist once the
    node has started live as long as the process: freeze them out of the collector, and
    collect young objects less often (most garbage here is freed by reference counting)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


class Api:
    """The service and its server, as `omg node --http` runs them beside the operator loop."""

    def __init__(self, service: Service, server: Server) -> None:
        self.service, self.server = service, server

    @classmethod
    def start(cls, node, log_path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, chain=None) -> Api:
        """`chain`: the embedded root chain's Web3, served at /eth (None: not served)."""
        service = Service(node, log_path, chain=chain)
        try:
            api = cls(service, Server(service, host, port).start())
        except OSError:
            service.close()
            raise
        _settle_garbage_collector()
        return api

    def step(self, operator_step):
        """One operator step under the writer's lock; its watcher reports feed `status.get`."""
        result = self.service.operator_step(operator_step)
        self.service.reports = list(result.reports)
        return result

    def close(self) -> None:
        self.server.stop()
        self.service.close()
