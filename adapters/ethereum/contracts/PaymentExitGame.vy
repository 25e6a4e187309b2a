# pragma version ~=0.4.3
"""
@title PaymentExitGame (standard exits)
@notice The exit game of payment transactions (tx type 1), after plasma-contracts v2's
        PaymentExitGame / PaymentStandardExitRouter:
        - startStandardExit: the owner of an output proves its transaction is in a
          block (Merkle proof against PlasmaFramework.blocks) and posts a bond;
        - challengeStandardExit: anyone shows a transaction that spends the output,
          signed by its owner (EIP-712, verifying contract = the framework); the
          challenger takes the bond and the exit is deleted;
        - processExit (called by the framework's processExits, in priority order after
          the exitable timestamp): the vault pays the owner and the bond comes back.
        In-flight exits are not here yet.
"""
import rlp
import payment
import merkle
import eip712

SAFE_GAS_STIPEND: constant(uint256) = 2300
MAX_EXIT_QUERY: constant(uint256) = 64

interface PlasmaFramework:
    def blocks(blknum: uint256) -> (bytes32, uint256): view
    def minExitPeriod() -> uint256: view
    def vaults(vaultId: uint256) -> address: view
    def isOutputFinalized(outputId: bytes32) -> bool: view
    def flagOutputFinalized(outputId: bytes32, exitId: uint168): nonpayable
    def enqueue(vaultId: uint256, token: address, exitableAt: uint32, txPos: uint256, exitId: uint168) -> uint256: nonpayable

interface EthVault:
    def withdraw(receiver: address, amount: uint256): nonpayable

interface Erc20Vault:
    def withdraw(receiver: address, token: address, amount: uint256): nonpayable


struct StandardExit:
    exitable: bool
    utxoPos: uint256
    outputId: bytes32
    exitTarget: address
    token: address
    amount: uint256
    bondSize: uint256


struct StartStandardExitArgs:
    utxoPos: uint256
    rlpOutputTx: Bytes[rlp.MAX_BYTES]
    outputTxInclusionProof: Bytes[merkle.MAX_PROOF_BYTES]


struct ChallengeStandardExitArgs:
    exitId: uint168
    exitingTx: Bytes[rlp.MAX_BYTES]
    challengeTx: Bytes[rlp.MAX_BYTES]
    inputIndex: uint16
    challengeTxSig: Bytes[65]


event ExitStarted:
    owner: indexed(address)
    exitId: uint168
    utxoPos: uint256
    outputTx: Bytes[rlp.MAX_BYTES]

event ExitChallenged:
    utxoPos: indexed(uint256)

event ExitOmitted:
    exitId: indexed(uint168)

event ExitFinalized:
    exitId: indexed(uint168)

event BondReturnFailed:
    receiver: indexed(address)
    amount: uint256


framework: public(address)
ethVaultId: public(uint256)
erc20VaultId: public(uint256)
startStandardExitBondSize: public(uint256)
_exits: HashMap[uint168, StandardExit]
# Outputs shown spent by a successful challenge can never start an exit again.
challengedOutputs: public(HashMap[bytes32, bool])


@deploy
def __init__(framework: address, ethVaultId: uint256, erc20VaultId: uint256, standardExitBondWei: uint256):
    assert ethVaultId != 0 and erc20VaultId != 0, "Vault IDs must not be 0"
    self.framework = framework
    self.ethVaultId = ethVaultId
    self.erc20VaultId = erc20VaultId
    self.startStandardExitBondSize = standardExitBondWei


@view
@external
def standardExits(exitIds: DynArray[uint168, MAX_EXIT_QUERY]) -> DynArray[StandardExit, MAX_EXIT_QUERY]:
    result: DynArray[StandardExit, MAX_EXIT_QUERY] = []
    for exit_id: uint168 in exitIds:
        result.append(self._exits[exit_id])
    return result


# --- identifiers (ExitId, OutputId) ---------------------------------------------

