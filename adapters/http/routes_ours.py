"""Routes for what OMG never had, in OMG's style (POST, JSON bodies, the same envelope and
error objects): validators and their commits, fee votes and epochs, the invariant status of
the node's state, and the audit verdict of the node's own log."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from adapters.audit_report import report_json
from adapters.http import models as m
from adapters.http.codec import to_hex
from adapters.http.errors import ApiError, envelope
from adapters.http.routes_omg import ok, ok_page, paged, service
from adapters.http.render import page
from ledger.events import FeeRule, FeeVoted
from ledger.replay import audit
from ledger.staking import active_set
from ledger.state import Staking, Validator
from ledger.store import EventStore
from specs.catalogue import CATALOGUE
from specs.hooks import InvariantHook

router = APIRouter()


def _rules(items) -> list[dict[str, Any]]:
    return [{"tx_type": t, "currency": to_hex(token), "amount": a} for (t, token), a in sorted(items)]


def _validator(staking: Staking, address: bytes, v: Validator) -> dict[str, Any]:
    active = {a for a, _ in active_set(staking)}
    return {"address": to_hex(address), "bls_key": to_hex(v.bls_key), "bonded": v.bonded, "jailed": v.jailed,
            "jailed_until": v.jailed_until, "tombstoned": v.tombstoned, "nonce": v.nonce, "active": address in active,
            "missed_in_window": bin(v.missed).count("1"), "fee_vote": _rules(v.fee_vote.items())}


@router.post("/validator.all", tags=["Validators"], **ok(list[m.ValidatorInfo]))
def validator_all(request: Request, body: m.Empty | None = None) -> dict:
    staking = service(request).view().state.staking
    if staking is None:
        return envelope([])
    return envelope([_validator(staking, a, v) for a, v in sorted(staking.validators.items())])


@router.post("/validator.get", tags=["Validators"], **ok(m.ValidatorInfo))
def validator_get(request: Request, body: m.ValidatorGet) -> dict:
    staking = service(request).view().state.staking
    found = staking.validators.get(body.address) if staking is not None else None
    if found is None:
        raise ApiError("get_validator", "validator_not_found")
    return envelope(_validator(staking, body.address, found))


@router.post("/commit.get", tags=["Validators"], **ok(m.CommitInfo))
def commit_get(request: Request, body: m.CommitGet) -> dict:
    return envelope(_commit(request, body.blknum))


def _commit(request: Request, blknum: int) -> dict[str, Any]:
    state = service(request).view().state
    block = state.blocks.get(blknum)
    if block is None or block.is_deposit:
        raise ApiError("get_commit", "block_not_found")
    bitmap = state.staking.commits.get(blknum) if state.staking is not None else None
    return {"blknum": blknum, "root": to_hex(block.root), "log_head": to_hex(block.log_head), "signers_bitmap": None if bitmap is None else to_hex(bitmap)}


@router.post("/commit.all", tags=["Validators"], **ok_page(list[m.CommitInfo]))
def commit_all(request: Request, body: m.Paged | None = None) -> dict:
    body = body or m.Paged()
    state = service(request).view().state
    sealed = sorted((n for n, b in state.blocks.items() if not b.is_deposit), reverse=True)
    return paged([_commit(request, n) for n in page(sealed, body.page, body.limit)], body)


@router.post("/fee_epoch.get", tags=["Fees"], **ok(m.EpochInfo))
def fee_epoch_get(request: Request, body: m.Empty | None = None) -> dict:
    state = service(request).view().state
    staking = state.staking
    schedule = _rules(state.params.fee_schedule.items()) if state.params else []
    if staking is None:
        return envelope({"epoch": 0, "epoch_blocks": 0, "fee_schedule": schedule, "fees_distributed": [], "votes": []})
    votes = [{"validator": to_hex(a), "schedule": _rules(v.fee_vote.items())}
             for a, v in sorted(staking.validators.items()) if v.fee_vote]
    return envelope({"epoch": staking.epoch, "epoch_blocks": staking.params.epoch_blocks, "fee_schedule": schedule,
                     "fees_distributed": [{"currency": to_hex(t), "amount": a}
                                          for t, a in sorted(staking.fees_distributed.items())], "votes": votes})


@router.post("/fee_vote.submit", tags=["Fees"], **ok(m.Accepted))
async def fee_vote_submit(request: Request, body: m.FeeVote) -> dict:
    """A validator's signed fee vote (`ledger.fee_votes.vote_digest`), through the group commit."""
    schedule = tuple(FeeRule(r.tx_type, r.currency, r.amount) for r in body.schedule)
    placed = await service(request).submit("fee_vote", FeeVoted(body.validator, schedule, body.signature))
    return envelope({"index": placed.outcome.index, "hash": to_hex(placed.outcome.hash)})


@router.post("/invariant.status", tags=["Invariants"], **ok(m.InvariantStatus))
def invariant_status(request: Request, body: m.Empty | None = None) -> dict:
    """Every state invariant of the catalogue on the node's latest state."""
    state = service(request).view().state
    hook = InvariantHook()
    violation = hook.finish(state.event_count - 1, state)
    checked = [i.id for i in CATALOGUE if i.scope in ("state", "full")]
    return envelope({"ok": violation is None, "events": state.event_count, "checked": checked,
                     "violation": None if violation is None else {"invariant": violation.invariant,
                                                                  "detail": violation.detail}})


@router.post("/audit.get", tags=["Invariants"], **ok(m.AuditVerdict))
def audit_get(request: Request, body: m.Empty | None = None) -> dict:
    """`omg audit` of the node's own log, opened read-only beside the writer: a replay from
    genesis (every hash, signature, root, invariant and snapshot), so its cost grows with the
    log; the verdict is kept until the log grows, so asking again costs nothing."""
    svc = service(request)
    state = svc.view().state
    cached = svc.audit_verdict
    if cached is not None and (cached["events"], cached["head_hash"]) == (state.event_count, to_hex(state.log_head)):
        return envelope(cached)
    store = EventStore(svc.log_path, read_only=True)
    try:
        report = json.loads(report_json(audit(store, InvariantHook(full_every=10_000))))
    finally:
        store.close()
    keys = ("ok", "events", "head_hash", "failure", "findings", "anchored_through", "unanchored", "value")
    svc.audit_verdict = {k: report[k] for k in keys}
    return envelope(svc.audit_verdict)
