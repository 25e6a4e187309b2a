"""PaymentExitGame standard exits: start with a proof from proofs.merkle, challenge with a
signature from proofs.eip712, process in priority order after the minimum exit period."""
from __future__ import annotations

import pytest

from adapters.ethereum import contracts
from proofs import eip712, merkle
from proofs.keccak import keccak256
from proofs.payment import Output, PaymentTx, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.rootchain import (
    ALICE, AUTHORITY, BOB, BOND_WEI, CAROL, ETH, ETH_HEX, MIN_EXIT_PERIOD_S, events, key, reverts,
)

ONE_ETH = 10**18
TIME_SHIFT = 214  # exitableAt sits in the top 42 bits of an exit's priority (v1.0.4's ExitPriority)
EXIT_ID_BITS = 160


def out(chain, account: int, amount: int, token: bytes = ETH) -> Output:
    return Output(1, chain.addr(account), token, amount)


def exit_deposit(chain, account: int, amount: int) -> tuple[int, int, bytes]:
    """Deposit ETH and start its standard exit; returns (exit id, utxo position, deposit tx)."""
    blknum, tx = chain.deposit_eth(account, amount)
    pos = encode_utxo_pos(blknum, 0, 0)
    return chain.start_exit(account, pos, tx, merkle.proof([tx], 0)), pos, tx


def fee_of(chain, receipt) -> int:
    return receipt.gasUsed * receipt.effectiveGasPrice


def child_block_with_payment(chain):
    """Alice deposits 10 ETH, then child block 1000 holds [other, alice -> bob 7 + alice 3, other]."""
    blknum, _ = chain.deposit_eth(ALICE, 10 * ONE_ETH)
    payment = PaymentTx([encode_utxo_pos(blknum, 0, 0)], [out(chain, BOB, 7 * ONE_ETH), out(chain, ALICE, 3 * ONE_ETH)])
    others = [PaymentTx([encode_utxo_pos(900 + i, 0, 0)], [out(chain, CAROL, 1)]) for i in range(2)]
    child, leaves = chain.submit_block([others[0], payment, others[1]])
    assert child == 1000 and leaves[1] == encode_unsigned(payment)
    return child, leaves


# --- start ----------------------------------------------------------------------

def test_standard_exit_of_a_deposit_output(chain):
    exit_id, pos, tx = exit_deposit(chain, ALICE, ONE_ETH)
    assert exit_id == chain.exit_game.functions.getStandardExitId(True, tx, pos).call()
    exit_ = chain.exit_of(exit_id)
    assert exit_ == (True, pos, exit_[2], chain.accounts[ALICE], ONE_ETH, BOND_WEI)  # v1.0.4's StandardExit
    assert chain.framework.functions.exitQueueSize(contracts.ETH_VAULT_ID, ETH_HEX).call() == 1
    assert chain.w3.eth.get_balance(chain.exit_game.address) == BOND_WEI
    priority = chain.framework.functions.getNextExit(contracts.ETH_VAULT_ID, ETH_HEX).call()
    assert priority >> TIME_SHIFT == chain.now() + MIN_EXIT_PERIOD_S  # a deposit waits one period
    assert priority & (2**EXIT_ID_BITS - 1) == exit_id
    assert (priority >> EXIT_ID_BITS) & (2**54 - 1) == pos // 10_000  # then the tx position


def test_standard_exit_of_a_child_block_output_with_a_merkle_proof(chain):
    child, leaves = child_block_with_payment(chain)
    block_timestamp = chain.framework.functions.blocks(child).call()[1]
    pos = encode_utxo_pos(child, 1, 0)
    with reverts("The transaction must be standard finalized"):  # the proof of another leaf
        chain.start_exit(BOB, pos, leaves[1], merkle.proof(leaves, 0))
    exit_id = chain.start_exit(BOB, pos, leaves[1], merkle.proof(leaves, 1))
    assert exit_id == chain.exit_game.functions.getStandardExitId(False, leaves[1], pos).call()
    assert chain.exit_of(exit_id)[4] == 7 * ONE_ETH
    priority = chain.framework.functions.getNextExit(contracts.ETH_VAULT_ID, ETH_HEX).call()
    assert priority >> TIME_SHIFT == block_timestamp + 2 * MIN_EXIT_PERIOD_S  # a fresh output waits two
    # Alice's change output of the same transaction exits too.
    chain.start_exit(ALICE, encode_utxo_pos(child, 1, 1), leaves[1], merkle.proof(leaves, 1))


