"""Contracts on the pure transitions and their helpers, in CrossHair's "asserts" style.

Why this style: CrossHair 0.0.11x checks a function whose body *starts* with `assert`
statements by treating those as preconditions and any later failure (an `assert`,
or any exception that is not a precondition's AssertionError) as a counterexample.
That needs no decorator library and each contract stays an ordinary function a
reader can call with concrete values (the property tests and `python -c` do).

Every contract calls the real code (`ledger`, `proofs`) through its functions; the
arguments are the free variables CrossHair makes symbolic. Two kinds:
- SEARCHES take wide inputs (any amount, any bytes, whole states through `apply`).
  CrossHair cannot explore all their paths, so it samples them for a while: where
  keccak or coincurve are involved (C code) it realises the values and the check is
  guided random testing. A search says CANNOT_CONFIRM when it found nothing.
- BOUNDED contracts fix a shape (two inputs and one output, one exit, two validators)
  and keep every amount small, so CrossHair explores every path and says CONFIRMED:
  within those bounds, the property holds for every input. They run the rules' own
  arithmetic (the parts with no hashing or signatures, which the ledger names for that)
  on fixed states, and never go through `apply`, so they do not depend on how the
  ledger hashes its log. Small bounds matter beyond speed: an integer that reaches a
  dictionary key or an error message's f-string is realised, one path per value.
"""
from __future__ import annotations

from collections.abc import Iterable

import attrs
from immutables import Map

from ledger import clearing, dex, events, exits, fee_votes, fees, plasma
from ledger import staking as staking_rules
from ledger.errors import Rejected
from ledger.events import (
    BlockSealed,
    BlockSubmitted,
    Deposit,
    ExitChallenged,
    ExitProcessed,
    FeeCollected,
    FeeEpochClosed,
    Genesis,
    InFlightExitWithdrawn,
    StakeWithdrawn,
)
from ledger.state import (
    CHILD_BLOCK_INTERVAL,
    GENESIS_STATE,
    InFlightExit,
    Staking,
    StakingParams,
    State,
    Unbonding,
    Validator,
)
from ledger.transition import apply
from proofs import merkle, payment, rlp
from proofs.errors import DecodeError
from proofs.payment import (
    MAX_BLOCK_NUM,
    MAX_OUTPUT_INDEX,
    MAX_TX_INDEX,
    OUTPUT_TYPE_PAYMENT,
    PAYMENT_TX_TYPE,
    Output,
)
from proofs.rlp import UINT256_MAX
from specs.hooks import InvariantHook
from specs.symbolic import bounded

ETH, TOKEN = bytes(20), bytes.fromhex("5e1f" * 10)
ALICE, BOB = bytes.fromhex("a1" * 20), bytes.fromhex("b0" * 20)
FEE_CODES = {"amounts_do_not_add_up", "multiple_potential_currency_fees", "fees_not_covered", "overpaying_fees"}
OPENED = apply(GENESIS_STATE, Genesis(bytes.fromhex("c0ffee" * 6 + "c0de"), ()))
EMPTY_ROOT = merkle.root([])  # of a child block with no transactions
DEPOSIT = payment.encode(payment.deposit_tx(ALICE, ETH, 1))


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


# --- bounded contracts: fixed shapes, small amounts, every path explored ---------------


def _totals(outputs: Iterable[Output]) -> dict[bytes, int]:
    return {token: sum(o.amount for o in outputs if o.token == token) for token in (ETH, TOKEN)}


