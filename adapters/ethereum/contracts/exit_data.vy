# pragma version ~=0.4.3
"""
@title Payment exit game storage and the checks both exit routers share
@notice After plasma-contracts v1.0.4's PaymentExitDataModel, OutputId, ExitableTimestamp,
        MoreVpFinalization and PaymentOutputToPaymentTxCondition.
        PaymentExitGame runs PaymentInFlightExitGame's and PaymentInFlightExitDisputes' code
        by DELEGATECALL, on its own storage: all three `initializes:` this module and declare
        no other storage, so the slots below are the same in each (a test compares the
        layouts, the transient reentrancy lock included). Never reorder or insert state here
        without redeploying all three.
"""
import rlp
import payment
import merkle
import eip712

interface PlasmaFramework:
    def blocks(blknum: uint256) -> (bytes32, uint256): view
    def minExitPeriod() -> uint256: view
    def vaults(vaultId: uint256) -> address: view
    def isOutputFinalized(outputId: bytes32) -> bool: view
    def isAnyInputFinalizedByOtherExit(outputIds: DynArray[bytes32, payment.MAX_INPUTS], exitId: uint160) -> bool: view
    def flagOutputFinalized(outputId: bytes32, exitId: uint160): nonpayable
    def batchFlagOutputsFinalized(outputIds: DynArray[bytes32, MAX_IFE_OUTPUT_IDS], exitId: uint160): nonpayable
    def enqueue(vaultId: uint256, token: address, exitableAt: uint32, txPos: uint256, exitId: uint160) -> uint256: nonpayable

interface SpendingConditionRegistry:
    def spendingConditions(outputType: uint256, spendingTxType: uint256) -> address: view

interface SpendingCondition:
    def verify(inputTx: Bytes[rlp.MAX_BYTES], utxoPos: uint256, spendingTx: Bytes[rlp.MAX_BYTES], inputIndex: uint16, witness: Bytes[65]) -> bool: view

interface EthVault:
    def withdraw(receiver: address, amount: uint256): nonpayable

interface Erc20Vault:
    def withdraw(receiver: address, token: address, amount: uint256): nonpayable

# An in-flight exit finalizes at most its inputs and its outputs at once.
MAX_IFE_OUTPUT_IDS: constant(uint256) = payment.MAX_INPUTS + payment.MAX_OUTPUTS
SAFE_GAS_STIPEND: constant(uint256) = 2300  # enough for a plain receive, not for reentrancy
# ExitId (v1.0.4): bit 151 flags an in-flight exit id; a standard exit id never sets it (151 bits
# of hash, then its output index from bit 152, below 2**8 so the id fits 160 bits).
IN_FLIGHT_FLAG: constant(uint256) = 1 << 151
# inFlightExits() answers at most MAX_IFE_QUERY exits of IFE_ABI_BYTES each (47 static words).
MAX_IFE_QUERY: constant(uint256) = 16
IFE_ABI_BYTES: constant(uint256) = 47 * 32


struct StandardExit:
    exitable: bool
    utxoPos: uint256
    outputId: bytes32
    exitTarget: address
    amount: uint256
    bondSize: uint256


struct WithdrawData:
    outputId: bytes32
    exitTarget: address
    token: address
    amount: uint256
    piggybackBondSize: uint256


struct InFlightExit:
    isCanonical: bool
    exitStartTimestamp: uint64
    # bit i: input i piggybacked; bit MAX_INPUTS + i: output i piggybacked
    exitMap: uint256
    position: uint256  # the youngest input's UTXO position
    inputs: WithdrawData[payment.MAX_INPUTS]
    outputs: WithdrawData[payment.MAX_OUTPUTS]
    bondOwner: address
    bondSize: uint256
    oldestCompetitorPosition: uint256


