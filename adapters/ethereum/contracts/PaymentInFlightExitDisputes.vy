# pragma version ~=0.4.3
"""
@title PaymentInFlightExitDisputes (MoreVP in-flight exits: challenges, responses, processing)
@notice After plasma-contracts v1.0.4's PaymentChallengeIFENotCanonical, PaymentChallengeIFEInputSpent,
        PaymentChallengeIFEOutputSpent and PaymentProcessInFlightExit controllers, without
        process-exit bounties:
        - challengeInFlightExitNotCanonical / respondToNonCanonicalChallenge: a competing spend of
          an input makes the exit non-canonical, an inclusion older than every competitor makes
          it canonical again; each takes over the in-flight exit bond;
        - challengeInFlightExitInputSpent / OutputSpent: a spend of a piggybacked input (or of an
          included output) removes the piggyback; the challenger takes its bond;
        - processExit: a canonical exit pays its piggybacked outputs, a non-canonical one its
          piggybacked inputs, never an output already finalized; piggyback bonds go back.
        Never called at its own address: PaymentExitGame DELEGATECALLs PaymentInFlightExitGame,
        which DELEGATECALLs this code, so it runs on PaymentExitGame's storage (exit_data),
        balance, address and reentrancy lock.
"""
import rlp
import payment
import merkle
import exit_data

# PaymentExitGame's storage: first, alone, in the same order (see exit_data).
initializes: exit_data

MAX_INPUTS: constant(uint256) = payment.MAX_INPUTS
MAX_OUTPUTS: constant(uint256) = payment.MAX_OUTPUTS
MAX_PIGGYBACKS: constant(uint256) = MAX_INPUTS + MAX_OUTPUTS
NOT_INCLUDED: constant(uint256) = max_value(uint256)  # the position of a competitor not in a block


struct ChallengeCanonicityArgs:
    inputTx: Bytes[rlp.MAX_BYTES]
    inputUtxoPos: uint256
    inFlightTx: Bytes[rlp.MAX_BYTES]
    inFlightTxInputIndex: uint16
    competingTx: Bytes[rlp.MAX_BYTES]
    competingTxInputIndex: uint16
    competingTxPos: uint256
    competingTxInclusionProof: Bytes[merkle.MAX_PROOF_BYTES]
    competingTxWitness: Bytes[65]


struct ChallengeInputSpentArgs:
    inFlightTx: Bytes[rlp.MAX_BYTES]
    inFlightTxInputIndex: uint16
    challengingTx: Bytes[rlp.MAX_BYTES]
    challengingTxInputIndex: uint16
    challengingTxWitness: Bytes[65]
    inputTx: Bytes[rlp.MAX_BYTES]
    inputUtxoPos: uint256
    senderData: bytes32


struct ChallengeOutputSpent:
    inFlightTx: Bytes[rlp.MAX_BYTES]
    inFlightTxInclusionProof: Bytes[merkle.MAX_PROOF_BYTES]
    outputUtxoPos: uint256
    challengingTx: Bytes[rlp.MAX_BYTES]
    challengingTxInputIndex: uint16
    challengingTxWitness: Bytes[65]
    senderData: bytes32


event InFlightExitChallenged:
    challenger: indexed(address)
    txHash: indexed(bytes32)
    challengeTxPosition: uint256

event InFlightExitChallengeResponded:
    challenger: indexed(address)
    txHash: indexed(bytes32)
    challengeTxPosition: uint256

event InFlightExitInputBlocked:
    challenger: indexed(address)
    txHash: indexed(bytes32)
    inputIndex: uint16

event InFlightExitOutputBlocked:
    challenger: indexed(address)
    txHash: indexed(bytes32)
    outputIndex: uint16

event InFlightExitOmitted:
    exitId: indexed(uint160)
    token: address

event InFlightExitInputWithdrawn:
    exitId: indexed(uint160)
    inputIndex: uint16

event InFlightExitOutputWithdrawn:
    exitId: indexed(uint160)
    outputIndex: uint16

event InFlightBondReturnFailed:
    receiver: indexed(address)
    amount: uint256

event InFlightExitFinalized:
    exitId: indexed(uint160)


