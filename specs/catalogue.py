"""The invariant catalogue: what must hold after every event, each with its source.

A transition check is `(before, event, after) -> detail | None`; a state check is
`(state) -> detail | None`. A "full" state check costs O(size of the state), so
the runtime hook runs it on a cadence and at the end of an audit. The checks re-derive what they
verify from the raw maps and the event, never from the rule that produced `after`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import attrs
from immutables import Map

from ledger.events import BlockCommitted, BlockSealed, Deposit, Equivocation, Event, FeeEpochClosed, Payment
from ledger.exits import reserves
from ledger.fee_votes import undistributed
from ledger.staking import active_set, staked
from ledger.fees import token_totals
from ledger.state import CHILD_BLOCK_INTERVAL, State
from proofs import merkle
from proofs.payment import Output, decode_utxo_pos

TransitionCheck = Callable[[State, Event, State], "str | None"]
StateCheck = Callable[[State], "str | None"]


@attrs.frozen
class Invariant:
    id: str
    statement: str
    source: str
    scope: Literal["transition", "state", "full"]
    check: Callable


def _hex(token: bytes) -> str:
    return "0x" + token.hex()


def value_conserved(state: State) -> str | None:
    """deposited = unspent + fees in the open block + fees collected and not yet paid to
    validators + in exit + exited + staked (bonded, unbonding, burned by slashing), per token."""
    # Runs after every event: read the maps as they are, build none (fees paid out are subtracted).
    paid = state.staking.fees_distributed if state.staking is not None else Map()
    parts = (state.unspent, state.open_block_fees, state.fees_collected, state.in_exit, state.exited, staked(state))
    tokens = set(state.deposited.keys()).union(*(part.keys() for part in parts))
    for token in tokens:
        held = sum(part.get(token, 0) for part in parts) - paid.get(token, 0)
        if state.deposited.get(token, 0) != held:
            return f"token {_hex(token)}: deposited {state.deposited.get(token, 0)} but holds {held}"
    return None


def payment_balances(before: State, event: Event, after: State) -> str | None:
    """A payment's inputs equal its outputs plus its fee, token by token."""
    if not isinstance(event, Payment):
        return None
    fx = after.effects
    spent = token_totals(output for _, output in fx.spent)
    created = token_totals(output for _, output in fx.created)
    if fx.fee_amount:
        created[fx.fee_token] = created.get(fx.fee_token, 0) + fx.fee_amount
    return None if spent == created else f"inputs {spent} != outputs plus fee {created}"


def unspent_tally(state: State) -> str | None:
    """The per-token unspent totals equal the sum over the UTXO set (full recount)."""
    recount = token_totals(state.utxos.values())
    tally = {token: amount for token, amount in state.unspent.items() if amount}
    return None if recount == tally else f"recount {recount} != tally {tally}"


def stake_tally(state: State) -> str | None:
    """Bonded and unbonding totals equal a recount of validators and unbonding entries."""
    if state.staking is None:
        return None
    s = state.staking
    bonded = sum(v.bonded for v in s.validators.values())
    unbonding = sum(e.amount for e in s.unbonding.values())
    if (bonded, unbonding) != (s.bonded_total, s.unbonding_total):
        return f"recount bonded {bonded}, unbonding {unbonding} != tallies {s.bonded_total}, {s.unbonding_total}"
    return None


def commit_quorum(before: State, event: Event, after: State) -> str | None:
    """A committed block was signed by validators holding more than 2/3 of the active stake."""
    if not isinstance(event, BlockCommitted) or before.staking is None:
        return None
    validators = active_set(before.staking)
    bits = int.from_bytes(event.signers, "little")
    signed = sum(v.bonded for i, (_, v) in enumerate(validators) if bits >> i & 1)
    total = sum(v.bonded for _, v in validators)
    return None if 3 * signed > 2 * total else f"block {event.blknum} committed by {signed} of {total} stake"


def slash_exact(before: State, event: Event, after: State) -> str | None:
    """Equivocation evidence jails the validator and cuts its bonded stake by exactly the
    fraction (rounded down); slashed value is either paid to the reporter or burned."""
    if not isinstance(event, Equivocation) or before.staking is None or after.staking is None:
        return None
    was, now = before.staking.validators[event.validator], after.staking.validators[event.validator]
    cut = was.bonded * before.staking.params.double_sign_slash_bps // 10_000
    if now.bonded != was.bonded - cut or not now.jailed:
        return f"validator bonded {was.bonded} -> {now.bonded}, expected -{cut} and jailed"
    return None


