"""Plasma child-chain rules: genesis, deposits, payments, fee collection, block sealing.

Each rule is a pure function (State, event) -> State that checks what the OMG
specification requires and raises `Rejected(code, detail)` otherwise. Block
numbering follows PlasmaFramework: child blocks at multiples of 1000, up to 999
deposit blocks numbered between two child blocks.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs
from immutables import Map
from pyrsistent import PVector, pvector

from ledger import fees, witnesses
from ledger.errors import Rejected
from ledger.events import BlockSealed, Deposit, FeeCollected, Genesis, Payment
from ledger.state import CHILD_BLOCK_INTERVAL, Block, Effects, Params, State, add_to, advance
from proofs import eip712, merkle
from proofs.errors import DecodeError
from proofs.keccak import keccak256
from proofs.order import OUTPUT_TYPE_ORDER, OrderTx, SettlementTx, decode_transaction
from proofs.payment import (
    BLOCK_OFFSET,
    PAYMENT_TX_TYPE,
    Output,
    PaymentTx,
    decode,
    encode,
    encode_utxo_pos,
    unsigned_bytes,
)



def params_of(state: State) -> Params:
    if state.params is None:
        raise Rejected("no_genesis", "the first event of a ledger must be its genesis")
    return state.params


def decode_tx(raw: bytes) -> PaymentTx:
    try:
        return decode(raw)
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None


def decode_output_tx(raw: bytes) -> PaymentTx | OrderTx | SettlementTx:
    """A transaction whose outputs an exit names: a payment, an order or a settlement."""
    try:
        return decode_transaction(raw)
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None


def apply_genesis(state: State, event: Genesis) -> State:
    """Fixes the verifying contract and fee schedule; only as the ledger's first event."""
    if state.params is not None or state.event_count:
        raise Rejected("genesis_repeated", "a ledger has one genesis, its first event")
    if len(event.verifying_contract) != 20:
        raise Rejected("malformed_event", "verifying contract must be a 20-byte address")
    keys = [(rule.tx_type, rule.token) for rule in event.fee_schedule]
    if len(set(keys)) != len(keys):
        raise Rejected("malformed_fee_schedule", "one fee per (tx type, token)")
    params = Params(
        verifying_contract=event.verifying_contract,
        domain_separator=eip712.domain_separator(event.verifying_contract),
        fee_schedule=Map({(r.tx_type, r.token): r.amount for r in event.fee_schedule}),
    )
    return advance(state, params=params, effects=Effects(kind=Genesis.KIND))


def check_deposit_number(state: State, blknum: int) -> None:
    """As PlasmaFramework numbers deposits: consecutively after the last child block the root
    chain holds. That block may already be sealed here and not yet submitted, so a deposit
    may still land in the interval before the open block's predecessor."""
    last = state.last_deposit_blknum
    if last % CHILD_BLOCK_INTERVAL == CHILD_BLOCK_INTERVAL - 1 and blknum == last + 1:
        raise Rejected("deposit_blocks_exhausted", "999 deposit blocks already follow this child block")
    base, last_base = blknum - blknum % CHILD_BLOCK_INTERVAL, last - last % CHILD_BLOCK_INTERVAL
    expected = last + 1 if base == last_base else base + 1
    ceiling = max(state.next_child_blknum, state.submitted_blknum + CHILD_BLOCK_INTERVAL)  # past a foreign block too
    if blknum != expected or base < max(last_base, state.submitted_blknum) or blknum >= ceiling:
        raise Rejected("wrong_block_number", f"next deposit block is {state.next_deposit_blknum}, got {blknum}")


def apply_deposit(state: State, event: Deposit) -> State:
    """A deposit creates one output in the next deposit block, as the root-chain vaults do."""
    params_of(state)
    check_deposit_number(state, event.blknum)
    tx = decode_tx(event.tx)
    if tx.inputs or len(tx.outputs) != 1 or tx.signatures or encode(tx) != event.tx:
        raise Rejected("not_a_deposit", "a deposit is the unsigned form with no inputs and one output")
    output = tx.outputs[0]
    pos = encode_utxo_pos(event.blknum, 0, 0)
    return advance(
        state,
        utxos=state.utxos.set(pos, output),
        blocks=state.blocks.set(event.blknum, Block(merkle.root([event.tx]), 1, is_deposit=True)),
        last_deposit_blknum=event.blknum,
        deposited=add_to(state.deposited, output.token, output.amount),
        unspent=add_to(state.unspent, output.token, output.amount),
        effects=Effects(kind=Deposit.KIND, created=((pos, output),)),
    )