@bounded(10)
def fee_of_two_inputs_one_output(a0: int, a1: int, b: int, eth0: bool, eth1: bool, eth_out: bool, bob_signs: bool,
                                 fee: int) -> None:
    """Two inputs, one output, a schedule of 0..3 ETH (0: no schedule): elixir-omg's rule
    exactly. Outputs must be covered per token, at most one token may show a surplus, and
    with a schedule that surplus must be the ETH fee, or nothing for a merge (one owner)."""
    assert 1 <= a0 <= 4 and 1 <= a1 <= 4 and 1 <= b <= 9 and 0 <= fee <= 3
    spent = [_output(eth0, a0), _output(eth1, a1, BOB if bob_signs else ALICE)]
    created = [_output(eth_out, b)]
    schedule = Map({(PAYMENT_TX_TYPE, ETH): fee}) if fee else Map()
    merge = fees.is_merge(spent, created, [o.owner for o in spent])
    assert merge == (not bob_signs)  # fewer outputs than inputs, one token out: one owner decides
    ins, outs = _totals(spent), _totals(created)
    surplus = {t: ins[t] - outs[t] for t in (ETH, TOKEN) if ins[t] != outs[t]}
    if any(amount < 0 for amount in surplus.values()):
        refusal: str | None = "amounts_do_not_add_up"
    elif len(surplus) > 1:
        refusal = "multiple_potential_currency_fees"
    elif not schedule or surplus == ({} if merge else {ETH: fee}):
        refusal = None
    else:
        refusal = "overpaying_fees" if merge or surplus.get(ETH, 0) > fee else "fees_not_covered"
    try:
        token, paid = fees.implicit_fee(PAYMENT_TX_TYPE, spent, created, schedule, merge)
    except Rejected as rejected:
        assert rejected.code == refusal, rejected.code
        return
    assert refusal is None and surplus == ({token: paid} if paid else {})


@bounded(10)
def payment_moves_value_exactly(a0: int, a1: int, b0: int, b1: int, eth0: bool, eth1: bool, eth_b0: bool,
                                eth_b1: bool, others: int) -> None:
    """A payment of two inputs into two outputs (no schedule: the surplus is the fee) moves
    value exactly: per token, unspent plus the open block's fees is what it was, the inputs
    are spent and the outputs are where the block numbers them."""
    assert 1 <= a0 <= 3 and 1 <= a1 <= 3 and 1 <= b0 <= 3 and 1 <= b1 <= 3 and 0 <= others <= 2
    p0, p1 = payment.encode_utxo_pos(1, 0, 0), payment.encode_utxo_pos(2, 0, 0)
    spent = ((p0, _output(eth0, a0)), (p1, _output(eth1, a1)))
    outs = (_output(eth_b0, b0, BOB), _output(eth_b1, b1))
    held = _totals(o for _, o in spent)
    before = attrs.evolve(OPENED, utxos=Map(spent), unspent=Map([(t, held[t] + others) for t in (ETH, TOKEN)]),
                          open_block_fees=Map({ETH: others}))
    try:
        fee_token, fee = fees.implicit_fee(PAYMENT_TX_TYPE, [o for _, o in spent], outs, before.params.fee_schedule)
    except Rejected:
        return
    created = tuple((payment.encode_utxo_pos(before.next_child_blknum, 0, i), o) for i, o in enumerate(outs))
    after = plasma.record_payment(before, b"leaf", spent, created, (ALICE, ALICE), fee_token, fee)
    for token in (ETH, TOKEN):
        assert (after.unspent.get(token, 0) + after.open_block_fees.get(token, 0)
                == before.unspent.get(token, 0) + before.open_block_fees.get(token, 0))
    assert p0 not in after.utxos and p1 not in after.utxos and after.spent == Map({p0: 1, p1: 1})  # at the 2nd event
    assert all(after.utxos[pos] == output for pos, output in created)
    assert len(after.open_block_txs) == 1


def _near(value: int, *edges: int) -> bool:
    return any(edge - 2 <= value <= edge + 2 for edge in edges)


@bounded(10)
def utxo_pos_encode_edges(blknum: int, txindex: int, oindex: int) -> None:
    """Each part within 2 of its range's ends: `encode_utxo_pos` refuses exactly the parts
    out of PosLib's range, and `decode_utxo_pos` inverts it."""
    assert _near(blknum, 0, MAX_BLOCK_NUM) and _near(txindex, 0, MAX_TX_INDEX) and _near(oindex, 0, MAX_OUTPUT_INDEX)
    in_range = 0 <= blknum <= MAX_BLOCK_NUM and 0 <= txindex <= MAX_TX_INDEX and 0 <= oindex <= MAX_OUTPUT_INDEX
    try:
        pos = payment.encode_utxo_pos(blknum, txindex, oindex)
    except ValueError:
        assert not in_range
        return
    assert in_range and payment.decode_utxo_pos(pos) == (blknum, txindex, oindex)


