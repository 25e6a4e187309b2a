"""omg-js 4.1.2-1.0.4's own RootChain drives our in-flight exits on anvil: it starts one, reads
its id and data (getInFlightExitId, getInFlightExitData = inFlightExits), piggybacks inputs and
outputs, challenges it as non-canonical with a competitor in a block, responds with the
in-flight transaction's older inclusion, challenges spent piggybacks, processes the exit and
deletes one nobody piggybacked, with exact balances after each step. The arguments are
omg-js's (rootchain.js), encoded its way: a struct as one tuple, senderData added by it.

Stricter than v1.0.4, deliberately: a canonicity or input-spent challenge's inputUtxoPos must
be input i's own position (PaymentInFlightExitDisputes._check_is_input); a wallet passes the
real position, so omg-js's calls below pass unchanged.
"""
from __future__ import annotations

from typing import Any

from web3 import Web3

from proofs import merkle
from proofs.keccak import keccak256
from proofs.payment import Output, PaymentTx, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, BOB, CAROL, ETH, MIN_EXIT_PERIOD_S, Chain, events
from tests.integration.omgjs import ETH_ADDRESS, ONE_ETH, OmgJs, fee_of, hexed, omgjs_on

PERIOD = MIN_EXIT_PERIOD_S
IN_FLIGHT_BIT = 1 << 151
MAX_INPUTS = 4  # exitMap: bit i is input i, bit MAX_INPUTS + i output i
NOT_INCLUDED = 2**256 - 1  # the position of a competitor in no block


def deposited(chain: Chain, omgjs: OmgJs, account: int, amount: int) -> tuple[dict, int]:
    """`account` deposits `amount` wei with omg-js: its exit data (txbytes, utxo_pos, proof) as
    omg-js reads it back, and the deposit block's timestamp."""
    receipt = omgjs.sent("deposit", {"amount": str(amount), "currency": ETH_ADDRESS}, account)
    data = omgjs("getDepositExitData", {"transactionHash": hexed(receipt.transactionHash)})
    return data, chain.w3.eth.get_block(receipt.blockNumber).timestamp


def pay(chain: Chain, account: int, amount: int) -> Output:
    return Output(1, chain.addr(account), ETH, amount)


def start_args(chain: Chain, tx: PaymentTx, inputs: list[dict], signers: list[int]) -> dict:
    """omg-js's startInFlightExit arguments: `inputs` are deposited()'s exit data in tx's input order."""
    return {"inFlightTx": hexed(encode_unsigned(tx)), "inputTxs": [i["txbytes"] for i in inputs],
            "inputUtxosPos": [i["utxo_pos"] for i in inputs], "inputTxsInclusionProofs": [i["proof"] for i in inputs],
            "inFlightTxSigs": [hexed(chain.sign(tx, signer)) for signer in signers]}


def ife_id(tx: PaymentTx) -> int:
    """plasma-contracts v1.0.4's ExitId.getInFlightExitId."""
    return (int.from_bytes(keccak256(encode_unsigned(tx)), "big") >> 105) | IN_FLIGHT_BIT


def ife_data(omgjs: OmgJs, exit_id: int) -> dict[str, Any]:
    """The exit as omg-js's getInFlightExitData decodes it, by v1.0.4's field names."""
    [ife] = omgjs("getInFlightExitData", {"exitIds": [str(exit_id)]})
    return ife


def canonicity(omgjs: OmgJs, exit_id: int) -> tuple[bool, str, int]:
    """(isCanonical, bondOwner, oldestCompetitorPosition): what a canonicity dispute changes."""
    ife = ife_data(omgjs, exit_id)
    return ife["isCanonical"], ife["bondOwner"], int(ife["oldestCompetitorPosition"])


def amounts(withdraws: list[dict]) -> list[tuple[str, int, int]]:
    """(owner, amount, piggyback bond) of each input or output slot."""
    return [(w["exitTarget"], int(w["amount"]), int(w["piggybackBondSize"])) for w in withdraws]


