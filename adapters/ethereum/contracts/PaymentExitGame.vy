# pragma version ~=0.4.3
"""
@title PaymentExitGame (standard and in-flight exits)
@notice The exit game of payment transactions (tx type 1), after plasma-contracts v1.0.4's
        PaymentExitGame / PaymentStandardExitRouter:
        - startStandardExit: the owner of an output proves its transaction is in a
          block (Merkle proof against PlasmaFramework.blocks) and posts a bond;
        - challengeStandardExit: anyone shows a transaction that spends the output,
          signed by its owner (EIP-712, verifying contract = the framework), with
          senderData = keccak256(its own address); the challenger takes the bond and the
          exit is deleted;
        - processExit (called by the framework's processExits, in priority order after
          the exitable timestamp): the vault pays the owner and the bond comes back.
        The in-flight exits of PaymentInFlightExitRouter are PaymentInFlightExitGame's code,
        which this contract DELEGATECALLs, and which DELEGATECALLs PaymentInFlightExitDisputes
        in turn (together they are about twice the 24,576-byte code limit): clients see one
        exit game, with one address, one storage (exit_data) and one balance, whose ABI is
        v1.0.4's PaymentExitGame where omg-js 4.1.2-1.0.4 calls it. Its events carry v1.0.4's
        fields only: the follower reads the rest from the transaction that logged them.
"""
import rlp
import payment
import merkle
import exit_data
import order

# The storage both this contract and the in-flight exit code it delegates to run on: first, and alone.
initializes: exit_data

exports: (
    exit_data.framework,
    exit_data.ethVaultId,
    exit_data.erc20VaultId,
    exit_data.startStandardExitBondSize,
    exit_data.startIFEBondSize,
    exit_data.piggybackBondSize,
    exit_data.challengedOutputs,
)

MAX_EXIT_QUERY: constant(uint256) = 64
# The largest answer of an in-flight exit function: inFlightExits() of MAX_IFE_QUERY exits.
MAX_FORWARD_RETURN: constant(uint256) = 64 + exit_data.MAX_IFE_QUERY * exit_data.IFE_ABI_BYTES


struct StartStandardExitArgs:
    utxoPos: uint256
    rlpOutputTx: Bytes[rlp.MAX_BYTES]
    outputTxInclusionProof: Bytes[merkle.MAX_PROOF_BYTES]


struct ChallengeStandardExitArgs:
    exitId: uint160
    exitingTx: Bytes[rlp.MAX_BYTES]
    challengeTx: Bytes[rlp.MAX_BYTES]
    inputIndex: uint16
    challengeTxSig: Bytes[65]
    senderData: bytes32


event ExitStarted:
    owner: indexed(address)
    exitId: uint160

event ExitChallenged:
    utxoPos: indexed(uint256)

event ExitOmitted:
    exitId: indexed(uint160)

event ExitFinalized:
    exitId: indexed(uint160)

event BondReturnFailed:
    receiver: indexed(address)
    amount: uint256


# PaymentInFlightExitGame: the code of every function not defined here (see __default__).
inFlightExitGame: public(immutable(address))


@deploy
def __init__(
    framework: address,
    ethVaultId: uint256,
    erc20VaultId: uint256,
    standardExitBondWei: uint256,
    inFlightExitBondWei: uint256,
    piggybackBondWei: uint256,
    inFlightExitCode: address,
    supportTxType: uint256,
    spendingConditionRegistry: address,
):
    assert ethVaultId != 0 and erc20VaultId != 0, "Vault IDs must not be 0"
    assert inFlightExitCode.is_contract, "In-flight exit code must be a contract"
    exit_data.framework = framework
    exit_data.ethVaultId = ethVaultId
    exit_data.erc20VaultId = erc20VaultId
    exit_data.startStandardExitBondSize = convert(standardExitBondWei, uint128)
    exit_data.startIFEBondSize = convert(inFlightExitBondWei, uint128)
    exit_data.piggybackBondSize = convert(piggybackBondWei, uint128)
    inFlightExitGame = inFlightExitCode
    exit_data.supportTxType = supportTxType
    exit_data.spendingConditionRegistry = spendingConditionRegistry


@external
@payable
@raw_return
def __default__() -> Bytes[MAX_FORWARD_RETURN]:
    """Every other call (the in-flight exit functions) runs PaymentInFlightExitGame's code on this
    contract's storage, balance and address, so its events and bonds are this exit game's.
    Its reverts come back as they are; its functions hold the same (transient) reentrancy lock."""
    return raw_call(inFlightExitGame, msg.data, max_outsize=MAX_FORWARD_RETURN, is_delegate_call=True)


@view
@external
def standardExits(exitIds: DynArray[uint160, MAX_EXIT_QUERY]) -> DynArray[exit_data.StandardExit, MAX_EXIT_QUERY]:
    result: DynArray[exit_data.StandardExit, MAX_EXIT_QUERY] = []
    for exit_id: uint160 in exitIds:
        result.append(exit_data.standardExits[exit_id])
    return result


# --- identifiers (ExitId) ---------------------------------------------------------

@pure
@internal
def _exit_id(is_deposit: bool, tx_bytes: Bytes[rlp.MAX_BYTES], utxo_pos: uint256, oindex: uint256) -> uint160:
    """ExitId.getStandardExitId: 8 bits output index | 1 bit in-flight flag (0) | 151 bits of the
    tx hash (deposits: hash(tx, utxoPos))."""
    assert oindex < 256, "ExitId overflows"
    tx_hash: bytes32 = keccak256(tx_bytes)
    if is_deposit:
        tx_hash = keccak256(concat(tx_bytes, convert(utxo_pos, bytes32)))
    return convert((convert(tx_hash, uint256) >> 105) | (oindex << 152), uint160)