def _spendable(state: State, pos: int) -> Output:
    output = state.utxos.get(pos)
    if output is None:
        code = "utxo_exiting" if pos in state.exiting else "utxo_already_spent" if pos in state.spent else "utxo_not_found"
        raise Rejected(code, f"input {pos}")
    return output


def _signers(raw: bytes, tx: PaymentTx, separator: bytes) -> tuple[bytes, ...]:
    """One recovered address per input, in input order."""
    count = len(witnesses.present_signatures(tx))
    if count < len(tx.inputs):
        raise Rejected("missing_signature", f"{len(tx.inputs)} inputs, {count} signatures")
    if count > len(tx.inputs):
        raise Rejected("superfluous_signature", f"{len(tx.inputs)} inputs, {count} signatures")
    try:
        return witnesses.witnesses(raw, tx, separator)
    except DecodeError as exc:
        raise Rejected(exc.reason, exc.detail) from None


def apply_payment(state: State, event: Payment) -> State:
    """Spends signed inputs into new outputs of the open child block; the surplus is the fee."""
    params = params_of(state)
    tx = decode_tx(event.tx)
    if len(set(tx.inputs)) != len(tx.inputs):
        raise Rejected("duplicate_inputs", "an input appears twice")
    signers = _signers(event.tx, tx, params.domain_separator)
    spent = owned_inputs(state, tx.inputs, signers)
    orders_spent = [pos for pos, output in spent if output.output_type == OUTPUT_TYPE_ORDER]
    if orders_spent:
        check_order_custody(state, spent, tx.outputs)
    spent_outputs = [output for _, output in spent]
    merge = fees.is_merge(spent_outputs, tx.outputs, signers)
    fee_token, fee = fees.implicit_fee(PAYMENT_TX_TYPE, spent_outputs, tx.outputs, params.fee_schedule, merge)
    created = new_outputs(state, tx.outputs)
    after = record_payment(state, unsigned_bytes(event.tx), spent, created, signers, fee_token, fee)
    if not orders_spent:
        return after
    orders = state.orders.mutate()
    for pos in orders_spent:
        del orders[pos]
    return attrs.evolve(after, orders=orders.finish())


def owned_inputs(state: State, inputs: tuple[int, ...], signers: tuple[bytes, ...]) -> tuple[tuple[int, Output], ...]:
    """The outputs `inputs` spend, each unspent and signed for by its owner (`signers` in input order)."""
    for pos in inputs:  # as elixir-omg: a future block is reported before a missing output
        if pos // BLOCK_OFFSET > state.next_child_blknum:
            raise Rejected("input_utxo_ahead_of_state", f"input {pos} is in a block not formed yet")
    spent = tuple((pos, _spendable(state, pos)) for pos in inputs)
    for (pos, output), signer in zip(spent, signers):
        if output.owner != signer:
            raise Rejected("unauthorized_spend", f"input {pos} is owned by 0x{output.owner.hex()}")
    return spent


def new_outputs(state: State, outputs: Sequence[Output]) -> tuple[tuple[int, Output], ...]:
    """`outputs` at their positions in a new leaf of the open block."""
    txindex = len(state.open_block_txs)
    if txindex >= merkle.MAX_LEAVES:
        raise Rejected("too_many_transactions_in_block", f"block {state.next_child_blknum} is full")
    return tuple((encode_utxo_pos(state.next_child_blknum, txindex, oindex), o) for oindex, o in enumerate(outputs))


