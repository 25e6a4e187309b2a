"""The catalogue sees rule bugs on its own: each invariant fires on a hand-made bad
transition (the state a buggy rule would produce, made with attrs.evolve) and stays
silent on honest runs; and it shares no code with the rules it guards."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import attrs
import pytest
from immutables import Map

from adapters.audit_report import run_audit
from adapters.simulation import Config, Simulation
from ledger import witnesses
from ledger.events import (
    BlockCommitted,
    Deposit,
    BlockSealed,
    Equivocation,
    ExitProcessed,
    ExitStarted,
    FeeCollected,
    FeeEpochClosed,
    FeeRule,
    Genesis,
    InFlightExitChallenged,
    InFlightExitFinalized,
    InFlightExitPiggybacked,
    InFlightExitStarted,
    InFlightExitWithdrawn,
    PairFee,
    Payment,
    StakeWithdrawn,
    TradingFeeVoted,
    UnbondingStarted,
)
from ledger.fee_votes import next_schedule
from ledger.plasma import open_block_root
from ledger.staking import active_set, unbond_digest
from ledger.state import GENESIS_STATE, Block, Staking, StakingParams, State, Unbonding, Validator
from ledger.transition import apply
from proofs import bls, eip712, merkle
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, decode, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from specs import actors, catalogue
from specs.catalogue import BY_ID, CATALOGUE, block_root
from specs.hooks import InvariantHook
from tests.conftest import ADDRS, ETH, KEYS, TOKEN, checked, deposit, genesis, out, seal, signed
from tests.specs.test_search import trusting_apply

D = [encode_utxo_pos(blknum, 0, 0) for blknum in (1, 2, 3, 4)]
DEPOSIT_TX = encode(deposit_tx(ADDRS[0], ETH, 100))


def verdict(invariant: str, before: State, event: object, after: State) -> str | None:
    return BY_ID[invariant].check(before, event, after)


def fires(invariant: str, before: State, event: object, after: State) -> str:
    detail = verdict(invariant, before, event, after)
    assert detail is not None, f"{invariant} missed the bad transition"
    return detail


# --- independence -----------------------------------------------------------------------

ALLOWED_FROM_LEDGER = {"ledger.state", "ledger.events"}  # types and events; constants from anywhere


def test_the_catalogue_imports_no_rule_helper():
    """From `ledger/` only state types, events and constants (UPPER_CASE), and the memo of
    prefetched signature recoveries; from `proofs/` anything but the Merkle tree it restates."""
    tree = ast.parse(Path(catalogue.__file__).read_text())
    offending = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            offending += [a.name for a in node.names if a.name.split(".")[0] in ("ledger", "proofs")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                name = f"{module}.{alias.name}"
                if module in ("ledger", "proofs") or module == "proofs.merkle":
                    offending.append(name)
                elif module.startswith("ledger.") and module not in ALLOWED_FROM_LEDGER:
                    if not alias.name.isupper() and name != "ledger.witnesses.prefetched":
                        offending.append(name)
    assert offending == []


def test_no_rule_function_reaches_the_catalogue_namespace():
    """Whatever the import statement, no function of a rule module is bound in the catalogue."""
    borrowed = [
        name for name, value in vars(catalogue).items()
        if inspect.isfunction(value) and value.__module__.startswith("ledger.")
        and f"{value.__module__}.{name}" != "ledger.witnesses.prefetched"
    ]
    assert borrowed == []


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 8, 33, 1000])
def test_the_restated_tree_agrees_with_proofs_merkle(count):
    leaves = [b"tx %d" % i for i in range(count)]
    assert block_root(leaves) == merkle.root(leaves)


def make_staking(state: State, bonded: dict[int, int], jailed: tuple[int, ...] = (), max_validators: int = 3,
                 epoch_blocks: int = 1) -> State:
    """`state` with staking opened by hand: key i bonds bonded[i] OMG (TOKEN), deposited for it."""
    params = StakingParams(TOKEN, max_validators, 2, 500, 1000, epoch_blocks, 4, 5000, 100, 3)
    validators = Map({ADDRS[i]: Validator(b"", amount, jailed=i in jailed) for i, amount in bonded.items()})
    deposited = state.deposited.set(TOKEN, state.deposited.get(TOKEN, 0) + sum(bonded.values()))
    return attrs.evolve(state, deposited=deposited, staking=Staking(params, validators, bonded_total=sum(bonded.values())))


@pytest.mark.parametrize("bonded, jailed, cap", [
    ({0: 100, 1: 200, 2: 300}, (), 3), ({0: 100, 1: 200, 2: 300}, (1,), 3), ({0: 5, 1: 5, 2: 5, 3: 5}, (), 2),
    ({0: 7, 1: 0, 2: 9, 3: 7}, (2,), 2), ({0: 1}, (0,), 1),
])
def test_the_restated_active_set_agrees_with_the_rule(funded, bonded, jailed, cap):
    staking = make_staking(funded, bonded, jailed, cap).staking
    assert catalogue._active_set(staking) == active_set(staking)


# --- honest runs: silent --------------------------------------------------------------------

def test_a_seeded_proof_of_stake_run_audits_clean_with_every_invariant_after_every_event(tmp_path):
    Simulation(tmp_path / "pos.db", Config(blocks=4, epoch_blocks=2, validators=4)).run()
    report = run_audit(tmp_path / "pos.db", progress=False)
    assert report.ok, report.failure
    assert report.kinds["equivocation"] == 1 and report.kinds["fee_epoch_closed"] == 2
    assert set(report.invariants_checked) == set(BY_ID)


def test_an_exit_game_run_keeps_every_invariant(funded):
    raw = signed([D[0]], [out(2, 60), out(0, 40)], [0])
    sealed = seal(checked(funded, Payment(raw)))
    change = encode_utxo_pos(1000, 0, 1)
    tx = decode(raw)
    state = checked(sealed, ExitStarted(7, change, encode_unsigned(tx)), ExitProcessed(7, True))
    state = checked(state, InFlightExitStarted(9, encode_unsigned(tx), (DEPOSIT_TX,), tx.inputs),
                    InFlightExitPiggybacked(9, True, 0), InFlightExitWithdrawn(9, True, 0))
    withheld = decode(signed([D[1]], [out(2, 30, TOKEN), out(1, 20, TOKEN)], [1]))
    state = checked(state, InFlightExitStarted(11, encode_unsigned(withheld), (encode(deposit_tx(ADDRS[1], TOKEN, 50)),), (D[1],)),
                    InFlightExitPiggybacked(11, True, 1), InFlightExitWithdrawn(11, True, 1))
    assert (state.exited[ETH], state.exited[TOKEN], state.in_exit[TOKEN], dict(state.exits[11].reserve)) == (100, 20, 30, {TOKEN: 30})


# --- INV-SPEND-SIGNED: from the transaction's own bytes, never the rule's Effects -----------

@pytest.fixture
def three_deposits() -> State:
    state = genesis()
    for owner in (0, 0, 1):
        state = deposit(state, owner, 10)
    return state


def test_spend_signed_sees_a_wrong_key_on_a_later_input(three_deposits):
    honest = Payment(signed(D[:3], [out(3, 30)], [0, 0, 1]))
    after = apply(three_deposits, honest)  # what a rule checking only the first owner also produces
    assert verdict("INV-SPEND-SIGNED", three_deposits, honest, after) is None
    forged = Payment(signed(D[:3], [out(3, 30)], [0, 0, 3]))
    assert "signed by" in fires("INV-SPEND-SIGNED", three_deposits, forged, after)
    lying = attrs.evolve(after, effects=attrs.evolve(after.effects, signers=(ADDRS[0], ADDRS[0], ADDRS[1])))
    fires("INV-SPEND-SIGNED", three_deposits, forged, lying)  # the Effects' word is not taken


def test_spend_signed_sees_a_high_s_signature(three_deposits):
    honest = Payment(signed(D[:2], [out(3, 20)], [0, 0]))
    tx = decode(honest.tx)
    twin = Payment(encode(tx.with_signatures((tx.signatures[0], actors.malleated(tx.signatures[1])))))
    assert "malleable" in fires("INV-SPEND-SIGNED", three_deposits, twin, apply(three_deposits, honest))


def test_the_catalogue_alone_now_sees_a_missing_owner_check():
    """The search's trusting ledger (tests/specs/test_search.py) used to need the model to be caught."""
    owner, token = actors.ADDRESSES[0], actors.TOKENS[0]
    state = apply(apply(GENESIS_STATE, Genesis(actors.CONTRACT, ())), Deposit(1, actors.unsigned_deposit(((owner, token, 10),))))
    tx = PaymentTx([D[0]], [Output(OUTPUT_TYPE_PAYMENT, actors.ADDRESSES[3], token, 10)])
    forged = Payment(encode(tx.with_signatures((actors.sign(eip712.signing_hash(tx, actors.CONTRACT), 2),))))
    assert "signed by" in fires("INV-SPEND-SIGNED", state, forged, trusting_apply(state, forged))


