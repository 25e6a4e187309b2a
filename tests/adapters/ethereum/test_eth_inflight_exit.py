"""In-flight exits (MoreVP) of the payment exit game on py-evm: start, piggyback, canonicity
challenge and response, input/output-spent challenges, processing per token, deletion; and
the delegation that puts them behind PaymentExitGame's one address."""
from __future__ import annotations

from eth_utils import function_abi_to_4byte_selector

from adapters.ethereum import contracts
from adapters.ethereum.chain import call_args
from proofs import merkle
from proofs.keccak import keccak256
from proofs.payment import Output, PaymentTx, deposit_tx, encode, encode_unsigned, encode_utxo_pos
from tests.adapters.ethereum.rootchain import (
    ALICE, AUTHORITY, BOB, BOND_WEI, CAROL, ETH, ETH_HEX, MIN_EXIT_PERIOD_S, TEST_CONTRACTS, events, raw, reverts,
)

ONE_ETH = 10**18
PERIOD = MIN_EXIT_PERIOD_S
HALF_PERIOD = MIN_EXIT_PERIOD_S // 2  # piggybacks and canonicity challenges happen before it
NOT_INCLUDED = 2**256 - 1
EXIT_ID_MASK = 2**160 - 1
IN_FLIGHT_BIT = 1 << 151
CODE_SIZE_LIMIT = 24_576  # EIP-170
EXIT_GAME_CODES = ("PaymentExitGame", "PaymentInFlightExitGame", "PaymentInFlightExitDisputes")
EMPTY_WITHDRAW = (bytes(32), ETH_HEX, ETH_HEX, 0, 0)

Input = tuple[bytes, int, bytes]  # (input tx, utxo position, inclusion proof)


def out(chain, account: int, amount: int, token: bytes = ETH) -> Output:
    return Output(1, chain.addr(account), token, amount)


def eth_input(chain, account: int, amount: int) -> Input:
    blknum, tx = chain.deposit_eth(account, amount)
    return tx, encode_utxo_pos(blknum, 0, 0), merkle.proof([tx], 0)


def token_input(chain, account: int, amount: int) -> Input:
    blknum, tx = chain.deposit_token(account, amount)
    return tx, encode_utxo_pos(blknum, 0, 0), merkle.proof([tx], 0)


def ife_id(tx: PaymentTx) -> int:
    """plasma-contracts v1.0.4's ExitId.getInFlightExitId."""
    return (int.from_bytes(keccak256(encode_unsigned(tx)), "big") >> 105) | IN_FLIGHT_BIT


def deposit_output_id(tx_bytes: bytes, pos: int) -> bytes:
    return keccak256(tx_bytes + bytes(32) + pos.to_bytes(32, "big"))


def output_id(tx: PaymentTx, oindex: int) -> bytes:
    return keccak256(encode_unsigned(tx) + oindex.to_bytes(32, "big"))


def fee_of(receipt) -> int:
    return receipt.gasUsed * receipt.effectiveGasPrice


def timestamp_of(chain, receipt) -> int:
    return chain.w3.eth.get_block(receipt.blockNumber).timestamp


def eth_held(chain, contract) -> int:
    return chain.w3.eth.get_balance(contract.address)


def finalized_by(chain, output: bytes) -> int:
    return chain.framework.functions.outputsFinalized(output).call()


def queue_size(chain, token: str = ETH_HEX, vault_id: int = contracts.ETH_VAULT_ID) -> int:
    return chain.framework.functions.exitQueueSize(vault_id, token).call()


def competitor_args(chain, spent: Input, tx: PaymentTx, competitor: PaymentTx, *, signer: int = ALICE,
                    position: int = 0, proof: bytes = b"", ife_index: int = 0, competitor_index: int = 0) -> tuple:
    """ChallengeCanonicityArgs: `competitor` spends `spent`, input `ife_index` of the in-flight `tx`."""
    return (
        spent[0], spent[1], encode_unsigned(tx), ife_index,
        encode_unsigned(competitor), competitor_index, position, proof, chain.sign(competitor, signer),
    )


# --- start ----------------------------------------------------------------------

