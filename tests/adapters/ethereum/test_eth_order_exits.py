"""Exits of the DEX's order outputs (issue 13, DEX.md): restricted custody keeps the Plasma guarantee.

An ORDER (tx type 4) moves its owner's payment outputs into an order output (type 3); a SETTLEMENT
(tx type 5) fills order outputs. The exit games of both types (PaymentExitGame's code registered
per tx type) let the owner exit an order output, the change and a settlement's proceeds; an exit
of an order output is challenged by the owner's cancel or by a settlement that keeps the order's
limit, never by one that breaks it; an ORDER or SETTLEMENT in a withheld block exits in flight.
Every transaction is built and signed by proofs/order.py: the contracts hash the same bytes.
"""
from __future__ import annotations

import attrs

from adapters.ethereum.client import RootChainClient, inputs_and_witnesses
from proofs import merkle, order
from proofs.fraud import InvalidExitProof, Spend
from proofs.order import SettlementTx, encode_order_unsigned, encode_settlement_unsigned
from proofs.payment import PaymentTx, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.orders import (
    FAIR, ONE, ORDER_TX, PAYMENT_TX, SETTLEMENT_TX, book, challenge, game, ife, order_signature, pay, piggyback, process,
    settlement, start_exit, submit,
)
from tests.adapters.ethereum.rootchain import ALICE, BOB, CAROL, ETH, ETH_HEX, events, key, raw, reverts

# --- standard exits ----------------------------------------------------------------

def test_owners_exit_order_outputs_and_change_of_an_order_block(chain):
    b = book(chain)
    with reverts("Only output owner can start an exit"):
        start_exit(chain, ORDER_TX, BOB, b.a_pos, b.leaves[0], merkle.proof(b.leaves, 0))
    with reverts("Unsupported transaction type of the exit game"):  # the payment game exits payments only
        start_exit(chain, PAYMENT_TX, ALICE, b.a_pos, b.leaves[0], merkle.proof(b.leaves, 0))
    for account, index, oindex in ((ALICE, 0, 0), (ALICE, 0, 1), (BOB, 1, 0), (BOB, 1, 1)):
        start_exit(chain, ORDER_TX, account, encode_utxo_pos(b.blknum, index, oindex), b.leaves[index],
                   merkle.proof(b.leaves, index))
    tkn = chain.token.address
    assert process(chain) == {(chain.accounts[ALICE], ETH_HEX): 10 * ONE, (chain.accounts[BOB], tkn): 40 * ONE}


def test_the_owners_cancel_challenges_an_exit_of_the_order_output(chain):
    b = book(chain)
    exit_id = start_exit(chain, ORDER_TX, ALICE, b.a_pos, b.leaves[0], merkle.proof(b.leaves, 0))
    cancel = PaymentTx([b.a_pos], [pay(chain, ALICE, ETH, 6 * ONE)])
    with reverts("Tx is not signed correctly"):
        challenge(chain, ORDER_TX, exit_id, b.leaves[0], encode_unsigned(cancel), sig=chain.sign(cancel, BOB))
    receipt = challenge(chain, ORDER_TX, exit_id, b.leaves[0], encode_unsigned(cancel), sig=chain.sign(cancel, ALICE))
    assert events(game(chain, ORDER_TX), "ExitChallenged", receipt)[0].utxoPos == b.a_pos
    [deleted] = game(chain, ORDER_TX).functions.standardExits([exit_id]).call()
    assert not deleted[0]  # exitable no more


def test_placing_an_order_spends_the_funding_output_by_the_owners_order_signature(chain):
    """The ORDER's EIP-712 signature made by proofs/order.py verifies in the contract."""
    b = book(chain)
    deposit, pos, proof = b.a_deposit
    exit_id = start_exit(chain, PAYMENT_TX, ALICE, pos, deposit, proof)
    spending = encode_order_unsigned(b.a_order)
    with reverts("Tx is not signed correctly"):
        challenge(chain, PAYMENT_TX, exit_id, deposit, spending, sig=order_signature(chain, b.a_order, BOB))
    forged = attrs.evolve(b.a_order, buy_amount=ONE)  # Alice signed 12 TKN, not 1
    with reverts("Tx is not signed correctly"):
        challenge(chain, PAYMENT_TX, exit_id, deposit, encode_order_unsigned(forged), sig=order_signature(chain, b.a_order, ALICE))
    challenge(chain, PAYMENT_TX, exit_id, deposit, spending, sig=order_signature(chain, b.a_order, ALICE))
    assert process(chain) == {}


