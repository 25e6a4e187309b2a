# pragma version ~=0.4.3
"""
@title PaymentInFlightExitGame (MoreVP in-flight exits of payment transactions: start, piggyback)
@notice After plasma-contracts v1.0.4's PaymentInFlightExitRouter with its PaymentStartInFlightExit,
        PaymentPiggybackInFlightExit and PaymentDeleteInFlightExit controllers:
        - startInFlightExit: anyone shows a signed transaction whose inputs are in blocks, that
          spends no more than them per token, and posts the in-flight exit bond;
        - piggybackInFlightExitOnInput / OnOutput: in the first half of the exit period, an
          input's or output's owner posts a piggyback bond; the first piggyback of a token
          queues the exit in that token's queue, at the youngest input's position, once for
          the exit's lifetime (exit_data.ifeQueued);
        - deleteNonPiggybackedInFlightExit: an exit never queued gives its bond back.
        Challenges, responses and processing are PaymentInFlightExitDisputes' code, which this
        code DELEGATECALLs for every function it does not define (one contract would exceed
        the 24,576-byte code limit).
        Never called at its own address: PaymentExitGame DELEGATECALLs it, so this code runs
        on PaymentExitGame's storage (exit_data), balance, address and reentrancy lock.
"""
import rlp
import payment
import merkle
import eip712
import exit_data

# PaymentExitGame's storage: first, alone, in the same order (see exit_data).
initializes: exit_data

MAX_INPUTS: constant(uint256) = payment.MAX_INPUTS
MAX_OUTPUTS: constant(uint256) = payment.MAX_OUTPUTS


struct StartExitArgs:
    inFlightTx: Bytes[rlp.MAX_BYTES]
    inputTxs: DynArray[Bytes[rlp.MAX_BYTES], MAX_INPUTS]
    inputUtxosPos: DynArray[uint256, MAX_INPUTS]
    inputTxsInclusionProofs: DynArray[Bytes[merkle.MAX_PROOF_BYTES], MAX_INPUTS]
    inFlightTxWitnesses: DynArray[Bytes[65], MAX_INPUTS]


struct PiggybackInFlightExitOnInputArgs:
    inFlightTx: Bytes[rlp.MAX_BYTES]
    inputIndex: uint16


struct PiggybackInFlightExitOnOutputArgs:
    inFlightTx: Bytes[rlp.MAX_BYTES]
    outputIndex: uint16


# v1.0.4's fields only: the follower and watcher read the exit's data from the start call.
event InFlightExitStarted:
    initiator: indexed(address)
    txHash: indexed(bytes32)

event InFlightExitInputPiggybacked:
    exitTarget: indexed(address)
    txHash: indexed(bytes32)
    inputIndex: uint16

event InFlightExitOutputPiggybacked:
    exitTarget: indexed(address)
    txHash: indexed(bytes32)
    outputIndex: uint16

event InFlightExitDeleted:
    exitId: indexed(uint160)


# PaymentInFlightExitDisputes: the code of every function not defined here.
inFlightExitDisputes: public(immutable(address))


@deploy
def __init__(disputesCode: address):
    assert disputesCode.is_contract, "Disputes code must be a contract"
    inFlightExitDisputes = disputesCode


@external
@payable
def __default__():
    """The challenges, responses and processExit, still on PaymentExitGame's storage and address.
    They return nothing; their reverts come back as they are."""
    raw_call(inFlightExitDisputes, msg.data, is_delegate_call=True)


@view
@external
def inFlightExits(exitIds: DynArray[uint160, exit_data.MAX_IFE_QUERY]) -> DynArray[exit_data.InFlightExit, exit_data.MAX_IFE_QUERY]:
    result: DynArray[exit_data.InFlightExit, exit_data.MAX_IFE_QUERY] = []
    for exit_id: uint160 in exitIds:
        result.append(exit_data.inFlightExits[exit_id])
    return result


@pure
@external
def getInFlightExitId(txBytes: Bytes[rlp.MAX_BYTES]) -> uint160:
    return exit_data.ife_id(txBytes)


# --- start ----------------------------------------------------------------------

