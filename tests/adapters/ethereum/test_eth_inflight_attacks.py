"""Attacks on the in-flight exit game, each refused by the contracts (issue 11):

1. a canonicity or input-spent challenge naming another output of the input transaction
   than the in-flight transaction's input (a child-block output id does not commit to its
   position), so that an old transaction of the input's owner passes as a competitor.
"""
from __future__ import annotations

from proofs import merkle
from proofs.payment import PaymentTx, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, BOB, CAROL, events, reverts
from tests.adapters.ethereum.test_eth_inflight_exit import (
    ONE_ETH, PERIOD, Input, competitor_args, eth_input, out,
)

NOT_THE_INPUT = "Input UTXO position is not the in-flight transaction's input"


def input_spent_args(chain, tx: PaymentTx, spending: PaymentTx, spent: Input, *, signer: int = ALICE,
                     sender: int = CAROL, ife_index: int = 0) -> tuple:
    """ChallengeInputSpentArgs: `spending` spends `spent`, input `ife_index` of the in-flight `tx`."""
    return (encode_unsigned(tx), ife_index, encode_unsigned(spending), 0, chain.sign(spending, signer), spent[0], spent[1],
            chain.sender_data(sender))


def alice_change_output(chain) -> tuple[Input, PaymentTx, int, int, list[bytes]]:
    """Alice pays herself twice in a row (her change, say), so her output at position P is
    output 0 of a transaction that itself spent her output 0 at position Q (both child-block
    outputs): (her input at P, that transaction, Q, the block holding it, its leaves)."""
    deposit = eth_input(chain, ALICE, 10 * ONE_ETH)
    first = PaymentTx([deposit[1]], [out(chain, ALICE, 10 * ONE_ETH)])
    first_block, first_leaves = chain.submit_block([first])
    older = encode_utxo_pos(first_block, 0, 0)
    second = PaymentTx([older], [out(chain, ALICE, 10 * ONE_ETH)])
    block, leaves = chain.submit_block([second])
    return (leaves[0], encode_utxo_pos(block, 0, 0), merkle.proof(leaves, 0)), second, older, block, leaves


# --- 1. a fake competitor ----------------------------------------------------------

def test_an_old_spend_of_another_output_of_the_input_tx_is_no_competitor(chain):
    """Alice honestly pays Bob 10 ETH from her output P (output 0 of `second`); the payment is
    withheld, so Bob exits it in flight. Carol shows `second` itself, which Alice signed and
    which spends her older output Q, also output 0: its output id is the same as P's, and its
    block is older than any the payment could be in, so no response could win it back."""
    alice_in, second, older, block, leaves = alice_change_output(chain)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    chain.piggyback(ALICE, tx, 0, output=False)
    fake: Input = (alice_in[0], older, alice_in[2])  # the input's transaction, at another position

    with reverts(NOT_THE_INPUT):
        chain.send(chain.exit_game.functions.challengeInFlightExitNotCanonical(competitor_args(
            chain, fake, tx, second, position=encode_utxo_pos(block, 0, 0), proof=merkle.proof(leaves, 0))), CAROL)
    with reverts(NOT_THE_INPUT):
        chain.send(chain.exit_game.functions.challengeInFlightExitInputSpent(input_spent_args(chain, tx, second, fake)), CAROL)
    assert chain.ife_of(exit_id)[0] is True and chain.ife_of(exit_id)[2] == 0b10001

    chain.travel(2 * PERIOD + 1)
    bob = chain.balance(BOB)
    receipt = chain.process()
    assert [e.outputIndex for e in events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt)] == [0]
    assert chain.balance(BOB) == bob + 10 * ONE_ETH + chain.piggyback_bond() + chain.ife_bond()


def test_a_real_double_spend_of_the_input_still_challenges_both_ways(chain):
    """The check binds the challenge to the in-flight input, nothing more: Alice's own
    double-spend of P still makes the exit non-canonical and blocks her input piggyback."""
    alice_in, *_ = alice_change_output(chain)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    double = PaymentTx([alice_in[1]], [out(chain, CAROL, 10 * ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(ALICE, tx, 0, output=False)
    chain.send(chain.exit_game.functions.challengeInFlightExitNotCanonical(competitor_args(chain, alice_in, tx, double)), CAROL)
    chain.send(chain.exit_game.functions.challengeInFlightExitInputSpent(input_spent_args(chain, tx, double, alice_in)), CAROL)
    assert chain.ife_of(exit_id)[0] is False and chain.ife_of(exit_id)[2] == 0