def check_order_custody(state: State, spent: Sequence[tuple[int, Output]], outputs: Sequence[Output]) -> None:
    """A payment may spend an order output (signed by its owner, as any input) only to cancel
    it: until the order's expiry block every output goes back to the order's owner, so open
    funds cannot be sent elsewhere while a settlement may still fill them (DEX.md "Cancel")."""
    for pos, output in spent:
        if output.output_type != OUTPUT_TYPE_ORDER:
            continue
        terms = state.orders[pos]
        if state.next_child_blknum < terms.expiry and any(o.owner != output.owner for o in outputs):
            raise Rejected("order_output_restricted",
                           f"order output {pos} may only return to its owner before block {terms.expiry}")


def record_payment(
    state: State,
    leaf: bytes,
    spent: tuple[tuple[int, Output], ...],
    created: tuple[tuple[int, Output], ...],
    signers: tuple[bytes, ...],
    fee_token: bytes,
    fee: int,
) -> State:
    """The bookkeeping of a validated payment: inputs out, outputs in, the fee to the open block."""
    utxos, spent_at, unspent = state.utxos.mutate(), state.spent.mutate(), state.unspent.mutate()
    for pos, output in spent:
        del utxos[pos]
        spent_at[pos] = state.event_count
        unspent[output.token] = unspent[output.token] - output.amount
    for pos, output in created:
        utxos[pos] = output
        unspent[output.token] = unspent.get(output.token, 0) + output.amount
    return advance(
        state,
        utxos=utxos.finish(),
        spent=spent_at.finish(),
        unspent=unspent.finish(),
        open_block_txs=state.open_block_txs.append(leaf),
        open_block_fees=add_to(state.open_block_fees, fee_token, fee) if fee else state.open_block_fees,
        effects=Effects(Payment.KIND, spent, created, signers, fee_token, fee),
    )


def apply_fee_collected(state: State, event: FeeCollected) -> State:
    """Moves one token's fees of the open block to the collected total, exactly."""
    params_of(state)
    if event.blknum != state.next_child_blknum:
        raise Rejected("wrong_block_number", f"open child block is {state.next_child_blknum}, got {event.blknum}")
    owed = state.open_block_fees.get(event.token, 0)
    if event.amount != owed or owed == 0:
        raise Rejected("fee_mismatch", f"block {event.blknum} owes {owed} in 0x{event.token.hex()}, got {event.amount}")
    return advance(
        state,
        open_block_fees=state.open_block_fees.delete(event.token),
        fees_collected=add_to(state.fees_collected, event.token, owed),
        effects=Effects(kind=FeeCollected.KIND, fee_token=event.token, fee_amount=owed),
    )


@functools.lru_cache(maxsize=2)
def open_block_root(leaves: PVector) -> bytes:
    """Merkle root of the open block's leaves; cached because the node computes it to
    propose the seal and `apply` again to check it (a pvector hashes and compares by value)."""
    return merkle.root(leaves)


def apply_block_sealed(state: State, event: BlockSealed) -> State:
    """Closes the open child block; its root must be the Merkle root of its transactions."""
    params_of(state)
    if event.blknum != state.next_child_blknum:
        raise Rejected("wrong_block_number", f"next child block is {state.next_child_blknum}, got {event.blknum}")
    if state.open_block_fees:
        raise Rejected("fees_not_collected", f"block {event.blknum} has fees not yet collected")
    if event.tx_count != len(state.open_block_txs):
        raise Rejected("wrong_tx_count", f"block holds {len(state.open_block_txs)} transactions, got {event.tx_count}")
    root = open_block_root(state.open_block_txs)
    if event.root != root:
        raise Rejected("wrong_merkle_root", f"block {event.blknum} root is 0x{root.hex()}")
    positions = state.tx_positions.mutate()
    for txindex, leaf in enumerate(state.open_block_txs):
        positions[keccak256(leaf)] = encode_utxo_pos(event.blknum, txindex, 0)
    return advance(
        state,
        tx_positions=positions.finish(),
        blocks=state.blocks.set(event.blknum, Block(root, event.tx_count, is_deposit=False, log_head=state.log_head)),
        next_child_blknum=state.next_child_blknum + CHILD_BLOCK_INTERVAL,
        open_block_txs=pvector(),
        effects=Effects(kind=BlockSealed.KIND),
    )
