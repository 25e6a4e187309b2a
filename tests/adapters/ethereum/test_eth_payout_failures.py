"""A payout its receiver refuses: it must neither block the token's exit queue for everyone
(an ERC20 transfer that reverts) nor stay in the vault for good (ETH to a contract whose
receive needs more than the 2300-gas stipend). The vault keeps it for the receiver to claim."""
from __future__ import annotations

from adapters.ethereum import contracts
from proofs import merkle
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from tests.adapters.ethereum.rootchain import (
    ALICE, BOB, BOND_WEI, CAROL, MIN_EXIT_PERIOD_S, SIM_CONTRACTS, TEST_CONTRACTS, events, raw, reverts,
)

AMOUNT = 700


def exit_token_deposit(chain, token, account: int, amount: int) -> int:
    chain.send(token.functions.mint(chain.accounts[account], amount), account)
    chain.send(token.functions.approve(chain.erc20_vault.address, amount), account)
    tx = encode(deposit_tx(chain.addr(account), raw(token.address), amount))
    receipt = chain.send(chain.erc20_vault.functions.deposit(tx), account)
    [created] = events(chain.erc20_vault, "DepositCreated", receipt)
    return chain.start_exit(account, encode_utxo_pos(created.blknum, 0, 0), tx, merkle.proof([tx], 0))


def blacklist_token(chain):
    token = contracts.deploy(chain.w3, "BlacklistToken", directory=TEST_CONTRACTS)
    chain.send(chain.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, token.address), CAROL)
    return token


def test_a_refused_erc20_payout_does_not_block_the_queue_and_is_claimed_later(chain):
    token = blacklist_token(chain)
    alice_exit = exit_token_deposit(chain, token, ALICE, AMOUNT)
    exit_token_deposit(chain, token, BOB, 2 * AMOUNT)
    chain.send(token.functions.bar(chain.accounts[ALICE], True), CAROL)  # the token now refuses Alice
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    receipt = chain.process(token=token.address, vault_id=contracts.ERC20_VAULT_ID)
    assert [e.processedNum for e in events(chain.framework, "ProcessedExitsNum", receipt)] == [2]
    assert token.functions.balanceOf(chain.accounts[BOB]).call() == 2 * AMOUNT  # Bob is not held up
    [failed] = events(chain.erc20_vault, "WithdrawFailed", receipt)
    assert (failed.receiver, failed.token, failed.amount) == (chain.accounts[ALICE], token.address, AMOUNT)
    assert alice_exit in [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)]
    vault = chain.erc20_vault.functions
    assert vault.unclaimed(chain.accounts[ALICE], token.address).call() == AMOUNT
    assert token.functions.balanceOf(chain.erc20_vault.address).call() == AMOUNT
    with reverts("Nothing to claim"):
        chain.send(vault.claim(token.address, chain.accounts[BOB]), BOB)
    with reverts("Token transfer failed"):  # still barred: the claim reverts and keeps what is owed
        chain.send(vault.claim(token.address, chain.accounts[ALICE]), ALICE)
    receipt = chain.send(vault.claim(token.address, chain.accounts[CAROL]), ALICE)  # to an address it accepts
    [claimed] = events(chain.erc20_vault, "WithdrawClaimed", receipt)
    assert (claimed.receiver, claimed.token, claimed.to, claimed.amount) == (
        chain.accounts[ALICE], token.address, chain.accounts[CAROL], AMOUNT)
    assert token.functions.balanceOf(chain.accounts[CAROL]).call() == AMOUNT
    assert vault.unclaimed(chain.accounts[ALICE], token.address).call() == 0
    assert token.functions.balanceOf(chain.erc20_vault.address).call() == 0


def test_a_token_short_of_the_payout_fails_it_without_reverting(chain):
    """A fee-on-transfer token's vault holds less than its exits say: the payout it cannot
    cover fails and is kept, the queue goes on."""
    token = blacklist_token(chain)
    exit_token_deposit(chain, token, ALICE, AMOUNT)
    chain.send(token.functions.burn(chain.erc20_vault.address, 1), CAROL)  # the fee the deposit never paid
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    receipt = chain.process(token=token.address, vault_id=contracts.ERC20_VAULT_ID)
    assert [(e.receiver, e.amount) for e in events(chain.erc20_vault, "WithdrawFailed", receipt)] == [
        (chain.accounts[ALICE], AMOUNT)]
    assert chain.erc20_vault.functions.unclaimed(chain.accounts[ALICE], token.address).call() == AMOUNT


def test_a_failed_eth_payout_to_a_contract_is_claimed_with_enough_gas(chain):
    wallet = contracts.deploy(chain.w3, "ContractWallet", sender=chain.accounts[ALICE], directory=SIM_CONTRACTS)
    through = wallet.functions.execute
    tx = encode(deposit_tx(raw(wallet.address), bytes(20), AMOUNT))
    receipt = chain.send(through(chain.eth_vault.address, chain.eth_vault.encode_abi("deposit", [tx]), AMOUNT), ALICE, AMOUNT)
    [created] = events(chain.eth_vault, "DepositCreated", receipt)
    start = chain.exit_game.encode_abi("startStandardExit", [(encode_utxo_pos(created.blknum, 0, 0), tx, merkle.proof([tx], 0))])
    chain.send(through(chain.exit_game.address, start, BOND_WEI), ALICE, BOND_WEI)
    chain.travel(MIN_EXIT_PERIOD_S + 1)
    receipt = chain.process()
    assert [(e.receiver, e.amount) for e in events(chain.eth_vault, "WithdrawFailed", receipt)] == [(wallet.address, AMOUNT)]
    assert chain.eth_vault.functions.unclaimed(wallet.address).call() == AMOUNT
    assert wallet.functions.received().call() == 0
    receipt = chain.send(through(chain.eth_vault.address, chain.eth_vault.encode_abi("claim", [wallet.address]), 0), ALICE)
    [claimed] = events(chain.eth_vault, "WithdrawClaimed", receipt)
    assert (claimed.receiver, claimed.to, claimed.amount) == (wallet.address, wallet.address, AMOUNT)
    assert wallet.functions.received().call() == AMOUNT
    assert chain.eth_vault.functions.unclaimed(wallet.address).call() == 0
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 0