@pure
@internal
def _exit_id(is_deposit: bool, tx_bytes: Bytes[rlp.MAX_BYTES], utxo_pos: uint256, oindex: uint256) -> uint168:
    """16 bits output index | 1 bit in-flight flag (0) | 151 bits of the tx hash (deposits: hash(tx, utxoPos))."""
    tx_hash: bytes32 = keccak256(tx_bytes)
    if is_deposit:
        tx_hash = keccak256(concat(tx_bytes, convert(utxo_pos, bytes32)))
    return convert((convert(tx_hash, uint256) >> 105) | (oindex << 152), uint168)


@pure
@internal
def _output_id(is_deposit: bool, tx_bytes: Bytes[rlp.MAX_BYTES], utxo_pos: uint256, oindex: uint256) -> bytes32:
    """Deposit transactions can repeat byte for byte, so their outputs also commit to the position."""
    if is_deposit:
        return keccak256(concat(tx_bytes, convert(oindex, bytes32), convert(utxo_pos, bytes32)))
    return keccak256(concat(tx_bytes, convert(oindex, bytes32)))


@view
@external
def getStandardExitId(isDeposit: bool, txBytes: Bytes[rlp.MAX_BYTES], utxoPos: uint256) -> uint168:
    return self._exit_id(isDeposit, txBytes, utxoPos, payment.decode_pos(utxoPos).oindex)


# --- start ----------------------------------------------------------------------

@view
@internal
def _exitable_at(is_deposit: bool, block_timestamp: uint256) -> uint32:
    """ExitableTimestamp: deposits wait one period from now; other outputs at least one period
    from now and two from their block, so an output older than the period exits first."""
    period: uint256 = staticcall PlasmaFramework(self.framework).minExitPeriod()
    at: uint256 = block.timestamp + period
    if not is_deposit:
        at = max(block_timestamp + 2 * period, at)
    return convert(at, uint32)


@external
@payable
@nonreentrant
def startStandardExit(args: StartStandardExitArgs):
    assert msg.value == self.startStandardExitBondSize, "Input value must match msg.value"
    pos: payment.Position = payment.decode_pos(args.utxoPos)
    output_tx: payment.Transaction = payment.decode(args.rlpOutputTx)
    assert output_tx.tx_type == payment.PAYMENT_TX_TYPE, "Unsupported transaction type of the exit game"
    assert pos.oindex < len(output_tx.outputs), "Output index out of range"
    output: payment.Output = output_tx.outputs[pos.oindex]
    assert output.output_type == payment.OUTPUT_TYPE_PAYMENT, "Unsupported output type of the exit game"
    assert output.output_guard == msg.sender, "Only output owner can start an exit"

    root: bytes32 = empty(bytes32)
    block_timestamp: uint256 = 0
    root, block_timestamp = staticcall PlasmaFramework(self.framework).blocks(pos.blknum)
    assert root != empty(bytes32), "Failed to get the root hash of the block num"
    assert merkle.check_membership(args.rlpOutputTx, pos.txindex, root, args.outputTxInclusionProof), "The transaction must be standard finalized"

    is_deposit: bool = payment.is_deposit(pos.blknum)
    exit_id: uint168 = self._exit_id(is_deposit, args.rlpOutputTx, args.utxoPos, pos.oindex)
    assert not self._exits[exit_id].exitable, "Exit has already started"
    output_id: bytes32 = self._output_id(is_deposit, args.rlpOutputTx, args.utxoPos, pos.oindex)
    assert not staticcall PlasmaFramework(self.framework).isOutputFinalized(output_id), "Output is already spent or exited"
    assert not self.challengedOutputs[output_id], "Output was shown spent by a challenge"

    self._exits[exit_id] = StandardExit(
        exitable=True,
        utxoPos=args.utxoPos,
        outputId=output_id,
        exitTarget=msg.sender,
        token=output.token,
        amount=output.amount,
        bondSize=msg.value,
    )
    vault_id: uint256 = self.ethVaultId if output.token == empty(address) else self.erc20VaultId
    extcall PlasmaFramework(self.framework).enqueue(
        vault_id, output.token, self._exitable_at(is_deposit, block_timestamp), payment.tx_pos(args.utxoPos), exit_id
    )
    log ExitStarted(owner=msg.sender, exitId=exit_id, utxoPos=args.utxoPos, outputTx=args.rlpOutputTx)


