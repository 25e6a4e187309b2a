"""The root chain on a real Ethereum node (anvil): deposits, a child block, an honest exit,
a challenged exit of a spent output, time travel and processing, with exact balances.

Every transaction is signed locally (raw transactions, as against a real network) and every
payload comes from our Python proofs: RLP, EIP-712 signatures, Merkle proofs.
"""
from __future__ import annotations

from typing import Any

from web3 import Web3

from adapters.ethereum import contracts
from proofs import eip712, merkle
from proofs.payment import Output, PaymentTx, encode_utxo_pos
from tests.adapters.ethereum.rootchain import (
    ALICE, BOB, BOND_WEI, CAROL, ETH, ETH_HEX, MIN_EXIT_PERIOD_S, events, key, new_chain, raw,
)

ONE_ETH = 10**18
FUNDS_WEI = 1000 * ONE_ETH


def fee_of(receipt: Any) -> int:
    return receipt.gasUsed * receipt.effectiveGasPrice


def test_deposit_exit_challenge_and_process_on_anvil(anvil: Web3) -> None:
    for i in range(4):  # our accounts are the keys 1..4 the helper signs with; anvil funds them
        anvil.provider.make_request("anvil_setBalance", ["0x" + eip712.address_of(key(i)).hex(), hex(FUNDS_WEI)])
    chain = new_chain(anvil)
    assert chain.w3.eth.chain_id == 31337  # anvil's, not eth-tester's

    # Deposits: Alice 10 ETH, Bob 700 tokens.
    alice_blk, alice_tx = chain.deposit_eth(ALICE, 10 * ONE_ETH)
    bob_blk, bob_tx = chain.deposit_token(BOB, 700)

    # Child block 1000: Alice pays Bob 7 ETH and keeps 3, signing with EIP-712 (proofs.eip712).
    payment = PaymentTx(
        [encode_utxo_pos(alice_blk, 0, 0)],
        [Output(1, chain.addr(BOB), ETH, 7 * ONE_ETH), Output(1, chain.addr(ALICE), ETH, 3 * ONE_ETH)],
    )
    signature = chain.sign(payment, ALICE)
    assert eip712.recover(eip712.signing_hash(payment, raw(chain.framework.address)), signature) == chain.addr(ALICE)
    child, leaves = chain.submit_block([payment])
    assert child == 1000

    # Bob exits his 7 ETH honestly, and his tokens; Alice exits the deposit she already spent.
    bob_exit = chain.start_exit(BOB, encode_utxo_pos(child, 0, 0), leaves[0], merkle.proof(leaves, 0))
    chain.start_exit(BOB, encode_utxo_pos(bob_blk, 0, 0), bob_tx, merkle.proof([bob_tx], 0))
    alice_pos = encode_utxo_pos(alice_blk, 0, 0)
    alice_exit = chain.start_exit(ALICE, alice_pos, alice_tx, merkle.proof([alice_tx], 0))

    # Carol challenges with the spend and Alice's signature, and takes the bond.
    carol_before = chain.balance(CAROL)
    receipt = chain.send(
        chain.exit_game.functions.challengeStandardExit((alice_exit, alice_tx, leaves[0], 0, signature, chain.sender_data(CAROL))), CAROL
    )
    assert [e.utxoPos for e in events(chain.exit_game, "ExitChallenged", receipt)] == [alice_pos]
    assert chain.balance(CAROL) == carol_before + BOND_WEI - fee_of(receipt)

    # Nothing is paid before its time; a fresh child-block output waits two periods.
    receipt = chain.process()
    assert [e.processedNum for e in events(chain.framework, "ProcessedExitsNum", receipt)] == [0]
    chain.travel(2 * MIN_EXIT_PERIOD_S + 1)

    alice_before, bob_before = chain.balance(ALICE), chain.balance(BOB)
    receipt = chain.process()  # Carol pays the gas
    assert [e.exitId for e in events(chain.exit_game, "ExitOmitted", receipt)] == [alice_exit]
    assert [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)] == [bob_exit]
    assert chain.balance(BOB) == bob_before + 7 * ONE_ETH + BOND_WEI
    assert chain.balance(ALICE) == alice_before  # the challenged exit paid nothing
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 3 * ONE_ETH  # Alice's change stays
    assert chain.w3.eth.get_balance(chain.exit_game.address) == BOND_WEI  # Bob's token exit bond

    chain.process(token=chain.token.address, vault_id=contracts.ERC20_VAULT_ID)
    assert chain.token.functions.balanceOf(chain.accounts[BOB]).call() == 700
    assert chain.w3.eth.get_balance(chain.exit_game.address) == 0
    assert chain.framework.functions.exitQueueSize(contracts.ETH_VAULT_ID, ETH_HEX).call() == 0
