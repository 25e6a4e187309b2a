"""A seeded proof-of-stake run on a real node and event store: honest, offline and
equivocating validators commit blocks with aggregated BLS signatures, vote fees, get
slashed and jailed, and share the fees. The same seed gives the same log, byte for byte.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import attrs

from ledger.events import (
    BlockCommitted,
    Deposit,
    Equivocation,
    FeeEpochClosed,
    FeeRule,
    FeeVoted,
    Genesis,
    Payment,
    StakeBonded,
    StakingOpened,
)
from ledger.fee_votes import next_schedule, vote_digest
from ledger.node import Node, Outcome
from ledger.staking import STAKING_POOL, active_set, block_commit_message, commit_message, proposer, proposer_seed
from ledger.state import State
from ledger.store import EventStore
from proofs import bls, eip712
from proofs.keccak import keccak256
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, deposit_tx, encode
from specs.hooks import InvariantHook

OMG = keccak256(b"omg-ledger simulation OMG")[12:]  # the staking token, deposited from the root chain
VERIFYING_CONTRACT = keccak256(b"omg-ledger simulation framework")[12:]
BEHAVIOURS = ("honest", "offline", "equivocating")


@attrs.frozen
class Config:
    seed: int = 2026
    validators: int = 7
    offline: int = 1
    equivocating: int = 1
    blocks: int = 12
    payments_per_block: int = 5
    epoch_blocks: int = 4
    window: int = 4
    jail_blocks: int = 100


@attrs.frozen
class ValidatorKeys:
    name: str
    behaviour: str
    key: bytes  # secp256k1: spends, votes
    bls_key: int

    @property
    def address(self) -> bytes:
        return eip712.address_of(self.key)


@attrs.define
class Summary:
    commits: int = 0
    slashed_equivocation: list[str] = attrs.Factory(list)
    jailed: list[str] = attrs.Factory(list)
    epochs: int = 0
    fees_distributed: int = 0
    schedule: tuple[FeeRule, ...] = ()


def validator_keys(config: Config) -> list[ValidatorKeys]:
    kinds = ["offline"] * config.offline + ["equivocating"] * config.equivocating
    kinds += ["honest"] * (config.validators - len(kinds))
    return [
        ValidatorKeys(f"v{i}", kind, keccak256(b"sim key %d %d" % (config.seed, i)),
                      bls.secret_key(keccak256(b"sim bls key %d %d" % (config.seed, i))))
        for i, kind in enumerate(kinds)
    ]


class Simulation:
    def __init__(self, db: Path, config: Config, say: Callable[[str], None] = lambda _: None) -> None:
        self.config, self.say = config, say
        self.rng = random.Random(config.seed)
        self.node = Node(EventStore(db), InvariantHook(full_every=50))
        self.keys = validator_keys(config)
        self.summary = Summary()

    def submit(self, *events: object) -> list[Outcome]:
        outcomes = self.node.submit(list(events))
        for outcome in outcomes:
            if not outcome.accepted:
                raise RuntimeError(f"{outcome.event.KIND} rejected: {outcome.code}: {outcome.detail}")
        return outcomes

    @property
    def state(self) -> State:
        return self.node.state

    def run(self) -> Summary:
        c = self.config
        self.submit(Genesis(VERIFYING_CONTRACT, (FeeRule(1, OMG, 10**15),)))
        self.submit(StakingOpened(OMG, c.validators, 2, 500, 1000, c.epoch_blocks, c.window, 5000, 100, c.jail_blocks))
        for v in self.keys:
            self.submit(Deposit(self.state.next_deposit_blknum, encode(deposit_tx(v.address, OMG, 10_000 * 10**18))))
        for v in self.keys:
            self.bond(v, self.rng.randint(1_000, 5_000) * 10**18)
        for v in self.keys:
            self.vote(v, self.rng.choice((5, 10, 20)) * 10**14)
        self.say(f"{c.validators} validators bonded ({', '.join(f'{v.name} {v.behaviour}' for v in self.keys)})")
        for _ in range(c.blocks):
            self.block()
        return self.summary

    def bond(self, v: ValidatorKeys, amount: int) -> None:
        self.submit(bond_event(self.state, v, amount))

    def vote(self, v: ValidatorKeys, fee: int) -> None:
        schedule = (FeeRule(1, OMG, fee),)
        nonce = self.state.staking.validators[v.address].nonce
        digest = vote_digest(self.state.params.domain_separator, v.address, schedule, nonce)
        self.submit(FeeVoted(v.address, schedule, eip712.sign(digest, v.key)))

    def block(self) -> None:
        for _ in range(self.config.payments_per_block):
            self.payment()
        blknum = self.state.next_child_blknum
        self.node.seal()
        self.commit(blknum)
        if blknum // 1000 % self.config.epoch_blocks == 0:
            schedule = next_schedule(self.state)
            self.submit(FeeEpochClosed(self.state.staking.epoch + 1, schedule))
            self.summary.epochs += 1
            self.summary.schedule = schedule
            self.summary.fees_distributed = sum(self.state.staking.fees_distributed.values())

    def payment(self) -> None:
        sender, recipient = self.rng.sample(self.keys, 2)
        fee = self.state.params.fee_schedule[(1, OMG)]
        mine = [(p, o) for p, o in self.state.utxos.items() if o.owner == sender.address and o.token == OMG]
        pos, output = max(mine, key=lambda item: item[1].amount)
        amount = self.rng.randint(1, 10) * 10**17
        outputs = [Output(OUTPUT_TYPE_PAYMENT, recipient.address, OMG, amount),
                   Output(OUTPUT_TYPE_PAYMENT, sender.address, OMG, output.amount - amount - fee)]
        self.submit(Payment(sign(self.state, PaymentTx([pos], outputs), sender)))

    def commit(self, blknum: int) -> None:
        """Online validators sign the sealed root; an equivocator also signs a forged one, and
        an honest validator reports it."""
        equivocating = equivocators(self.state, self.keys)
        self.submit(commit_event(self.state, self.keys, blknum))
        self.summary.commits += 1
        for v in equivocating:
            if (v.address, blknum) not in self.state.staking.evidence:
                self.submit(equivocation_event(self.state, self.keys, v, blknum))
                self.summary.slashed_equivocation.append(f"{v.name}@{blknum}")
        by_address = {v.address: v for v in self.keys}
        self.summary.jailed = [by_address[a].name for a, val in self.state.staking.validators.items() if val.jailed]


# --- the validators' events, built from a state: this run and the deterministic simulator share them


def sign(state: State, tx: PaymentTx, v: ValidatorKeys) -> bytes:
    """`tx` signed by validator `v` for every input (EIP-712, the ledger's verifying contract)."""
    digest = eip712.signing_hash(tx, state.params.verifying_contract)
    return encode(tx.with_signatures(tuple(eip712.sign(digest, v.key) for _ in tx.inputs)))


def bond_event(state: State, v: ValidatorKeys, amount: int, token: bytes = OMG) -> StakeBonded:
    """`v` bonds `amount` of its first `token` output (the fee and change back to it); the
    first bond registers its BLS key with a proof of possession."""
    pos, held = next((p, o.amount) for p, o in state.utxos.items() if o.owner == v.address and o.token == token)
    fee = state.params.fee_schedule.get((1, token), 0)
    outputs = [Output(OUTPUT_TYPE_PAYMENT, STAKING_POOL, token, amount),
               Output(OUTPUT_TYPE_PAYMENT, v.address, token, held - amount - fee)]
    return StakeBonded(sign(state, PaymentTx([pos], outputs), v), bls.public_key(v.bls_key), bls.pop_prove(v.bls_key))


def commit_event(state: State, keys: list[ValidatorKeys], blknum: int) -> BlockCommitted:
    """The commit of sealed block `blknum` by every validator of the active set that is online,
    proposed in the first round whose drawn proposer is online (an absent one passes)."""
    staking = state.staking
    validators = active_set(staking)
    message = block_commit_message(state, blknum)
    by_address = {v.address: v for v in keys}
    online = [i for i, (address, _) in enumerate(validators) if by_address[address].behaviour != "offline"]
    signature = bls.aggregate([bls.sign(by_address[validators[i][0]].bls_key, message) for i in online])
    seed = proposer_seed(state, blknum)
    round_ = next(r for r in range(len(validators) * 8)
                  if by_address[proposer(staking, blknum, seed, r)].behaviour != "offline")
    return BlockCommitted(blknum, round_, proposer(staking, blknum, seed, round_),
                          bls.signer_bitmap(online, len(validators)), signature)


def equivocators(state: State, keys: list[ValidatorKeys]) -> list[ValidatorKeys]:
    """The equivocating validators of the active set, in its order."""
    by_address = {v.address: v for v in keys}
    return [by_address[a] for a, _ in active_set(state.staking) if by_address[a].behaviour == "equivocating"]


def equivocation_event(state: State, keys: list[ValidatorKeys], v: ValidatorKeys, blknum: int) -> Equivocation:
    """`v` signs a forged root beside block `blknum`'s own; the first honest validator reports both."""
    separator, block = state.params.domain_separator, state.blocks[blknum]
    root, head = block.root, block.log_head  # both signed over one history: only the roots differ
    forged = keccak256(b"forged" + root)
    reporter = next(k for k in keys if k.behaviour == "honest")
    return Equivocation(reporter.address, v.address, blknum, root, head,
                        bls.sign(v.bls_key, commit_message(separator, blknum, root, head)), forged, head,
                        bls.sign(v.bls_key, commit_message(separator, blknum, forged, head)))
