"""The node anchored to the embedded root chain: deposits and exits come in through the
follower exactly once, across restarts; the watcher challenges an invalid exit."""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters.ethereum import chain
from adapters.ethereum.client import RootChainClient
from adapters.ethereum.contracts import deploy_plasma
from adapters.ethereum.follower import Follower, FollowError
from adapters.ethereum.watcher import Watcher
from ledger.events import Genesis, Payment
from ledger.node import Node
from ledger.state import StandardExit
from ledger.store import EventStore
from proofs import eip712
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx, encode, encode_utxo_pos, unsigned_bytes
from specs.hooks import InvariantHook

PERIOD, BOND = 1000, 10**16
ETH = bytes(20)
KEYS = [(i + 1).to_bytes(32, "big") for i in range(4)]  # eth-tester's default accounts
OPERATOR, ALICE, BOB, CAROL = 0, 1, 2, 3


class Anchored:
    """A node whose ledger follows a freshly deployed root chain."""

    def __init__(self, home: Path, confirmations: int = 0) -> None:
        self.w3 = chain.embedded()
        self.accounts = self.w3.eth.accounts
        self.root = deploy_plasma(self.w3, min_exit_period_s=PERIOD, standard_exit_bond_wei=BOND)
        self.client = RootChainClient(self.w3, self.root)
        self.home, self.confirmations = home, confirmations
        self.vc = bytes.fromhex(self.root.framework.address[2:])
        self.open()
        assert self.node.submit([Genesis(self.vc)])[0].accepted

    def open(self) -> None:
        self.node = Node(EventStore(self.home / "events.db"), hook=InvariantHook(full_every=1))
        self.follower = Follower(self.w3, self.root, self.node, confirmations=self.confirmations)
        self.watcher = Watcher(self.node.store, self.client, challenger=self.accounts[CAROL])

    def restart(self) -> None:
        self.node.store.close()
        self.open()

    def addr(self, who: int) -> bytes:
        return bytes.fromhex(self.accounts[who][2:])

    def sign(self, inputs: list[int], outputs: list[Output], signer: int) -> bytes:
        tx = PaymentTx(inputs, outputs)
        digest = eip712.signing_hash(tx, self.vc)
        return encode(tx.with_signatures(tuple(eip712.sign(digest, KEYS[signer]) for _ in inputs)))

    def pay(self, inputs: list[int], outputs: list[Output], signer: int) -> bytes:
        raw = self.sign(inputs, outputs, signer)
        [outcome] = self.node.submit([Payment(raw)])
        assert outcome.accepted, outcome
        return raw

    def sync(self) -> None:
        outcomes = self.follower.poll()
        assert all(o.accepted for o in outcomes), [o for o in outcomes if not o.accepted]


def out(owner: bytes, amount: int) -> Output:
    return Output(OUTPUT_TYPE_PAYMENT, owner, ETH, amount)


@pytest.fixture
def anchored(tmp_path: Path) -> Anchored:
    return Anchored(tmp_path)


def test_deposit_transfer_exit_and_challenge_end_to_end(anchored: Anchored):
    a = anchored
    blknum = a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    a.sync()
    deposit_pos = encode_utxo_pos(blknum, 0, 0)
    assert a.node.state.utxos[deposit_pos] == out(a.addr(ALICE), 10**18)

    a.pay([deposit_pos], [out(a.addr(BOB), 6 * 10**17), out(a.addr(ALICE), 4 * 10**17)], ALICE)
    a.node.seal()
    assert a.client.submit_blocks(a.node.state) == [1000]
    assert a.client.submit_blocks(a.node.state) == []  # idempotent: the framework has it
    a.sync()
    assert a.node.state.submitted_blknum == 1000

    a.watcher.check(a.node.state)
    bob_pos = encode_utxo_pos(1000, 0, 0)
    honest = a.client.start_standard_exit(a.accounts[BOB], bob_pos, a.watcher.index)
    cheat = a.client.start_standard_exit(a.accounts[ALICE], deposit_pos, a.watcher.index)  # already spent
    a.sync()
    assert a.node.state.exiting[bob_pos] == out(a.addr(BOB), 6 * 10**17)
    assert a.node.state.exits[cheat].backed is False

    carol_before = a.w3.eth.get_balance(a.accounts[CAROL])
    [report] = a.watcher.check(a.node.state)
    assert (report.condition, report.exit_id, report.challenged) == ("invalid_exit", cheat, True)
    a.sync()
    assert a.node.state.exits[cheat].status == "challenged"
    assert a.watcher.check(a.node.state) == []
    assert a.w3.eth.get_balance(a.accounts[CAROL]) > carol_before  # the bond, less gas

    a.restart()  # nothing is applied twice: the cursor travelled with the facts
    count = a.node.store.count
    a.sync()
    assert a.node.store.count == count

    chain.travel(a.w3, 2 * PERIOD + 1)
    bob_before = a.w3.eth.get_balance(a.accounts[BOB])
    a.client.process_exits(a.accounts[OPERATOR])
    a.sync()
    state = a.node.state
    assert a.w3.eth.get_balance(a.accounts[BOB]) - bob_before == 6 * 10**17 + BOND
    assert state.exits[honest].status == "paid" and state.exits[cheat].status == "omitted"
    assert state.exited[ETH] == 6 * 10**17 and not state.unbacked
    assert a.client.vault_balance(ETH) == state.deposited[ETH] - state.exited[ETH]