@pure
@internal
def _piggyback_of(ife: exit_data.InFlightExit, bit: uint256) -> exit_data.WithdrawData:
    """The input (bits 0-3) or output (bits 4-7) that piggyback `bit` claims."""
    if bit < MAX_INPUTS:
        return ife.inputs[bit]
    return ife.outputs[bit - MAX_INPUTS]


@pure
@internal
def _check_is_input(in_flight_tx: Bytes[rlp.MAX_BYTES], i: uint256, utxo_pos: uint256):
    """The output a challenge shows spent is at input `i`'s position, not just of its transaction:
    a child-block output id (keccak of the transaction and the output index) does not commit to
    the position, so any old spend, by the same owner, of another output with that index would
    otherwise pass as a competitor (plasma-contracts v1.0.4 has this gap). Called once the output
    id matched input `i`'s, so `i` is one of the transaction's inputs."""
    in_flight: payment.Transaction = payment.decode(in_flight_tx)
    assert in_flight.inputs[i] == convert(utxo_pos, bytes32), "Input UTXO position is not the in-flight transaction's input"


# --- canonicity -----------------------------------------------------------------

@external
@nonreentrant
def challengeInFlightExitNotCanonical(args: ChallengeCanonicityArgs):
    """Show a different transaction spending an input of the in-flight one (in a block at
    competingTxPos, or anywhere if 0): the exit becomes non-canonical and the bond the challenger's."""
    exit_id: uint160 = exit_data.ife_id(args.inFlightTx)
    i: uint256 = convert(args.inFlightTxInputIndex, uint256)
    assert i < MAX_INPUTS, "Input index out of bounds"
    assert exit_data.in_first_phase(exit_data.ife_started(exit_id)), "Canonicity challenge phase for this exit has ended"
    assert keccak256(args.inFlightTx) != keccak256(args.competingTx), "The competitor transaction is the same as transaction in-flight"

    output: payment.Output = empty(payment.Output)
    output_id: bytes32 = empty(bytes32)
    output, output_id = exit_data.input_output(args.inputTx, args.inputUtxoPos)
    assert output_id == exit_data.inFlightExits[exit_id].inputs[i].outputId, "Provided inputs data does not point to the same outputId from the in-flight exit"
    self._check_is_input(args.inFlightTx, i, args.inputUtxoPos)
    exit_data.check_spend_any(
        output, args.inputTx, args.inputUtxoPos, args.competingTx, convert(args.competingTxInputIndex, uint256), args.competingTxWitness
    )

    position: uint256 = NOT_INCLUDED
    if args.competingTxPos != 0:
        assert payment.decode_pos(args.competingTxPos).oindex == 0, "OutputIndex of competingTxPos should be 0"
        included: bool = exit_data.is_included(args.competingTx, args.competingTxPos, args.competingTxInclusionProof)
        assert included, "Competing tx is not standard finalized with the given tx position"
        position = args.competingTxPos
    oldest: uint256 = exit_data.inFlightExits[exit_id].oldestCompetitorPosition
    assert oldest == 0 or oldest > position, "Competing transaction is not older than already known competitor"

    exit_data.inFlightExits[exit_id].oldestCompetitorPosition = position
    exit_data.inFlightExits[exit_id].bondOwner = msg.sender
    exit_data.inFlightExits[exit_id].isCanonical = False
    log InFlightExitChallenged(challenger=msg.sender, txHash=keccak256(args.inFlightTx), challengeTxPosition=position)