def test_spend_signed_reuses_a_prefetched_recovery(three_deposits, monkeypatch):
    event = Payment(signed(D[:1], [out(3, 10)], [0]))
    separator = three_deposits.params.domain_separator
    witnesses._memo[(event.tx, separator)] = (ADDRS[0],)  # as a prefetching batch leaves it
    after = apply(three_deposits, event)
    monkeypatch.setattr(catalogue, "_recover", lambda *_: pytest.fail("recovered a second time"))
    assert verdict("INV-SPEND-SIGNED", three_deposits, event, after) is None
    witnesses.forget()
    assert witnesses.prefetched(event.tx, separator) is None


# --- INV-NO-DOUBLE-SPEND, INV-OUTPUT-POSITIONS: from the states, not the Effects -------------

def test_no_double_spend_sees_an_input_left_unspent_even_when_the_effects_agree(funded):
    event = Payment(signed([D[0]], [out(2, 100)], [0]))
    after = apply(funded, event)
    assert verdict("INV-NO-DOUBLE-SPEND", funded, event, after) is None
    kept = attrs.evolve(after, utxos=after.utxos.set(D[0], out(0, 100)), spent=funded.spent,
                        effects=attrs.evolve(after.effects, spent=()))
    assert "still unspent" in fires("INV-NO-DOUBLE-SPEND", funded, event, kept)