def test_facts_wait_for_their_confirmations(tmp_path: Path):
    a = Anchored(tmp_path, confirmations=3)
    a.client.deposit(a.accounts[ALICE], ETH, 5)
    a.sync()
    assert not a.node.state.utxos
    chain.mine(a.w3, 3)
    a.sync()
    assert len(a.node.state.utxos) == 1


def test_a_reorg_below_the_cursor_is_reported(anchored: Anchored):
    a = anchored
    snapshot = a.w3.provider.ethereum_tester.take_snapshot()
    a.client.deposit(a.accounts[ALICE], ETH, 5)
    a.sync()
    a.w3.provider.ethereum_tester.revert_to_snapshot(snapshot)
    chain.mine(a.w3, 5)  # a different chain, past the followed height
    with pytest.raises(FollowError) as info:
        a.follower.poll()
    assert info.value.code == "root_chain_reorg"


def test_a_block_the_log_never_sealed_is_reported(anchored: Anchored):
    a = anchored
    chain.send(a.w3, a.root.framework.functions.submitBlock(b"\x07" * 32), a.root.authority)
    [report] = a.watcher.check(a.node.state)
    assert (report.condition, report.blknum) == ("block_withholding", 1000)


def test_a_fact_the_ledger_refuses_stops_the_follower_before_its_cursor(anchored: Anchored):
    from ledger.events import Deposit
    from proofs.payment import deposit_tx

    a = anchored
    local = encode(deposit_tx(a.addr(BOB), ETH, 7))  # a deposit the root chain never saw takes block 1
    assert a.node.submit([Deposit(1, local)])[0].accepted
    a.client.deposit(a.accounts[ALICE], ETH, 5)
    count, cursor = a.node.store.count, a.node.state.root_cursor
    with pytest.raises(FollowError) as info:
        a.follower.poll()
    assert info.value.code == "root_fact_rejected" and "wrong_block_number" in info.value.detail
    assert (a.node.store.count, a.node.state.root_cursor) == (count, cursor)  # nothing stored, cursor unmoved


def test_the_watcher_challenges_a_non_canonical_in_flight_exit_and_a_spent_piggybacked_input(anchored: Anchored):
    a = anchored
    blknum = a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    a.sync()
    deposit = encode_utxo_pos(blknum, 0, 0)
    withheld = a.sign([deposit], [out(a.addr(BOB), 10**18)], ALICE)  # never reaches the child chain
    a.pay([deposit], [out(a.addr(CAROL), 10**18)], ALICE)  # the double spend the operator includes
    a.node.seal()
    a.client.submit_blocks(a.node.state)
    a.watcher.check(a.node.state)

    exit_id = a.client.start_in_flight_exit(a.accounts[BOB], withheld, a.watcher.index)
    unsigned = unsigned_bytes(withheld)
    a.client.piggyback(a.accounts[BOB], unsigned, True, 0)
    a.client.piggyback(a.accounts[ALICE], unsigned, False, 0)
    a.sync()
    assert a.node.state.exits[exit_id].piggybacked == {(True, 0), (False, 0)}

    reports = {(r.condition, r.challenged) for r in a.watcher.check(a.node.state)}
    assert {("noncanonical_ife", True), ("invalid_piggyback", True)} <= reports
    a.sync()
    record = a.node.state.exits[exit_id]
    assert record.canonical is False and record.piggybacked == {(True, 0)}
    [ife] = a.root.exit_game.functions.inFlightExits([exit_id]).call()
    assert ife[0] is False  # isCanonical, on the root chain too

    chain.travel(a.w3, 2 * PERIOD + 1)
    bob_before = a.w3.eth.get_balance(a.accounts[BOB])
    a.client.process_exits(a.accounts[OPERATOR])
    a.sync()
    bond = a.root.exit_game.functions.piggybackBondSize().call()
    assert a.w3.eth.get_balance(a.accounts[BOB]) == bob_before + bond  # his bond back, and no output
    assert a.client.vault_balance(ETH) == 10**18 and not a.node.state.exited