@external
@payable
@nonreentrant
def startInFlightExit(args: StartExitArgs):
    assert msg.value == convert(exit_data.startIFEBondSize, uint256), "Input value must match msg.value"
    exit_id: uint160 = exit_data.ife_id(args.inFlightTx)
    in_flight: payment.Transaction = payment.decode(args.inFlightTx)
    n: uint256 = len(args.inputTxs)
    assert len(args.inputUtxosPos) == n, "Number of input transactions does not match number of provided input utxos positions"
    assert exit_data.inFlightExits[exit_id].exitStartTimestamp == 0, "There is an active in-flight exit from this transaction"
    assert in_flight.tx_type == exit_data.supportTxType, "Unsupported transaction type of the exit game"
    assert n != 0, "In-flight transaction must have inputs"
    assert n == len(in_flight.inputs), "Number of input transactions does not match number of in-flight transaction inputs"
    assert len(args.inputTxsInclusionProofs) == n, "Number of input transactions inclusion proofs does not match the number of in-flight transaction inputs"
    assert len(args.inFlightTxWitnesses) == n, "Number of input transaction witnesses does not match the number of in-flight transaction inputs"
    digest: bytes32 = eip712.hash_tx(in_flight, exit_data.framework)

    ife: exit_data.InFlightExit = empty(exit_data.InFlightExit)
    for i: uint256 in range(MAX_INPUTS):
        if i == n:
            break
        utxo_pos: uint256 = args.inputUtxosPos[i]
        for j: uint256 in range(MAX_INPUTS):
            if j == i:
                break
            assert in_flight.inputs[j] != in_flight.inputs[i], "In-flight transaction must have unique inputs"
        included: bool = exit_data.is_included(args.inputTxs[i], payment.tx_pos(utxo_pos), args.inputTxsInclusionProofs[i])
        assert included, "Input transaction is not standard finalized"
        output: payment.Output = empty(payment.Output)
        output_id: bytes32 = empty(bytes32)
        output, output_id = exit_data.input_output(args.inputTxs[i], utxo_pos)
        if output.output_type == payment.OUTPUT_TYPE_PAYMENT and in_flight.tx_type == payment.PAYMENT_TX_TYPE:
            exit_data.check_spend(output.output_guard, utxo_pos, in_flight, digest, i, args.inFlightTxWitnesses[i])
        else:  # an order placed, cancelled or settled in flight
            exit_data.check_spend_any(output, args.inputTxs[i], utxo_pos, args.inFlightTx, i, args.inFlightTxWitnesses[i])
        ife.inputs[i] = exit_data.WithdrawData(
            outputId=output_id, exitTarget=output.output_guard, token=output.token, amount=output.amount, piggybackBondSize=0
        )
        ife.position = max(ife.position, utxo_pos)

    # PaymentTransactionStateTransitionVerifier: per token, the outputs spend no more than the inputs.
    for output: payment.Output in in_flight.outputs:
        spent: uint256 = 0
        created: uint256 = 0
        for w: exit_data.WithdrawData in ife.inputs:
            if w.outputId != empty(bytes32) and w.token == output.token:
                spent += w.amount
        for other: payment.Output in in_flight.outputs:
            if other.token == output.token:
                created += other.amount
        assert spent >= created, "Invalid state transition"

    for i: uint256 in range(MAX_OUTPUTS):
        if i == len(in_flight.outputs):
            break
        output: payment.Output = in_flight.outputs[i]
        ife.outputs[i] = exit_data.WithdrawData(
            outputId=exit_data.output_id(False, args.inFlightTx, 0, i),  # an in-flight tx is never a deposit
            exitTarget=output.output_guard,
            token=output.token,
            amount=output.amount,
            piggybackBondSize=0,
        )
    ife.isCanonical = True
    ife.exitStartTimestamp = convert(block.timestamp, uint64)
    ife.bondOwner = msg.sender
    ife.bondSize = msg.value
    exit_data.inFlightExits[exit_id] = ife
    log InFlightExitStarted(initiator=msg.sender, txHash=keccak256(args.inFlightTx))


# --- piggyback ------------------------------------------------------------------