def test_start_records_inputs_outputs_and_bond_without_queueing(chain):
    alice_in, bob_in = eth_input(chain, ALICE, 10 * ONE_ETH), eth_input(chain, BOB, 4 * ONE_ETH)
    tx = PaymentTx([alice_in[1], bob_in[1]], [out(chain, CAROL, 12 * ONE_ETH), out(chain, ALICE, 2 * ONE_ETH)])
    tx_bytes, bond = encode_unsigned(tx), chain.ife_bond()
    assert bond == contracts.IN_FLIGHT_EXIT_BOND_WEI_DEFAULT and chain.piggyback_bond() == contracts.PIGGYBACK_BOND_WEI_DEFAULT
    before = chain.balance(CAROL)
    args = chain.ife_args(tx, [alice_in, bob_in], [ALICE, BOB])
    receipt = chain.send(chain.exit_game.functions.startInFlightExit(args), CAROL, bond)  # anyone may start it

    exit_id = ife_id(tx)
    assert chain.exit_game.functions.getInFlightExitId(tx_bytes).call() == exit_id
    assert chain.balance(CAROL) == before - bond - fee_of(receipt)
    assert eth_held(chain, chain.exit_game) == bond
    [event] = events(chain.exit_game, "InFlightExitStarted", receipt)
    assert dict(event) == {"initiator": chain.accounts[CAROL], "txHash": keccak256(tx_bytes)}  # v1.0.4's fields
    started_with = call_args(chain.w3, chain.exit_game, receipt.transactionHash, "startInFlightExit")["args"]
    assert started_with["inFlightTx"] == tx_bytes
    assert list(started_with["inFlightTxWitnesses"]) == [chain.sign(tx, ALICE), chain.sign(tx, BOB)]
    assert {log.address for log in receipt.logs} == {chain.exit_game.address}  # the exit game's own events

    canonical, started, exit_map, position, inputs, outputs, bond_owner, bond_size, oldest = chain.ife_of(exit_id)
    assert canonical and started == timestamp_of(chain, receipt) and exit_map == 0
    assert position == bob_in[1]  # the youngest input
    assert inputs[0] == (deposit_output_id(alice_in[0], alice_in[1]), chain.accounts[ALICE], ETH_HEX, 10 * ONE_ETH, 0)
    assert inputs[1] == (deposit_output_id(bob_in[0], bob_in[1]), chain.accounts[BOB], ETH_HEX, 4 * ONE_ETH, 0)
    assert inputs[2] == inputs[3] == EMPTY_WITHDRAW
    assert outputs[0] == (output_id(tx, 0), chain.accounts[CAROL], ETH_HEX, 12 * ONE_ETH, 0)
    assert outputs[1] == (output_id(tx, 1), chain.accounts[ALICE], ETH_HEX, 2 * ONE_ETH, 0)
    assert outputs[2] == outputs[3] == EMPTY_WITHDRAW
    assert (bond_owner, bond_size, oldest) == (chain.accounts[CAROL], bond, 0)
    assert queue_size(chain) == 0  # queued by its first piggyback, as plasma-contracts does
    with reverts("There is an active in-flight exit from this transaction"):
        chain.send(chain.exit_game.functions.startInFlightExit(args), CAROL, bond)


def test_in_flight_and_standard_exit_ids_differ_by_the_in_flight_bit(chain):
    alice_in = eth_input(chain, ALICE, ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, ONE_ETH)])
    assert chain.exit_game.functions.getInFlightExitId(encode_unsigned(tx)).call() & IN_FLIGHT_BIT
    for oindex in (0, 255):  # the largest output index an exit id holds still leaves the bit clear
        standard = chain.exit_game.functions.getStandardExitId(False, encode_unsigned(tx), 1000 * 10**9 + oindex).call()
        assert not standard & IN_FLIGHT_BIT
    with reverts("ExitId overflows"):  # v1.0.4: an output index past 8 bits would reach the flag's neighbours
        chain.exit_game.functions.getStandardExitId(False, encode_unsigned(tx), 1000 * 10**9 + 256).call()


def test_start_rules(chain):
    alice_in, bob_in = eth_input(chain, ALICE, 10 * ONE_ETH), eth_input(chain, BOB, 4 * ONE_ETH)
    outputs = [out(chain, CAROL, 14 * ONE_ETH)]
    tx = PaymentTx([alice_in[1], bob_in[1]], outputs)
    start = chain.exit_game.functions.startInFlightExit
    bond = chain.ife_bond()

    def fails(reason: str, args: tuple, value: int = bond) -> None:
        with reverts(reason):
            chain.send(start(args), CAROL, value)

    good = chain.ife_args(tx, [alice_in, bob_in], [ALICE, BOB])
    fails("Input value must match msg.value", good, bond - 1)
    fails("In-flight transaction must have inputs", (good[0], [], [], [], []))
    fails("Number of input transactions does not match number of provided input utxos positions",
          (good[0], good[1], good[2][:1], good[3], good[4]))
    fails("Number of input transactions does not match number of in-flight transaction inputs",
          (good[0], good[1][:1], good[2][:1], good[3][:1], good[4][:1]))
    fails("Number of input transactions inclusion proofs does not match", (good[0], good[1], good[2], good[3][:1], good[4]))
    fails("Number of input transaction witnesses does not match", (good[0], good[1], good[2], good[3], good[4][:1]))
    fails("Unsupported transaction type of the exit game",
          chain.ife_args(PaymentTx(tx.inputs, outputs, tx_type=2), [alice_in, bob_in], [ALICE, BOB]))
    twice = PaymentTx([alice_in[1], alice_in[1]], [out(chain, CAROL, ONE_ETH)])
    fails("In-flight transaction must have unique inputs", chain.ife_args(twice, [alice_in, alice_in], [ALICE, ALICE]))
    wrong_proof = (alice_in[0], alice_in[1], bytes(len(alice_in[2])))
    fails("Input transaction is not standard finalized", chain.ife_args(tx, [wrong_proof, bob_in], [ALICE, BOB]))
    fails("Spending tx points to the incorrect output UTXO position", chain.ife_args(tx, [bob_in, alice_in], [BOB, ALICE]))
    no_output = PaymentTx([alice_in[1] + 1], [out(chain, CAROL, ONE_ETH)])
    fails("Output index out of range", chain.ife_args(no_output, [(alice_in[0], alice_in[1] + 1, alice_in[2])], [ALICE]))
    fails("Tx is not signed correctly", chain.ife_args(tx, [alice_in, bob_in], [BOB, BOB]))
    fails("Failed to recover the signer from the signature", (good[0], good[1], good[2], good[3], [bytes(65), good[4][1]]))
    more = PaymentTx(tx.inputs, [out(chain, CAROL, 14 * ONE_ETH + 1)])
    fails("Invalid state transition", chain.ife_args(more, [alice_in, bob_in], [ALICE, BOB]))
    other_token = PaymentTx(tx.inputs, [out(chain, CAROL, ONE_ETH), out(chain, CAROL, 1, raw(chain.token.address))])
    fails("Invalid state transition", chain.ife_args(other_token, [alice_in, bob_in], [ALICE, BOB]))
    assert eth_held(chain, chain.exit_game) == 0
    chain.send(start(good), CAROL, bond)  # all of it, as it should be, goes through


