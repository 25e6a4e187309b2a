"""PlasmaFramework: child blocks from the authority, deposit blocks from vaults, registries."""
from __future__ import annotations

import pytest

from adapters.ethereum import contracts
from proofs import merkle
from proofs.payment import deposit_tx, encode
from tests.adapters.ethereum.rootchain import ALICE, AUTHORITY, MIN_EXIT_PERIOD_S, TEST_CONTRACTS, events, reverts

ROOT_A, ROOT_B = b"\xaa" * 32, b"\xbb" * 32


def test_deployment_wires_vaults_exit_game_and_parameters(chain):
    fw = chain.framework.functions
    assert fw.authority().call() == chain.accounts[AUTHORITY]
    assert fw.minExitPeriod().call() == MIN_EXIT_PERIOD_S
    assert fw.CHILD_BLOCK_INTERVAL().call() == 1000
    assert (fw.nextChildBlock().call(), fw.nextDeposit().call()) == (1000, 1)
    assert fw.vaults(contracts.ETH_VAULT_ID).call() == chain.eth_vault.address
    assert fw.vaultToId(chain.erc20_vault.address).call() == contracts.ERC20_VAULT_ID
    assert fw.exitGames(contracts.PAYMENT_TX_TYPE).call() == chain.exit_game.address
    assert fw.hasExitQueue(contracts.ETH_VAULT_ID, contracts.ETH_TOKEN).call()
    assert chain.exit_game.functions.startStandardExitBondSize().call() > 0


def test_authority_submits_child_blocks_every_1000(chain):
    receipt = chain.send(chain.framework.functions.submitBlock(ROOT_A), AUTHORITY)
    chain.send(chain.framework.functions.submitBlock(ROOT_B), AUTHORITY)
    [event] = events(chain.framework, "BlockSubmitted", receipt)
    assert event.blknum == 1000
    root, timestamp = chain.framework.functions.blocks(1000).call()
    assert root == ROOT_A and timestamp == chain.w3.eth.get_block(receipt.blockNumber).timestamp
    assert chain.framework.functions.blocks(2000).call()[0] == ROOT_B
    assert chain.framework.functions.nextChildBlock().call() == 3000
    assert tuple(chain.framework.functions.blocks(3000).call()) == (b"\0" * 32, 0)


def test_only_the_authority_submits_blocks(chain):
    with reverts("Can only be called by the authority"):
        chain.send(chain.framework.functions.submitBlock(ROOT_A), ALICE)


def test_deposit_blocks_are_numbered_inside_the_child_block_interval(chain):
    assert chain.deposit_eth(ALICE, 5)[0] == 1
    assert chain.deposit_eth(ALICE, 6)[0] == 2
    chain.send(chain.framework.functions.submitBlock(ROOT_A), AUTHORITY)
    assert chain.framework.functions.nextDeposit().call() == 1
    blknum, tx = chain.deposit_eth(ALICE, 7)
    assert blknum == 1001
    assert chain.framework.functions.blocks(1001).call()[0] == merkle.root([tx])
    assert chain.framework.functions.isDeposit(1001).call() and not chain.framework.functions.isDeposit(1000).call()


def test_a_deposit_logs_its_block_number_first_as_omgjs_reads_it(chain):
    """omg-js's getDepositExitData: the block number is topics[2] of the deposit receipt's first log
    (the vault's DepositCreated), so submitDepositBlock logs nothing, as v1.0.4's."""
    tx = encode(deposit_tx(chain.addr(ALICE), bytes(20), 5))
    receipt = chain.send(chain.eth_vault.functions.deposit(tx), ALICE, value=5)
    assert int.from_bytes(receipt.logs[0].topics[2], "big") == 1
    assert receipt.logs[0].address == chain.eth_vault.address
    assert events(chain.framework, "BlockSubmitted", receipt) == []


def test_only_registered_vaults_submit_deposit_blocks(chain):
    with reverts("The call is not from a registered vault"):
        chain.send(chain.framework.functions.submitDepositBlock(ROOT_A), ALICE)


def test_registration_belongs_to_the_authority_and_happens_once(chain):
    fw = chain.framework.functions
    with reverts("Can only be called by the authority"):
        chain.send(fw.registerVault(3, chain.accounts[ALICE]), ALICE)
    with reverts("Can only be called by the authority"):
        chain.send(fw.registerExitGame(2, chain.accounts[ALICE], 2), ALICE)
    with reverts("The vault ID is already registered"):
        chain.send(fw.registerVault(contracts.ETH_VAULT_ID, chain.accounts[ALICE]), AUTHORITY)
    with reverts("The vault contract is already registered"):
        chain.send(fw.registerVault(3, chain.eth_vault.address), AUTHORITY)
    with reverts("The tx type is already registered"):
        chain.send(fw.registerExitGame(contracts.PAYMENT_TX_TYPE, chain.accounts[ALICE], 2), AUTHORITY)
    with reverts("Exit queue exists"):
        chain.send(fw.addExitQueue(contracts.ETH_VAULT_ID, contracts.ETH_TOKEN), ALICE)
    with reverts("Vault ID is not registered"):
        chain.send(fw.addExitQueue(7, contracts.ETH_TOKEN), ALICE)


def test_only_exit_games_enqueue_and_flag_outputs(chain):
    with reverts("The call is not from a registered exit game"):
        chain.send(chain.framework.functions.enqueue(1, contracts.ETH_TOKEN, 1, 1000 * 10**9, 1), ALICE)
    with reverts("The call is not from a registered exit game"):
        chain.send(chain.framework.functions.flagOutputFinalized(ROOT_A, 1), ALICE)


def test_the_1000th_deposit_of_an_interval_is_rejected(chain):
    """The limit deposit griefing uses (docs/THREATS.md); the operator's defence is in test_eth_deposit_griefing.py."""
    filler = contracts.deploy(chain.w3, "DepositBlockFiller", chain.framework.address, directory=TEST_CONTRACTS)
    chain.send(chain.framework.functions.registerVault(3, filler.address), AUTHORITY)
    chain.travel(2 * MIN_EXIT_PERIOD_S)  # a vault registered after deployment waits out its quarantine
    for _ in range(2):  # 998 deposit blocks in two transactions; a fixed gas skips estimation
        chain.w3.eth.wait_for_transaction_receipt(
            filler.functions.fill(499).transact({"from": chain.accounts[AUTHORITY], "gas": 29_000_000})
        )
    assert chain.framework.functions.nextDeposit().call() == 999
    assert chain.deposit_eth(ALICE, 1)[0] == 999  # the last deposit block before child block 1000
    with reverts("Exceeded limit of deposits per child block interval"):
        chain.deposit_eth(ALICE, 1)
    chain.send(chain.framework.functions.submitBlock(ROOT_A), AUTHORITY)
    assert chain.deposit_eth(ALICE, 1)[0] == 1001
