"""The DEX's transactions on the root chain, for the exit game tests (built by proofs/order.py).

`book` places two crossing orders in a submitted block: Alice sells ETH for TKN, Bob TKN for ETH;
`settlement` fills them as DEX.md lays a SETTLEMENT out. The helpers call the exit game of each
transaction type (the same code, registered for payments, ORDER and SETTLEMENT).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from adapters.ethereum import contracts
from proofs import eip712, merkle, order
from proofs.order import FillRecord, OrderTerms, SettlementTx, encode_order_unsigned
from proofs.payment import Output, encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, BOB, CAROL, ETH, ETH_HEX, MIN_EXIT_PERIOD_S, events, key, raw

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
    chain.travel(3 * MIN_EXIT_PERIOD_S)
    paid: dict[tuple[str, str], int] = {}
    for token, vault_id, vault, name in ((ETH_HEX, contracts.ETH_VAULT_ID, chain.eth_vault, "EthWithdrawn"),
                                         (chain.token.address, contracts.ERC20_VAULT_ID, chain.erc20_vault, "Erc20Withdrawn")):
        if chain.framework.functions.exitQueueSize(vault_id, token).call():
            receipt = chain.process(token, 20, vault_id)
            for e in events(vault, name, receipt):
                paid[(e.receiver, token)] = paid.get((e.receiver, token), 0) + e.amount
    return paid




def ife(chain, tx_type: int, account: int, tx: bytes, inputs: list[tuple[bytes, int, bytes]], witnesses: list[bytes]) -> int:
    exits = game(chain, tx_type)
    args = (tx, [t for t, _, _ in inputs], [p for _, p, _ in inputs], [p for _, _, p in inputs], witnesses)
    chain.send(exits.functions.startInFlightExit(args), account, exits.functions.startIFEBondSize().call())
    return exits.functions.getInFlightExitId(tx).call()


def piggyback(chain, tx_type: int, account: int, tx: bytes, oindex: int) -> None:
    exits = game(chain, tx_type)
    chain.send(exits.functions.piggybackInFlightExitOnOutput((tx, oindex)), account, exits.functions.piggybackBondSize().call())