def test_no_double_spend_sees_an_output_vanish_that_the_event_never_named(funded):
    event = Payment(signed([D[0]], [out(2, 100)], [0]))
    after = apply(funded, event)
    assert "UTXO set changed" in fires("INV-NO-DOUBLE-SPEND", funded, event, attrs.evolve(after, utxos=after.utxos.delete(D[1])))


def test_no_double_spend_sees_a_spent_output_spent_again(funded):
    spent = apply(funded, Payment(signed([D[0]], [out(2, 100)], [0])))
    resurrected = attrs.evolve(spent, utxos=spent.utxos.set(D[0], out(0, 100)))  # a rule forgot to delete it
    again = Payment(signed([D[0]], [out(3, 100)], [0]))
    assert "already been spent" in fires("INV-NO-DOUBLE-SPEND", resurrected, again, apply(resurrected, again))


def test_output_positions_see_effects_that_misreport_the_outputs(funded):
    event = Payment(signed([D[0]], [out(2, 60), out(0, 40)], [0]))
    after = apply(funded, event)
    assert verdict("INV-OUTPUT-POSITIONS", funded, event, after) is None
    lying = attrs.evolve(after, effects=attrs.evolve(after.effects, created=after.effects.created[:1]))
    assert "effects report" in fires("INV-OUTPUT-POSITIONS", funded, event, lying)


# --- INV-EXIT-PAID-ONCE: which outputs left and entered exiting and spent -------------------

def test_exit_paid_once_sees_an_exit_that_leaves_its_output_spendable(funded):
    event = ExitStarted(7, D[0], DEPOSIT_TX)
    after = apply(funded, event)
    assert verdict("INV-EXIT-PAID-ONCE", funded, event, after) is None
    assert "unspent to exiting" in fires("INV-EXIT-PAID-ONCE", funded, event, attrs.evolve(after, utxos=funded.utxos))


def test_exit_paid_once_sees_a_paid_output_kept_exiting(funded):
    exiting = apply(funded, ExitStarted(7, D[0], DEPOSIT_TX))
    event = ExitProcessed(7, True)
    paid = apply(exiting, event)
    assert verdict("INV-EXIT-PAID-ONCE", exiting, event, paid) is None
    assert "paid twice" in fires("INV-EXIT-PAID-ONCE", exiting, event, attrs.evolve(paid, exiting=exiting.exiting))


def test_exit_paid_once_sees_an_output_locked_that_no_exit_named(funded):
    event = ExitStarted(7, D[0], DEPOSIT_TX)
    after = apply(funded, event)
    extra = attrs.evolve(after, utxos=after.utxos.delete(D[1]), exiting=after.exiting.set(D[1], funded.utxos[D[1]]))
    assert "changed exiting" in fires("INV-EXIT-PAID-ONCE", funded, event, extra)


# --- INV-PAYMENT-BALANCES: the fee owed, from the schedule before the payment ---------------

@pytest.fixture
def fee_of_two() -> State:
    """Fee 2 ETH per payment; key 0 deposits 100 and 50 ETH."""
    return deposit(deposit(genesis((FeeRule(1, ETH, 2),)), 0, 100), 0, 50)


def under_schedule(state: State, event: Payment, fees: dict) -> State:
    """What a rule reading the wrong schedule would produce: `event` applied under `fees`."""
    lenient = attrs.evolve(state, params=attrs.evolve(state.params, fee_schedule=Map(fees)))
    return attrs.evolve(apply(lenient, event), params=state.params)


def test_payment_balances_sees_a_fee_below_the_schedule(fee_of_two):
    cheap = Payment(signed([D[0]], [out(2, 99)], [0]))
    assert "schedule asks 2" in fires("INV-PAYMENT-BALANCES", fee_of_two, cheap, under_schedule(fee_of_two, cheap, {(1, ETH): 1}))
    honest = Payment(signed([D[0]], [out(2, 98)], [0]))
    assert verdict("INV-PAYMENT-BALANCES", fee_of_two, honest, apply(fee_of_two, honest)) is None


