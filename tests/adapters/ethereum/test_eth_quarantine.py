"""Quarantine (plasma-contracts v1.0.4's Quarantine.sol): a vault or exit game registered after
deployment is usable only once users have had the time to see it and exit, so an authority
turned hostile cannot register a contract as an exit game and empty the vaults in the next block."""
from __future__ import annotations

from adapters.ethereum import contracts
from tests.adapters.ethereum.rootchain import (
    ALICE, AUTHORITY, MIN_EXIT_PERIOD_S, SIM_CONTRACTS, TEST_CONTRACTS, events, reverts,
)

AMOUNT = 5 * 10**18
MARGIN_S = 100  # well inside either side of a quarantine's end
ROGUE_TX_TYPE = 2


def register_rogue_exit_game(chain):
    rogue = contracts.deploy(chain.w3, "RogueExitGame", directory=SIM_CONTRACTS)
    receipt = chain.send(chain.framework.functions.registerExitGame(ROGUE_TX_TYPE, rogue.address, 2), AUTHORITY)
    [registered] = events(chain.framework, "ExitGameRegistered", receipt)  # what users see coming
    assert (registered.txType, registered.exitGameAddress, registered.protocol) == (ROGUE_TX_TYPE, rogue.address, 2)
    return rogue


def test_a_new_exit_game_cannot_empty_the_vault_for_four_exit_periods(chain):
    chain.deposit_eth(ALICE, AMOUNT)
    rogue = register_rogue_exit_game(chain)
    thief = chain.accounts[AUTHORITY]
    assert chain.framework.functions.exitGames(ROGUE_TX_TYPE).call() == rogue.address
    assert not chain.framework.functions.isExitGameSafeToUse(rogue.address).call()
    with reverts("Called from a non-registered or quarantined exit game contract"):
        chain.send(rogue.functions.drain(chain.eth_vault.address, thief, AMOUNT), AUTHORITY)
    chain.travel(4 * MIN_EXIT_PERIOD_S - MARGIN_S)
    with reverts("Called from a non-registered or quarantined exit game contract"):
        chain.send(rogue.functions.drain(chain.eth_vault.address, thief, AMOUNT), AUTHORITY)
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == AMOUNT
    chain.travel(2 * MARGIN_S)  # the quarantine is over: a registered exit game is trusted again
    assert chain.framework.functions.isExitGameSafeToUse(rogue.address).call()
    chain.send(rogue.functions.drain(chain.eth_vault.address, thief, AMOUNT), AUTHORITY)
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 0


def test_a_quarantined_exit_game_cannot_flag_outputs_or_enqueue(chain):
    rogue = register_rogue_exit_game(chain)
    with reverts("ExitGame is quarantined"):
        chain.send(rogue.functions.flag(chain.framework.address, b"\x01" * 32), AUTHORITY)
    assert not chain.framework.functions.isOutputFinalized(b"\x01" * 32).call()


def test_a_new_vault_submits_deposit_blocks_only_after_two_exit_periods(chain):
    filler = contracts.deploy(chain.w3, "DepositBlockFiller", chain.framework.address, directory=TEST_CONTRACTS)
    receipt = chain.send(chain.framework.functions.registerVault(3, filler.address), AUTHORITY)
    assert [(e.vaultId, e.vaultAddress) for e in events(chain.framework, "VaultRegistered", receipt)] == [(3, filler.address)]
    with reverts("Vault is quarantined"):
        chain.send(filler.functions.fill(1), AUTHORITY)
    chain.travel(2 * MIN_EXIT_PERIOD_S - MARGIN_S)
    with reverts("Vault is quarantined"):
        chain.send(filler.functions.fill(1), AUTHORITY)
    chain.travel(2 * MARGIN_S)
    chain.send(filler.functions.fill(1), AUTHORITY)
    assert chain.framework.functions.nextDeposit().call() == 2


def test_the_deployments_vaults_and_exit_game_are_immune(chain):
    fw = chain.framework.functions
    assert fw.isExitGameSafeToUse(chain.exit_game.address).call()
    assert chain.deposit_eth(ALICE, 1)[0] == 1  # the ETH vault works in its deployment's block
    assert not fw.isExitGameSafeToUse(chain.accounts[ALICE]).call()  # not registered
