"""The Plasma safety property, end to end on the embedded root chain.

A rogue operator submits a block root the honest log does not hold (withheld: never
published; forged: published contents differ) committing to a transaction that pays it
everything the vault holds, and exits that output. The watcher reports the block;
every honest user exits within the period: outputs of submitted blocks by standard
exits, payments still in flight by in-flight exits with piggybacked outputs. After
processing, each user has been paid by the vault exactly their child-chain balance,
and the operator nothing.
"""
from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from adapters.ethereum import chain
from adapters.ethereum.anchor import Deployment, Operator
from ledger.events import Genesis, Payment
from ledger.node import Node
from ledger.store import EventStore
from proofs import eip712, merkle
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, decode, encode, encode_unsigned, encode_utxo_pos

PERIOD = 1000
ETH = bytes(20)
KEYS = [(i + 1).to_bytes(32, "big") for i in range(4)]  # eth-tester's default accounts
OPERATOR, USERS = 0, (1, 2, 3)

payments = st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(USERS), st.integers(1, 99)), min_size=1, max_size=4)


class Plasma:
    def __init__(self, home: Path) -> None:
        self.w3 = chain.embedded()
        self.accounts = self.w3.eth.accounts
        self.deployment, self.root = Deployment.deploy(self.w3, min_exit_period_s=PERIOD)
        self.vc = self.deployment.verifying_contract
        self.node = Node(EventStore(home / "ledger.db"))
        self.node.submit([Genesis(self.vc)])
        self.op = Operator(self.node, self.w3, self.root, self.deployment.block)
        self.client = self.op.client

    def addr(self, who: int) -> bytes:
        return bytes.fromhex(self.accounts[who][2:])

    def pay(self, sender: int, to: int, percent: int) -> bytes | None:
        """`sender` pays `percent` of its largest output to `to`, change back; the signed bytes.
        Only outputs of blocks already on the root chain are spent: MoreVP protects a payment
        whose inputs are confirmed, not one built on another in-flight payment."""
        open_block = self.node.state.next_child_blknum
        mine = [(pos, o) for pos, o in self.node.state.utxos.items()
                if o.owner == self.addr(sender) and pos // 10**9 < open_block]
        if not mine:
            return None
        pos, output = max(mine, key=lambda item: item[1].amount)
        sent = max(1, output.amount * percent // 100)
        outputs = [Output(OUTPUT_TYPE_PAYMENT, self.addr(to), ETH, sent)]
        if output.amount > sent:
            outputs.append(Output(OUTPUT_TYPE_PAYMENT, self.addr(sender), ETH, output.amount - sent))
        tx = PaymentTx([pos], outputs)
        raw = encode(tx.with_signatures((eip712.sign(eip712.signing_hash(tx, self.vc), KEYS[sender]),)))
        assert self.node.submit([Payment(raw)])[0].accepted
        return raw

    def rogue_block(self) -> tuple[int, bytes, bytes]:
        """The operator commits, at the next child block, to a transaction paying itself the whole vault."""
        loot = self.client.vault_balance(ETH)
        forged = encode_unsigned(PaymentTx([encode_utxo_pos(1, 0, 0)], [Output(OUTPUT_TYPE_PAYMENT, self.addr(OPERATOR), ETH, loot)]))
        blknum = self.root.framework.functions.nextChildBlock().call()
        chain.send(self.w3, self.root.framework.functions.submitBlock(merkle.root([forged])), self.root.authority)
        return blknum, forged, merkle.proof([forged], 0)


# Each example deploys a root chain and runs every exit: few examples, and no shrinking
# (minutes per step); a failure still prints its full example.
@settings(max_examples=4, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(deposits=st.lists(st.integers(10**15, 10**18), min_size=3, max_size=3), submitted=payments,
       in_flight=payments, attack=st.sampled_from(["withhold", "forge"]))
def test_honest_users_exiting_in_the_period_get_exactly_their_funds(deposits, submitted, in_flight, attack):
    with TemporaryDirectory() as home:
        plasma = Plasma(Path(home))
        for user, amount in zip(USERS, deposits):
            plasma.client.deposit(plasma.accounts[user], ETH, amount)
        plasma.op.step()
        for sender, to, percent in submitted:
            plasma.pay(sender, to, percent)
        plasma.op.step()  # block 1000 sealed and submitted honestly
        flying = [raw for raw in (plasma.pay(*p) for p in in_flight) if raw is not None]
        owed = {user: sum(o.amount for o in plasma.node.state.utxos.values() if o.owner == plasma.addr(user)) for user in USERS}

        if attack == "forge":  # the log seals the honest block; the root chain gets another root for it
            plasma.node.seal()
        blknum, forged, proof = plasma.rogue_block()
        expected = "invalid_block" if attack == "forge" else "block_withholding"
        assert [(r.condition, r.blknum) for r in plasma.op.step(seal=False).reports] == [(expected, blknum)]

        exit_everything(plasma, flying, blknum)
        game = plasma.root.exit_game.functions
        bond = game.startStandardExitBondSize().call()
        chain.send(plasma.w3, game.startStandardExit((encode_utxo_pos(blknum, 0, 0), forged, proof)), plasma.accounts[OPERATOR], bond)

        chain.travel(plasma.w3, 2 * PERIOD + 1)
        receipt = plasma.client.process_exits(plasma.accounts[OPERATOR], count=100)
        paid: dict[str, int] = {}
        for event in plasma.root.eth_vault.events.EthWithdrawn().process_receipt(receipt, errors=DISCARD):
            paid[event.args.receiver] = paid.get(event.args.receiver, 0) + event.args.amount
        assert {user: paid.get(plasma.accounts[user], 0) for user in USERS} == owed
        assert plasma.accounts[OPERATOR] not in paid
        plasma.node.store.close()


def exit_everything(plasma: Plasma, flying: list[bytes], bad_blknum: int) -> None:
    """Users exit what they own: standard exits below the bad block, in-flight exits for the rest."""
    plasma.op.watcher.index.follow(plasma.node.store)
    spent_in_flight = {pos for raw in flying for pos in decode(raw).inputs}
    for pos, output in plasma.node.state.utxos.items():
        if pos // 10**9 < bad_blknum and pos not in spent_in_flight:
            owner = plasma.accounts[[plasma.addr(u) for u in USERS].index(output.owner) + 1]
            plasma.client.start_standard_exit(owner, pos, plasma.op.watcher.index)
    for raw in flying:
        tx = decode(raw)
        plasma.client.start_in_flight_exit(plasma.accounts[OPERATOR], raw, plasma.op.watcher.index)
        for oindex, output in enumerate(tx.outputs):
            owner = plasma.accounts[[plasma.addr(u) for u in USERS].index(output.owner) + 1]
            plasma.client.piggyback(owner, encode_unsigned(tx), True, oindex)