framework: public(address)
ethVaultId: public(uint256)
erc20VaultId: public(uint256)
startStandardExitBondSize: public(uint128)
startIFEBondSize: public(uint128)
piggybackBondSize: public(uint128)
standardExits: HashMap[uint160, StandardExit]
# Outputs shown spent by a successful challenge can never start a standard exit again.
challengedOutputs: public(HashMap[bytes32, bool])
inFlightExits: HashMap[uint160, InFlightExit]
# In-flight exit id => token => the exit has an entry in that token's exit queue, and how many
# such entries it has. An entry must pay only the exit instance that queued it: a later piggyback
# of the token joins the entry (queueing its priority again would revert), and the exit is neither
# deleted nor emptied, so never restarted under the same id, while it has an entry.
ifeQueued: HashMap[uint160, HashMap[address, bool]]
ifeQueueCount: HashMap[uint160, uint256]
# The transaction type this instance exits (v1.0.4's supportTxType): the same code runs for
# payments (1), ORDER (4) and SETTLEMENT (5) transactions, one registered exit game each.
supportTxType: uint256
# Who decides spends other than a payment output's by a payment (SpendingConditionRegistry).
spendingConditionRegistry: address


@pure
@internal
def output_id(is_deposit: bool, tx_bytes: Bytes[rlp.MAX_BYTES], utxo_pos: uint256, oindex: uint256) -> bytes32:
    """OutputId: deposit transactions can repeat byte for byte, so their outputs also commit to the position."""
    if is_deposit:
        return keccak256(concat(tx_bytes, convert(oindex, bytes32), convert(utxo_pos, bytes32)))
    return keccak256(concat(tx_bytes, convert(oindex, bytes32)))


@pure
@internal
def ife_id(tx_bytes: Bytes[rlp.MAX_BYTES]) -> uint160:
    """ExitId.getInFlightExitId: the in-flight bit | the top 151 bits of the transaction hash."""
    return convert((convert(keccak256(tx_bytes), uint256) >> 105) | IN_FLIGHT_FLAG, uint160)


@view
@internal
def check_sender_data(sender_data: bytes32):
    """Binds a challenge to its sender (keccak of the packed address), so a front-runner copying
    the calldata cannot take the bond."""
    assert sender_data == keccak256(slice(convert(msg.sender, bytes32), 12, 20)), "Incorrect senderData"


@view
@internal
def ife_started(exit_id: uint160) -> uint256:
    """The in-flight exit's start timestamp; reverts if there is no such exit."""
    start: uint64 = self.inFlightExits[exit_id].exitStartTimestamp
    assert start != 0, "In-flight exit does not exist"
    return convert(start, uint256)


@view
@internal
def in_first_phase(start: uint256) -> bool:
    """Piggybacks and canonicity challenges belong to the first half of the minimum exit period."""
    return block.timestamp - start < staticcall PlasmaFramework(self.framework).minExitPeriod() // 2


@view
@internal
def is_piggybacked(exit_id: uint160, bit: uint256) -> bool:
    """Bit i of exitMap: input i (i < MAX_INPUTS) or output i - MAX_INPUTS is piggybacked."""
    return self.inFlightExits[exit_id].exitMap & (1 << bit) != 0


@view
@internal
def input_output(tx_bytes: Bytes[rlp.MAX_BYTES], utxo_pos: uint256) -> (payment.Output, bytes32):
    """The output at `utxo_pos` of the transaction `tx_bytes` (of any type: who may spend it is
    the spending condition's question), and its output id."""
    pos: payment.Position = payment.decode_pos(utxo_pos)
    decoded: payment.Transaction = payment.decode(tx_bytes)
    assert pos.oindex < len(decoded.outputs), "Output index out of range"
    output: payment.Output = decoded.outputs[pos.oindex]
    return output, self.output_id(payment.is_deposit(pos.blknum), tx_bytes, utxo_pos, pos.oindex)


