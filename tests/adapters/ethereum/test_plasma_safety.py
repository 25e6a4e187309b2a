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

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from adapters.ethereum import chain, contracts
from adapters.ethereum.chain import ChainError
from adapters.ethereum.client import tx_type_of
from adapters.ethereum.anchor import Deployment, Operator
from ledger.events import Genesis, OrderPlaced, Payment
from ledger.node import Node
from ledger.store import EventStore
from proofs import eip712, merkle
from proofs.fraud import DoubleSpendProof, Spend
from proofs.order import OrderTerms, encode_order_unsigned, encode_settlement_unsigned, order_tx, sign_order
from proofs.payment import (
    OUTPUT_TYPE_PAYMENT, Output, PaymentTx, decode, encode, encode_unsigned, encode_utxo_pos, unsigned_bytes,
)
from tests.adapters.ethereum import orders
from tests.adapters.ethereum.orders import ONE
from tests.adapters.ethereum.rootchain import ALICE, AUTHORITY, BOB, CAROL, ETH_HEX, reverts

PERIOD = 1000
ETH = bytes(20)
KEYS = [(i + 1).to_bytes(32, "big") for i in range(4)]  # eth-tester's default accounts
OPERATOR, USERS, WATCHER = 0, (1, 2, 3), 4

payments = st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(USERS), st.integers(1, 99)), min_size=1, max_size=4)


class Plasma:
    def __init__(self, home: Path, challenges: bool = False) -> None:
        self.w3 = chain.embedded()
        self.accounts = self.w3.eth.accounts
        self.deployment, self.root = Deployment.deploy(self.w3, min_exit_period_s=PERIOD)
        self.vc = self.deployment.verifying_contract
        self.node = Node(EventStore(home / "ledger.db"))
        self.node.submit([Genesis(self.vc)])
        self.op = Operator(self.node, self.w3, self.root, self.deployment.block,
                           challenger=self.accounts[WATCHER] if challenges else None)
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

    def sign(self, tx: PaymentTx, *signers: int) -> bytes:
        """`tx` signed by `signers`, one per input, as the child chain carries it."""
        digest = eip712.signing_hash(tx, self.vc)
        return encode(tx.with_signatures(tuple(eip712.sign(digest, KEYS[s]) for s in signers)))

    def include(self, tx: PaymentTx, *signers: int) -> bytes:
        raw = self.sign(tx, *signers)
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


