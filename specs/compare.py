"""Comparing the ledger's state with the model's, field by field, after every step."""
from __future__ import annotations

import attrs

from ledger.state import InFlightExit, Staking, StandardExit, State
from proofs.payment import Output
from specs.commands import STAKING_FIELDS
from specs.model import Model
from specs.naive import Out
from specs.records import ExitRecord


def nonzero(totals_map: object) -> dict:
    return {token: amount for token, amount in totals_map.items() if amount}  # type: ignore[attr-defined]


def as_out(output: Output) -> Out:
    return (output.owner, output.token, output.amount)


def ledger_exit(record: StandardExit | InFlightExit) -> tuple:
    if isinstance(record, StandardExit):
        return ("standard", record.utxo_pos, as_out(record.output), record.backed, record.status)
    inputs = tuple((pos, as_out(output)) for pos, output in record.inputs)
    return ("in-flight", record.tx, inputs, tuple(as_out(o) for o in record.outputs), record.canonical,
            set(record.piggybacked), set(record.withdrawn), nonzero(record.reserve), record.inputs_consumed,
            record.ended, record.restarts)


def model_exit(record: object) -> tuple:
    if isinstance(record, ExitRecord):
        return ("standard", record.pos, record.out, record.backed, record.status)
    return ("in-flight", record.leaf, tuple(record.inputs), tuple(record.outputs), record.canonical,  # type: ignore[attr-defined]
            record.piggybacked, record.withdrawn, nonzero(record.reserve), record.inputs_consumed,  # type: ignore[attr-defined]
            record.ended, record.restarts)  # type: ignore[attr-defined]


def ledger_staking(s: Staking | None) -> dict | None:
    if s is None:
        return None
    return {
        "params": attrs.astuple(s.params),
        "validators": {a: (v.bls_key, v.bonded, v.jailed, v.jailed_until, v.tombstoned, v.nonce, dict(v.fee_vote),
                           v.missed, v.expected, dict(v.trading_fee_vote)) for a, v in s.validators.items()},
        "unbonding": {key: (u.amount, u.mature_at) for key, u in s.unbonding.items()},
        "bonded total": s.bonded_total,
        "unbonding total": s.unbonding_total,
        "burned": s.burned,
        "commits": dict(s.commits),
        "last committed": s.last_committed,
        "evidence": dict(s.evidence),
        "epoch": s.epoch,
        "fees distributed": nonzero(s.fees_distributed),
        "trading fees": dict(s.trading_fees),
    }


def model_staking(model: Model) -> dict | None:
    s = model.stakes
    if s is None:
        return None
    return {
        "params": tuple(s.params[name] for name in STAKING_FIELDS),
        "validators": {a: (v.bls_key, v.bonded, v.jailed, v.jailed_until, v.tombstoned, v.nonce, v.vote,
                           model.missed_mask(v), len(v.history), v.trading_vote) for a, v in s.validators.items()},
        "unbonding": dict(s.unbonding),
        "bonded total": sum(v.bonded for v in s.validators.values()),
        "unbonding total": sum(amount for amount, _ in s.unbonding.values()),
        "burned": s.burned,
        "commits": s.commits,
        "last committed": s.last_committed,
        "evidence": s.evidence,
        "epoch": s.epoch,
        "fees distributed": nonzero(s.distributed),
        "trading fees": s.trading_fees,
    }


def differences(model: Model, state: State) -> list[str]:
    """Where the ledger's state and the model's disagree (empty when they agree)."""
    assert state.params is not None
    pairs = {
        "utxos": (model.utxos, {pos: as_out(o) for pos, o in state.utxos.items()}),
        "spent": (model.spent, set(state.spent.keys())),
        "unspent per token": (model.unspent(), nonzero(state.unspent)),
        "deposited per token": (model.deposited, nonzero(state.deposited)),
        "open block fees": (model.open_fees, nonzero(state.open_block_fees)),
        "fees collected": (model.collected, nonzero(state.fees_collected)),
        "fee schedule": (model.fee_schedule, dict(state.params.fee_schedule)),
        "blocks (root, tx count)": (model.blocks, {n: (b.root, b.tx_count) for n, b in state.blocks.items()}),
        "open block txs": (model.open_txs, list(state.open_block_txs)),
        "next child block": (model.open_child(), state.next_child_blknum),
        "next deposit block": (model.next_deposit(), state.next_deposit_blknum),
        "submitted block": (model.submitted, state.submitted_blknum),
        "foreign roots": (model.foreign, dict(state.foreign_roots)),
        "root-chain cursor": (model.cursor, state.root_cursor),
        "exits": ({i: model_exit(r) for i, r in model.exits.items()}, {i: ledger_exit(r) for i, r in state.exits.items()}),
        "exiting": (model.exiting, {pos: as_out(o) for pos, o in state.exiting.items()}),
        "in exit per token": (model.in_exit(), nonzero(state.in_exit)),
        "exited per token": (nonzero(model.exited), nonzero(state.exited)),
        "unbacked per token": (nonzero(model.unbacked), nonzero(state.unbacked)),
        "unclaimed payouts": (model.unclaimed, dict(state.unclaimed)),
        "staking": (model_staking(model), ledger_staking(state.staking)),
        "orders": (model.orders, dict(state.orders)),
        "order ids": (model.order_ids, set(state.order_ids.keys())),
        "settled block": (model.settled, state.settled_blknum),
    }
    return [f"{name}: model {mine!r} != ledger {theirs!r}" for name, (mine, theirs) in pairs.items() if mine != theirs]