# --- piggyback ------------------------------------------------------------------

def test_piggyback_rules_and_the_first_piggyback_queues_the_exit(chain):
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 6 * ONE_ETH), out(chain, ALICE, 3 * ONE_ETH), out(chain, CAROL, ONE_ETH)])
    fns = chain.exit_game.functions
    pb_bond = chain.piggyback_bond()
    with reverts("No in-flight exit to piggyback on"):
        chain.piggyback(BOB, tx, 0)
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])

    with reverts("Input value must match msg.value"):
        chain.send(fns.piggybackInFlightExitOnOutput((encode_unsigned(tx), 0)), BOB, pb_bond + 1)
    for account, index, output in [(CAROL, 0, True), (BOB, 0, False), (ALICE, 0, True)]:
        with reverts("Can be called only by the exit target"):
            chain.piggyback(account, tx, index, output)
    for reason, index, output in [
        ("Indexed output is empty", 3, True), ("Indexed input is empty", 1, False),
        ("Invalid output index", 4, True), ("Invalid input index", 4, False),
    ]:
        with reverts(reason):
            chain.piggyback(ALICE, tx, index, output)

    receipt = chain.piggyback(BOB, tx, 0)
    [event] = events(chain.exit_game, "InFlightExitOutputPiggybacked", receipt)
    assert (event.exitTarget, event.txHash, event.outputIndex) == (chain.accounts[BOB], keccak256(encode_unsigned(tx)), 0)
    deposit_time = chain.framework.functions.blocks(alice_in[1] // 10**9).call()[1]
    exitable_at = max(deposit_time + 2 * PERIOD, timestamp_of(chain, receipt) + PERIOD)
    expected = chain.framework.functions.computePriority(exitable_at, alice_in[1], exit_id).call()
    assert chain.framework.functions.getNextExit(contracts.ETH_VAULT_ID, ETH_HEX).call() == expected
    with reverts("Indexed output already piggybacked"):
        chain.piggyback(BOB, tx, 0)

    receipt = chain.piggyback(ALICE, tx, 0, output=False)
    [event] = events(chain.exit_game, "InFlightExitInputPiggybacked", receipt)
    assert (event.exitTarget, event.inputIndex) == (chain.accounts[ALICE], 0)
    chain.piggyback(ALICE, tx, 1)
    assert queue_size(chain) == 1  # one queue entry per token, whatever the number of piggybacks
    ife = chain.ife_of(exit_id)
    assert ife[2] == 0b110001  # input 0, outputs 0 and 1
    assert ife[4][0][4] == ife[5][0][4] == ife[5][1][4] == pb_bond
    assert eth_held(chain, chain.exit_game) == chain.ife_bond() + 3 * pb_bond

    chain.travel(HALF_PERIOD)
    with reverts("Piggyback is possible only in the first phase of the exit period"):
        chain.piggyback(CAROL, tx, 2)  # her output, not piggybacked yet, but too late


# --- process --------------------------------------------------------------------

def test_a_canonical_exit_pays_its_piggybacked_outputs_and_returns_every_bond(chain):
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 7 * ONE_ETH), out(chain, ALICE, 3 * ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    chain.piggyback(ALICE, tx, 1)
    ife_bond, pb_bond = chain.ife_bond(), chain.piggyback_bond()
    chain.travel(2 * PERIOD + 1)
    bob, alice = chain.balance(BOB), chain.balance(ALICE)
    receipt = chain.process()  # Carol processes

    assert [(e.exitId, e.outputIndex) for e in events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt)] == [
        (exit_id, 0), (exit_id, 1)
    ]
    assert events(chain.exit_game, "InFlightExitInputWithdrawn", receipt) == []
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    assert chain.balance(BOB) == bob + 7 * ONE_ETH + pb_bond + ife_bond  # Bob started it: the bond is his
    assert chain.balance(ALICE) == alice + 3 * ONE_ETH + pb_bond
    assert eth_held(chain, chain.eth_vault) == eth_held(chain, chain.exit_game) == 0
    # Its outputs and its input are finalized by this exit, which is gone.
    for output in (output_id(tx, 0), output_id(tx, 1), deposit_output_id(alice_in[0], alice_in[1])):
        assert finalized_by(chain, output) == exit_id
    assert chain.ife_of(exit_id)[1] == 0
    with reverts("Output is already spent or exited"):
        chain.start_exit(ALICE, alice_in[1], alice_in[0], alice_in[2])