def test_omgjs_in_flight_exit_shown_non_canonical_pays_no_double_spend(anvil: Web3) -> None:
    chain, omgjs = omgjs_on(anvil)
    ife_bond, piggyback_bond = chain.ife_bond(), chain.piggyback_bond()
    deposit, deposit_time = deposited(chain, omgjs, ALICE, 10 * ONE_ETH)
    alice_pos = deposit["utxo_pos"]
    # Alice pays Bob 6 ETH (4 back to her) in a transaction that never reaches a block, and
    # double-spends the same deposit to Carol in child block 1000.
    in_flight = PaymentTx([alice_pos], [pay(chain, BOB, 6 * ONE_ETH), pay(chain, ALICE, 4 * ONE_ETH)])
    competitor = PaymentTx([alice_pos], [pay(chain, CAROL, 10 * ONE_ETH)])
    blknum, leaves = chain.submit_block([competitor])
    competitor_pos, tx_hex = encode_utxo_pos(blknum, 0, 0), hexed(encode_unsigned(in_flight))
    alice, bob, carol = chain.balance(ALICE), chain.balance(BOB), chain.balance(CAROL)

    # Bob starts the in-flight exit with Alice's signature; omg-js finds its id and reads it.
    receipt = omgjs.sent("startInFlightExit", start_args(chain, in_flight, [deposit], [ALICE]), BOB)
    bob -= ife_bond + fee_of(receipt)
    assert chain.balance(BOB) == bob
    exit_id = int(omgjs("getInFlightExitId", {"txBytes": tx_hex}))
    assert exit_id == ife_id(in_flight)
    ife = ife_data(omgjs, exit_id)
    assert (ife["isCanonical"], int(ife["exitMap"]), int(ife["position"])) == (True, 0, alice_pos)
    assert int(ife["exitStartTimestamp"]) == chain.w3.eth.get_block(receipt.blockNumber).timestamp
    assert (ife["bondOwner"], int(ife["bondSize"]), int(ife["oldestCompetitorPosition"])) == (chain.accounts[BOB], ife_bond, 0)
    assert amounts(ife["inputs"])[0] == (chain.accounts[ALICE], 10 * ONE_ETH, 0)
    assert amounts(ife["outputs"])[:2] == [(chain.accounts[BOB], 6 * ONE_ETH, 0), (chain.accounts[ALICE], 4 * ONE_ETH, 0)]
    assert omgjs("getExitQueue", [ETH_ADDRESS]) == []  # queued by its first piggyback

    # Bob piggybacks his output, Alice her input: one queue entry, at the deposit's age.
    receipt = omgjs.sent("piggybackInFlightExitOnOutput", {"inFlightTx": tx_hex, "outputIndex": 0}, BOB)
    bob -= piggyback_bond + fee_of(receipt)
    receipt = omgjs.sent("piggybackInFlightExitOnInput", {"inFlightTx": tx_hex, "inputIndex": 0}, ALICE)
    alice -= piggyback_bond + fee_of(receipt)
    assert (chain.balance(ALICE), chain.balance(BOB)) == (alice, bob)
    ife = ife_data(omgjs, exit_id)
    assert int(ife["exitMap"]) == 1 | 1 << MAX_INPUTS
    assert amounts(ife["inputs"])[0] == (chain.accounts[ALICE], 10 * ONE_ETH, piggyback_bond)
    assert amounts(ife["outputs"])[0] == (chain.accounts[BOB], 6 * ONE_ETH, piggyback_bond)
    [queued] = omgjs("getExitQueue", [ETH_ADDRESS])
    assert (int(queued["exitId"]), int(queued["exitableAt"])) == (exit_id, deposit_time + 2 * PERIOD)

    # Carol shows Alice's competing spend, in block 1000: non-canonical, the exit bond hers.
    competitor_hex, competitor_sig = hexed(encode_unsigned(competitor)), hexed(chain.sign(competitor, ALICE))
    receipt = omgjs.sent("challengeInFlightExitNotCanonical", {
        "inputTx": deposit["txbytes"], "inputUtxoPos": alice_pos, "inFlightTx": tx_hex, "inFlightTxInputIndex": 0,
        "competingTx": competitor_hex, "competingTxInputIndex": 0, "competingTxPos": competitor_pos,
        "competingTxInclusionProof": hexed(merkle.proof(leaves, 0)), "competingTxWitness": competitor_sig}, CAROL)
    carol -= fee_of(receipt)
    assert [e.challengeTxPosition for e in events(chain.exit_game, "InFlightExitChallenged", receipt)] == [competitor_pos]
    assert canonicity(omgjs, exit_id) == (False, chain.accounts[CAROL], competitor_pos)

    # The same spend takes Alice's input piggyback away (omg-js adds senderData = keccak(Carol)).
    receipt = omgjs.sent("challengeInFlightExitInputSpent", {
        "inFlightTx": tx_hex, "inFlightTxInputIndex": 0, "challengingTx": competitor_hex, "challengingTxInputIndex": 0,
        "challengingTxWitness": competitor_sig, "inputTx": deposit["txbytes"], "inputUtxoPos": alice_pos}, CAROL)
    carol += piggyback_bond - fee_of(receipt)
    assert [e.inputIndex for e in events(chain.exit_game, "InFlightExitInputBlocked", receipt)] == [0]
    assert chain.balance(CAROL) == carol
    assert int(ife_data(omgjs, exit_id)["exitMap"]) == 1 << MAX_INPUTS

    # Processed: a non-canonical exit pays no output; Bob's bond comes back, the exit bond is Carol's.
    chain.travel(2 * PERIOD + 1)
    receipt = omgjs.sent("processExits", {"token": ETH_ADDRESS, "exitId": 0, "maxExitsToProcess": 10}, ALICE)
    alice -= fee_of(receipt)
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    assert events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt) == []
    assert events(chain.exit_game, "InFlightExitInputWithdrawn", receipt) == []
    assert (chain.balance(ALICE), chain.balance(BOB), chain.balance(CAROL)) == (alice, bob + piggyback_bond, carol + ife_bond)
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 10 * ONE_ETH  # Carol's, by block 1000
    assert chain.w3.eth.get_balance(chain.exit_game.address) == 0
    assert int(ife_data(omgjs, exit_id)["exitStartTimestamp"]) == 0
    assert omgjs("getExitQueue", [ETH_ADDRESS]) == []


