"""Attacks on the in-flight exit game, each refused by the contracts (issue 11):

1. a canonicity or input-spent challenge naming another output of the input transaction
   than the in-flight transaction's input (a child-block output id does not commit to its
   position), so that an old transaction of the input's owner passes as a competitor;
2. a queue entry outliving the exit instance it was made for, then paying a restarted
   instance of the same exit id seconds into its challenge window;
3. a piggyback challenged away blocking every later piggyback of its token (the same
   priority queued twice).
"""
from __future__ import annotations

from adapters.ethereum import contracts
from proofs import merkle
from proofs.payment import PaymentTx, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, AUTHORITY, BOB, CAROL, events, raw, reverts
from tests.adapters.ethereum.test_eth_inflight_exit import (
    HALF_PERIOD, ONE_ETH, PERIOD, Input, competitor_args, eth_held, eth_input, out, queue_size, token_input,
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
    first_block, _ = chain.submit_block([first])
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


# --- 2. a queue entry outliving its exit -------------------------------------------------

def test_a_queue_entry_cannot_outlive_its_exit_to_pay_a_restarted_one(chain):
    """Alice double-spends her deposit: `tx` to Bob in flight, `spend` to Carol in a block.
    Her input piggyback queues the exit and is challenged away; deleting the exit and
    restarting it would leave that entry to pay Bob's output long before the restarted
    exit's canonicity challenges are over, while Carol exits `spend`: the vault would pay
    twice for one deposit, out of Authority's. The exit lives on until its entry is processed."""
    chain.deposit_eth(AUTHORITY, 10 * ONE_ETH)  # someone else's money in the vault
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    spend = PaymentTx([alice_in[1]], [out(chain, CAROL, 10 * ONE_ETH)])
    block, leaves = chain.submit_block([spend])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(ALICE, tx, 0, output=False)  # queues the exit
    chain.send(chain.exit_game.functions.challengeInFlightExitInputSpent(input_spent_args(chain, tx, spend, alice_in)), CAROL)
    assert chain.ife_of(exit_id)[2] == 0 and queue_size(chain) == 1
    chain.travel(PERIOD + HALF_PERIOD)  # past the first phase, and late enough for a new priority

    with reverts("The in-flight exit is already piggybacked"):  # its queue entry still stands for it
        chain.send(chain.exit_game.functions.deleteNonPiggybackedInFlightExit(exit_id), BOB)
    with reverts("There is an active in-flight exit from this transaction"):
        chain.start_ife(BOB, tx, [alice_in], [ALICE])
    carol_exit = chain.start_exit(CAROL, encode_utxo_pos(block, 0, 0), leaves[0], merkle.proof(leaves, 0))

    chain.travel(PERIOD + 1)
    bob = chain.balance(BOB)
    receipt = chain.process()  # the entry ends the exit it was made for: its bond back, nothing paid
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    assert [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)] == [carol_exit]
    assert chain.balance(BOB) == bob + chain.ife_bond()
    assert queue_size(chain) == 0 and chain.ife_of(exit_id)[1] == 0
    assert eth_held(chain, chain.eth_vault) == 10 * ONE_ETH  # Authority's deposit, whole


def test_a_token_entry_keeps_the_exit_until_it_is_processed(chain):
    """An exit queued for two tokens whose token piggyback was challenged away: processing the
    ETH entry pays ETH but leaves the exit, so it cannot be restarted under the token entry;
    the token entry then ends it and returns its bond."""
    eth_in, tkn_in = eth_input(chain, ALICE, 10 * ONE_ETH), token_input(chain, ALICE, 500)
    tkn = raw(chain.token.address)
    tx = PaymentTx([eth_in[1], tkn_in[1]], [out(chain, BOB, 10 * ONE_ETH), out(chain, BOB, 500, tkn)])
    exit_id = chain.start_ife(BOB, tx, [eth_in, tkn_in], [ALICE, ALICE])
    chain.piggyback(BOB, tx, 0)
    chain.piggyback(ALICE, tx, 1, output=False)  # queues the token too
    spend = PaymentTx([tkn_in[1]], [out(chain, CAROL, 500, tkn)])
    chain.send(chain.exit_game.functions.challengeInFlightExitInputSpent(
        input_spent_args(chain, tx, spend, tkn_in, ife_index=1)), CAROL)
    chain.travel(2 * PERIOD + 1)
    bob = chain.balance(BOB)
    receipt = chain.process()
    assert [e.outputIndex for e in events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt)] == [0]
    assert events(chain.exit_game, "InFlightExitFinalized", receipt) == []
    assert chain.ife_of(exit_id)[1] != 0 and chain.ife_of(exit_id)[2] == 0
    with reverts("There is an active in-flight exit from this transaction"):
        chain.start_ife(BOB, tx, [eth_in, tkn_in], [ALICE, ALICE])

    receipt = chain.process(token=chain.token.address, vault_id=contracts.ERC20_VAULT_ID)
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    assert events(chain.exit_game, "InFlightExitOmitted", receipt) == []
    assert chain.balance(BOB) == bob + 10 * ONE_ETH + chain.piggyback_bond() + chain.ife_bond()
    assert chain.token.functions.balanceOf(chain.erc20_vault.address).call() == 500
    assert queue_size(chain, chain.token.address, contracts.ERC20_VAULT_ID) == 0 and chain.ife_of(exit_id)[1] == 0


# --- 3. piggybacks blocked by one challenged away --------------------------------------

def test_a_challenged_piggyback_does_not_block_the_next_of_its_token(chain):
    """Carol co-signs a payment with Alice and double-spends her own input. She piggybacks it
    first (queueing the exit) and has it challenged away herself, for her own bond back. The
    honest piggybacks of the same token join the existing queue entry instead of queueing the
    same priority again (which reverted), and Alice gets her input back."""
    alice_in, carol_in = eth_input(chain, ALICE, 6 * ONE_ETH), eth_input(chain, CAROL, 4 * ONE_ETH)
    tx = PaymentTx([alice_in[1], carol_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    double = PaymentTx([carol_in[1]], [out(chain, CAROL, 4 * ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in, carol_in], [ALICE, CAROL])
    chain.piggyback(CAROL, tx, 1, output=False)
    chain.send(chain.exit_game.functions.challengeInFlightExitInputSpent(
        input_spent_args(chain, tx, double, carol_in, signer=CAROL, ife_index=1)), CAROL)
    assert chain.ife_of(exit_id)[2] == 0 and queue_size(chain) == 1

    chain.piggyback(ALICE, tx, 0, output=False)
    chain.piggyback(BOB, tx, 0)
    assert chain.ife_of(exit_id)[2] == 0b10001 and queue_size(chain) == 1
    chain.send(chain.exit_game.functions.challengeInFlightExitNotCanonical(
        competitor_args(chain, carol_in, tx, double, signer=CAROL, ife_index=1)), BOB)

    chain.travel(2 * PERIOD + 1)
    alice = chain.balance(ALICE)
    receipt = chain.process()
    assert [e.inputIndex for e in events(chain.exit_game, "InFlightExitInputWithdrawn", receipt)] == [0]
    assert chain.balance(ALICE) == alice + 6 * ONE_ETH + chain.piggyback_bond()
    assert queue_size(chain) == 0 and chain.ife_of(exit_id)[1] == 0