def test_the_watcher_answers_a_canonicity_challenge_of_an_included_transaction(anchored: Anchored):
    """Alice pays Bob in block 1000; Bob exits it in flight all the same. Alice then signs a
    double spend of her input and challenges with it, unincluded: the exit turns non-canonical
    and its bond hers. The watcher shows the inclusion, older than any competitor: canonical
    again, the bond Carol's, and Bob's output paid."""
    from proofs.fraud import DoubleSpendProof, Spend

    a = anchored
    blknum = a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    a.sync()
    deposit = encode_utxo_pos(blknum, 0, 0)
    paid = a.pay([deposit], [out(a.addr(BOB), 10**18)], ALICE)
    a.node.seal()
    a.client.submit_blocks(a.node.state)
    a.sync()
    a.watcher.check(a.node.state)
    exit_id = a.client.start_in_flight_exit(a.accounts[BOB], paid, a.watcher.index)
    a.client.piggyback(a.accounts[BOB], unsigned_bytes(paid), True, 0)

    double = a.sign([deposit], [out(a.addr(ALICE), 10**18)], ALICE)
    deposit_tx_bytes, _ = a.watcher.index.exit_data(deposit)
    proof = DoubleSpendProof(deposit, deposit_tx_bytes, Spend.of(paid, deposit), Spend.of(double, deposit))
    a.client.challenge_not_canonical(a.accounts[ALICE], proof, 0, b"")
    a.sync()
    assert a.node.state.exits[exit_id].canonical is False

    reports = [(r.condition, r.exit_id, r.challenged) for r in a.watcher.check(a.node.state)]
    assert ("invalid_ife_challenge", exit_id, True) in reports
    a.sync()
    assert a.node.state.exits[exit_id].canonical is True
    assert not [r for r in a.watcher.check(a.node.state) if r.condition == "invalid_ife_challenge"]
    [ife] = a.root.exit_game.functions.inFlightExits([exit_id]).call()
    assert ife[0] is True and ife[6] == a.accounts[CAROL]  # canonical, and the bond Carol's
    chain.travel(a.w3, 2 * PERIOD + 1)
    bob, carol = a.w3.eth.get_balance(a.accounts[BOB]), a.w3.eth.get_balance(a.accounts[CAROL])
    a.client.process_exits(a.accounts[OPERATOR])
    bond, pb_bond = a.root.exit_game.functions.startIFEBondSize().call(), a.root.exit_game.functions.piggybackBondSize().call()
    assert a.w3.eth.get_balance(a.accounts[BOB]) == bob + 10**18 + pb_bond
    assert a.w3.eth.get_balance(a.accounts[CAROL]) == carol + bond


def test_an_exit_from_a_block_the_log_never_had_is_reported_unchallenged(anchored: Anchored):
    from proofs import merkle
    from proofs.payment import encode_unsigned

    a = anchored
    a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    forged = encode_unsigned(PaymentTx([encode_utxo_pos(1, 0, 0)], [out(a.addr(CAROL), 10**18)]))
    chain.send(a.w3, a.root.framework.functions.submitBlock(merkle.root([forged])), a.root.authority)
    game = a.root.exit_game.functions
    args = (encode_utxo_pos(1000, 0, 0), forged, merkle.proof([forged], 0))
    chain.send(a.w3, game.startStandardExit(args), a.accounts[CAROL], value=BOND)
    a.sync()
    conditions = {r.condition for r in a.watcher.check(a.node.state)}
    assert conditions == {"block_withholding", "unchallenged_exit"}