def test_a_non_canonical_exit_pays_its_piggybacked_inputs_and_the_challenger_takes_the_bond(chain):
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    competitor = PaymentTx([alice_in[1]], [out(chain, ALICE, 10 * ONE_ETH)])  # Alice double-signs
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    chain.piggyback(ALICE, tx, 0, output=False)
    ife_bond, pb_bond = chain.ife_bond(), chain.piggyback_bond()

    args = competitor_args(chain, alice_in, tx, competitor)
    receipt = chain.send(chain.exit_game.functions.challengeInFlightExitNotCanonical(args), CAROL)
    [event] = events(chain.exit_game, "InFlightExitChallenged", receipt)
    assert dict(event) == {"challenger": chain.accounts[CAROL], "txHash": keccak256(encode_unsigned(tx)),
                           "challengeTxPosition": NOT_INCLUDED}
    ife = chain.ife_of(exit_id)
    assert (ife[0], ife[6], ife[8]) == (False, chain.accounts[CAROL], NOT_INCLUDED)
    with reverts("Competing transaction is not older than already known competitor"):
        chain.send(chain.exit_game.functions.challengeInFlightExitNotCanonical(args), CAROL)

    chain.travel(2 * PERIOD + 1)
    bob, alice, carol = chain.balance(BOB), chain.balance(ALICE), chain.balance(CAROL)
    receipt = chain.process()
    assert [(e.exitId, e.inputIndex) for e in events(chain.exit_game, "InFlightExitInputWithdrawn", receipt)] == [(exit_id, 0)]
    assert events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt) == []
    assert chain.balance(ALICE) == alice + 10 * ONE_ETH + pb_bond
    assert chain.balance(BOB) == bob + pb_bond  # his output is not paid; his piggyback bond comes back
    assert chain.balance(CAROL) == carol + ife_bond - fee_of(receipt)
    assert finalized_by(chain, deposit_output_id(alice_in[0], alice_in[1])) == exit_id
    assert finalized_by(chain, output_id(tx, 0)) == 0
    assert eth_held(chain, chain.eth_vault) == eth_held(chain, chain.exit_game) == 0


def test_an_older_inclusion_answers_a_canonicity_challenge_and_wins_the_bond(chain):
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    competitor = PaymentTx([alice_in[1]], [out(chain, ALICE, 10 * ONE_ETH)])
    filler = PaymentTx([encode_utxo_pos(900, 0, 0)], [out(chain, CAROL, 1)])
    block_a, leaves_a = chain.submit_block([tx])
    block_b, leaves_b = chain.submit_block([filler, competitor])
    tx_pos, competitor_pos = encode_utxo_pos(block_a, 0, 0), encode_utxo_pos(block_b, 1, 0)
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    challenge = chain.exit_game.functions.challengeInFlightExitNotCanonical
    respond = chain.exit_game.functions.respondToNonCanonicalChallenge
    with reverts("In-flight transaction must be older than competitors to respond to non-canonical challenge"):
        chain.send(respond(leaves_a[0], tx_pos, merkle.proof(leaves_a, 0)), BOB)  # nothing to answer yet

    # A competitor known only by its signature, then an older one: a block position.
    chain.send(challenge(competitor_args(chain, alice_in, tx, competitor)), CAROL)
    chain.send(challenge(competitor_args(chain, alice_in, tx, competitor, position=competitor_pos,
                                         proof=merkle.proof(leaves_b, 1))), CAROL)
    assert chain.ife_of(exit_id)[8] == competitor_pos

    for reason, pos, proof in [
        ("In-flight transaction position must not be 0", 0, merkle.proof(leaves_a, 0)),
        ("In-flight transaction must be older than competitors", competitor_pos, merkle.proof(leaves_b, 1)),
        ("Failed to get the block root hash of the tx position", encode_utxo_pos(999, 0, 0), merkle.proof(leaves_a, 0)),
        ("Output index of txPos has to be 0", tx_pos + 1, merkle.proof(leaves_a, 0)),
        ("Transaction is not included in block of Plasma chain", tx_pos, merkle.proof(leaves_b, 0)),
    ]:
        with reverts(reason):
            chain.send(respond(leaves_a[0], pos, proof), BOB)
    receipt = chain.send(respond(leaves_a[0], tx_pos, merkle.proof(leaves_a, 0)), BOB)
    [event] = events(chain.exit_game, "InFlightExitChallengeResponded", receipt)
    assert (event.challenger, event.txHash, event.challengeTxPosition) == (chain.accounts[BOB], keccak256(leaves_a[0]), tx_pos)
    ife = chain.ife_of(exit_id)
    assert (ife[0], ife[6], ife[8]) == (True, chain.accounts[BOB], tx_pos)

    chain.travel(2 * PERIOD + 1)
    bob = chain.balance(BOB)
    chain.process()
    assert chain.balance(BOB) == bob + 10 * ONE_ETH + chain.piggyback_bond() + chain.ife_bond()