def test_omgjs_in_flight_exit_responded_canonical_pays_its_unspent_output(anvil: Web3) -> None:
    chain, omgjs = omgjs_on(anvil)
    ife_bond, piggyback_bond = chain.ife_bond(), chain.piggyback_bond()
    deposit, deposit_time = deposited(chain, omgjs, BOB, 5 * ONE_ETH)
    bob_pos = deposit["utxo_pos"]
    # Bob pays Carol 3 ETH (2 back to him) in block 1000; the operator also takes Bob's double
    # spend of the deposit into block 2000; Bob spends his change to Alice in block 3000.
    tx = PaymentTx([bob_pos], [pay(chain, CAROL, 3 * ONE_ETH), pay(chain, BOB, 2 * ONE_ETH)])
    tx_blknum, tx_leaves = chain.submit_block([tx])
    competitor = PaymentTx([bob_pos], [pay(chain, BOB, 5 * ONE_ETH)])
    competitor_blknum, competitor_leaves = chain.submit_block([competitor])
    change_pos = encode_utxo_pos(tx_blknum, 0, 1)
    spend = PaymentTx([change_pos], [pay(chain, ALICE, 2 * ONE_ETH)])
    chain.submit_block([spend])
    tx_pos, competitor_pos = encode_utxo_pos(tx_blknum, 0, 0), encode_utxo_pos(competitor_blknum, 0, 0)
    tx_hex, tx_proof = hexed(encode_unsigned(tx)), hexed(merkle.proof(tx_leaves, 0))
    alice, bob, carol = chain.balance(ALICE), chain.balance(BOB), chain.balance(CAROL)

    # Carol, holding Bob's signed payment, exits it in flight; she and Bob piggyback their outputs.
    receipt = omgjs.sent("startInFlightExit", start_args(chain, tx, [deposit], [BOB]), CAROL)
    carol -= ife_bond + fee_of(receipt)
    exit_id = int(omgjs("getInFlightExitId", {"txBytes": tx_hex}))
    assert exit_id == ife_id(tx)
    receipt = omgjs.sent("piggybackInFlightExitOnOutput", {"inFlightTx": tx_hex, "outputIndex": 0}, CAROL)
    carol -= piggyback_bond + fee_of(receipt)
    receipt = omgjs.sent("piggybackInFlightExitOnOutput", {"inFlightTx": tx_hex, "outputIndex": 1}, BOB)
    bob -= piggyback_bond + fee_of(receipt)
    assert (chain.balance(BOB), chain.balance(CAROL)) == (bob, carol)
    ife = ife_data(omgjs, exit_id)
    assert int(ife["exitMap"]) == 3 << MAX_INPUTS
    assert amounts(ife["outputs"])[:2] == [(chain.accounts[CAROL], 3 * ONE_ETH, piggyback_bond),
                                           (chain.accounts[BOB], 2 * ONE_ETH, piggyback_bond)]
    [queued] = omgjs("getExitQueue", [ETH_ADDRESS])
    assert (int(queued["exitId"]), int(queued["exitableAt"])) == (exit_id, deposit_time + 2 * PERIOD)

    # Alice shows a double spend Bob signed that is in no block (position 0: omg-js's own '0x'
    # does not encode as a uint256), then the older one in block 2000.
    def challenge(competing: PaymentTx, position: int, proof: bytes) -> Any:
        return omgjs.sent("challengeInFlightExitNotCanonical", {
            "inputTx": deposit["txbytes"], "inputUtxoPos": bob_pos, "inFlightTx": tx_hex, "inFlightTxInputIndex": 0,
            "competingTx": hexed(encode_unsigned(competing)), "competingTxInputIndex": 0, "competingTxPos": position,
            "competingTxInclusionProof": hexed(proof), "competingTxWitness": hexed(chain.sign(competing, BOB))}, ALICE)

    receipt = challenge(PaymentTx([bob_pos], [pay(chain, ALICE, 5 * ONE_ETH)]), 0, b"")
    alice -= fee_of(receipt)
    assert canonicity(omgjs, exit_id) == (False, chain.accounts[ALICE], NOT_INCLUDED)
    receipt = challenge(competitor, competitor_pos, merkle.proof(competitor_leaves, 0))
    alice -= fee_of(receipt)
    assert canonicity(omgjs, exit_id) == (False, chain.accounts[ALICE], competitor_pos)
    assert chain.balance(ALICE) == alice

    # Carol answers with the payment in block 1000: canonical again, its oldest known
    # competitor the payment itself, the exit bond Carol's.
    receipt = omgjs.sent("respondToNonCanonicalChallenge", {
        "inFlightTx": tx_hex, "inFlightTxPos": tx_pos, "inFlightTxInclusionProof": tx_proof}, CAROL)
    carol -= fee_of(receipt)
    assert chain.balance(CAROL) == carol
    assert [e.challengeTxPosition for e in events(chain.exit_game, "InFlightExitChallengeResponded", receipt)] == [tx_pos]
    assert canonicity(omgjs, exit_id) == (True, chain.accounts[CAROL], tx_pos)

    # Bob's change was spent in block 3000: Alice takes his output piggyback away, and its bond.
    receipt = omgjs.sent("challengeInFlightExitOutputSpent", {
        "inFlightTx": tx_hex, "inFlightTxInclusionProof": tx_proof, "inFlightTxOutputPos": change_pos,
        "challengingTx": hexed(encode_unsigned(spend)), "challengingTxInputIndex": 0,
        "challengingTxWitness": hexed(chain.sign(spend, BOB))}, ALICE)
    alice += piggyback_bond - fee_of(receipt)
    assert [e.outputIndex for e in events(chain.exit_game, "InFlightExitOutputBlocked", receipt)] == [1]
    assert (chain.balance(ALICE), chain.balance(BOB), chain.balance(CAROL)) == (alice, bob, carol)
    assert int(ife_data(omgjs, exit_id)["exitMap"]) == 1 << MAX_INPUTS

    # Processed: canonical, so Carol's 3 ETH output exits with her piggyback bond and the exit bond.
    chain.travel(2 * PERIOD + 1)
    receipt = omgjs.sent("processExits", {"token": ETH_ADDRESS, "exitId": 0, "maxExitsToProcess": 10}, ALICE)
    alice -= fee_of(receipt)
    assert [(e.exitId, e.outputIndex) for e in events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt)] == [(exit_id, 0)]
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    assert (chain.balance(ALICE), chain.balance(BOB)) == (alice, bob)
    assert chain.balance(CAROL) == carol + 3 * ONE_ETH + piggyback_bond + ife_bond
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == 2 * ONE_ETH  # the change, Alice's by block 3000
    assert chain.w3.eth.get_balance(chain.exit_game.address) == 0
    assert omgjs("getExitQueue", [ETH_ADDRESS]) == []


