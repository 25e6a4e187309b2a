"""Contracts on the pure transitions and their helpers, in CrossHair's "asserts" style.

Why this style: CrossHair 0.0.11x checks a function whose body *starts* with `assert`
statements by treating those as preconditions and any later failure (an `assert`,
or any exception that is not a precondition's AssertionError) as a counterexample.
That needs no decorator library and each contract stays an ordinary function a
reader can call with concrete values (the property tests and `python -c` do).

Every contract calls the real code (`ledger`, `proofs`) through its public
functions; the arguments are the free variables CrossHair makes symbolic. Where
keccak or coincurve are involved (C code), CrossHair realises the values and the
check degrades to guided random testing, which is still worth the seconds.
"""
from __future__ import annotations

import attrs
from immutables import Map

from ledger import events, fees
from ledger.errors import Rejected
from ledger.events import Deposit, FeeCollected, Genesis
from ledger.state import CHILD_BLOCK_INTERVAL, GENESIS_STATE, State
from ledger.transition import apply
from proofs import merkle, payment, rlp
from proofs.errors import DecodeError
from proofs.payment import MAX_BLOCK_NUM, MAX_OUTPUT_INDEX, MAX_TX_INDEX, OUTPUT_TYPE_PAYMENT, Output
from proofs.rlp import UINT256_MAX
from specs.hooks import InvariantHook

ETH, TOKEN = bytes(20), bytes.fromhex("5e1f" * 10)
ALICE, BOB = bytes.fromhex("a1" * 20), bytes.fromhex("b0" * 20)
FEE_CODES = {"amounts_do_not_add_up", "multiple_potential_currency_fees", "fees_not_covered", "overpaying_fees"}
OPENED = apply(GENESIS_STATE, Genesis(bytes.fromhex("c0ffee" * 6 + "c0de"), ()))


def _output(is_eth: bool, amount: int, owner: bytes = ALICE) -> Output:
    return Output(OUTPUT_TYPE_PAYMENT, owner, ETH if is_eth else TOKEN, amount)


def _catalogue_holds(before: State, event: events.Event, after: State) -> bool:
    """Every invariant of the catalogue (transition, state and full checks) after `event`."""
    hook = InvariantHook(every=1, full_every=1)
    return hook(before.event_count, before, event, after) is None and hook.finish(after.event_count, after) is None


# --- fees ---------------------------------------------------------------------------


def fee_is_the_surplus(
    spent: list[tuple[bool, int]], created: list[tuple[bool, int]], eth_fee: int, token_fee: int, merge: bool
) -> None:
    """`implicit_fee` returns the one surplus, exactly the schedule's fee, never negative,
    and says no only with `Rejected` for a rule the amounts really break."""
    assert 1 <= len(spent) <= 4 and 1 <= len(created) <= 4
    assert all(0 < amount <= UINT256_MAX for _, amount in spent + created)
    assert 0 <= eth_fee <= 10 and 0 <= token_fee <= 10
    schedule = Map({(1, t): f for t, f in ((ETH, eth_fee), (TOKEN, token_fee)) if f})
    ins = fees.token_totals(_output(e, a) for e, a in spent)
    outs = fees.token_totals(_output(e, a) for e, a in created)
    surplus = {t: ins[t] - outs.get(t, 0) for t in ins if ins[t] > outs.get(t, 0)}
    try:
        token, fee = fees.implicit_fee(1, [_output(*s) for s in spent], [_output(*c) for c in created], schedule, merge)
    except Rejected as rejected:
        assert rejected.code in FEE_CODES, rejected.code
        assert any(outs[t] > ins.get(t, 0) for t in outs) or len(surplus) > 1 or schedule
        return
    assert all(outs[t] <= ins.get(t, 0) for t in outs)
    assert fee >= 0 and surplus == ({token: fee} if fee else {})
    if schedule:
        assert fee == (0 if merge else schedule[(1, token)])


# --- encodings ------------------------------------------------------------------------


def utxo_pos_round_trip(blknum: int, txindex: int, oindex: int) -> None:
    """Within PosLib's bounds a position decodes to its parts, and its transaction position
    (pos // 10^4) fits the uint56 PosLib stores it in."""
    assert 0 <= blknum <= MAX_BLOCK_NUM and 0 <= txindex <= MAX_TX_INDEX and 0 <= oindex <= MAX_OUTPUT_INDEX
    pos = payment.encode_utxo_pos(blknum, txindex, oindex)
    assert payment.decode_utxo_pos(pos) == (blknum, txindex, oindex)
    assert pos // payment.TX_OFFSET < 2**56


def utxo_pos_decode_is_exact(pos: int) -> None:
    """Any non-negative position either is out of PosLib's range (ValueError) or re-encodes to itself."""
    assert pos >= 0
    try:
        parts = payment.decode_utxo_pos(pos)
    except ValueError:
        return
    assert payment.encode_utxo_pos(*parts) == pos


def event_uints_round_trip(blknum: int, amount: int) -> None:
    """Events encode integers minimally and decode them back (events' uint helpers + proofs.rlp)."""
    assert 0 <= blknum < 2**64 and 0 <= amount <= UINT256_MAX
    event = FeeCollected(blknum, TOKEN, amount)
    assert events.decode(events.encode(event)) == event


def payment_uints_round_trip(amount: int, blknum: int, oindex: int) -> None:
    """A transaction's amounts and input positions survive encode/decode (payment's uint helpers)."""
    assert 0 < amount <= UINT256_MAX and 1 <= blknum <= 10**6 and 0 <= oindex <= 3
    tx = payment.PaymentTx([payment.encode_utxo_pos(blknum, 0, oindex)], [_output(False, amount, BOB)])
    assert payment.decode(payment.encode(tx)) == tx


