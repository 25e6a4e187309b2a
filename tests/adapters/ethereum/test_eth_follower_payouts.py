"""Payouts the vaults kept (a receiver that refused them) and their later claims, followed into
the ledger: the audit's reconciliation holds at every step (the vault holds deposited - exited
- unbacked + unclaimed), and the ledger knows whom the vault owes."""
from __future__ import annotations

from pathlib import Path

from adapters.ethereum import chain, contracts
from adapters.ethereum.audit import reconcile, reconciled
from ledger.replay import audit
from proofs import merkle
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from specs.hooks import InvariantHook
from tests.adapters.ethereum.rootchain import SIM_CONTRACTS, TEST_CONTRACTS
from tests.adapters.ethereum.test_eth_follower import ALICE, BOND, CAROL, ETH, OPERATOR, PERIOD, Anchored

AMOUNT = 10**18


def vaults_reconcile(a: Anchored) -> bool:
    return reconciled(reconcile(audit(a.node.store, InvariantHook(full_every=1)), a.client.vault_balance))


def test_a_refused_eth_payout_and_its_claim_are_followed_and_the_vault_reconciles(tmp_path: Path):
    a = Anchored(tmp_path)
    wallet = contracts.deploy(a.w3, "ContractWallet", sender=a.accounts[ALICE], directory=SIM_CONTRACTS)
    owner = bytes.fromhex(wallet.address[2:])
    execute = wallet.functions.execute
    tx = encode(deposit_tx(owner, ETH, AMOUNT))
    chain.send(a.w3, execute(a.root.eth_vault.address, a.root.eth_vault.encode_abi("deposit", [tx]), AMOUNT),
               a.accounts[ALICE], AMOUNT)
    start = a.root.exit_game.encode_abi("startStandardExit", [(encode_utxo_pos(1, 0, 0), tx, merkle.proof([tx], 0))])
    chain.send(a.w3, execute(a.root.exit_game.address, start, BOND), a.accounts[ALICE], BOND)
    chain.travel(a.w3, PERIOD + 1)
    a.client.process_exits(a.accounts[OPERATOR])  # the wallet's receive needs more than the stipend
    a.sync()
    state = a.node.state
    assert state.exited[ETH] == AMOUNT and dict(state.unclaimed) == {(owner, ETH): AMOUNT}
    assert a.client.vault_balance(ETH) == AMOUNT and vaults_reconcile(a)

    claim = a.root.eth_vault.encode_abi("claim", [wallet.address])
    chain.send(a.w3, execute(a.root.eth_vault.address, claim, 0), a.accounts[ALICE])
    a.sync()
    assert not a.node.state.unclaimed
    assert a.client.vault_balance(ETH) == 0 and vaults_reconcile(a)


def test_a_refused_erc20_payout_and_its_claim_are_followed_and_the_vault_reconciles(tmp_path: Path):
    a = Anchored(tmp_path)
    token = contracts.deploy(a.w3, "BlacklistToken", directory=TEST_CONTRACTS)
    raw_token = bytes.fromhex(token.address[2:])
    chain.send(a.w3, a.root.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, token.address), a.accounts[CAROL])
    chain.send(a.w3, token.functions.mint(a.accounts[ALICE], AMOUNT), a.accounts[ALICE])
    blknum = a.client.deposit(a.accounts[ALICE], raw_token, AMOUNT)
    a.sync()
    a.watcher.check(a.node.state)
    a.client.start_standard_exit(a.accounts[ALICE], encode_utxo_pos(blknum, 0, 0), a.watcher.index)
    chain.send(a.w3, token.functions.bar(a.accounts[ALICE], True), a.accounts[CAROL])
    chain.travel(a.w3, PERIOD + 1)
    a.client.process_exits(a.accounts[OPERATOR], raw_token)
    a.sync()
    alice = bytes.fromhex(a.accounts[ALICE][2:])
    assert dict(a.node.state.unclaimed) == {(alice, raw_token): AMOUNT}
    assert a.client.vault_balance(raw_token) == AMOUNT and vaults_reconcile(a)

    chain.send(a.w3, a.root.erc20_vault.functions.claim(token.address, a.accounts[CAROL]), a.accounts[ALICE])
    a.sync()
    assert not a.node.state.unclaimed
    assert a.client.vault_balance(raw_token) == 0 and vaults_reconcile(a)