def test_payment_balances_sees_a_merge_charged_a_fee(fee_of_two):
    merge = Payment(signed(D[:2], [out(0, 148)], [0, 0]))
    assert "merge" in fires("INV-PAYMENT-BALANCES", fee_of_two, merge, under_schedule(fee_of_two, merge, {}))


def test_payment_balances_takes_a_zero_fee_as_free_and_nothing_else(fee_of_two):
    """A schedule of 0 in some token makes its tx type free; otherwise paying nothing is no fee."""
    free = Payment(signed([D[0]], [out(2, 100)], [0]))
    assert "no fee paid" in fires("INV-PAYMENT-BALANCES", fee_of_two, free, under_schedule(fee_of_two, free, {}))
    zero = attrs.evolve(fee_of_two, params=attrs.evolve(fee_of_two.params, fee_schedule=Map({(1, ETH): 2, (1, TOKEN): 0})))
    assert verdict("INV-PAYMENT-BALANCES", zero, free, apply(zero, free)) is None
    other_type = attrs.evolve(zero, params=attrs.evolve(zero.params, fee_schedule=Map({(1, ETH): 2, (2, TOKEN): 0})))
    assert "no fee paid" in fires("INV-PAYMENT-BALANCES", other_type, free, apply(zero, free))


def test_payment_balances_sees_a_fee_not_booked(fee_of_two):
    honest = Payment(signed([D[0]], [out(2, 98)], [0]))
    after = apply(fee_of_two, honest)
    assert "fees booked" in fires("INV-PAYMENT-BALANCES", fee_of_two, honest, attrs.evolve(after, open_block_fees=Map()))


# --- INV-OUTPUTS-POSITIVE ------------------------------------------------------------------

def zeroed(state: State, pos: int) -> State:
    """`state` with the output at `pos` holding 0: what a rule minting a zero output leaves."""
    output = state.utxos[pos]
    return attrs.evolve(state, utxos=state.utxos.set(pos, output._replace(amount=0)))


def test_outputs_positive_sees_a_zero_output_a_payment_or_deposit_creates(funded):
    payment = Payment(signed([D[0]], [out(2, 60), out(0, 40)], [0]))
    after = apply(funded, payment)
    assert verdict("INV-OUTPUTS-POSITIVE", funded, payment, after) is None
    assert "amount 0" in fires("INV-OUTPUTS-POSITIVE", funded, payment, zeroed(after, encode_utxo_pos(1000, 0, 1)))
    event = Deposit(3, DEPOSIT_TX)
    after = apply(funded, event)
    assert verdict("INV-OUTPUTS-POSITIVE", funded, event, after) is None
    assert "amount 0" in fires("INV-OUTPUTS-POSITIVE", funded, event, zeroed(after, D[2]))


def test_outputs_positive_sees_stake_slashed_to_nothing_returned_as_an_output(unbonding):
    """The search's old finding: withdrawing an entry slashed to 0 minted an output of 0."""
    state = seal(seal(unbonding))
    event = StakeWithdrawn(ADDRS[1], 0)
    after = apply(state, event)
    assert verdict("INV-OUTPUTS-POSITIVE", state, event, after) is None
    minted = encode_utxo_pos(state.next_child_blknum, len(state.open_block_txs), 0)
    assert "amount 0" in fires("INV-OUTPUTS-POSITIVE", state, event, zeroed(after, minted))


# --- INV-FEES-COLLECTED ----------------------------------------------------------------------

def test_fees_collected_sees_a_collection_for_less_than_owed(fee_of_two):
    state = apply(fee_of_two, Payment(signed([D[0]], [out(2, 98)], [0])))
    honest = apply(state, FeeCollected(1000, ETH, 2))
    assert verdict("INV-FEES-COLLECTED", state, FeeCollected(1000, ETH, 2), honest) is None
    short = FeeCollected(1000, ETH, 1)
    fires("INV-FEES-COLLECTED", state, short, honest)  # logged 1, booked 2
    rest_open = attrs.evolve(state, open_block_fees=Map({ETH: 1}), fees_collected=Map({ETH: 1}))
    fires("INV-FEES-COLLECTED", state, short, rest_open)  # logged 1, booked 1, 1 left open
    sealed = BlockSealed(1000, open_block_root(state.open_block_txs), 1)
    assert "not collected" in fires("INV-FEES-COLLECTED", state, sealed, state)


# --- INV-MERKLE-ROOT: the restated tree, at seal time ------------------------------------------