def rlp_decode_is_canonical(raw: bytes) -> None:
    """Strict RLP: whatever decodes re-encodes to the very same bytes, and anything else
    is refused with DecodeError (never another exception)."""
    assert len(raw) <= 72
    try:
        item = rlp.decode(raw)
    except DecodeError:
        return
    assert rlp.encode(item) == raw


def unsigned_bytes_cut_exactly(amount: int, signature_count: int, fill: int) -> None:
    """The Merkle leaf cut out of a signed transaction (the only kind `apply` accepts) is its
    unsigned encoding."""
    assert 0 < amount <= UINT256_MAX and 1 <= signature_count <= 4 and 0 <= fill < 256  # the signed form
    tx = payment.PaymentTx([payment.encode_utxo_pos(1, 0, 0)], [_output(True, amount, BOB)])
    signed = tx.with_signatures(tuple(bytes([fill]) * 65 for _ in range(signature_count)))
    assert payment.unsigned_bytes(payment.encode(signed)) == payment.encode_unsigned(tx)


# --- Merkle ---------------------------------------------------------------------------


def merkle_proof_verifies(count: int, index: int, other: int, salt: int) -> None:
    """A proof of leaf `index` verifies against the root, and only at that index."""
    assert 1 <= count <= 6 and 0 <= index < count and 0 <= other < merkle.MAX_LEAVES and 0 <= salt < 256
    leaves = [bytes([salt, i]) for i in range(count)]
    root, proof = merkle.root(leaves), merkle.proof(leaves, index)
    assert merkle.verify(leaves[index], index, root, proof)
    assert merkle.verify(leaves[index], other, root, proof) == (other == index)


# --- block numbering ------------------------------------------------------------------


def deposit_numbering(child: int, offset: int, amount: int) -> None:
    """A deposit lands in the next deposit block, strictly between two child blocks, and
    leaves every invariant holding; the 1000th one after a child block is refused."""
    assert 1 <= child <= 10**6 and 1 <= offset <= CHILD_BLOCK_INTERVAL and 0 < amount <= UINT256_MAX
    before = attrs.evolve(OPENED, next_child_blknum=child * CHILD_BLOCK_INTERVAL, last_deposit_blknum=(child - 1) * CHILD_BLOCK_INTERVAL + offset - 1)
    blknum = before.next_deposit_blknum
    assert (child - 1) * CHILD_BLOCK_INTERVAL < blknum <= child * CHILD_BLOCK_INTERVAL
    event = Deposit(blknum, payment.encode(payment.deposit_tx(ALICE, ETH, amount)))
    try:
        after = apply(before, event)
    except Rejected as rejected:
        assert rejected.code == "deposit_blocks_exhausted" and offset == CHILD_BLOCK_INTERVAL
        return
    assert blknum % CHILD_BLOCK_INTERVAL != 0
    assert after.utxos[payment.encode_utxo_pos(blknum, 0, 0)].amount == amount
    assert after.next_deposit_blknum == blknum + 1 and after.next_child_blknum == before.next_child_blknum
    assert _catalogue_holds(before, event, after)


def fee_collection_is_exact(owed: int, claimed: int) -> None:
    """Collecting a block's fee succeeds only for exactly what it owes, moving it whole."""
    assert 0 <= owed <= UINT256_MAX and 0 <= claimed <= UINT256_MAX
    before = attrs.evolve(
        OPENED,
        deposited=Map({ETH: owed}),
        open_block_fees=Map({ETH: owed}) if owed else Map(),
    )
    event = FeeCollected(before.next_child_blknum, ETH, claimed)
    try:
        after = apply(before, event)
    except Rejected as rejected:
        assert rejected.code == "fee_mismatch" and (claimed != owed or owed == 0)
        return
    assert claimed == owed > 0
    assert after.fees_collected.get(ETH) == owed and ETH not in after.open_block_fees
    assert _catalogue_holds(before, event, after)


def standard_exit_pays_once(amount: int, challenged: bool, paid: bool) -> None:
    """An exit takes its unspent output off the child chain; the root chain pays it at most
    once, only if unchallenged, and value stays conserved at every step."""
    assert 0 < amount <= UINT256_MAX
    pos = payment.encode_utxo_pos(1, 0, 0)
    output = _output(True, amount)
    before = attrs.evolve(OPENED, utxos=Map({pos: output}), unspent=Map({ETH: amount}), deposited=Map({ETH: amount}),
                          last_deposit_blknum=1)
    steps: list[events.Event] = [events.ExitStarted(7, pos, payment.encode(payment.deposit_tx(ALICE, ETH, amount)))]
    if challenged:
        steps.append(events.ExitChallenged(7))
    steps.append(events.ExitProcessed(7, paid))
    state = before
    try:
        for event in steps:
            after = apply(state, event)
            assert _catalogue_holds(state, event, after)
            state = after
    except Rejected as rejected:
        assert rejected.code == "exit_not_pending" and challenged and paid
        return
    assert pos not in state.utxos
    assert state.exited.get(ETH, 0) == (amount if paid and not challenged else 0)
    try:
        apply(state, events.ExitProcessed(7, True))
        raise AssertionError("an exit was processed twice")
    except Rejected as rejected:
        assert rejected.code == "exit_not_pending"


CONTRACTS = (
    fee_is_the_surplus,
    utxo_pos_round_trip,
    utxo_pos_decode_is_exact,
    event_uints_round_trip,
    payment_uints_round_trip,
    rlp_decode_is_canonical,
    unsigned_bytes_cut_exactly,
    merkle_proof_verifies,
    deposit_numbering,
    fee_collection_is_exact,
    standard_exit_pays_once,
)