@internal
def _piggyback(exit_id: uint160, bit: uint256, target: exit_data.WithdrawData):
    """Flag piggyback `bit` for `target`, queueing the exit if it has no entry in its token's queue
    yet (one entry per token, as PaymentPiggybackInFlightExit). Whether an earlier piggyback of the
    token is still flagged does not matter: one challenged away leaves its entry queued."""
    assert target.exitTarget == msg.sender, "Can be called only by the exit target"
    if not exit_data.ifeQueued[exit_id][target.token]:
        position: uint256 = exit_data.inFlightExits[exit_id].position
        block_timestamp: uint256 = exit_data.block_of(payment.decode_pos(position).blknum)[1]
        assert block_timestamp != 0, "There is no block for the exit position to enqueue"
        extcall exit_data.PlasmaFramework(exit_data.framework).enqueue(
            exit_data.vault_id(target.token),
            target.token,
            exit_data.exitable_at(False, block_timestamp),
            payment.tx_pos(position),
            exit_id,
        )
        exit_data.ifeQueued[exit_id][target.token] = True
        exit_data.ifeQueueCount[exit_id] += 1
    exit_data.inFlightExits[exit_id].exitMap |= 1 << bit


@view
@internal
def _piggyback_phase(tx_bytes: Bytes[rlp.MAX_BYTES]) -> uint160:
    exit_id: uint160 = exit_data.ife_id(tx_bytes)
    start: uint64 = exit_data.inFlightExits[exit_id].exitStartTimestamp
    assert start != 0, "No in-flight exit to piggyback on"
    assert exit_data.in_first_phase(convert(start, uint256)), "Piggyback is possible only in the first phase of the exit period"
    return exit_id


@external
@payable
@nonreentrant
def piggybackInFlightExitOnInput(args: PiggybackInFlightExitOnInputArgs):
    """The owner of an input claims it back, should the exit turn out non-canonical."""
    assert msg.value == convert(exit_data.piggybackBondSize, uint256), "Input value must match msg.value"
    exit_id: uint160 = self._piggyback_phase(args.inFlightTx)
    i: uint256 = convert(args.inputIndex, uint256)
    assert i < MAX_INPUTS, "Invalid input index"
    target: exit_data.WithdrawData = exit_data.inFlightExits[exit_id].inputs[i]
    assert target.outputId != empty(bytes32), "Indexed input is empty"
    assert not exit_data.is_piggybacked(exit_id, i), "Indexed input already piggybacked"
    self._piggyback(exit_id, i, target)
    exit_data.inFlightExits[exit_id].inputs[i].piggybackBondSize = msg.value
    log InFlightExitInputPiggybacked(exitTarget=msg.sender, txHash=keccak256(args.inFlightTx), inputIndex=args.inputIndex)


@external
@payable
@nonreentrant
def piggybackInFlightExitOnOutput(args: PiggybackInFlightExitOnOutputArgs):
    """The owner of an output claims it, should the exit stay canonical."""
    assert msg.value == convert(exit_data.piggybackBondSize, uint256), "Input value must match msg.value"
    exit_id: uint160 = self._piggyback_phase(args.inFlightTx)
    i: uint256 = convert(args.outputIndex, uint256)
    assert i < MAX_OUTPUTS, "Invalid output index"
    target: exit_data.WithdrawData = exit_data.inFlightExits[exit_id].outputs[i]
    assert target.outputId != empty(bytes32), "Indexed output is empty"
    assert not exit_data.is_piggybacked(exit_id, MAX_INPUTS + i), "Indexed output already piggybacked"
    self._piggyback(exit_id, MAX_INPUTS + i, target)
    exit_data.inFlightExits[exit_id].outputs[i].piggybackBondSize = msg.value
    log InFlightExitOutputPiggybacked(exitTarget=msg.sender, txHash=keccak256(args.inFlightTx), outputIndex=args.outputIndex)


# --- delete ---------------------------------------------------------------------

@external
@nonreentrant
def deleteNonPiggybackedInFlightExit(exitId: uint160):
    """An exit nobody piggybacked is never queued: after the first phase, its bond goes back.
    One whose piggybacks were all challenged away is still queued: processing its entries ends it
    (a deleted exit restarted under the same id would inherit them, due long before its own)."""
    start: uint256 = exit_data.ife_started(exitId)
    assert not exit_data.in_first_phase(start), "Cannot delete in-flight exit still in first phase"
    assert exit_data.ifeQueueCount[exitId] == 0, "The in-flight exit is already piggybacked"
    owner: address = exit_data.inFlightExits[exitId].bondOwner
    bond: uint256 = exit_data.inFlightExits[exitId].bondSize
    exit_data.inFlightExits[exitId] = empty(exit_data.InFlightExit)
    assert exit_data.send_bond(owner, bond), "SafeEthTransfer: failed to transfer ETH"
    log InFlightExitDeleted(exitId=exitId)