def test_merkle_root_sees_a_root_that_drops_the_last_leaf(funded):
    state = checked(funded, Payment(signed([D[0]], [out(2, 100)], [0])), Payment(signed([D[1]], [out(3, 50, TOKEN)], [1])))
    event = BlockSealed(1000, open_block_root(state.open_block_txs), 2)
    after = apply(state, event)
    assert verdict("INV-MERKLE-ROOT", state, event, after) is None
    short = attrs.evolve(after, blocks=after.blocks.set(1000, Block(merkle.root(state.open_block_txs[:1]), 2, False)))
    assert "root does not match" in fires("INV-MERKLE-ROOT", state, event, short)


# --- INV-COMMIT-QUORUM, INV-FEES-DISTRIBUTED: the catalogue's own active set ------------------

def committed(state: State, blknum: int, bitmap: bytes) -> tuple[BlockCommitted, State]:
    event = BlockCommitted(blknum, 0, ADDRS[0], bitmap, b"")
    staking = attrs.evolve(state.staking, commits=state.staking.commits.set(blknum, bitmap), last_committed=blknum)
    return event, attrs.evolve(state, staking=staking)


def test_commit_quorum_does_not_count_a_jailed_validator(funded):
    """Keys 0, 1 bond 100 each, key 2 bonds 400 and is jailed: a rule whose active set kept
    key 2 would accept keys 0 and 2 signing (500 of 600); the active stake signed is 100 of 200."""
    state = make_staking(seal(funded), {0: 100, 1: 100, 2: 400}, jailed=(2,))
    assert verdict("INV-COMMIT-QUORUM", state, *committed(state, 1000, b"\x03")) is None  # keys 0 and 1
    assert fires("INV-COMMIT-QUORUM", state, *committed(state, 1000, b"\x05"))  # bit 2: no such active validator
    assert "100 of 200" in fires("INV-COMMIT-QUORUM", state, *committed(state, 1000, b"\x01"))


def test_fees_distributed_sees_a_share_paid_to_a_jailed_validator(funded):
    state = make_staking(seal(funded), {0: 100, 1: 200, 2: 300}, jailed=(2,))
    state = attrs.evolve(state, fees_collected=Map({TOKEN: 7}))
    event = FeeEpochClosed(1, next_schedule(state))
    honest = apply(state, event)
    assert verdict("INV-FEES-DISTRIBUTED", state, event, honest) is None
    free = make_staking(attrs.evolve(state, staking=None), {0: 100, 1: 200, 2: 300})
    buggy = apply(attrs.evolve(free, fees_collected=state.fees_collected), event)  # the rule forgot the jail
    fires("INV-FEES-DISTRIBUTED", state, event, attrs.evolve(buggy, staking=attrs.evolve(buggy.staking, validators=state.staking.validators)))
    extra = attrs.evolve(honest.staking, fees_distributed=honest.staking.fees_distributed.set(TOKEN, 7))
    fires("INV-FEES-DISTRIBUTED", state, event, attrs.evolve(honest, staking=extra))


# --- INV-SLASH-EXACT: unbonding cut, reward and burn ------------------------------------------

@pytest.fixture
def slashable(funded, monkeypatch) -> tuple[State, Equivocation]:
    """Key 2 has 300 bonded and 100 unbonding; key 3 reports it (signatures taken as valid)."""
    monkeypatch.setattr(bls, "verify", lambda *_: True)
    state = make_staking(funded, {0: 100, 1: 200, 2: 300})
    staking = attrs.evolve(state.staking, unbonding=Map({(ADDRS[2], 0): Unbonding(ADDRS[2], 100, 3000)}), unbonding_total=100)
    return attrs.evolve(state, staking=staking), Equivocation(ADDRS[3], ADDRS[2], 1000, b"\x0a" * 32, bytes(32), b"", b"\x0b" * 32, bytes(32), b"")


def test_slash_exact_holds_for_the_rule(slashable):
    state, event = slashable
    after = apply(state, event)
    assert verdict("INV-SLASH-EXACT", state, event, after) is None
    assert (after.staking.burned, after.staking.unbonding[(ADDRS[2], 0)].amount) == (20 - 2, 95)


def test_slash_exact_sees_an_unbonding_entry_left_uncut(slashable):
    state, event = slashable
    after = apply(state, event)
    uncut = attrs.evolve(after.staking, unbonding=state.staking.unbonding, unbonding_total=100, burned=after.staking.burned - 5)
    assert "unbonding 0" in fires("INV-SLASH-EXACT", state, event, attrs.evolve(after, staking=uncut))


def test_slash_exact_sees_the_reward_burned(slashable):
    state, event = slashable
    after = apply(state, event)
    all_burned = attrs.evolve(after.staking, burned=after.staking.burned + 2)
    assert "burned 20, expected 18" in fires("INV-SLASH-EXACT", state, event, attrs.evolve(after, staking=all_burned))