POSITION_EDGES = (0, (MAX_TX_INDEX + 1) * payment.TX_OFFSET, payment.BLOCK_OFFSET,
                  payment.encode_utxo_pos(MAX_BLOCK_NUM, MAX_TX_INDEX, MAX_OUTPUT_INDEX))
"""Where a position's txindex or blknum part overflows, and the largest position."""


@bounded(10)
def utxo_pos_decode_edges(pos: int) -> None:
    """Positions within 2 of where a part overflows: `decode_utxo_pos` returns parts in range
    that encode back, and refuses only positions no parts in range encode to."""
    assert pos >= 0 and _near(pos, *POSITION_EDGES)
    try:
        blknum, txindex, oindex = payment.decode_utxo_pos(pos)
    except ValueError:
        blknum, rest = divmod(pos, payment.BLOCK_OFFSET)  # the only parts with oindex, txindex below their offsets
        try:
            payment.encode_utxo_pos(blknum, *divmod(rest, payment.TX_OFFSET))
        except ValueError:
            return
        raise AssertionError("refused an encodable position") from None
    assert 0 <= txindex <= MAX_TX_INDEX and 0 <= oindex <= MAX_OUTPUT_INDEX and 0 <= blknum <= MAX_BLOCK_NUM
    assert payment.encode_utxo_pos(blknum, txindex, oindex) == pos


def _value(state: State, token: bytes = ETH) -> int:
    """The value the child chain accounts for in `token` outside deposits and fees."""
    return sum(m.get(token, 0) for m in (state.unspent, state.in_exit, state.exited))


@bounded(10)
def standard_exit_locks_and_pays_once(amount: int, others: int, held: bool, challenged: bool, paid: bool,
                                      paid_again: bool) -> None:
    """One standard exit, challenged or not, processed twice: a held output leaves the child
    chain at the start and is paid at most once, only if unchallenged, and unspent + in exit +
    exited stays what it was; an output the ledger does not hold is paid as unbacked."""
    assert 1 <= amount <= 3 and 0 <= others <= 2
    pos, output = payment.encode_utxo_pos(1, 0, 0), _output(True, amount)
    before = attrs.evolve(OPENED, utxos=Map({pos: output}) if held else Map(),
                          spent=Map() if held else Map({pos: 0}), unspent=Map({ETH: amount * held + others}))
    state = exits.start_standard_exit(before, 7, pos, output)
    assert pos not in state.utxos and state.in_exit.get(ETH, 0) == amount * held and _value(state) == _value(before)
    if challenged:
        state = exits.apply_exit_challenged(state, ExitChallenged(7))
    try:
        state = exits.apply_exit_processed(state, ExitProcessed(7, paid))
    except Rejected as rejected:
        assert rejected.code == "exit_not_pending" and challenged and paid
        return
    pays = paid and not challenged
    assert state.exited.get(ETH, 0) == amount * (pays and held) and state.unbacked.get(ETH, 0) == amount * (pays and not held)
    assert _value(state) == _value(before) and state.in_exit.get(ETH, 0) == amount * (held and not pays)
    try:
        exits.apply_exit_processed(state, ExitProcessed(7, paid_again))
    except Rejected as rejected:
        assert rejected.code == "exit_not_pending"
        return
    raise AssertionError("an exit was processed twice")


