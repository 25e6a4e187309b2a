"""Shared builders: deterministic keys and a small ledger driven through `apply`."""
from __future__ import annotations

import pytest

from ledger.errors import Rejected
from ledger.events import BlockSealed, Deposit, Event, FeeRule, Genesis, Payment
from ledger.state import GENESIS_STATE, State
from ledger.transition import apply
from proofs import eip712
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, deposit_tx, encode

VC = bytes.fromhex("44de0ec539b8c4a4b530c78620fe8320167f2f74")
ETH = bytes(20)
TOKEN = bytes.fromhex("d26114cd6ee289accf82350c8d8487fedb8a0c07")
KEYS = [keccak256(b"test key %d" % i) for i in range(4)]
ADDRS = [eip712.address_of(k) for k in KEYS]


def out(owner: int, amount: int, token: bytes = ETH) -> Output:
    return Output(OUTPUT_TYPE_PAYMENT, ADDRS[owner], token, amount)


def signed(inputs: list[int], outputs: list[Output], signers: list[int]) -> bytes:
    tx = PaymentTx(inputs, outputs)
    digest = eip712.signing_hash(tx, VC)
    return encode(tx.with_signatures(tuple(eip712.sign(digest, KEYS[i]) for i in signers)))


def genesis(fees: tuple[FeeRule, ...] = ()) -> State:
    return apply(GENESIS_STATE, Genesis(VC, fees))


def deposit(state: State, owner: int, amount: int, token: bytes = ETH) -> State:
    return apply(state, Deposit(state.next_deposit_blknum, encode(deposit_tx(ADDRS[owner], token, amount))))


def pay(state: State, inputs: list[int], outputs: list[Output], signers: list[int]) -> State:
    return apply(state, Payment(signed(inputs, outputs, signers)))


def rejected(state: State, event: Event) -> str:
    """The code `apply` refuses `event` with (the test fails if it accepts it)."""
    with pytest.raises(Rejected) as info:
        apply(state, event)
    return info.value.code


def checked(state: State, *events: Event) -> State:
    """Apply `events` in order with every invariant of the catalogue checked after each."""
    from specs.hooks import InvariantHook

    hook = InvariantHook(full_every=1)
    for event in events:
        after = apply(state, event)
        assert hook(0, state, event, after) is None
        state = after
    return state


def seal(state: State) -> State:
    """Seal the open child block with the root of its transactions, invariants checked."""
    from ledger.plasma import open_block_root

    leaves = state.open_block_txs
    return checked(state, BlockSealed(state.next_child_blknum, open_block_root(leaves), len(leaves)))


@pytest.fixture
def funded() -> State:
    """Genesis with no fee, then deposits: key 0 has 100 ETH at block 1, key 1 has 50 TOKEN at block 2."""
    return deposit(deposit(genesis(), 0, 100), 1, 50, TOKEN)


def fill(node, payments: int, seal_every: int = 10) -> None:  # type: ignore[no-untyped-def]
    """Genesis, one deposit to key 0, then a chain of 1-input payments passing value around."""
    from proofs.payment import encode_utxo_pos

    node.submit([Genesis(VC, (FeeRule(1, ETH, 1),))])
    node.submit([Deposit(1, encode(deposit_tx(ADDRS[0], ETH, 10**6)))])
    pos, amount = encode_utxo_pos(1, 0, 0), 10**6
    for i in range(payments):
        owner, to = i % 4, (i + 1) % 4
        [outcome] = node.submit([Payment(signed([pos], [out(to, amount - 1)], [owner]))])
        assert outcome.accepted, outcome
        pos, amount = encode_utxo_pos(node.state.next_child_blknum, len(node.state.open_block_txs) - 1, 0), amount - 1
        if (i + 1) % seal_every == 0:
            assert all(o.accepted for o in node.seal())