def test_fake_competitors_stale_queue_entries_and_blocked_piggybacks_take_nothing():
    """Issue 11's attacks, around a withheld block, against users who exit in the period:
    1. the operator challenges Bob's in-flight payment (u1 -> u2) with u1's own earlier
       self-payment, which spends another output 0 of hers in an older block;
    2. u3 in-flight exits a spend of her second deposit she double-signed (the log includes
       the other, to u1), piggybacks its input, has it challenged, and would delete the exit
       to restart it under the same id with her old queue entry;
    3. u3 co-signs a payment to u1 with u2, piggybacks her own input first and has it
       challenged away with a double-spend signature, to block u1's output piggyback.
    Each is refused; every user is paid exactly what the log says they own."""
    with TemporaryDirectory() as home:
        plasma = Plasma(Path(home), challenges=True)
        amount, u1, u2, u3 = 10**17, *USERS
        deposits = {user: plasma.client.deposit(plasma.accounts[user], ETH, amount) for user in USERS}
        second = plasma.client.deposit(plasma.accounts[u3], ETH, amount)
        pos = {user: encode_utxo_pos(blknum, 0, 0) for user, blknum in deposits.items()}
        plasma.op.step()
        out = lambda user, value: Output(OUTPUT_TYPE_PAYMENT, plasma.addr(user), ETH, value)  # noqa: E731
        plasma.include(PaymentTx([pos[u1]], [out(u1, amount)]), u1)  # u1 pays herself, twice
        plasma.op.step()
        older = plasma.include(PaymentTx([encode_utxo_pos(1000, 0, 0)], [out(u1, amount)]), u1)
        plasma.include(PaymentTx([encode_utxo_pos(second, 0, 0)], [out(u1, amount)]), u3)
        plasma.op.step()  # block 2000: u1's self-payment and u3's spend of her second deposit
        to_u2 = plasma.include(PaymentTx([encode_utxo_pos(2000, 0, 0)], [out(u2, amount)]), u1)
        cosigned = PaymentTx([pos[u2], pos[u3]], [out(u1, 2 * amount)])
        plasma.include(cosigned, u2, u3)
        owed = {user: sum(o.amount for o in plasma.node.state.utxos.values() if o.owner == plasma.addr(user)) for user in USERS}
        assert owed == {u1: 3 * amount, u2: amount, u3: 0}
        blknum, _, _ = plasma.rogue_block()
        plasma.op.step(seal=False)
        exit_everything(plasma, [to_u2], blknum)
        client, index = plasma.client, plasma.op.watcher.index

        # 1. a competitor that spends another output 0 of u1's, in block 2000
        older_tx = unsigned_bytes(older)
        fake = DoubleSpendProof(encode_utxo_pos(1000, 0, 0), older_tx, Spend.of(to_u2, encode_utxo_pos(2000, 0, 0)),
                                Spend.of(older, encode_utxo_pos(1000, 0, 0)))
        with pytest.raises(ChainError, match="not the in-flight transaction's input"):
            client.challenge_not_canonical(plasma.accounts[OPERATOR], fake, encode_utxo_pos(2000, 0, 0),
                                           merkle.proof(index.leaves(2000), 0))

        # 3. u3 blocks u1's piggyback on the co-signed payment
        raw_cosigned = plasma.sign(cosigned, u2, u3)
        client.start_in_flight_exit(plasma.accounts[OPERATOR], raw_cosigned, index)
        client.piggyback(plasma.accounts[u3], encode_unsigned(cosigned), False, 1)
        double = plasma.sign(PaymentTx([pos[u3]], [out(u3, amount)]), u3)
        client.challenge_input_spent(plasma.accounts[u3], DoubleSpendProof(
            pos[u3], index.exit_data(pos[u3])[0], Spend.of(raw_cosigned, pos[u3]), Spend.of(double, pos[u3])))
        client.piggyback(plasma.accounts[u1], encode_unsigned(cosigned), True, 0)

        # 2. u3's double-signed exit: the watcher challenges its piggyback; no delete, no restart
        doubled = plasma.sign(PaymentTx([encode_utxo_pos(second, 0, 0)], [out(u3, amount)]), u3)
        doubled_id = client.start_in_flight_exit(plasma.accounts[u3], doubled, index)
        client.piggyback(plasma.accounts[u3], unsigned_bytes(doubled), False, 0)
        reports = {(r.condition, r.exit_id, r.challenged) for r in plasma.op.step(seal=False).reports}
        assert ("invalid_piggyback", doubled_id, True) in reports and ("noncanonical_ife", doubled_id, True) in reports
        chain.travel(plasma.w3, PERIOD // 2 + 1)
        with pytest.raises(ChainError, match="already piggybacked"):
            chain.send(plasma.w3, plasma.root.exit_game.functions.deleteNonPiggybackedInFlightExit(doubled_id),
                       plasma.accounts[u3])

        chain.travel(plasma.w3, 2 * PERIOD + 1)
        receipt = client.process_exits(plasma.accounts[OPERATOR], count=100)
        paid: dict[str, int] = {}
        for event in plasma.root.eth_vault.events.EthWithdrawn().process_receipt(receipt, errors=DISCARD):
            paid[event.args.receiver] = paid.get(event.args.receiver, 0) + event.args.amount
        assert {user: paid.get(plasma.accounts[user], 0) for user in USERS} == owed
        assert plasma.client.vault_balance(ETH) == 4 * amount - sum(owed.values())
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


@pytest.mark.parametrize("settled", [False, True], ids=["open", "settled-in-withheld-block"])
def test_traders_with_open_orders_get_their_funds_back_when_the_operator_withholds(chain, settled):
    """Issue 13: Alice's and Bob's crossing orders are in submitted block 1000; Carol's order and
    (when `settled`) the settlement of Alice's and Bob's are only in block 2000, which the operator
    withholds while exiting its loot from it. Alice and Bob exit their order outputs and change;
    Carol exits her order in flight. A settlement the operator makes up below the limits cannot
    challenge; the withheld one can, and then Alice and Bob exit it in flight, the proceeds theirs.
    Every trader is paid exactly what the orders and fills make theirs; the operator nothing."""
    b = orders.book(chain)
    c_blk, c_deposit = chain.deposit_eth(CAROL, 5 * ONE)
    c_terms = OrderTerms(chain.addr(CAROL), ETH, b.tkn, 5 * ONE, 20 * ONE, orders.EXPIRY, 3)
    c_order = order_tx((encode_utxo_pos(c_blk, 0, 0),), c_terms)
    fair = orders.settlement(b, *orders.FAIR)
    loot = PaymentTx([encode_utxo_pos(1, 0, 0)], [orders.pay(chain, AUTHORITY, ETH, chain.w3.eth.get_balance(chain.eth_vault.address))])
    withheld = [encode_order_unsigned(c_order), *([encode_settlement_unsigned(fair)] if settled else []), encode_unsigned(loot)]
    blknum = orders.submit(chain, withheld)
    orders.start_exit(chain, contracts.PAYMENT_TX_TYPE, AUTHORITY, encode_utxo_pos(blknum, len(withheld) - 1, 0),
                      withheld[-1], merkle.proof(withheld, len(withheld) - 1))

    exits = {}
    for account, txindex in ((ALICE, 0), (BOB, 1)):  # orders in the submitted block: standard exits
        for oindex in (0, 1):
            exits[(account, oindex)] = orders.start_exit(chain, orders.ORDER_TX, account, encode_utxo_pos(b.blknum, txindex, oindex),
                                                         b.leaves[txindex], merkle.proof(b.leaves, txindex))
    carol_tx = encode_order_unsigned(c_order)  # Carol's order in the withheld block: in flight
    orders.ife(chain, orders.ORDER_TX, CAROL, carol_tx, [(c_deposit, encode_utxo_pos(c_blk, 0, 0), merkle.proof([c_deposit], 0))],
               [orders.order_signature(chain, c_order, CAROL)])
    orders.piggyback(chain, orders.ORDER_TX, CAROL, carol_tx, 0)

    made_up = orders.settlement(b, (6 * ONE, 6 * ONE, 0), (30 * ONE, 6 * ONE, 0))  # all of both, at the operator's price
    for index, account in enumerate((ALICE, BOB)):
        with reverts("Settlement breaks the order's limit"):
            chain_challenge(chain, exits[(account, 0)], b.leaves[index], encode_settlement_unsigned(made_up), index)
    owed = {(ALICE, ETH): 10 * ONE, (BOB, b.tkn): 40 * ONE, (CAROL, ETH): 5 * ONE}
    if settled:  # the operator shows the withheld settlement: Alice and Bob exit it in flight
        settlement_tx = encode_settlement_unsigned(fair)
        for index, account in enumerate((ALICE, BOB)):
            chain_challenge(chain, exits[(account, 0)], b.leaves[index], settlement_tx, index)
        inputs = [(b.leaves[i], pos, merkle.proof(b.leaves, i)) for i, pos in enumerate((b.a_pos, b.b_pos))]
        orders.ife(chain, orders.SETTLEMENT_TX, ALICE, settlement_tx, inputs, [b"", b""])
        for account, oindex in ((ALICE, 0), (BOB, 1), (BOB, 2)):
            orders.piggyback(chain, orders.SETTLEMENT_TX, account, settlement_tx, oindex)
        fee = fair.records[0].fee
        owed = {(ALICE, ETH): 4 * ONE, (ALICE, b.tkn): 15 * ONE - fee, (BOB, ETH): 6 * ONE, (BOB, b.tkn): 25 * ONE,
                (CAROL, ETH): 5 * ONE}

    paid = orders.process(chain)
    token_of = {ETH_HEX: ETH, chain.token.address: b.tkn}
    assert {(chain.accounts.index(who), token_of[token]): amount for (who, token), amount in paid.items()} == owed
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 0  # the loot exit found nothing left


def chain_challenge(chain, exit_id: int, exiting: bytes, settlement_tx: bytes, index: int) -> None:
    """The operator challenges a trader's exit of an order output with a settlement."""
    exits = orders.game(chain, orders.ORDER_TX)
    args = (exit_id, exiting, settlement_tx, index, b"", chain.sender_data(AUTHORITY))
    chain.send(exits.functions.challengeStandardExit(args), AUTHORITY)


def test_the_operator_and_watcher_keep_traders_whole_through_fills_and_a_withheld_block():
    """End to end with the ledger: in block 1000 Alice's and Bob's orders cross and the node's
    settlement fills them; Carol's order stays open. Alice then places another order that only the
    open block holds when the operator commits a rogue block 2000. Alice also tries to exit her
    filled order output: the watcher challenges it with the settlement. Everyone else exits what the
    log says they own (orders, proceeds, remainders, change), Alice's new order in flight."""
    with TemporaryDirectory() as home:
        plasma = Plasma(Path(home), challenges=True)
        u1, u2, u3 = USERS
        w3, accounts = plasma.w3, plasma.accounts
        erc20 = contracts.deploy(w3, "TestERC20", "Test token", "TST", sender=plasma.root.authority)
        tkn = bytes.fromhex(erc20.address[2:])
        chain.send(w3, plasma.root.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, erc20.address), accounts[u2])
        chain.send(w3, erc20.functions.mint(accounts[u2], 40 * ONE), accounts[u2])
        deposits = {u1: plasma.client.deposit(accounts[u1], ETH, 10 * ONE), u2: plasma.client.deposit(accounts[u2], tkn, 40 * ONE),
                    u3: plasma.client.deposit(accounts[u3], ETH, 5 * ONE)}
        plasma.op.step()

        def place(user: int, inputs: list[int], sell: bytes, buy: bytes, amount: int, limit: int, change: int = 0) -> bytes:
            terms = OrderTerms(plasma.addr(user), sell, buy, amount, limit, orders.EXPIRY, user)
            rest = (Output(OUTPUT_TYPE_PAYMENT, plasma.addr(user), sell, change),) if change else ()
            signed = sign_order(order_tx(tuple(inputs), terms, rest), (KEYS[user],), plasma.vc)
            assert plasma.node.submit([OrderPlaced(signed)])[0].accepted
            return signed

        place(u1, [encode_utxo_pos(deposits[u1], 0, 0)], ETH, tkn, 6 * ONE, 12 * ONE, change=4 * ONE)
        place(u2, [encode_utxo_pos(deposits[u2], 0, 0)], tkn, ETH, 30 * ONE, 10 * ONE, change=10 * ONE)
        place(u3, [encode_utxo_pos(deposits[u3], 0, 0)], ETH, tkn, 5 * ONE, 100 * ONE)  # far from the market
        plasma.op.step()  # block 1000: the three orders and the settlement of Alice's and Bob's
        assert [tx_type_of(leaf) for leaf in plasma.op.watcher.index.leaves(1000)] == [4, 4, 4, 5]
        flying = place(u1, [encode_utxo_pos(1000, 0, 1)], ETH, tkn, 4 * ONE, 100 * ONE)  # her change, in the open block
        user_of = {plasma.addr(u): u for u in USERS}
        owed: dict[tuple[int, bytes], int] = {}
        for output in plasma.node.state.utxos.values():
            owed[(user_of[output.owner], output.token)] = owed.get((user_of[output.owner], output.token), 0) + output.amount
        assert owed[(u1, tkn)] and owed[(u2, ETH)] and owed[(u3, ETH)] == 5 * ONE  # fills paid, Carol's order open

        blknum, _, _ = plasma.rogue_block()
        filled = plasma.client.start_standard_exit(accounts[u1], encode_utxo_pos(1000, 0, 0), plasma.op.watcher.index)
        reports = plasma.op.step(seal=False).reports
        assert ("invalid_exit", filled, True) in {(r.condition, r.exit_id, r.challenged) for r in reports}
        assert ("block_withholding", blknum) in {(r.condition, r.blknum) for r in reports}
        index = plasma.op.watcher.index
        for pos, output in plasma.node.state.utxos.items():
            if pos // 10**9 < blknum and pos != encode_utxo_pos(1000, 0, 1):
                plasma.client.start_standard_exit(accounts[user_of[output.owner]], pos, index)
        plasma.client.start_in_flight_exit(accounts[OPERATOR], flying, index)
        plasma.client.piggyback(accounts[u1], unsigned_bytes(flying), True, 0)

        chain.travel(w3, 2 * PERIOD + 1)
        paid: dict[tuple[int, bytes], int] = {}
        for token, name, vault in ((ETH, "EthWithdrawn", plasma.root.eth_vault), (tkn, "Erc20Withdrawn", plasma.root.erc20_vault)):
            receipt = plasma.client.process_exits(accounts[OPERATOR], token, count=100)
            for event in getattr(vault.events, name)().process_receipt(receipt, errors=DISCARD):
                who = (accounts.index(event.args.receiver), token)
                paid[who] = paid.get(who, 0) + event.args.amount
        assert paid == owed
        plasma.node.store.close()