def test_canonicity_challenge_rules(chain):
    alice_in, bob_in = eth_input(chain, ALICE, 10 * ONE_ETH), eth_input(chain, BOB, ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    competitor = PaymentTx([alice_in[1]], [out(chain, ALICE, 10 * ONE_ETH)])
    block, leaves = chain.submit_block([competitor])
    challenge = chain.exit_game.functions.challengeInFlightExitNotCanonical

    def fails(reason: str, args: tuple) -> None:
        with reverts(reason):
            chain.send(challenge(args), CAROL)

    fails("In-flight exit does not exist", competitor_args(chain, alice_in, tx, competitor))
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    fails("Input index out of bounds", competitor_args(chain, alice_in, tx, competitor, ife_index=4))
    fails("The competitor transaction is the same as transaction in-flight", competitor_args(chain, alice_in, tx, tx))
    fails("Provided inputs data does not point to the same outputId from the in-flight exit",
          competitor_args(chain, bob_in, tx, competitor, signer=BOB))
    fails("Tx is not signed correctly", competitor_args(chain, alice_in, tx, competitor, signer=BOB))
    two_inputs = PaymentTx([bob_in[1], alice_in[1]], [out(chain, ALICE, ONE_ETH)])
    fails("Spending tx points to the incorrect output UTXO position", competitor_args(chain, alice_in, tx, two_inputs))
    fails("OutputIndex of competingTxPos should be 0",
          competitor_args(chain, alice_in, tx, competitor, position=encode_utxo_pos(block, 0, 1), proof=merkle.proof(leaves, 0)))
    fails("Competing tx is not standard finalized with the given tx position",
          competitor_args(chain, alice_in, tx, competitor, position=encode_utxo_pos(block, 0, 0), proof=bytes(32)))
    chain.travel(HALF_PERIOD)
    fails("Canonicity challenge phase for this exit has ended", competitor_args(chain, alice_in, tx, competitor))
    assert chain.ife_of(exit_id)[0] is True  # nothing got through


# --- spent inputs and outputs -------------------------------------------------------

def test_a_piggybacked_input_spent_elsewhere_is_blocked_and_its_bond_goes_to_the_challenger(chain):
    alice_in, bob_in = eth_input(chain, ALICE, 10 * ONE_ETH), eth_input(chain, BOB, ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    spend = PaymentTx([alice_in[1]], [out(chain, CAROL, 10 * ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    challenge = chain.exit_game.functions.challengeInFlightExitInputSpent

    def args(*, index: int = 0, spending: PaymentTx = spend, signer: int = ALICE, spent: Input = alice_in, sender: int = CAROL) -> tuple:
        return (encode_unsigned(tx), index, encode_unsigned(spending), 0, chain.sign(spending, signer), spent[0], spent[1],
                chain.sender_data(sender))

    with reverts("The indexed input has not been piggybacked"):
        chain.send(challenge(args()), CAROL)
    chain.piggyback(ALICE, tx, 0, output=False)  # Alice tries to take back an input she also spent
    for reason, bad in [
        ("Incorrect senderData", args(sender=BOB)),
        ("Invalid input index", args(index=4)),
        ("The challenging transaction is the same as the in-flight transaction", args(spending=tx)),
        ("Spent input is not the same as piggybacked input", args(spent=bob_in)),
        ("Tx is not signed correctly", args(signer=BOB)),
    ]:
        with reverts(reason):
            chain.send(challenge(bad), CAROL)
    carol = chain.balance(CAROL)
    receipt = chain.send(challenge(args()), CAROL)
    [event] = events(chain.exit_game, "InFlightExitInputBlocked", receipt)
    assert (event.challenger, event.txHash, event.inputIndex) == (chain.accounts[CAROL], keccak256(encode_unsigned(tx)), 0)
    assert chain.balance(CAROL) == carol + chain.piggyback_bond() - fee_of(receipt)
    assert chain.ife_of(exit_id)[2] == 0
    assert eth_held(chain, chain.exit_game) == chain.ife_bond()


def test_a_piggybacked_output_spent_after_inclusion_is_blocked(chain):
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])
    block, leaves = chain.submit_block([tx])
    output_pos = encode_utxo_pos(block, 0, 0)
    spend = PaymentTx([output_pos], [out(chain, CAROL, 10 * ONE_ETH)])  # Bob spends his output
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)  # and still piggybacks it
    challenge = chain.exit_game.functions.challengeInFlightExitOutputSpent

    def args(*, in_flight: PaymentTx = tx, proof: bytes = merkle.proof(leaves, 0), pos: int = output_pos,
             signer: int = BOB, sender: int = CAROL) -> tuple:
        return (encode_unsigned(in_flight), proof, pos, encode_unsigned(spend), 0, chain.sign(spend, signer), chain.sender_data(sender))

    for reason, bad in [
        ("Incorrect senderData", args(sender=ALICE)),
        ("In-flight exit does not exist", args(in_flight=spend)),
        ("Output is not piggybacked", args(pos=output_pos + 1)),
        ("Invalid output index", args(pos=output_pos + 4)),
        ("In-flight transaction must be standard finalized (included in Plasma) to be able to spend", args(proof=bytes(32))),
        ("Tx is not signed correctly", args(signer=ALICE)),
    ]:
        with reverts(reason):
            chain.send(challenge(bad), CAROL)
    carol = chain.balance(CAROL)
    receipt = chain.send(challenge(args()), CAROL)
    [event] = events(chain.exit_game, "InFlightExitOutputBlocked", receipt)
    assert (event.challenger, event.txHash, event.outputIndex) == (chain.accounts[CAROL], keccak256(leaves[0]), 0)
    assert chain.balance(CAROL) == carol + chain.piggyback_bond() - fee_of(receipt)

    # Nothing is left to pay: processing only returns the in-flight exit bond.
    chain.travel(2 * PERIOD + 1)
    bob = chain.balance(BOB)
    receipt = chain.process()
    assert events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt) == []
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    assert chain.balance(BOB) == bob + chain.ife_bond()
    assert eth_held(chain, chain.eth_vault) == 10 * ONE_ETH


# --- processing against other exits -------------------------------------------------

def test_an_output_already_exited_by_a_standard_exit_is_skipped(chain):
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 7 * ONE_ETH), out(chain, ALICE, 3 * ONE_ETH)])
    block, leaves = chain.submit_block([tx])
    standard_id = chain.start_exit(BOB, encode_utxo_pos(block, 0, 0), leaves[0], merkle.proof(leaves, 0))
    chain.travel(PERIOD + 10)  # the in-flight exit's piggybacks come later, so it is due later
    exit_id = chain.start_ife(ALICE, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    chain.piggyback(ALICE, tx, 1)
    assert chain.framework.functions.getNextExit(contracts.ETH_VAULT_ID, ETH_HEX).call() & EXIT_ID_MASK == standard_id
    chain.travel(2 * PERIOD + 1)
    bob, alice = chain.balance(BOB), chain.balance(ALICE)
    receipt = chain.process()
    assert [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)] == [standard_id]
    assert [e.outputIndex for e in events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt)] == [1]
    pb_bond = chain.piggyback_bond()
    assert chain.balance(BOB) == bob + 7 * ONE_ETH + BOND_WEI + pb_bond  # paid once, by his standard exit
    assert chain.balance(ALICE) == alice + 3 * ONE_ETH + pb_bond + chain.ife_bond()
    assert finalized_by(chain, output_id(tx, 0)) == standard_id and finalized_by(chain, output_id(tx, 1)) == exit_id
    assert eth_held(chain, chain.eth_vault) == eth_held(chain, chain.exit_game) == 0