@view
@internal
def check_spend_any(
    output: payment.Output, input_tx: Bytes[rlp.MAX_BYTES], utxo_pos: uint256, spending_tx: Bytes[rlp.MAX_BYTES],
    input_index: uint256, witness: Bytes[65],
):
    """Input `input_index` of `spending_tx` spends `output` (at `utxo_pos` of `input_tx`): a payment
    output spent by a payment is checked here, any other pair by its registered spending condition."""
    spending: payment.Transaction = payment.decode(spending_tx)
    if output.output_type == payment.OUTPUT_TYPE_PAYMENT and spending.tx_type == payment.PAYMENT_TX_TYPE:
        self.check_spend(output.output_guard, utxo_pos, spending, eip712.hash_tx(spending, self.framework), input_index, witness)
        return
    condition: address = staticcall SpendingConditionRegistry(self.spendingConditionRegistry).spendingConditions(
        output.output_type, spending.tx_type
    )
    assert condition != empty(address), "Spending condition contract not found"
    verified: bool = staticcall SpendingCondition(condition).verify(
        input_tx, utxo_pos, spending_tx, convert(input_index, uint16), witness
    )
    assert verified, "Spending condition failed"


@pure
@internal
def check_spend(
    owner: address, utxo_pos: uint256, spending: payment.Transaction, digest: bytes32, input_index: uint256, signature: Bytes[65]
):
    """PaymentOutputToPaymentTxCondition: input `input_index` of `spending` (with EIP-712 `digest`)
    is the output at `utxo_pos`, and `owner` signed it."""
    assert input_index < len(spending.inputs), "Input index out of range"
    assert spending.inputs[input_index] == convert(utxo_pos, bytes32), "Spending tx points to the incorrect output UTXO position"
    signer: address = eip712.recover(digest, signature)
    assert signer != empty(address), "Failed to recover the signer from the signature"
    assert signer == owner, "Tx is not signed correctly"


@view
@internal
def block_of(blknum: uint256) -> (bytes32, uint256):
    root: bytes32 = empty(bytes32)
    timestamp: uint256 = 0
    root, timestamp = staticcall PlasmaFramework(self.framework).blocks(blknum)
    return root, timestamp


@view
@internal
def is_included(tx_bytes: Bytes[rlp.MAX_BYTES], tx_pos: uint256, proof: Bytes[merkle.MAX_PROOF_BYTES]) -> bool:
    """MoreVpFinalization.isStandardFinalized: the transaction at `tx_pos` (output index 0) is in its block."""
    pos: payment.Position = payment.decode_pos(tx_pos)
    assert pos.oindex == 0, "Invalid transaction position"
    root: bytes32 = self.block_of(pos.blknum)[0]
    assert root != empty(bytes32), "Failed to get the root hash of the block num"
    return merkle.check_membership(tx_bytes, pos.txindex, root, proof)


@view
@internal
def exitable_at(is_deposit_output: bool, block_timestamp: uint256) -> uint32:
    """ExitableTimestamp: a deposit output (standard exit) waits one period from now; any other
    transaction at least one period from now and two from its block, so older ones exit first."""
    period: uint256 = staticcall PlasmaFramework(self.framework).minExitPeriod()
    at: uint256 = block.timestamp + period
    if not is_deposit_output:
        at = max(block_timestamp + 2 * period, at)
    return convert(at, uint32)


@view
@internal
def vault_id(token: address) -> uint256:
    return self.ethVaultId if token == empty(address) else self.erc20VaultId


@internal
def withdraw(receiver: address, token: address, amount: uint256):
    """Pay an exit from the vault of `token` (ETH: the ETH vault)."""
    vault: address = staticcall PlasmaFramework(self.framework).vaults(self.vault_id(token))
    if token == empty(address):
        extcall EthVault(vault).withdraw(receiver, amount)
    else:
        extcall Erc20Vault(vault).withdraw(receiver, token, amount)


@internal
def send_bond(receiver: address, amount: uint256) -> bool:
    """Pay a bond with a gas stipend too small to reenter; the caller decides what a failure means."""
    return raw_call(receiver, b"", value=amount, gas=SAFE_GAS_STIPEND, revert_on_failure=False)