@bounded(10)
def in_flight_exit_pays_from_its_inputs(a0: int, a1: int, b0: int, b1: int, held0: bool, held1: bool,
                                        first: int) -> None:
    """A canonical in-flight exit of a transaction never included, two inputs (held or not)
    and two piggybacked outputs, paid one after the other: each payout comes from the inputs'
    reserve as far as it goes and the rest is unbacked; in exit always equals the exiting
    outputs plus the reserves, and nothing held is paid twice or lost."""
    assert 1 <= a0 <= 3 and 1 <= a1 <= 3 and 1 <= b0 <= 4 and 1 <= b1 <= 4 and 0 <= first <= 1
    inputs = ((payment.encode_utxo_pos(1, 0, 0), _output(True, a0)), (payment.encode_utxo_pos(2, 0, 0), _output(True, a1)))
    exiting = Map((pos, output) for (pos, output), held in zip(inputs, (held0, held1)) if held)
    held = sum(output.amount for output in exiting.values())
    record = InFlightExit(b"tx", bytes(32), inputs, (_output(True, b0, BOB), _output(True, b1)),
                          piggybacked=frozenset({(True, 0), (True, 1)}))
    state = attrs.evolve(OPENED, exits=Map({9: record}), exiting=exiting, in_exit=Map({ETH: held}))
    paid_out = 0
    for index in (first, 1 - first):
        before, state = state, exits.apply_withdrawn(state, InFlightExitWithdrawn(9, True, index))
        paid = record.outputs[index].amount
        exited = state.exited.get(ETH, 0) - before.exited.get(ETH, 0)
        assert exited + state.unbacked.get(ETH, 0) - before.unbacked.get(ETH, 0) == paid
        assert exited == min(paid, held - paid_out)  # the reserve pays as far as it goes
        assert state.in_exit.get(ETH, 0) == sum(o.amount for o in state.exiting.values()) + exits.reserves(state).get(ETH, 0)
        paid_out += exited
    assert not state.exiting and paid_out == min(held, b0 + b1)
    assert state.in_exit.get(ETH, 0) + state.exited.get(ETH, 0) == held
    try:
        exits.apply_withdrawn(state, InFlightExitWithdrawn(9, True, first))
    except Rejected as rejected:
        assert rejected.code == "not_piggybacked"
        return
    raise AssertionError("an output was paid twice")


def _staking(validators: dict[bytes, Validator], unbonding_blocks: int = 1, slash_bps: int = 0, reward_bps: int = 0,
             **totals: int) -> Staking:
    params = StakingParams(token=TOKEN, max_validators=3, unbonding_blocks=unbonding_blocks,
                           double_sign_slash_bps=slash_bps, reporter_reward_bps=reward_bps, epoch_blocks=1,
                           signed_blocks_window=4, min_signed_bps=0, downtime_slash_bps=0, jail_blocks=1)
    return Staking(params, validators=Map(validators), **totals)


def _stake(state: State) -> int:
    """Staking tokens held as stake, burned, or back in the UTXO set."""
    s = state.staking
    return s.bonded_total + s.unbonding_total + s.burned + state.unspent.get(TOKEN, 0)


@bounded(10)
def unbonding_matures_then_withdraws_once(bonded: int, amount: int, unbonding_blocks: int, waited: int,
                                          others: int) -> None:
    """Unbonding moves stake out of the bond; it is withdrawable once `unbonding_blocks` child
    blocks have been sealed, not a block earlier, exactly once, as one output of the amount."""
    assert 0 <= bonded <= 3 and 0 <= amount <= 4 and 0 <= unbonding_blocks <= 2 and 0 <= waited <= 3
    assert 0 <= others <= 2
    validator = Validator(bytes(48), bonded=bonded, nonce=5)
    staking = _staking({ALICE: validator}, unbonding_blocks, bonded_total=bonded + others)
    before = attrs.evolve(OPENED, staking=staking)
    try:
        state = staking_rules.start_unbonding(before, staking, ALICE, validator, amount)
    except Rejected as rejected:
        assert rejected.code == "amount_exceeds_stake" and not 0 < amount <= bonded
        return
    assert 0 < amount <= bonded and state.staking.validators[ALICE].bonded == bonded - amount
    assert _stake(state) == _stake(before)
    for _ in range(waited):
        state = plasma.apply_block_sealed(state, BlockSealed(state.next_child_blknum, EMPTY_ROOT, 0))
    try:
        withdrawn = staking_rules.apply_stake_withdrawn(state, StakeWithdrawn(ALICE, 5))
    except Rejected as rejected:
        assert rejected.code == "unbonding_not_mature" and waited < unbonding_blocks
        return
    assert waited >= unbonding_blocks
    [(pos, output)] = withdrawn.effects.created
    assert withdrawn.utxos[pos] == output == Output(OUTPUT_TYPE_PAYMENT, ALICE, TOKEN, amount)
    assert _stake(withdrawn) == _stake(before) and withdrawn.staking.unbonding_total == 0
    try:
        staking_rules.apply_stake_withdrawn(withdrawn, StakeWithdrawn(ALICE, 5))
    except Rejected as rejected:
        assert rejected.code == "unknown_unbonding"
        return
    raise AssertionError("stake withdrawn twice")