def test_slash_exact_sees_a_downtime_cut_of_the_wrong_size(funded):
    state = make_staking(funded, {0: 300, 1: 300})
    offline = attrs.evolve(state.staking.validators[ADDRS[0]], bonded=297, jailed=True)  # 1 % is 3
    staking = attrs.evolve(state.staking, validators=state.staking.validators.set(ADDRS[0], offline), bonded_total=597, burned=3)
    event = BlockCommitted(1000, 0, ADDRS[1], b"\x02", b"")
    assert verdict("INV-SLASH-EXACT", state, event, attrs.evolve(state, staking=staking)) is None
    greedy = attrs.evolve(staking, validators=staking.validators.set(ADDRS[0], attrs.evolve(offline, bonded=290)), bonded_total=590, burned=10)
    fires("INV-SLASH-EXACT", state, event, attrs.evolve(state, staking=greedy))


# --- INV-UNBONDING-MATURE (mutant c) ----------------------------------------------------------

@pytest.fixture
def unbonding(funded) -> State:
    """Key 1 (100 bonded) starts unbonding 40 at open block 1000: it matures at 3000."""
    state = make_staking(funded, {1: 100})
    digest = unbond_digest(state.params.domain_separator, ADDRS[1], 40, 0)
    return apply(state, UnbondingStarted(ADDRS[1], 40, eip712.sign(digest, KEYS[1])))


def test_unbonding_mature_sees_a_withdrawal_one_block_early(unbonding):
    state = seal(unbonding)  # open block 2000
    event = StakeWithdrawn(ADDRS[1], 0)
    early = attrs.evolve(state.staking, unbonding=state.staking.unbonding.set((ADDRS[1], 0), Unbonding(ADDRS[1], 40, 2000)))
    paid = apply(attrs.evolve(state, staking=early), event)  # what a rule maturing one block early does
    assert "matures at 3000" in fires("INV-UNBONDING-MATURE", state, event, paid)
    mature = seal(state)
    assert verdict("INV-UNBONDING-MATURE", mature, event, apply(mature, event)) is None


def test_unbonding_mature_sees_a_short_period_and_a_short_payout(funded, unbonding):
    started = make_staking(funded, {1: 100})
    event = UnbondingStarted(ADDRS[1], 40, eip712.sign(unbond_digest(started.params.domain_separator, ADDRS[1], 40, 0), KEYS[1]))
    assert verdict("INV-UNBONDING-MATURE", started, event, unbonding) is None
    short = attrs.evolve(unbonding.staking, unbonding=Map({(ADDRS[1], 0): Unbonding(ADDRS[1], 40, 2000)}))
    fires("INV-UNBONDING-MATURE", started, event, attrs.evolve(unbonding, staking=short))
    mature = seal(seal(unbonding))
    paid = apply(mature, StakeWithdrawn(ADDRS[1], 0))
    pos = encode_utxo_pos(3000, 0, 0)
    less = attrs.evolve(paid, utxos=paid.utxos.set(pos, out(1, 39, TOKEN)))
    assert "stake returned" in fires("INV-UNBONDING-MATURE", mature, StakeWithdrawn(ADDRS[1], 0), less)


# --- INV-EXIT-PAYOUT-BACKED (mutant d) ---------------------------------------------------------

@pytest.fixture
def double_spend_exit(funded) -> tuple[State, InFlightExitWithdrawn, State]:
    """An in-flight exit of a double spend of D1 (spent here) and a 40 change output: its
    reserve holds 40, the root chain pays its 140 output (as tests/ledger/test_exits.py)."""
    raw = signed([D[0]], [out(2, 60), out(0, 40)], [0])
    sealed = seal(checked(funded, Payment(raw)))
    change = encode_utxo_pos(1000, 0, 1)
    double = decode(signed([D[0], change], [out(2, 140)], [0, 0]))
    started = InFlightExitStarted(9, encode_unsigned(double), (DEPOSIT_TX, encode_unsigned(decode(raw))), (D[0], change))
    before = checked(sealed, started, InFlightExitPiggybacked(9, True, 0))
    event = InFlightExitWithdrawn(9, True, 0)
    return before, event, apply(before, event)


def test_payout_backed_holds_for_the_rule(double_spend_exit):
    assert verdict("INV-EXIT-PAYOUT-BACKED", *double_spend_exit) is None


def test_payout_backed_sees_a_shortfall_not_booked_unbacked(double_spend_exit):
    before, event, after = double_spend_exit
    assert "unbacked changed by 0, expected 100" in fires("INV-EXIT-PAYOUT-BACKED", before, event, attrs.evolve(after, unbacked=before.unbacked))