def test_only_a_settlement_within_the_limit_challenges_an_order_exit(chain):
    b = book(chain)
    a_exit = start_exit(chain, ORDER_TX, ALICE, b.a_pos, b.leaves[0], merkle.proof(b.leaves, 0))
    b_exit = start_exit(chain, ORDER_TX, BOB, b.b_pos, b.leaves[1], merkle.proof(b.leaves, 1))

    def fails(reason: str, tx: SettlementTx, exit_id: int = a_exit, exiting: bytes = b.leaves[0], index: int = 0) -> None:
        with reverts(reason):
            challenge(chain, ORDER_TX, exit_id, exiting, encode_settlement_unsigned(tx), index)

    below_limit = settlement(b, (6 * ONE, 11 * ONE, 0), FAIR[1])  # 11 TKN for 6 ETH: Alice asked 12
    fails("Settlement breaks the order's limit", below_limit)
    other_terms = attrs.evolve(below_limit, records=(below_limit.records[0]._replace(buy_amount=11 * ONE),
                                                     below_limit.records[1]))
    fails("Settlement record is not the order's", other_terms)
    fair = settlement(b, *FAIR)
    to_carol = attrs.evolve(fair, outputs=(pay(chain, CAROL, b.tkn, 14 * ONE), *fair.outputs[1:]))
    fails("Settlement does not pay the owner", to_carol)
    no_rest = attrs.evolve(fair, outputs=fair.outputs[:2])  # Bob's 15 unsold TKN not returned
    fails("Settlement does not return the remainder", no_rest, b_exit, b.leaves[1], 1)
    fails("Spending tx points to the incorrect output UTXO position", fair, b_exit, b.leaves[1], 0)
    oversold = settlement(b, (7 * ONE, 15 * ONE, 0), FAIR[1])
    fails("Settlement sells more than the order holds", oversold)

    challenge(chain, ORDER_TX, a_exit, b.leaves[0], encode_settlement_unsigned(fair), 0)
    challenge(chain, ORDER_TX, b_exit, b.leaves[1], encode_settlement_unsigned(fair), 1)
    assert process(chain) == {}


def test_a_settlements_proceeds_and_remainder_exit(chain):
    b = book(chain)
    fair = settlement(b, *FAIR)
    leaves = [encode_settlement_unsigned(fair)]
    blknum = submit(chain, leaves)
    proof = merkle.proof(leaves, 0)
    assert [o.amount for o in fair.outputs] == [14 * ONE, 6 * ONE, 15 * ONE]
    for account, oindex in ((ALICE, 0), (BOB, 1), (BOB, 2)):
        start_exit(chain, SETTLEMENT_TX, account, encode_utxo_pos(blknum, 0, oindex), leaves[0], proof)
    # the remainder is Bob's order still: a settlement of the next batch challenges its exit
    tkn = chain.token.address
    assert process(chain) == {(chain.accounts[ALICE], tkn): 14 * ONE, (chain.accounts[BOB], ETH_HEX): 6 * ONE,
                              (chain.accounts[BOB], tkn): 15 * ONE}


# --- in-flight exits ----------------------------------------------------------------

def test_an_order_in_a_withheld_block_exits_in_flight(chain):
    b = book(chain)  # only its deposits matter here: the orders are withheld
    tx = encode_order_unsigned(b.a_order)
    with reverts("Tx is not signed correctly"):
        ife(chain, ORDER_TX, CAROL, tx, [b.a_deposit], [order_signature(chain, b.a_order, BOB)])
    ife(chain, ORDER_TX, CAROL, tx, [b.a_deposit], [order_signature(chain, b.a_order, ALICE)])
    with reverts("Can be called only by the exit target"):
        piggyback(chain, ORDER_TX, BOB, tx, 0)
    piggyback(chain, ORDER_TX, ALICE, tx, 0)
    piggyback(chain, ORDER_TX, ALICE, tx, 1)
    assert process(chain) == {(chain.accounts[ALICE], ETH_HEX): 10 * ONE}


def test_a_settlement_in_a_withheld_block_exits_in_flight_with_the_limit_in_place_of_signatures(chain):
    b = book(chain)
    inputs = [(b.leaves[0], b.a_pos, merkle.proof(b.leaves, 0)), (b.leaves[1], b.b_pos, merkle.proof(b.leaves, 1))]
    below_limit = settlement(b, (6 * ONE, 11 * ONE, 0), (11 * ONE, 6 * ONE, 0))
    with reverts("Settlement breaks the order's limit"):
        ife(chain, SETTLEMENT_TX, CAROL, encode_settlement_unsigned(below_limit), inputs, [b"", b""])
    minting = settlement(b, (6 * ONE, 16 * ONE, 0), FAIR[1])  # pays Alice 16 TKN of Bob's 15 sold
    with reverts("Invalid state transition"):
        ife(chain, SETTLEMENT_TX, CAROL, encode_settlement_unsigned(minting), inputs, [b"", b""])
    tx = encode_settlement_unsigned(settlement(b, *FAIR))
    ife(chain, SETTLEMENT_TX, CAROL, tx, inputs, [b"", b""])
    for account, oindex in ((ALICE, 0), (BOB, 1), (BOB, 2)):
        piggyback(chain, SETTLEMENT_TX, account, tx, oindex)
    tkn = chain.token.address
    assert process(chain) == {(chain.accounts[ALICE], tkn): 14 * ONE, (chain.accounts[BOB], ETH_HEX): 6 * ONE,
                              (chain.accounts[BOB], tkn): 15 * ONE}