def test_outputs_of_a_transaction_whose_input_exited_elsewhere_are_not_paid(chain):
    alice_in = eth_input(chain, ALICE, 10 * ONE_ETH)
    standard_id = chain.start_exit(ALICE, alice_in[1], alice_in[0], alice_in[2])  # Alice exits her deposit...
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, 10 * ONE_ETH)])  # ...and pays it to Bob in flight
    chain.travel(10)
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    chain.travel(3 * PERIOD)
    bob, alice = chain.balance(BOB), chain.balance(ALICE)
    receipt = chain.process()
    assert [e.exitId for e in events(chain.exit_game, "ExitFinalized", receipt)] == [standard_id]
    assert events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt) == []
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    assert chain.balance(ALICE) == alice + 10 * ONE_ETH + BOND_WEI
    assert chain.balance(BOB) == bob + chain.piggyback_bond() + chain.ife_bond()  # bonds back, no value
    assert finalized_by(chain, output_id(tx, 0)) == 0
    assert eth_held(chain, chain.eth_vault) == 0


def test_an_exit_of_two_tokens_is_queued_and_processed_once_per_token(chain):
    eth_in, tkn_in = eth_input(chain, ALICE, 10 * ONE_ETH), token_input(chain, ALICE, 500)
    tkn = raw(chain.token.address)
    tx = PaymentTx(
        [eth_in[1], tkn_in[1]],
        [out(chain, BOB, 6 * ONE_ETH), out(chain, BOB, 300, tkn), out(chain, ALICE, 4 * ONE_ETH), out(chain, ALICE, 200, tkn)],
    )
    exit_id = chain.start_ife(BOB, tx, [eth_in, tkn_in], [ALICE, ALICE])
    erc20 = (chain.token.address, contracts.ERC20_VAULT_ID)
    for account, index in [(BOB, 0), (BOB, 1), (ALICE, 2), (ALICE, 3)]:
        chain.piggyback(account, tx, index)
    assert queue_size(chain) == 1 and queue_size(chain, *erc20) == 1
    eth_priority = chain.framework.functions.getNextExit(contracts.ETH_VAULT_ID, ETH_HEX).call()
    tkn_priority = chain.framework.functions.getNextExit(contracts.ERC20_VAULT_ID, chain.token.address).call()
    assert eth_priority == tkn_priority and eth_priority & EXIT_ID_MASK == exit_id  # one priority, two queues
    ife_bond, pb_bond = chain.ife_bond(), chain.piggyback_bond()
    chain.travel(2 * PERIOD + 1)

    bob, alice = chain.balance(BOB), chain.balance(ALICE)
    receipt = chain.process()
    assert [e.outputIndex for e in events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt)] == [0, 2]
    assert events(chain.exit_game, "InFlightExitFinalized", receipt) == []
    assert chain.balance(BOB) == bob + 6 * ONE_ETH + pb_bond and chain.balance(ALICE) == alice + 4 * ONE_ETH + pb_bond
    assert chain.ife_of(exit_id)[2] == (1 << 5) | (1 << 7)  # the token outputs still wait
    for spent in (deposit_output_id(eth_in[0], eth_in[1]), deposit_output_id(tkn_in[0], tkn_in[1])):
        assert finalized_by(chain, spent) == exit_id

    bob, alice = chain.balance(BOB), chain.balance(ALICE)
    receipt = chain.process(token=chain.token.address, vault_id=contracts.ERC20_VAULT_ID)
    assert [e.outputIndex for e in events(chain.exit_game, "InFlightExitOutputWithdrawn", receipt)] == [1, 3]
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitFinalized", receipt)] == [exit_id]
    balance_of = chain.token.functions.balanceOf
    assert balance_of(chain.accounts[BOB]).call() == 300 and balance_of(chain.accounts[ALICE]).call() == 200
    assert chain.balance(BOB) == bob + pb_bond + ife_bond and chain.balance(ALICE) == alice + pb_bond
    assert balance_of(chain.erc20_vault.address).call() == 0
    assert eth_held(chain, chain.eth_vault) == eth_held(chain, chain.exit_game) == 0