def test_the_watcher_blocks_a_piggyback_on_an_output_already_spent(anchored: Anchored):
    a = anchored
    blknum = a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    a.sync()
    deposit = encode_utxo_pos(blknum, 0, 0)
    paid = a.pay([deposit], [out(a.addr(BOB), 10**18)], ALICE)
    bob_pos = encode_utxo_pos(1000, 0, 0)
    a.node.seal()
    a.pay([bob_pos], [out(a.addr(CAROL), 10**18)], BOB)  # bob spends it on the child chain
    a.node.seal()
    a.client.submit_blocks(a.node.state)
    a.sync()
    a.watcher.check(a.node.state)

    exit_id = a.client.start_in_flight_exit(a.accounts[BOB], paid, a.watcher.index)  # "in flight", though included
    a.client.piggyback(a.accounts[BOB], unsigned_bytes(paid), True, 0)
    a.sync()
    reports = [(r.condition, r.challenged) for r in a.watcher.check(a.node.state) if r.condition == "invalid_piggyback"]
    assert reports == [("invalid_piggyback", True)]
    a.sync()
    assert a.node.state.exits[exit_id].piggybacked == set()
    assert a.node.state.utxos[encode_utxo_pos(2000, 0, 0)] == out(a.addr(CAROL), 10**18)  # carol's output untouched


def test_validators_bond_omg_deposited_through_the_erc20_vault(anchored: Anchored):
    """Staking on the anchored ledger: the OMG ERC20 comes in through the vault, then is bonded
    and a block is committed by more than 2/3 of the stake."""
    from adapters.ethereum import contracts
    from ledger.events import BlockCommitted, StakeBonded, StakingOpened
    from ledger.staking import STAKING_POOL, active_set, block_commit_message, proposer, proposer_seed
    from proofs import bls

    a = anchored
    omg = contracts.deploy(a.w3, "TestERC20", "OMG Network", "OMG", sender=a.root.authority)
    chain.send(a.w3, a.root.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, omg.address), a.root.authority)
    token = bytes.fromhex(omg.address[2:])
    validators = (ALICE, BOB, CAROL)
    for who in validators:
        chain.send(a.w3, omg.functions.mint(a.accounts[who], 1000), a.accounts[who])
        a.client.deposit(a.accounts[who], token, 1000)
    a.sync()
    assert a.node.submit([StakingOpened(token, 3, 2, 500, 1000, 2, 4, 5000, 100, 3)])[0].accepted
    bls_keys = {who: bls.secret_key(bytes([who]) * 32) for who in validators}
    for who in validators:
        pos = next(p for p, o in a.node.state.utxos.items() if o.owner == a.addr(who) and o.token == token)
        raw = a.sign([pos], [Output(OUTPUT_TYPE_PAYMENT, STAKING_POOL, token, 100 * who)], who)
        assert a.node.submit([StakeBonded(raw, bls.public_key(bls_keys[who]), bls.pop_prove(bls_keys[who]))])[0].accepted
    a.node.seal()
    state = a.node.state
    message = block_commit_message(state, 1000)
    signature = bls.aggregate([bls.sign(bls_keys[who], message) for who in validators])
    drawn = proposer(state.staking, 1000, proposer_seed(state, 1000))
    commit = BlockCommitted(1000, 0, drawn, bls.signer_bitmap(range(3), len(active_set(state.staking))), signature)
    assert a.node.submit([commit])[0].accepted
    assert a.node.state.staking.bonded_total == 600 and a.node.state.staking.last_committed == 1000


def exit_of_a_spent_deposit(a: Anchored) -> int:
    """Alice deposits, pays it all to Bob in a submitted block, then exits the spent deposit:
    the exit id, followed into the log."""
    blknum = a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    a.sync()
    deposit = encode_utxo_pos(blknum, 0, 0)
    a.pay([deposit], [out(a.addr(BOB), 10**18)], ALICE)
    a.node.seal()
    a.client.submit_blocks(a.node.state)
    a.watcher.check(a.node.state)
    cheat = a.client.start_standard_exit(a.accounts[ALICE], deposit, a.watcher.index)
    a.sync()
    return cheat