@external
@nonreentrant
def respondToNonCanonicalChallenge(
    inFlightTx: Bytes[rlp.MAX_BYTES], inFlightTxPos: uint256, inFlightTxInclusionProof: Bytes[merkle.MAX_PROOF_BYTES]
):
    """Show the in-flight transaction in a block older than every known competitor: canonical again,
    and the bond the responder's."""
    exit_id: uint160 = exit_data.ife_id(inFlightTx)
    exit_data.ife_started(exit_id)
    assert inFlightTxPos > 0, "In-flight transaction position must not be 0"
    assert exit_data.inFlightExits[exit_id].oldestCompetitorPosition > inFlightTxPos, "In-flight transaction must be older than competitors to respond to non-canonical challenge"
    pos: payment.Position = payment.decode_pos(inFlightTxPos)
    root: bytes32 = exit_data.block_of(pos.blknum)[0]
    assert root != empty(bytes32), "Failed to get the block root hash of the tx position"
    assert pos.oindex == 0, "Output index of txPos has to be 0"
    assert merkle.check_membership(inFlightTx, pos.txindex, root, inFlightTxInclusionProof), "Transaction is not included in block of Plasma chain"

    exit_data.inFlightExits[exit_id].oldestCompetitorPosition = inFlightTxPos
    exit_data.inFlightExits[exit_id].isCanonical = True
    exit_data.inFlightExits[exit_id].bondOwner = msg.sender
    log InFlightExitChallengeResponded(challenger=msg.sender, txHash=keccak256(inFlightTx), challengeTxPosition=inFlightTxPos)


# --- spent piggybacks -------------------------------------------------------------

@internal
def _block_piggyback(exit_id: uint160, bit: uint256, bond: uint256):
    """Remove a piggyback shown spent and pay its bond to the challenger."""
    exit_data.inFlightExits[exit_id].exitMap &= ~(1 << bit)
    assert exit_data.send_bond(msg.sender, bond), "SafeEthTransfer: failed to transfer ETH"


@external
@nonreentrant
def challengeInFlightExitInputSpent(args: ChallengeInputSpentArgs):
    """A piggybacked input spent by another transaction must not exit."""
    exit_data.check_sender_data(args.senderData)
    exit_id: uint160 = exit_data.ife_id(args.inFlightTx)
    exit_data.ife_started(exit_id)
    i: uint256 = convert(args.inFlightTxInputIndex, uint256)
    assert i < MAX_INPUTS, "Invalid input index"
    assert exit_data.is_piggybacked(exit_id, i), "The indexed input has not been piggybacked"
    assert keccak256(args.inFlightTx) != keccak256(args.challengingTx), "The challenging transaction is the same as the in-flight transaction"

    piggyback: exit_data.WithdrawData = exit_data.inFlightExits[exit_id].inputs[i]
    output: payment.Output = empty(payment.Output)
    output_id: bytes32 = empty(bytes32)
    output, output_id = exit_data.input_output(args.inputTx, args.inputUtxoPos)
    assert output_id == piggyback.outputId, "Spent input is not the same as piggybacked input"
    self._check_is_input(args.inFlightTx, i, args.inputUtxoPos)
    exit_data.check_spend_any(
        output, args.inputTx, args.inputUtxoPos, args.challengingTx, convert(args.challengingTxInputIndex, uint256), args.challengingTxWitness
    )

    self._block_piggyback(exit_id, i, piggyback.piggybackBondSize)
    log InFlightExitInputBlocked(challenger=msg.sender, txHash=keccak256(args.inFlightTx), inputIndex=args.inFlightTxInputIndex)


@external
@nonreentrant
def challengeInFlightExitOutputSpent(args: ChallengeOutputSpent):
    """A piggybacked output of an in-flight transaction that made it into a block, and was
    spent since, must not exit."""
    exit_data.check_sender_data(args.senderData)
    exit_id: uint160 = exit_data.ife_id(args.inFlightTx)
    exit_data.ife_started(exit_id)
    o: uint256 = payment.decode_pos(args.outputUtxoPos).oindex
    assert o < MAX_OUTPUTS, "Invalid output index"
    assert exit_data.is_piggybacked(exit_id, MAX_INPUTS + o), "Output is not piggybacked"
    included: bool = exit_data.is_included(args.inFlightTx, payment.tx_pos(args.outputUtxoPos), args.inFlightTxInclusionProof)
    assert included, "In-flight transaction must be standard finalized (included in Plasma) to be able to spend"

    piggyback: exit_data.WithdrawData = exit_data.inFlightExits[exit_id].outputs[o]
    output: payment.Output = payment.decode(args.inFlightTx).outputs[o]
    exit_data.check_spend_any(
        output, args.inFlightTx, args.outputUtxoPos, args.challengingTx, convert(args.challengingTxInputIndex, uint256), args.challengingTxWitness
    )

    self._block_piggyback(exit_id, MAX_INPUTS + o, piggyback.piggybackBondSize)
    log InFlightExitOutputBlocked(challenger=msg.sender, txHash=keccak256(args.inFlightTx), outputIndex=convert(o, uint16))