def test_omgjs_deletes_an_in_flight_exit_nobody_piggybacked(anvil: Web3) -> None:
    chain, omgjs = omgjs_on(anvil)
    ife_bond = chain.ife_bond()
    deposit, _ = deposited(chain, omgjs, ALICE, ONE_ETH)
    tx = PaymentTx([deposit["utxo_pos"]], [pay(chain, BOB, ONE_ETH)])
    alice = chain.balance(ALICE)
    receipt = omgjs.sent("startInFlightExit", start_args(chain, tx, [deposit], [ALICE]), ALICE)
    alice -= ife_bond + fee_of(receipt)
    exit_id = omgjs("getInFlightExitId", {"txBytes": hexed(encode_unsigned(tx))})
    assert int(exit_id) == ife_id(tx)

    # After the piggyback phase (half the period), with no piggyback, the bond goes back.
    chain.travel(PERIOD // 2 + 1)
    receipt = omgjs.sent("deleteNonPiggybackedInFlightExit", {"exitId": exit_id}, ALICE)
    alice += ife_bond - fee_of(receipt)
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitDeleted", receipt)] == [int(exit_id)]
    assert chain.balance(ALICE) == alice
    ife = ife_data(omgjs, int(exit_id))
    assert (int(ife["exitStartTimestamp"]), int(ife["bondSize"])) == (0, 0)
    assert ife["bondOwner"] == ETH_ADDRESS  # the zero address
    assert chain.w3.eth.get_balance(chain.exit_game.address) == 0
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == ONE_ETH
