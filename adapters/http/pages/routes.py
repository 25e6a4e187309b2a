"""GET routes for the pages and their assets (kept out of the OpenAPI document: they are
not the JSON API), the brand, and `exit.all` (POST, in OMG's style, in the document)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import FileResponse, JSONResponse

from adapters.http import models as m
from adapters.http.codec import to_hex
from adapters.http.errors import ApiError, envelope, error_response
from adapters.http.pages.brand import BrandError, load
from adapters.http.routes_omg import ok, service
from ledger.state import InFlightExit, StandardExit

STATIC = Path(__file__).with_name("static")
# Only the files shipped here are served: a request names one of them or gets a 404.
ASSETS = {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file() and p.suffix != ".md"}
MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
# The pages load nothing from elsewhere: scripts and styles from this node only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

router = APIRouter()


def _file(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise ApiError("", "operation_not_found", status=404)
    response = FileResponse(path, media_type=MEDIA.get(path.suffix, "application/octet-stream"))
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/wallet", include_in_schema=False)
def wallet_page() -> FileResponse:
    return _file("wallet.html")


@router.get("/explorer", include_in_schema=False)
def explorer_page() -> FileResponse:
    return _file("explorer.html")


@router.get("/web/brand.json", include_in_schema=False)
def brand(request: Request) -> JSONResponse:
    try:
        return JSONResponse(load(Path(service(request).log_path).parent))
    except BrandError as exc:
        return error_response(ApiError("brand", "invalid_brand", str(exc), status=500))


@router.get("/web/chain.json", include_in_schema=False)
def root_chain(request: Request) -> JSONResponse:
    """Whether the node serves its root chain at /eth (embedded) for the wallet to send its exits
    to; asked first, since a 404 from /eth would be an error in the page's console."""
    return JSONResponse({"embedded": service(request).chain is not None})


@router.get("/web/{name:path}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    return _file(name)


class ExitInfo(BaseModel):
    kind: str
    exit_id: int
    status: str
    utxo_pos: int | None
    owner: str | None
    currency: str | None
    amount: int | None
    txhash: str | None
    canonical: bool | None
    piggybacked_inputs: list[int]
    piggybacked_outputs: list[int]


@router.post("/exit.all", tags=["Exits"], **ok(list[ExitInfo]))
def exit_all(request: Request, body: m.Empty | None = None) -> dict:
    """Every exit the ledger has seen start, newest first: a standard exit's output and status
    (`challenged` once a challenge removed it), an in-flight exit's transaction, canonicity
    (false once a competitor won) and piggybacks."""
    exits = service(request).view().state.exits
    return envelope([_exit(i, e) for i, e in sorted(exits.items(), reverse=True)])


def _exit(exit_id: int, record: StandardExit | InFlightExit) -> dict[str, Any]:
    if isinstance(record, StandardExit):
        o = record.output
        return {"kind": "standard", "exit_id": exit_id, "status": record.status, "utxo_pos": record.utxo_pos,
                "owner": to_hex(o.owner), "currency": to_hex(o.token), "amount": o.amount, "txhash": None,
                "canonical": None, "piggybacked_inputs": [], "piggybacked_outputs": []}
    return {"kind": "in_flight", "exit_id": exit_id, "status": "canonical" if record.canonical else "challenged",
            "utxo_pos": None, "owner": None, "currency": None, "amount": None, "txhash": to_hex(record.tx_hash),
            "canonical": record.canonical,
            "piggybacked_inputs": sorted(i for out, i in record.piggybacked if not out),
            "piggybacked_outputs": sorted(i for out, i in record.piggybacked if out)}