def test_payout_backed_sees_a_payout_beyond_the_reserve(double_spend_exit):
    before, event, after = double_spend_exit
    record = attrs.evolve(after.exits[9], reserve=Map({ETH: -100}))
    beyond = attrs.evolve(after, exited=Map({ETH: 140}), in_exit=Map({ETH: -100}), unbacked=Map(), exits=after.exits.set(9, record))
    assert "paid 140 in 0x" + "00" * 20 + " against backing 40" in fires("INV-EXIT-PAYOUT-BACKED", before, event, beyond)
    fires("INV-NON-NEGATIVE", before, event, attrs.evolve(beyond, in_exit=after.in_exit))  # the reserve alone


def test_payout_backed_sees_an_unbacked_standard_exit_paid_from_the_ledger(funded):
    spent = checked(funded, Payment(signed([D[0]], [out(2, 100)], [0])))
    state = checked(spent, ExitStarted(7, D[0], DEPOSIT_TX))  # D1 is spent: nothing backs this exit
    event = ExitProcessed(7, True)
    after = apply(state, event)
    assert verdict("INV-EXIT-PAYOUT-BACKED", state, event, after) is None and after.unbacked[ETH] == 100
    from_ledger = attrs.evolve(after, unbacked=Map(), exited=Map({ETH: 100}), in_exit=Map({ETH: -100}))
    fires("INV-EXIT-PAYOUT-BACKED", state, event, from_ledger)


def test_payout_backed_sees_value_exited_without_a_payout(funded):
    event = ExitStarted(7, D[0], DEPOSIT_TX)
    after = apply(funded, event)
    assert "without a payout" in fires("INV-EXIT-PAYOUT-BACKED", funded, event, attrs.evolve(after, exited=Map({ETH: 1})))


# --- INV-NON-NEGATIVE and the tallies' recounts ------------------------------------------------

def test_non_negative_sees_a_negative_tally_stake_or_unbonding_entry(funded):
    event = Payment(signed([D[0]], [out(2, 100)], [0]))
    after = apply(funded, event)
    assert verdict("INV-NON-NEGATIVE", funded, event, after) is None
    assert "unspent is -1" in fires("INV-NON-NEGATIVE", funded, event, attrs.evolve(after, unspent=after.unspent.set(TOKEN, -1)))
    staked = make_staking(funded, {0: 10})
    negative = attrs.evolve(staked.staking, unbonding=Map({(ADDRS[0], 0): Unbonding(ADDRS[0], -1, 3000)}))
    assert "unbonding 0" in fires("INV-NON-NEGATIVE", funded, event, attrs.evolve(after, staking=negative))
    assert "burned -1" in fires("INV-NON-NEGATIVE", funded, event, attrs.evolve(after, staking=attrs.evolve(staked.staking, burned=-1)))
    assert "negative" in BY_ID["INV-STAKE-TALLY"].check(attrs.evolve(after, staking=negative))


def test_exit_tally_sees_a_negative_reserve_hidden_by_a_matching_tally(double_spend_exit):
    before, event, after = double_spend_exit
    hidden = attrs.evolve(after, exits=after.exits.set(9, attrs.evolve(after.exits[9], reserve=Map({ETH: -5}))),
                          in_exit=Map({ETH: -5}))
    assert "reserve is -5" in BY_ID["INV-EXIT-TALLY"].check(hidden)


def test_every_invariant_keeps_an_id_statement_and_source():
    assert len(BY_ID) == len(CATALOGUE)
    for invariant in CATALOGUE:
        assert invariant.id.startswith("INV-") and invariant.statement and invariant.source
        assert invariant.scope in ("transition", "state", "full") and invariant.check.__doc__
    hook = InvariantHook(full_every=1)
    assert {i for i, _ in hook.transition + hook.state + hook.full} == set(BY_ID)


def test_unclaimed_owed_sees_a_refused_payout_booked_wrong_or_a_partial_claim(funded):
    from ledger.events import PayoutClaimed, PayoutFailed

    failed = PayoutFailed(ADDRS[0], ETH, 9)
    owed = attrs.evolve(funded, unclaimed=Map({(ADDRS[0], ETH): 9}))
    assert verdict("INV-UNCLAIMED-OWED", funded, failed, owed) is None
    fires("INV-UNCLAIMED-OWED", funded, failed, attrs.evolve(funded, unclaimed=Map({(ADDRS[0], ETH): 8})))
    fires("INV-UNCLAIMED-OWED", funded, failed, attrs.evolve(funded, unclaimed=Map({(ADDRS[0], TOKEN): 9})))
    fires("INV-UNCLAIMED-OWED", owed, PayoutClaimed(ADDRS[0], ETH, 5), attrs.evolve(owed, unclaimed=Map({(ADDRS[0], ETH): 4})))
    fires("INV-UNCLAIMED-OWED", owed, ExitProcessed(1, True), funded)  # dropped by an event that is no claim
    assert verdict("INV-UNCLAIMED-OWED", owed, PayoutClaimed(ADDRS[0], ETH, 9), funded) is None