def test_the_client_sends_each_exit_to_the_game_of_its_transactions_type(chain):
    b = book(chain)
    client = RootChainClient(chain.w3, chain.root)
    assert client.game(b.leaves[0]).address == game(chain, ORDER_TX).address != chain.exit_game.address
    signed = order.sign_order(b.a_order, (key(ALICE),), raw(chain.framework.address))
    assert inputs_and_witnesses(signed) == ((b.a_deposit[1],), (order_signature(chain, b.a_order, ALICE),))
    fair = settlement(b, *FAIR)
    assert inputs_and_witnesses(order.encode_settlement(fair)) == ((b.a_pos, b.b_pos), (b"", b""))
    exit_id = start_exit(chain, ORDER_TX, ALICE, b.a_pos, b.leaves[0], merkle.proof(b.leaves, 0))
    spend = Spend(encode_settlement_unsigned(fair), 0, b"")  # a settlement's spend: no signature
    client.challenge_standard_exit(chain.accounts[CAROL], InvalidExitProof(exit_id, b.a_pos, b.leaves[0], spend))
    [challenged] = game(chain, ORDER_TX).functions.standardExits([exit_id]).call()
    assert not challenged[0]


def test_a_remainder_keeps_its_orders_terms_for_the_next_settlement(chain):
    """Bob's remainder (an order output of a SETTLEMENT) takes its terms from his record there."""
    b = book(chain)
    first = settlement(b, *FAIR)
    leaves = [encode_settlement_unsigned(first)]
    blknum = submit(chain, leaves)
    rest_pos = encode_utxo_pos(blknum, 0, 2)
    exit_id = start_exit(chain, SETTLEMENT_TX, BOB, rest_pos, leaves[0], merkle.proof(leaves, 0))
    record = first.records[1]._replace(sold=15 * ONE, bought=5 * ONE, fee=0)  # the rest, at his limit exactly
    second = SettlementTx((rest_pos,), order.settlement_outputs(record, 0), (record,))
    worse = record._replace(bought=5 * ONE - 1)
    with reverts("Settlement breaks the order's limit"):
        challenge(chain, SETTLEMENT_TX, exit_id, leaves[0],
                  encode_settlement_unsigned(SettlementTx((rest_pos,), order.settlement_outputs(worse, 0), (worse,))))
    with reverts("Settlement sells more than the order holds"):
        sold_all = record._replace(sold=30 * ONE, bought=10 * ONE)
        challenge(chain, SETTLEMENT_TX, exit_id, leaves[0],
                  encode_settlement_unsigned(SettlementTx((rest_pos,), order.settlement_outputs(sold_all, 0), (sold_all,))))
    challenge(chain, SETTLEMENT_TX, exit_id, leaves[0], encode_settlement_unsigned(second))
    [challenged] = game(chain, SETTLEMENT_TX).functions.standardExits([exit_id]).call()
    assert not challenged[0]


def test_an_owner_refuses_a_made_up_settlement_in_flight_with_a_cancel(chain):
    """A settlement needs no signature: Alice exits in flight one nobody included, filling Bob at
    his limit. Bob shows his own cancel as a competitor: non-canonical, the fill pays nothing."""
    b = book(chain)
    at_bobs_limit = settlement(b, (6 * ONE, 18 * ONE, 0), (18 * ONE, 6 * ONE, 0))  # 3 TKN/ETH: Bob's worst
    tx = encode_settlement_unsigned(at_bobs_limit)
    inputs = [(b.leaves[0], b.a_pos, merkle.proof(b.leaves, 0)), (b.leaves[1], b.b_pos, merkle.proof(b.leaves, 1))]
    ife(chain, SETTLEMENT_TX, ALICE, tx, inputs, [b"", b""])
    piggyback(chain, SETTLEMENT_TX, ALICE, tx, 0)
    cancel = PaymentTx([b.b_pos], [pay(chain, BOB, b.tkn, 30 * ONE)])
    args = (b.leaves[1], b.b_pos, tx, 1, encode_unsigned(cancel), 0, 0, b"", chain.sign(cancel, BOB))
    chain.send(game(chain, SETTLEMENT_TX).functions.challengeInFlightExitNotCanonical(args), BOB)
    assert process(chain) == {}  # Alice's 18 TKN stay Bob's; his order output is still his to exit


def test_a_cancel_in_a_withheld_block_exits_in_flight_by_the_payment_game(chain):
    """A cancel is a payment spending an order output: the payment exit game asks the order
    condition for the owner's signature, and Alice's funds come back from the in-flight cancel."""
    b = book(chain)
    cancel = PaymentTx([b.a_pos], [pay(chain, ALICE, ETH, 6 * ONE)])
    inputs = [(b.leaves[0], b.a_pos, merkle.proof(b.leaves, 0))]
    with reverts("Tx is not signed correctly"):
        ife(chain, PAYMENT_TX, CAROL, encode_unsigned(cancel), inputs, [chain.sign(cancel, BOB)])
    ife(chain, PAYMENT_TX, CAROL, encode_unsigned(cancel), inputs, [chain.sign(cancel, ALICE)])
    piggyback(chain, PAYMENT_TX, ALICE, encode_unsigned(cancel), 0)
    assert process(chain) == {(chain.accounts[ALICE], ETH_HEX): 6 * ONE}