def test_only_the_output_owner_starts_an_exit(chain):
    blknum, tx = chain.deposit_eth(ALICE, ONE_ETH)
    with reverts("Only output owner can start an exit"):
        chain.start_exit(CAROL, encode_utxo_pos(blknum, 0, 0), tx, merkle.proof([tx], 0))


def test_start_rules(chain):
    blknum, tx = chain.deposit_eth(ALICE, ONE_ETH)
    pos, proof = encode_utxo_pos(blknum, 0, 0), merkle.proof([tx], 0)
    start = chain.exit_game.functions.startStandardExit
    with reverts("Input value must match msg.value"):
        chain.send(start((pos, tx, proof)), ALICE, BOND_WEI - 1)
    with reverts("Failed to get the root hash of the block num"):
        chain.send(start((encode_utxo_pos(5, 0, 0), tx, proof)), ALICE, BOND_WEI)
    with reverts("Output index out of range"):
        chain.send(start((pos + 1, tx, proof)), ALICE, BOND_WEI)
    with reverts("The transaction must be standard finalized"):
        chain.send(start((pos, tx, merkle.proof([tx, tx], 1))), ALICE, BOND_WEI)
    with reverts("Merkle proof must not be empty"):
        chain.send(start((pos, tx, b"")), ALICE, BOND_WEI)
    chain.start_exit(ALICE, pos, tx, proof)
    with reverts("Exit has already started"):
        chain.start_exit(ALICE, pos, tx, proof)


# --- challenge ------------------------------------------------------------------

def spend_of(chain, pos: int, amount: int) -> PaymentTx:
    """A payment of the output at `pos` to Bob, behind another input (so its inputIndex is 1)."""
    return PaymentTx([encode_utxo_pos(77, 0, 0), pos], [out(chain, BOB, amount)])


def test_a_spent_output_exit_is_challenged_with_the_owners_eip712_signature(chain):
    exit_id, pos, tx = exit_deposit(chain, ALICE, ONE_ETH)
    spend = spend_of(chain, pos, ONE_ETH)
    signature = chain.sign(spend, ALICE)  # proofs.eip712, verifying contract = the framework
    before = chain.balance(CAROL)
    receipt = chain.send(
        chain.exit_game.functions.challengeStandardExit((exit_id, tx, encode_unsigned(spend), 1, signature, chain.sender_data(CAROL))), CAROL
    )
    assert [e.utxoPos for e in events(chain.exit_game, "ExitChallenged", receipt)] == [pos]
    assert chain.balance(CAROL) == before + BOND_WEI - fee_of(chain, receipt)  # the challenger takes the bond
    assert chain.exit_of(exit_id)[0] is False
    with reverts("The exit does not exist"):
        chain.send(chain.exit_game.functions.challengeStandardExit((exit_id, tx, encode_unsigned(spend), 1, signature, chain.sender_data(CAROL))), CAROL)
    with reverts("Output was shown spent by a challenge"):
        chain.start_exit(ALICE, pos, tx, merkle.proof([tx], 0))
    # The queue entry is skipped when its time comes; the vault keeps the deposit.
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    receipt = chain.process()
    assert [e.exitId for e in events(chain.exit_game, "ExitOmitted", receipt)] == [exit_id]
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == ONE_ETH