def fees_distributed_exactly(before: State, event: Event, after: State) -> str | None:
    """Closing an epoch pays each active validator floor(pool * stake / total) of every
    token's undistributed fees; only the rounding dust stays, never more than one unit
    per validator, and nothing is paid twice."""
    if not isinstance(event, FeeEpochClosed) or before.staking is None:
        return None
    validators = active_set(before.staking)
    total = sum(v.bonded for _, v in validators)
    pools, left = undistributed(before), undistributed(after)
    for token, pool in pools.items():
        shares = [pool * v.bonded // total for _, v in validators] if total else []
        if left.get(token, 0) != pool - sum(shares) or (total and left.get(token, 0) >= len(validators)):
            return f"token {_hex(token)}: pool {pool}, left {left.get(token, 0)}, shares {shares}"
    paid = token_totals(output for _, output in after.effects.created)
    return None if paid == {t: pools[t] - left.get(t, 0) for t in pools if pools[t] != left.get(t, 0)} else f"paid {paid}"


def exit_tally(state: State) -> str | None:
    """The per-token in-exit totals equal a recount of exiting outputs and in-flight reserves."""
    recount = token_totals(state.exiting.values())
    for token, amount in reserves(state).items():
        recount[token] = recount.get(token, 0) + amount
    tally = {token: amount for token, amount in state.in_exit.items() if amount}
    recount = {token: amount for token, amount in recount.items() if amount}
    return None if recount == tally else f"recount {recount} != tally {tally}"


def exits_locked_and_paid_once(before: State, event: Event, after: State) -> str | None:
    """An exit takes only unspent outputs off the child chain, and the root chain pays a
    ledger output at most once, only after an exit took it off."""
    fx = after.effects
    for pos, output in fx.locked:
        if before.utxos.get(pos) != output or pos in after.utxos or after.exiting.get(pos) != output:
            return f"output {pos} was not moved from unspent to exiting"
    for pos, output in fx.exited:
        if before.exiting.get(pos) != output:
            return f"output {pos} was paid without an exit holding it"
        if pos in before.spent or pos in after.exiting or pos not in after.spent:
            return f"output {pos} was paid twice or stays exiting"
    return None


def _outputs_moved(before: State, after: State, spent: Iterable[tuple[int, Output]]) -> str | None:
    for pos, output in spent:
        if before.utxos.get(pos) != output:
            return f"input {pos} was not this unspent output before the event"
        if pos in before.spent:
            return f"input {pos} had already been spent at event {before.spent[pos]}"
        if pos in after.utxos or pos not in after.spent:
            return f"input {pos} is still unspent after being spent"
    return None


def no_double_spend(before: State, event: Event, after: State) -> str | None:
    """An output is spent at most once, and creating an output never overwrites one."""
    fx = after.effects
    for pos, output in fx.created:
        if pos in before.utxos or pos in before.spent:
            return f"output {pos} already existed"
        if after.utxos.get(pos) != output:
            return f"output {pos} was not created as recorded"
    return _outputs_moved(before, after, fx.spent)


def spends_authorized(before: State, event: Event, after: State) -> str | None:
    """Every spent input is signed by the owner of the output it spends."""
    fx = after.effects
    if isinstance(event, Payment) and len(fx.signers) != len(fx.spent):
        return f"{len(fx.spent)} inputs but {len(fx.signers)} signers"
    for (pos, output), signer in zip(fx.spent, fx.signers):
        if output.owner != signer:
            return f"input {pos} owned by {_hex(output.owner)} signed by {_hex(signer)}"
    return None


def block_order(before: State, event: Event, after: State) -> str | None:
    """Child blocks at consecutive multiples of 1000; deposit blocks strictly increase between them."""
    if isinstance(event, BlockSealed):
        if event.blknum % CHILD_BLOCK_INTERVAL or event.blknum != before.next_child_blknum:
            return f"child block {event.blknum} after {before.next_child_blknum - CHILD_BLOCK_INTERVAL}"
        if after.next_child_blknum != event.blknum + CHILD_BLOCK_INTERVAL:
            return "next child block did not advance by 1000"
    if isinstance(event, Deposit):
        last, blknum = before.last_deposit_blknum, event.blknum
        same_interval = blknum // CHILD_BLOCK_INTERVAL == last // CHILD_BLOCK_INTERVAL
        consecutive = blknum == last + 1 if same_interval else blknum % CHILD_BLOCK_INTERVAL == 1
        ceiling = max(before.next_child_blknum, before.submitted_blknum + CHILD_BLOCK_INTERVAL)
        if not last < blknum < ceiling or not consecutive or blknum in before.blocks:
            return f"deposit block {event.blknum} out of order (last deposit block {last})"
    return None


def merkle_roots(before: State, event: Event, after: State) -> str | None:
    """A block's root is the Merkle root of its transactions' unsigned bytes, and each
    leaf is the unsigned body carried at the tail of the signed transaction."""
    if isinstance(event, Payment):
        leaf = after.open_block_txs[-1]
        body = leaf[_list_header_length(leaf):]
        return None if body and event.tx.endswith(body) else "the block leaf is not the transaction's unsigned body"
    if isinstance(event, BlockSealed):
        expected, blknum = merkle.root(list(before.open_block_txs)), event.blknum
    elif isinstance(event, Deposit):
        expected, blknum = merkle.root([event.tx]), event.blknum
    else:
        return None
    block = after.blocks.get(blknum)
    if block is None or block.root != expected:
        return f"block {blknum} root does not match its transactions"
    return None


def _list_header_length(encoded: bytes) -> int:
    return 1 + max(0, encoded[0] - 0xF7)


def outputs_in_their_block(before: State, event: Event, after: State) -> str | None:
    """New outputs sit in the block the event belongs to, at consecutive output indexes."""
    fx = after.effects
    for oindex, (pos, _) in enumerate(fx.created):
        blknum, txindex, got_oindex = decode_utxo_pos(pos)
        if isinstance(event, (Payment, Deposit)) and got_oindex != oindex:
            return f"output {pos} has index {got_oindex}, expected {oindex}"
        if isinstance(event, Payment) and (blknum, txindex) != (before.next_child_blknum, len(before.open_block_txs)):
            return f"output {pos} is not in the open child block's next slot"
        if isinstance(event, Deposit) and (blknum, txindex) != (event.blknum, 0):
            return f"deposit output {pos} is not in deposit block {event.blknum}"
    return None


CATALOGUE: tuple[Invariant, ...] = (
    Invariant(
        "INV-VALUE-CONSERVED",
        "Per token, deposits equal unspent outputs plus fees (open block and collected) plus value in exit and exited.",
        "Plasma paper (Poon, Buterin 2017) §3: the child chain only moves deposited value; OMG fees are the input-output surplus",
        "state",
        value_conserved,
    ),
    Invariant(
        "INV-PAYMENT-BALANCES",
        "A payment's inputs equal its outputs plus its fee, per token.",
        "elixir-omg OMG.State.Transaction.Validator (amounts_do_not_add_up) and OMG.Fees",
        "transition",
        payment_balances,
    ),
    Invariant(
        "INV-UNSPENT-TALLY",
        "The per-token unspent totals equal a recount of the UTXO set.",
        "Bookkeeping identity of the UTXO model (Bitcoin whitepaper §2, Plasma MVP)",
        "full",
        unspent_tally,
    ),
    Invariant(
        "INV-NO-DOUBLE-SPEND",
        "No output is spent twice; creating an output never overwrites one.",
        "Plasma MVP spec (Buterin 2018): each UTXO is spent at most once",
        "transition",
        no_double_spend,
    ),
    Invariant(
        "INV-SPEND-SIGNED",
        "Every spent input is signed by its owner (EIP-712, one signature per input).",
        "plasma-contracts PaymentOutputToPaymentTxCondition; elixir-omg unauthorized_spend",
        "transition",
        spends_authorized,
    ),
    Invariant(
        "INV-BLOCK-ORDER",
        "Child blocks are consecutive multiples of 1000; deposit blocks increase by one after each child block.",
        "plasma-contracts BlockController (childBlockInterval, nextDeposit)",
        "transition",
        block_order,
    ),
    Invariant(
        "INV-MERKLE-ROOT",
        "Every block's root is the depth-16 Merkle root of its transactions' unsigned bytes.",
        "plasma-contracts Merkle.sol and Vault.getDepositBlockRoot; elixir-omg OMG.Block.hashed_txs_at",
        "transition",
        merkle_roots,
    ),
    Invariant(
        "INV-OUTPUT-POSITIONS",
        "New outputs are placed at their block, transaction index and output index.",
        "plasma-contracts PosLib (utxo position = blknum*1e9 + txindex*1e4 + oindex)",
        "transition",
        outputs_in_their_block,
    ),
    Invariant(
        "INV-EXIT-TALLY",
        "The per-token value in exit equals a recount of exiting outputs and in-flight reserves.",
        "elixir-omg OMG.State.Core.exit_utxos: an exiting output leaves the child chain, its value stays in the vault",
        "full",
        exit_tally,
    ),
    Invariant(
        "INV-EXIT-PAID-ONCE",
        "Exits take only unspent outputs off the child chain; a ledger output is paid at most once.",
        "plasma-contracts PlasmaFramework.flagOutputFinalized / isOutputFinalized; Plasma MVP exit priority",
        "transition",
        exits_locked_and_paid_once,
    ),
    Invariant(
        "INV-STAKE-TALLY",
        "Bonded and unbonding totals equal a recount of validators and unbonding entries (with burned and liquid: the supply).",
        "Cosmos SDK x/staking: bonded + not-bonded pools equal the sum of validator tokens and unbonding entries",
        "full",
        stake_tally,
    ),
    Invariant(
        "INV-COMMIT-QUORUM",
        "A block is final only when validators holding more than 2/3 of the active stake signed it.",
        "Tendermint / CometBFT commit rule (+2/3 of voting power), Cosmos SDK x/staking",
        "transition",
        commit_quorum,
    ),
    Invariant(
        "INV-FEES-DISTRIBUTED",
        "Fees distributed plus the carried rounding dust equal the fees collected; each validator gets floor(pool * stake / total).",
        "OMG design: stakers collectively set and earn the fees; Cosmos SDK x/distribution (pro rata to stake, remainder kept)",
        "transition",
        fees_distributed_exactly,
    ),
    Invariant(
        "INV-SLASH-EXACT",
        "Equivocation cuts the validator's stake by exactly the slash fraction and jails it.",
        "Cosmos SDK x/slashing (SlashFractionDoubleSign, jailing on double sign)",
        "transition",
        slash_exact,
    ),
)

BY_ID = {invariant.id: invariant for invariant in CATALOGUE}