# --- process --------------------------------------------------------------------

@external
def processExit(exitId: uint160, vaultId: uint256, token: address):
    """The exit's `token` queue entry came due. No lock of its own: it runs inside
    PaymentExitGame.processExit, which holds the shared one (a second take would revert)."""
    assert msg.sender == exit_data.framework, "Caller address is unauthorized"
    if not exit_data.ifeQueued[exitId][token]:  # not queued by the exit now under this id
        log InFlightExitOmitted(exitId=exitId, token=token)
        return
    exit_data.ifeQueued[exitId][token] = False
    exit_data.ifeQueueCount[exitId] -= 1
    ife: exit_data.InFlightExit = exit_data.inFlightExits[exitId]
    framework: exit_data.PlasmaFramework = exit_data.PlasmaFramework(exit_data.framework)

    # Outputs of a transaction whose input already exited elsewhere must not exit: its inputs do.
    input_ids: DynArray[bytes32, MAX_INPUTS] = []
    for w: exit_data.WithdrawData in ife.inputs:
        if w.outputId != empty(bytes32):
            input_ids.append(w.outputId)
    pay_inputs: bool = not ife.isCanonical or staticcall framework.isAnyInputFinalizedByOtherExit(input_ids, exitId)
    to_flag: DynArray[bytes32, exit_data.MAX_IFE_OUTPUT_IDS] = []
    if not pay_inputs:  # spending them is what makes the outputs: every input is finalized too
        for output_id: bytes32 in input_ids:
            to_flag.append(output_id)

    # This token's piggybacks end now: those on the winning side are paid unless already finalized.
    ended: DynArray[uint256, MAX_PIGGYBACKS] = []
    paid: DynArray[uint256, MAX_PIGGYBACKS] = []
    for b: uint256 in range(MAX_PIGGYBACKS):
        w: exit_data.WithdrawData = self._piggyback_of(ife, b)
        if ife.exitMap & (1 << b) == 0 or w.token != token:
            continue
        ended.append(b)
        ife.exitMap ^= 1 << b
        if (b < MAX_INPUTS) == pay_inputs:
            if not staticcall framework.isOutputFinalized(w.outputId):
                paid.append(b)
            to_flag.append(w.outputId)

    # Effects before interactions: the exit's state, then the framework's flags, then payments.
    # The exit ends with its last queue entry, so no entry outlives it into a restarted exit.
    ended_exit: bool = exit_data.ifeQueueCount[exitId] == 0
    if ended_exit:
        exit_data.inFlightExits[exitId] = empty(exit_data.InFlightExit)
    else:
        exit_data.inFlightExits[exitId].exitMap = ife.exitMap
    extcall framework.batchFlagOutputsFinalized(to_flag, exitId)

    for b: uint256 in paid:
        w: exit_data.WithdrawData = self._piggyback_of(ife, b)
        exit_data.withdraw(w.exitTarget, token, w.amount)
        if b < MAX_INPUTS:
            log InFlightExitInputWithdrawn(exitId=exitId, inputIndex=convert(b, uint16))
        else:
            log InFlightExitOutputWithdrawn(exitId=exitId, outputIndex=convert(b - MAX_INPUTS, uint16))
    for b: uint256 in ended:
        w: exit_data.WithdrawData = self._piggyback_of(ife, b)
        if not exit_data.send_bond(w.exitTarget, w.piggybackBondSize):  # a failed return must not block the queue
            log InFlightBondReturnFailed(receiver=w.exitTarget, amount=w.piggybackBondSize)
    if ended_exit:
        if not exit_data.send_bond(ife.bondOwner, ife.bondSize):
            log InFlightBondReturnFailed(receiver=ife.bondOwner, amount=ife.bondSize)
        log InFlightExitFinalized(exitId=exitId)