def _floor_of(part: int, whole: int, bps: int) -> bool:
    """`part` is whole·bps/10000 rounded down."""
    return part * staking_rules.BPS <= whole * bps < (part + 1) * staking_rules.BPS


@bounded(10)
def equivocation_slash_splits_exactly(bonded: int, own: int, other: int, slash_bps: int, reward_bps: int) -> None:
    """An equivocator loses exactly the fraction (rounded down) of its bond and of its own
    unbonding entry, no one else's; the reporter gets its fraction of that cut (rounded
    down) and the rest is burned: no staking token is created or lost."""
    assert 0 <= bonded <= 30_000 and 0 <= own <= 30_000 and 0 <= other <= 3
    assert 0 <= slash_bps <= 10_000 and 0 <= reward_bps <= 10_000
    validator = Validator(bytes(48), bonded=bonded)
    unbonding = Map({(ALICE, 0): Unbonding(ALICE, own, 3000), (BOB, 0): Unbonding(BOB, other, 3000)})
    before = _staking({ALICE: validator}, slash_bps=slash_bps, reward_bps=reward_bps, bonded_total=bonded + 5,
                      unbonding_total=own + other, burned=7)
    before = attrs.evolve(before, unbonding=unbonding)
    after, reward = staking_rules.slash_equivocator(before, ALICE, validator, rewarded=True)
    slashed, cut = bonded - after.validators[ALICE].bonded, own - after.unbonding[(ALICE, 0)].amount
    assert _floor_of(slashed, bonded, slash_bps) and _floor_of(cut, own, slash_bps)
    assert after.unbonding[(BOB, 0)] == unbonding[(BOB, 0)]
    assert _floor_of(reward, slashed + cut, reward_bps)
    assert after.burned - before.burned == slashed + cut - reward
    assert after.bonded_total + after.unbonding_total + after.burned + reward == before.bonded_total + before.unbonding_total + before.burned
    assert after.validators[ALICE].jailed and after.validators[ALICE].tombstoned


@bounded(10)
def fee_epoch_pays_pro_rata_and_carries_dust(stake0: int, stake1: int, jailed1: bool, collected: int,
                                            carried: int) -> None:
    """Closing a fee epoch pays each active validator floor(pool·stake/total) of the
    undistributed fees (those of earlier epochs' dust included); what rounding leaves, less
    than one unit per validator, stays undistributed for the next epoch: nothing is paid twice
    or lost."""
    assert 1 <= stake0 <= 3 and 0 <= stake1 <= 3 and 0 <= collected <= 5 and 0 <= carried <= 1
    validators = {ALICE: Validator(bytes(48), bonded=stake0), BOB: Validator(bytes([1]) * 48, bonded=stake1, jailed=jailed1)}
    staking = attrs.evolve(_staking(validators, bonded_total=stake0 + stake1), fees_distributed=Map({ETH: 2}))
    before = attrs.evolve(OPENED, staking=staking, next_child_blknum=2 * CHILD_BLOCK_INTERVAL,
                          fees_collected=Map({ETH: 2 + carried + collected}))
    pool = fee_votes.undistributed(before)[ETH]
    after = fee_votes.apply_fee_epoch_closed(before, FeeEpochClosed(1, ()))
    active = {ALICE: stake0} if jailed1 or not stake1 else {ALICE: stake0, BOB: stake1}
    paid = {output.owner: output.amount for _, output in after.effects.created}
    assert all(output.token == ETH for _, output in after.effects.created) and set(paid) <= set(active)
    total = sum(active.values())
    for owner, stake in active.items():
        share = paid.get(owner, 0)
        assert share * total <= pool * stake < (share + 1) * total
    dust = fee_votes.undistributed(after)[ETH]
    assert dust + sum(paid.values()) == pool and 0 <= dust < len(active)
    assert after.unspent.get(ETH, 0) == sum(paid.values()) and after.staking.epoch == 1


