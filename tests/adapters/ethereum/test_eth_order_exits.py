"""Exits of the DEX's order outputs (issue 13, DEX.md): restricted custody keeps the Plasma guarantee.

An ORDER (tx type 4) moves its owner's payment outputs into an order output (type 3); a SETTLEMENT
(tx type 5) fills order outputs. The exit games of both types (PaymentExitGame's code registered
per tx type) let the owner exit an order output, the change and a settlement's proceeds; an exit
of an order output is challenged by the owner's cancel or by a settlement that keeps the order's
limit, never by one that breaks it; an ORDER or SETTLEMENT in a withheld block exits in flight.
Every transaction is built and signed by proofs/order.py: the contracts hash the same bytes.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import attrs

from adapters.ethereum import contracts
from proofs import eip712, merkle, order
from proofs.order import FillRecord, OrderTerms, SettlementTx, encode_order_unsigned, encode_settlement_unsigned
from proofs.payment import Output, PaymentTx, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, BOB, CAROL, ETH, ETH_HEX, events, key, raw, reverts

ONE = 10**18
EXPIRY = 100_000  # a child block number
PAYMENT_TX, ORDER_TX, SETTLEMENT_TX = contracts.PAYMENT_TX_TYPE, contracts.ORDER_TX_TYPE, contracts.SETTLEMENT_TX_TYPE


def game(chain, tx_type: int) -> Any:
    return chain.root.exit_game_of(chain.w3, tx_type)


def pay(chain, account: int, token: bytes, amount: int) -> Output:
    return Output(contracts.OUTPUT_TYPE_PAYMENT, chain.addr(account), token, amount)


def submit(chain, leaves: list[bytes]) -> int:
    blknum = chain.framework.functions.nextChildBlock().call()
    chain.send(chain.framework.functions.submitBlock(merkle.root(leaves)), 0)
    return blknum


def order_signature(chain, tx: order.OrderTx, account: int) -> bytes:
    return eip712.sign(order.signing_hash(tx, raw(chain.framework.address)), key(account))


def book(chain) -> SimpleNamespace:
    """Alice deposits 10 ETH and Bob 40 TKN; block 1000 holds Alice's order (sell 6 ETH for at
    least 12 TKN, change 4 ETH) then Bob's (sell 30 TKN for at least 10 ETH, change 10 TKN)."""
    tkn = raw(chain.token.address)
    a_blk, a_deposit = chain.deposit_eth(ALICE, 10 * ONE)
    b_blk, b_deposit = chain.deposit_token(BOB, 40 * ONE)
    a_terms = OrderTerms(chain.addr(ALICE), ETH, tkn, 6 * ONE, 12 * ONE, EXPIRY, 1)
    b_terms = OrderTerms(chain.addr(BOB), tkn, ETH, 30 * ONE, 10 * ONE, EXPIRY, 2)
    a_order = order.order_tx((encode_utxo_pos(a_blk, 0, 0),), a_terms, (pay(chain, ALICE, ETH, 4 * ONE),))
    b_order = order.order_tx((encode_utxo_pos(b_blk, 0, 0),), b_terms, (pay(chain, BOB, tkn, 10 * ONE),))
    leaves = [encode_order_unsigned(a_order), encode_order_unsigned(b_order)]
    blknum = submit(chain, leaves)
    return SimpleNamespace(
        tkn=tkn, a_terms=a_terms, b_terms=b_terms, a_order=a_order, b_order=b_order, leaves=leaves, blknum=blknum,
        a_deposit=(a_deposit, encode_utxo_pos(a_blk, 0, 0), merkle.proof([a_deposit], 0)),
        b_deposit=(b_deposit, encode_utxo_pos(b_blk, 0, 0), merkle.proof([b_deposit], 0)),
        a_pos=encode_utxo_pos(blknum, 0, 0), b_pos=encode_utxo_pos(blknum, 1, 0),
    )


def settlement(b: SimpleNamespace, a_fill: tuple[int, int, int], b_fill: tuple[int, int, int]) -> SettlementTx:
    """Alice's and Bob's order outputs filled as (sold, bought, fee), outputs as DEX.md lays them out."""
    records = (FillRecord(*b.a_terms, *a_fill), FillRecord(*b.b_terms, *b_fill))
    outputs = (*order.settlement_outputs(records[0], max(0, b.a_terms.sell_amount - a_fill[0])),
               *order.settlement_outputs(records[1], max(0, b.b_terms.sell_amount - b_fill[0])))
    return SettlementTx((b.a_pos, b.b_pos), outputs, records)


# At 2.5 TKN per ETH: Alice sells all 6 ETH for 15 TKN (fee 1), Bob 15 of his 30 TKN for 6 ETH.
FAIR = ((6 * ONE, 15 * ONE, ONE), (15 * ONE, 6 * ONE, 0))


def start_exit(chain, tx_type: int, account: int, pos: int, tx: bytes, proof: bytes) -> int:
    exits = game(chain, tx_type)
    bond = exits.functions.startStandardExitBondSize().call()
    [started] = events(exits, "ExitStarted", chain.send(exits.functions.startStandardExit((pos, tx, proof)), account, bond))
    return started.exitId


def challenge(chain, tx_type: int, exit_id: int, exiting: bytes, spending: bytes, index: int = 0, sig: bytes = b"") -> Any:
    exits = game(chain, tx_type)
    args = (exit_id, exiting, spending, index, sig, chain.sender_data(CAROL))
    return chain.send(exits.functions.challengeStandardExit(args), CAROL)


def process(chain) -> dict[tuple[str, str], int]:
    """Process every due exit of ETH and TKN; {(receiver, token): amount paid}."""
    chain.travel(3 * 1000)
    paid: dict[tuple[str, str], int] = {}
    for token, vault_id, vault, name in ((ETH_HEX, contracts.ETH_VAULT_ID, chain.eth_vault, "EthWithdrawn"),
                                         (chain.token.address, contracts.ERC20_VAULT_ID, chain.erc20_vault, "Erc20Withdrawn")):
        if chain.framework.functions.exitQueueSize(vault_id, token).call():
            receipt = chain.process(token, 20, vault_id)
            for e in events(vault, name, receipt):
                paid[(e.receiver, token)] = paid.get((e.receiver, token), 0) + e.amount
    return paid


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

def ife(chain, tx_type: int, account: int, tx: bytes, inputs: list[tuple[bytes, int, bytes]], witnesses: list[bytes]) -> int:
    exits = game(chain, tx_type)
    args = (tx, [t for t, _, _ in inputs], [p for _, p, _ in inputs], [p for _, _, p in inputs], witnesses)
    chain.send(exits.functions.startInFlightExit(args), account, exits.functions.startIFEBondSize().call())
    return exits.functions.getInFlightExitId(tx).call()


def piggyback(chain, tx_type: int, account: int, tx: bytes, oindex: int) -> None:
    exits = game(chain, tx_type)
    chain.send(exits.functions.piggybackInFlightExitOnOutput((tx, oindex)), account, exits.functions.piggybackBondSize().call())


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