def test_ife_instance_sees_an_end_that_moves_value_a_restart_that_drops_the_reserve_or_an_ended_exit_changed(funded):
    tx = decode(signed([D[0]], [out(2, 60), out(0, 40)], [0]))
    start = InFlightExitStarted(9, encode_unsigned(tx), (DEPOSIT_TX,), tx.inputs)
    paid = checked(funded, start, InFlightExitPiggybacked(9, True, 0), InFlightExitWithdrawn(9, True, 0))
    end = InFlightExitFinalized(9)
    ended = checked(paid, end)
    assert verdict("INV-IFE-INSTANCE", paid, end, ended) is None
    fires("INV-IFE-INSTANCE", paid, end, attrs.evolve(ended, in_exit=Map()))  # its reserve vanished
    fires("INV-IFE-INSTANCE", paid, end, paid)  # not closed
    restarted = checked(ended, start)
    assert verdict("INV-IFE-INSTANCE", ended, start, restarted) is None
    record = restarted.exits[9]
    for wrong in (attrs.evolve(record, reserve=Map()), attrs.evolve(record, restarts=0), attrs.evolve(record, inputs_consumed=False)):
        fires("INV-IFE-INSTANCE", ended, start, attrs.evolve(restarted, exits=restarted.exits.set(9, wrong)))
    flipped = attrs.evolve(ended.exits[9], canonical=False)
    fires("INV-IFE-INSTANCE", ended, InFlightExitChallenged(9, 0), attrs.evolve(ended, exits=ended.exits.set(9, flipped)))


# --- INV-TRADING-FEES-VOTED: votes recorded as signed, the median set at the close ----------

def _with_trading_votes(state: State, votes: dict[int, int]) -> State:
    pair = (ETH, TOKEN)
    validators = state.staking.validators
    for who, bps in votes.items():
        validators = validators.set(ADDRS[who], attrs.evolve(validators[ADDRS[who]], trading_fee_vote=Map({pair: bps})))
    return attrs.evolve(state, staking=attrs.evolve(state.staking, validators=validators))


def test_trading_fees_voted_sees_a_close_that_takes_the_mean_or_counts_a_jailed_vote(funded):
    """Stakes 100, 200, 300 (key 2 jailed), votes 10, 40, 90: the active median is 40 (200 of 300)."""
    state = _with_trading_votes(make_staking(seal(funded), {0: 100, 1: 200, 2: 300}, jailed=(2,)), {0: 10, 1: 40, 2: 90})
    event = FeeEpochClosed(1, next_schedule(state), (PairFee(ETH, TOKEN, 40),))
    honest = apply(state, event)
    assert verdict("INV-TRADING-FEES-VOTED", state, event, honest) is None
    for wrong in (25, 90):  # the mean of the active votes, the jailed validator's vote
        bad = attrs.evolve(honest.staking, trading_fees=Map({(ETH, TOKEN): wrong}))
        assert "median is {" in fires("INV-TRADING-FEES-VOTED", state, event, attrs.evolve(honest, staking=bad))


def test_trading_fees_voted_sees_fees_kept_when_votes_were_withdrawn_and_changed_by_another_event(funded):
    state = make_staking(seal(funded), {0: 100, 1: 200})
    set_fees = attrs.evolve(state, staking=attrs.evolve(state.staking, trading_fees=Map({(ETH, TOKEN): 7})))
    event = FeeEpochClosed(1, next_schedule(set_fees), (PairFee(ETH, TOKEN, 7),))  # nobody voted: kept
    assert verdict("INV-TRADING-FEES-VOTED", set_fees, event, apply(set_fees, event)) is None
    cleared = attrs.evolve(apply(set_fees, event).staking, trading_fees=Map())
    fires("INV-TRADING-FEES-VOTED", set_fees, event, attrs.evolve(set_fees, staking=cleared))
    sealed = seal(set_fees)
    fires("INV-TRADING-FEES-VOTED", set_fees, BlockSealed(1, bytes(32), 0), attrs.evolve(sealed, staking=cleared))


def test_trading_fees_voted_sees_a_vote_recorded_other_than_signed(funded):
    state = make_staking(seal(funded), {0: 100})
    event = TradingFeeVoted(ADDRS[0], (PairFee(ETH, TOKEN, 12),), b"")  # the check reads the record, not the signature
    recorded = _with_trading_votes(state, {0: 12})
    assert verdict("INV-TRADING-FEES-VOTED", state, event, recorded) is None
    fires("INV-TRADING-FEES-VOTED", state, event, _with_trading_votes(state, {0: 13}))
    over = _with_trading_votes(state, {0: 10_001})
    assert "malformed" in fires("INV-TRADING-FEES-VOTED", state, TradingFeeVoted(ADDRS[0], (PairFee(ETH, TOKEN, 10_001),), b""), over)