@bounded(10)
def fee_votes_take_the_lower_weighted_median(fee0: int, fee1: int, fee2: int, stake0: int, stake1: int, stake2: int,
                                            abstains: bool) -> None:
    """The schedule the votes set is the lowest voted fee at which the stake voting at most
    that fee reaches half the voting stake (three voters, or two when one abstains)."""
    assert 0 <= fee0 <= 3 and 0 <= fee1 <= 3 and 0 <= fee2 <= 3 and 1 <= stake0 <= 3 and 1 <= stake1 <= 3
    assert 1 <= stake2 <= 3
    key = (PAYMENT_TX_TYPE, ETH)
    votes = [(fee0, stake0), (fee1, stake1)] + ([] if abstains else [(fee2, stake2)])
    validators = [(bytes([i]) * 20, Validator(bytes(48), bonded=stake, fee_vote=Map({key: fee}))) for i, (fee, stake) in enumerate(votes)]
    if abstains:
        validators.append((bytes([9]) * 20, Validator(bytes(48), bonded=stake2)))
    [rule] = fee_votes.median_schedule(validators)
    median, voting = rule.amount, sum(stake for _, stake in votes)
    assert (rule.tx_type, rule.token) == key and median in [fee for fee, _ in votes]
    assert 2 * sum(stake for fee, stake in votes if fee <= median) >= voting
    assert 2 * sum(stake for fee, stake in votes if fee < median) < voting


NUMBERING_STEPS = ("deposit after the last", "deposit at next - 1", "deposit at next", "deposit at next + 1", "seal",
                   "submit")


@bounded(20)
def deposits_and_child_blocks_are_numbered_in_order(s0: int, s1: int, s2: int) -> None:
    """Three steps, each a deposit (at the next deposit number, one off it, or right after the
    last deposit), a seal of the open child block, or the submission of the next sealed one,
    from an interval with one deposit block left. Deposits land at most 999 per interval,
    never at a child block's number, after the last deposit and the last submitted child
    block, before the open child block, and at exactly PlasmaFramework's next deposit number
    once the open block's predecessor is submitted; child blocks seal 1000 apart."""
    assert 0 <= s0 < len(NUMBERING_STEPS) and 0 <= s1 < len(NUMBERING_STEPS) and 0 <= s2 < len(NUMBERING_STEPS)
    state = attrs.evolve(OPENED, last_deposit_blknum=CHILD_BLOCK_INTERVAL - 2)
    for step in (NUMBERING_STEPS[s0], NUMBERING_STEPS[s1], NUMBERING_STEPS[s2]):  # one path per sequence
        open_child, last, submitted = state.next_child_blknum, state.last_deposit_blknum, state.submitted_blknum
        next_deposit = state.next_deposit_blknum
        if step == "seal":
            state = plasma.apply_block_sealed(state, BlockSealed(open_child, EMPTY_ROOT, 0))
            assert state.next_child_blknum == open_child + CHILD_BLOCK_INTERVAL and state.blocks[open_child].root == EMPTY_ROOT
            continue
        if step == "submit":
            if submitted + CHILD_BLOCK_INTERVAL < open_child:  # an honest operator submits what it sealed
                state = exits.apply_block_submitted(state, BlockSubmitted(submitted + CHILD_BLOCK_INTERVAL, EMPTY_ROOT))
                assert state.submitted_blknum == submitted + CHILD_BLOCK_INTERVAL
            continue
        blknum = last + 1 if step == "deposit after the last" else next_deposit + NUMBERING_STEPS.index(step) - 2  # -1, 0, +1
        full = last % CHILD_BLOCK_INTERVAL == CHILD_BLOCK_INTERVAL - 1 and blknum == last + 1
        try:
            state = plasma.apply_deposit(state, Deposit(blknum, DEPOSIT))
        except Rejected as rejected:
            assert rejected.code == ("deposit_blocks_exhausted" if full else "wrong_block_number")
            assert step != "deposit at next" or full  # the next deposit number is taken unless the interval is full
            continue
        base = blknum - blknum % CHILD_BLOCK_INTERVAL
        assert blknum % CHILD_BLOCK_INTERVAL and blknum > last and base >= submitted and blknum < open_child
        if submitted == open_child - CHILD_BLOCK_INTERVAL:
            assert blknum == next_deposit
        assert state.last_deposit_blknum == blknum and state.blocks[blknum].is_deposit


