"""`block.seal` (ours; elixir-omg's child chain seals on its own clock): seal the open child
block now, as `omg seal` does on a home no node serves. The operator's loop also seals
every step; this lets the CLI, or a test, close a block at once over the node's one writer."""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from adapters.http import models as m
from adapters.http.codec import to_hex
from adapters.http.errors import ApiError, envelope
from adapters.http.routes_omg import ok, service

router = APIRouter()
ACTION = "seal"


class SealRequest(m.Request):
    allow_empty: bool = False  # elixir-omg never forms an empty block; refused unless asked


class Sealed(BaseModel):
    blknum: int
    hash: str
    tx_count: int


@router.post("/block.seal", tags=["Block"], **ok(Sealed))
def block_seal(request: Request, body: SealRequest | None = None) -> dict:
    body = body or SealRequest()
    svc = service(request)
    node = svc.node

    def seal():  # under the writer's lock: nothing lands in the block between the check and the seal
        if not node.state.open_block_txs and not body.allow_empty:
            raise ApiError(ACTION, "empty_block", f"block {node.state.next_child_blknum} holds no transaction")
        return node.seal()

    outcomes = svc.operator_step(seal)
    refused = next((o for o in outcomes if not o.accepted), None)
    if refused is not None:
        raise ApiError(ACTION, refused.code or "rejected", refused.detail or None)
    sealed = outcomes[-1].event  # the BlockSealed that closes the batch
    return envelope({"blknum": sealed.blknum, "hash": to_hex(sealed.root), "tx_count": sealed.tx_count})