# --- delete ---------------------------------------------------------------------

def test_an_exit_nobody_piggybacked_is_deleted_after_the_first_phase(chain):
    alice_in, bob_in = eth_input(chain, ALICE, ONE_ETH), eth_input(chain, BOB, ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, ONE_ETH)])
    piggybacked = PaymentTx([bob_in[1]], [out(chain, ALICE, ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    other_id = chain.start_ife(ALICE, piggybacked, [bob_in], [BOB])
    chain.piggyback(ALICE, piggybacked, 0)
    delete = chain.exit_game.functions.deleteNonPiggybackedInFlightExit
    with reverts("Cannot delete in-flight exit still in first phase"):
        chain.send(delete(exit_id), CAROL)
    chain.travel(HALF_PERIOD)
    with reverts("The in-flight exit is already piggybacked"):
        chain.send(delete(other_id), CAROL)
    bob = chain.balance(BOB)
    receipt = chain.send(delete(exit_id), CAROL)
    assert [e.exitId for e in events(chain.exit_game, "InFlightExitDeleted", receipt)] == [exit_id]
    assert chain.balance(BOB) == bob + chain.ife_bond()
    assert chain.ife_of(exit_id) == chain.ife_of(12345)  # all empty
    with reverts("In-flight exit does not exist"):
        chain.send(delete(exit_id), CAROL)


def test_only_the_framework_processes_an_in_flight_exit(chain):
    alice_in = eth_input(chain, ALICE, ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    chain.travel(2 * PERIOD + 1)
    for account in (BOB, AUTHORITY):
        with reverts("Caller address is unauthorized"):
            chain.send(chain.exit_game.functions.processExit(exit_id, contracts.ETH_VAULT_ID, ETH_HEX), account)


# --- one address, three codes ------------------------------------------------------

def test_the_exit_game_codes_share_one_storage_layout_and_fit_the_code_limit():
    layouts = [contracts.compile_contract(name).layout for name in EXIT_GAME_CODES]
    for layout in layouts[1:]:  # slot for slot, and the same transient reentrancy lock
        assert layout["storage_layout"] == layouts[0]["storage_layout"]
        assert layout["transient_storage_layout"] == layouts[0]["transient_storage_layout"]
    assert "$.nonreentrant_key" in layouts[0]["transient_storage_layout"]
    for name in ("PlasmaFramework", "EthVault", "Erc20Vault", *EXIT_GAME_CODES):
        assert len(bytes.fromhex(contracts.compile_contract(name).bytecode_runtime[2:])) <= CODE_SIZE_LIMIT, name


def test_the_exit_game_abi_is_the_union_without_selector_clashes():
    abi = contracts.contract_abi("PaymentExitGame")
    functions = [entry for entry in abi if entry["type"] == "function"]
    selectors = {function_abi_to_4byte_selector(entry) for entry in functions}
    assert len(selectors) == len(functions)
    names = {entry["name"] for entry in functions}
    assert {"startStandardExit", "startInFlightExit", "piggybackInFlightExitOnInput", "piggybackInFlightExitOnOutput",
            "challengeInFlightExitNotCanonical", "respondToNonCanonicalChallenge", "challengeInFlightExitInputSpent",
            "challengeInFlightExitOutputSpent", "deleteNonPiggybackedInFlightExit", "processExit", "inFlightExits",
            "getInFlightExitId", "startIFEBondSize", "piggybackBondSize"} <= names
    start = next(entry for entry in functions if entry["name"] == "startInFlightExit")
    assert [c["type"] for c in start["inputs"][0]["components"]] == ["bytes", "bytes[]", "uint256[]", "bytes[]", "bytes[]"]


def test_the_code_contracts_are_wired_and_hold_nothing_themselves(chain):
    code = chain.root.in_flight_exit_code
    assert chain.exit_game.functions.inFlightExitGame().call() == code.address
    assert code.functions.inFlightExitDisputes().call() == chain.exit_game.functions.inFlightExitDisputes().call()
    alice_in = eth_input(chain, ALICE, ONE_ETH)
    tx = PaymentTx([alice_in[1]], [out(chain, BOB, ONE_ETH)])
    exit_id = chain.start_ife(BOB, tx, [alice_in], [ALICE])
    assert chain.ife_of(exit_id)[1] != 0
    assert code.functions.inFlightExits([exit_id]).call()[0][1] == 0  # the exit lives in the exit game's storage
    with reverts("In-flight exit does not exist"):  # the disputes code, reached at its own address, knows none
        chain.send(code.functions.deleteNonPiggybackedInFlightExit(exit_id), CAROL)
    assert len(chain.exit_game.functions.inFlightExits([exit_id] * 16).call()) == 16  # the largest answer comes back whole
    with reverts("execution reverted"):  # plain ether still has nowhere to go
        chain.w3.eth.send_transaction({"from": chain.accounts[CAROL], "to": chain.exit_game.address, "value": 1})


def test_a_hostile_token_cannot_reenter_the_exit_game_while_it_pays_an_in_flight_exit(chain):
    """The exit game's processExit holds the (transient) lock; the delegated in-flight code
    checks the very same slot, so a reentrant call into it fails, and succeeds afterwards."""
    hostile = contracts.deploy(chain.w3, "ReentrantToken", directory=TEST_CONTRACTS)
    chain.send(chain.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, hostile.address), CAROL)
    chain.send(hostile.functions.mint(chain.accounts[ALICE], 100), ALICE)
    chain.send(hostile.functions.approve(chain.erc20_vault.address, 100), ALICE)
    deposit = encode(deposit_tx(chain.addr(ALICE), raw(hostile.address), 100))
    receipt = chain.send(chain.erc20_vault.functions.deposit(deposit), ALICE)
    [created] = events(chain.erc20_vault, "DepositCreated", receipt)
    hostile_in = (deposit, encode_utxo_pos(created.blknum, 0, 0), merkle.proof([deposit], 0))
    tx = PaymentTx([hostile_in[1]], [out(chain, BOB, 100, raw(hostile.address))])
    chain.start_ife(BOB, tx, [hostile_in], [ALICE])
    chain.piggyback(BOB, tx, 0)
    alice_in = eth_input(chain, ALICE, ONE_ETH)  # an exit anyone may delete once its first phase is over
    idle = PaymentTx([alice_in[1]], [out(chain, CAROL, ONE_ETH)])
    idle_id = chain.start_ife(CAROL, idle, [alice_in], [ALICE])
    delete_idle = chain.exit_game.functions.deleteNonPiggybackedInFlightExit(idle_id)
    chain.send(hostile.functions.arm(chain.exit_game.address, delete_idle._encode_transaction_data()), CAROL)
    chain.travel(2 * PERIOD + 1)

    chain.process(token=hostile.address, vault_id=contracts.ERC20_VAULT_ID)
    assert hostile.functions.balanceOf(chain.accounts[BOB]).call() == 100  # the exit was paid...
    assert (hostile.functions.attempts().call(), hostile.functions.succeeded().call()) == (1, 0)  # ...the reentry refused
    assert chain.ife_of(idle_id)[1] != 0
    chain.send(delete_idle, CAROL)  # the same call, outside the lock
    assert chain.ife_of(idle_id)[1] == 0


def test_only_exit_games_batch_flag_outputs_and_a_first_flag_stays(chain):
    fw = chain.framework.functions
    with reverts("The call is not from a registered exit game"):
        chain.send(fw.batchFlagOutputsFinalized([b"\x01" * 32], 5), ALICE)
    assert fw.isAnyInputFinalizedByOtherExit([b"\x01" * 32], 5).call() is False
    alice_in = eth_input(chain, ALICE, ONE_ETH)  # finalized by a standard exit, then seen by another exit id
    standard_id = chain.start_exit(ALICE, alice_in[1], alice_in[0], alice_in[2])
    chain.travel(PERIOD + 1)
    chain.process()
    spent = deposit_output_id(alice_in[0], alice_in[1])
    assert fw.isAnyInputFinalizedByOtherExit([b"\x01" * 32, spent], standard_id).call() is False
    assert fw.isAnyInputFinalizedByOtherExit([b"\x01" * 32, spent], standard_id + 1).call() is True