# --- the DEX's clearing arithmetic (ledger/clearing.py) and trading fees ---------------------

@bounded(10)
def clearing_pro_rata_conserves(offer0: int, offer1: int, traded: int) -> None:
    """Sharing `traded` units among two offers pro rata by largest remainder hands out
    exactly `traded`, never more than an offer, and each share is its exact share rounded
    down or up."""
    assert 0 <= offer0 <= 4 and 0 <= offer1 <= 4 and 0 <= traded <= offer0 + offer1
    offers = {b"a": offer0, b"b": offer1}
    total = offer0 + offer1
    shares = clearing.share_pro_rata(offers, traded)
    assert sum(shares.values()) == traded
    for key, offer in offers.items():
        assert 0 <= shares[key] <= offer
        assert total == 0 or abs(shares[key] * total - traded * offer) < total  # within one of traded·offer/total


@bounded(10)
def clearing_quote_bounds_respect_the_limit(base_amount: int, num: int, den: int, limit_sell: int, limit_buy: int,
                                            seller: bool) -> None:
    """The quote amounts an order may get (a seller) or pay (a buyer) for `base_amount` at
    num/den are its exact amount rounded down or up, each at or better than its limit (when
    the price is), and the range has at most two values."""
    assert 1 <= base_amount <= 6 and 1 <= num <= 4 and 1 <= den <= 4 and 1 <= limit_sell <= 4 and 1 <= limit_buy <= 4
    assert limit_buy * den <= num * limit_sell if seller else num * limit_buy <= den * limit_sell  # it accepts num/den
    base, quote = b"\x01" * 20, b"\x02" * 20
    order = clearing.Order(bytes(32), base if seller else quote, quote if seller else base, 8, limit_sell, limit_buy)
    assert clearing.accepts(order, base, num, den)
    lo, hi, remainder = clearing.quote_bounds(order, base, base_amount, num, den)
    assert remainder == base_amount * num % den and hi - lo <= 1
    for amount in range(lo, hi + 1):
        assert abs(amount * den - base_amount * num) < den  # within one unit of the price
        if seller:
            assert amount * limit_sell >= base_amount * limit_buy  # gets at least its limit
        else:
            assert base_amount * limit_sell >= amount * limit_buy and amount >= 1  # pays at most its limit


@bounded(10)
def clearing_rounding_hits_the_total(lo0: int, lo1: int, up0: bool, up1: bool, rem0: int, rem1: int, total: int) -> None:
    """Rounding two orders' quote amounts to a total both can reach gives exactly that total,
    each order its lowest amount or one more, one more only if it may round up."""
    assert 0 <= lo0 <= 3 and 0 <= lo1 <= 3 and 0 <= rem0 <= 3 and 0 <= rem1 <= 3
    assert lo0 + lo1 <= total <= lo0 + up0 + lo1 + up1
    bounds = {b"a": (lo0, lo0 + up0, rem0), b"b": (lo1, lo1 + up1, rem1)}
    amounts = clearing.round_to_total(bounds, total)
    assert sum(amounts.values()) == total
    assert all(lo <= amounts[key] <= hi for key, (lo, hi, _) in bounds.items())


