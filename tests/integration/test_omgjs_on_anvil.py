"""omg-js 4.1.2-1.0.4's own RootChain (node, `make omgjs`) drives our contracts on anvil: it
deposits, reads a deposit's exit data, starts standard exits, finds and reads the exit queue,
challenges an exit of a spent output and processes exits, with exact balances. What it calls,
how it encodes and what it decodes (receipt.logs[0] of a deposit, heapList's priorities) are
plasma-contracts v1.0.4's; a mismatch fails here as it would for a wallet.

The in-flight exits are test_omgjs_in_flight_on_anvil.py's; omg-js itself is run by omgjs.py.
"""
from __future__ import annotations

from web3 import Web3

from adapters.ethereum import contracts
from proofs import merkle
from proofs.payment import Output, PaymentTx, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, BOB, BOND_WEI, CAROL, ETH, MIN_EXIT_PERIOD_S, events
from tests.integration.omgjs import ETH_ADDRESS, ONE_ETH, fee_of, hexed, omgjs_on


def test_omgjs_deposits_exits_challenges_and_processes_on_anvil(anvil: Web3) -> None:
    chain, omgjs = omgjs_on(anvil)
    assert omgjs("hasToken", [ETH_ADDRESS]) is True

    # Alice deposits through omg-js, which then reads the deposit's block from its receipt's first log.
    receipt = omgjs.sent("deposit", {"amount": str(10 * ONE_ETH), "currency": ETH_ADDRESS}, ALICE)
    alice_tx = encode(deposit_tx(chain.addr(ALICE), ETH, 10 * ONE_ETH))
    alice_pos = encode_utxo_pos(1, 0, 0)
    exit_data = omgjs("getDepositExitData", {"transactionHash": hexed(receipt.transactionHash)})
    assert (exit_data["txbytes"], exit_data["utxo_pos"]) == (hexed(alice_tx), alice_pos)
    assert exit_data["proof"] == hexed(merkle.proof([alice_tx], 0))

    # Alice spends her deposit to Bob in child block 1000, then exits it anyway, with omg-js.
    spend = PaymentTx([alice_pos], [Output(1, chain.addr(BOB), ETH, 10 * ONE_ETH)])
    signature = chain.sign(spend, ALICE)
    chain.submit_block([spend])
    omgjs.sent("startStandardExit", {"utxoPos": alice_pos, "outputTx": exit_data["txbytes"],
                                     "inclusionProof": exit_data["proof"]}, ALICE)
    alice_exit = int(omgjs("getStandardExitId", {"txBytes": hexed(alice_tx), "utxoPos": alice_pos, "isDeposit": True}))
    [queued] = omgjs("getExitQueue", [ETH_ADDRESS])  # exitsQueues + heapList, split as v1.0.4's priority
    assert int(queued["exitId"]) == alice_exit
    assert int(queued["exitableAt"]) == chain.now() + MIN_EXIT_PERIOD_S  # a deposit waits one period

    # Carol challenges with Alice's signature of the spend; omg-js adds senderData = keccak(Carol).
    carol_before = chain.balance(CAROL)
    receipt = omgjs.sent("challengeStandardExit", {
        "standardExitId": {"BN": str(alice_exit)}, "exitingTx": hexed(alice_tx), "challengeTx": hexed(encode_unsigned(spend)),
        "inputIndex": 0, "challengeTxSig": hexed(signature)}, CAROL)
    assert [e.utxoPos for e in events(chain.exit_game, "ExitChallenged", receipt)] == [alice_pos]
    assert chain.balance(CAROL) == carol_before + BOND_WEI - fee_of(receipt)

    # Bob deposits 2 ETH and exits it with omg-js; after the period omg-js processes the queue.
    receipt = omgjs.sent("deposit", {"amount": str(2 * ONE_ETH), "currency": ETH_ADDRESS}, BOB)
    bob_data = omgjs("getDepositExitData", {"transactionHash": hexed(receipt.transactionHash)})
    omgjs.sent("startStandardExit", {"utxoPos": bob_data["utxo_pos"], "outputTx": bob_data["txbytes"],
                                     "inclusionProof": bob_data["proof"]}, BOB)
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    bob_before = chain.balance(BOB)
    receipt = omgjs.sent("processExits", {"token": ETH_ADDRESS, "exitId": 0, "maxExitsToProcess": 10}, CAROL)
    assert [e.exitId for e in events(chain.exit_game, "ExitOmitted", receipt)] == [alice_exit]
    assert len(events(chain.exit_game, "ExitFinalized", receipt)) == 1
    assert chain.balance(BOB) == bob_before + 2 * ONE_ETH + BOND_WEI
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 10 * ONE_ETH  # Alice's spent deposit stays (Bob's now)
    assert omgjs("getExitQueue", [ETH_ADDRESS]) == []
    assert chain.framework.functions.exitQueueSize(contracts.ETH_VAULT_ID, ETH_ADDRESS).call() == 0