def test_a_challenge_needs_the_owners_signature_of_a_spend(chain):
    exit_id, pos, tx = exit_deposit(chain, ALICE, ONE_ETH)
    spend = spend_of(chain, pos, ONE_ETH)
    spend_bytes = encode_unsigned(spend)

    def challenge(args: tuple):
        return chain.exit_game.functions.challengeStandardExit((*args, chain.sender_data(CAROL)))
    with reverts("Tx is not signed correctly"):  # Bob is not the owner
        chain.send(challenge((exit_id, tx, spend_bytes, 1, chain.sign(spend, BOB))), CAROL)
    other_domain = eip712.sign(eip712.signing_hash(spend, b"\x44" * 20), key(ALICE))
    with reverts("Tx is not signed correctly"):  # signed for another verifying contract
        chain.send(challenge((exit_id, tx, spend_bytes, 1, other_domain)), CAROL)
    good = chain.sign(spend, ALICE)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    high_s = r + (eip712.SECP256K1_HALF_N * 2 + 1 - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin
    with reverts("Failed to recover the signer from the signature"):
        chain.send(challenge((exit_id, tx, spend_bytes, 1, high_s)), CAROL)
    with reverts("Spending tx points to the incorrect output UTXO position"):
        chain.send(challenge((exit_id, tx, spend_bytes, 0, good)), CAROL)
    with reverts("Invalid exiting tx causing outputId mismatch"):
        chain.send(challenge((exit_id, spend_bytes, spend_bytes, 1, good)), CAROL)
    assert chain.exit_of(exit_id)[0] is True


def test_a_challenge_is_bound_to_its_sender_by_sender_data(chain):
    """v1.0.4: senderData = keccak(challenger), so a front-runner copying the calldata cannot take the bond."""
    exit_id, pos, tx = exit_deposit(chain, ALICE, ONE_ETH)
    spend = spend_of(chain, pos, ONE_ETH)
    args = (exit_id, tx, encode_unsigned(spend), 1, chain.sign(spend, ALICE), chain.sender_data(CAROL))
    with reverts("Incorrect senderData"):  # Bob sends Carol's challenge as it is
        chain.send(chain.exit_game.functions.challengeStandardExit(args), BOB)
    assert chain.exit_of(exit_id)[0] is True
    receipt = chain.send(chain.exit_game.functions.challengeStandardExit(args), CAROL)
    assert [e.utxoPos for e in events(chain.exit_game, "ExitChallenged", receipt)] == [pos]


def test_exit_ids_are_v1_0_4s_160_bit_ids(chain):
    """ExitId: output index from bit 152, in-flight flag at bit 151, 151 bits of a hash below it."""
    child, leaves = child_block_with_payment(chain)
    pos = encode_utxo_pos(child, 1, 1)
    standard = chain.exit_game.functions.getStandardExitId(False, leaves[1], pos).call()
    assert standard == (int.from_bytes(keccak256(leaves[1]), "big") >> 105) | (1 << 152)
    in_flight = chain.exit_game.functions.getInFlightExitId(leaves[1]).call()
    assert in_flight == (int.from_bytes(keccak256(leaves[1]), "big") >> 105) | (1 << 151)
    assert standard < 2**EXIT_ID_BITS and in_flight < 2**EXIT_ID_BITS


def test_an_exit_queue_is_found_and_read_as_omgjs_does(chain):
    """omg-js's getExitQueue: exitsQueues(keccak(abi.encodePacked(vaultId, token))).heapList(), 0 first."""
    queue = contracts.exit_queue(chain.w3, chain.framework, contracts.ETH_VAULT_ID, ETH_HEX)
    assert queue.functions.heapList().call() == [0]
    exit_id, _, _ = exit_deposit(chain, ALICE, ONE_ETH)
    priority = chain.framework.functions.getNextExit(contracts.ETH_VAULT_ID, ETH_HEX).call()
    assert queue.functions.heapList().call() == [0, priority] and priority & (2**EXIT_ID_BITS - 1) == exit_id
    assert queue.functions.framework().call() == chain.framework.address
    with reverts("Caller address is unauthorized"):  # only the framework queues and dequeues
        chain.send(queue.functions.delMin(), ALICE)
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    chain.process()
    assert queue.functions.heapList().call() == [0]


# --- process --------------------------------------------------------------------

def test_an_exit_is_paid_once_after_the_minimum_exit_period(chain):
    exit_id, pos, tx = exit_deposit(chain, ALICE, ONE_ETH)
    receipt = chain.process()  # too early: nothing happens
    assert [e.processedNum for e in events(chain.framework, "ProcessedExitsNum", receipt)] == [0]
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    before = chain.balance(ALICE)
    receipt = chain.process()  # Carol pays the gas; Alice gets the amount and her bond
    assert [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)] == [exit_id]
    assert [(e.receiver, e.amount) for e in events(chain.eth_vault, "EthWithdrawn", receipt)] == [(chain.accounts[ALICE], ONE_ETH)]
    assert chain.balance(ALICE) == before + ONE_ETH + BOND_WEI
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 0
    assert chain.w3.eth.get_balance(chain.exit_game.address) == 0
    with reverts("Exit queue is empty"):
        chain.process()
    with reverts("Output is already spent or exited"):
        chain.start_exit(ALICE, pos, tx, merkle.proof([tx], 0))
    assert chain.balance(ALICE) == before + ONE_ETH + BOND_WEI  # paid once; the refused calls never got mined