def test_a_watcher_beaten_to_a_challenge_reports_it_untaken_and_goes_on(anchored: Anchored):
    a = anchored
    cheat = exit_of_a_spent_deposit(a)
    late = Watcher(a.node.store, a.client, challenger=a.accounts[BOB])
    assert [r.challenged for r in a.watcher.check(a.node.state)] == [True]
    assert [(r.condition, r.exit_id, r.challenged) for r in late.check(a.node.state)] == [("invalid_exit", cheat, False)]
    assert [r.challenged for r in late.check(a.node.state)] == [False]  # not retried, not claimed


def test_an_exit_started_through_a_contract_is_followed_from_storage_and_the_ledgers_blocks(anchored: Anchored):
    """v1.0.4's ExitStarted names only the exit; an exit a contract wallet started has no
    startStandardExit calldata to read. The follower takes the exit's position from the exit
    game's storage and its transaction from the ledger's own blocks, checked against the exit id."""
    from adapters.ethereum.contracts import deploy
    from proofs import merkle
    from proofs.payment import deposit_tx
    from tests.adapters.ethereum.rootchain import TEST_CONTRACTS

    a = anchored
    wallet = deploy(a.w3, "WalletExiter", directory=TEST_CONTRACTS)
    tx = encode(deposit_tx(bytes.fromhex(wallet.address[2:]), ETH, 5))
    chain.send(a.w3, wallet.functions.deposit(a.root.eth_vault.address, tx), a.accounts[ALICE], value=5)
    a.sync()  # the deposit alone follows
    pos = encode_utxo_pos(1, 0, 0)
    chain.send(a.w3, wallet.functions.startExit(a.root.exit_game.address, (pos, tx, merkle.proof([tx], 0))),
               a.accounts[ALICE], value=BOND)
    a.sync()
    (started,) = [r for r in a.node.state.exits.values() if isinstance(r, StandardExit)]
    assert (started.utxo_pos, started.output.owner, started.output.amount) == (pos, bytes.fromhex(wallet.address[2:]), 5)


def test_a_challenge_a_reorganisation_dropped_is_sent_again(anchored: Anchored):
    a = anchored
    cheat = exit_of_a_spent_deposit(a)
    exitable = lambda: a.root.exit_game.functions.standardExits([cheat]).call()[0][0]  # noqa: E731
    tester = a.w3.provider.ethereum_tester
    before_challenge = tester.take_snapshot()
    assert [r.challenged for r in a.watcher.check(a.node.state)] == [True] and not exitable()

    tester.revert_to_snapshot(before_challenge)  # the root chain drops the block holding the challenge
    assert exitable()
    [report] = a.watcher.check(a.node.state)
    assert (report.condition, report.exit_id, report.challenged) == ("invalid_exit", cheat, True)
    assert not exitable()  # sent again: the chain holds the exit challenged
    a.sync()
    assert a.node.state.exits[cheat].status == "challenged"


def test_a_competitor_in_a_block_the_root_chain_holds_another_root_for_challenges_as_not_included(anchored: Anchored):
    a = anchored
    blknum = a.client.deposit(a.accounts[ALICE], ETH, 10**18)
    a.sync()
    deposit = encode_utxo_pos(blknum, 0, 0)
    withheld = a.sign([deposit], [out(a.addr(BOB), 10**18)], ALICE)
    a.pay([deposit], [out(a.addr(CAROL), 10**18)], ALICE)  # the competitor, in the log's block 1000
    a.node.seal()
    chain.send(a.w3, a.root.framework.functions.submitBlock(b"\x07" * 32), a.root.authority)  # another root for 1000
    a.watcher.check(a.node.state)
    exit_id = a.client.start_in_flight_exit(a.accounts[BOB], withheld, a.watcher.index)
    a.client.piggyback(a.accounts[BOB], unsigned_bytes(withheld), True, 0)
    a.sync()

    reports = {(r.condition, r.challenged) for r in a.watcher.check(a.node.state)}
    assert ("noncanonical_ife", True) in reports
    [ife] = a.root.exit_game.functions.inFlightExits([exit_id]).call()
    assert ife[0] is False and ife[-1] == 2**256 - 1  # non-canonical, by a competitor not included
    chain.travel(a.w3, 2 * PERIOD + 1)
    a.client.process_exits(a.accounts[OPERATOR])
    a.sync()
    assert a.client.vault_balance(ETH) == 10**18 and not a.node.state.exited  # the double spend is not paid