def clearing_two_orders_cross_within_their_limits(seller_amount: int, seller_sell: int, seller_buy: int,
                                                  buyer_amount: int, buyer_sell: int, buyer_buy: int) -> None:
    """A seller and a buyer of one pair: if they trade, it is at one price, within both
    limits and amounts, and each token is conserved."""
    assert 1 <= seller_amount <= 50 and 1 <= buyer_amount <= 50
    assert 1 <= seller_sell <= 9 and 1 <= seller_buy <= 9 and 1 <= buyer_sell <= 9 and 1 <= buyer_buy <= 9
    base, quote = b"\x01" * 20, b"\x02" * 20
    seller = clearing.Order(b"\x01" * 32, base, quote, seller_amount, seller_sell, seller_buy)
    buyer = clearing.Order(b"\x02" * 32, quote, base, buyer_amount, buyer_sell, buyer_buy)
    for pair in clearing.clear([buyer, seller]):
        fills = {fill.order_id: fill for fill in pair.fills}
        sold, bought = fills[seller.order_id], fills[buyer.order_id]
        assert sold.sold == bought.bought and sold.bought == bought.sold
        assert 0 < sold.sold <= seller_amount and 0 < bought.sold <= buyer_amount
        assert sold.bought * seller_sell >= sold.sold * seller_buy and bought.bought * buyer_sell >= bought.sold * buyer_buy


@bounded(5)
def trading_fee_never_exceeds_the_rate(bought: int, bps: int) -> None:
    """A fill's trading fee is its rate of the bought amount rounded down: never more than the
    rate, less by under one unit, never more than the amount bought."""
    assert 0 <= bought <= 2**64 and 0 <= bps <= fee_votes.MAX_TRADING_FEE_BPS
    fee = fee_votes.trading_fee(bought, bps)
    assert 0 <= fee <= bought and fee * 10_000 <= bought * bps < (fee + 1) * 10_000


@bounded(5)
def settled_owner_keeps_part_of_the_fill(bought: int, bps: int) -> None:
    """A settlement pays every filled owner at least one unit of what it bought, whatever rate
    the stakers voted (up to the whole): the fee is the rate's, capped one unit below the fill."""
    assert 1 <= bought <= 2**64 and 0 <= bps <= fee_votes.MAX_TRADING_FEE_BPS
    fee = dex.fill_fee(bought, bps)
    assert 0 <= fee < bought and fee <= fee_votes.trading_fee(bought, bps)
    assert fee == fee_votes.trading_fee(bought, bps) or bps == fee_votes.MAX_TRADING_FEE_BPS


SEARCHES = (
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
    clearing_two_orders_cross_within_their_limits,
)
"""Wide contracts: CrossHair searches them for a while; most it cannot exhaust."""

BOUNDED = (
    fee_of_two_inputs_one_output,
    payment_moves_value_exactly,
    utxo_pos_encode_edges,
    utxo_pos_decode_edges,
    standard_exit_locks_and_pays_once,
    in_flight_exit_pays_from_its_inputs,
    unbonding_matures_then_withdraws_once,
    equivocation_slash_splits_exactly,
    fee_epoch_pays_pro_rata_and_carries_dust,
    fee_votes_take_the_lower_weighted_median,
    deposits_and_child_blocks_are_numbered_in_order,
    clearing_pro_rata_conserves,
    clearing_quote_bounds_respect_the_limit,
    clearing_rounding_hits_the_total,
    trading_fee_never_exceeds_the_rate,
    settled_owner_keeps_part_of_the_fill,
)
"""Fixed-shape contracts CrossHair must CONFIRM (see `specs.symbolic.bounded`)."""

CONTRACTS = BOUNDED + SEARCHES