def test_a_fresh_child_block_output_waits_two_periods(chain):
    child, leaves = child_block_with_payment(chain)
    chain.start_exit(BOB, encode_utxo_pos(child, 1, 0), leaves[1], merkle.proof(leaves, 1))
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    before = chain.balance(BOB)
    chain.process()
    assert chain.balance(BOB) == before
    chain.travel(MIN_EXIT_PERIOD_S)
    chain.process()
    assert chain.balance(BOB) == before + 7 * ONE_ETH + BOND_WEI


def test_exits_are_processed_older_outputs_first(chain):
    """Two deposit exits started in one block share exitableAt; the older position goes first."""
    alice_blk, alice_tx = chain.deposit_eth(ALICE, ONE_ETH)
    bob_blk, bob_tx = chain.deposit_eth(BOB, 2 * ONE_ETH)
    start = chain.exit_game.functions.startStandardExit
    chain.tester.disable_auto_mine_transactions()
    try:
        for account, blknum, tx in [(BOB, bob_blk, bob_tx), (ALICE, alice_blk, alice_tx)]:
            args = (encode_utxo_pos(blknum, 0, 0), tx, merkle.proof([tx], 0))
            start(args).transact({"from": chain.accounts[account], "value": BOND_WEI, "gas": 1_000_000})
        chain.tester.mine_blocks(1)
    finally:
        chain.tester.enable_auto_mine_transactions()
    alice_exit = chain.exit_game.functions.getStandardExitId(True, alice_tx, encode_utxo_pos(alice_blk, 0, 0)).call()
    bob_exit = chain.exit_game.functions.getStandardExitId(True, bob_tx, encode_utxo_pos(bob_blk, 0, 0)).call()
    assert chain.exit_of(alice_exit)[0] and chain.exit_of(bob_exit)[0]
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    process = chain.framework.functions.processExits
    with reverts("Top exit ID of the queue is different to the one specified"):
        chain.send(process(contracts.ETH_VAULT_ID, ETH_HEX, bob_exit, 1), CAROL)
    receipt = chain.send(process(contracts.ETH_VAULT_ID, ETH_HEX, alice_exit, 1), CAROL)
    assert [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)] == [alice_exit]
    receipt = chain.send(process(contracts.ETH_VAULT_ID, ETH_HEX, bob_exit, 5), CAROL)
    assert [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)] == [bob_exit]


def test_an_erc20_exit_pays_tokens_from_the_erc20_vault(chain):
    blknum, tx = chain.deposit_token(ALICE, 700)
    exit_id = chain.start_exit(ALICE, encode_utxo_pos(blknum, 0, 0), tx, merkle.proof([tx], 0))
    assert chain.exit_of(exit_id)[4] == 700
    assert chain.framework.functions.exitQueueSize(contracts.ERC20_VAULT_ID, chain.token.address).call() == 1
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    with reverts("Exit queue is empty"):  # it waits in the (ERC20 vault, token) queue, not ETH's
        chain.process()
    chain.process(token=chain.token.address, vault_id=contracts.ERC20_VAULT_ID)
    assert chain.token.functions.balanceOf(chain.accounts[ALICE]).call() == 700
    assert chain.token.functions.balanceOf(chain.erc20_vault.address).call() == 0


def test_only_the_framework_calls_process_exit(chain):
    exit_id, _, _ = exit_deposit(chain, ALICE, ONE_ETH)
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    for account in (ALICE, AUTHORITY):  # not the owner, not the operator
        with reverts("Caller address is unauthorized"):
            chain.send(chain.exit_game.functions.processExit(exit_id, contracts.ETH_VAULT_ID, ETH_HEX), account)