@pure
@external
def getStandardExitId(isDeposit: bool, txBytes: Bytes[rlp.MAX_BYTES], utxoPos: uint256) -> uint160:
    return self._exit_id(isDeposit, txBytes, utxoPos, payment.decode_pos(utxoPos).oindex)


# --- start ----------------------------------------------------------------------

@external
@payable
@nonreentrant
def startStandardExit(args: StartStandardExitArgs):
    assert msg.value == convert(exit_data.startStandardExitBondSize, uint256), "Input value must match msg.value"
    pos: payment.Position = payment.decode_pos(args.utxoPos)
    output_tx: payment.Transaction = payment.decode(args.rlpOutputTx)
    assert output_tx.tx_type == exit_data.supportTxType, "Unsupported transaction type of the exit game"
    assert pos.oindex < len(output_tx.outputs), "Output index out of range"
    output: payment.Output = output_tx.outputs[pos.oindex]
    # an order output is its owner's too (the DEX's restricted custody keeps the exit)
    assert output.output_type == payment.OUTPUT_TYPE_PAYMENT or output.output_type == order.OUTPUT_TYPE_ORDER, "Unsupported output type of the exit game"
    assert output.output_guard == msg.sender, "Only output owner can start an exit"

    root: bytes32 = empty(bytes32)
    block_timestamp: uint256 = 0
    root, block_timestamp = exit_data.block_of(pos.blknum)
    assert root != empty(bytes32), "Failed to get the root hash of the block num"
    assert merkle.check_membership(args.rlpOutputTx, pos.txindex, root, args.outputTxInclusionProof), "The transaction must be standard finalized"

    is_deposit: bool = payment.is_deposit(pos.blknum)
    exit_id: uint160 = self._exit_id(is_deposit, args.rlpOutputTx, args.utxoPos, pos.oindex)
    assert not exit_data.standardExits[exit_id].exitable, "Exit has already started"
    output_id: bytes32 = exit_data.output_id(is_deposit, args.rlpOutputTx, args.utxoPos, pos.oindex)
    assert not staticcall exit_data.PlasmaFramework(exit_data.framework).isOutputFinalized(output_id), "Output is already spent or exited"
    assert not exit_data.challengedOutputs[output_id], "Output was shown spent by a challenge"

    exit_data.standardExits[exit_id] = exit_data.StandardExit(
        exitable=True,
        utxoPos=args.utxoPos,
        outputId=output_id,
        exitTarget=msg.sender,
        amount=output.amount,
        bondSize=msg.value,
    )
    extcall exit_data.PlasmaFramework(exit_data.framework).enqueue(
        exit_data.vault_id(output.token),
        output.token,
        exit_data.exitable_at(is_deposit, block_timestamp),
        payment.tx_pos(args.utxoPos),
        exit_id,
    )
    log ExitStarted(owner=msg.sender, exitId=exit_id)


# --- challenge ------------------------------------------------------------------

@external
@nonreentrant
def challengeStandardExit(args: ChallengeStandardExitArgs):
    """Delete an exit whose output `challengeTx` spends with the owner's signature; pay the bond to
    the sender, who must be the one senderData names."""
    exit_data.check_sender_data(args.senderData)
    exit: exit_data.StandardExit = exit_data.standardExits[args.exitId]
    assert exit.exitable, "The exit does not exist"
    pos: payment.Position = payment.decode_pos(exit.utxoPos)
    is_deposit: bool = payment.is_deposit(pos.blknum)
    assert exit_data.output_id(is_deposit, args.exitingTx, exit.utxoPos, pos.oindex) == exit.outputId, "Invalid exiting tx causing outputId mismatch"
    output: payment.Output = payment.decode(args.exitingTx).outputs[pos.oindex]
    exit_data.check_spend_any(output, args.exitingTx, exit.utxoPos, args.challengeTx, convert(args.inputIndex, uint256), args.challengeTxSig)

    exit_data.standardExits[args.exitId] = empty(exit_data.StandardExit)
    exit_data.challengedOutputs[exit.outputId] = True
    assert exit_data.send_bond(msg.sender, exit.bondSize), "Failed to transfer the bond to the challenger"
    log ExitChallenged(utxoPos=exit.utxoPos)


# --- process --------------------------------------------------------------------

@external
@nonreentrant
def processExit(exitId: uint160, vaultId: uint256, token: address):
    """Called by the framework for an exit whose time has come: pay it, or skip it if it
    was challenged or its output already exited through another exit. In-flight exits
    (ExitId's flag bit) are processed by PaymentInFlightExitGame's code, under this lock."""
    assert msg.sender == exit_data.framework, "Caller address is unauthorized"
    if convert(exitId, uint256) & exit_data.IN_FLIGHT_FLAG != 0:
        raw_call(inFlightExitGame, msg.data, is_delegate_call=True)
        return
    exit: exit_data.StandardExit = exit_data.standardExits[exitId]
    exit_data.standardExits[exitId] = empty(exit_data.StandardExit)
    if not exit.exitable or staticcall exit_data.PlasmaFramework(exit_data.framework).isOutputFinalized(exit.outputId):
        log ExitOmitted(exitId=exitId)
        return
    extcall exit_data.PlasmaFramework(exit_data.framework).flagOutputFinalized(exit.outputId, exitId)

    if not exit_data.send_bond(exit.exitTarget, exit.bondSize):
        log BondReturnFailed(receiver=exit.exitTarget, amount=exit.bondSize)
    exit_data.withdraw(exit.exitTarget, token, exit.amount)
    log ExitFinalized(exitId=exitId)