# --- challenge ------------------------------------------------------------------

@external
@nonreentrant
def challengeStandardExit(args: ChallengeStandardExitArgs):
    """Delete an exit whose output `challengeTx` spends with the owner's signature; pay the bond to the sender."""
    exit: StandardExit = self._exits[args.exitId]
    assert exit.exitable, "The exit does not exist"
    pos: payment.Position = payment.decode_pos(exit.utxoPos)
    is_deposit: bool = payment.is_deposit(pos.blknum)
    assert self._output_id(is_deposit, args.exitingTx, exit.utxoPos, pos.oindex) == exit.outputId, "Invalid exiting tx causing outputId mismatch"
    output: payment.Output = payment.decode(args.exitingTx).outputs[pos.oindex]

    # PaymentOutputToPaymentTxCondition: the only spending condition of a payment output.
    challenge_tx: payment.Transaction = payment.decode(args.challengeTx)
    assert challenge_tx.tx_type == payment.PAYMENT_TX_TYPE, "Spending condition contract not found"
    input_index: uint256 = convert(args.inputIndex, uint256)
    assert input_index < len(challenge_tx.inputs), "Input index out of range"
    assert challenge_tx.inputs[input_index] == convert(exit.utxoPos, bytes32), "Spending tx points to the incorrect output UTXO position"
    signer: address = eip712.recover(eip712.hash_tx(challenge_tx, self.framework), args.challengeTxSig)
    assert signer != empty(address), "Failed to recover the signer from the signature"
    assert signer == output.output_guard, "Tx is not signed correctly"

    self._exits[args.exitId] = empty(StandardExit)
    self.challengedOutputs[exit.outputId] = True
    success: bool = raw_call(msg.sender, b"", value=exit.bondSize, gas=SAFE_GAS_STIPEND, revert_on_failure=False)
    assert success, "Failed to transfer the bond to the challenger"
    log ExitChallenged(utxoPos=exit.utxoPos)


# --- process --------------------------------------------------------------------

@external
@nonreentrant
def processExit(exitId: uint168, vaultId: uint256, token: address):
    """Called by the framework for an exit whose time has come: pay it, or skip it if it
    was challenged or its output already exited through another exit."""
    assert msg.sender == self.framework, "Caller address is unauthorized"
    exit: StandardExit = self._exits[exitId]
    if not exit.exitable or staticcall PlasmaFramework(self.framework).isOutputFinalized(exit.outputId):
        self._exits[exitId] = empty(StandardExit)
        log ExitOmitted(exitId=exitId)
        return
    self._exits[exitId] = empty(StandardExit)
    extcall PlasmaFramework(self.framework).flagOutputFinalized(exit.outputId, exitId)

    bond_returned: bool = raw_call(exit.exitTarget, b"", value=exit.bondSize, gas=SAFE_GAS_STIPEND, revert_on_failure=False)
    if not bond_returned:
        log BondReturnFailed(receiver=exit.exitTarget, amount=exit.bondSize)
    if token == empty(address):
        extcall EthVault(staticcall PlasmaFramework(self.framework).vaults(self.ethVaultId)).withdraw(exit.exitTarget, exit.amount)
    else:
        extcall Erc20Vault(staticcall PlasmaFramework(self.framework).vaults(self.erc20VaultId)).withdraw(exit.exitTarget, token, exit.amount)
    log ExitFinalized(exitId=exitId)
